"""Crawl-wide components: the archive run (folder, WARC writer, JSONL, manifest)
and the live progress display."""

from __future__ import annotations

import contextlib
import logging
import platform
import shutil
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import TYPE_CHECKING, Any

from scrapy import signals
from scrapy.exceptions import NotConfigured
from scrapy.utils.defer import deferred_from_coro
from sqlalchemy.exc import SQLAlchemyError

from scraper import __version__
from scraper.crawl.counters import WARC_BYTES, WARC_RECORDS, counts_from_stats
from scraper.resume import JOB_FILE, ResumeError, ResumeState, prepare_resume
from scraper.storage.backends import CatalogBackend, Frontier, RevisitLookup
from scraper.storage.catalog import Catalog, CatalogError
from scraper.storage.durable import write_json_atomically
from scraper.storage.journal import CATALOG_PENDING_FILE, AppendJournal, JournalFrontier
from scraper.storage.jsonl import JsonlWriter, dumps_line
from scraper.storage.layout import ArchiveRootError, CrawlLayout, LocalWarcFolder, lock_crawl, new_crawl_id
from scraper.storage.lookup import CatalogRevisits
from scraper.storage.verify import summarise, verify_files
from scraper.storage.warc import WarcFileWriter

logger = logging.getLogger(__name__)

if TYPE_CHECKING:
    from scrapy.crawler import Crawler

# Settings recorded in warcinfo and the manifest: the ones that change what is archived.
RECORDED_SETTINGS = (
    "USER_AGENT", "ROBOTSTXT_OBEY", "ARCHIVE_DEPTH", "ARCHIVE_MAX_PAGES", "CONCURRENT_REQUESTS_PER_DOMAIN",
    "DOWNLOAD_DELAY", "AUTOTHROTTLE_ENABLED", "DOWNLOAD_MAXSIZE", "RETRY_TIMES", "ARCHIVE_WARC_MAX_BYTES",
)


def package_versions() -> dict[str, str]:
    out = {"scraper": __version__, "python": platform.python_version()}
    for name in ("scrapy", "warcio", "trafilatura", "twisted", "lxml"):
        with contextlib.suppress(PackageNotFoundError):
            out[name] = version(name)
    return out


def _safe_db_url(url: str) -> str:
    """A database URL without its password, for the manifest."""
    head, sep, tail = url.partition("@")
    if not sep or "://" not in head:
        return url
    scheme, _, credentials = head.partition("://")
    return f"{scheme}://{credentials.split(':', 1)[0]}:***@{tail}"


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class ArchiveRun:
    """One crawl's archive: its folder, the WARC writer, the JSONL sinks, the manifest.

    Made, opened and closed by its one owner, :class:`ArchiveRunExtension`; the capture
    middleware (exchanges), the record pipeline (page records), the spider (frontier,
    catalog) and the rest find it with :func:`archive_run`.  Making one opens the archive:
    the folder (or, resumed, its repair), the lock, the catalog, the WARC and JSONL files.
    """

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        settings = crawler.settings
        crawl_id = settings.get("ARCHIVE_CRAWL_ID") or new_crawl_id()
        self.layout = CrawlLayout(Path(settings.get("ARCHIVE_ROOT")), crawl_id)
        self.resume_state: ResumeState | None = None
        self._open_storage(settings)
        self.started_at = _now()
        self.recorded_settings = {name: settings.get(name) for name in RECORDED_SETTINGS}
        self.seeds: list[str] = list(settings.getlist("ARCHIVE_SEEDS"))
        info = {"crawl-id": self.layout.crawl_id, "software": f"scraper/{__version__}",
                **{f"software-{k}": v for k, v in package_versions().items() if k != "scraper"},
                "http-header-user-agent": str(settings.get("USER_AGENT")),
                "robots": "obey" if settings.getbool("ROBOTSTXT_OBEY") else "ignore",
                "depth": str(settings.getint("ARCHIVE_DEPTH")),
                "isPartOf": self.layout.crawl_id,
                "description": "scraper crawl; per-record notes: X-Archive-Orig-Transfer-Encoding holds a "
                               "transfer coding that was removed because the stored body is de-chunked"}
        self.warc = WarcFileWriter(destination=self._warc_destination(settings),
                                   max_bytes=settings.getint("ARCHIVE_WARC_MAX_BYTES"), info=info)
        self.pages = JsonlWriter.open(self._pages_path())
        self.catalog_pending = self._catalog_journal()
        self.extra_jsonl: JsonlWriter | None = None
        target = settings.get("ARCHIVE_JSONL")
        if target == "-":
            self.extra_jsonl = JsonlWriter(sys.stdout, owns_stream=False)
        elif target:
            self.extra_jsonl = JsonlWriter.open(Path(target))
        self.closed = False
        self.warnings: list[str] = []
        # Called first thing in close(): buffered writes (the record pipeline's catalog rows) go out
        # even when a second Ctrl-C stopped the reactor before the spider could close.
        self.before_close: list[Callable[[], None]] = []
        self.write_error: str | None = None  # set once a write to the archive fails (write_failed)
        self.write_exception: Exception | None = None  # what failed: the command line's exit status follows it
        # The command whose --resume finishes this crawl: `rearchive` also marks its watches.
        self.resume_command = str(settings.get("ARCHIVE_RESUME_COMMAND") or "crawl")

    def _open_storage(self, settings: Any) -> None:
        """The storage backends, each behind its seam (storage/backends.py), the folder and its lock;
        :class:`~scraper.crawl.shared_run.SharedArchiveRun` opens the shared ones instead."""
        crawl_id = self.layout.crawl_id
        catalog = Catalog.open(self.layout.root, settings.get("ARCHIVE_DB"))
        self.catalog: CatalogBackend = catalog
        self.revisits: RevisitLookup = CatalogRevisits(catalog)
        self.frontier: Frontier
        # A resumed crawl continues in its own folder, once its torn ends are repaired.
        if settings.getbool("ARCHIVE_RESUME"):
            if not self.layout.directory.is_dir():
                raise ArchiveRootError(f"no crawl {crawl_id} in {self.layout.root}")
            self.lock = lock_crawl(self.layout.directory)  # before repairing: no one else is writing
            # Scrapy's own queue files are not crash-safe (their index is written at close): the
            # journal says what is left to fetch, and Scrapy starts from an empty queue.
            self._remove_scheduler_files(settings)
            self.frontier = JournalFrontier(self.layout.directory)
            try:
                self.resume_state = prepare_resume(self.layout.directory, crawl_id, self.catalog, self.frontier)
            except ResumeError as exc:
                raise ArchiveRootError(str(exc)) from exc
            for note in self.resume_state.notes:
                logger.warning("resume: %s", note)
        else:
            self.layout.create({JOB_FILE: {"crawl_id": crawl_id, "settings": settings.getdict("ARCHIVE_JOB")}})
            self.lock = lock_crawl(self.layout.directory)
            self.frontier = JournalFrontier(self.layout.directory)

    def _warc_destination(self, settings: Any) -> LocalWarcFolder:
        return LocalWarcFolder(self.layout.directory, prefix=settings.get("ARCHIVE_WARC_PREFIX"),
                               serial_start=self.resume_state.last_serial if self.resume_state else 0)

    def _catalog_journal(self) -> AppendJournal:
        return AppendJournal(self.layout.directory / CATALOG_PENDING_FILE)

    def _pages_path(self) -> Path:
        return self.layout.pages_path

    def page_recorded(self, line: str, url_key: str, record_id: str, warc_file: str) -> None:
        """A page's record is in the WARC and its catalog row on its way: its JSONL line goes out
        (a shared run holds it until the WARC file holding the page is closed)."""
        self.write_page_line(line)

    MAX_WARNINGS = 100

    def warn(self, message: str) -> None:
        """A one-line warning for the summary and the manifest (first 100 distinct ones kept)."""
        logger.warning(message)
        if message not in self.warnings and len(self.warnings) < self.MAX_WARNINGS:
            self.warnings.append(message)

    def write_page_record(self, record: dict[str, Any]) -> None:
        self.write_page_line(dumps_line(record))

    def write_page_line(self, line: str) -> None:
        """A page record serialised by :func:`~scraper.storage.jsonl.dumps_line`."""
        self.pages.write_line(line)
        if self.extra_jsonl is not None:
            self.extra_jsonl.write_line(line)

    def _remove_scheduler_files(self, settings: Any) -> None:
        """Scrapy's JOBDIR (the disk queues of requests to fetch), when it is inside the crawl folder."""
        jobdir = settings.get("JOBDIR")
        if jobdir and Path(jobdir).resolve().parent == self.layout.directory.resolve():
            shutil.rmtree(jobdir, ignore_errors=True)

    def write_failed(self, exc: Exception) -> None:
        """A write to the archive failed (a full disk, a quota, a read-only or vanished folder).

        The crawl stops: every later page would fail the same way.  What was written stays;
        the WARC being written is left ``.open`` (its last record may be torn), which
        ``scraper crawl --resume`` (or ``scraper verify --repair``) mends.
        """
        if self.write_error is not None:
            return
        self.write_exception = exc
        if isinstance(exc, CatalogError):  # says which file, and why, itself
            self.write_error = exc.problem
        else:
            self.write_error = (f"cannot write the archive in {self.layout.directory}: "
                                f"{getattr(exc, 'strerror', None) or exc}")
        logger.info(self.write_error)  # the command line says it, once, as its error
        engine = self.crawler.engine
        if engine is not None and engine.spider is not None:
            deferred_from_coro(engine.close_spider_async(reason="archive_write_error"))

    @property
    def write_advice(self) -> str:
        """What to do before ``--resume``, after :meth:`write_failed`: a catalog error says its own."""
        return self.write_exception.action if isinstance(self.write_exception, CatalogError) else "make room"

    def flush_before_close(self) -> None:
        """The buffered writes (:attr:`before_close`), each on its own: a failure is a write failure."""
        for flush in self.before_close:
            try:
                flush()
            except Exception as exc:  # the WARC and the manifest must still be closed (or left for --resume)
                self.write_failed(exc)

    def close(self, reason: str) -> dict[str, Any]:
        """Close the WARC (renaming it from .open), the JSONL files, and write the manifest."""
        if self.closed:
            return self.manifest(reason)
        self.closed = True
        self.flush_before_close()
        if self.write_error is None:
            try:
                self.warc.close()
            except OSError as exc:
                self.write_failed(exc)
        if self.write_error is not None:
            return self._close_after_write_error(reason)
        self.verify_summary = self.verify_warcs()
        self.pages.close()
        self.frontier.close()
        self.catalog_pending.close()  # empty: the record pipeline wrote its last rows when the spider closed
        # Only now, with every WARC closed, do this crawl's captures become visible in the catalog.
        try:
            self.committed = self.catalog.commit_crawl(self.layout.crawl_id)
        except SQLAlchemyError as exc:  # a catalog locked, full or damaged: the manifest says so, --resume commits
            self.write_failed(exc)
            return self._close_after_write_error(reason)
        self.catalog_pending.path.unlink(missing_ok=True)  # empty: every row is in the catalog
        self._remove_scheduler_files(self.crawler.settings)
        if self.extra_jsonl is not None:
            self.extra_jsonl.close()
        manifest = self.manifest(reason)
        write_json_atomically(self.layout.manifest_path, manifest)
        self.catalog.close()  # checkpointed: catalog.sqlite alone holds this crawl's rows
        self.lock.close()  # the folder may be resumed or repaired from now on
        return manifest

    def verify_warcs(self) -> dict[str, Any]:
        """The cheap `scraper verify --quick` of this crawl's WARC files, for the manifest."""
        files = [self.layout.directory / name for name in self.warc_files()]
        try:
            summary = summarise(verify_files(files, deep=False))
        except Exception as exc:  # a fault in the verifier must never cost the crawl its manifest
            logger.error("could not verify the WARC files: %s: %s", type(exc).__name__, exc)
            return {"files": len(files), "records": 0, "faults": [], "ok": False,
                    "error": f"{type(exc).__name__}: {exc}"}
        if not summary["ok"]:
            first = summary["faults"][0]
            self.warn(f"WARC damaged: {first['file']} {first['kind']} at offset {first['offset']}: "
                      f"{first['message']} (scraper verify tells more)")
        return summary

    def _close_after_write_error(self, reason: str) -> dict[str, Any]:
        """Close what can be closed, and commit nothing: the crawl is left for --resume to finish."""
        self.warc.abandon()
        for sink in (self.pages, self.frontier, self.catalog_pending, self.extra_jsonl):
            if sink is not None:
                with contextlib.suppress(OSError):
                    sink.close()
        manifest = {**self.manifest(reason), "finish_reason": "archive_write_error", "error": self.write_error}
        try:
            write_json_atomically(self.layout.manifest_path, manifest)
        except OSError as exc:
            logger.error("could not write %s: %s", self.layout.manifest_path, exc.strerror or exc)
            with contextlib.suppress(OSError):
                self.layout.manifest_path.with_name(self.layout.manifest_path.name + ".tmp").unlink()
        self.catalog.close()  # a checkpoint, if the disk allows one
        self.lock.close()
        return manifest

    def warc_files(self) -> list[str]:
        """The crawl's closed WARC files: those of its earlier sessions if it was resumed, then this one's."""
        return [path.name for path in self.layout.warc_files().closed]

    def manifest(self, reason: str) -> dict[str, Any]:
        stats = self.crawler.stats.get_stats() if self.crawler.stats else {}
        return {
            "crawl_id": self.layout.crawl_id,
            "started_at": self.started_at,
            "finished_at": _now(),
            "finish_reason": reason,
            "seeds": self.seeds,
            "settings": self.recorded_settings,
            "warc_files": self.warc_files(),
            "resumed": ({"pages_before": self.resume_state.pages, "notes": self.resume_state.notes}
                        if self.resume_state is not None else None),
            "verify": getattr(self, "verify_summary", None),
            "pages_file": self.layout.pages_path.name,
            "counts": summarise_stats(stats, self.warc),
            "warnings": list(self.warnings),
            "catalog": {"url": _safe_db_url(self.catalog.url), "captures_committed": getattr(self, "committed", 0)},
            "versions": package_versions(),
        }


def summarise_stats(stats: dict[str, Any], warc: WarcFileWriter | None = None) -> dict[str, Any]:
    """The figures a person (and the exit code) care about, from Scrapy's stats: the manifest's ``counts``.

    ``warc``, when given, is the run's writer: its own tally of the records and bytes it
    wrote is the WARC figures, so they count every record (warcinfo, request, response,
    revisit, each metadata record) and match what `scraper verify` reads back.
    """
    counts = counts_from_stats(stats)
    if warc is not None:
        counts[WARC_RECORDS.name], counts[WARC_BYTES.name] = warc.records_written, warc.bytes_written
    return counts


class ArchiveRunExtension:
    """The crawl's run and its one owner: opens the archive as the crawl is set up, closes it as the spider closes."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        # The archive's set-up I/O happens here, and only here: as Scrapy builds the extensions, before
        # the engine with its middlewares and pipelines, and before the reactor runs.  A crawl that cannot
        # open its archive fails before anything is fetched; a signal meanwhile waits for the reactor
        # (runner.SignalRecordingProcess.handle_signals).
        if crawler.settings.get("ARCHIVE_WORKER"):  # a worker's part of a crawl shared through PostgreSQL
            from scraper.crawl.shared_run import SharedArchiveRun

            self.run: ArchiveRun = SharedArchiveRun(crawler)
        else:
            self.run = ArchiveRun(crawler)
        crawler.signals.connect(self.spider_closed, signal=signals.spider_closed)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ArchiveRunExtension:
        return cls(crawler)

    def spider_closed(self, reason: str) -> None:
        # The stats' final figures (warc bytes) must be in before the manifest is written.
        stats = self.crawler.stats
        if stats is not None:
            stats.set_value(WARC_BYTES.stat, self.run.warc.bytes_written)
            stats.set_value(WARC_RECORDS.stat, self.run.warc.records_written)  # warcinfo records too
            stats.set_value("scraper/warc/files", self.run.warc.files_opened)
        self.run.close(reason)



def archive_run(crawler: Crawler) -> ArchiveRun:
    """The crawl's run, as its owner made it: for the components Scrapy builds after the extensions
    (middlewares, pipelines), and for the spider once the crawl is under way."""
    owner = crawler.get_extension(ArchiveRunExtension)
    if owner is None:
        raise RuntimeError("scraper.crawl.extensions.ArchiveRunExtension is not in EXTENSIONS: nothing opens the "
                           "archive")
    return owner.run


def existing_run(crawler: Crawler) -> ArchiveRun | None:
    """The crawl's run, or None when its set-up never got as far as making it (or failed making it)."""
    try:
        owner = crawler.get_extension(ArchiveRunExtension)
    except RuntimeError:  # the extensions were never built
        return None
    return owner.run if owner is not None else None


class CrawlProgress:
    """A live one-line display on stderr: pages fetched, archived, errors, rate."""

    def __init__(self, crawler: Crawler) -> None:
        from rich.console import Console
        from rich.live import Live

        self.crawler = crawler
        self.console = Console(stderr=True)
        self.live = Live("", console=self.console, transient=True, refresh_per_second=4)
        self.started = time.monotonic()
        self.task: Any = None
        self.stopping = False
        crawler.signals.connect(self.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(self.spider_closed, signal=signals.spider_closed)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> CrawlProgress:
        if not crawler.settings.getbool("ARCHIVE_PROGRESS"):
            raise NotConfigured
        return cls(crawler)

    @staticmethod
    def notice(crawler: Crawler, line: str) -> None:
        """Say ``line`` on stderr now: above the live display when there is one.

        Said with -q too: it answers what the person did (a Ctrl-C, a limit they set), and
        -q silences progress and the summary, not that.
        """
        try:
            progress = crawler.get_extension(CrawlProgress)
        except RuntimeError:  # the extensions do not exist yet
            progress = None
        if progress is not None and progress.live.is_started:
            progress.stopping = True
            progress.console.print(line, markup=False, highlight=False, soft_wrap=True)
        else:
            print(line, file=sys.stderr, flush=True)

    def render(self) -> str:
        stats = self.crawler.stats.get_stats() if self.crawler.stats else {}
        counts = summarise_stats(stats)
        elapsed = max(time.monotonic() - self.started, 1e-6)
        errors = sum(counts["errors"].values())
        return (f"[bold]{'stopping' if self.stopping else 'crawling'}[/] {counts['responses']} fetched · "
                f"{counts['pages']} pages archived · "
                f"{counts['warc_bytes'] / 1e6:.1f} MB WARC · {errors} errors · "
                f"{counts['pages'] / elapsed:.1f} pages/s · {elapsed:.0f}s")

    def spider_opened(self) -> None:
        from twisted.internet import task

        self.started = time.monotonic()
        self.live.start()
        self.task = task.LoopingCall(self._refresh)
        self.task.start(0.25, now=True)

    def _refresh(self) -> None:
        if self.crawler.stats is not None:
            self.crawler.stats.set_value(WARC_BYTES.stat, archive_run(self.crawler).warc.bytes_written)
        self.live.update(self.render())

    def spider_closed(self) -> None:
        if self.task is not None and self.task.running:
            self.task.stop()
        self.live.stop()
