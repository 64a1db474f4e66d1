"""extract.bylines: the byline search gives trafilatura's own answers, faster.

scraper.extract.bylines (and scraper.extract.taxonomy, in test_taxonomy.py) re-express trafilatura's author
and category/tag searches without its tree copy and EXSLT regular expressions.  On the real pages in
tests/fixtures (sources in their READMEs) they must pick what trafilatura picks."""

from __future__ import annotations

from pathlib import Path

import pytest
from trafilatura.json_metadata import normalize_authors
from trafilatura.metadata import extract_author

from scraper.extract.bylines import find_byline, read_author_markup
from tests.unit.extract.helpers import PAGES, page, parse


@pytest.mark.parametrize("path", PAGES, ids=lambda p: p.parent.name)
def test_byline_search_agrees_with_trafilatura(path: Path) -> None:
    byline = find_byline(parse(path))
    assert (normalize_authors(None, byline) if byline else None) == extract_author(parse(path))


def test_byline_in_comments_is_not_the_author() -> None:
    tree = page("<div id='comments'><span class='author'>Troll Commenter</span></div>"
                "<article><p class='byline'>Jane Reporter</p></article>")
    assert find_byline(tree) == "Jane Reporter"


def test_date_inside_the_byline_is_left_out() -> None:
    tree = page("<p class='author-name'>Jane Reporter <time>12 May 2021</time></p>")
    assert find_byline(tree) == "Jane Reporter"


def test_more_specific_markup_wins_over_earlier_generic_markup() -> None:
    tree = page("<div class='writer-box'>Someone Generic</div><a rel='author' href='/x'>Jane Reporter</a>")
    assert find_byline(tree) == "Jane Reporter"
    assert find_byline(page("<p>No byline here</p>")) is None


def test_author_markup_reads_microdata_names_and_archive_links() -> None:
    tree = page("<div itemprop='author'><span itemprop='name'>Ana Lima</span> (Lisbon)</div>"
                "<a href='/author/joao-silva/'>João Silva</a>")
    assert read_author_markup(tree) == ("Ana Lima", "João Silva")
