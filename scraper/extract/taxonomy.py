"""A page's categories and tags from its markup (post-meta links, tag lists).

Pure (lxml only).  The same search as trafilatura's ``extract_catstags``: link lists
in the usual blog and CMS containers, kept when the link's path says ``/category/``
or ``/tag/``.  trafilatura writes two of these paths with EXSLT regular expressions,
which lxml runs as a Python call on every ``<div>``; anchored prefixes are plain
``starts-with()`` tests, and that makes the search several times cheaper.
"""

from __future__ import annotations

import re

from lxml import etree
from lxml.html import HtmlElement

from scraper.compat.trafilatura import block_text, line_processing  # as trafilatura's own category search


def _starts(attribute: str, *prefixes: str) -> str:
    return " or ".join(f"starts-with({attribute}, '{prefix}')" for prefix in prefixes)


_CATEGORY_PATHS = (
    etree.XPath("//div[" + _starts("@class", "postinfo", "post-info", "postmeta", "post-meta", "meta", "entry-meta",
                                   "entry-info", "entry-utility") + " or starts-with(@id, 'postpath')]//a[@href]"),
    etree.XPath("//p[starts-with(@class, 'postmeta') or starts-with(@class, 'entry-categories') or "
                "@class='postinfo' or @id='filedunder']//a[@href]"),
    etree.XPath("//footer[starts-with(@class, 'entry-meta') or starts-with(@class, 'entry-footer')]//a[@href]"),
    etree.XPath("//*[self::li or self::span][@class='post-category' or @class='postcategory' or "
                "@class='entry-category' or contains(@class, 'cat-links')]//a[@href]"),
    etree.XPath("//header[@class='entry-header']//a[@href]"),
    etree.XPath("//div[@class='row' or @class='tags']//a[@href]"),
)
_TAG_PATHS = (
    etree.XPath("//div[@class='tags']//a[@href]"),
    etree.XPath("//p[starts-with(@class, 'entry-tags')]//a[@href]"),
    etree.XPath("//div[@class='row' or @class='jp-relatedposts' or @class='entry-utility' or "
                + _starts("@class", "tag", "postmeta", "meta") + "]//a[@href]"),
    etree.XPath("//*[@class='entry-meta' or contains(@class, 'topics') or contains(@class, 'tags-links')]//a[@href]"),
)
_SECTION_META = etree.XPath('.//head//meta[@property="article:section" or contains(@name, "subject")][@content]')
_CATEGORY_HREF = re.compile(r"/categor(?:y|ies|s)?/")
_TAG_HREF = re.compile(r"/tag(?:y|ies|s)?/")


# One traversal that tells whether any of the ten container searches can find anything.
_ANY_CANDIDATE = etree.XPath("boolean(//a[contains(@href, '/categor') or contains(@href, '/tag')])")


def _link_texts(paths: tuple[etree.XPath, ...], href: re.Pattern[str], tree: HtmlElement) -> list[str]:
    if not _ANY_CANDIDATE(tree):
        return []
    for path in paths:
        found = [block_text(link) for link in path(tree) if href.search(link.get("href", ""))]
        if found:
            return found
    return []


def _unique(values: list[str]) -> list[str]:
    return [value for value in dict.fromkeys(line_processing(v) for v in values if v) if value]


def find_categories(tree: HtmlElement) -> list[str]:
    """Category links of the post, else ``article:section`` / ``subject`` meta."""
    found = _link_texts(_CATEGORY_PATHS, _CATEGORY_HREF, tree)
    return _unique(found or [element.get("content", "") for element in _SECTION_META(tree)])


def find_tags(tree: HtmlElement) -> list[str]:
    """Tag links of the post (``/tag/`` in the link's path)."""
    return _unique(_link_texts(_TAG_PATHS, _TAG_HREF, tree))
