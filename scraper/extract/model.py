"""Gradient-boosted tree ensembles, evaluated with numpy: the learned parts of extraction at run time.

The models are trained with LightGBM (:mod:`scraper.extract.train`, ``make train-extraction``),
and shipped inside the package as JSON files in ``scraper/extract/models/``: the trees' split
features, thresholds and leaf values, flattened into arrays.  Run time never imports LightGBM:
its import alone costs about 30 MiB (scipy), in every extraction worker; numpy is loaded there
already (py3langid).  ``tests/unit/extract/test_model.py`` checks that :meth:`TreeEnsemble.raw_scores`
gives LightGBM's own predictions.

Every tree of the ensemble is evaluated at once, one level at a time: a (rows x trees) array of
node indexes steps down until every entry is a leaf.  A leaf is stored as ``~i`` (negative), an
internal node as its index ``i >= 0``; that is how LightGBM's own dump numbers them.
"""

from __future__ import annotations

import functools
import hashlib
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources
from typing import Any

import numpy as np
import numpy.typing as npt

FORMAT = "scraper-trees/1"
MODELS_PACKAGE = "scraper.extract.models"

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True, eq=False)
class TreeEnsemble:
    """A LightGBM model as flat arrays; ``classes`` names the outputs of a multi-class model."""

    feature_names: tuple[str, ...]
    classes: tuple[str, ...]  # empty for a binary classifier (one raw score: the log-odds)
    objective: str  # "binary" or "multiclass"
    roots: npt.NDArray[np.int64]  # per tree: its root's node index, or ~leaf for a one-leaf tree
    tree_class: npt.NDArray[np.int64]  # per tree: the output (class) it adds to
    split_feature: npt.NDArray[np.int64]  # per internal node
    threshold: FloatArray
    default_left: npt.NDArray[np.bool_]  # where a missing value (NaN) goes
    left: npt.NDArray[np.int64]
    right: npt.NDArray[np.int64]
    leaf_value: FloatArray
    depth: int  # the deepest path, in splits
    version: str  # a digest of the arrays: records name the model they were extracted with

    @property
    def outputs(self) -> int:
        return max(1, len(self.classes))

    def raw_scores(self, rows: FloatArray) -> FloatArray:
        """The sum of the leaves each row reaches, per output: shape (rows, outputs)."""
        rows = np.asarray(rows, dtype=np.float64)
        if rows.ndim != 2 or rows.shape[1] != len(self.feature_names):
            raise ValueError(f"expected rows of {len(self.feature_names)} features, got shape {rows.shape}")
        n_rows, n_trees = rows.shape[0], len(self.roots)
        scores = np.zeros((n_rows, self.outputs))
        if n_rows == 0 or n_trees == 0:
            return scores
        # One table of every node, leaves included: a leaf points to itself whichever way the
        # value goes, so each level is the same few array operations on every (row, tree) pair.
        # A node's two children sit side by side (right at 2i, left at 2i + 1): one gather
        # steps every pair down, whichever way each goes.
        step_feature, step_threshold, children, step_nan_left, leaf_of = self._steps
        inner = len(self.split_feature)
        node = np.broadcast_to(self._start_nodes, (n_rows, n_trees)).copy()
        base = (np.arange(n_rows, dtype=np.int32) * rows.shape[1])[:, None]
        flat = rows.ravel()
        # NaN's own way is looked up only when a row has one: the features are finite on most pages.
        nan_rows = self._has_nan and bool(np.isnan(flat).any())
        # ndarray.take, not np.take: the function's dispatch costs as much as the gather on the
        # small arrays of the metadata models (a few candidates), evaluated several times a page.
        for _ in range(self.depth):
            value = flat.take(base + step_feature.take(node))
            go_left = value <= step_threshold.take(node)
            if nan_rows:
                go_left |= np.isnan(value) & step_nan_left.take(node)
            node = children.take(2 * node + go_left)
            if not (node < inner).any():  # every (row, tree) pair is at its leaf
                break
        leaves = self.leaf_value.take(leaf_of.take(node))
        if self.outputs == 1:
            scores[:, 0] = leaves.sum(axis=1)
        else:
            for output in range(self.outputs):
                scores[:, output] = leaves[:, self.tree_class == output].sum(axis=1)
        return scores

    @functools.cached_property
    def _start_nodes(self) -> npt.NDArray[np.int32]:
        """Each tree's root in the table of :attr:`_steps` (a one-leaf tree's root is its leaf)."""
        inner = len(self.split_feature)
        return np.where(self.roots >= 0, self.roots, inner + ~self.roots).astype(np.int32)

    @functools.cached_property
    def _has_nan(self) -> bool:
        return bool(self.default_left.any())

    @functools.cached_property
    def _steps(self) -> tuple[npt.NDArray[np.int32], FloatArray, npt.NDArray[np.int32], npt.NDArray[np.bool_],
                              npt.NDArray[np.int32]]:
        inner, leaves = len(self.split_feature), len(self.leaf_value)
        total = inner + leaves

        def target(child: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
            return np.where(child >= 0, child, inner + ~child)

        feature = np.concatenate([self.split_feature, np.zeros(leaves, dtype=np.int64)])
        threshold = np.concatenate([self.threshold, np.full(leaves, np.inf)])
        own = np.arange(inner, total)
        left = np.concatenate([target(self.left), own])
        right = np.concatenate([target(self.right), own])
        children = np.empty(2 * total, dtype=np.int32)
        children[0::2] = right  # go_left False
        children[1::2] = left  # go_left True
        nan_left = np.concatenate([self.default_left, np.ones(leaves, dtype=bool)])
        leaf_of = np.concatenate([np.zeros(inner, dtype=np.int64), np.arange(leaves)])
        return feature.astype(np.int32), threshold, children, nan_left, leaf_of.astype(np.int32)

    def probabilities(self, rows: FloatArray) -> FloatArray:
        """Binary: P(positive) per row, shape (rows,).  Multi-class: softmax, shape (rows, classes)."""
        raw = self.raw_scores(rows)
        if self.objective == "binary":
            return 1.0 / (1.0 + np.exp(-raw[:, 0]))
        shifted = np.exp(raw - raw.max(axis=1, keepdims=True))
        return shifted / shifted.sum(axis=1, keepdims=True)


# -- from LightGBM's dump to our arrays, and back from JSON --------------------------------------
def from_lightgbm_dump(dump: dict[str, Any], classes: Sequence[str] = ()) -> dict[str, Any]:
    """Our JSON form of ``Booster.dump_model()``: numerical splits only (we train no categorical ones)."""
    split_feature: list[int] = []
    threshold: list[float] = []
    default_left: list[bool] = []
    left: list[int] = []
    right: list[int] = []
    leaf_value: list[float] = []
    roots: list[int] = []
    tree_class: list[int] = []
    depth = 0

    def add(node: dict[str, Any], level: int) -> int:
        nonlocal depth
        if "leaf_value" in node or "split_feature" not in node:
            leaf_value.append(float(node.get("leaf_value", 0.0)))
            depth = max(depth, level)
            return ~(len(leaf_value) - 1)
        if node.get("decision_type", "<=") != "<=":
            raise ValueError(f"unsupported split {node.get('decision_type')!r}: train numerical features only")
        index = len(split_feature)
        split_feature.append(int(node["split_feature"]))
        threshold.append(float(node["threshold"]))
        # A missing value goes the default way only when the model learnt NaN as missing; with
        # missing_type "None" LightGBM reads NaN as 0.0, which the caller never passes (finite features).
        default_left.append(bool(node.get("default_left", True)) and node.get("missing_type") == "NaN")
        left.append(0)
        right.append(0)
        left[index] = add(node["left_child"], level + 1)
        right[index] = add(node["right_child"], level + 1)
        return index

    per_iteration = int(dump.get("num_tree_per_iteration", 1))
    for number, tree in enumerate(dump["tree_info"]):
        roots.append(add(tree["tree_structure"], 0))
        tree_class.append(number % per_iteration)
    objective = str(dump.get("objective", "binary")).split()[0]
    if objective not in ("binary", "multiclass"):
        raise ValueError(f"unsupported objective {objective!r}")
    return {"format": FORMAT, "objective": objective, "classes": list(classes),
            "feature_names": list(dump["feature_names"]), "depth": depth,
            "roots": roots, "tree_class": tree_class, "split_feature": split_feature,
            "threshold": [_exact(t) for t in threshold], "default_left": default_left,
            "left": left, "right": right, "leaf_value": [_exact(v) for v in leaf_value]}


def _exact(value: float) -> float | str:
    # repr() round-trips a float exactly; JSON has no infinity (LightGBM uses 1e300 thresholds).
    return value if math.isfinite(value) else repr(value)


def dumps(model: dict[str, Any]) -> str:
    """The file's text: stable key order and number forms, so one training gives one file."""
    return json.dumps(model, sort_keys=True, separators=(",", ":")) + "\n"


def loads(text: str) -> TreeEnsemble:
    data = json.loads(text)
    if data.get("format") != FORMAT:
        raise ValueError(f"not a {FORMAT} model file")

    def ints(name: str) -> npt.NDArray[np.int64]:
        return np.asarray(data[name], dtype=np.int64)

    def floats(name: str) -> FloatArray:
        # float() reads the "inf" strings _exact wrote as well as the numbers; numpy given the mixed
        # list would convert it element by element through objects, ten times slower (every process loads these).
        values = data[name]
        return np.fromiter(map(float, values), dtype=np.float64, count=len(values))

    return TreeEnsemble(
        feature_names=tuple(data["feature_names"]), classes=tuple(data["classes"]), objective=data["objective"],
        roots=ints("roots"), tree_class=ints("tree_class"), split_feature=ints("split_feature"),
        threshold=floats("threshold"), default_left=np.asarray(data["default_left"], dtype=bool),
        left=ints("left"), right=ints("right"), leaf_value=floats("leaf_value"), depth=int(data["depth"]),
        version=hashlib.sha256(text.encode()).hexdigest()[:12])


@functools.cache
def load_model(name: str) -> TreeEnsemble:
    """A model shipped in the package (``scraper/extract/models/<name>.json``), read once per process."""
    return loads(resources.files(MODELS_PACKAGE).joinpath(f"{name}.json").read_text(encoding="utf-8"))
