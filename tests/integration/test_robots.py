"""robots.txt is obeyed for every request, including those that wait while it is fetched (issue 13, item 1).

Scrapy 2.19's RobotsTxtMiddleware lets the first request to a host fetch its robots.txt and
the others await one shared Deferred, whose result only the first of them receives: the rest
are allowed, whatever robots.txt says.  Several seeds on one host, disallowed ones among
them, are exactly that case.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from urllib.parse import urlsplit

from scraper.storage.warc import iter_records
from tests.conftest import FAST, crawl_dirs, read_jsonl, run_scraper
from tests.integration.test_stopping import STOPPING, Crawling
from tests.site import HoldingServer

DISALLOW = "User-agent: *\nDisallow: /private/\n"
# Disallowed seeds between and after allowed ones: whichever request happens to fetch robots.txt,
# at least one disallowed seed is among those that wait for it.
SEEDS = ("/a.html", "/b.html", "/private/x.html", "/c.html", "/private/y.html")
ALLOWED = ["/a.html", "/b.html", "/c.html"]


def warc_paths(folder: Path) -> set[str]:
    return {urlsplit(r.target_uri).path for warc in folder.glob("*.warc.gz") for r in iter_records(warc)
            if r.target_uri and r.rec_type in ("request", "response")}


def test_every_seed_that_waited_for_robots_txt_is_checked(tmp_path: Path) -> None:
    with HoldingServer(robots=DISALLOW) as site:
        proc = run_scraper("crawl", *(site.url(p) for p in SEEDS), "--archive", str(tmp_path), *FAST)
    assert proc.returncode == 0, proc.stderr
    assert not [p for p in site.requests if p.startswith("/private/")], site.requests  # never asked for
    (folder,) = crawl_dirs(tmp_path)
    assert sorted(urlsplit(r["url"]).path for r in read_jsonl(folder / "pages.jsonl")) == ALLOWED
    assert warc_paths(folder) == {"/robots.txt", *ALLOWED}
    counts = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))["counts"]
    assert counts["robots_denied"] == 2
    assert re.search(r"robots\.txt\s+2 page\(s\) not fetched \(disallowed\)", proc.stderr), proc.stderr


def test_a_resumed_crawl_checks_every_request_against_robots_txt_again(tmp_path: Path) -> None:
    with HoldingServer(robots=DISALLOW) as site:
        site.hold_pages_after(1)  # one seed answered, the next on the wire when Ctrl-C comes
        # A delay, however short, makes the host's requests go one by one (without one, Scrapy lets
        # all those queued for a host go at once).
        crawl = Crawling("crawl", *(site.url(p) for p in SEEDS), "--archive", str(tmp_path), *FAST,
                         "-s", "DOWNLOAD_DELAY=0.2")
        try:
            assert site.wait_until_held(), crawl.stderr
            crawl.interrupt()
            crawl.wait_for_line(STOPPING)
            site.release()
            assert crawl.finish() == 130, crawl.stderr
        finally:
            crawl.kill()
        (folder,) = crawl_dirs(tmp_path)
        before = len(read_jsonl(folder / "pages.jsonl"))
        assert before < len(ALLOWED)  # something is left for the resume to do
        proc = run_scraper("crawl", "--resume", folder.name, "--archive", str(tmp_path))
    assert proc.returncode == 0, proc.stderr
    assert not [p for p in site.requests if p.startswith("/private/")], site.requests
    assert sorted(urlsplit(r["url"]).path for r in read_jsonl(folder / "pages.jsonl")) == ALLOWED
    assert warc_paths(folder) == {"/robots.txt", *ALLOWED}
    # The disallowed seeds were scheduled and never recorded: the resume asks for them again, and
    # robots.txt, fetched again by the resumed run, refuses them again.
    counts = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))["counts"]
    assert counts["robots_denied"] == 2
    assert re.search(r"robots\.txt\s+2 page\(s\) not fetched \(disallowed\)", proc.stderr), proc.stderr
