"""The crawl's counters, each named once: by its key in the manifest's ``counts``.

Its key in Scrapy's stats follows from that name by one rule, ``"scraper/" + name`` (a counter
with one figure per kind, such as errors by kind, keeps each under ``"scraper/<name>/<kind>"``),
unless Scrapy counts it itself.  The crawl summary's words for it stand beside the name.  The
manifest's keys are read by programs: a name here never changes.  Imports no Scrapy.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

PREFIX = "scraper/"


@dataclass(frozen=True)
class Counter:
    name: str  # the manifest's key, under "counts"
    label: str = ""  # the crawl summary's row for it
    unit: str = ""  # the summary's words after the figure
    per_kind: bool = False  # one figure per kind: an object in the manifest
    scrapy_stat: str | None = None  # a figure Scrapy counts itself, under its own key

    @property
    def stat(self) -> str:
        """The stats key; of a per-kind counter, the prefix of its figures' keys (see :meth:`stat_of`)."""
        return self.scrapy_stat or PREFIX + self.name

    def stat_of(self, kind: str) -> str:
        """The stats key of one kind's figure of a per-kind counter."""
        return f"{self.stat}/{kind}"

    def read(self, stats: Mapping[str, Any]) -> Any:
        """The counter's figure in Scrapy's stats (0 when never counted); per kind, an object sorted by kind."""
        if not self.per_kind:
            return stats.get(self.stat, 0)
        prefix = self.stat + "/"
        return {key.removeprefix(prefix): value for key, value in sorted(stats.items()) if key.startswith(prefix)}


REQUESTS = Counter("requests", scrapy_stat="downloader/request_count")
RESPONSES = Counter("responses", scrapy_stat="downloader/response_count")
EXCHANGES_ARCHIVED = Counter("exchanges_archived", "HTTP exchanges")
WARC_RECORDS = Counter("warc_records", unit="WARC records")
WARC_BYTES = Counter("warc_bytes", "WARC", "bytes")
PAGES = Counter("pages", "pages archived")
PAGES_EXTRACTED = Counter("pages_extracted", unit="extracted")
PAGES_FAILED = Counter("pages_failed")
PAGES_TRUNCATED = Counter("pages_truncated", "truncated", "page(s) over the size limit")
REQUISITES = Counter("requisites", "requisites", "(images, styles, scripts, fonts)")
PAGES_RENDERED = Counter("pages_rendered", "rendered", "page(s) rendered in Chromium (--browser)")
BROWSER_EXCHANGES = Counter("browser_exchanges", "browser requests", "exchange(s) rendered pages made, archived")
BROWSER_REFUSED = Counter("browser_refused", "browser refused",
                          "request(s) of rendered pages refused (guard, robots.txt)")
REVISITS = Counter("revisits", "unchanged", "revisit record(s)", per_kind=True)  # by profile
NEW_VERSIONS = Counter("new_versions", "changed", "page(s) with a new version")
SEEDS_FROM_SOURCES = Counter("seeds_from_sources", "from sources", "page(s) seeded from sitemaps/feeds")
ROBOTS_DENIED = Counter("robots_denied", "robots.txt", "page(s) not fetched (disallowed)")
NOARCHIVE_SKIPPED = Counter("noarchive_skipped", "noarchive", "page(s) not stored (--respect-noarchive)")
GUARD_REFUSED = Counter("guard_refused", "address guard", "link(s) to private addresses refused")
SKIPPED_MAX_PAGES = Counter("skipped_max_pages", "--max-pages", "link(s) not followed")
FILTERED = Counter("filtered", "filtered", per_kind=True)  # by rule
HOST_DELAY = Counter("host_delay", "per-host delay", per_kind=True)  # by host: the longest delay, seconds
CRAWL_DELAY = Counter("crawl_delay", per_kind=True)  # by host: robots.txt's Crawl-delay, as obeyed
RETRY_AFTER_WAITS = Counter("retry_after_waits", "Retry-After", "wait(s)")
RETRY_AFTER_SECONDS = Counter("retry_after_seconds")
RETRIES = Counter("retries", unit="retries", scrapy_stat="retry/count")
ERRORS = Counter("errors", "errors", per_kind=True)  # by kind

# The manifest's counts, in its order.
COUNTERS = (REQUESTS, RESPONSES, EXCHANGES_ARCHIVED, WARC_RECORDS, WARC_BYTES, PAGES, PAGES_EXTRACTED, PAGES_FAILED,
            PAGES_TRUNCATED, REQUISITES, PAGES_RENDERED, BROWSER_EXCHANGES, BROWSER_REFUSED, REVISITS, NEW_VERSIONS,
            SEEDS_FROM_SOURCES, ROBOTS_DENIED,
            NOARCHIVE_SKIPPED, GUARD_REFUSED, SKIPPED_MAX_PAGES, FILTERED, HOST_DELAY, CRAWL_DELAY,
            RETRY_AFTER_WAITS, RETRY_AFTER_SECONDS, RETRIES, ERRORS)
# The summary's rows of one figure and its words ("label  <n> <unit>", shown when not 0), in its order.
LISTED = (NEW_VERSIONS, REQUISITES, PAGES_RENDERED, BROWSER_EXCHANGES, BROWSER_REFUSED, SEEDS_FROM_SOURCES,
          ROBOTS_DENIED, NOARCHIVE_SKIPPED, GUARD_REFUSED,
          SKIPPED_MAX_PAGES)


def counts_from_stats(stats: Mapping[str, Any]) -> dict[str, Any]:
    """The manifest's ``counts``: every counter's figure in Scrapy's stats, by its name."""
    return {counter.name: counter.read(stats) for counter in COUNTERS}
