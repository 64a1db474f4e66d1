"""ArchiveSpider: seeds in; page items and in-scope requests out."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterator
from typing import Any

import scrapy
from scrapy.exceptions import IgnoreRequest
from scrapy.http import HtmlResponse, Response
from scrapy.settings import BaseSettings
from scrapy.spidermiddlewares.httperror import HttpError
from twisted.internet.error import DNSLookupError, TCPTimedOutError, TimeoutError
from twisted.python.failure import Failure

from scraper.items import PageItem
from scraper.middlewares import WARC_META
from scraper.records import Capture
from scraper.scope import Scope, url_key
from scraper.seeds import InvalidSeed, dedupe_seeds, validate_url

logger = logging.getLogger(__name__)

# Page requests see every status: a 404 or 500 is what the server said, and is recorded.
ALL_ERROR_STATUSES = list(range(400, 600))


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
    return type(failure.value).__name__.lower()


class ArchiveSpider(scrapy.Spider):
    name = "archive"

    def __init__(self, urls: str | list[str] | None = None, depth: str | int | None = None,
                 max_pages: str | int | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._arg_urls = _split_urls(urls)
        self._arg_depth = depth
        self._arg_max_pages = max_pages
        self.seeds: list[str] = []
        self.scope = Scope(frozenset())
        self.max_pages = 0
        self.seen: set[str] = set()  # canonical keys of every page request made
        self.scheduled = 0

    @classmethod
    def from_crawler(cls, crawler: Any, *args: Any, **kwargs: Any) -> ArchiveSpider:
        spider: ArchiveSpider = super().from_crawler(crawler, *args, **kwargs)
        spider.configure(crawler.settings)
        return spider

    def configure(self, settings: BaseSettings) -> None:
        """Spider arguments (``-a urls=...``) win over the ARCHIVE_* settings."""
        raw = self._arg_urls or settings.getlist("ARCHIVE_SEEDS")
        try:
            self.seeds = dedupe_seeds(validate_url(u) for u in raw)
        except InvalidSeed as exc:
            raise ValueError(str(exc)) from None
        depth = self._arg_depth if self._arg_depth is not None else settings.getint("ARCHIVE_DEPTH")
        max_pages = self._arg_max_pages if self._arg_max_pages is not None else settings.getint("ARCHIVE_MAX_PAGES")
        self.max_pages = int(max_pages or 0)
        self.scope = Scope.for_seeds(self.seeds, int(depth or 0))

    # -- scheduling ---------------------------------------------------------------
    def _budget_left(self) -> bool:
        return self.max_pages <= 0 or self.scheduled < self.max_pages

    def _page_request(self, url: str, depth: int, referrer: str | None) -> scrapy.Request | None:
        key = url_key(url)
        if key in self.seen:
            return None
        if not self._budget_left():
            self.crawler.stats.inc_value("scraper/skipped/max_pages")
            return None
        self.seen.add(key)
        self.scheduled += 1
        return scrapy.Request(
            url, callback=self.parse, errback=self.on_error, dont_filter=depth == 0,
            meta={"page_depth": depth, "referrer": referrer, "handle_httpstatus_list": ALL_ERROR_STATUSES},
        )

    async def start(self) -> AsyncIterator[scrapy.Request]:
        for url in self.seeds:
            request = self._page_request(url, 0, None)
            if request is not None:
                yield request

    # -- responses ------------------------------------------------------------------
    def parse(self, response: Response) -> Iterator[PageItem | scrapy.Request]:
        meta = response.meta
        captured = meta.get(WARC_META)
        if captured is None:  # not captured (the capture middleware is off): nothing to describe
            return
        depth = int(meta.get("page_depth", 0))
        redirects = list(meta.get("redirect_urls", []))
        is_html = isinstance(response, HtmlResponse)
        ok = 200 <= response.status < 300
        if response.status >= 400:
            self.crawler.stats.inc_value("scraper/pages/failed")
            self.crawler.stats.inc_value(f"scraper/errors/http_{response.status}")
        capture = Capture(
            requested_url=redirects[0] if redirects else response.url,
            url=response.url,
            status=response.status,
            content_type=_header(response, b"Content-Type"),
            fetched_at=captured["fetched_at"],
            payload_digest=captured["payload_digest"],
            warc=captured["pointer"],
            depth=depth,
            referrer=meta.get("referrer"),
            redirects=redirects,
        )
        yield PageItem(capture=capture, html=response.text if is_html and ok else None,
                       content_language=_header(response, b"Content-Language"))
        if isinstance(response, HtmlResponse) and ok and depth < self.scope.max_depth:
            yield from self._follow_links(response, depth + 1)

    def _follow_links(self, response: HtmlResponse, depth: int) -> Iterator[scrapy.Request]:
        for href in response.xpath("//a/@href").getall():
            try:
                url = response.urljoin(href.strip())
            except ValueError:
                continue
            url = url.split("#", 1)[0]
            if not self.scope.allows(url, depth):
                continue
            request = self._page_request(url, depth, response.url)
            if request is not None:
                yield request

    def on_error(self, failure: Failure) -> None:
        request = failure.request  # type: ignore[attr-defined]
        if _forbidden_by_robots(failure):
            self.crawler.stats.inc_value("scraper/robots_denied")
            logger.info("robots.txt forbids %s", request.url)
            return
        kind = failure_kind(failure)
        self.crawler.stats.inc_value("scraper/pages/failed")
        self.crawler.stats.inc_value(f"scraper/errors/{kind}")
        logger.warning("failed %s: %s", request.url, failure.getErrorMessage())


def _forbidden_by_robots(failure: Failure) -> bool:
    return bool(failure.check(IgnoreRequest)) and "forbidden by robots" in failure.getErrorMessage().lower()


def _header(response: Response, name: bytes) -> str | None:
    value = response.headers.get(name)
    return value.decode("latin-1") if value else None

