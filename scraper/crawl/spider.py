"""ArchiveSpider: seeds and seed sources in; page items and in-scope requests out.

Request kinds (``meta["kind"]``): ``page`` (archived and recorded), ``sitemap``,
``feed``, ``discover`` and ``robots`` (sources of page seeds, archived too: they
are part of what the site said), and ``requisite`` (archived so pages replay
with their images and styles; neither recorded nor extracted).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import sys
from collections import Counter
from collections.abc import AsyncIterator, Iterable, Iterator, MutableMapping
from datetime import date
from html import escape as html_escape
from typing import TYPE_CHECKING, Any
from urllib.parse import urljoin, urlsplit

import scrapy
from scrapy import signals
from scrapy.exceptions import IgnoreRequest
from scrapy.http import HtmlResponse, Response, TextResponse
from scrapy.settings import BaseSettings
from scrapy.spidermiddlewares.httperror import HttpError
from scrapy.utils.response import get_base_url
from sqlalchemy.exc import SQLAlchemyError
from twisted.internet.error import DNSLookupError, TCPTimedOutError, TimeoutError
from twisted.python.failure import Failure
from twisted.web.client import ResponseFailed, ResponseNeverReceived

from scraper.crawl import counters
from scraper.crawl.dedup import KeySet
from scraper.crawl.extensions import ArchiveRun, archive_run
from scraper.crawl.guard import AddressGuardRefused
from scraper.crawl.items import Archived, PageItem
from scraper.crawl.links import anchor_hrefs
from scraper.crawl.middlewares import PREVIOUS_META, WARC_META, header_pairs
from scraper.crawl.politeness import NotSent
from scraper.crawl.requisites import css_urls, html_requisites
from scraper.records import IDENTICAL_PAYLOAD, Capture
from scraper.resume import ResumeState
from scraper.scope import Scope, url_key
from scraper.seeds import (
    SeedSourceError,
    SourceEntry,
    dedupe_seeds,
    discover_sources,
    is_since,
    parse_feed,
    parse_since,
    parse_sitemap,
    sitemaps_from_robots,
    validate_url,
)
from scraper.storage.catalog import PreviousCapture
from scraper.storage.journal import ScheduledRequest

logger = logging.getLogger(__name__)

if TYPE_CHECKING:
    # Only a worker's crawl loads these (extensions.ArchiveRunExtension imports shared_run for it): a crawl on
    # one machine does without PostgreSQL's SQL and the leases' code (about 0.1 s of every crawl's start).
    from scraper.crawl.shared_run import SharedArchiveRun
    from scraper.storage.shared import LeasedRequest

LEASE_META = "shared_lease"  # the LeasedRequest a shared crawl's request was made from


def _finishes_lease(parse: Any) -> Any:
    """A seed source's callback, in a shared crawl: its lease is over once its entries are all added."""

    @functools.wraps(parse)
    def wrapper(self: ArchiveSpider, response: Response) -> Iterator[Any]:
        lease: LeasedRequest | None = response.meta.get(LEASE_META)
        self._lease_fetched(lease)
        yield from parse(self, response)
        archived: Archived | None = response.meta.get(WARC_META)
        self._lease_over(lease, ok=True, warc_file=archived.warc.file if archived is not None else None)

    return wrapper


# Page requests see every status: a 404 or 500 is what the server said, and is recorded.
ALL_ERROR_STATUSES = list(range(400, 600))
MAX_REQUISITE_DEPTH = 3  # a stylesheet importing a stylesheet importing a font


def _split_urls(value: str | list[str] | None) -> list[str]:
    if not value:
        return []
    if isinstance(value, list):
        return value
    return [part for part in value.replace(",", " ").split() if part]


def failure_kind(failure: Failure) -> str:
    """A short name for what went wrong, for the summary's errors-by-kind."""
    if failure.check(DNSLookupError):
        return "dns"
    if failure.check(TimeoutError, TCPTimedOutError):
        return "timeout"
    if isinstance(failure.value, HttpError):
        return f"http_{failure.value.response.status}"
    if failure.check(IgnoreRequest) and "redirections" in failure.getErrorMessage():
        return "redirect_limit"
    return type(failure.value).__name__.lower()


def failure_message(failure: Failure) -> str:
    """What went wrong, in words: Twisted's HTTP client hides its reasons in a list of failures.

    Printed as is, that list reads "[<twisted.python.failure.Failure ...>]"; this says what its
    failures say instead.
    """
    error = failure.value
    candidates = (error, error.__cause__, error.__context__) if error is not None else ()
    for candidate in candidates:
        reasons = getattr(candidate, "reasons", None)
        if not reasons:
            continue
        said = "; ".join(dict.fromkeys(r.getErrorMessage() if isinstance(r, Failure) else str(r) for r in reasons))
        if isinstance(candidate, ResponseNeverReceived):
            return f"no response: the connection closed before the response headers were complete ({said})"
        if isinstance(candidate, ResponseFailed):
            return f"the response was cut off before it was complete ({said})"
        return said
    return failure.getErrorMessage()


def _header(response: Response, name: bytes) -> str | None:
    value = response.headers.get(name)
    return value.decode("latin-1") if value else None


class ArchiveSpider(scrapy.Spider):
    name = "archive"

    def __init__(self, urls: str | list[str] | None = None, depth: str | int | None = None,
                 max_pages: str | int | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._arg_urls = _split_urls(urls)
        self._arg_depth = depth
        self._arg_max_pages = max_pages
        self.seeds: list[str] = []
        self.sitemaps: list[str] = []
        self.feeds: list[str] = []
        self.discover: list[str] = []
        self.sitemaps_from_robots = False
        self.requisites = False
        self.since: date | None = None
        self.scope = Scope()
        self.max_pages = 0
        self.source_max_bytes = 0
        # Every set of URLs below lives as long as the crawl and grows with it: each keeps 64-bit
        # hashes, not strings (scraper.crawl.dedup: about 16 bytes a member instead of 100-250).
        self.seen = KeySet()  # canonical keys of every request made
        self.filtered = KeySet()  # canonical keys of links refused by scope, counted once
        # Links as written on pages (absolute, no fragment) whose fate is settled: requested, or
        # refused for a reason that a shorter path cannot change.  Most links on a page are the
        # same navigation links as on every other page; this skips their canonicalisation and
        # scope test.
        self.settled_links = KeySet()
        self.resumed_done = KeySet()  # on a resume: url_keys of the URLs that led to pages recorded before
        self.scheduled = 0
        self._run: ArchiveRun | None = None
        # A shared crawl's leases: the hosts this worker holds, and its requests in flight to each.
        self.held_hosts: set[str] = set()
        self.busy: Counter[str] = Counter()
        self.idle_since: dict[str, float] = {}  # held hosts with nothing in flight: since when (monotonic)
        self.room_made: asyncio.Event | None = None  # set when a quarter of the lease loop's room is free again
        self.lease_room = 0

    @property
    def run(self) -> ArchiveRun:
        """The crawl's run, found when first needed: Scrapy makes the spider before the extension that owns it."""
        if self._run is None:
            self._run = archive_run(self.crawler)
        return self._run

    @classmethod
    def from_crawler(cls, crawler: Any, *args: Any, **kwargs: Any) -> ArchiveSpider:
        spider: ArchiveSpider = super().from_crawler(crawler, *args, **kwargs)
        spider.configure(crawler.settings)
        crawler.signals.connect(spider.on_request_scheduled, signal=signals.request_scheduled)
        crawler.signals.connect(spider.on_request_dropped, signal=signals.request_dropped)
        return spider

    def configure(self, settings: BaseSettings) -> None:
        """Spider arguments (``-a urls=...``) win over the ARCHIVE_* settings."""
        self.seeds = dedupe_seeds(validate_url(u) for u in (self._arg_urls or settings.getlist("ARCHIVE_SEEDS")))
        self.sitemaps = dedupe_seeds(validate_url(u) for u in settings.getlist("ARCHIVE_SITEMAPS"))
        self.feeds = dedupe_seeds(validate_url(u) for u in settings.getlist("ARCHIVE_FEEDS"))
        self.discover = dedupe_seeds(validate_url(u) for u in settings.getlist("ARCHIVE_DISCOVER"))
        self.sitemaps_from_robots = settings.getbool("ARCHIVE_SITEMAPS_FROM_ROBOTS")
        self.requisites = settings.getbool("ARCHIVE_REQUISITES")
        self.may_render = (settings.get("BROWSER_MODE") or "never") != "never" and settings.getbool("EXTRACT_ENABLED")
        since = settings.get("ARCHIVE_SINCE")
        self.since = parse_since(since) if since else None
        depth = self._arg_depth if self._arg_depth is not None else settings.getint("ARCHIVE_DEPTH")
        max_pages = self._arg_max_pages if self._arg_max_pages is not None else settings.getint("ARCHIVE_MAX_PAGES")
        self.max_pages = int(max_pages or 0)
        self.source_max_bytes = settings.getint("ARCHIVE_MAX_SOURCE_BYTES")
        mode = settings.get("ARCHIVE_SCOPE") or ("host" if int(depth or 0) > 0 else "page")
        self.scope = Scope.for_seeds(self.seed_urls(), int(depth or 0),
                                     mode=mode, allow=settings.getlist("ARCHIVE_ALLOW"),
                                     deny=settings.getlist("ARCHIVE_DENY"))

    def seed_urls(self) -> list[str]:
        """Every URL the person named: page seeds and seed sources."""
        return [*self.seeds, *self.sitemaps, *self.feeds, *self.discover]

    # -- helpers ------------------------------------------------------------------------
    def _stat(self, key: str, count: int = 1) -> None:
        if self.crawler.stats is not None:
            self.crawler.stats.inc_value(key, count)

    def _warn(self, message: str) -> None:
        self.run.warn(message)

    def _claim(self, url: str, key: str | None = None) -> bool:
        """True the first time a (canonical) URL is asked for in this crawl."""
        key = key or url_key(url)
        if key in self.seen:
            return False
        self.seen.add(key)
        return True

    def _filter(self, url: str, rule: str) -> None:
        key = url_key(url)
        if key not in self.filtered:
            self.filtered.add(key)
            self._stat(counters.FILTERED.stat_of(rule))

    # -- scheduling -------------------------------------------------------------------------
    def _journal(self, url: str, kind: str, depth: int, referrer: str | None) -> None:
        """Every request scheduled goes to the crawl's frontier journal: what --resume fetches again."""
        self.run.frontier.add(ScheduledRequest(url, kind, depth, referrer))

    @property
    def shared(self) -> SharedArchiveRun | None:
        """The run, when this is a worker's part of a shared crawl."""
        run = self.run
        shared_run = sys.modules.get("scraper.crawl.shared_run")  # never loaded: no run of this crawl is shared
        return run if shared_run is not None and isinstance(run, shared_run.SharedArchiveRun) else None

    def _to_shared_frontier(self, url: str, kind: str, depth: int, referrer: str | None,
                            key: str | None = None) -> None:
        """A shared crawl schedules in the database: whichever worker leases the request fetches it."""
        if self._claim(url, key):
            self._journal(url, kind, depth, referrer)

    def _page_request(self, url: str, depth: int, referrer: str | None, *, seed: bool = False,
                      key: str | None = None, journal: bool = True) -> scrapy.Request | None:
        key = key or url_key(url)
        if journal and self.shared is not None:
            self._to_shared_frontier(url, "page", depth, referrer, key)
            return None
        if self.max_pages > 0 and self.scheduled >= self.max_pages:
            if key not in self.seen:
                self._stat(counters.SKIPPED_MAX_PAGES.stat)
            return None
        if not self._claim(url, key):
            return None
        self.scheduled += 1
        if journal:
            self._journal(url, "page", depth, referrer)
        meta: dict[str, Any] = {"kind": "page", "page_depth": depth, "referrer": referrer,
                                "handle_httpstatus_list": [304, *ALL_ERROR_STATUSES]}
        headers: dict[str, str] = {}
        self._ask_if_changed(key, meta, headers)
        return scrapy.Request(url, callback=self.parse, errback=self.on_error, dont_filter=seed, meta=meta,
                              headers=headers)

    def _ask_if_changed(self, key: str, meta: dict[str, Any], headers: MutableMapping[Any, Any]) -> None:
        """Ask the server whether the page changed since its last capture (RFC 9110 §13), if it has one."""
        previous = self._previous_capture(key)
        if previous is not None:
            meta[PREVIOUS_META] = previous
            if previous.etag:
                headers["If-None-Match"] = previous.etag
            if previous.last_modified:
                headers["If-Modified-Since"] = previous.last_modified

    def on_request_scheduled(self, request: scrapy.Request) -> None:
        """A page's redirect hop, on its way to the scheduler (signal ``request_scheduled``).

        Versions follow the page, not the URL asked for (the catalog keys captures by their
        final URL): the hop asks about the last capture of its own URL, with that capture's
        validators, instead of the one of the URL it came from.  On a resume, a hop to a page
        an earlier run recorded is dropped, as Scrapy's dupefilter drops it in a crawl that
        was never interrupted (the dupefilter knows only this run's requests).
        """
        meta = request.meta
        if meta.get("kind") != "page" or not meta.get("redirect_urls"):
            return
        key = url_key(request.url)
        if not request.dont_filter and key in self.resumed_done:
            raise IgnoreRequest(f"{request.url}: recorded before the crawl was resumed")
        previous = meta.get(PREVIOUS_META)
        if previous is not None and url_key(previous.original_target_uri) == key:
            return  # the capture asked about is this URL's already
        meta.pop(PREVIOUS_META, None)
        for name in ("If-None-Match", "If-Modified-Since"):  # another resource's validators
            request.headers.pop(name, None)
        self._ask_if_changed(key, meta, request.headers)

    def _previous_capture(self, key: str) -> PreviousCapture | None:
        return self.run.revisits.previous_capture(key)

    def _source_request(self, url: str, kind: str, referrer: str | None = None, *,
                        journal: bool = True) -> scrapy.Request | None:
        if journal and self.shared is not None:
            self._to_shared_frontier(url, kind, 0, referrer)
            return None
        if not self._claim(url) and kind != "robots":
            return None
        if journal:
            self._journal(url, kind, 0, referrer)
        callbacks = {"sitemap": self.parse_sitemap, "feed": self.parse_feed, "discover": self.parse_discover,
                     "robots": self.parse_robots}
        meta: dict[str, Any] = {"kind": kind, "referrer": referrer, "handle_httpstatus_list": ALL_ERROR_STATUSES,
                                "max_body_bytes": self.source_max_bytes}
        if kind == "robots":
            meta["dont_obey_robotstxt"] = True
        return scrapy.Request(url, callback=callbacks[kind], errback=self.on_source_error, meta=meta,
                              dont_filter=kind == "robots")

    async def start(self) -> AsyncIterator[scrapy.Request]:
        shared = self.shared
        if shared is not None:  # the seeds are in the shared frontier: lease them, as every request
            async for leased in self._lease_loop(shared):
                yield leased
            return
        state = self.run.resume_state
        if state is not None:
            for resumed in self._resume_requests(state):
                yield resumed
        # Then the seeds and sources, on a resume too: those the journal did not reach (a crawl
        # killed while starting) are new, the others are claimed or done already and skipped.
        sources: list[scrapy.Request | None] = []
        sources += [self._source_request(u, "sitemap") for u in self.sitemaps]
        sources += [self._source_request(u, "feed") for u in self.feeds]
        sources += [self._source_request(u, "discover") for u in self.discover]
        if self.sitemaps_from_robots:
            roots = dedupe_seeds(f"{u.split('://')[0]}://{u.split('/')[2]}/robots.txt" for u in
                                 [*self.seeds, *self.discover, *self.sitemaps, *self.feeds])
            sources += [self._source_request(u, "robots") for u in roots]
        for request in sources:
            if request is not None:
                yield request
        for url in self.seeds:
            request = self._page_request(url, 0, None, seed=True)
            if request is not None:
                yield request

    # -- a shared crawl's leases ----------------------------------------------------------------
    async def _lease_loop(self, run: SharedArchiveRun) -> AsyncIterator[scrapy.Request]:
        """Lease requests from the shared frontier while this worker has room, until the crawl has none left.

        The crawl is over for this worker when nothing is queued or leased by anyone: a request another
        worker holds may still lead to more (or its lease may expire, and come here).
        """
        from scraper.crawl.shared_run import host_delays

        settings = self.crawler.settings
        poll = settings.getfloat("ARCHIVE_LEASE_POLL_SECONDS")
        room = self.lease_room = 2 * settings.getint("CONCURRENT_REQUESTS")
        self.room_made = asyncio.Event()
        frontier = run.shared_frontier
        grace = settings.getfloat("ARCHIVE_HOST_IDLE_SECONDS")
        self.max_pages = 0  # --max-pages counts in the database, for the crawl as a whole
        while not run.closed:
            try:
                run.tick()
                leases = frontier.lease(room - sum(self.busy.values()), self.held_hosts)
            except SQLAlchemyError as exc:  # a deadlock, a restart, a network glitch: leases last a while yet
                logger.warning("shared frontier: %s; trying again in %gs", str(exc).splitlines()[0], poll)
                await asyncio.sleep(poll)
                continue
            for lease in leases:
                self.busy[lease.host] += 1
                if lease.refetch:
                    self._stat("scraper/leases/refetched")
                yield self._leased_request(lease)
            # Over its share of hosts (workers joined since it took them): idle ones go at once, to the newcomers.
            over = frontier.share is not None and len(self.held_hosts) > frontier.share
            idle = host_delays(self.crawler, self.held_hosts, self.busy, self.idle_since, 0.0 if over else grace)
            if idle:
                with contextlib.suppress(SQLAlchemyError):  # not released: they run out, or are released next time
                    frontier.release_hosts(idle)
                    self.held_hosts.difference_update(idle)
            if leases:
                continue
            if not any(self.busy.values()):
                try:
                    run.settle()
                    counts = run.shared.counts(run.layout.crawl_id)
                except SQLAlchemyError as exc:
                    logger.warning("shared frontier: %s; trying again in %gs", str(exc).splitlines()[0], poll)
                else:
                    if counts.queued == 0 and counts.leased == 0:
                        return
            # Until a quarter of the room is free (a batch worth a database round trip), or the poll time:
            # links found meanwhile, other workers' hosts freed, expired leases.
            self.room_made.clear()
            with contextlib.suppress(asyncio.TimeoutError):  # (this module's TimeoutError is Twisted's)
                await asyncio.wait_for(self.room_made.wait(), poll)

    def _leased_request(self, lease: LeasedRequest) -> scrapy.Request:
        # This worker may have put the URL in the frontier itself (claimed then): the lease is what counts now.
        self.seen.discard(lease.url_key)
        request: scrapy.Request | None
        if lease.kind == "page":
            request = self._page_request(lease.url, lease.depth, lease.referrer, seed=True, key=lease.url_key,
                                         journal=False)
        else:
            request = self._source_request(lease.url, lease.kind, lease.referrer, journal=False)
        assert request is not None  # a page's limit and claim are the database's: neither refuses a lease here
        if lease.host_delay is not None:
            from scraper.crawl.shared_run import start_host_at

            start_host_at(self.crawler, lease.host, lease.host_delay)
        request = request.replace(dont_filter=True)
        request.meta[LEASE_META] = lease
        return request

    def _lease_fetched(self, lease: LeasedRequest | None) -> None:
        """The leased request's response (or failure) is here: its host has one request fewer in flight."""
        if lease is not None and self.busy[lease.host] > 0:
            self.busy[lease.host] -= 1
            if self.room_made is not None and sum(self.busy.values()) <= self.lease_room * 3 // 4:
                self.room_made.set()

    def _lease_over(self, lease: LeasedRequest | None, *, ok: bool, warc_file: str | None = None) -> None:
        shared = self.shared
        if lease is not None and shared is not None:
            shared.lease_finished(lease.url_key, ok=ok, warc_file=warc_file)

    def on_request_dropped(self, request: scrapy.Request) -> None:
        """The scheduler refused a request: a leased one is over, or the loop would wait for it forever."""
        lease = request.meta.get(LEASE_META)
        self._lease_fetched(lease)
        self._lease_over(lease, ok=False)

    def _resume_requests(self, state: ResumeState) -> Iterator[scrapy.Request]:
        """What an interrupted crawl scheduled and did not record, in the order it was scheduled.

        Pages with a page record are done, under every URL that led to them (the one requested,
        each redirect hop, the final one); seed sources are done once read (``fetched``).
        Everything else is asked for again, without journalling it a second time.
        """
        self.seen.update(state.done_keys)
        self.resumed_done = KeySet(state.done_keys)
        for entry in state.frontier.scheduled:
            request: scrapy.Request | None
            if entry.kind == "page":
                key = url_key(entry.url)
                if key in self.resumed_done:
                    self.scheduled += 1  # it counts towards --max-pages as it did before
                    continue
                request = self._page_request(entry.url, entry.depth, entry.referrer, key=key, journal=False,
                                             seed=entry.depth == 0 and entry.referrer is None)
            elif entry.url in state.frontier.fetched_sources:
                self._claim(entry.url)
                continue
            else:
                request = self._source_request(entry.url, entry.kind, entry.referrer, journal=False)
            if request is not None:
                yield request

    def _source_read(self, response: Response) -> None:
        """A seed source's entries are all scheduled (and journalled): a resumed crawl need not read it again.
        (A shared crawl's source is done when the WARC file holding it is closed: its lease says so.)"""
        if self.shared is None:
            self.run.frontier.mark_done(response.url)

    # -- pages ------------------------------------------------------------------------------
    def parse(self, response: Response) -> Iterator[PageItem | scrapy.Request]:
        meta = response.meta
        archived: Archived | None = meta.get(WARC_META)
        lease: LeasedRequest | None = meta.get(LEASE_META)
        self._lease_fetched(lease)  # a page's lease is over when its record is written (RecordPipeline)
        if archived is None:  # not archived (noarchive respected): nothing to describe
            self._lease_over(lease, ok=True)
            return
        depth = int(meta.get("page_depth", 0))
        redirects = list(meta.get("redirect_urls", []))
        is_html = isinstance(response, HtmlResponse)
        ok = 200 <= response.status < 300 and archived.record_kind == "response"
        if response.status >= 400:
            self._stat(counters.PAGES_FAILED.stat)
            self._stat(counters.ERRORS.stat_of(f"http_{response.status}"))
        if archived.truncated:
            self._stat(counters.PAGES_TRUNCATED.stat)
            self._warn(f"{response.url}: body over the size limit; archived truncated (WARC-Truncated: length)")
        capture = Capture(
            requested_url=redirects[0] if redirects else response.url,
            url=response.url,
            status=response.status,
            content_type=_header(response, b"Content-Type"),
            fetched_at=archived.fetched_at,
            payload_digest=archived.payload_digest,
            warc=archived.warc,
            depth=depth,
            referrer=meta.get("referrer"),
            redirects=redirects,
            access=archived.access.as_dict(),
            truncated=archived.truncated,
            record_kind=archived.record_kind,
            revisit_profile=archived.revisit_profile,
            refers_to=archived.refers_to,
        )
        # Links first: they are journalled as they are scheduled, before the page record exists,
        # so a crawl killed after recording this page still knows where it leads.
        if isinstance(response, HtmlResponse) and 200 <= response.status < 300:
            if self.requisites:
                yield from self._requisite_requests(html_requisites(response.text, response.url), response.url, 1)
            if depth < self.scope.max_depth:
                yield from self._follow_links(response, depth + 1)
        # An unchanged shell whose last capture was rendered is rendered again: its article lives in what its
        # scripts fetch, which may have changed while the HTML did not.
        render_again = (is_html and self.may_render and archived.revisit_profile == IDENTICAL_PAYLOAD
                        and archived.previous is not None and bool(archived.previous.record.get("rendered")))
        html = response.text if is_html and (ok or render_again) else None
        yield PageItem(capture=capture, archived=archived, html=html,
                       content_language=_header(response, b"Content-Language"),
                       response_headers=header_pairs(response.headers) if html is not None and self.may_render else [])

    def rendered_page_requests(self, url: str, dom: str, depth: int,
                               navigations: list[str]) -> Iterator[scrapy.Request]:
        """The links in scope of a page's rendered DOM, and the places its scripts tried to navigate to
        (``location = ...``: the browser was kept on the page), as the page's own links are followed."""
        if depth >= self.scope.max_depth:
            return
        # The navigations as anchors after the DOM: the one link-following path, with its scope and dedup.
        anchors = "".join(f'<a href="{html_escape(target)}"></a>' for target in navigations)
        rendered = HtmlResponse(url=url, body=(dom + anchors).encode("utf-8"), encoding="utf-8")
        yield from self._follow_links(rendered, depth + 1)

    def _follow_links(self, response: HtmlResponse, depth: int) -> Iterator[scrapy.Request]:
        base = get_base_url(response)  # <base href> if the page has one, as urljoin would use
        parts = urlsplit(base)
        origin = f"{parts.scheme}://{parts.netloc}\x00"  # NUL: never in an attribute, so never in a link
        for href in anchor_hrefs(response.text):
            # A key that determines the joined URL without joining: the link itself when it
            # is absolute, the origin and the path when it is root-relative (most navigation);
            # the two kinds never collide ("/a/../b" joins to ".../b", "http://h/a/../b" does not).
            if href.startswith(("http://", "https://")):
                probe: str | None = href
            elif href.startswith("/") and not href.startswith("//"):
                probe = origin + href
            else:
                probe = None
            if probe is not None and probe in self.settled_links:
                continue
            try:
                url = urljoin(base, href).split("#", 1)[0]
            except ValueError:
                continue
            if url in self.settled_links:
                if probe is not None:
                    self.settled_links.add(probe)
                continue
            verdict = self.scope.verdict(url, depth)
            if verdict is not None:
                self._filter(url, verdict)
                if verdict != "depth":  # found on a page nearer a seed, it may still be in scope
                    self._settle(url, probe)
                continue
            key = url_key(url)
            request = self._page_request(url, depth, response.url, key=key)
            if request is not None:
                yield request
            if key in self.seen:
                self._settle(url, probe)

    def _settle(self, url: str, probe: str | None) -> None:
        self.settled_links.add(url)
        if probe is not None and probe != url:
            self.settled_links.add(probe)

    def _seed_entries(self, entries: Iterable[SourceEntry], source: str) -> Iterator[scrapy.Request]:
        """Entries of a sitemap or feed become seeds: --since and allow/deny still apply."""
        for entry in entries:
            if self.since is not None and not is_since(entry.date, self.since):
                self._filter(entry.url, "since" if entry.date else "since:undated")
                continue
            verdict = self.scope.seed_verdict(entry.url)
            if verdict is not None:
                self._filter(entry.url, verdict)
                continue
            request = self._page_request(entry.url, 0, source)
            if request is not None:
                self._stat(counters.SEEDS_FROM_SOURCES.stat)
                yield request

    # -- seed sources --------------------------------------------------------------------------
    def _source_ok(self, response: Response, what: str) -> bool:
        if response.status >= 400:
            self._warn(f"{what} {response.url}: HTTP {response.status}; skipped")
            self._stat(counters.ERRORS.stat_of(f"{what}_http_{response.status}"))
            return False
        if "download_stopped" in response.flags:
            self._warn(f"{what} {response.url}: larger than {self.source_max_bytes:,} bytes; read only that much")
        return True

    @_finishes_lease
    def parse_sitemap(self, response: Response) -> Iterator[scrapy.Request]:
        if not self._source_ok(response, "sitemap"):
            return
        # A sitemap cut at the size limit still yields the entries before the cut.
        body = response.body[:self.source_max_bytes] if "download_stopped" in response.flags else response.body
        try:
            sitemap = parse_sitemap(body, response.url, max_bytes=self.source_max_bytes)
        except SeedSourceError as exc:
            self._warn(f"sitemap: {exc}")
            self._stat(counters.ERRORS.stat_of("bad_sitemap"))
            return
        if sitemap.kind == "sitemapindex":
            for child in sitemap.entries:
                if self.since is not None and child.date is not None and not is_since(child.date, self.since):
                    self._filter(child.url, "since")
                    continue
                request = self._source_request(child.url, "sitemap", response.url)
                if request is not None:
                    yield request
        else:
            yield from self._seed_entries(sitemap.entries, response.url)
        self._source_read(response)

    @_finishes_lease
    def parse_feed(self, response: Response) -> Iterator[scrapy.Request]:
        if not self._source_ok(response, "feed"):
            return
        try:
            entries = parse_feed(response.body, response.url)
        except SeedSourceError as exc:
            self._warn(f"feed: {exc}")
            self._stat(counters.ERRORS.stat_of("bad_feed"))
            return
        yield from self._seed_entries(entries, response.url)
        self._source_read(response)

    @_finishes_lease
    def parse_discover(self, response: Response) -> Iterator[PageItem | scrapy.Request]:
        if not self._source_ok(response, "discover"):
            return
        if not isinstance(response, TextResponse):
            self._warn(f"discover {response.url}: not an HTML page")
            return
        found = discover_sources(response.text, response.url)
        if not found.feeds and not found.sitemaps:
            self._warn(f"discover {response.url}: no feeds or sitemaps linked from the page")
        for url in found.feeds:
            request = self._source_request(url, "feed", response.url)
            if request is not None:
                yield request
        for url in found.sitemaps:
            request = self._source_request(url, "sitemap", response.url)
            if request is not None:
                yield request
        self._source_read(response)

    @_finishes_lease
    def parse_robots(self, response: Response) -> Iterator[scrapy.Request]:
        if not self._source_ok(response, "robots.txt"):
            return
        sitemaps = sitemaps_from_robots(response.body, response.url)
        if not sitemaps:
            self._warn(f"robots.txt {response.url}: no Sitemap lines")
        for url in sitemaps:
            request = self._source_request(url, "sitemap", response.url)
            if request is not None:
                yield request
        self._source_read(response)

    # -- requisites ------------------------------------------------------------------------------
    def _requisite_requests(self, urls: Iterable[str], referrer: str, level: int) -> Iterator[scrapy.Request]:
        for url in urls:
            verdict = self.scope.seed_verdict(url)  # any host (CDNs), but --deny still applies
            if verdict is not None:
                self._filter(url, verdict)
                continue
            if self._claim(url):
                yield scrapy.Request(url, callback=self.parse_requisite, errback=self.on_requisite_error,
                                     meta={"kind": "requisite", "referrer": referrer, "requisite_level": level},
                                     priority=1)

    def parse_requisite(self, response: Response) -> Iterator[scrapy.Request]:
        self._stat(counters.REQUISITES.stat)
        level = int(response.meta.get("requisite_level", 1))
        content_type = (_header(response, b"Content-Type") or "").lower()
        if level < MAX_REQUISITE_DEPTH and isinstance(response, TextResponse) and (
                "css" in content_type or response.url.split("?")[0].endswith(".css")):
            yield from self._requisite_requests(css_urls(response.text, response.url), response.url, level + 1)

    # -- failures ---------------------------------------------------------------------------------
    def on_error(self, failure: Failure) -> None:
        request = failure.request  # type: ignore[attr-defined]
        lease: LeasedRequest | None = request.meta.get(LEASE_META)
        self._lease_fetched(lease)
        if failure.check(NotSent):
            return  # the crawl stopped before sending it: --resume sends it (a worker's lease goes back at close)
        robots = failure.check(IgnoreRequest) and "forbidden by robots" in failure.getErrorMessage().lower()
        self._lease_over(lease, ok=bool(robots))
        if failure.check(AddressGuardRefused):
            return  # counted and reported by the guard
        if self.run.write_error is not None:
            return  # the archive cannot be written: said once, and the crawl is stopping
        if failure.check(IgnoreRequest) and "forbidden by robots" in failure.getErrorMessage().lower():
            self._stat(counters.ROBOTS_DENIED.stat)
            logger.info("robots.txt forbids %s", request.url)
            return
        kind = failure_kind(failure)
        self._stat(counters.PAGES_FAILED.stat)
        self._stat(counters.ERRORS.stat_of(kind))
        if kind == "redirect_limit":
            self._warn(f"{request.url}: redirect loop or chain longer than the limit; given up")
        logger.warning("failed %s: %s", request.url, failure_message(failure))

    def on_source_error(self, failure: Failure) -> None:
        request = failure.request  # type: ignore[attr-defined]
        lease: LeasedRequest | None = request.meta.get(LEASE_META)
        self._lease_fetched(lease)
        if not failure.check(NotSent):
            self._lease_over(lease, ok=False)
        if failure.check(AddressGuardRefused, NotSent):
            return
        kind = request.meta.get("kind", "source")
        self._warn(f"{kind} {request.url}: {failure_kind(failure)}: {failure_message(failure)}")
        self._stat(counters.ERRORS.stat_of(f"{kind}_{failure_kind(failure)}"))

    def on_requisite_error(self, failure: Failure) -> None:
        if failure.check(NotSent):
            return
        self._stat("scraper/requisites/failed")
        logger.info("requisite not archived: %s (%s)", failure.request.url,  # type: ignore[attr-defined]
                    failure_message(failure))
