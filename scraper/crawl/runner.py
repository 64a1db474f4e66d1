"""Build Scrapy settings and run one crawl in this process."""

from __future__ import annotations

import json
import logging
import re
import signal
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from scrapy.crawler import Crawler
from scrapy.settings import Settings
from twisted.python.failure import Failure

from scraper.compat.scrapy import SignalHookedProcess
from scraper.crawl.extensions import existing_run
from scraper.crawl.politeness import stop_now
from scraper.crawl.spider import ArchiveSpider
from scraper.storage.durable import write_json_atomically
from scraper.storage.failures import no_room
from scraper.storage.layout import ArchiveRootError, CrawlLayout
from scraper.text import escape_controls

SETTINGS_MODULE = "scraper.crawl.settings"
SCHEDULER_DIR = ".scheduler"  # Scrapy's JOBDIR inside the crawl folder: its disk queues, removed at the end


def build_settings(overrides: dict[str, Any]) -> Settings:
    """Project defaults at "project" priority, command-line choices at "cmdline"."""
    settings = Settings()
    settings.setmodule(SETTINGS_MODULE, priority="project")
    settings.update(overrides, priority="cmdline")
    # A worker of a shared crawl leases a bounded number of requests: they fit in memory.
    if not settings.get("JOBDIR") and settings.get("ARCHIVE_CRAWL_ID") and not settings.get("ARCHIVE_WORKER"):
        # Scrapy keeps the requests waiting to be fetched on disk when it has a JOBDIR: a crawl's
        # frontier can outgrow memory (a news site's articles link to each other), its queue files
        # do not.  Our own journal (frontier.jsonl) is what --resume reads; this folder is scratch.
        crawl = CrawlLayout(Path(settings["ARCHIVE_ROOT"]), settings["ARCHIVE_CRAWL_ID"])
        settings.set("JOBDIR", str(crawl.directory / SCHEDULER_DIR), priority="cmdline")
    return settings


@dataclass(frozen=True)
class CrawlResult:
    layout: CrawlLayout
    manifest: dict[str, Any]

    @property
    def finish_reason(self) -> str:
        return str(self.manifest.get("finish_reason"))

    @property
    def counts(self) -> dict[str, Any]:
        return dict(self.manifest.get("counts", {}))


_FAILURE_REPR = re.compile(r"<twisted\.python\.failure\.Failure (?:[\w.]+\.)?(\w+): (.*?)>(?=[,\]])")


class OneLineErrors(logging.Filter):
    """Log records keep their message but lose their traceback: errors stay one line.

    Scrapy logs some expected failures (a DNS error fetching robots.txt) with the
    whole traceback, and some with a list of Twisted failures as their repr
    ("[<twisted.python.failure.Failure twisted.web._newclient.ParseError: ...>]"), which
    becomes "[ParseError: ...]"; -vv keeps them for debugging.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info:
            exc = record.exc_info[1]
            record.msg = f"{record.getMessage()} ({type(exc).__name__}: {exc})" if exc else record.getMessage()
            record.args = None
            record.exc_info = None
            record.exc_text = None
        message = record.getMessage()
        if "<twisted.python.failure.Failure " in message:
            message = _FAILURE_REPR.sub(r"\1: \2", message)
        # A URL, a header or a file name in it may hold control characters: shown, not obeyed. Warnings
        # and errors are one line; the multi-line dumps of -v (settings, stats) keep their lines.
        escaped = escape_controls(message, keep_lines=record.levelno < logging.WARNING)
        if escaped != record.getMessage():
            record.msg, record.args = escaped, None
        return True


def _close_if_open(crawler: Crawler, reason: str) -> None:
    run = existing_run(crawler)
    if run is not None and not run.closed:
        run.close(reason)


class ArchiveWriteError(OSError):
    """The archive could not be written (a full disk): the crawl stopped, and can be resumed."""


class SignalRecordingProcess(SignalHookedProcess):
    """Scrapy's process, remembering which signal stopped it: SIGINT exits 130, SIGTERM 143.

    Scrapy's own handlers do the work: the first signal stops gracefully (requests in
    flight finish, the spider closes, files are closed), a second one stops the reactor
    at once; :func:`run_crawl` then closes what is still open.  The first signal also
    stops sending at once and says so (:func:`~scraper.crawl.politeness.stop_now`): requests
    waiting for their host's delay are not sent, and --resume sends them.

    They are installed by :meth:`handle_signals`, before the crawl is set up, not by
    :meth:`start`: see there.
    """

    stop_signal: int | None = None

    def handle_signals(self) -> None:
        """From now on SIGINT and SIGTERM stop the crawl, whenever they come.

        Before the reactor runs, what the handlers ask of it waits in its queue: a signal during
        the set-up stops the crawl as soon as it starts, with its folder closed as after any stop.
        """
        self.install_stop_handlers()

    def start(self, stop_after_crawl: bool = True, install_signal_handlers: bool = True) -> None:
        """Scrapy's, without installing handlers: :meth:`handle_signals` did, before the set-up.

        Left to install them, Twisted would replace SIGTERM's as the reactor starts, and Scrapy both
        just after: a SIGTERM in between would stop the reactor unrecorded (not exit 143), and a
        signal already handled would have its second ("stop now") taken for a first again.
        """
        super().start(stop_after_crawl, install_signal_handlers=False)

    def on_first_stop_signal(self, signum: int) -> None:
        from twisted.internet import reactor

        self.stop_signal = self.stop_signal or signum
        # Nothing may be written or sent from a signal handler: the reactor does it, first thing,
        # before Scrapy's graceful stop (queued next) starts waiting for what is in progress.
        reactor.callFromThread(self._stop_sending, signum)

    def _stop_sending(self, signum: int) -> None:
        name = signal.Signals(signum).name
        if signum == signal.SIGINT:
            cause, again = "", "Ctrl-C again to stop now"
        else:
            cause, again = name, f"{name} again to stop now"
        for crawler in list(self.crawlers):
            stop_now(crawler, cause, again=again)

    def on_second_stop_signal(self, signum: int) -> None:
        self.stop_signal = self.stop_signal or signum


def _setup_error(exc: Exception, layout: CrawlLayout) -> Exception:
    """What to raise for a crawl that could not even start: a write failure says how to go on."""
    reason = no_room(exc)
    if reason is None:
        return exc
    if layout.directory.is_dir():  # made before the disk ran out: --resume finishes it
        return ArchiveWriteError(f"cannot write the archive in {layout.directory}: {reason}; make room, then run "
                                 f"scraper crawl --resume {layout.crawl_id} --archive {layout.root}")
    return ArchiveWriteError(f"cannot write the archive in {layout.root}: {reason}; nothing was crawled: "
                             f"make room, then run the crawl again")


def run_crawl(settings: Settings) -> CrawlResult:
    """Run the archive spider to the end (the Twisted reactor runs once per process)."""
    process = SignalRecordingProcess(settings)
    # Before anything is opened: from here on no signal kills the process or interrupts the code
    # that opens or closes the archive (a KeyboardInterrupt could land anywhere in it).
    process.handle_signals()
    crawler = process.create_crawler(ArchiveSpider)
    started = process.crawl(crawler)
    # An archive that cannot be opened (a folder taken, a crawl being written, one that cannot
    # be repaired, a disk already full) fails inside Twisted: keep the error, to raise it as the
    # one-line error it is.
    setup_errors: list[Exception] = []

    def keep_setup_error(failure: Failure) -> Failure | None:
        error = failure.value
        if isinstance(error, ArchiveRootError) or (isinstance(error, Exception) and no_room(error) is not None):
            setup_errors.append(error)
            return None
        return failure

    started.addErrback(keep_setup_error)
    if settings.get("LOG_LEVEL") != "DEBUG":
        # After crawl(): applying the crawler's settings replaces Scrapy's root handler.
        for handler in logging.getLogger().handlers:
            handler.addFilter(OneLineErrors())
    process.start()
    # The crawl is over, stopped or not: a signal now has nothing left to stop, and what is left
    # (closing, the summary) is short and must not be cut.  Ignored, not handled: as Python exits
    # it gives a handled signal back its default action, which kills (exit -2, not 130).  Handlers
    # of signals already received run first (signal.signal runs them before it replaces them).
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    if setup_errors:
        raise _setup_error(setup_errors[0], CrawlLayout(Path(settings["ARCHIVE_ROOT"]), settings["ARCHIVE_CRAWL_ID"]))
    run = existing_run(crawler)
    if run is not None and run.write_error is not None:
        raise ArchiveWriteError(f"{run.write_error}; what was archived is kept: {run.write_advice}, then run scraper "
                                f"{run.resume_command} --resume {run.layout.crawl_id} --archive {run.layout.root}"
                                ) from run.write_exception  # a catalog error: the exit status is its own
    # A stop before the engine opened the spider never sends spider_closed: close here.
    _close_if_open(crawler, "shutdown")
    layout = CrawlLayout(Path(settings["ARCHIVE_ROOT"]), settings["ARCHIVE_CRAWL_ID"])
    if not layout.manifest_path.is_file():
        raise RuntimeError(f"the crawl ended without writing {layout.manifest_path}")
    manifest = json.loads(layout.manifest_path.read_text(encoding="utf-8"))
    if process.stop_signal is not None:
        manifest["finish_reason"] = "shutdown"
        manifest["stopped_by"] = signal.Signals(process.stop_signal).name
        write_json_atomically(layout.manifest_path, manifest)
    return CrawlResult(layout, manifest)
