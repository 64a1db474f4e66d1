"""Scrapy settings for scraper, plus its own ARCHIVE_* and EXTRACT_* settings.

Loaded at "project" priority; command-line flags override them at "cmdline".
"""

from scraper import __version__

BOT_NAME = "scraper"
SPIDER_MODULES = ["scraper.spiders"]
NEWSPIDER_MODULE = "scraper.spiders"

# -- an honest, polite crawler -----------------------------------------------------
ARCHIVE_CONTACT = "https://github.com/scraper-archiver/scraper"
USER_AGENT = f"scraper/{__version__} (web archiver; +{ARCHIVE_CONTACT})"
ROBOTSTXT_OBEY = True
ROBOTSTXT_PARSER = "scrapy.robotstxt.ProtegoRobotParser"
CONCURRENT_REQUESTS = 16
CONCURRENT_REQUESTS_PER_DOMAIN = 2
DOWNLOAD_DELAY = 0.0
AUTOTHROTTLE_ENABLED = True
AUTOTHROTTLE_START_DELAY = 1.0
AUTOTHROTTLE_MAX_DELAY = 30.0
AUTOTHROTTLE_TARGET_CONCURRENCY = 1.0
RETRY_ENABLED = True
RETRY_TIMES = 2
DOWNLOAD_TIMEOUT = 30
# Bodies above this are cut off by Scrapy; the WARC then says WARC-Truncated.
DOWNLOAD_MAXSIZE = 100 * 1024 * 1024
DOWNLOAD_WARNSIZE = 32 * 1024 * 1024
REDIRECT_MAX_TIMES = 20
COOKIES_ENABLED = True
TELNETCONSOLE_ENABLED = False
LOG_LEVEL = "INFO"
# Fewer items per response in flight: each one is a task; 10 is enough to keep the pool busy.
CONCURRENT_ITEMS = 10

# -- components ----------------------------------------------------------------------
DOWNLOADER_MIDDLEWARES = {
    # Above HttpCompressionMiddleware (590): sees the body as received, still compressed,
    # and every response before redirects and retries act on it.
    "scraper.middlewares.WarcCaptureMiddleware": 950,
}
ITEM_PIPELINES = {
    "scraper.pipelines.ExtractPipeline": 300,
    "scraper.pipelines.RecordPipeline": 800,
}
EXTENSIONS = {
    "scraper.extensions.ArchiveRunExtension": 0,
    "scraper.extensions.CrawlProgress": 100,
}

# -- archive ---------------------------------------------------------------------
ARCHIVE_ROOT = "archive"
ARCHIVE_CRAWL_ID = None  # generated: YYYYmmddTHHMMSSZ-<6 hex>
ARCHIVE_WARC_PREFIX = "scraper"
ARCHIVE_WARC_MAX_BYTES = 1_000_000_000
ARCHIVE_JSONL = None  # an extra copy of the page records: a path, or "-" for stdout
ARCHIVE_SEEDS: list[str] = []
ARCHIVE_DEPTH = 0
ARCHIVE_MAX_PAGES = 0  # 0: no limit
ARCHIVE_PROGRESS = False  # the live display; the CLI turns it on

# -- extraction ------------------------------------------------------------------
EXTRACT_ENABLED = True
EXTRACT_WORKERS = None  # None: one per CPU; 0: in the crawl process (debugging)
EXTRACT_MIN_TEXT_SIZE = 250
EXTRACT_FAVOR_PRECISION = False
EXTRACT_FAVOR_RECALL = False
