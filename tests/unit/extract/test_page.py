"""extraction: real pages with human ground truth, and the normalisers."""

from __future__ import annotations

import re
from collections import Counter

import pytest

from scraper.extract.page import (
    ExtractionOptions,
    clean_field,
    extract_page,
    language_code,
    merge_dates,
    normalise_date,
    split_authors,
)
from tests.site import PAGES_DIR, expected_for, golden_pages

SNIPPET_CASES = [n for n in golden_pages() if expected_for(n)["source"] == "trafilatura-eval"]
BODY_CASES = [n for n in golden_pages() if expected_for(n)["source"] == "article-extraction"]


def collapse(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def page(name: str) -> str:
    return (PAGES_DIR / name / "page.html").read_bytes().decode("utf-8")


def shingle_f1(predicted: str, truth: str) -> float:
    """The article-extraction benchmark's measure for one page (4-token shingles)."""
    def shingles(text: str) -> Counter[tuple[str, ...]]:
        tokens = re.findall(r"\w+", text)
        return Counter(tuple(tokens[i:i + 4]) for i in range(max(1, len(tokens) - 3)))
    p, t = shingles(predicted), shingles(truth)
    tp = sum((p & t).values())
    precision, recall = tp / max(1, sum(p.values())), tp / max(1, sum(t.values()))
    return 2 * precision * recall / (precision + recall) if tp else 0.0


@pytest.mark.parametrize("name", SNIPPET_CASES)
def test_main_text_present_boilerplate_absent(name: str) -> None:
    expected = expected_for(name)
    article = extract_page(page(name), expected["url"])
    assert article is not None and article.text
    text = collapse(article.text)
    for snippet in expected["with"]:
        assert collapse(snippet) in text, f"missing main text: {snippet!r}"
    for snippet in expected["without"]:
        assert collapse(snippet) not in text, f"boilerplate kept: {snippet!r}"


@pytest.mark.parametrize("name", SNIPPET_CASES)
def test_metadata_matches_annotation(name: str) -> None:
    expected = expected_for(name)
    article = extract_page(page(name), expected["url"])
    assert article is not None
    assert collapse(article.title or "") == collapse(expected["title"])
    assert [a.lower() for a in article.authors] == [expected["author"].lower()]
    assert article.published is not None and article.published[:10] == expected["date"]
    assert article.language == "en"
    assert article.canonical_url and article.canonical_url.startswith("https://")


@pytest.mark.parametrize("name", BODY_CASES)
def test_body_matches_annotated_article(name: str) -> None:
    expected = expected_for(name)
    article = extract_page(page(name), expected["url"])
    assert article is not None and article.text
    assert shingle_f1(article.text, expected["articleBody"]) >= 0.9
    # The markdown rendering carries the same body, markup aside.
    first_words = " ".join(re.findall(r"\w+", expected["articleBody"])[:10])
    assert article.markdown and first_words in " ".join(re.findall(r"\w+", article.markdown))


@pytest.mark.parametrize("name", SNIPPET_CASES + BODY_CASES)
def test_real_articles_are_articles_and_keep_their_date(name: str) -> None:
    """The page-type rules leave articles their searched-for fields (tests/unit/test_page_type.py: listings)."""
    expected = expected_for(name)
    article = extract_page(page(name), expected["url"])
    assert article is not None and article.page_type == "article"
    assert article.published is not None and article.authors
    if "date" in expected:
        assert article.published[:10] == expected["date"]


def test_markdown_keeps_structure_text_does_not() -> None:
    html = ("<html><body><article><h2>Section heading here</h2>" + "<p>Some <b>bold</b> words in a paragraph "
            "that is long enough to count as the main text of this small page.</p>" * 6 + "</article></body></html>")
    article = extract_page(html, "https://example.test/a", ExtractionOptions(min_extracted_size=10))
    assert article is not None and article.text and article.markdown
    assert "**bold**" in article.markdown and "**" not in article.text
    assert article.markdown.lstrip().startswith("#")


def test_not_html_gives_none_or_empty() -> None:
    article = extract_page(b"%PDF-1.4 binary \x00\x01", "https://example.test/x.pdf")
    assert article is None or article.text is None


def test_language_detected_when_page_does_not_say() -> None:
    body = "<p>Die Bundesregierung hat am Mittwoch neue Regeln für den Klimaschutz beschlossen. " * 8 + "</p>"
    article = extract_page(f"<html><body><article>{body}</article></body></html>", "https://example.test/de",
                           ExtractionOptions(min_extracted_size=10))
    assert article is not None and article.language == "de"


def test_language_from_html_lang_wins() -> None:
    body = "<p>This paragraph is written in English but the page declares French. " * 8 + "</p>"
    article = extract_page(f"<html lang='fr-CA'><body><article>{body}</article></body></html>",
                           "https://example.test/fr", ExtractionOptions(min_extracted_size=10))
    assert article is not None and article.language == "fr"


@pytest.mark.parametrize(("raw", "names"), [
    ("By Jane Doe", ["Jane Doe"]),
    ("Jane Doe; John Roe", ["Jane Doe", "John Roe"]),
    ("by Jane Doe and John Roe", ["Jane Doe", "John Roe"]),
    ("Jane Doe; jane doe", ["Jane Doe"]),
    ("", []),
    (None, []),
])
def test_split_authors(raw: str | None, names: list[str]) -> None:
    assert split_authors(raw) == names


@pytest.mark.parametrize(("raw", "iso"), [
    ("2014-01-10", "2014-01-10"),
    ("2014-01-10T23:30:00+04:00", "2014-01-10T23:30:00+04:00"),  # not shifted to UTC (would be the 10th 19:30)
    ("2014-01-10T23:30:00Z", "2014-01-10T23:30:00+00:00"),
    ("2014-01-10T23:30:00", "2014-01-10T23:30:00"),
    ("yesterday", None),
    ("", None),
])
def test_normalise_date(raw: str, iso: str | None) -> None:
    assert normalise_date(raw) == iso


def test_merge_dates_prefers_agreeing_timestamp() -> None:
    assert merge_dates("2014-01-10", "2014-01-10T08:00:00-05:00") == "2014-01-10T08:00:00-05:00"
    assert merge_dates("2014-01-10", "2013-12-31T08:00:00-05:00") == "2014-01-10"
    assert merge_dates(None, "2013-12-31T08:00:00Z") == "2013-12-31T08:00:00+00:00"


def test_unknown_values_are_none_never_empty() -> None:
    assert clean_field("  ") is None and clean_field("None") is None and clean_field(" a  b ") == "a b"
    assert language_code("en_GB") == "en" and language_code("x") is None
