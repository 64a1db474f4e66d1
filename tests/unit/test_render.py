"""Issue 13: `scraper show --format text|markdown` print the title once, and keep every body whole."""

from __future__ import annotations

from typing import Any

from scraper.extract.page import Article
from scraper.records import build_page_record, render_markdown, render_text
from tests.unit.test_records import CRAWL_ID, capture

EXTRACTOR = {"name": "trafilatura", "version": "2.3.1"}
PARAGRAPHS = "The council met on Tuesday.\nIt voted 7 to 4."


def record(title: str | None, text: str | None, markdown: str | None = None) -> dict[str, Any]:
    """A page record from the real builder, with the article fields given."""
    article = Article(title=title, text=text, markdown=markdown)
    return build_page_record(CRAWL_ID, capture(), article, EXTRACTOR).to_dict()


def test_text_prints_the_title_once_when_the_body_starts_with_the_headline() -> None:
    # trafilatura keeps the page's <h1> as the first line of the text
    page = record("Council backs harbour plan", "Council backs harbour plan\n" + PARAGRAPHS)
    assert render_text(page) == "Council backs harbour plan\n\n" + PARAGRAPHS + "\n"
    # the same headline, spaced or cased otherwise, is still the headline
    page = record("Council backs harbour plan", "  Council  backs HARBOUR plan \n" + PARAGRAPHS)
    assert render_text(page) == "Council backs harbour plan\n\n" + PARAGRAPHS + "\n"


def test_text_keeps_a_body_that_starts_with_other_text() -> None:
    for body in [PARAGRAPHS,  # no headline in the text
                 "Council backs harbour plan, and more: the first line of a paragraph\n" + PARAGRAPHS,
                 "Harbour plan\n" + PARAGRAPHS]:  # a kicker, not the title
        page = record("Council backs harbour plan", body)
        assert render_text(page) == "Council backs harbour plan\n\n" + body + "\n", body
    # the title alone (the text was the headline only) and a body alone
    assert render_text(record("Council backs harbour plan", "Council backs harbour plan")) == (
        "Council backs harbour plan\n")
    assert render_text(record(None, PARAGRAPHS)) == PARAGRAPHS + "\n"
    # and a page whose text begins with the headline says it once only (this failed before)
    assert render_text(record("It voted 7 to 4.", "It voted 7 to 4.\nThe council met.")).count("It voted") == 1


def test_markdown_prints_the_title_once_and_keeps_other_bodies() -> None:
    page = record("Council backs harbour plan", "Council backs harbour plan\n" + PARAGRAPHS,
                  "#  Council backs  harbour plan\n\nThe council met on Tuesday.")
    document = render_markdown(page)
    assert document.count("Council backs") == 1 and "The council met on Tuesday." in document
    other = record("Council backs harbour plan", PARAGRAPHS, "## Harbour plan\n\nThe council met on Tuesday.")
    assert "## Harbour plan\n\nThe council met on Tuesday." in render_markdown(other)
    # and the text of a headline written in another case or spacing counts as the headline
    cased = record("Council backs harbour plan", None, "# COUNCIL BACKS HARBOUR PLAN\n\nThe council met.")
    assert render_markdown(cased).splitlines()[:3] == ["# Council backs harbour plan", "", "The council met."]
