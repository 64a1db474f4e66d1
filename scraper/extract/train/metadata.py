"""Training the metadata rankers (title, authors, published date) on the development annotations.

Each page's candidates (:mod:`scraper.extract.metadata`) are labelled right or wrong by the
benchmarks' own comparison rules (:func:`right`), and a LightGBM binary model per field learns
to score them; at run time the best-scored candidate wins.  WCXB annotates a missing author or
date as null: there the "nobody" / "none" candidate is the right one.  trafilatura-eval leaves
a field out when it does not annotate it: such a page teaches nothing about that field.

``python -m scraper.extract.train.metadata [--cv] [--write]``: site-grouped 5-fold
cross-validation over the WCXB and trafilatura-eval development splits, and the models
trained on all of them, written to ``scraper/extract/models/{title,author,date}.json``.
Fixed seeds, one thread, LightGBM's deterministic mode: one training gives one file.
"""

from __future__ import annotations

import argparse
import re
import sys
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import lightgbm as lgb
import numpy as np

from scraper.article import Article
from scraper.compat.trafilatura import load_html
from scraper.extract.metadata import FIELDS, GENERATORS, Candidate, field_rows, read_view
from scraper.extract.model import dumps, from_lightgbm_dump
from scraper.extract.page import extract_page
from scraper.extract.train.boosting import site_folds
from scraper.extract.train.corpora import TRAFILATURA_EVAL, WCXB, LabelledPage, read_corpora

MODELS_DIR = Path(__file__).resolve().parents[1] / "models"
FOLDS = 5
PARAMS: dict[str, Any] = {
    "objective": "binary", "learning_rate": 0.1, "num_leaves": 15, "min_data_in_leaf": 20,
    "feature_fraction": 0.8, "bagging_fraction": 0.8, "bagging_freq": 1, "lambda_l2": 1.0,
    "deterministic": True, "force_row_wise": True, "num_threads": 1, "verbose": -1,
}
ROUNDS = 100


# -- the benchmarks' comparison rules (their READMEs) ----------------------------------------------------
_WCXB_NAMES = re.compile(r"\s*(?:[,;&]|\band\b)\s*", re.IGNORECASE)
_EVAL_NAMES = re.compile(r"\s*(?:[;,&|]|\band\b|\bund\b)\s*", re.IGNORECASE)


def _collapse(text: str) -> str:
    return " ".join(text.split())


def _strip_trailing_punctuation(text: str) -> str:
    while text and (unicodedata.category(text[-1]).startswith("P") or text[-1].isspace()):
        text = text[:-1]
    return text


def _names(value: str | Sequence[str], splitter: re.Pattern[str]) -> frozenset[str]:
    items = [value] if isinstance(value, str) else list(value)
    return frozenset(name.casefold() for item in items for name in splitter.split(_collapse(item)) if name)


def right(corpus: str, field: str, truth: str, got: str | Sequence[str] | None) -> bool:
    """Is ``got`` right for a page annotated ``truth`` (not null), by ``corpus``'s own rules?

    WCXB: a title equal after folding case and white space and dropping trailing punctuation;
    authors as a set of names split at ``,`` ``;`` ``&`` "and"; a date's first ten characters.
    trafilatura-eval: values equal after collapsing white space, authors as a set of names
    compared case-insensitively (split as bench/extraction.py splits them), dates as YYYY-MM-DD.
    """
    if not got:
        return False
    if field == "title":
        assert isinstance(got, str)
        if corpus == WCXB:
            return _strip_trailing_punctuation(_collapse(got).casefold()) == _strip_trailing_punctuation(
                _collapse(truth).casefold())
        return _collapse(got) == _collapse(truth)
    if field == "author":
        splitter = _WCXB_NAMES if corpus == WCXB else _EVAL_NAMES
        return _names(got, splitter) == _names(truth, splitter)
    assert isinstance(got, str)
    return _collapse(got)[:10] == _collapse(truth)[:10]


def annotation(page: LabelledPage, field: str) -> str | None:
    return {"title": page.title, "author": page.author, "date": page.date}[field]


def candidate_value(field: str, candidate: Candidate) -> str | tuple[str, ...] | None:
    if not candidate.value:
        return None
    return candidate.value if field == "author" else candidate.value[0]


# -- examples ------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class FieldExamples:
    """One page's candidates for one field: feature rows, labels, and the values they stand for."""

    rows: np.ndarray
    labels: np.ndarray  # 1: right by the corpus's rules; all 0 when no candidate is
    values: tuple[str | tuple[str, ...] | None, ...]
    pick: int  # the index of extract_page's own pick ("pick" among its sources); -1: none


@dataclass(frozen=True)
class PageExamples:
    page: LabelledPage
    fields: dict[str, FieldExamples]  # only the fields the page can teach (see the module's note)


def current_pick(page: LabelledPage) -> Article | None:
    """extract_page's metadata without the rankers."""
    return extract_page(page.html, page.url, rank_metadata=False)


def page_examples(page: LabelledPage, article: Article) -> PageExamples | None:
    tree = load_html(page.html)
    if tree is None:
        return None
    view = read_view(tree, page.url, article)
    fields: dict[str, FieldExamples] = {}
    for field in FIELDS:
        truth = annotation(page, field)
        if truth is None and (page.corpus != WCXB or field == "title"):
            continue  # not annotated: nothing to learn
        candidates, rows = field_rows(view, field)
        if not candidates:
            continue
        values = tuple(candidate_value(field, c) for c in candidates)
        pick = next((i for i, c in enumerate(candidates) if "pick" in c.sources), -1)
        if truth is None and pick >= 0 and values[pick] is not None:
            # WCXB's null beside a value extract_page found: a page without one, or an annotation
            # left out? Neither teaches the ranker; a null where extract_page finds nothing either does.
            continue
        labels = np.asarray([(v is None) if truth is None else right(page.corpus, field, truth, v) for v in values],
                            dtype=np.float64)
        fields[field] = FieldExamples(rows=rows, labels=labels, values=values, pick=pick)
    return PageExamples(page=page, fields=fields)


def build_examples(pages: Sequence[LabelledPage], picks: dict[str, Article | None] | None = None) -> list[PageExamples]:
    """Examples for every page; ``picks`` (keyed ``corpus/page_id``) saves running extract_page again."""
    out = []
    for page in pages:
        key = f"{page.corpus}/{page.page_id}"
        article = picks[key] if picks is not None and key in picks else current_pick(page)
        if article is None:
            continue
        examples = page_examples(page, article)
        if examples is not None:
            out.append(examples)
    return out


# -- training ------------------------------------------------------------------------------------------------
def fit(examples: Sequence[PageExamples], field: str, *, seed: int = 0) -> dict[str, Any]:
    """A binary LightGBM model over every candidate of ``field``, in our JSON form."""
    parts = [e.fields[field] for e in examples if field in e.fields]
    rows = np.vstack([p.rows for p in parts])
    labels = np.concatenate([p.labels for p in parts])
    params = {**PARAMS, "seed": seed, "bagging_seed": seed, "feature_fraction_seed": seed, "data_random_seed": seed}
    data = lgb.Dataset(rows, labels, feature_name=list(GENERATORS[field][2]), free_raw_data=True,
                       params={"verbose": -1})
    booster = lgb.train(params, data, num_boost_round=ROUNDS)
    return from_lightgbm_dump(booster.dump_model())


def train_examples(examples: Sequence[PageExamples], *, seed: int = 0) -> dict[str, dict[str, Any]]:
    return {field: fit(examples, field, seed=seed) for field in FIELDS}


def train_metadata(pages: Sequence[LabelledPage], *, seed: int = 0) -> dict[str, dict[str, Any]]:
    """The models for "title", "author" and "date", trained on ``pages``."""
    return train_examples(build_examples(pages), seed=seed)


def write_models(models: dict[str, dict[str, Any]], directory: Path = MODELS_DIR) -> None:
    for field, model in models.items():
        (directory / f"{field}.json").write_text(dumps(model), encoding="utf-8")


# -- cross-validation ----------------------------------------------------------------------------------------
def cross_validate(examples: Sequence[PageExamples], *, seed: int = 0) -> dict[str, dict[str, dict[str, float]]]:
    """Share right per corpus and field on annotated pages, before (extract_page's pick) and after."""
    from scraper.extract.model import loads

    fold_of = site_folds([e.page.site for e in examples], FOLDS, seed)
    hits: dict[tuple[str, str, str], list[bool]] = {}
    for fold in range(FOLDS):
        train = [e for e, f in zip(examples, fold_of, strict=True) if f != fold]
        test = [e for e, f in zip(examples, fold_of, strict=True) if f == fold]
        for field in FIELDS:
            model = loads(dumps(fit(train, field, seed=seed)))
            for example in test:
                truth = annotation(example.page, field)
                part = example.fields.get(field)
                if truth is None or part is None:
                    continue
                chosen = part.values[int(np.argmax(model.raw_scores(part.rows)[:, 0]))]
                before = part.values[part.pick] if part.pick >= 0 else None
                corpus = example.page.corpus
                hits.setdefault((corpus, field, "before"), []).append(right(corpus, field, truth, before))
                hits.setdefault((corpus, field, "after"), []).append(right(corpus, field, truth, chosen))
                hits.setdefault((corpus, field, "reachable"), []).append(bool(part.labels.any()))
    figures: dict[str, dict[str, dict[str, float]]] = {}
    for (corpus, field, which), values in sorted(hits.items()):
        row = figures.setdefault(corpus, {}).setdefault(field, {"pages": float(len(values))})
        row[which] = sum(values) / len(values)
    return figures


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus-root", type=Path, default=Path("../shared/corpus"))
    parser.add_argument("--cv", action="store_true", help="report site-grouped 5-fold cross-validation")
    parser.add_argument("--write", action="store_true", help=f"write the models to {MODELS_DIR}")
    args = parser.parse_args(argv)
    pages = read_corpora(args.corpus_root, (WCXB, TRAFILATURA_EVAL))
    examples = build_examples(pages)
    if args.cv:
        for corpus, fields in cross_validate(examples).items():
            for field, row in fields.items():
                print(f"{corpus:17} {field:7} pages {row['pages']:5.0f}  before {row['before']:.3f}  "
                      f"after {row['after']:.3f}  reachable {row['reachable']:.3f}")
    if args.write:
        write_models(train_examples(examples))
    return 0


if __name__ == "__main__":
    sys.exit(main())
