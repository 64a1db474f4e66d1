"""Find a page's byline in its markup when its structured data names no author.

Pure (lxml only).  The search follows trafilatura's own author search
(``trafilatura.metadata.extract_author``): three tiers of markup, most specific
first, the first text of a plausible length wins, and nothing inside comments,
sidebars, quotes or date/figure elements counts.  trafilatura copies and prunes
the whole tree and matches classes with EXSLT regular expressions, which lxml
runs as a Python call per element: about 10 ms a page.  Here the tiers are plain
XPath ``contains()`` tests, and the exclusions are checked only on the few
candidates, by walking up from each: about a tenth of that.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator

from lxml import etree
from lxml.html import HtmlElement

_TIER0_TAGS = frozenset({"a", "address", "div", "link", "p", "span", "strong"})
_TIER1_TAGS = frozenset({"a", "div", "h3", "h4", "p", "span"})
_TIER0_CLASS = re.compile(r"author-?name|AuthorName|authorName")
_TIER1_ID = re.compile(r"author|zuozhe|bianji|xiaobian")
_TIER1_CLASS = re.compile(r"author|channel-name|zuozhe|bianji|xiaobian|submitted-by|posted-by|journalist-name")
_TIER2_ID = re.compile(r"[Aa]uthor")
_TIER2_CLASS = re.compile(r"[Aa]uthor|screenname|writer|[Bb]yline")


def _tier(element: HtmlElement) -> int | None:
    """Which tier of author markup the element is (0 most specific), ``None`` if none.

    One pass in Python over the tree: lxml runs an XPath predicate per element per
    alternative, and the three tiers have two dozen alternatives.
    """
    tag = element.tag
    if tag == "author":
        return 0
    attributes = element.attrib
    if not attributes:
        return None
    element_class = attributes.get("class", "")
    element_id = attributes.get("id", "")
    itemprop = attributes.get("itemprop", "")
    if tag in _TIER0_TAGS and (
            attributes.get("rel") == "author" or element_id == "author" or element_class == "author"
            or itemprop == "author name" or attributes.get("data-testid") in ("AuthorCard", "AuthorURL")
            or (element_class and _TIER0_CLASS.search(element_class))):
        return 0
    if tag in _TIER1_TAGS and (
            element_class in ("byline", "username", "byl", "BBL") or "author" in itemprop
            or (element_id and _TIER1_ID.search(element_id))
            or (element_class and _TIER1_CLASS.search(element_class))):
        return 1
    if ("Byline" in attributes.get("data-component", "") or "author" in itemprop
            or (element_id and _TIER2_ID.search(element_id))
            or (element_class and _TIER2_CLASS.search(element_class))):
        return 2
    return None


# Containers whose names are not the article's byline: comments, sidebars, quotes, share boxes.
_EXCLUDED_ID = re.compile(r"^comments|comment-?list|ProductReviews")
_EXCLUDED_CLASS = re.compile(r"^[Cc]omments|commentlist|comments-list|sidebar|is-hidden|quote|embedly-instagram|"
                             r"article-(?:share|support)|print|category|meta-date|meta-reviewer")
_EXCLUDED_EXACT = frozenset({"comments", "title", "date"})
_CONTAINER_TAGS = frozenset({"a", "div", "section", "span"})
_SKIPPED_TAGS = frozenset({"time", "figure"})  # dates and captions sit inside bylines
MAX_BYLINE_CHARS = 120


def _excluded(element: HtmlElement) -> bool:
    tag = element.tag
    if tag in _SKIPPED_TAGS:
        return True
    if tag not in _CONTAINER_TAGS:
        return False
    element_id, element_class = element.get("id", ""), element.get("class", "")
    return (element_id in _EXCLUDED_EXACT or element_class in _EXCLUDED_EXACT
            or bool(element_id and _EXCLUDED_ID.search(element_id))
            or bool(element_class and _EXCLUDED_CLASS.search(element_class))
            or "Figure" in element.get("data-component", ""))


def _visible_text(element: HtmlElement) -> Iterator[str]:
    """The element's text, leaving out excluded descendants (a <time> inside "By X, <time>...")."""
    if element.text:
        yield element.text
    for child in element:
        if isinstance(child.tag, str) and not _excluded(child):
            yield from _visible_text(child)
        if child.tail:
            yield child.tail


def find_byline(tree: HtmlElement) -> str | None:
    """The byline text of 3 to 119 characters that trafilatura's author search would pick:
    the most specific markup first, in document order within a tier."""
    tiers: tuple[list[HtmlElement], ...] = ([], [], [])
    for element in tree.iter(etree.Element):
        tier = _tier(element)
        if tier is not None:
            tiers[tier].append(element)
    for candidates in tiers:
        for element in candidates:
            if _excluded(element) or any(_excluded(node) for node in element.iterancestors()):
                continue
            text = " ".join(" ".join(_visible_text(element)).split())
            if 2 < len(text) < MAX_BYLINE_CHARS:
                return text
    return None


# Names as the page marks them up, most precise first in document order: microdata names,
# rel=author, hCard names in an author block, .byline, links to an author archive page.
_AUTHOR_MARKUP = etree.XPath(
    "//*[@itemprop='author']//*[@itemprop='name'] | //*[@itemprop='author' and not(.//*[@itemprop='name'])]"
    " | //a[@rel='author'] | //*[contains(concat(' ', normalize-space(@class), ' '), ' author ')]//*[contains("
    "concat(' ', normalize-space(@class), ' '), ' fn ')] | //*[contains(concat(' ', normalize-space(@class), ' '),"
    " ' byline ')] | //a[contains(@href, '/author/')]")


def read_author_markup(tree: HtmlElement, limit: int = 6) -> tuple[str, ...]:
    """Texts of the page's author markup, in document order (at most ``limit``)."""
    elements = itertools.islice(_AUTHOR_MARKUP(tree), limit)
    texts = (" ".join(" ".join(element.itertext()).split()) for element in elements)
    return tuple(text for text in texts if text)
