"""Scrapy's private parts that the crawl uses, each behind a public name of ours.

Imported by ``scraper.crawl`` only (an import-linter contract says so): Scrapy belongs to the crawl.
``tests/unit/compat/test_scrapy.py`` checks every name below against the installed Scrapy and fails
loudly when an upgrade renames one, changes its signature or stops calling it; ``scrapy<2.20`` in
pyproject.toml keeps an untested Scrapy out.  The private names, and why each is used:

* ``scrapy.utils.defer._schedule_coro`` (:func:`schedule_coro`): starts the engine's
  ``close_spider_async`` from a signal handler of ours (``--max-bytes``), which cannot await.
* ``scrapy.downloadermiddlewares.cookies._split_domain`` (:func:`cookies_use_bundled_suffix_list`): the
  cookies middleware's tldextract, which downloads the Public Suffix List on first use; an archiver makes
  no request nobody asked for, so it is replaced by one reading tldextract's bundled snapshot.
* ``CrawlerProcess._signal_shutdown`` and ``_signal_kill`` (:class:`SignalHookedProcess`): the handlers of
  the first and the second SIGINT/SIGTERM, extended to learn which signal stopped the crawl.
* ``Downloader._enqueue_request`` and ``Downloader._download``, ``Slot.queue`` and ``Slot.transferring``
  (:class:`GatedDownloader`): a stopping crawl refuses requests before they wait for their host's delay
  and before they are sent, drops those waiting, and counts those on the wire.  ``Downloader._process_queue``,
  ``_latercall``, ``_wait_for_download``, ``Slot.latercall``, ``Slot.lastseen``: replaced, so that a host
  without a delay gets no more requests at once than ``CONCURRENT_REQUESTS_PER_DOMAIN``.
* ``CloseSpider._close_spider`` (:class:`HookedCloseSpider`): ``--max-time`` stops sending at once.
* ``scrapy.utils.deprecate``'s use of ``inspect`` (:func:`import_deprecated_aliases_quickly`): Scrapy makes
  three deprecated aliases when its TLS modules are imported, each calling ``inspect.stack()``, which reads the
  source lines of every frame on the stack: 70-100 ms of every crawl process's start.  They are imported
  once, here, with a stack that reads no source (the aliases' ``__module__`` comes out the same).
* ``RobotsTxtMiddleware._parsers`` (:func:`robots_parser_entry`): the pending robots.txt fetch of a host,
  which each waiting request must await on its own (``crawl.middlewares.RobotsTxtForEveryRequest``).
* ``PickleLifoDiskQueue``'s parent's ``push`` and the dict ``Request.to_dict`` makes (:class:`RequestDiskQueue`):
  Scrapy's disk queue names each request's callback and errback by ``inspect.getmembers`` over the whole
  spider, about 0.3 ms a name, for every request queued; ours names them from a cache.

* ``Downloader.per_slot_settings`` (:func:`configure_download_slot`): the parsed ``DOWNLOAD_SLOTS``, read when
  a slot is made; a browser's requests for a page's parts get a slot of their own per host, made at run time.

Nothing of ours is imported here: this module sits at the bottom of the layers.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Coroutine
from time import monotonic
from typing import TYPE_CHECKING, Any

import scrapy.downloadermiddlewares.cookies as _scrapy_cookies
from scrapy.core.downloader import Downloader
from scrapy.crawler import CrawlerProcess
from scrapy.downloadermiddlewares.robotstxt import RobotsTxtMiddleware
from scrapy.extensions.closespider import CloseSpider
from scrapy.http import Request
from scrapy.squeues import PickleLifoDiskQueue
from scrapy.utils.asyncio import call_later
from scrapy.utils.defer import _schedule_coro
from scrapy.utils.ossignal import install_shutdown_handlers
from tldextract import TLDExtract


def import_deprecated_aliases_quickly() -> None:
    """Import Scrapy's TLS modules (the HTTP handler imports them at the first download) with ``inspect.stack``
    giving frames without source context, which ``create_deprecated_class`` does not use."""
    import inspect
    import sys
    import types

    import scrapy.utils.deprecate as deprecate

    if "scrapy.core.downloader.contextfactory" in sys.modules:
        return
    quick = types.SimpleNamespace(**{name: getattr(inspect, name) for name in dir(inspect)
                                     if not name.startswith("__")})
    quick.stack = lambda context=1: inspect.stack(0)[1:]  # without this lambda's own frame
    deprecate.inspect = quick  # type: ignore[assignment]
    try:
        import scrapy.core.downloader.contextfactory
        import scrapy.core.downloader.tls  # noqa: F401
    finally:
        deprecate.inspect = inspect


import_deprecated_aliases_quickly()

if TYPE_CHECKING:
    from scrapy import Request
    from scrapy.core.downloader import Slot
    from scrapy.http import Response
    from twisted.internet.defer import Deferred


def configure_download_slot(downloader: Downloader, key: str, *, delay: float, concurrency: int) -> None:
    """Settings for the download slot ``key`` as a ``DOWNLOAD_SLOTS`` entry gives them, before its first request."""
    downloader.per_slot_settings.setdefault(key, {"delay": delay, "concurrency": concurrency})


def schedule_coro(coro: Coroutine[Any, Any, Any]) -> None:
    """Run ``coro`` on the crawl's event loop (or reactor) without waiting for it."""
    _schedule_coro(coro)


def cookies_use_bundled_suffix_list() -> None:
    """Make Scrapy's cookies middleware read the Public Suffix List bundled with tldextract, never the web's."""
    _scrapy_cookies._split_domain = TLDExtract(suffix_list_urls=(), include_psl_private_domains=True)


def robots_parser_entry(middleware: RobotsTxtMiddleware, netloc: str) -> Any:
    """What the middleware holds for a host: a Deferred while its robots.txt is being fetched, else its
    parser, or None (robots.txt could not be had, or was not asked for yet)."""
    return middleware._parsers.get(netloc)


class SignalHookedProcess(CrawlerProcess):
    """Scrapy's process, with a public hook before each of its two stop-signal handlers."""

    def install_stop_handlers(self) -> None:
        """SIGINT and SIGTERM stop the crawl from now on: the first gracefully, a second at once."""
        install_shutdown_handlers(self._signal_shutdown)

    def on_first_stop_signal(self, signum: int) -> None:
        """Called in the signal handler, before Scrapy queues its graceful stop: nothing may be written here."""

    def on_second_stop_signal(self, signum: int) -> None:
        """Called in the signal handler, before Scrapy stops the reactor at once."""

    def _signal_shutdown(self, signum: int, frame: Any) -> None:
        self.on_first_stop_signal(signum)
        super()._signal_shutdown(signum, frame)

    def _signal_kill(self, signum: int, frame: Any) -> None:
        self.on_second_stop_signal(signum)
        super()._signal_kill(signum, frame)


class GatedDownloader(Downloader):
    """Scrapy's downloader, asking :meth:`check_send` before a request waits in its slot and before it is sent."""

    def check_send(self, request: Request) -> None:
        """Raise to refuse ``request``; by default every request goes."""

    def in_flight(self) -> int:
        """Requests sent and not answered yet."""
        return sum(len(slot.transferring) for slot in self.slots.values())

    def take_waiting(self) -> list[tuple[Request, Deferred[Response]]]:
        """Empty every slot's queue; returns what was in them, each request with the Deferred its download awaits."""
        waiting = [entry for slot in self.slots.values() for entry in slot.queue]
        for slot in self.slots.values():
            slot.queue.clear()
        return waiting

    async def _enqueue_request(self, request: Request) -> Response:
        self.check_send(request)
        return await super()._enqueue_request(request)

    async def _download(self, slot: Slot, request: Request) -> Response:
        try:
            self.check_send(request)
        except BaseException:
            slot.transferring.discard(request)  # counted from the moment it left the queue: see _process_queue
            self._process_queue(slot)
            raise
        return await super()._download(slot, request)

    def _process_queue(self, slot: Slot) -> None:
        """Scrapy 2.19's, but a request counts as transferring from the moment it leaves its slot's queue.

        Scrapy starts each download as a task and marks it transferring only when the task runs, after
        this loop has asked ``free_transfer_slots`` for the next one: a host with no download delay got
        as many requests at once as ``CONCURRENT_REQUESTS`` let through, whatever
        ``CONCURRENT_REQUESTS_PER_DOMAIN`` said (tests/integration/test_multihost_site.py).
        """
        if slot.latercall:
            return
        now = monotonic()
        delay = slot.download_delay()
        if delay:
            penalty = delay - now + slot.lastseen
            if penalty > 0:
                slot.latercall = call_later(penalty, self._latercall, slot)
                return
        while slot.queue and slot.free_transfer_slots() > 0:
            slot.lastseen = now
            request, queue_dfd = slot.queue.popleft()
            slot.transferring.add(request)  # the fix: before the loop asks for free slots again
            _schedule_coro(self._wait_for_download(slot, request, queue_dfd))
            if delay:
                self._process_queue(slot)
                break


class HookedCloseSpider(CloseSpider):
    """Scrapy's CloseSpider (the CLOSESPIDER_* limits), with :meth:`on_close` called before it closes the spider."""

    def on_close(self, reason: str) -> None:
        """``reason``: ``closespider_timeout``, ``closespider_itemcount`` and so on."""

    def _close_spider(self, reason: str) -> None:
        self.on_close(reason)
        super()._close_spider(reason)


class RequestDiskQueue(PickleLifoDiskQueue):  # type: ignore[misc,valid-type]
    """Scrapy's default disk queue (``SCHEDULER_DISK_QUEUE``), with each request's dict made cheaply.

    Scrapy's own ``push`` calls ``Request.to_dict(spider=...)``, which finds the names of the
    callback and the errback by ``inspect.getmembers`` over every attribute of the spider: twice a
    request, a tenth of an archive-only crawl's CPU.  The dict here is the same (compared with
    Scrapy's in ``tests/unit/compat/test_scrapy.py``); a callback's name is searched for once.
    """

    def __init__(self, crawler: Any, key: str) -> None:
        super().__init__(crawler, key)
        self._method_names: dict[object, str] = {}

    def push(self, request: Request) -> None:
        # The serialising queue's push, below Scrapy's request-to-dict step (done here instead).
        super(PickleLifoDiskQueue, self).push(self.request_dict(request))  # type: ignore[misc]

    def request_dict(self, request: Request) -> dict[str, Any]:
        """What ``request.to_dict(spider=self.spider)`` returns."""
        callback, errback = request.callback, request.errback
        if not (self._named(callback) and self._named(errback)):
            return request.to_dict(spider=self.spider)  # Scrapy's own, and its error for a stray function
        out: dict[str, Any] = {
            "url": request.url,
            "callback": self._method_names[callback.__func__] if callable(callback) else callback,  # type: ignore[attr-defined]
            "errback": self._method_names[errback.__func__] if callable(errback) else errback,  # type: ignore[attr-defined]
            "headers": dict(request.headers),
        }
        for attr in request.attributes:
            out.setdefault(attr, getattr(request, attr))
        if type(request) is not Request:
            out["_class"] = request.__module__ + "." + request.__class__.__name__
        return out

    def _named(self, func: Callable[..., Any] | None) -> bool:
        """Whether ``func`` is not callable, or a method of the spider whose name is now known."""
        if not callable(func):
            return True
        key = getattr(func, "__func__", None)
        if key is None:
            return False
        if key not in self._method_names:
            for name, member in inspect.getmembers(self.spider, predicate=inspect.ismethod):
                if member.__func__ is key:
                    self._method_names[key] = name
                    break
            else:
                return False
        return True
