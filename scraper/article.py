"""What extraction returns, and how it is asked to extract: plain values.

Separate from :mod:`scraper.extract.page` so that the crawl process, which hands pages
to extraction workers, builds records without importing trafilatura, lxml's HTML
cleaner, htmldate and dateparser (about 40 MiB it would never use).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from functools import cache
from importlib.metadata import version
from pathlib import Path

from scraper import __version__

# Records name the extractor that made them (their ``extractor``): scraper's own extraction, of
# this package version, with these model files, around this trafilatura.  Records written before
# the learned extractor say {"name": "trafilatura", "version": <trafilatura's version>}.
EXTRACTOR_NAME = "scraper"
EXTRACTOR_VERSION: str = __version__
# The installed distribution's version: what trafilatura.__version__ says, without importing it.
TRAFILATURA_VERSION: str = version("trafilatura")
# The trained models extraction loads (scraper/extract/models/*.json).  Found by path, not by
# importing scraper.extract: this module is the bottom layer, and the crawl process reads it.
MODELS_DIR = Path(__file__).parent / "extract" / "models"
NO_MODEL = "none"  # the model digest when the package ships no model file


def digest_models(directory: Path) -> str:
    """A 12-hex digest of the ``*.json`` model files in ``directory``; ``NO_MODEL`` when there are none.

    Each file's name and bytes, in name order, go into one SHA-256: retraining, adding, removing
    or renaming a model changes it.  Bytes only, nothing parsed: the crawl process, which stamps
    every record with it, must not load numpy or the models for this.
    """
    paths = sorted(directory.glob("*.json"), key=lambda path: path.name)
    if not paths:
        return NO_MODEL
    digest = hashlib.sha256()
    for path in paths:
        data = path.read_bytes()
        # The name and length before the bytes, so that no two sets of files hash alike.
        digest.update(f"{path.name}\0{len(data)}\0".encode())
        digest.update(data)
    return digest.hexdigest()[:12]


@cache
def model_digest() -> str:
    """The digest of the models this package ships (read once per process)."""
    return digest_models(MODELS_DIR)

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
class Product:
    """What a product page says about its item, from its JSON-LD (``scraper.extract.product``).

    ``None`` where the page does not say.  ``price`` is the number as the page writes it
    ("19.99", "1299"), its ``currency`` an ISO 4217 code; ``availability`` the schema.org
    ItemAvailability name ("InStock", "OutOfStock", ...); ``rating`` the aggregate rating's
    value as written ("4.6") and ``review_count`` how many ratings or reviews it averages.
    """

    name: str | None = None
    brand: str | None = None
    sku: str | None = None
    price: str | None = None
    currency: str | None = None
    availability: str | None = None
    rating: str | None = None
    review_count: int | None = None


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
    product: Product | None = None  # a product page's item (None on other pages, or when it states none)
