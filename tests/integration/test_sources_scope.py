"""Issue 3: seeds from sitemaps and feeds, scope rules, requisites, politeness, safety."""

from __future__ import annotations

import itertools
import json
from pathlib import Path
from typing import Any

import pytest

from scraper.storage.warc import iter_records
from tests.conftest import FAST, crawl_dirs, read_jsonl, run_scraper
from tests.site import Site, SiteServer, golden_pages

NAMES = list(golden_pages())


def crawl(*args: str, out: Path) -> tuple[Any, list[dict[str, Any]], list[Any], dict[str, Any]]:
    proc = run_scraper("crawl", *args, "--archive", str(out), *FAST)
    (directory,) = crawl_dirs(out)
    records = read_jsonl(directory / "pages.jsonl")
    warc = [r for p in sorted(directory.glob("*.warc.gz")) for r in iter_records(p)]
    manifest = json.loads((directory / "manifest.json").read_text())
    return proc, records, warc, manifest


def urls(records: list[dict[str, Any]]) -> set[str]:
    return {r["url"] for r in records}


def archived(warc: list[Any]) -> set[str]:
    return {r.target_uri for r in warc if r.rec_type == "response"}


# -- seeds ------------------------------------------------------------------------------------------
def test_sitemap_index_with_gzip_child_and_since(site: Site, tmp_path: Path) -> None:
    proc, records, warc, manifest = crawl("--sitemap", site.url("/sitemap_index.xml"), out=tmp_path / "all")
    assert proc.returncode == 0, proc.stderr
    assert urls(records) == {site.url(f"/articles/{NAMES[i]}.html") for i in range(4)}
    assert {r["referrer"] for r in records} == {site.url("/sitemaps/pages.xml"), site.url("/sitemaps/news.xml.gz")}
    # the sitemaps are part of what the site said: archived too
    assert {site.url("/sitemap_index.xml"), site.url("/sitemaps/news.xml.gz")} <= archived(warc)

    proc, records, _, manifest = crawl("--sitemap", site.url("/sitemap_index.xml"), "--since", "2020-01-20",
                                       out=tmp_path / "since")
    # NAMES[3] was published 2020-01-19T23:30-05:00: January 20th only in UTC, so it is left out.
    assert urls(records) == {site.url(f"/articles/{NAMES[2]}.html")}
    assert manifest["counts"]["filtered"]["since"] >= 2
    assert "since" in proc.stderr


def test_feeds_rss_and_atom(site: Site, tmp_path: Path) -> None:
    proc, records, warc, _ = crawl("--feed", site.url("/feed.rss"), "--feed", site.url("/feed.atom"), out=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert urls(records) == {site.url("/cookies"), site.url("/search?q=rss"), site.url("/chunked"),
                             site.url(f"/articles/{NAMES[4]}.html")}
    assert {site.url("/feed.rss"), site.url("/feed.atom")} <= archived(warc)


def test_discover_finds_feeds_and_sitemaps(site: Site, tmp_path: Path) -> None:
    proc, records, _, _ = crawl("--discover", site.url("/news/"), out=tmp_path)
    assert proc.returncode == 0, proc.stderr
    expected = {site.url("/cookies"), site.url("/search?q=rss"), site.url("/chunked"),
                site.url(f"/articles/{NAMES[4]}.html"), site.url(f"/articles/{NAMES[0]}.html"),
                site.url(f"/articles/{NAMES[1]}.html")}
    assert urls(records) == expected


def test_sitemap_from_robots(site: Site, tmp_path: Path) -> None:
    proc, records, _, _ = crawl(site.url("/cookies"), "--sitemap-from-robots", out=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert urls(records) == {site.url("/cookies")} | {site.url(f"/articles/{NAMES[i]}.html") for i in range(4)}


def test_seeds_are_normalised_and_deduplicated(site: Site, tmp_path: Path) -> None:
    seeds = [site.url("/cookies?utm_source=newsletter&fbclid=x"), site.url("/cookies"), site.url("/cookies#top")]
    proc, records, warc, _ = crawl(*seeds, out=tmp_path)
    assert proc.returncode == 0, proc.stderr
    (record,) = records
    assert record["url"] == seeds[0]  # fetched as given ...
    assert record["normalized_url"] == site.url("/cookies")  # ... deduplicated as the same page
    assert [r.target_uri for r in warc if r.rec_type == "response" and "cookies" in r.target_uri] == [seeds[0]]


# -- scope ------------------------------------------------------------------------------------------------
def scope_crawl(site: Site, out: Path, *args: str) -> tuple[set[str], dict[str, Any]]:
    port = site.port
    resolve = [f"--resolve={host}:127.0.0.1" for host in ("www.example.com", "news.example.com",
                                                         "other.example.net")]
    _, records, _, manifest = crawl(f"http://www.example.com:{port}/scoped/", "--depth", "1", *resolve, *args,
                                    out=out)
    paths = {r["url"].replace(f":{port}", "") for r in records if r["depth"] == 1}
    return paths, manifest["counts"]["filtered"]


@pytest.mark.long
def test_scope_rules(site: Site, tmp_path: Path) -> None:
    same_host = {"http://www.example.com/scoped/a.html", "http://www.example.com/scoped/sub/b.html",
                 "http://www.example.com/other/c.html", "http://www.example.com/scoped/skip-me.html"}
    paths, filtered = scope_crawl(site, tmp_path / "host")
    assert paths == same_host and filtered == {"scope:host": 2}
    paths, filtered = scope_crawl(site, tmp_path / "domain", "--scope", "domain")
    assert paths == same_host | {"http://news.example.com/scoped/news.html"}
    assert filtered == {"scope:domain": 1}
    paths, filtered = scope_crawl(site, tmp_path / "prefix", "--scope", "prefix")
    assert paths == same_host - {"http://www.example.com/other/c.html"}
    assert filtered == {"scope:prefix": 3}
    paths, filtered = scope_crawl(site, tmp_path / "page", "--scope", "page")
    assert paths == set() and filtered == {"scope:page": 6}
    paths, filtered = scope_crawl(site, tmp_path / "rules", "--deny", "skip-me", "--allow", r"/scoped/")
    assert paths == {"http://www.example.com/scoped/a.html", "http://www.example.com/scoped/sub/b.html"}
    assert filtered == {"scope:host": 2, "deny": 1, "allow": 1}


def test_max_bytes_and_max_time_stop_the_crawl(site: Site, tmp_path: Path) -> None:
    pages = [site.url(f"/articles/{n}.html") for n in NAMES] + [site.url(f"/slow/{i}") for i in range(30)]
    proc, records, _, manifest = crawl(*pages, "--max-bytes", "60K", out=tmp_path / "bytes")
    assert manifest["finish_reason"] == "max_bytes" and len(records) < len(pages)
    assert "--max-bytes reached" in proc.stderr
    slow = [site.url(f"/slow/t{i}") for i in range(40)]
    proc, records, _, manifest = crawl(*slow, "--max-time", "2s", out=tmp_path / "time")
    assert manifest["finish_reason"] == "closespider_timeout" and 0 < len(records) < len(slow)
    assert proc.returncode == 0


# -- requisites --------------------------------------------------------------------------------------------
def test_requisites_are_archived_not_recorded(site: Site, tmp_path: Path) -> None:
    proc, records, warc, manifest = crawl(site.url("/styled.html"), "--requisites", out=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert urls(records) == {site.url("/styled.html")}
    expected = {"/static/site.css", "/static/print.css", "/static/font.woff2", "/static/bg.png",
                "/static/logo.png", "/static/logo@2x.png", "/static/inline.png", "/static/app.js"}
    assert {site.url(p) for p in expected} <= archived(warc)
    assert site.url("/cookies") not in archived(warc)  # a link is not a requisite
    assert manifest["counts"]["requisites"] == len(expected)


# -- politeness -------------------------------------------------------------------------------------------
def gaps(site: Site, paths: list[str]) -> list[float]:
    times = [t for t, p in site.times if p in paths]
    return [b - a for a, b in itertools.pairwise(times)]


def test_crawl_delay_is_observed(tmp_path: Path) -> None:
    with SiteServer(robots="User-agent: *\nCrawl-delay: 1\n") as own:
        pages = ["/cookies", "/chunked", "/search?q=1"]
        proc, records, _, manifest = crawl(*[own.url(p) for p in pages], out=tmp_path)
        assert proc.returncode == 0 and len(records) == 3
        intervals = gaps(own, ["/cookies", "/chunked", "/search"])
    assert len(intervals) == 2 and min(intervals) >= 0.9, intervals
    assert manifest["counts"]["crawl_delay"] == {"127.0.0.1": 1.0}
    assert "Crawl-delay 1s" in proc.stderr


def test_retry_after_is_honoured(tmp_path: Path) -> None:
    with SiteServer() as own:
        proc, records, warc, manifest = crawl(own.url("/limited"), out=tmp_path)
        intervals = gaps(own, ["/limited"])
    assert proc.returncode == 0, proc.stderr
    assert [r["status"] for r in records] == [200]
    statuses = [r.http_status_line for r in warc if r.rec_type == "response" and r.target_uri.endswith("/limited")]
    assert statuses == ["HTTP/1.1 429 Too Many Requests", "HTTP/1.1 200 OK"]
    assert intervals and intervals[0] >= 0.9, intervals
    assert manifest["counts"]["retry_after_waits"] == 1 and "Retry-After" in proc.stderr


def test_access_signals_recorded_and_noarchive_respected(site: Site, tmp_path: Path) -> None:
    pages = [site.url("/noarchive-header"), site.url("/noarchive-meta"), site.url("/cookies")]
    proc, records, _, _ = crawl(*pages, out=tmp_path / "recorded")
    assert proc.returncode == 0
    access = {r["url"]: r["access"] for r in records}
    assert access[pages[0]] == {"x_robots_tag": ["noarchive", "noai"], "meta_robots": []}  # otherbot's is not ours
    assert access[pages[1]] == {"x_robots_tag": [], "meta_robots": ["noarchive"]}
    assert access[pages[2]] == {"x_robots_tag": [], "meta_robots": []}
    proc, records, warc, manifest = crawl(*pages, "--respect-noarchive", out=tmp_path / "respected")
    assert urls(records) == {pages[2]}
    assert not {pages[0], pages[1]} & archived(warc)
    assert manifest["counts"]["noarchive_skipped"] == 2


# -- safety -------------------------------------------------------------------------------------------------
def test_address_guard_refuses_private_links_unless_allowed(tmp_path: Path) -> None:
    with SiteServer() as seed_site, SiteServer(host="127.0.0.2") as private:
        target = private.url("/static/logo.png")
        page = seed_site.url(f"/link-to?url={target}")
        proc, _, _, manifest = crawl(page, "--depth", "1", "--scope", "domain", "--requisites",
                                              out=tmp_path / "guarded")
        assert private.requests == []  # not even robots.txt
        assert manifest["counts"]["guard_refused"] >= 1 and "address guard" in proc.stderr
        _, _, warc_allowed, _ = crawl(page, "--requisites", "--allow-private", out=tmp_path / "allowed")
        assert target in archived(warc_allowed)
        assert "/static/logo.png" in private.paths_requested()


def test_hostile_sources_warn_and_the_crawl_goes_on(site: Site, tmp_path: Path) -> None:
    proc, records, _warc, manifest = crawl(
        "--sitemap", site.url("/sitemaps/bomb.xml"), "--sitemap", site.url("/sitemaps/huge.xml"),
        "--feed", site.url("/feeds/html-feed"), site.url("/loop/a"), site.url("/cookies"),
        "-s", "ARCHIVE_MAX_SOURCE_BYTES=300000", out=tmp_path)
    assert "Traceback" not in proc.stderr
    warnings = "\n".join(manifest["warnings"])
    assert "bomb.xml" in warnings and "XML bomb" in warnings
    assert "huge.xml: larger than 300,000 bytes" in warnings
    assert "html-feed is not an RSS or Atom feed" in warnings
    assert "loop/a: redirect loop" in warnings
    # the rest of the crawl went on: the good seed, and the entries read before the huge sitemap's cut
    assert {site.url("/cookies"), site.url("/search?q=huge")} <= urls(records)
    assert proc.returncode == 1  # the redirect loop is a failed page


def test_garbage_robots_txt_is_reported_and_read_as_allow_all(tmp_path: Path) -> None:
    with SiteServer(robots="<html><body>\x00\xff not robots</body></html>") as own:
        proc, records, _, manifest = crawl(own.url("/cookies"), out=tmp_path)
    assert proc.returncode == 0 and len(records) == 1
    assert any("robots.txt is binary data" in w for w in manifest["warnings"])


def test_body_over_the_limit_is_archived_truncated(site: Site, tmp_path: Path) -> None:
    proc, records, warc, _ = crawl(site.url("/sitemaps/huge.xml"), "-s", "ARCHIVE_MAX_BODY_BYTES=200000",
                                   out=tmp_path)
    (record,) = records
    assert record["truncated"] is True
    (response,) = [r for r in warc if r.rec_type == "response" and r.target_uri.endswith("/huge.xml")]
    assert dict(response.warc_headers)["WARC-Truncated"] == "length"
    assert 200_000 <= len(response.content) < 2 * 1024**3
    assert "truncated" in proc.stderr
