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

# What kind of page a record is (its ``page_type``): an article; a listing (a section front,
# an index, a tag or category page, search results: mostly links to other pages); or
# anything else (a product, a forum thread, a form, documentation).  ``None``: not extracted.
PAGE_TYPES = ("article", "listing", "other")


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
