"""The item that flows from the spider through the pipelines."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from scraper.article import Article
from scraper.records import Capture, TextFingerprint


@dataclass(kw_only=True)
class PageItem:
    """One page response, with what the pipelines need to describe and extract it."""

    capture: Capture
    html: str | None = None  # decoded text of an HTML response worth extracting
    content_language: str | None = None
    article: Article | None = None
    fingerprint: TextFingerprint | None = None  # of article.text, computed by the extraction worker
    extraction_error: str | None = None
    previous: dict[str, Any] | None = None  # the page record of the URL's last good capture
    catalog: dict[str, Any] = field(default_factory=dict)  # etag, last_modified, warc_date, original
