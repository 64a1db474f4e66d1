"""The item that flows from the spider through the pipelines."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from scraper.extraction import Article
from scraper.records import WarcPointer


@dataclass(kw_only=True)
class PageItem:
    """One page response, with what the pipelines need to describe and extract it."""

    requested_url: str
    url: str
    status: int
    content_type: str | None
    fetched_at: datetime
    payload_digest: str | None
    warc: WarcPointer
    depth: int = 0
    referrer: str | None = None
    redirects: list[str] = field(default_factory=list)
    html: str | None = None  # decoded text of an HTML response worth extracting
    content_language: str | None = None
    article: Article | None = None
    extraction_error: str | None = None
