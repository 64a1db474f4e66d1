"""``scraper worker``: join the open crawls of a shared database, one after another, in one process.

The Twisted reactor runs once per process, so a worker is one reactor with one Scrapy crawler at a
time: when a crawl has nothing left for it, the next crawl with work gets a crawler of its own, with
that crawl's settings (registered by ``scraper crawl --db postgresql://``).  A heartbeat every third
of the lease renews every lease the worker holds.  SIGINT or SIGTERM stops it cleanly: requests in
flight finish, the WARC file is closed (its pages done), the rest of its leases go back at once.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from scrapy.crawler import Crawler
from twisted.internet import task
from twisted.python.failure import Failure

from scraper.crawl.extensions import existing_run
from scraper.crawl.resolver import add_hosts
from scraper.crawl.runner import OneLineErrors, SignalRecordingProcess, build_settings
from scraper.crawl.shared_run import SharedArchiveRun
from scraper.crawl.spider import ArchiveSpider
from scraper.storage.catalog import Catalog
from scraper.storage.journal import ScheduledRequest
from scraper.storage.layout import ArchiveRootError, new_crawl_id
from scraper.storage.shared import OPEN, SharedState

logger = logging.getLogger(__name__)


def default_worker_name() -> str:
    """This machine's name and this process's id: unique among the workers of one database."""
    host = socket.gethostname().split(".", 1)[0] or "worker"
    safe = "".join(ch if ch.isalnum() or ch in "_." else "_" for ch in host)[:30]
    return f"{safe}-{os.getpid()}"


@dataclass(frozen=True)
class WorkerOptions:
    name: str
    root: Path
    db: str
    run_settings: dict[str, Any]  # per run: log level, progress, lease and rotation times
    forever: bool = False
    only_crawl: str | None = None  # `scraper crawl`: this crawl, to its end, then stop


@dataclass
class WorkerResult:
    crawls: list[str] = field(default_factory=list)  # worked on, in order
    manifests: list[dict[str, Any]] = field(default_factory=list)  # this worker's part of each
    finished: list[str] = field(default_factory=list)  # crawls this worker saw to their end
    errors: list[str] = field(default_factory=list)  # crawls it could not join, one line each
    stop_signal: int | None = None


def seed_requests(settings: dict[str, Any]) -> list[ScheduledRequest]:
    """A crawl's first requests, from its settings: sources first, then page seeds (as the spider orders them)."""
    requests = [ScheduledRequest(url, kind, 0, None) for kind, name in
                (("sitemap", "ARCHIVE_SITEMAPS"), ("feed", "ARCHIVE_FEEDS"), ("discover", "ARCHIVE_DISCOVER"))
                for url in settings.get(name) or []]
    if settings.get("ARCHIVE_SITEMAPS_FROM_ROBOTS"):
        named = [*settings.get("ARCHIVE_SEEDS", []), *settings.get("ARCHIVE_DISCOVER", []),
                 *settings.get("ARCHIVE_SITEMAPS", []), *settings.get("ARCHIVE_FEEDS", [])]
        roots = dict.fromkeys(f"{u.split('://')[0]}://{u.split('/')[2]}/robots.txt" for u in named)
        requests += [ScheduledRequest(url, "robots", 0, None) for url in roots]
    requests += [ScheduledRequest(url, "page", 0, None) for url in settings.get("ARCHIVE_SEEDS") or []]
    return requests


def register_crawl(state: SharedState, crawl_id: str, command: str, job: dict[str, Any], *, created_by: str,
                   watch_keys: dict[str, str] | None = None) -> int:
    """Put a crawl and its seeds in the shared database; returns how many requests it starts with."""
    return state.register_crawl(crawl_id, command, job, seed_requests(job), created_by=created_by,
                                max_pages=int(job.get("ARCHIVE_MAX_PAGES") or 0), watch_keys=watch_keys)


def run_worker(options: WorkerOptions) -> WorkerResult:
    """Work on the shared database's open crawls until none has work (or, ``forever``, until a signal)."""
    catalog = Catalog.open(options.root, options.db)
    state = SharedState(catalog.engine)
    result = WorkerResult()
    base = build_settings({**options.run_settings, "ARCHIVE_ROOT": str(options.root), "ARCHIVE_DB": options.db})
    lease_seconds = base.getfloat("ARCHIVE_LEASE_SECONDS")
    poll = max(base.getfloat("ARCHIVE_LEASE_POLL_SECONDS"), 0.1)
    process = SignalRecordingProcess(base)
    process.handle_signals()
    # Scrapy installs its reactor with the first crawler it makes; this process makes its own crawlers,
    # one per crawl, and needs the reactor before the first (for the heartbeat): installed here.
    from scrapy.utils.reactor import install_reactor, is_reactor_installed

    if not is_reactor_installed():
        install_reactor(base["TWISTED_REACTOR"], base["ASYNCIO_EVENT_LOOP"])
    from twisted.internet import reactor as installed

    reactor: Any = installed  # Twisted's module-level reactor has no useful static type
    state.worker_started(options.name, socket.gethostname(), os.getpid())
    current: list[str] = []

    def beat() -> None:
        try:
            state.heartbeat(options.name, current, lease_seconds)
        except Exception as exc:  # the database away for a moment: leases last a while yet
            logger.warning("worker %s: heartbeat failed: %s", options.name, exc)

    heartbeat = task.LoopingCall(beat)

    def stop() -> None:
        if heartbeat.running:
            heartbeat.stop()
        if reactor.running:
            reactor.stop()

    def next_crawl(_: Any = None) -> None:
        current.clear()
        if process.stop_signal is not None:
            stop()
            return
        crawl_id = _pick()
        if crawl_id is None:
            if options.forever:
                reactor.callLater(poll, next_crawl)
            else:
                stop()
            return
        shared = state.crawl(crawl_id)
        assert shared is not None
        resolve = [*shared.job.get("ARCHIVE_RESOLVE", []), *options.run_settings.get("ARCHIVE_RESOLVE", [])]
        settings = build_settings({**shared.job, **options.run_settings, "ARCHIVE_RESOLVE": resolve,
                                   "ARCHIVE_ROOT": str(options.root),
                                   "ARCHIVE_DB": options.db, "ARCHIVE_CRAWL_ID": crawl_id,
                                   "ARCHIVE_WORKER": options.name, "ARCHIVE_JOB": shared.job})
        add_hosts(reactor, settings)
        crawler = Crawler(ArchiveSpider, settings)
        current.append(crawl_id)
        result.crawls.append(crawl_id)
        beat()
        started = process.crawl(crawler)
        started.addErrback(_joined_failed, crawl_id)
        started.addBoth(_crawl_over, crawler)
        started.addBoth(next_crawl)

    def _pick() -> str | None:
        if options.only_crawl is not None:
            if options.only_crawl in result.crawls:
                return None  # worked to its end once: what is left is others'
            found = state.crawl(options.only_crawl)
            return options.only_crawl if found is not None and found.state == OPEN else None
        # A crawl with requests to lease first; then any open one: what other workers hold may lead to more
        # (or come back, if their leases run out).  Without --forever, a crawl is joined once.
        tried = set() if options.forever else set(result.crawls)
        with_work = [crawl_id for crawl_id in state.crawls_with_work() if crawl_id not in tried]
        if with_work:
            return with_work[0]
        watched = _due_watches()
        if watched is not None:
            return watched
        if options.forever:
            return None
        for crawl in state.list_crawls(open_only=True):
            if crawl.crawl_id not in tried:
                return crawl.crawl_id
        return None

    def _due_watches() -> str | None:
        """Due watches, taken into a re-archive crawl of this worker's making (others may join it)."""
        crawl_id = new_crawl_id()
        taken = state.lease_due_watches(crawl_id, {"ARCHIVE_RESUME_COMMAND": "rearchive"},
                                        limit=base.getint("ARCHIVE_WATCH_BATCH"), created_by=options.name)
        if not taken:
            return None
        logger.info("worker %s: %d due watch(es) taken into crawl %s", options.name, taken, crawl_id)
        return crawl_id

    def _joined_failed(failure: Failure, crawl_id: str) -> None:
        error = failure.value
        if isinstance(error, ArchiveRootError):
            result.errors.append(f"crawl {crawl_id}: {error}")
            return None
        result.errors.append(f"crawl {crawl_id}: {type(error).__name__}: {error}")
        logger.error("worker %s: crawl %s failed: %s", options.name, crawl_id, failure.getTraceback())
        return None

    def _crawl_over(_: Any, crawler: Crawler) -> None:
        run = existing_run(crawler)
        if run is not None and not run.closed:
            run.close("shutdown")
        if isinstance(run, SharedArchiveRun):
            if run.worker_manifest is not None:
                result.manifests.append(run.worker_manifest)
            if run.finished_crawl:
                result.finished.append(run.layout.crawl_id)

    if base.get("LOG_LEVEL") != "DEBUG":
        for handler in logging.getLogger().handlers:
            handler.addFilter(OneLineErrors())
    reactor.callWhenRunning(heartbeat.start, max(lease_seconds / 3, 0.2), now=True)
    reactor.callWhenRunning(next_crawl)
    try:
        process.start(stop_after_crawl=False)
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        result.stop_signal = process.stop_signal
        state.worker_stopped(options.name)
        catalog.close()
    return result
