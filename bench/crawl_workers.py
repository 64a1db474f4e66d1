"""The crawl benchmark's own pipelines; ``bench/crawl.py`` runs each in a subprocess of its own.

    python bench/crawl_workers.py scrapy --variant bare|warcio|naive --start URL --out DIR --result FILE
    python bench/crawl_workers.py extract --list FILE --procs N --result FILE

* ``scrapy``: a minimal spider that crawls the site from ``--start``.  It keeps a set of the links
  it has seen and yields a Request only for a new one on the same host.
  * ``bare``: fetch and follow only.
  * ``warcio``: plus a downloader middleware that writes a request and a response record per
    exchange with warcio (one gzip member per record): the baseline for "fetch + WARC".
  * ``naive``: plus ``trafilatura.extract`` called in the parse callback, which blocks the reactor.
* ``extract``: ``trafilatura.extract`` on HTML files from disk, in 1 process or a Pool of N.

Scrapy's settings are scraper's defaults (concurrency, retries, robots.txt, cookies) with the
benchmark's overrides (:data:`BENCH_OVERRIDES`), which ``scraper crawl`` gets too.  Each worker
writes what it counted to ``--result`` (JSON).  Heavy imports happen inside the functions, so a
worker loads only what its pipeline uses.
"""

from __future__ import annotations

import argparse
import io
import json
import sys
from collections.abc import Iterator, Sequence
from http import HTTPStatus
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

# Given to every Scrapy-based pipeline, scraper crawl included (as -s NAME=VALUE): no throttling, so
# the crawler and not a politeness delay sets the pace; 16 requests per host as in CONCURRENT_REQUESTS.
BENCH_OVERRIDES: dict[str, Any] = {
    "AUTOTHROTTLE_ENABLED": False,
    "CONCURRENT_REQUESTS_PER_DOMAIN": 16,
    "DOWNLOAD_DELAY": 0,
}
# scraper's defaults that shape a crawl's work, copied so the baselines follow them if they change.
SHARED_SETTINGS = ("ROBOTSTXT_OBEY", "ROBOTSTXT_PARSER", "CONCURRENT_REQUESTS", "CONCURRENT_ITEMS", "RETRY_ENABLED",
                   "RETRY_TIMES", "DOWNLOAD_TIMEOUT", "DOWNLOAD_MAXSIZE", "DOWNLOAD_WARNSIZE", "REDIRECT_MAX_TIMES",
                   "COOKIES_ENABLED", "TELNETCONSOLE_ENABLED", "USER_AGENT")
# What every pipeline that extracts asks trafilatura for: the body and the metadata (title, author,
# date...), which is the work scraper's extraction does too.
EXTRACT_OPTIONS: dict[str, Any] = {"with_metadata": True}


def scrapy_settings(variant: str, warc_path: Path) -> dict[str, Any]:
    from scraper.crawl import settings as scraper_settings

    settings = {name: getattr(scraper_settings, name) for name in SHARED_SETTINGS}
    settings.update(BENCH_OVERRIDES)
    settings["LOG_LEVEL"] = "WARNING"  # as scraper crawl -q
    if variant in ("warcio", "naive"):
        settings["DOWNLOADER_MIDDLEWARES"] = {WarcioMiddleware: 950}  # where scraper's WARC middleware sits
        settings["BENCH_WARC"] = str(warc_path)
    return settings


# -- WARC writing with warcio ----------------------------------------------------------------------
def header_pairs(headers: Any) -> list[tuple[str, str]]:
    return [(name.decode("latin-1"), value.decode("latin-1")) for name, values in headers.items() for value in values]


def request_target(url: str) -> str:
    parts = urlsplit(url)
    return (parts.path or "/") + (f"?{parts.query}" if parts.query else "")


class WarcioMiddleware:
    """Writes each exchange as a response record and a request record, as warcio's docs show.

    warcio's writer compresses each record as its own gzip member (zlib level 9).
    """

    def __init__(self, path: Path) -> None:
        from warcio.warcwriter import WARCWriter

        self.file = open(path, "wb")  # noqa: SIM115 - closed on spider_closed
        self.writer = WARCWriter(self.file, gzip=True, warc_version="1.1")

    @classmethod
    def from_crawler(cls, crawler: Any) -> WarcioMiddleware:
        from scrapy import signals

        middleware = cls(Path(crawler.settings["BENCH_WARC"]))
        crawler.signals.connect(middleware.close, signal=signals.spider_closed)
        return middleware

    def process_response(self, request: Any, response: Any) -> Any:
        from warcio.statusandheaders import StatusAndHeaders

        try:
            reason = HTTPStatus(response.status).phrase
        except ValueError:
            reason = ""
        http = StatusAndHeaders(f"{response.status} {reason}", header_pairs(response.headers), protocol="HTTP/1.1")
        record = self.writer.create_warc_record(response.url, "response", payload=io.BytesIO(response.body),
                                                length=len(response.body), http_headers=http)
        head = StatusAndHeaders(f"{request.method} {request_target(request.url)} HTTP/1.1",
                                [("Host", urlsplit(request.url).netloc), *header_pairs(request.headers)],
                                protocol="", is_http_request=True)
        sent = self.writer.create_warc_record(
            request.url, "request", payload=io.BytesIO(request.body or b""), length=len(request.body or b""),
            http_headers=head,
            warc_headers_dict={"WARC-Concurrent-To": record.rec_headers.get_header("WARC-Record-ID")})
        self.writer.write_record(sent)
        self.writer.write_record(record)
        return response

    def close(self) -> None:
        self.file.close()


# -- the spider ------------------------------------------------------------------------------------------
def run_spider(variant: str, start: str, out: Path, result: Path) -> None:
    import scrapy
    from scrapy.crawler import CrawlerProcess
    from scrapy.http import HtmlResponse

    extract = None
    if variant == "naive":
        import trafilatura

        extract = trafilatura.extract

    origin = "{0.scheme}://{0.netloc}/".format(urlsplit(start))

    class BenchSpider(scrapy.Spider):
        name = "bench"

        def __init__(self, **kwargs: Any) -> None:
            super().__init__(**kwargs)
            self.start_urls = [start]
            self.seen = {start}
            self.pages = 0
            self.extracted = 0

        def parse(self, response: Any) -> Iterator[Any]:
            if not isinstance(response, HtmlResponse):
                return
            self.pages += 1
            if extract is not None and extract(response.text, url=response.url, **EXTRACT_OPTIONS):
                self.extracted += 1
            for href in response.xpath("//a/@href").getall():
                try:
                    url = response.urljoin(href.strip()).split("#", 1)[0]
                except ValueError:
                    continue
                # Same host, not seen before: the set saves building a Request for every repeated link.
                if url.startswith(origin) and url not in self.seen:
                    self.seen.add(url)
                    yield scrapy.Request(url, callback=self.parse)

    process = CrawlerProcess(scrapy_settings(variant, out / "bench.warc.gz"))
    crawler = process.create_crawler(BenchSpider)
    process.crawl(crawler)
    process.start()
    spider = crawler.spider
    stats = crawler.stats.get_stats() if crawler.stats is not None else {}
    write_result(result, {"pages": spider.pages, "extracted": spider.extracted if extract else None,
                          "requests_made": len(spider.seen),
                          "responses": stats.get("downloader/response_count", 0),
                          "finish_reason": stats.get("finish_reason")})


# -- trafilatura on files ---------------------------------------------------------------------------------
def extract_file(item: tuple[str, str]) -> bool:
    import trafilatura

    path, url = item
    return trafilatura.extract(Path(path).read_text(encoding="utf-8"), url=url, **EXTRACT_OPTIONS) is not None


# -- scraper's own extraction on files: what one crawl's extraction worker does per page ---------------------
def extract_file_scraper(item: tuple[str, str]) -> bool:
    from scraper.article import ExtractionOptions
    from scraper.extract.worker import extract_for_record

    path, url = item
    page = extract_for_record(Path(path).read_text(encoding="utf-8"), url, ExtractionOptions())
    return page.article is not None and bool(page.article.text)


def run_extract(list_file: Path, procs: int, result: Path, extractor: str = "trafilatura") -> None:
    import multiprocessing

    if extractor == "scraper":
        from scraper.extract.worker import warm_up

        warm_up()  # as the crawl's forkserver does before its workers fork (start-up still counts)
        work = extract_file_scraper
    else:
        import trafilatura  # noqa: F401 - imported once here, so forked workers share it

        work = extract_file
    items = [tuple(line.split("\t", 1)) for line in list_file.read_text(encoding="utf-8").splitlines() if line]
    if procs == 1:
        hits = [work(item) for item in items]  # type: ignore[arg-type]
    else:
        with multiprocessing.get_context("fork").Pool(procs) as pool:
            hits = list(pool.imap_unordered(work, items, chunksize=8))  # type: ignore[arg-type]
    write_result(result, {"pages": len(hits), "extracted": sum(hits)})


def write_result(path: Path, figures: dict[str, Any]) -> None:
    path.write_text(json.dumps(figures) + "\n", encoding="utf-8")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    spider = commands.add_parser("scrapy")
    spider.add_argument("--variant", choices=("bare", "warcio", "naive"), required=True)
    spider.add_argument("--start", required=True)
    spider.add_argument("--out", type=Path, required=True)
    spider.add_argument("--result", type=Path, required=True)
    files = commands.add_parser("extract")
    files.add_argument("--list", type=Path, required=True, help="lines of PATH<TAB>URL")
    files.add_argument("--procs", type=int, default=1)
    files.add_argument("--extractor", choices=("trafilatura", "scraper"), default="trafilatura",
                       help="trafilatura.extract with metadata, or scraper's own extraction worker function")
    files.add_argument("--result", type=Path, required=True)
    args = parser.parse_args(argv)
    if args.command == "scrapy":
        run_spider(args.variant, args.start, args.out, args.result)
    else:
        run_extract(args.list, args.procs, args.result, args.extractor)
    return 0


if __name__ == "__main__":
    sys.exit(main())
