"""Politeness components: robots.txt Crawl-delay, Retry-After, body size and crawl limits, stopping.

Scrapy's RobotsTxtMiddleware obeys Allow/Disallow but ignores Crawl-delay, and its
RetryMiddleware retries a 429 or 503 at once whatever Retry-After says; these fill
those gaps by raising the per-host download slot's delay.

A stopping crawl sends nothing more: Scrapy would first send every request waiting for its
host's delay (:class:`StoppableDownloader`, :func:`stop_now`).
"""

from __future__ import annotations

import email.utils
import logging
import time
import weakref
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from scrapy import signals
from scrapy.downloadermiddlewares.retry import RetryMiddleware
from scrapy.exceptions import IgnoreRequest, NotConfigured, StopDownload
from twisted.python.failure import Failure

from scraper.compat.scrapy import GatedDownloader, HookedCloseSpider, schedule_coro
from scraper.crawl import counters
from scraper.crawl.extensions import CrawlProgress, archive_run
from scraper.crawl.middlewares import MAXSIZE_LIFTED

if TYPE_CHECKING:
    from scrapy import Request
    from scrapy.core.downloader import Slot
    from scrapy.crawler import Crawler
    from scrapy.http import Response

logger = logging.getLogger(__name__)


# The download slots of what rendered pages ask for, one a host (crawl/rendering.py): a page's own parts, not
# the crawl's pace on that host, which the summary's per-host delay reports.
BROWSER_SLOT_PREFIX = "browser:"


def _slot(crawler: Crawler, request: Request) -> tuple[str, Slot | None]:
    downloader = crawler.engine.downloader if crawler.engine else None
    if downloader is None:
        return "", None
    key = request.meta.get("download_slot") or downloader.get_slot_key(request)
    return key, downloader.slots.get(key)


def parse_retry_after(value: str, now: float | None = None) -> float | None:
    """Seconds to wait from a Retry-After value: delta-seconds or an HTTP date."""
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    now_dt = datetime.fromtimestamp(now if now is not None else time.time(), UTC)
    return max(0.0, (when - now_dt).total_seconds())


class CrawlDelay:
    """Obeys robots.txt ``Crawl-delay`` as a floor under the host's download delay.

    Listed after AutoThrottle in EXTENSIONS so that, on every response, it runs
    after AutoThrottle has adjusted the delay and lifts it back to the floor.
    Also records each host's largest delay for the summary.
    """

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.max_delay = crawler.settings.getfloat("ARCHIVE_MAX_CRAWL_DELAY")
        self.floors: dict[str, float] = {}
        crawler.signals.connect(self.robots_parsed, signal=signals.robots_parsed)
        crawler.signals.connect(self.response_downloaded, signal=signals.response_downloaded)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> CrawlDelay:
        return cls(crawler)

    def robots_parsed(self, robotparser: Any, request: Request) -> None:
        protego = getattr(robotparser, "rp", None)
        user_agent = self.crawler.settings.get("USER_AGENT") or "*"
        delay = protego.crawl_delay(user_agent) if protego is not None else None
        if not delay:
            return
        key, slot = _slot(self.crawler, request)
        floor = min(float(delay), self.max_delay)
        if float(delay) > self.max_delay:
            archive_run(self.crawler).warn(f"robots.txt of {key} asks Crawl-delay {delay}s; capped at {floor:g}s")
        self.floors[key] = floor
        if self.crawler.stats is not None:
            self.crawler.stats.set_value(counters.CRAWL_DELAY.stat_of(key), floor)
        if slot is not None:
            self._apply(key, slot)

    def _apply(self, key: str, slot: Slot) -> None:
        floor = self.floors.get(key)
        if floor is not None and slot.delay < floor:
            slot.delay = floor
        if floor is not None:
            slot.jitter = 0  # a random 0.5x-1.5x factor would undercut the floor
        if self.crawler.stats is not None and not key.startswith(BROWSER_SLOT_PREFIX):
            self.crawler.stats.max_value(counters.HOST_DELAY.stat_of(key), round(slot.delay, 3))

    def response_downloaded(self, response: Response, request: Request) -> None:
        key, slot = _slot(self.crawler, request)
        if slot is not None:
            self._apply(key, slot)


class RetryAfterMiddleware(RetryMiddleware):
    """RetryMiddleware that waits as long as a 429/503's ``Retry-After`` asks, within a bound.

    The wait is the host's slot delay, so no other request goes to that host in
    the meantime either; the previous delay returns with the next good response.
    """

    def __init__(self, settings: Any) -> None:
        super().__init__(settings)
        self.max_wait = settings.getfloat("ARCHIVE_MAX_RETRY_AFTER")
        self._saved: dict[str, tuple[float, float]] = {}  # the delay and jitter before a wait

    def process_response(self, request: Request, response: Response) -> Request | Response:  # type: ignore[override]
        key, slot = _slot(self.crawler, request)
        if response.status in (429, 503) and not request.meta.get("dont_retry", False):
            header = response.headers.get(b"Retry-After")
            wait = parse_retry_after(header.decode("latin-1")) if header else None
            if wait is not None:
                stats = self.crawler.stats
                if wait > self.max_wait:
                    archive_run(self.crawler).warn(
                        f"{response.status} from {key} asks to retry after {wait:.0f}s (over "
                        f"{self.max_wait:g}s): not retried")
                    if stats is not None:
                        stats.inc_value("scraper/retry_after/too_long")
                    return response
                if slot is not None:
                    self._saved.setdefault(key, (slot.delay, slot.jitter))
                    # The slot counts its delay from when the last request was sent; Retry-After
                    # counts from now. No jitter either: it could shorten the wait by half.
                    slot.delay = max(slot.delay, wait + max(0.0, time.monotonic() - slot.lastseen))
                    slot.jitter = 0
                if stats is not None:
                    stats.inc_value(counters.RETRY_AFTER_WAITS.stat)
                    stats.inc_value(counters.RETRY_AFTER_SECONDS.stat, round(wait))
                logger.info("%s answered %s with Retry-After %.0fs: waiting", key, response.status, wait)
        elif slot is not None and key in self._saved and response.status < 400:
            slot.delay, slot.jitter = self._saved.pop(key)
        return super().process_response(request, response)


class BodySizeLimit:
    """Stops a download past its size limit and keeps what arrived (marked ``download_stopped``).

    Scrapy's own DOWNLOAD_MAXSIZE discards the whole response; an archive keeps the
    part it got, and the WARC says ``WARC-Truncated: length``.
    """

    def __init__(self, crawler: Crawler, limit: int) -> None:
        self.limit = limit
        self.scrapy_maxsize = crawler.settings.getint("DOWNLOAD_MAXSIZE")
        self.received: weakref.WeakKeyDictionary[Request, int] = weakref.WeakKeyDictionary()
        crawler.signals.connect(self.headers_received, signal=signals.headers_received)
        crawler.signals.connect(self.bytes_received, signal=signals.bytes_received)

    def headers_received(self, headers: Any, body_length: int, request: Request) -> None:
        # Scrapy would cancel a response that announces more than DOWNLOAD_MAXSIZE before
        # reading a byte; lift that for this download so its first bytes are archived.
        # The capture middleware restores the limit, which still bounds decompression.
        # body_length is Twisted's UNKNOWN_LENGTH (not an int) without a Content-Length.
        if self.scrapy_maxsize and isinstance(body_length, int) and body_length > self.scrapy_maxsize:
            request.meta["download_maxsize"] = 0
            request.meta[MAXSIZE_LIFTED] = True

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> BodySizeLimit:
        limit = crawler.settings.getint("ARCHIVE_MAX_BODY_BYTES")
        if limit <= 0:
            raise NotConfigured
        return cls(crawler, limit)

    def bytes_received(self, data: bytes, request: Request) -> None:
        total = self.received.get(request, 0) + len(data)
        self.received[request] = total
        if total > int(request.meta.get("max_body_bytes", self.limit)):
            raise StopDownload(fail=False)


class CrawlLimits:
    """Closes the crawl when it has downloaded ``ARCHIVE_MAX_BYTES`` (``--max-bytes``)."""

    def __init__(self, crawler: Crawler, max_bytes: int) -> None:
        self.crawler = crawler
        self.max_bytes = max_bytes
        self.received = 0
        self.closing = False
        crawler.signals.connect(self.response_downloaded, signal=signals.response_downloaded)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> CrawlLimits:
        max_bytes = crawler.settings.getint("ARCHIVE_MAX_BYTES")
        if max_bytes <= 0:
            raise NotConfigured
        return cls(crawler, max_bytes)

    def response_downloaded(self, response: Response, request: Request) -> None:
        self.received += len(response.body)
        if self.received >= self.max_bytes and not self.closing and self.crawler.engine is not None:
            self.closing = True
            archive_run(self.crawler).warn(f"--max-bytes reached ({self.received:,} bytes downloaded): stopping")
            stop_now(self.crawler, "--max-bytes reached")
            schedule_coro(self.crawler.engine.close_spider_async(reason="max_bytes"))


# -- stopping at once ----------------------------------------------------------------------------------
# Scrapy's downloader and CloseSpider are extended through private parts, all in scraper.compat.scrapy.

class NotSent(IgnoreRequest):
    """A request the crawl stopped before sending.

    Not a failure: it is in the frontier journal (``frontier.jsonl``) without a page record,
    so ``scraper crawl --resume`` sends it.  The spider's errbacks pass over it in silence.
    """


class StoppableDownloader(GatedDownloader):
    """Scrapy's downloader (``DOWNLOADER``), able to stop sending at once.

    A host's requests wait in its slot's queue for the host's delay: fifteen of them behind
    a robots.txt ``Crawl-delay: 2`` are half a minute, and Scrapy sends them all before a
    stopping crawl can close.  :meth:`stop_sending` drops them instead, so only the requests
    already on the wire (one per host) finish.
    """

    def __init__(self, crawler: Crawler) -> None:
        super().__init__(crawler)
        self.sending = True

    def stop_sending(self) -> int:
        """Drop every request waiting for its host's turn and refuse any later one; returns how many were dropped."""
        self.sending = False
        waiting = self.take_waiting()
        for request, queued in waiting:  # each fails its own download, as a request refused by a middleware does
            queued.errback(Failure(NotSent(f"not sent, the crawl is stopping: {request.url}")))
        return len(waiting)

    def check_send(self, request: Request) -> None:
        # Asked before a request waits in its slot and again before it is sent.  Requests still reach the
        # downloader after the stop: those that were waiting for a host's robots.txt, or for the address
        # guard.  And a host without a delay lets its whole queue go at once, each request to start its
        # transfer a moment later: one that has not started when the crawl stops is not sent either.
        if not self.sending:
            raise NotSent(f"not sent, the crawl is stopping: {request.url}")


def stop_now(crawler: Crawler, cause: str = "", *, again: str | None = None) -> None:
    """Stop sending requests at once, and say so on stderr with what is still on the wire.

    Called for every stop that closes the crawl: the first Ctrl-C or SIGTERM (``again`` says
    how to stop at once), ``--max-time`` and Scrapy's other CLOSESPIDER_* limits, ``--max-bytes``.
    The first stop is said; a later one only if it is a signal (a Ctrl-C during a --max-time stop
    learns how to stop at once).
    """
    engine = crawler.engine
    downloader = engine.downloader if engine is not None else None
    if not isinstance(downloader, StoppableDownloader):  # before the engine exists, or another downloader
        CrawlProgress.notice(crawler, f"scraper: stopping{f' ({cause})' if cause else ''}"
                                      + (f"; {again}" if again else ""))
        return
    first = downloader.sending
    dropped = downloader.stop_sending()
    if crawler.stats is not None and dropped:
        crawler.stats.inc_value("scraper/stop/not_sent", dropped)
    if first or again:
        in_flight = downloader.in_flight()
        CrawlProgress.notice(crawler, f"scraper: stopping{f' ({cause})' if cause else ''}: {in_flight} "
                                      f"request{'' if in_flight == 1 else 's'} in flight"
                                      + (f"; {again}" if again else ""))


class CloseSpiderAtOnce(HookedCloseSpider):
    """Scrapy's CloseSpider (``CLOSESPIDER_TIMEOUT`` is ``--max-time``), stopping as a signal does: at once, saying so.

    So ``--max-time`` ends the crawl within one request per host of its limit, not after the
    requests queued behind each host's delay.
    """

    def on_close(self, reason: str) -> None:
        timeout = self.close_on.get("timeout")
        stop_now(self.crawler, f"--max-time {timeout:g}s reached" if reason == "closespider_timeout" else reason)
