"""Training the page-type model (:mod:`scraper.extract.pagetype`): LightGBM, multi-class, fixed seeds.

Labels: WCXB's development pages (its seven types), and article-extraction's pages, which are
all news articles.  Those are weighted :data:`ARTICLE_EXTRACTION_WEIGHT` each, so that their
115 pages weigh as about 58 of WCXB's 793 articles: more articles from other sites, not a
corpus that moves the prior further towards "article" (WCXB is already half articles).
trafilatura-eval's pages say nothing of their type and are not trained on.

``python -m scraper.extract.train.pagetype CORPUS_ROOT [MODEL_FILE]`` writes the model file
(``scraper/extract/models/page-type.json`` by default) and prints site-grouped
cross-validation figures on WCXB.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import lightgbm as lgb
import numpy as np
import numpy.typing as npt
from lxml.html import HtmlElement, document_fromstring

from scraper.article import PAGE_TYPES
from scraper.compat.trafilatura import load_html
from scraper.extract import model
from scraper.extract.page import _json_ld_objects
from scraper.extract.pagetype import MODEL_NAME, PAGE_TYPE_FEATURES, page_type_features
from scraper.extract.train.corpora import ARTICLE_EXTRACTION, WCXB, LabelledPage, read_corpora

ARTICLE_EXTRACTION_WEIGHT = 0.5
# Chosen by site-grouped 5-fold cross-validation on WCXB dev (accuracy 0.849, log-loss 0.47; the
# rule-based classify_page: 0.53 to 0.64 by how its "other" is mapped).  More rounds or leaves
# did not raise accuracy and worsened log-loss; 7 trees a round (one per type) of at most 12
# leaves keep the file near 0.4 MB.
ROUNDS = 80
PARAMS: dict[str, Any] = {
    "objective": "multiclass",
    "num_class": len(PAGE_TYPES),
    "learning_rate": 0.08,
    "num_leaves": 12,
    "max_depth": 6,
    "min_data_in_leaf": 8,
    "feature_fraction": 0.5,
    "bagging_fraction": 0.8,
    "bagging_freq": 1,
    "lambda_l2": 1.0,
    "max_bin": 63,
    # One file for one training: one thread, LightGBM's deterministic mode, every seed fixed.
    "deterministic": True,
    "force_col_wise": True,
    "num_threads": 1,
    "verbose": -1,
}
# Rarer types weigh more: each page by (largest class / its class) ** CLASS_BALANCE.
CLASS_BALANCE = 0.5

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True, eq=False)
class PageTypeRows:
    """Features of the pages, and what is known of their types (-1 where unlabelled)."""

    keys: tuple[tuple[str, str], ...]  # (corpus, page_id)
    sites: tuple[str, ...]
    features: FloatArray
    labels: npt.NDArray[np.int64]
    weights: FloatArray  # 0.0 where unlabelled


def label_of(page: LabelledPage) -> int:
    """The index in PAGE_TYPES of what the corpus says the page is, or -1."""
    if page.corpus == WCXB and page.page_type in PAGE_TYPES:
        return PAGE_TYPES.index(page.page_type)
    if page.corpus == ARTICLE_EXTRACTION:
        return PAGE_TYPES.index("article")
    return -1


def parse(page: LabelledPage) -> HtmlElement:
    # As extraction parses it (trafilatura's load_html); an unparseable page is an empty one.
    tree = load_html(page.html)
    return tree if tree is not None else document_fromstring("<html><body></body></html>")


def page_type_rows(pages: Sequence[LabelledPage]) -> PageTypeRows:
    features = np.zeros((len(pages), len(PAGE_TYPE_FEATURES)))
    labels = np.full(len(pages), -1, dtype=np.int64)
    weights = np.zeros(len(pages))
    for row, page in enumerate(pages):
        tree = parse(page)
        features[row] = page_type_features(tree, page.url, _json_ld_objects(tree))
        labels[row] = label_of(page)
        if labels[row] >= 0:
            weights[row] = ARTICLE_EXTRACTION_WEIGHT if page.corpus == ARTICLE_EXTRACTION else 1.0
    counts = np.bincount(labels[labels >= 0], minlength=len(PAGE_TYPES)).astype(np.float64)
    balance = (counts.max() / np.maximum(counts, 1.0)) ** CLASS_BALANCE
    weights = np.where(labels >= 0, weights * balance[np.maximum(labels, 0)], 0.0)
    return PageTypeRows(keys=tuple((p.corpus, p.page_id) for p in pages), sites=tuple(p.site for p in pages),
                        features=features, labels=labels, weights=weights)


def fit(rows: PageTypeRows, train: npt.NDArray[np.bool_], *, seed: int = 0, rounds: int = ROUNDS,
        params: dict[str, Any] | None = None) -> lgb.Booster:
    """A booster trained on the labelled rows among ``train``."""
    use = train & (rows.labels >= 0)
    seeds = {"seed": seed, "bagging_seed": seed + 1, "feature_fraction_seed": seed + 2,
             "data_random_seed": seed + 3, "drop_seed": seed + 4, "extra_seed": seed + 5,
             "objective_seed": seed + 6}
    data = lgb.Dataset(rows.features[use], label=rows.labels[use], weight=rows.weights[use],
                       feature_name=list(PAGE_TYPE_FEATURES), free_raw_data=False)
    return lgb.train({**PARAMS, **(params or {}), **seeds}, data, num_boost_round=rounds)


def train_page_type(pages: Sequence[LabelledPage], *, seed: int = 0) -> dict[str, Any]:
    """The model file's content (:func:`scraper.extract.model.dumps` writes it), from every labelled page."""
    rows = page_type_rows(pages)
    booster = fit(rows, np.ones(len(pages), dtype=bool), seed=seed)
    return model.from_lightgbm_dump(booster.dump_model(), PAGE_TYPES)


def site_folds(sites: Sequence[str], folds: int, seed: int = 0) -> npt.NDArray[np.int64]:
    """A fold for each page; all pages of a site in one fold, folds of about equal size.

    Sites in a seeded random order, then the largest first, each to the fold with fewest pages."""
    names = sorted(set(sites))
    order = np.random.default_rng(seed).permutation(len(names))
    size = {name: 0 for name in names}
    for site in sites:
        size[site] += 1
    ranked = sorted((names[i] for i in order), key=lambda name: -size[name])  # stable: ties keep the shuffle
    load = [0] * folds
    fold_of: dict[str, int] = {}
    for name in ranked:
        fold = min(range(folds), key=lambda f: (load[f], f))
        fold_of[name] = fold
        load[fold] += size[name]
    return np.asarray([fold_of[site] for site in sites], dtype=np.int64)


def out_of_fold_probabilities(rows: PageTypeRows, folds: int = 5, seed: int = 0, *, rounds: int = ROUNDS,
                              params: dict[str, Any] | None = None) -> FloatArray:
    """Each row's probabilities by a model trained on the labelled rows of the other folds' sites."""
    fold = site_folds(rows.sites, folds, seed)
    probabilities = np.zeros((len(rows.keys), len(PAGE_TYPES)))
    for held_out in range(folds):
        test = fold == held_out
        if not test.any():
            continue
        booster = fit(rows, ~test, seed=seed, rounds=rounds, params=params)
        probabilities[test] = booster.predict(rows.features[test])
    return probabilities


def out_of_fold_page_types(pages: Sequence[LabelledPage], folds: int = 5,
                           seed: int = 0) -> dict[tuple[str, str], tuple[float, ...]]:
    """(corpus, page_id) -> probabilities in PAGE_TYPES order, for every page of ``pages``
    (unlabelled ones too), each from a model that never saw the page's site: for the block
    model to train on the page types it will be given at run time, errors included."""
    rows = page_type_rows(pages)
    probabilities = out_of_fold_probabilities(rows, folds, seed)
    return {key: tuple(float(p) for p in row) for key, row in zip(rows.keys, probabilities, strict=True)}


def cross_validation_report(rows: PageTypeRows, probabilities: FloatArray, corpus_keys: Sequence[bool]) -> str:
    """Accuracy, each type's recall and the confusion matrix (rows: truth) over the chosen rows."""
    chosen = np.asarray(corpus_keys, dtype=bool) & (rows.labels >= 0)
    truth, guess = rows.labels[chosen], probabilities[chosen].argmax(axis=1)
    lines = [f"accuracy {np.mean(truth == guess):.3f} over {len(truth)} pages"]
    matrix = np.zeros((len(PAGE_TYPES), len(PAGE_TYPES)), dtype=np.int64)
    np.add.at(matrix, (truth, guess), 1)
    lines.append(f"{'truth / guess':>14} " + " ".join(f"{t[:6]:>6}" for t in PAGE_TYPES) + "  recall")
    for index, name in enumerate(PAGE_TYPES):
        total = matrix[index].sum()
        recall = matrix[index, index] / total if total else 0.0
        lines.append(f"{name:>14} " + " ".join(f"{n:>6}" for n in matrix[index]) + f"  {recall:.3f}")
    return "\n".join(lines)


def main(argv: Sequence[str]) -> None:
    corpus_root = Path(argv[0])
    target = Path(argv[1]) if len(argv) > 1 else Path(__file__).parents[1] / "models" / f"{MODEL_NAME}.json"
    pages = read_corpora(corpus_root, (WCXB, ARTICLE_EXTRACTION))
    rows = page_type_rows(pages)
    print(cross_validation_report(rows, out_of_fold_probabilities(rows), [p.corpus == WCXB for p in pages]))
    booster = fit(rows, np.ones(len(pages), dtype=bool))
    target.write_text(model.dumps(model.from_lightgbm_dump(booster.dump_model(), PAGE_TYPES)), encoding="utf-8")
    print(f"wrote {target} ({target.stat().st_size} bytes)")


if __name__ == "__main__":
    main(sys.argv[1:])
