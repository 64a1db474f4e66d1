"""Scrapy settings for scraper, plus its own ARCHIVE_* and EXTRACT_* settings.

Loaded at "project" priority; command-line flags override them at "cmdline".
"""

from scraper import __version__

# Shared with the archive's readers, which must not import the crawl: defined in scraper.defaults.
from scraper.defaults import (  # noqa: F401 (settings Scrapy reads from this module)
    ARCHIVE_MAX_BODY_BYTES,
    ARCHIVE_WARC_PREFIX,
    EXTRACT_ENABLED,
    EXTRACT_FAVOR_PRECISION,
    EXTRACT_FAVOR_RECALL,
    EXTRACT_MIN_TEXT_SIZE,
)
from scraper.storage import warc  # lower case: not a setting

BOT_NAME = "scraper"
SPIDER_MODULES = ["scraper.crawl.spider"]  # `scrapy crawl archive` finds ArchiveSpider there
NEWSPIDER_MODULE = "scraper.crawl"  # where `scrapy genspider` writes (a package; then name it above)

# -- an honest, polite crawler -----------------------------------------------------
ARCHIVE_CONTACT = "https://github.com/scraper-archiver/scraper"
USER_AGENT = f"scraper/{__version__} (web archiver; +{ARCHIVE_CONTACT})"
ROBOTSTXT_OBEY = True
ROBOTSTXT_PARSER = "scrapy.robotstxt.ProtegoRobotParser"
CONCURRENT_REQUESTS = 16
CONCURRENT_REQUESTS_PER_DOMAIN = 1  # per host: one request at a time
DOWNLOAD_DELAY = 0.0
AUTOTHROTTLE_ENABLED = True
AUTOTHROTTLE_START_DELAY = 1.0
AUTOTHROTTLE_MAX_DELAY = 30.0
AUTOTHROTTLE_TARGET_CONCURRENCY = 1.0
RETRY_ENABLED = True
RETRY_TIMES = 2
DOWNLOAD_TIMEOUT = 30
# Scrapy discards a response over DOWNLOAD_MAXSIZE (and bounds decompression by it);
# ARCHIVE_MAX_BODY_BYTES, lower, keeps the first bytes instead (WARC-Truncated: length).
DOWNLOAD_MAXSIZE = 1024 * 1024 * 1024
DOWNLOAD_WARNSIZE = 64 * 1024 * 1024
REDIRECT_MAX_TIMES = 20
# A body cut short by the connection is kept (WARC-Truncated: length) and reported, not dropped.
DOWNLOAD_FAIL_ON_DATALOSS = False
COOKIES_ENABLED = True
TELNETCONSOLE_ENABLED = False
# Scrapy 2.19's RemoteControl runs Python code sent to a local HTTP port, and leaves job files in
# ~/.local/state/scrapy: neither belongs in an archiver's crawl (and aiohttp costs each crawl 0.15 s).
REMOTE_CONTROL_ENABLED = False
LOG_LEVEL = "INFO"
# Fewer items per response in flight: each one is a task; 10 is enough to keep the pool busy.
CONCURRENT_ITEMS = 10
# Scrapy parses the source of a generator callback for `return value` on every response: its cache is keyed by
# the bound method, which is a new object for each request, so it never hits (2.8 ms a page, the most costly
# step of a page not extracted).  A check for spider authors; ours is tested.
WARN_ON_GENERATOR_RETURN_VALUE = False

# -- components ----------------------------------------------------------------------
# Stops sending at once when the crawl stops (Ctrl-C, --max-time): see scraper.crawl.politeness.
DOWNLOADER = "scraper.crawl.politeness.StoppableDownloader"
DOWNLOADER_MIDDLEWARES = {
    # First of all: a discovered link to a private address is refused before robots.txt.
    "scraper.crawl.guard.AddressGuardMiddleware": 50,
    # Every request checked against robots.txt, those that waited for it too (replaces Scrapy's, same place).
    "scrapy.downloadermiddlewares.robotstxt.RobotsTxtMiddleware": None,
    "scraper.crawl.middlewares.RobotsTxtForEveryRequest": 100,
    # Retries that wait as long as Retry-After says (replaces Scrapy's at the same place).
    "scrapy.downloadermiddlewares.retry.RetryMiddleware": None,
    "scraper.crawl.politeness.RetryAfterMiddleware": 550,
    # Above HttpCompressionMiddleware (590): sees the body as received, still compressed,
    # and every response before redirects and retries act on it.
    "scraper.crawl.middlewares.WarcCaptureMiddleware": 950,
    # Decompression bounded by ARCHIVE_MAX_BODY_BYTES, not only DOWNLOAD_MAXSIZE (gzip bombs).
    "scrapy.downloadermiddlewares.httpcompression.HttpCompressionMiddleware": None,
    "scraper.crawl.middlewares.BoundedHttpCompressionMiddleware": 590,
}
# Scrapy's request fingerprints, kept as 64-bit hashes (8-16 bytes a request, not ~100): scraper.crawl.dedup.
DUPEFILTER_CLASS = "scraper.crawl.dedup.HashDupeFilter"
SPIDER_MIDDLEWARES = {
    # URLLENGTH_LIMIT, saying so when a seed is dropped for it.
    "scrapy.spidermiddlewares.urllength.UrlLengthMiddleware": None,
    "scraper.crawl.middlewares.UrlLengthLimit": 800,
}
ITEM_PIPELINES = {
    "scraper.crawl.pipelines.ExtractPipeline": 300,
    "scraper.crawl.pipelines.RecordPipeline": 800,
}
# Scrapy's own (its EXTENSIONS_BASE), less the two switched off above: Scrapy imports every class
# named in EXTENSIONS, those set to None too, and these two would cost each crawl 0.15 s (aiohttp,
# twisted.conch).  Spelled out so that this module imports nothing; tests/unit/compat/test_scrapy.py
# fails when Scrapy's list changes.
EXTENSIONS_BASE = {
    "scrapy.extensions.corestats.CoreStats": 0,
    "scrapy.extensions.logcount.LogCount": 0,
    "scrapy.extensions.memusage.MemoryUsage": 0,
    "scrapy.extensions.memdebug.MemoryDebugger": 0,
    "scrapy.extensions.closespider.CloseSpider": 0,
    "scrapy.extensions.feedexport.FeedExporter": 0,
    "scrapy.extensions.logstats.LogStats": 0,
    "scrapy.extensions.spiderstate.SpiderState": 0,
    "scrapy.extensions.throttle.AutoThrottle": 0,
}
# Scrapy's LIFO disk queue, pushing without a search of the spider's members per request (compat.scrapy).
SCHEDULER_DISK_QUEUE = "scraper.compat.scrapy.RequestDiskQueue"
EXTENSIONS = {
    # It pickles spider.state into JOBDIR, which the crawl uses only for its disk queues and removes.
    "scrapy.extensions.spiderstate.SpiderState": None,
    "scraper.crawl.extensions.ArchiveRunExtension": 0,
    "scraper.crawl.politeness.BodySizeLimit": 10,
    "scraper.crawl.politeness.CrawlLimits": 10,
    # CLOSESPIDER_TIMEOUT (--max-time) stops at once, saying so (replaces Scrapy's, same place).
    "scrapy.extensions.closespider.CloseSpider": None,
    "scraper.crawl.politeness.CloseSpiderAtOnce": 0,
    # After AutoThrottle (0): lifts the delay it computes back to robots.txt's Crawl-delay.
    "scraper.crawl.politeness.CrawlDelay": 50,
    "scraper.crawl.extensions.CrawlProgress": 100,
}

# -- archive ---------------------------------------------------------------------
ARCHIVE_ROOT = "archive"
ARCHIVE_CRAWL_ID = None  # generated: YYYYmmddTHHMMSSZ-<6 hex>
ARCHIVE_RESUME = False  # continue the interrupted crawl ARCHIVE_CRAWL_ID in its own folder
ARCHIVE_JOB: dict[str, object] = {}  # the command line's settings, saved as crawl.json for --resume
# ARCHIVE_WARC_PREFIX: scraper.defaults
ARCHIVE_WARC_MAX_BYTES = warc.DEFAULT_MAX_BYTES  # 1 GiB, the default of `scraper crawl --warc-max-size` too
ARCHIVE_JSONL = None  # an extra copy of the page records: a path, or "-" for stdout
ARCHIVE_SEEDS: list[str] = []
ARCHIVE_DEPTH = 0
ARCHIVE_MAX_PAGES = 0  # 0: no limit
ARCHIVE_PROGRESS = False  # the live display; the CLI turns it on
ARCHIVE_SITEMAPS: list[str] = []
ARCHIVE_FEEDS: list[str] = []
ARCHIVE_DISCOVER: list[str] = []
ARCHIVE_SITEMAPS_FROM_ROBOTS = False
ARCHIVE_SINCE = None  # YYYY-MM-DD: sitemap/feed entries dated on or after it
ARCHIVE_SCOPE = None  # page | host | domain | prefix; None: host when ARCHIVE_DEPTH > 0
ARCHIVE_ALLOW: list[str] = []  # regexes a followed URL must match (one of)
ARCHIVE_DENY: list[str] = []  # regexes no followed URL may match
ARCHIVE_REQUISITES = False  # also capture images, stylesheets, scripts, fonts of each page
ARCHIVE_RESPECT_NOARCHIVE = False
ARCHIVE_ALLOW_PRIVATE = False  # let discovered links reach loopback/private addresses
ARCHIVE_MAX_BYTES = 0  # stop the crawl after downloading this much (0: no limit)
# ARCHIVE_MAX_BODY_BYTES (keep at most this much of one response): scraper.defaults
ARCHIVE_MAX_SOURCE_BYTES = 50 * 1024 * 1024  # of one sitemap or feed (sitemaps.org's limit)
ARCHIVE_MAX_CRAWL_DELAY = 60.0  # a larger robots.txt Crawl-delay is capped (and reported)
ARCHIVE_MAX_RETRY_AFTER = 120.0  # a longer Retry-After is not waited for
ARCHIVE_DB = None  # catalog database URL; None: sqlite:///<ARCHIVE_ROOT>/catalog.sqlite
ARCHIVE_RESOLVE: list[str] = []  # HOST:ADDRESS pairs answered without DNS (--resolve)
# A worker's part of a crawl shared through PostgreSQL (scraper worker; crawl/shared_run.py):
ARCHIVE_WORKER = None  # the worker's name (in its WARC and page files' names); None: a one-machine crawl
ARCHIVE_LEASE_SECONDS = 60.0  # a lease (of a request, a host) runs out this long after its last renewal
ARCHIVE_LEASE_POLL_SECONDS = 0.5  # how often a worker with nothing to do asks for work again
ARCHIVE_WARC_ROTATE_SECONDS = 60.0  # a worker closes its WARC file this often: its pages are done only then
ARCHIVE_HOST_IDLE_SECONDS = 2.0  # a worker keeps a host it has nothing in flight for this long, then lets it go
ARCHIVE_WATCH_BATCH = 100  # due watches a worker takes into one re-archive crawl
TWISTED_DNS_RESOLVER = "scraper.crawl.resolver.StaticHostsResolver"

# -- extraction ------------------------------------------------------------------
# EXTRACT_ENABLED: scraper.defaults
EXTRACT_WORKERS = None  # None: one per CPU; 0: in the crawl process (debugging)
EXTRACT_RECYCLE_AFTER = 5000  # pages per pool of workers: fresh workers keep memory flat; 0: never
# A crawl that schedules no more requests than this extracts its pages in the crawl process: a pool
# costs a process start and a second of warm-up, more than a one-article crawl's extraction.  One that
# schedules more starts the pool with its first page.  0: the pool starts with the crawl.
EXTRACT_IN_PROCESS_PAGES = 16
# Scrapy stops fetching while the responses being processed pass this many bytes (its default: 5 MB).
# They wait for the extraction pool, each holding its body, decoded text and response object (about
# 100 KB a page): 5 MB of bodies kept ~30 MB in the crawl process.  1 MB (some 70 pages) keeps the
# workers fed as well (measured: the same wall time).
SCRAPER_SLOT_MAX_ACTIVE_SIZE = 1_000_000
# EXTRACT_MIN_TEXT_SIZE, EXTRACT_FAVOR_PRECISION, EXTRACT_FAVOR_RECALL: scraper.defaults

# -- rendering in Chromium (crawl/rendering.py, crawl/browser.py) ------------------------
BROWSER_MODE = "auto"  # never | auto (a thin page whose HTML scripts build) | always
BROWSER_EXECUTABLE = None  # a path or name; None: chromium, chromium-browser or google-chrome on PATH
BROWSER_TIMEOUT = 30.0  # seconds for one page to load and settle; then it is cut where it got
BROWSER_CONTEXTS = 2  # pages rendered at once, each in a context of its own
BROWSER_RECYCLE_AFTER = 100  # pages per Chromium process: a fresh one gives back what the last one grew
BROWSER_MAX_SCROLLS = 5  # scrolls to the bottom, for lazy images and infinite scroll, while the page grows
BROWSER_SCREENSHOT = False  # a PNG of the viewport as a resource record (--screenshot)
BROWSER_HOST_CONCURRENCY = 4  # a rendered page's requests in flight to one host (a browser's own is 6)
