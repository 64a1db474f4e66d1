"""The byline and category/tag searches give trafilatura's own answers, faster.

scraper.extract.bylines and scraper.extract.taxonomy re-express trafilatura's author and category/tag
searches without its tree copy and EXSLT regular expressions.  On the real pages in
tests/fixtures (sources in their READMEs) they must pick what trafilatura picks.
"""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest
from lxml.html import HtmlElement
from trafilatura.json_metadata import normalize_authors
from trafilatura.metadata import extract_author, extract_catstags
from trafilatura.utils import load_html

from scraper.extract.bylines import find_byline, read_author_markup
from scraper.extract.taxonomy import find_categories, find_tags

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
PAGES = sorted([*FIXTURES.glob("pages/*/page.html"), *FIXTURES.glob("metadata/*/page.html.gz")])


def parse(path: Path) -> HtmlElement:
    raw = path.read_bytes()
    tree = load_html(gzip.decompress(raw) if path.suffix == ".gz" else raw)
    assert tree is not None
    return tree


@pytest.mark.parametrize("path", PAGES, ids=lambda p: p.parent.name)
def test_byline_search_agrees_with_trafilatura(path: Path) -> None:
    byline = find_byline(parse(path))
    assert (normalize_authors(None, byline) if byline else None) == extract_author(parse(path))


@pytest.mark.parametrize("path", PAGES, ids=lambda p: p.parent.name)
def test_category_and_tag_search_agrees_with_trafilatura(path: Path) -> None:
    tree = parse(path)
    assert find_categories(tree) == extract_catstags("category", tree)
    assert find_tags(tree) == extract_catstags("tag", tree)


def page(body: str) -> HtmlElement:
    tree = load_html(f"<html><head><title>t</title></head><body>{body}</body></html>")
    assert tree is not None
    return tree


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


def test_category_links_are_only_those_whose_path_says_category() -> None:
    tree = page("<div class='entry-meta'><a href='/category/world/'>World</a> <a href='/2021/05/'>May</a>"
                "<a href='/tag/elections/'>Elections</a></div>")
    assert find_categories(tree) == ["World"]
    assert find_tags(tree) == ["Elections"]
    assert find_categories(page("<a href='/about/'>About</a>")) == []
