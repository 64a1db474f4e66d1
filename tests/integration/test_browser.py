"""Issue 20: pages that need a browser, rendered in a real headless Chromium (Debian's), crawled from
tests/js_site.py; what they fetched read back from the WARC by warcio; replayed by pywb."""

from __future__ import annotations

import asyncio
import gzip
import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from warcio.archiveiterator import ArchiveIterator

from scraper.crawl.browser import Browser, BrowserRequest, BrowserResponse, find_chromium
from tests.conftest import FAST, REPO, crawl_dirs, read_jsonl, run_scraper, wait_for
from tests.integration.test_crawl import WARC_CHECK, WARC_CHECK_SETUP, WARC_CHECK_VENV
from tests.integration.test_interchange import pywb_python
from tests.js_site import PARAGRAPHS, JsSite, JsSiteServer

ENV = {**os.environ, "PYTHONPATH": str(REPO)}


def chromium() -> str:
    """Debian's Chromium; the test fails without it under CI (.ci/run installs it) and is skipped elsewhere."""
    found = find_chromium()
    if found is None:
        if os.environ.get("CI"):
            pytest.fail("no Chromium: .ci/run must apt-get install chromium")
        pytest.skip("no Chromium here: apt-get install chromium")
    return found


@dataclass(frozen=True)
class Record:
    rec_type: str
    target_uri: str
    record_id: str
    warc_headers: dict[str, str]
    status: str | None
    http_headers: dict[str, str]
    raw: bytes  # the payload as stored (still content-encoded)


def warc_records(crawl: Path) -> list[Record]:
    records = []
    for path in sorted(crawl.glob("*.warc.gz")):
        with path.open("rb") as fh:
            for rec in ArchiveIterator(fh):
                http = rec.http_headers
                records.append(Record(
                    rec.rec_type, rec.rec_headers.get_header("WARC-Target-URI") or "",
                    rec.rec_headers.get_header("WARC-Record-ID"), dict(rec.rec_headers.headers),
                    http.get_statuscode() if http is not None and rec.rec_type != "request" else None,
                    {k.lower(): v for k, v in http.headers} if http is not None else {},
                    rec.raw_stream.read()))
    return records


@dataclass(frozen=True)
class Crawl:
    site: JsSite
    root: Path
    directory: Path
    proc: subprocess.CompletedProcess[str]
    records: list[dict[str, Any]]
    manifest: dict[str, Any]

    def record(self, path: str) -> dict[str, Any]:
        matches = [r for r in self.records if r["url"] == self.site.url(path)]
        assert len(matches) == 1, [r["url"] for r in self.records]
        return matches[0]


def crawl(site: JsSite, root: Path, *args: str) -> Crawl:
    proc = run_scraper("crawl", *args, "--archive", str(root), *FAST, "-s", "EXTRACT_WORKERS=0")
    (directory,) = crawl_dirs(root)
    return Crawl(site, root, directory, proc, read_jsonl(directory / "pages.jsonl"),
                 json.loads((directory / "manifest.json").read_text()))


@pytest.fixture(scope="module")
def js_site() -> Iterator[JsSite]:
    with JsSiteServer(static_pages=100, articles=3) as running:
        yield running


@pytest.fixture(scope="module")
def rendered(js_site: JsSite, tmp_path_factory: pytest.TempPathFactory) -> Crawl:
    """One crawl of every script-built page with --browser auto and screenshots."""
    chromium()
    return crawl(js_site, tmp_path_factory.mktemp("rendered"), js_site.url("/article/1"), js_site.url("/lazy"),
                 js_site.url("/probe"), js_site.url("/polling"), "--depth", "1", "--browser", "auto",
                 "--screenshot", "--browser-timeout", "6s")


def test_static_extraction_finds_nothing_in_the_shell(js_site: JsSite, tmp_path: Path) -> None:
    static = crawl(js_site, tmp_path, js_site.url("/article/1"), "--browser", "never")
    assert static.proc.returncode == 0, static.proc.stderr
    record = static.record("/article/1")
    assert not record["rendered"] and record["rendered_dom"] is None
    assert PARAGRAPHS[0][:40] not in (record["text"] or "")
    assert static.manifest["counts"]["pages_rendered"] == 0


def test_auto_renders_the_shell_and_extracts_the_article(rendered: Crawl) -> None:
    assert rendered.proc.returncode == 0, rendered.proc.stderr
    record = rendered.record("/article/1")
    assert record["rendered"] is True
    assert record["title"] == "Bridge vote, part 1"
    for paragraph in PARAGRAPHS:
        assert f"{paragraph} (Part 1.)" in record["text"]
    # The rendered DOM's link to the next story was followed (it is nowhere in the HTML received).
    assert rendered.record("/article/2")["rendered"] is True
    assert rendered.manifest["counts"]["pages_rendered"] >= 4


def test_every_exchange_of_the_page_is_in_the_warc_as_received(rendered: Crawl) -> None:
    records = warc_records(rendered.directory)
    api = [r for r in records if r.rec_type == "response" and r.target_uri == rendered.site.url("/api/article/1")]
    assert len(api) == 1
    # As the server sent it: still gzipped, Content-Encoding kept.
    assert api[0].http_headers["content-encoding"] == "gzip"
    assert json.loads(gzip.decompress(api[0].raw))["paragraphs"][0].startswith(PARAGRAPHS[0])
    requests = {r.target_uri for r in records if r.rec_type == "request"}
    for path in ("/app.js", "/app.css", "/api/article/1", "/api/article/2"):
        assert rendered.site.url(path) in requests
    # Its request record says what kind of request it was and for which rendered page.
    notes = sorted(r.warc_headers["Scraper-Browser-Request"] for r in records
                   if r.rec_type == "request" and r.target_uri == rendered.site.url("/api/article/1"))
    assert notes == [f"fetch; page={rendered.site.url(page)}"  # asked for by both
                     for page in ("/article/1", "/probe")]
    # Each request is paired with its response (or revisit) by WARC-Concurrent-To.
    by_id = {r.record_id: r for r in records}
    for request in (r for r in records if r.rec_type == "request"):
        assert by_id[request.warc_headers["WARC-Concurrent-To"]].target_uri == request.target_uri


def test_a_part_already_archived_with_the_same_payload_is_a_revisit(rendered: Crawl) -> None:
    records = warc_records(rendered.directory)
    script = [r for r in records if r.target_uri == rendered.site.url("/app.js") and r.rec_type != "request"]
    assert [r.rec_type for r in script][:2] == ["response", "revisit"]
    assert all(r.rec_type == "revisit" for r in script[1:])
    original = script[0]
    for revisit in script[1:]:
        assert revisit.warc_headers["WARC-Refers-To"] == original.record_id
        assert revisit.warc_headers["WARC-Payload-Digest"] == original.warc_headers["WARC-Payload-Digest"]


def test_the_dom_and_screenshot_are_records_tied_to_the_response(rendered: Crawl) -> None:
    records = warc_records(rendered.directory)
    by_id = {r.record_id: r for r in records}
    record = rendered.record("/article/1")
    dom = by_id[record["rendered_dom"]["record_id"]]
    assert dom.rec_type == "resource" and dom.target_uri == "urn:dom:" + rendered.site.url("/article/1")
    assert dom.warc_headers["WARC-Concurrent-To"] == record["warc"]["record_id"]
    assert by_id[record["warc"]["record_id"]].rec_type == "response"
    assert dom.warc_headers["Content-Type"].startswith("text/html")
    assert PARAGRAPHS[1][:50].encode() in dom.raw and b'<div id="root"><article>' in dom.raw
    shots = [r for r in records if r.target_uri == "urn:screenshot:" + rendered.site.url("/article/1")]
    assert len(shots) == 1 and shots[0].raw.startswith(b"\x89PNG\r\n\x1a\n")
    assert shots[0].warc_headers["WARC-Concurrent-To"] == record["warc"]["record_id"]


def test_lazy_images_and_infinite_scroll_are_loaded(rendered: Crawl) -> None:
    record = rendered.record("/lazy")
    assert record["rendered"] is True and "More photos, batch 3." in record["text"]
    fetched = {r.target_uri for r in warc_records(rendered.directory) if r.rec_type == "response"}
    for path in ("/images/lazy-1.png", "/images/lazy-2.png", "/api/more?page=1", "/api/more?page=3"):
        assert rendered.site.url(path) in fetched


def test_a_page_cannot_make_the_browser_reach_a_private_address(rendered: Crawl) -> None:
    assert rendered.site.private_hits == []  # fetch, image, iframe, WebSocket, preconnect: none arrived
    # fetch, image and iframe by the address guard; /forbidden/data by robots.txt
    assert rendered.manifest["counts"]["browser_refused"] >= 4
    assert any("address guard" in w and str(rendered.site.private_port) in w for w in rendered.manifest["warnings"])
    assert PARAGRAPHS[0] in rendered.record("/probe")["text"]  # its own request went through


def test_robots_txt_holds_inside_the_browser(rendered: Crawl) -> None:
    assert rendered.site.asked("/forbidden/data") == 0  # robots.txt disallows it: never requested
    assert "/probe" in rendered.site.requests


def test_a_page_that_never_settles_is_cut_at_the_timeout(rendered: Crawl) -> None:
    record = rendered.record("/polling")
    assert record["rendered"] is True and PARAGRAPHS[2] in record["text"]
    assert any(w.startswith(rendered.site.url("/polling")) and "6 s" in w for w in rendered.manifest["warnings"])
    assert rendered.site.asked("/api/poll") >= 3  # it kept polling until cut


def test_rendered_records_validate(rendered: Crawl, record_validator: Any) -> None:
    from tests.conftest import assert_valid_records
    assert_valid_records(record_validator, rendered.records)


def test_reextract_reads_a_rendered_page_from_its_dom(rendered: Crawl, tmp_path: Path) -> None:
    """Nothing fetched, no browser: the DOM in the WARC is what the article came from, and is again."""
    import shutil
    root = tmp_path / "copy"
    shutil.copytree(rendered.root, root)
    proc = run_scraper("reextract", "--archive", str(root), "--jobs", "1")
    assert proc.returncode == 0, proc.stderr
    (again,) = sorted((root / "crawls" / rendered.directory.name).glob("pages.reextract-*.jsonl"))
    records = {r["url"]: r for r in read_jsonl(again)}
    before = rendered.record("/article/1")
    after = records[rendered.site.url("/article/1")]
    assert after["rendered"] is True and after["rendered_dom"] == before["rendered_dom"]
    assert after["text"] == before["text"] and f"{PARAGRAPHS[0]} (Part 1.)" in after["text"]


def test_an_unchanged_shell_is_rendered_again_and_its_new_article_versioned(tmp_path: Path) -> None:
    """Re-archiving: the shell's bytes are the same (a revisit), what its script fetches is not."""
    chromium()
    with JsSiteServer(static_pages=1, articles=1) as site:
        first = crawl(site, tmp_path, site.url("/article/1"))
        site.edition = 2
        proc = run_scraper("crawl", site.url("/article/1"), "--archive", str(tmp_path), *FAST)
        assert proc.returncode == 0, proc.stderr
    second_dir = next(d for d in crawl_dirs(tmp_path) if d != first.directory)
    (again,) = read_jsonl(second_dir / "pages.jsonl")
    assert first.record("/article/1")["version"] == 1
    assert again["record_kind"] == "revisit" and again["rendered"] is True
    assert "(Edition 2.)" in again["text"] and again["version"] == 2 and "text" in again["changed_fields"]


def test_a_spinning_page_is_archived_and_the_crawl_goes_on(js_site: JsSite, tmp_path: Path) -> None:
    chromium()
    started = time.monotonic()
    spun = crawl(js_site, tmp_path, js_site.url("/spinning"), js_site.url("/static/1"), js_site.url("/heavy"),
                 "--browser", "always", "--browser-timeout", "3s", "-s", "ARCHIVE_MAX_BODY_BYTES=100000",
                 "-s", "DOWNLOAD_TIMEOUT=2", "-s", "RETRY_ENABLED=0")
    assert spun.proc.returncode == 0, spun.proc.stderr
    assert time.monotonic() - started < 120  # not hung (a loose bound: the page is cut at 3 s)
    record = spun.record("/spinning")
    assert record["status"] == 200 and record["rendered_dom"] is None and not record["rendered"]
    assert any(w.startswith(js_site.url("/spinning")) for w in spun.manifest["warnings"])
    assert spun.record("/static/1")["rendered_dom"] is not None  # the browser went on with the next page
    # The size and time limits hold for what a page asks for:
    records = warc_records(spun.directory)
    (big,) = [r for r in records if r.rec_type == "response" and r.target_uri == js_site.url("/api/big")]
    # cut where the static path cuts: at the limit, rounded up to the chunk that crossed it
    assert big.warc_headers["WARC-Truncated"] == "length" and 100_000 <= len(big.raw) < 300_000
    # /api/slow answers after 6 s, past DOWNLOAD_TIMEOUT (2 s): given up, nothing archived for it
    assert js_site.asked("/api/slow") == 1
    assert not [r for r in records if r.target_uri == js_site.url("/api/slow")]
    dom = {r.record_id: r for r in records}[spun.record("/heavy")["rendered_dom"]["record_id"]]
    assert b"both asked for" in dom.raw  # the page went on once both had failed or been cut


def test_auto_renders_none_of_a_hundred_static_pages(js_site: JsSite, tmp_path: Path) -> None:
    static = crawl(js_site, tmp_path, js_site.url("/static/1"), "--depth", "100", "--browser", "auto")
    assert static.proc.returncode == 0, static.proc.stderr
    assert len(static.records) == 100 and all(r["text"] and not r["rendered"] for r in static.records)
    assert static.manifest["counts"]["pages_rendered"] == 0
    assert not [r for r in warc_records(static.directory) if r.rec_type == "resource"]


def test_without_chromium_auto_says_so_once_and_always_stops(js_site: JsSite, tmp_path: Path) -> None:
    missing = str(tmp_path / "no-such-chromium")
    auto = crawl(js_site, tmp_path / "auto", js_site.url("/article/1"), js_site.url("/lazy"), "--browser", "auto",
                 "-s", f"BROWSER_EXECUTABLE={missing}")
    assert auto.proc.returncode == 0, auto.proc.stderr
    said = [w for w in auto.manifest["warnings"] if "Chromium" in w]
    assert len(said) == 1 and "not rendered" in said[0]
    assert len(auto.records) == 2 and not any(r["rendered"] for r in auto.records)
    always = run_scraper("crawl", js_site.url("/article/1"), "--browser", "always", "--archive", str(tmp_path / "x"),
                         "-s", f"BROWSER_EXECUTABLE={missing}")
    assert always.returncode == 2
    assert always.stderr.strip().count("\n") == 0 and "Chromium" in always.stderr
    assert not crawl_dirs(tmp_path / "x")
    bad = run_scraper("crawl", js_site.url("/article/1"), "--browser-timeout", "soon", "--archive", str(tmp_path / "x"))
    assert bad.returncode == 2 and bad.stderr.strip().count("\n") == 0 and "--browser-timeout: 'soon'" in bad.stderr
    rearchive = run_scraper("rearchive", js_site.url("/article/1"), "--browser", "always", "--archive",
                            str(tmp_path / "x"), "-s", f"BROWSER_EXECUTABLE={missing}")
    assert rearchive.returncode == 2 and "Chromium" in rearchive.stderr and not crawl_dirs(tmp_path / "x")


def test_a_crashed_browser_is_started_again(js_site: JsSite) -> None:
    """Browser on its own: a real Chromium, pages fetched over real HTTP; its process killed between pages."""

    async def fetch(asked: BrowserRequest) -> BrowserResponse:
        def get() -> BrowserResponse:
            with urllib.request.urlopen(asked.url, timeout=30) as answer:
                body = answer.read()
                if answer.headers.get("Content-Encoding") == "gzip":
                    body = gzip.decompress(body)
                return BrowserResponse(answer.status, list(answer.headers.items()), body)
        return await asyncio.to_thread(get)

    def document(path: str) -> BrowserResponse:
        with urllib.request.urlopen(js_site.url(path), timeout=30) as answer:
            return BrowserResponse(200, [("Content-Type", "text/html; charset=utf-8")], answer.read())

    async def scenario() -> tuple[list[str | None], int, int]:
        browser = Browser(chromium(), timeout=20)
        try:
            first = await browser.render(js_site.url("/article/1"), document("/article/1"), fetch)
            pid = browser.process_id()
            assert pid is not None
            os.kill(pid, signal.SIGKILL)
            await asyncio.sleep(0.5)
            second = await browser.render(js_site.url("/article/2"), document("/article/2"), fetch)
            return [first.dom, second.dom], browser.starts, browser.crashes
        finally:
            await browser.close()

    doms, starts, crashes = asyncio.run(scenario())
    assert all(dom is not None and "(Part" in dom for dom in doms)
    assert "(Part 2.)" in str(doms[1])
    assert starts == 2 and crashes == 1


def test_pages_at_once_are_bounded_in_fresh_contexts_and_the_browser_is_recycled(js_site: JsSite) -> None:
    """Browser on its own: six pages asked for at once, two at a time; each sees no storage another left;
    a new Chromium after every three pages."""
    page = ("<!doctype html><html><body><p id=seen></p><script>"
            "document.getElementById('seen').textContent = 'stored: ' + (localStorage.getItem('k') || 'nothing');"
            "localStorage.setItem('k', 'left by an earlier page'); fetch('/app.css');</script></body></html>")
    document = BrowserResponse(200, [("Content-Type", "text/html; charset=utf-8")], page.encode())
    most_open = 0

    async def scenario() -> tuple[list[str | None], int]:
        browser = Browser(chromium(), timeout=20, contexts=2, recycle_after=3)

        async def fetch(asked: BrowserRequest) -> BrowserResponse:
            nonlocal most_open
            most_open = max(most_open, browser.open_pages)
            await asyncio.sleep(0.3)  # long enough for the pages to overlap, were more allowed
            return BrowserResponse(200, [("Content-Type", "text/css")], b"p { color: black }")

        try:
            pages = await asyncio.gather(*(browser.render(js_site.url(f"/page-{n}"), document, fetch)
                                           for n in range(6)))
            return [p.dom for p in pages], browser.starts
        finally:
            await browser.close()

    doms, starts = asyncio.run(scenario())
    assert all(dom is not None and "stored: nothing" in dom for dom in doms)
    assert most_open == 2
    assert starts == 2


def test_warc_check_passes_on_a_rendered_crawl(rendered: Crawl) -> None:
    if not (WARC_CHECK / "check.sh").is_file() or not (WARC_CHECK_VENV / "bin" / "python").is_file():
        if os.environ.get("CI"):
            pytest.fail("warc-check is not set up: .ci/run must run ../shared/tools/warc-check/setup.sh")
        pytest.skip(f"warc-check is not set up here: {WARC_CHECK_SETUP}")
    proc = subprocess.run(["bash", str(WARC_CHECK / "check.sh"), str(rendered.directory)], capture_output=True,
                          text=True, timeout=600, env={**os.environ, "WARC_CHECK_REPLAY_MAX": "0"})
    summary = proc.stdout.strip().splitlines()[-1] if proc.stdout.strip() else proc.stderr
    assert proc.returncode == 0, "\n".join(line for line in proc.stdout.splitlines() if "FAIL" in line)
    assert re.fullmatch(r"warc-check: \d+ passed, 0 failed", summary), summary


def test_pywb_replays_the_rendered_page_in_a_browser(rendered: Crawl) -> None:
    """pywb serves the archive (no live web); a headless Chromium pointed at the replay shows the article,
    whose text only the archived API response holds."""
    from playwright.sync_api import sync_playwright

    server = subprocess.Popen([sys.executable, "-m", "scraper", "replay", "--port", "0", "--archive",
                               str(rendered.root), "--pywb-python", pywb_python()],
                              cwd=REPO, env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        printed: dict[str, str] = {}
        wait_for(lambda: "collection" in printed or _read_line(server, printed), "the replay's address", server)
        collection = printed["collection"]
        replay_origin = collection.split("/archive/", 1)[0] + "/"  # pywb's own scripts (wombat) are served there too
        asked_before = len(rendered.site.requests)
        elsewhere: list[str] = []
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=chromium(), args=["--no-sandbox",
                                                 "--disable-gpu", "--disable-background-networking"])
            page = browser.new_page()
            # Only the replay may answer: anything else the page asks for is refused, and noted.
            page.route("**/*", lambda route: route.continue_() if route.request.url.startswith(replay_origin)
                       else (elsewhere.append(route.request.url), route.abort())[1])
            # mp_: the page itself, without pywb's frame around it (wombat still rewrites what its scripts ask for)
            stamp = re.sub(r"\D", "", rendered.record("/article/1")["fetched_at"])[:14]
            page.goto(f"{collection}{stamp}mp_/{rendered.site.url('/article/1')}", wait_until="load", timeout=60_000)
            page.wait_for_function("document.body.innerText.includes('(Part 1.)')", timeout=60_000)
            text = page.inner_text("body")
            browser.close()
        assert f"{PARAGRAPHS[0]} (Part 1.)" in text
        assert not [u for u in elsewhere if rendered.site.base in u]
        assert len(rendered.site.requests) == asked_before  # pywb never went to the live site
    finally:
        server.send_signal(signal.SIGINT)
        server.communicate(timeout=60)


def _read_line(server: subprocess.Popen[str], printed: dict[str, str]) -> bool:
    line = server.stdout.readline() if server.stdout else ""
    label, _, url = line.partition(": ")
    if url:
        printed[label] = url.strip()
    return "collection" in printed
