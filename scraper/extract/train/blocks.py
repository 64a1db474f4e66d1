"""Training the block model: which blocks of a page are its main content.

A block's label is how much of it the annotators kept: the share of its word trigrams (its words,
for a block of one or two) found in the page's annotated main text.  Pages whose annotation is
only snippets (trafilatura-eval) label the blocks that hold a snippet it must contain (kept) or
must not contain (dropped), and leave the others out.  Each block weighs its words, normalised
per page, so that every page counts alike, as the word-F1 averaged over pages counts them.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from scraper.compat.trafilatura import load_html
from scraper.extract import model as tree_model
from scraper.extract.blocks import (
    FEATURE_NAMES,
    SECOND_STAGE_FEATURES,
    Block,
    BlockGroups,
    block_features,
    block_groups,
    page_title,
    second_stage_features,
    segment,
)
from scraper.extract.page import trafilatura_body
from scraper.extract.train.boosting import BINARY, fit, site_folds, to_model
from scraper.extract.train.corpora import LabelledPage

_WORD = re.compile(r"\w+")


def words(text: str | None) -> list[str]:
    return _WORD.findall((text or "").lower())


@dataclass(frozen=True)
class PageBlocks:
    """One page's rows: features, labels (NaN: unlabelled) and the blocks' words, for scoring."""

    key: tuple[str, str]
    site: str
    page_type: str | None
    features: npt.NDArray[np.float64]
    labels: npt.NDArray[np.float64]
    block_words: tuple[tuple[str, ...], ...]
    truth_words: tuple[str, ...] | None  # None: only snippets annotated
    trafilatura_words: tuple[str, ...]
    groups: BlockGroups


def _ngrams(tokens: Sequence[str], size: int) -> set[tuple[str, ...]]:
    return {tuple(tokens[i:i + size]) for i in range(len(tokens) - size + 1)}


def kept_share(block_tokens: Sequence[str], truth_trigrams: set[tuple[str, ...]], truth_bigrams: set[tuple[str, ...]],
               truth_unigrams: set[str]) -> float:
    """The share of a block's words that the annotation kept, matched on trigrams (bigrams, words for short blocks)."""
    n = len(block_tokens)
    if n == 0:
        return 0.0
    if n == 1:
        return 1.0 if block_tokens[0] in truth_unigrams else 0.0
    if n == 2:
        return 1.0 if tuple(block_tokens) in truth_bigrams else 0.0
    covered = [False] * n
    for i in range(n - 2):
        if tuple(block_tokens[i:i + 3]) in truth_trigrams:
            covered[i] = covered[i + 1] = covered[i + 2] = True
    return sum(covered) / n


def label_blocks(page: LabelledPage, blocks: Sequence[Block]) -> npt.NDArray[np.float64]:
    labels = np.full(len(blocks), np.nan)
    if page.main_text is not None:
        truth = words(page.main_text)
        trigrams, bigrams, unigrams = _ngrams(truth, 3), _ngrams(truth, 2), set(truth)
        for i, block in enumerate(blocks):
            labels[i] = kept_share(block.tokens, trigrams, bigrams, unigrams)
        return labels
    wanted = [" ".join(words(s)) for s in page.with_snippets]
    unwanted = [" ".join(words(s)) for s in page.without_snippets]
    for i, block in enumerate(blocks):
        folded = " ".join(block.tokens)
        if not folded:
            continue
        if any(s and s in folded for s in wanted):
            labels[i] = 1.0
        elif any(s and (s in folded or folded == s) for s in unwanted):
            labels[i] = 0.0
    return labels


def page_blocks(page: LabelledPage, page_type_probabilities: Sequence[float] | None = None) -> PageBlocks | None:
    tree = load_html(page.html)
    if tree is None:
        return None
    try:
        blocks = segment(tree)
    except RecursionError:
        return None
    kept = trafilatura_body(tree, page.url).text
    return PageBlocks(
        key=(page.corpus, page.page_id), site=page.site, page_type=page.page_type,
        features=block_features(blocks, kept, page_type_probabilities, page_title(tree)),
        labels=label_blocks(page, blocks),
        block_words=tuple(tuple(b.tokens) for b in blocks),
        truth_words=tuple(words(page.main_text)) if page.main_text is not None else None,
        trafilatura_words=tuple(words(kept)), groups=block_groups(blocks))


def word_f1(predicted: Sequence[str], truth: Sequence[str]) -> tuple[float, float, float]:
    """WCXB's per-page score: precision, recall and F1 of the two bags of words."""
    if not truth:
        return (1.0, 1.0, 1.0) if not predicted else (0.0, 1.0, 0.0)
    if not predicted:
        return 1.0, 0.0, 0.0
    from collections import Counter
    overlap = sum((Counter(predicted) & Counter(truth)).values())
    precision, recall = overlap / len(predicted), overlap / len(truth)
    f1 = 2 * precision * recall / (precision + recall) if overlap else 0.0
    return precision, recall, f1


def weights(page: PageBlocks) -> npt.NDArray[np.float64]:
    """Each labelled block weighs its words (at least one), a page's blocks together weigh one."""
    sizes = np.array([max(1, len(w)) for w in page.block_words], dtype=float)
    sizes[np.isnan(page.labels)] = 0.0
    total = sizes.sum()
    return sizes / total if total else sizes


def log1p_words(page: PageBlocks) -> float:
    return math.log1p(sum(len(w) for w in page.block_words))


# -- the two stages -------------------------------------------------------------------------------
def block_words_array(page: PageBlocks) -> npt.NDArray[np.float64]:
    return np.array([len(w) for w in page.block_words], dtype=float)


def training_rows(pages: Sequence[PageBlocks], extra: dict[tuple[str, str], npt.NDArray[np.float64]] | None = None,
                  label_threshold: float = 0.5) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.int64],
                                                         npt.NDArray[np.float64]]:
    """Features (with the second stage's columns from ``extra``), 0/1 labels and weights of the labelled blocks."""
    parts = [p.features if extra is None else np.hstack([p.features, extra[p.key]]) for p in pages]
    features = np.vstack(parts)
    labels = np.concatenate([p.labels for p in pages])
    block_weights = np.concatenate([weights(p) for p in pages])
    labelled = ~np.isnan(labels)
    return (features[labelled], (labels[labelled] >= label_threshold).astype(np.int64),
            block_weights[labelled] * 1000.0)  # LightGBM's min_sum_hessian expects weights near 1 per row


FIRST_ROUNDS = 200
SECOND_ROUNDS = 200
INNER_FOLDS = 3


def _second_columns(page: PageBlocks, first: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    return second_stage_features(first, page.groups, block_words_array(page))


def _predict(booster: Any, page: PageBlocks) -> npt.NDArray[np.float64]:
    return booster.predict(page.features) if len(page.features) else np.zeros(0)


def train_block_models(pages: Sequence[PageBlocks], *, seed: int = 0) -> tuple[dict[str, Any], dict[str, Any]]:
    """The first stage on every page; the second on the first stage's out-of-fold probabilities
    (each page's from a first stage that never saw its site), as it sees them at run time."""
    first = fit(BINARY, *training_rows(pages), rounds=FIRST_ROUNDS, seed=seed)
    folds = site_folds([p.site for p in pages], INNER_FOLDS, seed + 1)
    extra: dict[tuple[str, str], npt.NDArray[np.float64]] = {}
    for fold in range(INNER_FOLDS):
        inner = fit(BINARY, *training_rows([p for p, f in zip(pages, folds, strict=True) if f != fold]),
                    rounds=FIRST_ROUNDS, seed=seed)
        for page, f in zip(pages, folds, strict=True):
            if f == fold:
                extra[page.key] = _second_columns(page, _predict(inner, page))
    second = fit(BINARY, *training_rows(pages, extra), rounds=SECOND_ROUNDS, seed=seed)
    return (to_model(first, FEATURE_NAMES),
            to_model(second, (*FEATURE_NAMES, *SECOND_STAGE_FEATURES)))


# -- cross-validation: what the block model does on sites it never saw --------------------------
CV_FOLDS = 5


def cross_validate_blocks(pages: Sequence[PageBlocks], *, seed: int = 0) -> dict[tuple[str, str], list[float]]:
    """Each page's second-stage probabilities from block models trained without its site (5 folds by
    site), each fold trained as :func:`train_block_models` trains the shipped one."""
    folds = site_folds([p.site for p in pages], CV_FOLDS, seed)
    out: dict[tuple[str, str], list[float]] = {}
    for fold in range(CV_FOLDS):
        train = [p for p, f in zip(pages, folds, strict=True) if f != fold]
        models = train_block_models(train, seed=seed)
        first_model, second_model = (tree_model.loads(tree_model.dumps(m)) for m in models)
        for page, f in zip(pages, folds, strict=True):
            if f != fold or not len(page.features):
                continue
            first = first_model.probabilities(page.features)
            second = second_model.probabilities(np.hstack([page.features, _second_columns(page, first)]))
            out[page.key] = [float(p) for p in second]
    return out


def cross_validation_report(pages: Sequence[PageBlocks], probabilities: dict[tuple[str, str], list[float]],
                            snippets: dict[tuple[str, str], tuple[tuple[str, ...], tuple[str, ...]]],
                            threshold: float = 0.5) -> str:
    """Word F1 (WCXB's method) per corpus and WCXB page type, and trafilatura-eval's snippet F1 (snippets
    matched on words), for the blocks kept and for trafilatura's body alone, on the same pages."""
    scores: dict[str, list[tuple[float, float]]] = {}
    found = {"blocks": [0, 0, 0], "trafilatura": [0, 0, 0]}  # with found, with missed, without found
    for page in pages:
        kept = [w for block, p in zip(page.block_words, probabilities.get(page.key, ()), strict=False)
                if p >= threshold for w in block]
        if page.truth_words is not None:
            group = f"{page.key[0]} {page.page_type}" if page.page_type else page.key[0]
            pair = (word_f1(kept, page.truth_words)[2], word_f1(page.trafilatura_words, page.truth_words)[2])
            scores.setdefault(group, []).append(pair)
            if page.page_type:
                scores.setdefault(f"{page.key[0]} (all)", []).append(pair)
        elif page.key in snippets:
            wanted, unwanted = snippets[page.key]
            for name, words_kept in (("blocks", kept), ("trafilatura", list(page.trafilatura_words))):
                text = f" {' '.join(words_kept)} "
                for snippet in wanted:
                    hit = f" {' '.join(words(snippet))} " in text
                    found[name][0 if hit else 1] += 1
                for snippet in unwanted:
                    found[name][2] += f" {' '.join(words(snippet))} " in text
    lines = [f"{'pages':<36} {'n':>5} {'blocks':>8} {'trafilatura':>12}"]
    for group in sorted(scores):
        pairs = scores[group]
        lines.append(f"{group + ' word F1':<36} {len(pairs):>5} {np.mean([a for a, _ in pairs]):>8.3f} "
                     f"{np.mean([b for _, b in pairs]):>12.3f}")
    figures = []
    for name in ("blocks", "trafilatura"):
        tp, fn, fp = found[name]
        precision, recall = tp / ((tp + fp) or 1), tp / ((tp + fn) or 1)
        figures.append(2 * precision * recall / ((precision + recall) or 1))
    lines.append(f"{'trafilatura-eval snippet F1':<36} {'':>5} {figures[0]:>8.3f} {figures[1]:>12.3f}")
    return "\n".join(lines)
