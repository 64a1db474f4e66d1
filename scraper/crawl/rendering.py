"""When and how the crawl renders a page in Chromium (``--browser never|auto|always``).

``auto`` renders a page only when static extraction found no article in it (:func:`is_thin`) and
its HTML looks built by scripts (:func:`shell_signals`): on a site that needs no browser, that
is one length check per page.  The browser (:mod:`scraper.crawl.browser`) gets the page's
archived response as its document; every other request the page makes is sent by this
crawl's downloader (:meth:`Renderer.fetch`), through every downloader middleware: the address
guard, robots.txt, the WARC capture (request and response records as received, a revisit when
this crawl already holds the same payload at that URL), the size limit and decompression.
What rendering makes that is not an HTTP exchange, the DOM and a screenshot, goes into the
WARC as ``resource`` records tied to the page's response.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import scrapy
from scrapy.exceptions import IgnoreRequest

from scraper.compat.scrapy import configure_download_slot
from scraper.crawl import counters
from scraper.crawl.browser import (
    Browser,
    BrowserRequest,
    BrowserResponse,
    ChromiumMissing,
    Refused,
    RenderedPage,
    find_chromium,
)
from scraper.crawl.extensions import archive_run
from scraper.crawl.items import Archived, PageItem
from scraper.crawl.middlewares import PREVIOUS_META, REQUEST_FIELDS_META, WARC_META, header_pairs
from scraper.crawl.politeness import BROWSER_SLOT_PREFIX
from scraper.extract.shell import is_thin, shell_signals
from scraper.records import WarcPointer
from scraper.scope import url_key
from scraper.storage.catalog import PreviousCapture
from scraper.storage.warc import rendered_uri

if TYPE_CHECKING:
    from scrapy.crawler import Crawler

logger = logging.getLogger(__name__)

BROWSER_MODES = ("never", "auto", "always")
# Request headers the crawl's downloader sets itself: its own Accept-Encoding (only codings it can
# decode), the length of the body it sends, the connection it keeps.
# (Chromium adds its Accept-Encoding below the interception: a page's requests arrive here without one.)
_NOT_FORWARDED = frozenset({"accept-encoding", "content-length", "connection", "host", "keep-alive"})
SUBRESOURCE_KIND = "browser"  # request.meta["kind"] of what a rendering page asks for
# The WARC extension field of the request record of each of them: the kind of thing the page asked for
# (Chromium's resource type: script, fetch, image ...) and for which page.
BROWSER_REQUEST_FIELD = "Scraper-Browser-Request"


@dataclass(frozen=True)
class Rendering:
    """A rendered page and where its DOM (and screenshot) went in the WARC."""

    page: RenderedPage
    dom: WarcPointer | None
    screenshot: WarcPointer | None


class Renderer:
    """The crawl's browser, started with the first page that needs one."""

    def __init__(self, crawler: Crawler, mode: str) -> None:
        settings = crawler.settings
        self.crawler = crawler
        self.mode = mode
        self.run = archive_run(crawler)
        self.executable = find_chromium(settings.get("BROWSER_EXECUTABLE"))
        self.unavailable: str | None = None  # why this crawl renders nothing after all, said once
        self.browser: Browser | None = None
        self.screenshot = settings.getbool("BROWSER_SCREENSHOT")
        self.host_concurrency = settings.getint("BROWSER_HOST_CONCURRENCY")
        # This crawl's 2xx payloads of what pages asked for, by URL: a page asking again gets a revisit.
        self.payloads: dict[str, PreviousCapture] = {}

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Renderer | None:
        mode = crawler.settings.get("BROWSER_MODE") or "never"
        if mode not in BROWSER_MODES:
            raise ValueError(f"BROWSER_MODE must be one of {', '.join(BROWSER_MODES)}, not {mode!r}")
        return None if mode == "never" else cls(crawler, mode)

    def wants(self, item: PageItem, static_text: str | None) -> bool:
        """Whether to render this page: always, or (auto) when it is a thin, script-built shell."""
        if item.html is None or self.unavailable is not None:
            return False
        if self.mode == "always":
            return True
        return is_thin(static_text) and shell_signals(item.html).script_built

    def _browser(self) -> Browser:
        if self.browser is None:
            assert self.executable is not None
            settings = self.crawler.settings
            self.browser = Browser(self.executable, timeout=settings.getfloat("BROWSER_TIMEOUT"),
                                   contexts=settings.getint("BROWSER_CONTEXTS"),
                                   recycle_after=settings.getint("BROWSER_RECYCLE_AFTER"),
                                   screenshot=self.screenshot, max_scrolls=settings.getint("BROWSER_MAX_SCROLLS"),
                                   user_agent=settings.get("USER_AGENT"))
        return self.browser

    def _give_up(self, reason: str) -> None:
        """No browser for this crawl: said once, and the pages are read as received."""
        if self.unavailable is not None:
            return  # said already (pages rendered side by side all find the browser missing)
        self.unavailable = reason
        self.run.warn(f"--browser {self.mode}: {reason}; pages are archived and read as received, not rendered "
                      f"(install Debian's chromium package, or -s BROWSER_EXECUTABLE=PATH)")

    async def render(self, item: PageItem) -> Rendering | None:
        """Render the page of ``item`` (whose ``html`` is its decoded body); None when there is no browser."""
        if self.unavailable is not None:
            return None
        if self.executable is None:
            configured = self.crawler.settings.get("BROWSER_EXECUTABLE")
            self._give_up(f"no Chromium at {configured}" if configured else
                          "no Chromium found (looked for chromium, chromium-browser and google-chrome on PATH)")
            return None
        assert item.html is not None
        capture = item.capture
        content_type = (capture.content_type or "text/html").split(";", 1)[0].strip() or "text/html"
        # The archived response, decoded: its text in UTF-8, said so in a header that outranks any <meta charset>.
        headers = [(n, v) for n, v in item.response_headers if n.lower() != "content-type"]
        document = BrowserResponse(status=capture.status, headers=[*headers, ("Content-Type",
                                   f"{content_type}; charset=utf-8")], body=item.html.encode("utf-8", "replace"))

        async def fetch(asked: BrowserRequest) -> BrowserResponse:
            return await self.fetch(asked, capture.url)

        try:
            page = await self._browser().render(capture.url, document, fetch)
        except ChromiumMissing as exc:
            self._give_up(str(exc))
            return None
        self._stat(counters.PAGES_RENDERED.stat)
        if page.problem is not None:
            self.run.warn(f"{capture.url}: rendering {page.problem}; archived as far as it got")
        return Rendering(page=page, dom=self._write(page, "dom", item),
                         screenshot=self._write(page, "screenshot", item))

    def _write(self, page: RenderedPage, kind: str, item: PageItem) -> WarcPointer | None:
        body = page.dom.encode("utf-8") if kind == "dom" and page.dom is not None else (
            page.screenshot if kind == "screenshot" else None)
        if body is None:
            return None
        content_type = "text/html; charset=utf-8" if kind == "dom" else "image/png"
        try:
            location = self.run.warc.write_resource(rendered_uri(kind, page.url), item.capture.warc.record_id, body,
                                                    content_type, datetime.now(UTC))
        except OSError as exc:  # a full disk: the crawl stops, what was written stays
            self.run.write_failed(exc)
            return None
        self._stat(counters.WARC_RECORDS.stat)
        return location

    async def fetch(self, asked: BrowserRequest, page_url: str) -> BrowserResponse:
        """Send a request a rendering page made through the crawl's downloader, and give the browser the answer.

        Its own download slot per host, without the pages' delay: a browser loads a page's parts together,
        as Browsertrix and every browser do; the pages themselves keep the crawl's pace.
        """
        engine = self.crawler.engine
        assert engine is not None
        slot = f"{BROWSER_SLOT_PREFIX}{urlsplit(asked.url).hostname or ''}"
        configure_download_slot(engine.downloader, slot, delay=0.0, concurrency=self.host_concurrency)
        key = url_key(asked.url)
        note = f"{asked.resource_type}; page={page_url}"
        request = scrapy.Request(
            asked.url, method=asked.method, body=asked.body or None, dont_filter=True,
            headers=[(n, v) for n, v in asked.headers if n.lower() not in _NOT_FORWARDED and not n.startswith(":")],
            meta={"kind": SUBRESOURCE_KIND, "referrer": page_url, "resource_type": asked.resource_type,
                  REQUEST_FIELDS_META: ((BROWSER_REQUEST_FIELD, note),),
                  "dont_redirect": True, "handle_httpstatus_all": True, "dont_merge_cookies": True,
                  "download_slot": slot, "autothrottle_dont_adjust_delay": True,
                  PREVIOUS_META: self.payloads.get(key)})
        try:
            response = await engine.download_async(request)
        except IgnoreRequest as exc:  # the address guard, robots.txt: the page gets a network error
            self._stat(counters.BROWSER_REFUSED.stat)
            raise Refused(str(exc)) from exc
        archived: Archived | None = response.meta.get(WARC_META)
        if archived is not None:
            self._stat(counters.BROWSER_EXCHANGES.stat)
            if archived.record_kind == "response" and 200 <= response.status < 300 and not archived.truncated:
                self.payloads[key] = _as_previous(archived, response.url, response.status, self.run.layout.crawl_id)
        return BrowserResponse(status=response.status, headers=header_pairs(response.headers), body=response.body)

    async def close(self) -> None:
        if self.browser is not None:
            browser, self.browser = self.browser, None
            if browser.crashes:
                self.run.warn(f"Chromium crashed {browser.crashes} time(s) and was started again")
            await browser.close()

    def _stat(self, key: str) -> None:
        if self.crawler.stats is not None:
            self.crawler.stats.inc_value(key)


def _as_previous(archived: Archived, url: str, status: int, crawl_id: str) -> PreviousCapture:
    """A payload this crawl archived, as the capture middleware's revisit check reads a URL's last capture."""
    warc = archived.warc
    return PreviousCapture(capture_id=0, version=None, status=status, etag=None, last_modified=None,
                           payload_digest=archived.payload_digest, text_sha256=None,
                           original_record_id=warc.record_id, original_warc_date=archived.warc_date,
                           original_target_uri=url,
                           original_warc={"crawl_id": crawl_id, "file": warc.file, "offset": warc.offset,
                                          "length": warc.length},
                           record={})
