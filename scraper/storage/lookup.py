"""Find page records in the archive root by URL (newest crawl first), and a URL's last good capture."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from scraper.scope import url_key
from scraper.storage.catalog import CATALOG_FILE, Catalog, PreviousCapture
from scraper.storage.layout import iter_crawls

URL_FIELDS = ("url", "requested_url", "canonical_url")


def iter_records_for(root: Path, url: str) -> Iterator[dict[str, Any]]:
    """Records whose final, requested or canonical URL is ``url``, newest first."""
    key = url_key(url)
    for crawl in iter_crawls(root, newest_first=True):
        matches = [record for record in crawl.iter_page_records()
                   if any(record.get(f) and url_key(record[f]) == key for f in URL_FIELDS)]
        yield from reversed(matches)


def latest_record(root: Path, url: str, db: str | None = None) -> dict[str, Any] | None:
    """The record that says what ``url`` is now (:func:`record_in_effect` of all its records):
    a successful capture wins over a later failed one."""
    return record_in_effect(url_records(root, url, db))


def url_records(root: Path, url: str, db: str | None = None) -> list[dict[str, Any]]:
    """Every record of ``url``, oldest first, from where :func:`latest_record` reads them:
    the catalog when it knows the URL, the crawls' page files otherwise."""
    if db or (root / CATALOG_FILE).is_file():
        catalog = Catalog.open(root, db)
        try:
            history = catalog.history(url_key(url))
        finally:
            catalog.close()
        if history:
            return history
    oldest_first = list(iter_records_for(root, url))[::-1]
    return sorted(oldest_first, key=lambda record: str(record.get("fetched_at") or ""))  # stable: ties keep order


def record_in_effect(records: Sequence[dict[str, Any]]) -> dict[str, Any] | None:
    """Of a URL's records (oldest first), the one that says what the page is: the newest with
    content (a version), else the newest 2xx (a PDF, a page not extracted), else the newest
    (a 404 when that is all there is).  A later failed capture does not hide the page."""
    for wanted in (lambda r: r.get("version") is not None, lambda r: 200 <= int(r.get("status") or 0) < 300,
                   lambda r: True):
        found = [record for record in records if wanted(record)]
        if found:
            return found[-1]
    return None


class DatabaseRevisits:
    """The revisit lookup of a shared crawl: the database's committed captures, asked each time, since other
    workers commit theirs while this one runs.  A capture is committed when the WARC file holding its
    record is closed, so the shared dedup index never points at a record that may never be written."""

    def __init__(self, catalog: Catalog) -> None:
        self.catalog = catalog

    def previous_capture(self, url_key: str, before: datetime | None = None) -> PreviousCapture | None:
        return self.catalog.previous_capture(url_key, before=before)


class CatalogRevisits:
    """The revisit lookup (:class:`~scraper.storage.backends.RevisitLookup`) of one machine: the catalog's
    committed captures.  A crawl's own captures are committed when its WARC files are closed, so a revisit
    never refers to a record that may not be written.

    The URLs with a capture are read once, as hashes, and only those are asked about (why:
    :meth:`~scraper.storage.catalog.Catalog.captured_key_hashes`).  One machine's catalog fits in memory
    that way; a shared dedup index of a billion URLs would not, and asks its database each time.
    """

    def __init__(self, catalog: Catalog) -> None:
        self.catalog = catalog
        self._captured: set[int] | None = None  # read at the first question: the catalog is open by then

    def previous_capture(self, url_key: str, before: datetime | None = None) -> PreviousCapture | None:
        if self._captured is None:
            self._captured = self.catalog.captured_key_hashes()
        if hash(url_key) not in self._captured:
            return None
        return self.catalog.previous_capture(url_key, before=before)
