"""Crash safety: crawls killed with SIGKILL at random moments, resumed, and compared with one never killed.

The site is generated here: N linked pages on a real HTTP server on 127.0.0.1 that
answers each request after a short delay, so that a crawl takes long enough to be
killed in the middle of everything (start-up, fetching, extraction, writing).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import random
import re
import resource
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from warcio.archiveiterator import ArchiveIterator

from scraper.scope import url_key
from scraper.storage.jsonl import iter_jsonl
from tests.conftest import REPO, crawl_dirs, read_jsonl, run_scraper, wait_for

PAGES = 60
# The kills, at least 20 as the issue asks, in shards that pytest-xdist runs side by side (each shard one
# test, so that no two workers kill the same shard's crawls twice over).  Two, not more: each shard ends
# with a warc-check run whose set-wide checks (structure, WACZ, pywb) cost seconds of CPU whatever its size.
SHARDS = 2
KILLS_PER_SHARD = 10
SEED = 20261125
SHARD_SEEDS = random.Random(SEED).sample(range(2**32), SHARDS)  # one random sequence of its own per shard
WORDS = ["archive", "crawl", "river", "harbour", "council", "budget", "vote", "station", "winter", "market",
         "bridge", "school", "museum", "ferry", "garden", "library", "tunnel", "festival", "court", "railway"]


def page_html(number: int) -> str:
    rng = random.Random(number)
    paragraphs = "".join(
        "<p>" + " ".join(rng.choice(WORDS) for _ in range(60)).capitalize() + ".</p>" for _ in range(4))
    links = sorted({(number * 7 + 1) % PAGES, (number * 13 + 5) % PAGES, (number + 1) % PAGES})
    nav = "".join(f'<li><a href="/p/{n}">Page {n}</a></li>' for n in links)
    return (f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Report {number}</title></head>'
            f'<body><nav><a href="/">Home</a></nav><article><h1>Report number {number}</h1>{paragraphs}'
            f'</article><aside><ul>{nav}</ul></aside></body></html>')


class LinkedSiteHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    delay_s = 0.03

    def log_message(self, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        time.sleep(self.delay_s)
        if self.path == "/robots.txt":
            self._send(200, "text/plain", b"User-agent: *\nAllow: /\n")
        elif self.path == "/":
            self._send(200, "text/html; charset=utf-8", page_html(0).replace("Report 0", "Home").encode())
        elif (match := re.fullmatch(r"/p/(\d+)", self.path)) and int(match.group(1)) < PAGES:
            self._send(200, "text/html; charset=utf-8", page_html(int(match.group(1))).encode())
        else:
            self._send(404, "text/plain", b"not here\n")

    def _send(self, status: int, content_type: str, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: object, client_address: object) -> None:
        pass  # a killed crawler resets its connections: expected here, and not worth a traceback


@pytest.fixture(scope="module")
def linked_site() -> Iterator[str]:
    server = QuietServer(("127.0.0.1", 0), LinkedSiteHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()


CRAWL_ARGS = ["--depth", "50", "-q", "-s", "AUTOTHROTTLE_ENABLED=False", "-s", "DOWNLOAD_DELAY=0",
              "-s", "CONCURRENT_REQUESTS_PER_DOMAIN=4", "-s", "EXTRACT_WORKERS=1"]


def start(*args: str) -> subprocess.Popen[bytes]:
    """``python -m scraper ARGS`` in a process group of its own, so that a kill reaches its workers too."""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.Popen([sys.executable, "-m", "scraper", *args], cwd=REPO, env=env, start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def kill_group(process: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=30)
    if process.stderr is not None:
        process.stderr.close()


def count_pages(root: Path, known: set[str]) -> int:
    """Page records so far in the crawl folders not in ``known``."""
    total = 0
    for crawl in crawl_dirs(root):
        pages = crawl / "pages.jsonl"
        if crawl.name not in known and pages.exists():
            total += pages.read_bytes().count(b"\n")
    return total


def wait_for_pages(root: Path, known: set[str], process: subprocess.Popen[bytes], count: int) -> None:
    deadline = time.monotonic() + 60
    while count_pages(root, known) < count and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)


@dataclass
class Archived:
    """What a crawl folder says was archived, read back from its files and the catalog."""

    keys: list[str]  # url_key of each page record's requested URL, in pages.jsonl order
    record_ids: list[str]
    catalog_ids: list[str]
    catalog_committed: bool


def archived(root: Path, crawl: Path) -> Archived:
    records = list(iter_jsonl(crawl / "pages.jsonl"))  # a torn last line (a crawl stopped mid-write) skipped
    with sqlite3.connect(root / "catalog.sqlite") as conn:
        rows = conn.execute("SELECT warc_record_id, committed FROM captures WHERE crawl_id = ?",
                            (crawl.name,)).fetchall()
    return Archived(keys=[url_key(r["requested_url"]) for r in records],
                    record_ids=[r["warc"]["record_id"] for r in records],
                    catalog_ids=[row[0] for row in rows], catalog_committed=all(row[1] for row in rows))


@pytest.fixture(scope="module")
def reference(linked_site: str) -> set[str]:
    """What an uninterrupted crawl of the linked site archives: the home page and every report
    (``test_an_uninterrupted_crawl_archives_every_page`` crawls it once to show so)."""
    return {url_key(linked_site)} | {url_key(f"{linked_site}p/{n}") for n in range(PAGES)}


def test_an_uninterrupted_crawl_archives_every_page(linked_site: str, reference: set[str], tmp_path: Path) -> None:
    proc = run_scraper("crawl", linked_site, "--archive", str(tmp_path), *CRAWL_ARGS)
    assert proc.returncode == 0, proc.stderr
    (crawl,) = crawl_dirs(tmp_path)
    keys = archived(tmp_path, crawl).keys
    assert set(keys) == reference and len(keys) == len(reference) == PAGES + 1


@dataclass
class KilledAndResumed:
    """A shard's archive root: crawls killed with SIGKILL, each resumed until it finished; and what happened."""

    root: Path
    log: list[str]

    def kills(self) -> list[str]:
        return [entry for entry in self.log if entry.startswith("kill")]


def kill_and_resume(linked_site: str, root: Path, rng: random.Random, kills_wanted: int) -> KilledAndResumed:
    """Crawls killed ``kills_wanted`` times in all, each resumed until it finished.

    Every other kill comes at a random moment (start-up included); the others once a random number of
    further pages is recorded, mid-crawl for sure.  A crawl that ends before its kill is not counted.
    """
    log: list[str] = []
    kills = 0
    while kills < kills_wanted:
        known = {p.name for p in crawl_dirs(root)}
        process = start("crawl", linked_site, "--archive", str(root), *CRAWL_ARGS)
        crawl_id, finished = None, False
        while True:
            if kills % 2 == 0:
                time.sleep(rng.uniform(0.1, 4.0))
            else:
                wait_for_pages(root, known, process, count_pages(root, known) + rng.randint(1, 12))
            if process.poll() is None:
                kill_group(process)
                kills += 1
                log.append(f"kill {kills} at {count_pages(root, known)} pages")
            else:
                finished = process.returncode == 0
                log.append(f"exited {process.returncode} before the kill")
                kill_group(process)  # reaps it and closes its pipe
            if crawl_id is None:
                new = sorted({p.name for p in crawl_dirs(root)} - known)
                crawl_id = new[0] if new else None
            if crawl_id is None or finished or kills >= kills_wanted:
                break  # killed before its folder existed (nothing to resume), done, or enough kills
            process = start("crawl", "--resume", crawl_id, "--archive", str(root), "-q")
        if crawl_id is not None and not finished:
            done = run_scraper("crawl", "--resume", crawl_id, "--archive", str(root), "-q")
            log.append(f"resumed to the end: exit {done.returncode}")
            assert done.returncode == 0, done.stderr
            assert "Traceback" not in done.stderr
    return KilledAndResumed(root, log)


@pytest.mark.long
@pytest.mark.parametrize("shard", range(SHARDS))
def test_killed_crawls_resume_to_every_page_and_pass_warc_check(shard: int, linked_site: str, reference: set[str],
                                                                 tmp_path: Path) -> None:
    """One shard of the kills (the shards run side by side): crawls killed with SIGKILL, each resumed until
    it finished, archive what an uninterrupted crawl does, and independent readers accept every file."""
    killed_and_resumed = kill_and_resume(linked_site, tmp_path, random.Random(SHARD_SEEDS[shard]), KILLS_PER_SHARD)
    root, log = killed_and_resumed.root, killed_and_resumed.log
    print("\n".join(log))
    assert len(killed_and_resumed.kills()) == KILLS_PER_SHARD, log
    mid_crawl = [entry for entry in killed_and_resumed.kills() if not entry.endswith(" 0 pages")]
    assert len(mid_crawl) >= KILLS_PER_SHARD // 2, log  # half the kills at least land after pages were archived
    crawls = crawl_dirs(root)
    assert crawls
    for crawl in crawls:
        result = archived(root, crawl)
        if not result.keys:  # killed before it archived anything, and resumed: nothing to compare
            continue
        assert set(result.keys) == reference, f"{crawl.name}: {sorted(set(result.keys) ^ reference)[:5]}"
        assert len(result.keys) == len(set(result.keys)), f"{crawl.name}: a page recorded twice"
        assert sorted(result.catalog_ids) == sorted(result.record_ids), f"{crawl.name}: catalog and JSONL disagree"
        assert result.catalog_committed
        manifest = json.loads((crawl / "manifest.json").read_text(encoding="utf-8"))
        assert manifest["verify"]["ok"] is True
        assert not list(crawl.glob("*.open"))
        # Every page record points at a response record of its URL, readable by warcio.
        for record in read_jsonl(crawl / "pages.jsonl"):
            with open(crawl / record["warc"]["file"], "rb") as fh:
                fh.seek(record["warc"]["offset"])
                first = next(iter(ArchiveIterator(fh)))
                assert first.rec_headers.get_header("WARC-Record-ID") == record["warc"]["record_id"]
                assert first.rec_headers.get_header("WARC-Target-URI") == record["url"]
    proc = run_scraper("verify", "--archive", str(root))
    assert proc.returncode == 0, proc.stdout[-2000:]
    # ../shared/tools/warc-check (warcio, FastWARC, warcio.js, cdxj-indexer, py-wacz, pywb) on them too.
    from tests.integration.test_crawl import WARC_CHECK, WARC_CHECK_SETUP, WARC_CHECK_VENV

    if not (WARC_CHECK / "check.sh").is_file() or not (WARC_CHECK_VENV / "bin" / "python").is_file():
        if os.environ.get("CI"):
            pytest.fail("warc-check is not set up: .ci/run must run ../shared/tools/warc-check/setup.sh")
        pytest.skip(f"warc-check is not set up here: {WARC_CHECK_SETUP}")
    proc = subprocess.run(["bash", str(WARC_CHECK / "check.sh"), str(killed_and_resumed.root / "crawls")],
                          capture_output=True, text=True, timeout=600)
    summary = proc.stdout.strip().splitlines()[-1] if proc.stdout.strip() else proc.stderr
    assert proc.returncode == 0, "\n".join(line for line in proc.stdout.splitlines() if "FAIL" in line)
    assert re.fullmatch(r"warc-check: \d+ passed, 0 failed", summary), summary


def test_resume_keeps_what_was_archived_byte_for_byte(linked_site: str, tmp_path: Path) -> None:
    """A resume appends: the files of the interrupted run are not rewritten (torn ends aside)."""
    process = start("crawl", linked_site, "--archive", str(tmp_path), *CRAWL_ARGS)
    wait_for(lambda: count_pages(tmp_path, set()) >= 10, "10 pages archived", process)
    kill_group(process)
    (crawl,) = crawl_dirs(tmp_path)
    proc = run_scraper("verify", "--repair", str(crawl))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    before = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in crawl.glob("*.warc.gz")}
    lines_before = (crawl / "pages.jsonl").read_bytes()
    assert before and lines_before
    proc = run_scraper("crawl", "--resume", crawl.name, "--archive", str(tmp_path), "-q")
    assert proc.returncode == 0, proc.stderr
    after = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in crawl.glob("*.warc.gz")}
    assert {name: after[name] for name in before} == before and len(after) > len(before)
    assert (crawl / "pages.jsonl").read_bytes().startswith(lines_before)
    manifest = json.loads((crawl / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["resumed"]["pages_before"] == len(lines_before.splitlines())
    assert set(manifest["warc_files"]) == set(after)


def test_a_running_crawl_cannot_be_resumed_or_repaired_under_it(linked_site: str, tmp_path: Path) -> None:
    slow = ["-s", "DOWNLOAD_DELAY=0.5", "-s", "CONCURRENT_REQUESTS_PER_DOMAIN=1"]  # still running a minute later
    process = start("crawl", linked_site, "--archive", str(tmp_path), *CRAWL_ARGS, *slow)
    try:
        wait_for(lambda: bool(list(tmp_path.glob("crawls/*/*.warc.gz.open"))), "an open WARC file", process)
        (crawl,) = crawl_dirs(tmp_path)
        (warc,) = crawl.glob("*.warc.gz.open")
        proc = run_scraper("crawl", "--resume", crawl.name, "--archive", str(tmp_path), "-q")
        assert proc.returncode == 2 and "another process is writing" in proc.stderr, proc.stderr
        proc = run_scraper("verify", "--repair", str(warc))
        assert proc.returncode == 3 and "a running crawl is writing it" in proc.stdout + proc.stderr
        assert warc.exists()  # left alone
    finally:
        kill_group(process)


def test_resume_refuses_what_it_cannot_resume(tmp_path: Path) -> None:
    proc = run_scraper("crawl", "--resume", "20260101T000000Z-abcdef", "--archive", str(tmp_path))
    assert proc.returncode == 2 and "unknown crawl" in proc.stderr and "Traceback" not in proc.stderr
    proc = run_scraper("crawl", "--resume", "x", "http://127.0.0.1:9/", "--archive", str(tmp_path))
    assert proc.returncode == 2 and "drop URL" in proc.stderr
    (tmp_path / "crawls" / "20260101T000000Z-abcdef").mkdir(parents=True)
    proc = run_scraper("crawl", "--resume", "20260101T000000Z-abcdef", "--archive", str(tmp_path))
    assert proc.returncode == 2 and "crawl.json" in proc.stderr


@pytest.mark.parametrize(("signum", "status", "twice"), [(signal.SIGINT, 130, False), (signal.SIGTERM, 143, False),
                                                          (signal.SIGINT, 130, True)],
                         ids=["SIGINT", "SIGTERM", "SIGINT twice: at once"])
def test_a_signal_stops_gracefully_and_the_crawl_resumes(linked_site: str, tmp_path: Path, signum: int,
                                                         status: int, twice: bool, reference: set[str]) -> None:
    process = start("crawl", linked_site, "--archive", str(tmp_path), *CRAWL_ARGS)
    wait_for(lambda: count_pages(tmp_path, set()) >= 1, "a page archived", process)
    os.kill(process.pid, signum)
    if twice:  # the second one stops the reactor at once: the files must still be closed and readable
        time.sleep(0.1)
        os.kill(process.pid, signum)
    assert process.wait(timeout=60) == status
    assert process.stderr is not None
    stderr = process.stderr.read().decode()
    process.stderr.close()
    assert "Traceback" not in stderr
    (crawl,) = crawl_dirs(tmp_path)
    manifest = json.loads((crawl / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["finish_reason"] == "shutdown" and manifest["verify"]["ok"] is True
    assert not list(crawl.glob("*.open"))
    interrupted = archived(tmp_path, crawl)
    assert 0 < len(interrupted.keys) < len(reference)
    assert sorted(interrupted.catalog_ids) == sorted(interrupted.record_ids) and interrupted.catalog_committed
    proc = run_scraper("crawl", "--resume", crawl.name, "--archive", str(tmp_path), "-q")
    assert proc.returncode == 0, proc.stderr
    assert set(archived(tmp_path, crawl).keys) == reference


def file_size_limit(limit: int) -> Callable[[], None]:
    """For a child process: writes past ``limit`` bytes fail with EFBIG, as writes fail on a full disk."""
    def apply() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # else the kernel kills the writer
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
    return apply


def test_a_full_disk_stops_the_crawl_cleanly_and_it_resumes(linked_site: str, tmp_path: Path,
                                                            reference: set[str]) -> None:
    assert run_scraper("crawl", linked_site + "p/3", "--archive", str(tmp_path), "-q").returncode == 0
    (earlier,) = crawl_dirs(tmp_path)
    before = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in earlier.iterdir() if p.is_file()}
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.run([sys.executable, "-m", "scraper", "crawl", linked_site, "--archive", str(tmp_path),
                           *CRAWL_ARGS],
                          cwd=REPO, env=env, capture_output=True, text=True, timeout=300,
                          preexec_fn=file_size_limit(120_000))
    assert proc.returncode == 74, proc.stderr[-3000:]
    assert "Traceback" not in proc.stderr
    error_lines = [line for line in proc.stderr.splitlines() if line.startswith("scraper: error:")]
    assert len(error_lines) == 1 and "cannot write the archive" in error_lines[0]
    assert "File too large" in error_lines[0] and "--resume" in error_lines[0]
    assert {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in earlier.iterdir() if p.is_file()} == before
    crawl = next(c for c in crawl_dirs(tmp_path) if c != earlier)
    stopped = archived(tmp_path, crawl)
    assert 0 < len(stopped.keys) < len(reference)
    assert not stopped.catalog_committed or not stopped.catalog_ids  # nothing committed: the crawl is unfinished
    proc = run_scraper("crawl", "--resume", crawl.name, "--archive", str(tmp_path), "-q")
    assert proc.returncode == 0, proc.stderr
    resumed = archived(tmp_path, crawl)
    assert set(resumed.keys) == reference and len(resumed.keys) == len(reference)
    assert sorted(resumed.catalog_ids) == sorted(resumed.record_ids) and resumed.catalog_committed
    assert run_scraper("verify", "--archive", str(tmp_path)).returncode == 0


def test_an_interrupted_rearchive_resumes_and_marks_its_watches(linked_site: str, tmp_path: Path) -> None:
    urls = [f"{linked_site}p/{n}" for n in range(8)]
    assert run_scraper("watch", "add", *urls, "--every", "1h", "--archive", str(tmp_path)).returncode == 0
    # One request at a time: a graceful stop finishes what the downloader holds, so hold little.
    slow = ["-s", "DOWNLOAD_DELAY=0.3", "-s", "CONCURRENT_REQUESTS=1", "-s", "AUTOTHROTTLE_ENABLED=False"]
    process = start("rearchive", "--archive", str(tmp_path), "-q", *slow)
    wait_for(lambda: count_pages(tmp_path, set()) >= 1, "a page archived", process)
    os.kill(process.pid, signal.SIGTERM)
    assert process.wait(timeout=60) == 143
    kill_group(process)
    (crawl,) = crawl_dirs(tmp_path)
    assert 0 < len(archived(tmp_path, crawl).keys) < len(urls)
    def watches() -> list[dict[str, str]]:
        listed = run_scraper("watch", "list", "--json", "--archive", str(tmp_path)).stdout.splitlines()
        return [json.loads(line) for line in listed]

    now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())  # the format of watch list --json's times
    assert all(w["next_due_at"] <= now for w in watches())  # an interrupted run marks nothing: all still due
    proc = run_scraper("rearchive", "--resume", crawl.name, "--archive", str(tmp_path), "-q")
    assert proc.returncode == 0, proc.stderr
    assert sorted(archived(tmp_path, crawl).keys) == sorted(url_key(u) for u in urls)
    assert len(watches()) == len(urls) and None not in [w["last_captured_at"] for w in watches()]
    assert all(w["next_due_at"] > now for w in watches())  # marked: due again an hour from the resume


def test_extraction_workers_are_replaced_without_losing_a_page(linked_site: str, tmp_path: Path,
                                                               reference: set[str]) -> None:
    """A fresh pool every 7 pages (EXTRACT_RECYCLE_AFTER): the old one finishes what it was given."""
    proc = run_scraper("crawl", linked_site, "--archive", str(tmp_path), *CRAWL_ARGS, "-s", "EXTRACT_WORKERS=2",
                       "-s", "EXTRACT_RECYCLE_AFTER=7", "-s", "EXTRACT_IN_PROCESS_PAGES=0")
    assert proc.returncode == 0, proc.stderr
    (crawl,) = crawl_dirs(tmp_path)
    records = read_jsonl(crawl / "pages.jsonl")
    assert {url_key(r["requested_url"]) for r in records} == reference
    assert all(r["text"] and r["text_simhash"] for r in records)
    counts = json.loads((crawl / "manifest.json").read_text(encoding="utf-8"))["counts"]
    assert counts["pages_extracted"] == len(reference) and not counts["errors"]
