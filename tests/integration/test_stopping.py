"""Stopping a crawl: at once, saying so, without breaking extraction (issue 13, items 2 and 3).

The crawls run the real CLI in a session of their own, as a terminal runs a job, and a
Ctrl-C is SIGINT to the whole process group: the crawl process, the extraction pool's
forkserver and its workers.  The site (tests/site.py's HoldingServer) holds one answer on
the wire while the test acts, so every check counts requests instead of timing them.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from tests.conftest import FAST, REPO, crawl_dirs, read_jsonl, run_scraper
from tests.site import HoldingServer

CRAWL_DELAY = "User-agent: *\nCrawl-delay: 2\n"
STOPPING = "scraper: stopping"


class Crawling:
    """``python -m scraper ARGS`` in a session of its own, its stderr read line by line as it comes."""

    def __init__(self, *args: str) -> None:
        env = {**os.environ, "PYTHONPATH": str(REPO)}
        self.process = subprocess.Popen([sys.executable, "-m", "scraper", *args], cwd=REPO, env=env,
                                        start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                        text=True)
        self.lines: list[str] = []
        self.ended = False  # stderr closed: the process has exited
        self.changed = threading.Condition()
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            with self.changed:
                self.lines.append(line)
                self.changed.notify_all()
        with self.changed:
            self.ended = True
            self.changed.notify_all()

    @property
    def stderr(self) -> str:
        with self.changed:
            return "".join(self.lines)

    def wait_for_line(self, text: str, timeout: float = 30) -> bool:
        """True once a line of stderr contains ``text`` (False after ``timeout`` s or at the exit: the test fails)."""
        def said() -> bool:
            return any(text in line for line in self.lines)

        with self.changed:
            self.changed.wait_for(lambda: said() or self.ended, timeout)
            return said()

    def interrupt(self) -> None:
        """Ctrl-C in a terminal: SIGINT to every process of the job."""
        os.killpg(self.process.pid, signal.SIGINT)

    def finish(self, timeout: float = 180) -> int:
        status = self.process.wait(timeout)
        self.reader.join(timeout)
        return status

    def kill(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(30)


def records_in(root: Path) -> list[dict[str, Any]]:
    crawls = crawl_dirs(root)
    pages = crawls[0] / "pages.jsonl" if crawls else None
    if pages is None or not pages.exists():
        return []
    return [json.loads(line) for line in pages.read_text(encoding="utf-8").splitlines() if line.endswith("}")]


def wait_for_records(root: Path, count: int, crawl: Crawling, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while len(records_in(root)) < count and crawl.process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(records_in(root)) >= count, crawl.stderr


def path_of(record: dict[str, Any]) -> str:
    return urlsplit(record["url"]).path


def stories(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The article pages (``/a/N``); the front page is a list of links, with no article to extract."""
    return [r for r in records if path_of(r).startswith("/a/")]


def every_story_extracted(root: Path, count: int) -> Path:
    """The crawl's folder, once it is shown to hold ``count`` stories, each with its extracted text."""
    (folder,) = crawl_dirs(root)
    records = read_jsonl(folder / "pages.jsonl")
    assert len(stories(records)) == count
    assert all(r["text"] for r in stories(records)), [path_of(r) for r in stories(records) if not r["text"]]
    return folder


def children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                stat = (entry / "stat").read_text()
                if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                    found.append(int(entry.name))
    return found


def test_ctrl_c_stops_at_once_says_so_and_extraction_survives_it(tmp_path: Path) -> None:
    with HoldingServer(pages=20, robots=CRAWL_DELAY) as site:
        site.hold_pages_after(2)  # the front page and one story answered; the next story stays on the wire
        # The front page is extracted in the crawl process, the stories in the pool it then starts.
        crawl = Crawling("crawl", site.url("/"), "--depth", "1", "--archive", str(tmp_path),
                         "-s", "EXTRACT_IN_PROCESS_PAGES=1")
        try:
            assert site.wait_until_held(), crawl.stderr
            wait_for_records(tmp_path, 2, crawl)  # both extracted: the workers are running
            at_signal = site.count()
            crawl.interrupt()
            said = crawl.wait_for_line(STOPPING)
            site.release()
            status = crawl.finish()
        finally:
            crawl.kill()
        after_signal = site.requests[at_signal:]
        stderr = crawl.stderr
        assert status == 130, stderr
        assert "Traceback" not in stderr and "KeyboardInterrupt" not in stderr, stderr
        assert said and "scraper: stopping: 1 request in flight; Ctrl-C again to stop now" in stderr, stderr
        (folder,) = crawl_dirs(tmp_path)
        assert stderr.index(STOPPING) < stderr.index(f"crawl {folder.name} (shutdown)")  # before the summary
        # Nothing was sent after the Ctrl-C: the stories waiting for the Crawl-delay stayed unsent.
        assert len(after_signal) <= 1, after_signal  # at most one request per host (one host here)
        records = read_jsonl(folder / "pages.jsonl")
        assert len(stories(records)) == 2  # the one answered before, and the one on the wire at the signal
        assert all(r["status"] == 200 and r["text"] for r in stories(records)), stories(records)
        counts = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))["counts"]
        assert "extraction" not in counts["errors"] and "extraction failed" not in stderr, stderr
        # What was not sent is in the frontier journal: the resume fetches it (the site dropped its
        # Crawl-delay meanwhile, to be quick), and every page is there once, extracted.
        site.robots = "User-agent: *\n"
        proc = run_scraper("crawl", "--resume", folder.name, "--archive", str(tmp_path), "-q")
    assert proc.returncode == 0, proc.stderr
    records = read_jsonl(folder / "pages.jsonl")
    assert sorted(path_of(r) for r in records) == sorted(["/", *(f"/a/{n}" for n in range(20))])
    assert all(r["status"] == 200 and r["text"] for r in stories(records))


def test_max_time_stops_within_one_request_per_host(tmp_path: Path) -> None:
    with HoldingServer(pages=20, robots=CRAWL_DELAY) as site:
        site.hold_pages_after(2)
        crawl = Crawling("crawl", site.url("/"), "--depth", "1", "--max-time", "6s", "-q", "--archive", str(tmp_path))
        try:
            said = crawl.wait_for_line(STOPPING, timeout=60)  # -q too: the stop is said
            at_limit = site.count()
            site.release()
            status = crawl.finish()
        finally:
            crawl.kill()
        after_limit = site.requests[at_limit:]
    stderr = crawl.stderr
    assert status == 0, stderr
    assert said and "scraper: stopping (--max-time 6s reached): " in stderr, stderr
    # Requests already waiting for the Crawl-delay when the time ran out were not sent.
    assert len(after_limit) <= 1, after_limit
    (folder,) = crawl_dirs(tmp_path)
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["finish_reason"] == "closespider_timeout"
    assert len(stories(read_jsonl(folder / "pages.jsonl"))) < 20


def test_a_killed_extraction_worker_is_replaced_and_later_pages_are_extracted(tmp_path: Path) -> None:
    with HoldingServer(pages=8) as site:
        site.hold_pages_after(3)
        crawl = Crawling("crawl", site.url("/"), "--depth", "1", "--archive", str(tmp_path), "-q", *FAST,
                         "-s", "EXTRACT_WORKERS=2", "-s", "EXTRACT_IN_PROCESS_PAGES=0")
        try:
            assert site.wait_until_held(), crawl.stderr
            wait_for_records(tmp_path, 3, crawl)  # extracted: the workers are running
            # The crawl process's children are the forkserver and the resource tracker; the workers
            # are the forkserver's children.
            workers = [worker for child in children(crawl.process.pid) for worker in children(child)]
            assert workers
            os.kill(workers[0], signal.SIGKILL)  # as the kernel's OOM killer would
            site.release()
            status = crawl.finish()
        finally:
            crawl.kill()
    assert status == 0, crawl.stderr
    folder = every_story_extracted(tmp_path, 8)
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    assert "extraction" not in manifest["counts"]["errors"], crawl.stderr
    assert [w for w in manifest["warnings"] if w.startswith("an extraction worker died")], manifest["warnings"]


def test_a_small_crawl_extracts_in_its_own_process_and_a_bigger_one_in_its_pool_from_the_first_page(
        tmp_path: Path) -> None:
    """A crawl that schedules no more than EXTRACT_IN_PROCESS_PAGES requests starts no processes; one that
    schedules more starts its pool with its first page (extraction never loaded into the crawl process)."""
    with HoldingServer(pages=8) as site:  # the front page and 8 stories: 9 requests, no more than 9
        site.hold_pages_after(3)
        crawl = Crawling("crawl", site.url("/"), "--depth", "1", "--archive", str(tmp_path / "small"), "-q", *FAST,
                         "-s", "EXTRACT_WORKERS=2", "-s", "EXTRACT_IN_PROCESS_PAGES=9")
        try:
            assert site.wait_until_held(), crawl.stderr
            wait_for_records(tmp_path / "small", 3, crawl)
            assert children(crawl.process.pid) == []  # no forkserver, no resource tracker
            site.release()
            status = crawl.finish()
        finally:
            crawl.kill()
    assert status == 0, crawl.stderr
    every_story_extracted(tmp_path / "small", 8)
    with HoldingServer(pages=8) as site:
        site.hold_pages_after(1)  # the front page alone: its links (8 stories) are scheduled before its item
        crawl = Crawling("crawl", site.url("/"), "--depth", "1", "--archive", str(tmp_path / "big"), "-q", *FAST,
                         "-s", "EXTRACT_WORKERS=2", "-s", "EXTRACT_IN_PROCESS_PAGES=3")
        try:
            assert site.wait_until_held(), crawl.stderr
            wait_for_records(tmp_path / "big", 1, crawl)
            # The front page was extracted by the pool: its forkserver lives until the crawl process ends.
            assert children(crawl.process.pid), crawl.stderr
            site.release()
            status = crawl.finish()
        finally:
            crawl.kill()
    assert status == 0, crawl.stderr
    every_story_extracted(tmp_path / "big", 8)
