"""Real-HTML regression tests, two WCXB development pages per page type (tests/fixtures/wcxb/README.md).

Per page: extract_page's page_type is the annotated type; its text scores at least the type's floor in
WCXB's word F1 against the annotated main content; most ``with`` snippets are in it and few ``without``
ones.  What the extractor cannot do yet is marked xfail(strict=True) case by case (XFAIL); a strict xfail
that passes fails the suite, so its mark is then removed.
"""

from __future__ import annotations

import functools
import gzip
import json
import re
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from scraper.article import PAGE_TYPES, Article
from scraper.extract.page import extract_page

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "wcxb"
PAGES = sorted(path.stem for path in (FIXTURES / "ground-truth").glob("*.json"))

# One word-F1 floor per page type, for every page of that type (not fitted to a page): issue 18's targets,
# >= 0.965 on articles and no page type below 0.80, held page by page. They are targets for a mean over
# held-out pages; on these development pages each page is to meet them.
F1_FLOOR = {"article": 0.965, "forum": 0.80, "product": 0.80, "collection": 0.80, "listing": 0.80,
            "documentation": 0.80, "service": 0.80}
# "Most" of the snippets a correct extraction contains, "few" of the boilerplate ones.
WITH_FOUND_AT_LEAST = 0.6
WITHOUT_FOUND_AT_MOST = 0.25

# What the extractor still misses, per (page, check).  These are development pages, which the models
# trained on: the marks say where even a page it learnt from is beyond it.
XFAIL: dict[tuple[str, str], str] = {
    ("0077", "f1"): "issue 18: a listing's cards are mostly missed (word F1 0.55)",
    ("0515", "f1"): "issue 18: a forum thread keeps its first post and misses the replies (word F1 0.67)",
    ("0076", "snippets"): "issue 18: a 'Download Catalog' button among the course cards is kept (1 of 3 leaked)",
}
CHECKS = ("page_type", "f1", "snippets")

_WORD = re.compile(r"\w+")
_QUOTES = str.maketrans({"\u2019": "'", "\u2018": "'", "\u201c": '"', "\u201d": '"'})


def word_f1(predicted: str | None, reference: str | None) -> float:
    """WCXB's body score: F1 of the two bags of ``\\w+`` tokens, lower case (an empty reference scores 1 only
    for an empty prediction)."""
    got, want = Counter(_WORD.findall((predicted or "").lower())), Counter(_WORD.findall((reference or "").lower()))
    if not want:
        return 1.0 if not got else 0.0
    overlap = sum((got & want).values())
    if not overlap:
        return 0.0
    precision, recall = overlap / sum(got.values()), overlap / sum(want.values())
    return 2 * precision * recall / (precision + recall)


def _folded(text: str | None) -> str:
    # WCXB finds a snippet case-insensitively; spacing and typographic quotes are folded too, as its
    # annotators wrote straight quotes and single spaces where pages have others.
    return " ".join((text or "").translate(_QUOTES).lower().split())


def found_share(snippets: list[str], text: str | None) -> float:
    body = _folded(text)
    return sum(_folded(snippet) in body for snippet in snippets) / len(snippets) if snippets else 0.0


def annotation(page: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((FIXTURES / "ground-truth" / f"{page}.json").read_text(encoding="utf-8"))
    return data


def annotated_type(page: str) -> str:
    kind = str(annotation(page)["_internal"]["page_type"]["primary"])
    return "collection" if kind == "category" else kind


@functools.cache
def extracted(page: str) -> Article:
    html = gzip.decompress((FIXTURES / "html" / f"{page}.html.gz").read_bytes()).decode("utf-8")
    article = extract_page(html, annotation(page)["url"])
    assert article is not None, page
    return article


def test_the_fixtures_are_two_pages_of_each_type() -> None:
    kinds = Counter(annotated_type(page) for page in PAGES)
    assert kinds == dict.fromkeys(PAGE_TYPES, 2)
    assert sorted(path.name.split(".")[0] for path in (FIXTURES / "html").glob("*.html.gz")) == PAGES
    for page in PAGES:  # the README's size rule
        assert len(gzip.decompress((FIXTURES / "html" / f"{page}.html.gz").read_bytes())) < 150_000, page


def _cases() -> list[Any]:
    return [pytest.param(page, check, id=f"{page}-{annotated_type(page)}-{check}",
                         marks=[pytest.mark.xfail(strict=True, reason=XFAIL[page, check])]
                         if (page, check) in XFAIL else [])
            for page in PAGES for check in CHECKS]


@pytest.mark.parametrize(("page", "check"), _cases())
def test_wcxb_page(page: str, check: str) -> None:
    article, truth, kind = extracted(page), annotation(page)["ground_truth"], annotated_type(page)
    if check == "page_type":
        assert article.page_type == kind
    elif check == "f1":
        score = word_f1(article.text, truth["main_content"])
        assert score >= F1_FLOOR[kind], f"word F1 {score:.3f} < {F1_FLOOR[kind]} ({kind})"
    else:
        found, leaked = found_share(truth["with"], article.text), found_share(truth["without"], article.text)
        assert found >= WITH_FOUND_AT_LEAST and leaked <= WITHOUT_FOUND_AT_MOST, (found, leaked)


def test_the_scores_are_wcxbs() -> None:
    """The scorer itself, on cases worked by hand."""
    assert word_f1("The cat sat", "the CAT sat") == 1.0
    assert word_f1("", "") == 1.0 and word_f1("x", "") == 0.0 and word_f1("", "x") == 0.0
    assert word_f1("a a b", "a b c d") == pytest.approx(2 * (2 / 3) * (2 / 4) / ((2 / 3) + (2 / 4)))
    assert found_share(["it\u2019s  HERE"], "So it's here.") == 1.0 and found_share([], "x") == 0.0
