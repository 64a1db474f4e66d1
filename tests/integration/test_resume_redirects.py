"""Issue 13: --resume and pages reached through redirects, finished crawls left alone, versions
that follow the page (its final URL) and not the URL asked for, and pages whose extraction
did not run, extracted by --resume.

A small news site on 127.0.0.1: articles under /news/NAME (with an ETag, and an edition that
the tests change), short links /story/N that answer 301 to an article, and gates that hold a
request until the test lets it through, so that a crawl can be stopped at a known point.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from scraper.scope import url_key
from scraper.storage.warc import iter_records
from tests.conftest import REPO, crawl_dirs, read_jsonl, run_scraper

QUICK = ["-q", "-s", "AUTOTHROTTLE_ENABLED=False", "-s", "DOWNLOAD_DELAY=0", "-s", "CONCURRENT_REQUESTS_PER_DOMAIN=8"]
WAIT_S = 60  # how long a step may take before the test gives up: a bound, never a pause


@dataclass
class NewsSite:
    base: str = ""
    editions: dict[str, int] = field(default_factory=dict)  # article name -> edition (its text and ETag)
    stories: dict[str, str] = field(default_factory=dict)  # /story/N -> the article path it redirects to
    home_links: list[str] = field(default_factory=list)
    gates: dict[str, threading.Event] = field(default_factory=dict)  # path -> answered once set
    requests: list[tuple[str, str | None]] = field(default_factory=list)  # (path, If-None-Match)

    def url(self, path: str) -> str:
        return self.base + path

    def requested(self, path: str) -> int:
        return sum(1 for p, _ in self.requests if p == path)

    def reset(self) -> None:
        for gate in self.gates.values():
            gate.set()  # let any request still held from a stopped crawl finish
        self.editions.clear()
        self.stories.clear()
        self.home_links.clear()
        self.gates.clear()
        self.requests.clear()


def article(name: str, edition: int) -> bytes:
    paragraphs = "".join(
        f"<p>Edition {edition} of the report on {name}: paragraph {i} says what the council decided about the "
        f"harbour, the ferry timetable and the winter market, with figures and names.</p>" for i in range(6))
    return (f"<!doctype html><html lang='en'><head><meta charset='utf-8'><title>Story {name}</title></head>"
            f"<body><nav><a href='/'>Home</a></nav><article><h1>Story {name}</h1>{paragraphs}"
            f"<p><a href='/news/{name}'>Permalink</a></p></article></body></html>").encode()


def make_handler(site: NewsSite) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: object) -> None:
            pass

        def send(self, status: int, body: bytes, headers: list[tuple[str, str]] | None = None) -> None:
            self.send_response(status)
            for name, value in headers or []:
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:
            path = self.path
            site.requests.append((path, self.headers.get("If-None-Match")))
            gate = site.gates.get(path)
            if gate is not None:
                gate.wait(WAIT_S)
            html = [("Content-Type", "text/html; charset=utf-8")]
            if path == "/robots.txt":
                self.send(200, b"User-agent: *\nAllow: /\n", [("Content-Type", "text/plain")])
            elif path == "/":
                links = "".join(f"<li><a href='{link}'>{link}</a></li>" for link in site.home_links)
                self.send(200, f"<!doctype html><html><head><title>Home</title></head><body><h1>News</h1>"
                               f"<ul>{links}</ul></body></html>".encode(), html)
            elif path in site.stories:
                self.send(301, b"", [("Location", site.stories[path])])
            elif path.startswith("/news/") and path.removeprefix("/news/") in site.editions:
                name = path.removeprefix("/news/")
                etag = f'"{name}-{site.editions[name]}"'
                if self.headers.get("If-None-Match") == etag:
                    self.send(304, b"", [("ETag", etag)])
                else:
                    self.send(200, article(name, site.editions[name]), [*html, ("ETag", etag)])
            else:
                self.send(404, b"not here\n", [("Content-Type", "text/plain")])

    return Handler


class QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: object, client_address: object) -> None:
        pass  # a killed crawler leaves held requests writing to closed connections


@pytest.fixture(scope="module")
def server() -> Iterator[NewsSite]:
    site = NewsSite()
    httpd = QuietServer(("127.0.0.1", 0), make_handler(site))
    site.base = f"http://127.0.0.1:{httpd.server_address[1]}"
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield site
    site.reset()
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture
def site(server: NewsSite) -> Iterator[NewsSite]:
    server.reset()
    yield server
    server.reset()


def start(*args: str) -> subprocess.Popen[bytes]:
    """``python -m scraper ARGS`` in a process group of its own (its extraction workers included)."""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.Popen([sys.executable, "-m", "scraper", *args], cwd=REPO, env=env, start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def stop_group(process: subprocess.Popen[bytes]) -> str:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=WAIT_S)
    assert process.stderr is not None
    stderr = process.stderr.read().decode()
    process.stderr.close()
    return stderr


def wait_until(condition: Any, process: subprocess.Popen[bytes], what: str) -> None:
    deadline = time.monotonic() + WAIT_S
    while not condition():
        assert process.poll() is None, f"the crawl ended before {what}: exit {process.returncode}"
        assert time.monotonic() < deadline, f"gave up waiting for {what}"
        time.sleep(0.02)


def records_of(root: Path) -> list[dict[str, Any]]:
    """The page records so far (a torn last line skipped)."""
    crawls = crawl_dirs(root)
    pages = crawls[0] / "pages.jsonl" if crawls else None
    if pages is None or not pages.exists():
        return []
    return [json.loads(line) for line in pages.read_text(encoding="utf-8").splitlines(keepends=True)
            if line.endswith("\n")]


def history(site: NewsSite, root: Path, path: str) -> list[dict[str, Any]]:
    proc = run_scraper("history", site.url(path), "--json", "--archive", str(root))
    assert proc.returncode == 0, proc.stderr
    return [json.loads(line) for line in proc.stdout.splitlines()]


def only_record(root: Path, crawl: Path) -> dict[str, Any]:
    (record,) = read_jsonl(crawl / "pages.jsonl")
    return record


def new_crawl(root: Path, known: set[Path]) -> Path:
    (crawl,) = set(crawl_dirs(root)) - known
    return crawl


# -- item 4: --resume and redirects -------------------------------------------------------------------------------
def test_resume_counts_every_url_that_led_to_a_recorded_page_as_done(site: NewsSite, tmp_path: Path) -> None:
    """Killed with /story/1002 in flight: /news/a was recorded through /story/1001 (and its own permalink was
    scheduled), /news/b directly.  Resumed, neither is fetched or recorded again, and /story/1002's redirect to
    /news/b, which Scrapy's dupefilter would drop in a crawl never interrupted, is dropped too.  (--no-extract:
    a resume leaves the records of a crawl made without extraction as they are.)"""
    site.editions.update(a=1, b=1)
    site.stories.update({"/story/1001": "/news/a", "/story/1002": "/news/b"})
    site.home_links.extend(["/story/1001", "/news/b", "/story/1002"])
    site.gates["/story/1002"] = threading.Event()
    process = start("crawl", site.url("/"), "--depth", "2", "--no-extract", "--archive", str(tmp_path), *QUICK)
    try:
        wait_until(lambda: len(records_of(tmp_path)) == 3 and site.requested("/story/1002") == 1, process,
                   "three pages recorded and /story/1002 in flight")
    finally:
        stop_group(process)
    before = records_of(tmp_path)
    assert {(r["requested_url"], r["url"]) for r in before} == {
        (site.url("/"), site.url("/")), (site.url("/story/1001"), site.url("/news/a")),
        (site.url("/news/b"), site.url("/news/b"))}
    site.gates["/story/1002"].set()
    site.requests.clear()
    (crawl,) = crawl_dirs(tmp_path)
    proc = run_scraper("crawl", "--resume", crawl.name, "--archive", str(tmp_path), "-q")
    assert proc.returncode == 0, proc.stderr
    records = read_jsonl(crawl / "pages.jsonl")
    finals = [url_key(r["url"]) for r in records]
    assert sorted(finals) == sorted(url_key(site.url(p)) for p in ("/", "/news/a", "/news/b")), records
    assert [path for path, _ in site.requests if path.startswith("/news/")] == []  # neither fetched again
    assert site.requested("/story/1002") == 1  # scheduled and not recorded: asked for again
    assert records[:3] == before and all(r["extractor"] is None for r in records)
    manifest = json.loads((crawl / "manifest.json").read_text(encoding="utf-8"))
    assert not any("extracted" in note for note in manifest["resumed"]["notes"]), manifest["resumed"]["notes"]
    with sqlite3.connect(tmp_path / "catalog.sqlite") as conn:
        rows = conn.execute("SELECT count(*), min(committed) FROM captures WHERE crawl_id = ?",
                            (crawl.name,)).fetchone()
    assert rows == (3, 1)


# -- item 4: a finished crawl is left alone --------------------------------------------------------------------------
def test_resume_of_a_finished_crawl_says_so_and_does_nothing(site: NewsSite, tmp_path: Path) -> None:
    site.editions.update(a=1, b=1)
    site.stories.update({"/story/1001": "/news/a"})
    site.home_links.extend(["/story/1001", "/news/b", "/private/x"])
    extra = tmp_path / "extra.jsonl"
    proc = run_scraper("crawl", site.url("/"), "--depth", "1", "--archive", str(tmp_path), "--jsonl", str(extra),
                       *QUICK)
    assert proc.returncode == 1, proc.stderr  # /private/x is a 404
    (crawl,) = crawl_dirs(tmp_path)
    files = {p.name: p.read_bytes() for p in crawl.iterdir() if p.is_file() and p.name != ".lock"}
    extra_before = extra.read_bytes()
    assert json.loads(files["manifest.json"])["finish_reason"] == "finished"
    site.requests.clear()
    proc = run_scraper("crawl", "--resume", crawl.name, "--archive", str(tmp_path))
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr.strip().splitlines() == [f"scraper: crawl {crawl.name} already finished at "
                                                f"{json.loads(files['manifest.json'])['finished_at']}: "
                                                f"nothing to resume"]
    assert site.requests == []  # not even robots.txt
    assert extra.read_bytes() == extra_before
    assert {p.name: p.read_bytes() for p in crawl.iterdir() if p.is_file() and p.name != ".lock"} == files


def test_rearchive_resume_of_a_finished_run_does_nothing(site: NewsSite, tmp_path: Path) -> None:
    site.editions.update(a=1)
    assert run_scraper("watch", "add", site.url("/news/a"), "--every", "1h", "--archive", str(tmp_path)).returncode == 0
    assert run_scraper("rearchive", "--archive", str(tmp_path), *QUICK).returncode == 0
    (crawl,) = crawl_dirs(tmp_path)
    watches = run_scraper("watch", "list", "--json", "--archive", str(tmp_path)).stdout
    files = {p.name: p.read_bytes() for p in crawl.iterdir() if p.is_file() and p.name != ".lock"}
    site.requests.clear()
    proc = run_scraper("rearchive", "--resume", crawl.name, "--archive", str(tmp_path), "-q")
    assert proc.returncode == 0, proc.stderr
    assert "already finished" in proc.stderr and "nothing to resume" in proc.stderr
    assert site.requests == []
    assert {p.name: p.read_bytes() for p in crawl.iterdir() if p.is_file() and p.name != ".lock"} == files
    assert run_scraper("watch", "list", "--json", "--archive", str(tmp_path)).stdout == watches


def test_a_crawl_stopped_by_max_bytes_resumes_under_the_same_limit(site: NewsSite, tmp_path: Path) -> None:
    names = [f"s{i}" for i in range(8)]
    site.editions.update({name: 1 for name in names})
    site.home_links.extend(f"/news/{name}" for name in names)
    size = len(article("s0", 1))
    # One request at a time: a stop lets the requests the downloader holds finish, so it holds one.
    limit = ["--max-bytes", str(int(size * 1.5)), "-s", "CONCURRENT_REQUESTS=1"]
    proc = run_scraper("crawl", site.url("/"), "--depth", "1", "--archive", str(tmp_path), *limit, *QUICK[:-2])
    assert proc.returncode == 0, proc.stderr
    (crawl,) = crawl_dirs(tmp_path)
    manifest = json.loads((crawl / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["finish_reason"] == "max_bytes"
    first = len(read_jsonl(crawl / "pages.jsonl"))
    assert first < len(names) + 1
    proc = run_scraper("crawl", "--resume", crawl.name, "--archive", str(tmp_path))
    assert proc.returncode == 0, proc.stderr
    assert "already finished" not in proc.stderr
    manifest = json.loads((crawl / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["finish_reason"] == "max_bytes" and manifest["resumed"]["pages_before"] == first
    assert first < len(read_jsonl(crawl / "pages.jsonl")) < len(names) + 1  # on, and stopped again by the limit


# -- item 5: versions follow the page ----------------------------------------------------------------------------------
@pytest.mark.long
def test_versions_and_history_follow_the_page_through_redirects(site: NewsSite, tmp_path: Path) -> None:
    site.editions.update(a=1)
    site.stories.update({"/story/1001": "/news/a"})
    known: set[Path] = set()

    def crawl(path: str) -> dict[str, Any]:
        proc = run_scraper("crawl", site.url(path), "--archive", str(tmp_path), *QUICK)
        assert proc.returncode == 0, proc.stderr
        folder = new_crawl(tmp_path, known)
        known.add(folder)
        return only_record(tmp_path, folder)

    first = crawl("/news/a")
    site.editions["a"] = 2
    second = crawl("/story/1001")  # edited, and reached through the redirect
    assert (second["requested_url"], second["url"]) == (site.url("/story/1001"), site.url("/news/a"))
    assert second["version"] == 2 and second["changed_fields"] == ["text"]
    assert second["previous"]["record_id"] == first["warc"]["record_id"]
    site.requests.clear()
    third = crawl("/story/1001")  # unchanged: the hop to /news/a asks with the ETag of the page's last capture
    assert ("/news/a", '"a-2"') in site.requests
    assert third["record_kind"] == "revisit" and third["revisit_profile"] == "server-not-modified"
    assert third["version"] == 2 and third["previous"]["record_id"] == second["warc"]["record_id"]
    site.editions["a"] = 3
    fourth = crawl("/news/a")
    assert fourth["version"] == 3 and fourth["previous"]["record_id"] == third["warc"]["record_id"]
    ids = [r["warc"]["record_id"] for r in (first, second, third, fourth)]
    assert [r["warc"]["record_id"] for r in history(site, tmp_path, "/news/a")] == ids
    assert [r["warc"]["record_id"] for r in history(site, tmp_path, "/story/1001")] == ids  # the page it leads to
    shown = run_scraper("show", site.url("/story/1001"), "--archive", str(tmp_path))
    assert shown.returncode == 0 and json.loads(shown.stdout)["warc"]["record_id"] == ids[-1]


def test_a_catalog_made_by_the_older_code_keeps_its_versions(site: NewsSite, tmp_path: Path) -> None:
    """The older code filed a capture under its requested URL; opened by this code, the catalog moves it to its page."""
    site.editions.update(a=1)
    site.stories.update({"/story/1001": "/news/a"})
    assert run_scraper("crawl", site.url("/story/1001"), "--archive", str(tmp_path), *QUICK).returncode == 0
    (earlier,) = crawl_dirs(tmp_path)
    first = only_record(tmp_path, earlier)
    story, page = url_key(site.url("/story/1001")), url_key(site.url("/news/a"))
    with sqlite3.connect(tmp_path / "catalog.sqlite") as conn:  # the rows exactly as the older code wrote them
        assert conn.execute("UPDATE urls SET url_key = ?, url = ? WHERE url_key IN (?, ?)",
                            (story, site.url("/story/1001"), page, story)).rowcount == 1
        conn.execute("DROP TABLE IF EXISTS redirects")
        conn.execute("DROP TABLE IF EXISTS migrations")
    site.editions["a"] = 2
    assert run_scraper("crawl", site.url("/news/a"), "--archive", str(tmp_path), *QUICK).returncode == 0
    second = only_record(tmp_path, new_crawl(tmp_path, {earlier}))
    assert second["version"] == 2 and second["previous"]["record_id"] == first["warc"]["record_id"]
    ids = [first["warc"]["record_id"], second["warc"]["record_id"]]
    assert [r["warc"]["record_id"] for r in history(site, tmp_path, "/news/a")] == ids
    assert [r["warc"]["record_id"] for r in history(site, tmp_path, "/story/1001")] == ids
    with sqlite3.connect(tmp_path / "catalog.sqlite") as conn:
        assert conn.execute("SELECT url_key FROM urls").fetchall() == [(page,)]


# -- item 2: pages whose extraction did not run ----------------------------------------------------------------------
def catalog_records(root: Path, crawl_id: str) -> dict[str, dict[str, Any]]:
    with sqlite3.connect(root / "catalog.sqlite") as conn:
        rows = conn.execute("SELECT record_json FROM captures WHERE crawl_id = ?", (crawl_id,)).fetchall()
    records = [json.loads(row[0]) for row in rows]
    return {r["url"]: r for r in records}


@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGKILL], ids=["stopped", "killed"])
def test_resume_extracts_the_pages_whose_extraction_did_not_run(site: NewsSite, tmp_path: Path,
                                                                stop: signal.Signals) -> None:
    """Records of HTML pages whose extraction did not run, in a crawl with extraction on: what a crawl whose
    extraction workers died left (older code, which did not replace a dead pool), and an older scraper.

    They are made here as the crawl makes every record that has no article: by a crawl whose pipeline does not
    extract (--no-extract), whose crawl.json then says, as in those crawls, that extraction was on.  The crawl
    is stopped (SIGTERM: its catalog rows committed) or killed (its rows still in the journal); --resume
    extracts the pages from their WARC responses, and the records are replaced everywhere they are kept."""
    names = ["p1", "p2", "p3"]
    site.editions.update({name: 1 for name in [*names, "held"]})
    site.home_links.extend([*(f"/news/{n}" for n in names), "/news/held"])
    site.gates["/news/held"] = threading.Event()
    process = start("crawl", site.url("/"), "--depth", "1", "--no-extract", "--archive", str(tmp_path), *QUICK)
    try:
        wait_until(lambda: len(records_of(tmp_path)) == 1 + len(names) and site.requested("/news/held") == 1,
                   process, "the home page and the articles recorded, /news/held in flight")
        if stop == signal.SIGTERM:
            os.kill(process.pid, signal.SIGTERM)
            site.gates["/news/held"].set()  # the graceful stop finishes the request in flight
            assert process.wait(timeout=WAIT_S) == 143
    finally:
        stop_group(process)
    (crawl,) = crawl_dirs(tmp_path)
    job = json.loads((crawl / "crawl.json").read_text(encoding="utf-8"))
    assert job["settings"].pop("EXTRACT_ENABLED") is False
    (crawl / "crawl.json").write_text(json.dumps(job), encoding="utf-8")  # a crawl with extraction on
    broken = read_jsonl(crawl / "pages.jsonl")
    assert all(r["extractor"] is None and r["text"] is None and r["word_count"] == 0 for r in broken)
    site.gates["/news/held"].set()
    proc = run_scraper("crawl", "--resume", crawl.name, "--archive", str(tmp_path), "-q")
    assert proc.returncode == 0, proc.stderr
    records = read_jsonl(crawl / "pages.jsonl")
    assert len(records) == len(names) + 2
    by_url = {r["url"]: r for r in records}
    for path in (*(f"/news/{n}" for n in names), "/news/held"):
        record = by_url[site.url(path)]
        assert record["text"] and "Edition 1 of the report" in record["text"], path
        assert record["extractor"] is not None and record["title"] == f"Story {path.removeprefix('/news/')}"
        assert record["version"] == 1 and record["word_count"] > 50
    assert by_url[site.url("/")]["extractor"] is not None  # the home page: read, if without an article's text
    for old in broken:
        new = by_url[old["url"]]
        assert new["warc"] == old["warc"] and new["fetched_at"] == old["fetched_at"]  # the same capture
    assert catalog_records(tmp_path, crawl.name) == by_url  # the catalog holds the same records
    manifest = json.loads((crawl / "manifest.json").read_text(encoding="utf-8"))
    notes = " ".join(manifest["resumed"]["notes"])
    assert f"{len(broken)} page record(s) whose extraction had not run extracted" in notes, notes
    # The WARC alone has the extracted records: a metadata record for each, after the first one.
    in_warc: dict[str, list[dict[str, Any]]] = {}
    for path in sorted(crawl.glob("*.warc.gz")):
        for stored in iter_records(path):
            if stored.rec_type == "metadata" and dict(stored.warc_headers).get("Content-Type") == "application/json":
                record = json.loads(stored.content)
                in_warc.setdefault(record["url"], []).append(record)
    for old in broken:
        assert in_warc[old["url"]] == [old, by_url[old["url"]]]
    assert run_scraper("verify", str(crawl)).returncode == 0
    proc = run_scraper("reextract", crawl.name, "--archive", str(tmp_path), "-q")
    assert proc.returncode == 0, proc.stderr
    (again,) = crawl.glob("pages.reextract-*.jsonl")
    assert sorted(r["url"] for r in read_jsonl(again)) == sorted(by_url)  # each page once
