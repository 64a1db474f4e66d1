"""A worker's part of a crawl shared through PostgreSQL (``scraper worker``, ``scraper crawl --db postgresql://``).

The same crawl components as on one machine, with the shared backends behind the seams:

- the frontier is :class:`~scraper.storage.shared.SharedFrontier` (leases), which the spider's
  :class:`LeaseLoop` asks for work, instead of the journal it reads at a resume;
- the revisit lookup asks the database each time (:class:`~scraper.storage.lookup.DatabaseRevisits`):
  other workers commit captures while this one runs;
- WARC files carry the worker's name (WARC 1.1 Annex C) and go into the crawl's folder beside the other
  workers' files; page records go to the worker's own ``pages-<worker>.jsonl``;
- a page is finished when the WARC file holding it is closed: then, in one transaction, its lease
  becomes ``done`` and its capture is committed (the shared dedup index learns its digest), and only
  then is its JSONL line written.  A killed worker loses at most its open file's pages, whose leases
  expire and whose pages another worker fetches again.  Files are closed every
  ``ARCHIVE_WARC_ROTATE_SECONDS`` (and when the worker runs out of work), so that pages do not wait for
  a 1 GB file to fill.
"""

from __future__ import annotations

import contextlib
import logging
import re
import time
from collections import Counter, defaultdict
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from scraper.crawl.extensions import ArchiveRun
from scraper.resume import JOB_FILE
from scraper.storage.catalog import Catalog
from scraper.storage.durable import write_json_atomically
from scraper.storage.layout import LocalWarcFolder, is_crawl_locked, lock_crawl, worker_lock_name
from scraper.storage.lookup import DatabaseRevisits
from scraper.storage.repair import repair_warc
from scraper.storage.shared import Outcome, SharedFrontier, SharedState

if TYPE_CHECKING:
    from scrapy.crawler import Crawler

logger = logging.getLogger(__name__)
_WRITER = re.compile(r"-\d{5,}-([A-Za-z0-9_.-]+)\.warc\.gz\.open$")  # the worker's name in its file's name


class _NoJournal:
    """The catalog journal of a one-machine crawl is what --resume reads; a shared crawl is resumed by
    its leases, and keeps none."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def append(self, value: dict[str, Any]) -> None:
        pass

    def clear(self) -> None:
        pass

    def close(self) -> None:
        pass


class SharedArchiveRun(ArchiveRun):
    """One worker's run of a shared crawl: see the module's docstring."""

    def __init__(self, crawler: Crawler) -> None:
        settings = crawler.settings
        self.worker = str(settings.get("ARCHIVE_WORKER"))
        self.lease_seconds = settings.getfloat("ARCHIVE_LEASE_SECONDS")
        self.rotate_seconds = settings.getfloat("ARCHIVE_WARC_ROTATE_SECONDS")
        self.awaiting: dict[str, list[tuple[Outcome, str | None]]] = defaultdict(list)  # by WARC file
        self.ready: list[tuple[Outcome, str | None, str | None]] = []  # (outcome, line, closed file)
        self.file_opened_at = time.monotonic()
        self.pages_committed = 0
        self.finished_crawl = False
        self.worker_manifest: dict[str, Any] | None = None  # this worker's part, once closed
        super().__init__(crawler)

    # -- what ArchiveRun opens --------------------------------------------------------------------
    def _open_storage(self, settings: Any) -> None:
        catalog = Catalog.open(self.layout.root, settings.get("ARCHIVE_DB"))
        self.catalog = catalog
        self.revisits = DatabaseRevisits(catalog)
        self.shared = SharedState(catalog.engine)
        self.shared_frontier = SharedFrontier(self.shared, self.layout.crawl_id, self.worker,
                                              lease_seconds=self.lease_seconds)
        self.frontier = self.shared_frontier
        # The folder may exist (another worker on this file system made it) or not (this worker's own disk).
        self.layout.directory.mkdir(parents=True, exist_ok=True)
        job = self.layout.directory / JOB_FILE
        if not job.exists():
            write_json_atomically(job, {"crawl_id": self.layout.crawl_id, "settings": settings.getdict("ARCHIVE_JOB")})
        self.lock = lock_crawl(self.layout.directory, name=worker_lock_name(self.worker))
        self.close_orphans(mine=True)  # a file this worker's name left open when it was killed before

    def _warc_destination(self, settings: Any) -> LocalWarcFolder:
        return LocalWarcFolder(self.layout.directory, prefix=settings.get("ARCHIVE_WARC_PREFIX"), host=self.worker,
                               on_closed=self._file_closed)

    def _catalog_journal(self) -> Any:
        return _NoJournal(self.layout.directory / "catalog-pending.jsonl")

    def _pages_path(self) -> Path:
        return self.layout.worker_pages_path(self.worker)

    # -- leases --------------------------------------------------------------------------------------
    def page_recorded(self, line: str, url_key: str, record_id: str, warc_file: str) -> None:
        self.lease_finished(url_key, ok=True, record_id=record_id, warc_file=warc_file, line=line)

    def lease_finished(self, url_key: str, *, ok: bool, record_id: str | None = None, warc_file: str | None = None,
                       line: str | None = None) -> None:
        """A leased request is over: done when ``warc_file`` (holding its records) is closed, or at the next
        :meth:`tick` when it has none or that file is closed already."""
        outcome = Outcome(url_key, ok, record_id)
        if warc_file is not None and warc_file == self.warc.current_file:
            self.awaiting[warc_file].append((outcome, line))
        else:
            self.ready.append((outcome, line, warc_file))

    def _file_closed(self, name: str) -> None:
        """A WARC file of this worker is closed: its pages are done, their captures readable."""
        self.file_opened_at = time.monotonic()
        waiting = self.awaiting.pop(name, [])
        if waiting:
            self._complete([(outcome, line, name) for outcome, line in waiting])

    def tick(self) -> None:
        """The lease loop's heartbeat: links go in, finished requests are completed, an old file is closed."""
        if self.closed or self.write_error is not None:
            return
        if self.awaiting and time.monotonic() - self.file_opened_at >= self.rotate_seconds:
            self.warc.close()  # the next record opens the next file
        ready, self.ready = self.ready, []
        self._complete(ready)
        self.shared_frontier.flush()

    def settle(self) -> None:
        """Nothing is being fetched: close the file, so that what it holds is done and others need not wait."""
        if self.awaiting and self.write_error is None:
            self.warc.close()
        self.tick()

    def _complete(self, finished: list[tuple[Outcome, str | None, str | None]]) -> None:
        if not finished:
            return
        for flush in self.before_close:  # the record pipeline's buffered catalog rows: in before they are committed
            flush()
        by_file: dict[str | None, list[tuple[Outcome, str | None]]] = defaultdict(list)
        for outcome, line, name in finished:
            by_file[name].append((outcome, line))
        for name, items in by_file.items():
            completed = self.shared_frontier.complete([outcome for outcome, _ in items], warc_file=name)
            lines = [line for outcome, line in items if line is not None and outcome.url_key in completed.done]
            for line in lines:
                self.write_page_line(line)
            self.pages.flush_durably()
            if completed.lost:
                self.warn(f"{len(completed.lost)} page(s) fetched after their lease expired were left to the "
                          f"worker that holds them now")
            if completed.watch_keys:
                self.catalog.mark_captured(completed.watch_keys, datetime.now(UTC))
            self.pages_committed += len(lines)
            if lines:
                self.shared.add_pages(self.worker, len(lines))
            stats = self.crawler.stats
            if stats is not None:
                stats.inc_value("scraper/leases/lost", len(completed.lost))

    # -- the end ---------------------------------------------------------------------------------------
    def close(self, reason: str) -> dict[str, Any]:
        if self.closed:
            return self.manifest(reason)
        self.closed = True
        self.flush_before_close()
        if self.write_error is None:
            try:
                self.warc.close()
                ready, self.ready = self.ready, []
                self._complete(ready)
            except OSError as exc:
                self.write_failed(exc)
        else:
            self.warc.abandon()
        # What this worker leased and did not finish goes back to the others now, not when the lease runs out.
        with contextlib.suppress(Exception):
            self.shared_frontier.release_unfinished()
        self.frontier.close()
        self.pages.close()
        if self.extra_jsonl is not None:
            self.extra_jsonl.close()
        manifest = self.manifest(reason)
        manifest["worker"] = self.worker
        manifest["leases"] = {"taken": self.shared_frontier.leased_total, "refetched": self.shared_frontier.refetched,
                              "lost": self.shared_frontier.lost}
        write_json_atomically(self.layout.directory / f"manifest-{self.worker}.json", manifest)
        self.worker_manifest = manifest
        if self.write_error is None and self.shared.finish_if_done(self.layout.crawl_id):
            self.finished_crawl = True
            self.close_orphans()
            write_json_atomically(self.layout.manifest_path, self.crawl_manifest(manifest))
        self.catalog.close()
        self.lock.close()
        return manifest

    def close_orphans(self, *, mine: bool = False) -> None:
        """The crawl is done: close the files killed workers left open here, so that readers take the crawl
        as finished (``mine``: only those of this worker's name, whose lock it holds now).  Their torn tails
        are cut (kept beside them, as ``verify --repair`` does); their pages were leased again and recorded
        by others, so their captures stay uncommitted: extra exchanges, not pages."""
        for path in self.layout.warc_files().in_progress:
            found = _WRITER.search(path.name)
            if found is None or (found.group(1) == self.worker) != mine:
                continue
            try:
                if not mine and is_crawl_locked(self.layout.directory, worker_lock_name(found.group(1))):
                    continue  # alive: it closes its own
                repaired = repair_warc(path, check_lock=False, root=self.layout.root)
            except (OSError, ValueError) as exc:
                self.warn(f"could not close {path.name}, left open by a worker that died: {exc}")
                continue
            if repaired.refused:
                self.warn(f"could not close {path.name}, left open by a worker that died: {repaired.refused}")
            else:
                logger.info("closed %s, left open by a worker that died", path.name)

    def crawl_manifest(self, own: dict[str, Any]) -> dict[str, Any]:
        """The crawl's manifest, written by the worker that finished it: every worker's files and counts."""
        counts = self.shared.counts(self.layout.crawl_id)
        crawl = self.shared.crawl(self.layout.crawl_id)
        return {**own, "worker": None, "finish_reason": "finished",
                "seeds": (crawl.job.get("ARCHIVE_SEEDS", []) if crawl else own["seeds"]),
                "warc_files": self.warc_files(),
                "frontier": {"done": counts.done, "failed": counts.failed, "expired_leases": counts.expired_leases},
                "workers": sorted(path.name.removeprefix("manifest-").removesuffix(".json")
                                  for path in self.layout.directory.glob("manifest-*.json"))}


def host_delays(crawler: Crawler, held: set[str], busy: Counter[str], idle_since: dict[str, float],
                grace: float) -> dict[str, float]:
    """The held hosts this worker has had nothing in flight for since ``grace`` seconds, with the delay its slot
    for each has now: the hosts to release.

    Not at once: a host between two of its requests would go to another worker, whose slot starts again at
    AutoThrottle's first delay and fetches robots.txt again.  ``idle_since`` is the caller's to keep.
    """
    engine = crawler.engine
    slots = getattr(getattr(engine, "downloader", None), "slots", {}) if engine is not None else {}
    now = time.monotonic()
    out: dict[str, float] = {}
    for host in held:
        if busy.get(host, 0) > 0:
            idle_since.pop(host, None)
            continue
        if now - idle_since.setdefault(host, now) < grace:
            continue
        slot = slots.get(host)  # hosts are keyed as Scrapy keys its slots (storage/shared.request_host)
        out[host] = float(getattr(slot, "delay", 0.0) or 0.0)
    for host in out:
        idle_since.pop(host, None)
    return out


def start_host_at(crawler: Crawler, host: str, delay: float) -> None:
    """A host taken over from another worker starts at the delay that worker had reached (AutoThrottle's,
    a Crawl-delay's), not at AutoThrottle's first delay: Scrapy's per-slot settings (``DOWNLOAD_SLOTS``) give a
    new slot its delay.  A slot this worker already has keeps its own."""
    engine = crawler.engine
    downloader = getattr(engine, "downloader", None) if engine is not None else None
    if downloader is None:
        return
    if host not in downloader.slots:  # hosts are keyed as Scrapy keys its slots (storage/shared.request_host)
        downloader.per_slot_settings.setdefault(host, {})["delay"] = delay
