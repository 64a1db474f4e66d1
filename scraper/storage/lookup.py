"""Find page records in the archive root by URL (newest crawl first)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from scraper.scope import url_key
from scraper.storage.catalog import CATALOG_FILE, Catalog
from scraper.storage.jsonl import iter_jsonl
from scraper.storage.layout import iter_crawls

URL_FIELDS = ("url", "requested_url", "canonical_url")


def iter_records_for(root: Path, url: str) -> Iterator[dict[str, Any]]:
    """Records whose final, requested or canonical URL is ``url``, newest first."""
    key = url_key(url)
    for crawl in iter_crawls(root, newest_first=True):
        if not crawl.pages_path.is_file():
            continue
        matches = [record for record in iter_jsonl(crawl.pages_path)
                   if any(record.get(f) and url_key(record[f]) == key for f in URL_FIELDS)]
        yield from reversed(matches)


def latest_record(root: Path, url: str, db: str | None = None) -> dict[str, Any] | None:
    """The newest record of ``url``; a successful capture wins over a later failed one.

    The catalog answers when it knows the URL; the crawls' pages.jsonl files otherwise
    (an archive copied without its catalog, or a crawl whose catalog rows never committed).
    """
    if db or (root / CATALOG_FILE).is_file():
        catalog = Catalog.open(root, db)
        try:
            history = catalog.history(url_key(url))
        finally:
            catalog.close()
        good = [r for r in history if r.get("version") is not None]
        if good or history:
            return (good or history)[-1]
    fallback = None
    for record in iter_records_for(root, url):
        if 200 <= int(record.get("status", 0)) < 300:
            return record
        fallback = fallback or record
    return fallback
