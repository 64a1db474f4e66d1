"""The many-host test site (tests/multihost.py) routes by Host header and counts what the workers' tests check.

Issue 17's tests judge politeness by the server's own count of requests in flight per host,
and completeness by its list of pages: both are checked here, with real concurrent clients
and a real crawl.
"""

from __future__ import annotations

import http.client
import json
import math
import re
import subprocess
import time
from collections import Counter, deque
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import pytest

from scraper.storage.warc import iter_records
from tests.conftest import crawl_dirs, read_jsonl, run_scraper, wait_for
from tests.multihost import ADDRESS, MultiHostSite

HREF = re.compile(r"href='([^']*)'")


def get(site: MultiHostSite, host: str, path: str) -> tuple[int, bytes]:
    """GET ``path`` from the site's one address, naming ``host`` (with a port, as browsers do) in the Host header."""
    connection = http.client.HTTPConnection(ADDRESS, site.port, timeout=150)
    try:
        connection.request("GET", path, headers={"Host": f"{host}:{site.port}"})
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def title(body: bytes) -> str:
    found = re.search(rb"<title>(.*?)</title>", body)
    assert found, body[:200]
    return found.group(1).decode()


@pytest.mark.multihost(hosts=3, pages_per_host=5, crawl_delay={"h01.test": 2})
def test_the_host_header_chooses_the_site_and_the_pages_are_the_same_every_run(
        multihost_site: MultiHostSite) -> None:
    site = multihost_site
    assert site.hosts == ["h00.test", "h01.test", "h02.test"]
    (s0, first), (s1, second) = get(site, "h00.test", "/p/1.html"), get(site, "h01.test", "/p/1.html")
    assert (s0, s1) == (200, 200)
    assert title(first).endswith("(h00.test story 1)") and title(second).endswith("(h01.test story 1)")
    assert get(site, "H00.TEST", "/p/1.html") == (200, first)  # a host name is case-insensitive
    assert get(site, "h09.test", "/p/1.html")[0] == 404  # no such host
    assert get(site, "h00.test", "/p/5.html")[0] == 404  # no such page
    assert get(site, "h00.test", "/elsewhere")[0] == 404
    assert get(site, "h00.test", "/robots.txt") == (200, b"User-agent: *\nAllow: /\n")
    assert get(site, "h01.test", "/robots.txt") == (200, b"User-agent: *\nAllow: /\nCrawl-delay: 2\n")
    # Another server (another port, another run) serves the same pages, but for the port in cross-host links.
    with MultiHostSite(hosts=3, pages_per_host=5) as other:
        again = get(other, "h00.test", "/p/1.html")[1]
    assert again.replace(f":{other.port}/".encode(), f":{site.port}/".encode()) == first

    assert site.requests() == Counter({("h00.test", "/p/1.html"): 2, ("h01.test", "/p/1.html"): 1,
                                       ("h09.test", "/p/1.html"): 1, ("h00.test", "/p/5.html"): 1,
                                       ("h00.test", "/elsewhere"): 1, ("h00.test", "/robots.txt"): 1,
                                       ("h01.test", "/robots.txt"): 1})
    assert site.robots_requests() == Counter({"h00.test": 1, "h01.test": 1})
    assert ("h00.test", "/robots.txt") not in site.page_requests()
    assert site.total_requests() == 8
    site.reset()
    assert site.requests() == Counter() and site.max_in_flight() == {} and site.total_requests() == 0


@pytest.mark.multihost(hosts=4, pages_per_host=6, home_links=2)
def test_following_the_links_from_the_home_pages_reaches_every_page_at_depth_needed(
        multihost_site: MultiHostSite) -> None:
    site = multihost_site
    depth = dict.fromkeys(site.seed_urls(), 0)
    links_between: set[tuple[str | None, str | None]] = set()
    queue = deque(depth)
    while queue:
        url = queue.popleft()
        parts = urlsplit(url)
        status, body = get(site, parts.hostname or "", parts.path)
        assert status == 200, url
        for href in HREF.findall(body.decode()):
            link = urljoin(url, href)
            links_between.add((parts.hostname, urlsplit(link).hostname))
            if link not in depth:
                depth[link] = depth[url] + 1
                queue.append(link)
    assert set(depth) == set(site.all_page_urls())
    assert len(site.all_page_urls()) == 4 * 7
    assert max(depth.values()) == site.depth_needed() > 1  # the home pages link to two articles only
    assert {to for source, to in links_between if source == "h00.test"} == {"h00.test", "h01.test", "h02.test"}


@pytest.mark.multihost(hosts=2, pages_per_host=5)
def test_requests_in_flight_are_counted_per_host(multihost_site: MultiHostSite) -> None:
    site = multihost_site
    site.hold()  # every answer waits: the four requests to h00.test are in flight together, whatever the load
    with ThreadPoolExecutor(5) as pool:
        answers = [pool.submit(get, site, "h00.test", f"/p/{n}.html") for n in range(4)]
        answers.append(pool.submit(get, site, "h01.test", "/p/0.html"))
        wait_for(lambda: site.in_flight() == {"h00.test": 4, "h01.test": 1}, "five requests in flight")
        site.release()
        assert [answer.result()[0] for answer in answers] == [200] * 5
    assert site.in_flight() == {}
    assert site.max_in_flight() == {"h00.test": 4, "h01.test": 1}
    # One after another, 300 times: never two in flight (a count ended after the answer went out saw two).
    for n in range(300):
        assert get(site, "h01.test", f"/p/{n % 3}.html")[0] == 200
    assert site.max_in_flight() == {"h00.test": 4, "h01.test": 1}
    assert site.page_requests() == Counter({**{("h00.test", f"/p/{n}.html"): 1 for n in range(4)},
                                            ("h01.test", "/p/0.html"): 101, ("h01.test", "/p/1.html"): 100,
                                            ("h01.test", "/p/2.html"): 100})


@pytest.mark.multihost(hosts=2, pages_per_host=3, delay=0.2)
def test_the_delay_holds_every_answer_and_min_gap_measures_between_starts(multihost_site: MultiHostSite) -> None:
    site = multihost_site
    assert get(site, "h00.test", "/p/0.html")[0] == 200
    time.sleep(0.3)
    assert get(site, "h00.test", "/robots.txt")[0] == 200
    assert get(site, "h00.test", "/p/1.html")[0] == 200
    intervals = site.intervals("h00.test")
    assert [i.path for i in intervals] == ["/p/0.html", "/robots.txt", "/p/1.html"]
    assert all(i.end - i.start >= 0.2 for i in intervals)
    # Between the two pages: the first answer's delay, the client's pause, robots.txt's delay.
    assert site.min_gap("h00.test", include_robots=False) >= 0.7
    assert site.min_gap("h00.test") < site.min_gap("h00.test", include_robots=False)
    assert site.min_gap("h01.test") == math.inf  # never asked


def crawl_two_at_a_time(site: MultiHostSite, out: Path, *settings: str) -> subprocess.CompletedProcess[str]:
    """Crawl every host from its home page, at most two requests per host (CONCURRENT_REQUESTS_PER_DOMAIN)."""
    # AutoThrottle would space the requests to one at a time: the limit is what is tested.
    return run_scraper("crawl", *site.seed_urls(), "--depth", "3", *site.resolve_args(), "--archive", str(out),
                       "-s", "CONCURRENT_REQUESTS_PER_DOMAIN=2", "-s", "AUTOTHROTTLE_ENABLED=false", *settings)


@pytest.mark.multihost(hosts=2, pages_per_host=10, delay=0.2)
def test_a_crawl_through_resolve_archives_every_page_and_keeps_the_per_host_limit(
        multihost_site: MultiHostSite, tmp_path: Path) -> None:
    site = multihost_site
    # No download delay: the limit alone keeps each host at two (Scrapy 2.19 alone let CONCURRENT_REQUESTS through,
    # scraper.compat.scrapy.GatedDownloader._process_queue says why).
    proc = crawl_two_at_a_time(site, tmp_path)
    assert proc.returncode == 0, proc.stderr
    (folder,) = crawl_dirs(tmp_path)
    records = read_jsonl(folder / "pages.jsonl")
    assert Counter(r["url"] for r in records) == Counter(site.all_page_urls())  # each page once
    for record in records:
        if "/p/" in record["url"]:
            assert record["title"].endswith(f"story {record['url'].split('/p/')[1].removesuffix('.html')})")
            assert len(record["text"]) > 300 and record["published"].startswith("2024-"), record["url"]
    responses = {r.target_uri for warc in folder.glob("*.warc.gz") for r in iter_records(warc)
                 if r.rec_type == "response"}
    assert set(site.all_page_urls()) <= responses
    assert set(site.page_requests().values()) == {1}  # nothing fetched twice
    assert site.robots_requests() == Counter(dict.fromkeys(site.hosts, 1))
    assert site.max_in_flight() == dict.fromkeys(site.hosts, 2)  # the limit was reached (the count sees it) and kept
    assert json.loads((folder / "manifest.json").read_text())["counts"]["pages"] == len(site.all_page_urls())
