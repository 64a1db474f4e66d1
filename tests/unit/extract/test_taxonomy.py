"""extract.taxonomy: categories and tags read from a page's markup."""

from __future__ import annotations

from pathlib import Path

import pytest
from trafilatura.metadata import extract_catstags

from scraper.extract.taxonomy import find_categories, find_tags
from tests.unit.extract.helpers import PAGES, page, parse


@pytest.mark.parametrize("path", PAGES, ids=lambda p: p.parent.name)
def test_category_and_tag_search_agrees_with_trafilatura(path: Path) -> None:
    tree = parse(path)
    assert find_categories(tree) == extract_catstags("category", tree)
    assert find_tags(tree) == extract_catstags("tag", tree)


def test_category_links_are_only_those_whose_path_says_category() -> None:
    tree = page("<div class='entry-meta'><a href='/category/world/'>World</a> <a href='/2021/05/'>May</a>"
                "<a href='/tag/elections/'>Elections</a></div>")
    assert find_categories(tree) == ["World"]
    assert find_tags(tree) == ["Elections"]
    assert find_categories(page("<a href='/about/'>About</a>")) == []
