"""The seams for shared backends: what the rest of the code asks of the archive's storage.

Four small interfaces, each with today's local implementation beside the code it wraps.  The code
above ``storage`` (the crawl, ``rearchive``, ``import``, ``resume``, the readers) is typed against
these, never against the classes; a new backend implements one of them and is constructed where the
local one is (``crawl/extensions.ArchiveRun``, ``crawl/shared_run.SharedArchiveRun``, ``cli/``), nowhere else.
Workers on several machines sharing one crawl through PostgreSQL use the shared implementations:

- :class:`CatalogBackend` — every URL, capture and watch.  Local: :class:`~scraper.storage.catalog.Catalog`
  (SQLAlchemy Core on SQLite; its SQL is portable but for the SQLite-only PRAGMAs of ``check``,
  ``checkpoint`` and the connect hook, which it runs only on SQLite).  Shared: the same class on
  ``postgresql+psycopg://``, with migrations; due watches are taken with ``FOR UPDATE SKIP LOCKED``
  (:meth:`~scraper.storage.shared.SharedState.lease_due_watches`).
- :class:`Frontier` — the requests a crawl scheduled and which are done: what a resumed (or, with a
  shared backend, another) worker fetches.  Local: :class:`~scraper.storage.journal.JournalFrontier`
  (``frontier.jsonl``; Scrapy's disk queue under JOBDIR is scratch beside it).  Shared:
  :class:`~scraper.storage.shared.SharedFrontier`, a table of requests leased with ``SELECT ... FOR UPDATE
  SKIP LOCKED`` and an expiry, so that a killed worker's requests go back to the others.
- :class:`RevisitLookup` — "have we stored this URL's payload before, and where?": what a conditional
  request asks about, and what a revisit record refers to instead of storing the payload again.  Local:
  :class:`~scraper.storage.lookup.CatalogRevisits` (the catalog's committed captures).  Shared:
  :class:`~scraper.storage.lookup.DatabaseRevisits`, the shared dedup index, which learns a digest only once
  the WARC file holding it is closed.
- :class:`WarcDestination` — a place WARC files go: how the next one is named, and how a finished one
  is closed durably under its final name.  Local: :class:`~scraper.storage.layout.LocalWarcFolder` (the
  crawl's folder, ``.open`` until closed).  Shared: one per worker, its name in the files' names,
  telling its run (``on_closed``) when a file is closed.

What each method promises is checked, on real files, by ``tests/unit/storage/test_backends.py``: one
suite per seam, run against every implementation its fixture lists.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO, Protocol

if TYPE_CHECKING:  # annotations only: importing the seams loads no database driver
    from scraper.storage.catalog import CatalogCapture, NewCapture, PreviousCapture, Unscheduled, Watch
    from scraper.storage.journal import FrontierState, ScheduledRequest


class CatalogBackend(Protocol):
    """The catalog as the code outside ``storage`` uses it: captures are added uncommitted, and become
    readable once their crawl's WARC files are closed (``commit_crawl``)."""

    @property
    def url(self) -> str:
        """The database URL (with its password: the manifest removes it)."""
        ...

    def close(self) -> None: ...

    # -- captures: written by a crawl, an import, a resume
    def add_captures(self, entries: Sequence[NewCapture]) -> None:
        """Many captures in one transaction, uncommitted: no reader sees them yet."""
        ...

    def commit_crawl(self, crawl_id: str) -> int:
        """Make a crawl's captures readable (its WARC files are closed); returns how many."""
        ...

    def crawl_record_ids(self, crawl_id: str) -> set[str]:
        """The WARC record ids of a crawl's captures, committed or not."""
        ...

    def replace_records(self, crawl_id: str, records: Sequence[dict[str, Any]]) -> int:
        """Put corrected page records in place of the crawl's captures of the same WARC records."""
        ...

    # -- captures: read by `show`, `history`, `reextract`, `import`
    def history(self, url_key: str) -> list[dict[str, Any]]:
        """Every committed capture of a page (or of the page a URL redirected to), oldest first."""
        ...

    def captures_of_record(self, record_id: str, crawl_id: str | None = None) -> list[CatalogCapture]:
        """The committed captures whose WARC record is ``record_id`` (in ``crawl_id``, when given)."""
        ...

    def original_of_payload(self, url_key: str, payload_digest: str, before: datetime) -> CatalogCapture | None:
        """The latest committed response of a URL with this payload, fetched at or before ``before``."""
        ...

    # -- watches: `watch` and `rearchive`
    def add_watch(self, url_key: str, url: str, every_seconds: float | None, cron: str | None,
                  now: datetime | None = None) -> bool: ...

    def remove_watch(self, url_key: str) -> bool: ...

    def list_watches(self) -> list[Watch]: ...

    def due_watches(self, now: datetime | None = None) -> list[Watch]: ...

    def mark_captured(self, url_keys: list[str], when: datetime) -> list[Unscheduled]: ...


class Frontier(Protocol):
    """The requests one crawl scheduled, and which are done: what is left when it is resumed.

    A page is done when its page record is written; the local frontier learns that from the crawl's
    ``pages.jsonl`` at a resume (``resume.prepare_resume``), which has to read and repair it anyway,
    so today ``mark_done`` is called for seed sources (a sitemap or feed whose entries are all added).
    """

    def add(self, request: ScheduledRequest) -> None:
        """A request the crawl scheduled: on disk (or in the database) before it is fetched."""
        ...

    def mark_done(self, url: str) -> None:
        """The request for ``url`` needs no fetching again (a seed source read to its end)."""
        ...

    def read(self) -> FrontierState:
        """Every request added, in the order added, and the URLs marked done: including those of earlier
        sessions of the crawl (what a resume starts from)."""
        ...

    def close(self) -> None: ...


class RevisitLookup(Protocol):
    """Whether a URL's payload is stored already, and where."""

    def previous_capture(self, url_key: str, before: datetime | None = None) -> PreviousCapture | None:
        """The latest committed capture of a URL holding (or referring to) a 2xx payload, fetched before
        ``before`` when given, with its validators (ETag, Last-Modified), payload digest and the pointer to
        the response record that holds the payload; None if there is none."""
        ...


class WarcDestination(Protocol):
    """A place WARC files go, one at a time: named, written, closed durably under their final name.

    The writer (:class:`~scraper.storage.warc.WarcFileWriter`) decides when a file is full (its size
    limit) and what goes in it; the destination decides where it lives and what it is called.
    """

    @property
    def directory(self) -> Path:
        """The folder the files are in: readers (verify, index, export) list it."""
        ...

    @property
    def closed_files(self) -> list[str]:
        """The names of the files this destination closed, in the order closed."""
        ...

    @property
    def files_begun(self) -> int: ...

    def begin(self) -> tuple[str, BinaryIO]:
        """The next file: its final name, and a handle to write it through (under a name that says it is
        being written, so that no reader takes it for a finished one)."""
        ...

    def finish(self, name: str, handle: BinaryIO) -> None:
        """Close ``handle`` durably (its bytes on disk) and give the file its final name, durably."""
        ...

    def abandon(self, name: str, handle: BinaryIO) -> None:
        """After a failed write: close ``handle``, raise nothing, and leave the file to be repaired
        (its last record may be torn)."""
        ...
