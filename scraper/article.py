"""What extraction returns, and how it is asked to extract: plain values.

Separate from :mod:`scraper.extract.page` so that the crawl process, which hands pages
to extraction workers, builds records without importing trafilatura, lxml's HTML
cleaner, htmldate and dateparser (about 40 MiB it would never use).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from importlib.metadata import version

EXTRACTOR_NAME = "trafilatura"
# The installed distribution's version: what trafilatura.__version__ says, without importing it.
EXTRACTOR_VERSION: str = version("trafilatura")

# What kind of page a record is (its ``page_type``), WCXB's seven kinds: an article (news, blog
# post, essay); a forum (a thread, Q&A: its posts are content); a product (one item for sale);
# a collection (a category or shop page of products, a gallery); a listing (a section front, an
# index, a tag page, search results: links to other pages); documentation (a manual's or an
# API's page); a service (a company's page about what it offers, a landing or contact page).
# ``None``: not extracted.  Records written before the seven kinds may say "other".
PAGE_TYPES = ("article", "forum", "product", "collection", "listing", "documentation", "service")
OLD_PAGE_TYPES = ("other",)


@dataclass(frozen=True, kw_only=True)
class ExtractionOptions:
    """How to extract; one frozen object shared by every call (cf. trafilatura's Extractor)."""

    favor_precision: bool = False
    favor_recall: bool = False
    include_comments: bool = False
    include_tables: bool = True
    # trafilatura drops bodies shorter than this (its default, 250 characters).
    min_extracted_size: int = 250
    detect_language: bool = True


@dataclass(frozen=True, kw_only=True)
class Article:
    page_type: str | None = None  # one of PAGE_TYPES
    page_type_confidence: float | None = None  # the page-type model's probability for page_type
    text: str | None = None
    markdown: str | None = None
    title: str | None = None
    authors: list[str] = field(default_factory=list)
    published: str | None = None
    modified: str | None = None
    site_name: str | None = None
    description: str | None = None
    language: str | None = None
    canonical_url: str | None = None
    image: str | None = None
    tags: list[str] = field(default_factory=list)
    categories: list[str] = field(default_factory=list)
