"""crawl.counters: each counter named once, its stats key and its summary words beside that name."""

from __future__ import annotations

from scraper.crawl.counters import COUNTERS, LISTED, PREFIX, counts_from_stats

# The manifest's `counts`, as programs read them: these names never change.
MANIFEST_COUNTS = [
    "requests", "responses", "exchanges_archived", "warc_records", "warc_bytes", "pages", "pages_extracted",
    "pages_failed", "pages_truncated", "requisites", "pages_rendered", "browser_exchanges", "browser_refused",
    "revisits", "new_versions", "seeds_from_sources",
    "robots_denied", "noarchive_skipped", "guard_refused", "skipped_max_pages", "filtered", "host_delay",
    "crawl_delay", "retry_after_waits", "retry_after_seconds", "retries", "errors",
]


def test_the_manifest_names_are_the_counters_names_in_order() -> None:
    assert [counter.name for counter in COUNTERS] == MANIFEST_COUNTS
    assert list(counts_from_stats({})) == MANIFEST_COUNTS


def test_a_stats_key_is_the_prefix_and_the_name_unless_scrapy_counts_it() -> None:
    ours = [counter for counter in COUNTERS if counter.scrapy_stat is None]
    assert {counter.stat for counter in ours} == {PREFIX + counter.name for counter in ours}
    assert {counter.name for counter in COUNTERS if counter.scrapy_stat} == {"requests", "responses", "retries"}
    stats = [counter.stat for counter in COUNTERS]
    assert len(set(stats)) == len(stats)
    # no counter's key is inside a per-kind counter's family, where it would be read twice
    families = [counter.stat + "/" for counter in COUNTERS if counter.per_kind]
    assert not [key for key in stats for family in families if key.startswith(family)]


def test_counts_read_scrapys_stats_by_the_one_rule() -> None:
    by_name = {counter.name: counter for counter in COUNTERS}
    stats = {
        by_name["pages"].stat: 3,
        by_name["requests"].stat: 7,
        by_name["errors"].stat_of("http_404"): 2,
        by_name["errors"].stat_of("dns"): 1,
        by_name["revisits"].stat_of("server-not-modified"): 1,
        "scraper/requisites/failed": 4,  # a stat no counter names: in the log's stats dump only
    }
    counts = counts_from_stats(stats)
    assert counts["pages"] == 3 and counts["requests"] == 7 and counts["pages_extracted"] == 0
    assert counts["errors"] == {"dns": 1, "http_404": 2}  # sorted by kind
    assert counts["revisits"] == {"server-not-modified": 1}
    assert counts["requisites"] == 0 and counts["filtered"] == {}


def test_every_summary_row_has_its_words() -> None:
    assert all(counter.label and counter.unit and not counter.per_kind for counter in LISTED)
