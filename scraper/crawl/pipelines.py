"""Item pipelines: extraction in worker processes, then the page record.

Thin: the work is done by the pure modules (extraction, records, storage).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import multiprocessing
import os
import signal
import threading
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import replace
from multiprocessing import forkserver, resource_tracker
from typing import TYPE_CHECKING, Any

from scrapy import signals
from scrapy.exceptions import NotConfigured
from sqlalchemy.exc import SQLAlchemyError

from scraper.article import Article, ExtractionOptions
from scraper.crawl import counters
from scraper.crawl.extensions import archive_run
from scraper.crawl.items import PageItem
from scraper.crawl.rendering import Renderer
from scraper.crawl.spider import ArchiveSpider
from scraper.extract.worker import ExtractedPage, extract_for_record, init_worker
from scraper.records import PAGE_RECORD_CONTENT_TYPE, current_extractor, record_for_capture
from scraper.scope import url_key
from scraper.storage.catalog import NewCapture
from scraper.storage.jsonl import dumps_line
from scraper.storage.warc import metadata_uri

if TYPE_CHECKING:
    from scrapy.crawler import Crawler

logger = logging.getLogger(__name__)


def options_from_settings(crawler: Crawler) -> ExtractionOptions:
    settings = crawler.settings
    return ExtractionOptions(
        favor_precision=settings.getbool("EXTRACT_FAVOR_PRECISION"),
        favor_recall=settings.getbool("EXTRACT_FAVOR_RECALL"),
        min_extracted_size=settings.getint("EXTRACT_MIN_TEXT_SIZE"),
    )


@contextlib.contextmanager
def sigint_ignored() -> Iterator[None]:
    """SIGINT ignored, and held back from this process, while a child process is started.

    A terminal's Ctrl-C is SIGINT to the whole process group: the extraction pool's
    forkserver and workers get it too, and must not die of it (the crawl process alone
    decides how to stop).  An ignored SIGINT stays ignored across fork and exec, and Python
    leaves it so at start-up: the forkserver is born ignoring it (its slow preload
    included), and its workers, which get back the disposition it started with, too.
    Blocked meanwhile, a SIGINT that arrives is not lost to this process: it is delivered
    to the crawl's own handler once that is back.
    """
    handler = signal.getsignal(signal.SIGINT)
    if threading.current_thread() is not threading.main_thread() or handler is None:
        # Only the main thread may set handlers, and one set outside Python could not be put back:
        # the forkserver's preload and the workers' initializer ignore SIGINT themselves.
        yield
        return
    mask = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, handler)
        signal.pthread_sigmask(signal.SIG_SETMASK, mask)


def start_forkserver() -> None:
    """The extraction pool's forkserver, started ignoring SIGINT (a no-op while it runs)."""
    # Its resource tracker first, on its own: it blocks SIGINT while it starts, then unblocks it,
    # which inside sigint_ignored() would let a Ctrl-C through to be ignored, and lost.
    mask = signal.pthread_sigmask(signal.SIG_BLOCK, set())
    try:
        resource_tracker.ensure_running()
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, mask)
    with sigint_ignored():
        forkserver.ensure_running()


def extraction_pool(workers: int) -> ProcessPoolExecutor:
    """A pool of extraction workers forked from the warm forkserver."""
    # forkserver: never fork the reactor's process with its threads and sockets.  The
    # forkserver warms extraction up once (scraper.extract.preload) and the workers
    # fork from it warm, sharing the language model's 70 MiB instead of a copy each.
    # Set before the forkserver starts; a later pool in the same process reuses it.
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["scraper.extract.preload"])
    start_forkserver()  # its workers start with the pool's first page, forked from it
    return ProcessPoolExecutor(max_workers=workers, initializer=init_worker, mp_context=context)


class ExtractPipeline:
    """Runs trafilatura on HTML pages in a process pool, so the crawl never waits on it.

    Only once the crawl has scheduled more than EXTRACT_IN_PROCESS_PAGES requests: until then pages
    are extracted here, as a pool's start (a process and its warm-up) costs more than a few pages'
    extraction.  A crawl bigger than that gets its pool with its first page (:meth:`_outgrows_in_process`).

    The reactor awaits each extraction; Scrapy's scraper slot limits how many
    responses are in flight, which is the back-pressure on the pool.  A pool whose
    worker died (the OOM killer, a kill -9) is broken for good: it is replaced, and the
    page tried once more.
    """

    def __init__(self, crawler: Crawler, workers: int) -> None:
        self.crawler = crawler
        self.options = options_from_settings(crawler)
        self.workers = workers
        self.recycle_after = crawler.settings.getint("EXTRACT_RECYCLE_AFTER")
        self.in_process_pages = crawler.settings.getint("EXTRACT_IN_PROCESS_PAGES")
        self.extracted_in_process = 0
        self.submitted = 0  # pages given to the current pool
        # A pool being replaced (EXTRACT_RECYCLE_AFTER): it finishes its pages and its workers exit
        # before the next pool starts, so two pools' workers never hold memory at the same time.
        self.retiring: ProcessPoolExecutor | None = None
        self.retired: asyncio.Future[None] | None = None  # done when the retiring pool's workers have exited
        # Started with the first page after the crawl has scheduled more than EXTRACT_IN_PROCESS_PAGES
        # requests, or when the spider opens if that is 0 (here the crawl is being set up, with SIGINT held back).
        self.executor: ProcessPoolExecutor | None = None
        self.renderer = Renderer.from_crawler(crawler)  # None with --browser never
        crawler.signals.connect(self.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(self.spider_closed, signal=signals.spider_closed)

    def spider_opened(self) -> None:
        if self.workers > 0 and self.in_process_pages <= 0 and self.executor is None:
            # Now, not with the first page: the forkserver warms up while robots.txt and the first pages are fetched.
            self.executor = self._new_pool()

    def _new_pool(self) -> ProcessPoolExecutor:
        return extraction_pool(self.workers)

    async def _pool(self) -> ProcessPoolExecutor:
        """The pool for the next page: a fresh one every EXTRACT_RECYCLE_AFTER pages.

        A worker's memory creeps up over tens of thousands of pages (lxml and the libraries'
        caches); workers forked anew from the warm forkserver start small and cost a few
        milliseconds.  (ProcessPoolExecutor's own max_tasks_per_child hangs on Python 3.11.)
        The old pool finishes the pages it was given and its workers exit; only then does the
        new one start, and the pages that came meanwhile go to it in the order they came.  Had
        both started at once, the old workers, with hundreds of pages still queued, and the new
        ones would hold memory together for seconds: the tree's peak.  The wait costs about one
        page's extraction on one core (the old pool's last page on the other).
        """
        if self.executor is not None and self.recycle_after > 0 and self.submitted >= self.recycle_after:
            old, self.executor, self.submitted = self.executor, None, 0
            self.retiring = old
            # Its shutdown waits for its pages in a thread of the loop's own: the reactor goes on.
            self.retired = asyncio.get_running_loop().run_in_executor(None, old.shutdown, True)
        if self.retired is not None:
            retired = self.retired
            try:
                await asyncio.shield(retired)  # one waiter cancelled must not cancel the others' wait
            finally:
                if self.retired is retired and retired.done():
                    self.retiring = self.retired = None
        if self.executor is None:
            self.executor = self._new_pool()
        self.submitted += 1
        return self.executor

    def _replace_broken(self, pool: ProcessPoolExecutor) -> None:
        """The first page to find ``pool`` broken replaces it; the others go on with the new one."""
        if pool is not self.executor:
            return
        archive_run(self.crawler).warn("an extraction worker died (out of memory? killed?): new workers "
                                       "took over, and the pages it had were tried again")
        if self.crawler.stats is not None:
            self.crawler.stats.inc_value("scraper/extraction/pools_replaced")
        self.executor, self.submitted = self._new_pool(), 0
        pool.shutdown(wait=False, cancel_futures=True)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ExtractPipeline:
        if not crawler.settings.getbool("EXTRACT_ENABLED"):
            raise NotConfigured
        workers = crawler.settings.get("EXTRACT_WORKERS")
        count = (os.cpu_count() or 1) if workers in (None, "") else int(workers)
        return cls(crawler, count)

    async def process_item(self, item: PageItem) -> PageItem:
        if item.html is None:
            return item
        try:
            extracted = await self._extract(item, item.html)
            item.article, item.fingerprint = extracted.article, extracted.fingerprint
            if self.crawler.stats is not None:
                self.crawler.stats.inc_value(counters.PAGES_EXTRACTED.stat)
        except Exception as exc:  # one bad page must not stop the crawl
            item.extraction_error = f"{type(exc).__name__}: {exc}"
            logger.warning("extraction failed for %s: %s", item.capture.url, item.extraction_error)
            if self.crawler.stats is not None:
                self.crawler.stats.inc_value(counters.ERRORS.stat_of("extraction"))
        if self.renderer is not None and self.renderer.wants(item, item.article.text if item.article else None):
            await self._render(item)
        if item.capture.record_kind == "revisit" and not item.capture.rendered:
            # An unchanged shell read again to be rendered, and not rendered after all: the record keeps the
            # article of the capture it revisits, not what the shell alone says.
            item.article = item.fingerprint = None
        item.html = None  # free it: the WARC holds the page
        item.response_headers = []
        return item

    async def _render(self, item: PageItem) -> None:
        """Render the page in Chromium; its DOM's links are followed, and its article is the record's when it
        holds more text than the static one."""
        assert self.renderer is not None
        try:
            rendering = await self.renderer.render(item)
        except Exception as exc:
            archive_run(self.crawler).warn(f"{item.capture.url}: rendering failed ({type(exc).__name__}: "
                                           f"{' '.join(str(exc).split())[:200]}); the page is as received")
            return
        if rendering is None:
            return
        item.capture = replace(item.capture, rendered_dom=rendering.dom)
        dom = rendering.page.dom
        if dom is None:
            return
        spider = self.crawler.spider
        engine = self.crawler.engine
        if isinstance(spider, ArchiveSpider) and engine is not None:
            for request in spider.rendered_page_requests(item.capture.url, dom, item.capture.depth,
                                                         rendering.page.navigations):
                engine.crawl(request)
        try:
            extracted = await self._extract(item, dom)
        except Exception as exc:
            logger.warning("extraction of the rendered %s failed: %s: %s", item.capture.url, type(exc).__name__, exc)
            return
        if _text_length(extracted.article) > _text_length(item.article):
            item.article, item.fingerprint = extracted.article, extracted.fingerprint
            item.capture = replace(item.capture, rendered=True)
            item.extraction_error = None

    def _outgrows_in_process(self) -> bool:
        """Whether the crawl has scheduled more requests than EXTRACT_IN_PROCESS_PAGES: then its pool
        starts with its first page, and extraction (trafilatura, the models: about 54 MiB) is never
        loaded into the crawl process, where it would stay for the whole crawl.  A page's links are
        scheduled before its item reaches this pipeline (the spider yields them first)."""
        stats = self.crawler.stats
        scheduled = stats.get_value("scheduler/enqueued", 0) if stats is not None else 0
        return int(scheduled or 0) > self.in_process_pages

    async def _extract(self, item: PageItem, html: str) -> ExtractedPage:
        if self.workers <= 0 or (self.executor is None and self.extracted_in_process < self.in_process_pages
                                 and not self._outgrows_in_process()):
            # A few pages block the reactor for tens of milliseconds each; a crawl that has more starts the pool.
            self.extracted_in_process += 1
            return extract_for_record(html, item.capture.url, self.options, item.content_language)
        try:
            return await self._in_pool(item, html)
        except BrokenProcessPool:
            # Tried once more on fresh workers; if the page itself kills them, it fails alone.
            return await self._in_pool(item, html)

    async def _in_pool(self, item: PageItem, html: str) -> ExtractedPage:
        pool = await self._pool()
        try:
            future = pool.submit(extract_for_record, html, item.capture.url, self.options, item.content_language)
            return await asyncio.wrap_future(future)
        except BrokenProcessPool:
            self._replace_broken(pool)
            raise

    async def spider_closed(self) -> None:
        if self.renderer is not None:
            await self.renderer.close()
        for pool in (self.retiring, self.executor):
            if pool is not None:
                pool.shutdown(wait=True, cancel_futures=True)


def _text_length(article: Article | None) -> int:
    return len(article.text or "") if article is not None else 0


class RecordPipeline:
    """Writes each page's record: a WARC metadata record, a line in pages.jsonl, a catalog row.

    Catalog rows are buffered and written CATALOG_BATCH at a time, and the rest when the
    spider closes, before the run commits them.  The order (WARC flushed, then the catalog
    journal, then JSONL, then catalog) means a record in the JSONL or the catalog always has
    its WARC records on disk, and a resumed crawl finds every buffered row in the journal.
    """

    CATALOG_BATCH = 200

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.run = archive_run(crawler)
        self.extractor = current_extractor()
        self.pending: list[NewCapture] = []
        self.run.before_close.append(self.flush_catalog)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> RecordPipeline:
        return cls(crawler)

    def _stat(self, key: str) -> None:
        if self.crawler.stats is not None:
            self.crawler.stats.inc_value(key)

    def process_item(self, item: PageItem) -> PageItem:
        capture = item.capture
        # A revisit's item has no article: the record takes the previous capture's content.
        record = record_for_capture(self.run.layout.crawl_id, capture, item.article, self.extractor,
                                    previous=item.previous, fingerprint=item.fingerprint).to_dict()
        if item.previous is not None and record["version"] is not None and record["changed_fields"]:
            self._stat(counters.NEW_VERSIONS.stat)
        line = dumps_line(record)  # serialised once: the WARC, the JSONL and the catalog hold the same text
        try:
            entry = self._write(item, record, line)
        except OSError as exc:  # a full disk: the crawl stops, what was written stays
            self.run.write_failed(exc)  # says so once; the page is fetched again by --resume
            return item
        self.pending.append(entry)
        if len(self.pending) >= self.CATALOG_BATCH:
            try:
                self.flush_catalog()
            except SQLAlchemyError as exc:  # a full disk under the catalog: the rows stay in the journal
                self.run.write_failed(exc)
        if self.crawler.stats is not None:
            self.crawler.stats.inc_value(counters.PAGES.stat)
            self.crawler.stats.inc_value(counters.WARC_RECORDS.stat)
        return item

    def _write(self, item: PageItem, record: dict[str, Any], line: str) -> NewCapture:
        """The page's WARC metadata record, its catalog journal line, its JSONL line, in that order."""
        capture = item.capture
        # WARC first: a record in the JSONL always has its WARC records on disk before it.
        self.run.warc.write_metadata(metadata_uri(capture.url), capture.warc.record_id,
                                     line.rstrip("\n").encode("utf-8"), PAGE_RECORD_CONTENT_TYPE, capture.fetched_at)
        self.run.warc.flush()
        # Under the page's own URL (after redirects): one page, one history of versions.
        archived = item.archived
        entry = NewCapture(url_key(capture.url), record, etag=archived.etag, last_modified=archived.last_modified,
                           warc_date=archived.warc_date,
                           original=archived.catalog_original(self.run.layout.crawl_id, capture.url, capture.status),
                           record_json=line.rstrip("\n"))
        # Journalled before the page record, so a resumed crawl can add the rows still buffered here.
        self.run.catalog_pending.append({"record_id": capture.warc.record_id, "url_key": entry.url_key,
                                         "etag": entry.etag, "last_modified": entry.last_modified,
                                         "warc_date": entry.warc_date, "original": entry.original})
        self.run.page_recorded(line, url_key(capture.requested_url), capture.warc.record_id, capture.warc.file)
        return entry

    def flush_catalog(self) -> None:
        pending, self.pending = self.pending, []
        if not pending:
            return
        self.run.catalog.add_captures(pending)
        self.run.catalog_pending.clear()  # in the catalog now: the journal has nothing left to say
