"""The item that flows from the spider through the pipelines."""

from __future__ import annotations

from dataclasses import dataclass

from scraper.extraction import Article
from scraper.records import Capture


@dataclass(kw_only=True)
class PageItem:
    """One page response, with what the pipelines need to describe and extract it."""

    capture: Capture
    html: str | None = None  # decoded text of an HTML response worth extracting
    content_language: str | None = None
    article: Article | None = None
    extraction_error: str | None = None
