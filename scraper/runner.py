"""Build Scrapy settings and run one crawl in this process."""

from __future__ import annotations

import json
import logging
import signal
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from scrapy.crawler import Crawler, CrawlerProcess
from scrapy.settings import Settings

from scraper.extensions import ArchiveRun
from scraper.spiders.archive import ArchiveSpider
from scraper.storage.layout import CrawlLayout

SETTINGS_MODULE = "scraper.settings"


def build_settings(overrides: dict[str, Any]) -> Settings:
    """Project defaults at "project" priority, command-line choices at "cmdline"."""
    settings = Settings()
    settings.setmodule(SETTINGS_MODULE, priority="project")
    settings.update(overrides, priority="cmdline")
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


class OneLineErrors(logging.Filter):
    """Log records keep their message but lose their traceback: errors stay one line.

    Scrapy logs some expected failures (a DNS error fetching robots.txt) with the
    whole traceback; -vv keeps them for debugging.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info:
            exc = record.exc_info[1]
            record.msg = f"{record.getMessage()} ({type(exc).__name__}: {exc})" if exc else record.getMessage()
            record.args = None
            record.exc_info = None
            record.exc_text = None
        return True


def _close_if_open(crawler: Crawler, reason: str) -> None:
    run = ArchiveRun.existing(crawler)
    if run is not None and not run.closed:
        run.close(reason)


def run_crawl(settings: Settings) -> CrawlResult:
    """Run the archive spider to the end (the Twisted reactor runs once per process)."""
    process = CrawlerProcess(settings)
    crawler = process.create_crawler(ArchiveSpider)
    try:
        # A Ctrl-C while the archive run is being set up waits until the run exists and can be
        # closed properly: it is delivered when the mask is restored, inside this try.
        previous_mask = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
        try:
            process.crawl(crawler)
            if settings.get("LOG_LEVEL") != "DEBUG":
                # After crawl(): applying the crawler's settings replaces Scrapy's root handler.
                for handler in logging.getLogger().handlers:
                    handler.addFilter(OneLineErrors())
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, previous_mask)
        process.start()
    except KeyboardInterrupt:
        # Ctrl-C before Scrapy's own handlers were installed: still close what was opened.
        _close_if_open(crawler, "shutdown")
        raise
    # A stop before the engine opened the spider never sends spider_closed: close here.
    _close_if_open(crawler, "shutdown")
    layout = CrawlLayout(Path(settings["ARCHIVE_ROOT"]), settings["ARCHIVE_CRAWL_ID"])
    if not layout.manifest_path.is_file():
        raise RuntimeError(f"the crawl ended without writing {layout.manifest_path}")
    manifest = json.loads(layout.manifest_path.read_text(encoding="utf-8"))
    return CrawlResult(layout, manifest)
