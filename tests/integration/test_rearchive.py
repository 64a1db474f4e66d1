"""Issue 4: watches, scheduled re-archiving, revisit records, versions, history and diff."""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
import shlex
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from croniter import croniter

from scraper.storage.warc import iter_records
from tests.conftest import FAST, REPO, crawl_dirs, run_scraper, wait_for
from tests.integration.test_crawl import WARC_CHECK, WARC_CHECK_SETUP, WARC_CHECK_VENV
from tests.site import LivePage, Site, SiteServer, live_article

PARAGRAPHS = [f"Paragraph {i} of the report explains, at some length, what the council decided on Tuesday "
              f"about the harbour, the budget and the new ferry timetable for the coming winter season."
              for i in range(6)]


def set_first_state(site: Site) -> None:
    article = live_article("Council backs harbour plan", PARAGRAPHS, ["Storm warning", "Ferry strike"])
    site.live.update({
        "edited": LivePage(article),
        "boilerplate": LivePage(article),
        "etag": LivePage(article, etag='"v1"'),
        "modified-since": LivePage(article, last_modified="Mon, 04 Mar 2024 10:00:00 GMT"),
        "plain": LivePage(article),
        "gone": LivePage(article),
        "moved": LivePage(live_article("Old address", PARAGRAPHS[:4], ["a"])),
    })


def set_second_state(site: Site) -> None:
    edited = [*PARAGRAPHS[:5], "Correction: the vote was 7 to 4, not 8 to 3 as first reported here on Tuesday."]
    site.live["edited"] = LivePage(live_article("Council backs harbour plan", edited,
                                                ["Storm warning", "Ferry strike"]))
    site.live["boilerplate"] = LivePage(live_article("Council backs harbour plan", PARAGRAPHS,
                                                     ["Lottery winner", "Storm warning", "New mayor"]))
    site.live["gone"] = LivePage(b"gone", status=404)
    site.live["moved"] = LivePage(b"", status=301, headers=[("Location", "/live/plain")])


def history(site: Site, root: Path, name: str) -> list[dict[str, Any]]:
    proc = run_scraper("history", site.url(f"/live/{name}"), "--json", "--archive", str(root))
    assert proc.returncode == 0, proc.stderr
    return [json.loads(line) for line in proc.stdout.splitlines()]


@pytest.fixture(scope="module")
def rearchived(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Site, Path, str, str]]:
    """Two runs over pages that change between them (the second one through `rearchive --all`)."""
    root = tmp_path_factory.mktemp("rearchive")
    with SiteServer() as site:
        set_first_state(site)
        urls = [site.url(f"/live/{name}") for name in site.live]
        assert run_scraper("watch", "add", *urls, "--every", "1h", "--archive", str(root)).returncode == 0
        first = run_scraper("rearchive", "--archive", str(root), *FAST)
        assert first.returncode == 0, first.stderr
        time.sleep(1.1)  # captures in another second: replay tells them apart by their 14-digit timestamps
        set_second_state(site)
        second = run_scraper("rearchive", "--all", "--archive", str(root), *FAST)
        yield site, root, first.stderr, second.stderr


def test_versions_follow_content_not_bytes(rearchived: tuple[Site, Path, str, str]) -> None:
    site, root, _, _ = rearchived
    edited = history(site, root, "edited")
    assert [(r["record_kind"], r["version"], r["changed_fields"]) for r in edited] == [
        ("response", 1, []), ("response", 2, ["text"])]
    assert edited[1]["previous"]["version"] == 1
    assert edited[1]["previous"]["record_id"] == edited[0]["warc"]["record_id"]
    # a new "most read" box changes the bytes, not the article: a new capture, no new version
    boilerplate = history(site, root, "boilerplate")
    assert [(r["record_kind"], r["version"], r["changed_fields"]) for r in boilerplate] == [
        ("response", 1, []), ("response", 1, [])]
    assert boilerplate[0]["payload_digest"] != boilerplate[1]["payload_digest"]
    assert boilerplate[0]["text_sha256"] == boilerplate[1]["text_sha256"]
    gone = history(site, root, "gone")
    assert [(r["status"], r["version"], r["changed_fields"]) for r in gone] == [(200, 1, []), (404, None, ["status"])]


def test_unchanged_pages_become_revisits(rearchived: tuple[Site, Path, str, str]) -> None:
    site, root, _, second = rearchived
    for name, profile in [("etag", "server-not-modified"), ("modified-since", "server-not-modified"),
                          ("plain", "identical-payload-digest")]:
        captures = history(site, root, name)
        first, again = [r for r in captures if r["requested_url"] == site.url(f"/live/{name}")]
        assert (again["record_kind"], again["revisit_profile"], again["version"]) == ("revisit", profile, 1), name
        assert again["refers_to"]["record_id"] == first["warc"]["record_id"]
        assert again["text"] == first["text"] and again["title"] == first["title"]
    # /live/moved redirects to /live/plain in the second run: that capture is one of plain's, in its history
    (via_moved,) = [r for r in history(site, root, "plain") if r["requested_url"] == site.url("/live/moved")]
    assert (via_moved["url"], via_moved["record_kind"], via_moved["version"]) == (site.url("/live/plain"), "revisit", 1)
    assert via_moved["previous"]["version"] == 1
    # the conditional requests carried the validators of the first capture
    assert ("/live/etag", '"v1"') in site.conditional
    assert ("/live/modified-since", "Mon, 04 Mar 2024 10:00:00 GMT") in site.conditional
    # the summary says so (identical payloads: plain, and plain again through /live/moved)
    assert "server-not-modified ×2" in second and "identical-payload-digest ×2" in second


def warc_records(root: Path) -> list[Any]:
    return [r for d in crawl_dirs(root) for p in sorted(d.glob("*.warc.gz")) for r in iter_records(p)]


def test_revisit_records_refer_to_their_originals(rearchived: tuple[Site, Path, str, str]) -> None:
    site, root, _, _ = rearchived
    records = warc_records(root)
    by_id = {r.record_id: r for r in records}
    revisits = [r for r in records if r.rec_type == "revisit"]
    assert {r.target_uri for r in revisits} == {site.url("/live/etag"), site.url("/live/modified-since"),
                                               site.url("/live/plain")}
    for revisit in revisits:
        headers = dict(revisit.warc_headers)
        original = by_id[headers["WARC-Refers-To"]]
        assert original.rec_type == "response"
        assert headers["WARC-Refers-To-Target-URI"] == original.target_uri == revisit.target_uri
        assert headers["WARC-Refers-To-Date"] == original.date
        assert headers["WARC-Payload-Digest"] == dict(original.warc_headers)["WARC-Payload-Digest"]
        assert revisit.content == b""  # the payload stays in the original
        if headers["WARC-Profile"].endswith("server-not-modified"):
            # replays as the original (200), freshened by the 304's headers; the 304 itself is kept
            assert revisit.http_status_line == "HTTP/1.1 200 OK"
            (kept,) = [m for m in records if m.rec_type == "metadata"
                       and dict(m.warc_headers).get("WARC-Concurrent-To") == revisit.record_id
                       and dict(m.warc_headers)["Content-Type"].startswith("application/http")]
            assert kept.content.startswith(b"HTTP/1.1 304 Not Modified\r\n")


def test_diff_shows_what_changed(rearchived: tuple[Site, Path, str, str]) -> None:
    site, root, _, _ = rearchived
    proc = run_scraper("diff", site.url("/live/edited"), "--archive", str(root))
    assert proc.returncode == 1, proc.stderr  # as diff(1): 1 when something changed
    lines = proc.stdout.splitlines()
    assert lines[0].startswith("--- version 1") and lines[1].startswith("+++ version 2")
    assert any(line.startswith("-Paragraph 5 of the report") for line in lines)
    assert any(line.startswith("+Correction: the vote was 7 to 4") for line in lines)
    assert not any(line.startswith(("-Paragraph 4", "+Paragraph 4")) for line in lines)
    assert run_scraper("diff", site.url("/live/edited"), "--from", "7", "--archive", str(root)).returncode == 2


def test_warc_check_passes_over_both_crawls_and_replays_revisits(rearchived: tuple[Site, Path, str, str]) -> None:
    site, root, _, _ = rearchived
    if not (WARC_CHECK_VENV / "bin" / "python").is_file():
        if os.environ.get("CI"):
            pytest.fail("warc-check is not set up: .ci/run must run ../shared/tools/warc-check/setup.sh")
        pytest.skip(f"warc-check is not set up here: {WARC_CHECK_SETUP}")
    proc = subprocess.run(["bash", str(WARC_CHECK / "check.sh"), str(root / "crawls")], capture_output=True,
                          text=True, timeout=600, env={**os.environ, "WARC_CHECK_REPLAY_MAX": "0"})
    assert proc.returncode == 0, "\n".join(line for line in proc.stdout.splitlines() if "FAIL" in line)
    assert re.search(r"warc-check: \d+ passed, 0 failed", proc.stdout)
    replayed_revisits = re.findall(r"PASS\s+pywb-replay\s+(\S+) .*archived revisit", proc.stdout)
    assert {site.url("/live/etag"), site.url("/live/plain"), site.url("/live/modified-since")} <= set(
        replayed_revisits)


def test_lock_keeps_runs_from_overlapping(tmp_path: Path) -> None:
    with SiteServer() as site:
        assert run_scraper("watch", "add", site.url("/cookies"), "--archive", str(tmp_path)).returncode == 0
        with open(tmp_path / ".rearchive.lock", "a+") as held:
            fcntl.flock(held, fcntl.LOCK_EX | fcntl.LOCK_NB)
            proc = run_scraper("rearchive", "--archive", str(tmp_path), *FAST)
        assert proc.returncode == 75 and "another rearchive is running" in proc.stderr
        assert not crawl_dirs(tmp_path)
        assert run_scraper("rearchive", "--archive", str(tmp_path), *FAST).returncode == 0  # lock released
        assert len(crawl_dirs(tmp_path)) == 1


def test_missed_runs_catch_up_once(tmp_path: Path) -> None:
    """A machine that was off while two runs fell due captures once, then schedules from now."""
    with SiteServer() as site:
        url = site.url("/cookies")
        assert run_scraper("watch", "add", url, "--every", "1h", "--archive", str(tmp_path)).returncode == 0
        assert run_scraper("rearchive", "--archive", str(tmp_path), *FAST).returncode == 0
        nothing = run_scraper("rearchive", "--archive", str(tmp_path), *FAST)
        assert nothing.returncode == 0 and "nothing due" in nothing.stderr
        # Two hours and a bit pass with the machine off: the clock moves; here, the watch's due time does.
        missed = datetime.now(UTC) - timedelta(hours=2, minutes=5)
        with contextlib.closing(sqlite3.connect(tmp_path / "catalog.sqlite")) as conn, conn:
            conn.execute("UPDATE watches SET next_due_at = ?", (missed.strftime("%Y-%m-%d %H:%M:%S.%f"),))
        started = datetime.now(UTC)
        assert run_scraper("rearchive", "--archive", str(tmp_path), *FAST).returncode == 0
        captures = json.loads("[" + ",".join(run_scraper("history", url, "--json", "--archive", str(tmp_path))
                                             .stdout.splitlines()) + "]")
        assert len(captures) == 2  # caught up once, not once per missed run
        listed = json.loads(run_scraper("watch", "list", "--json", "--archive", str(tmp_path)).stdout)
        assert listed["next_due_at"] > listed["last_captured_at"]
        assert datetime.fromisoformat(listed["next_due_at"]) > started  # due next in the future, not at a missed time
        again = run_scraper("rearchive", "--archive", str(tmp_path), *FAST)
        assert again.returncode == 0 and "nothing due" in again.stderr


def test_cron_schedules_and_bad_ones(tmp_path: Path) -> None:
    ok = run_scraper("watch", "add", "https://example.com/a", "--cron", "0 * * * *", "--archive", str(tmp_path))
    assert ok.returncode == 0
    bad = run_scraper("watch", "add", "https://example.com/a", "--cron", "every hour", "--archive", str(tmp_path))
    assert bad.returncode == 2 and "not a cron expression" in bad.stderr
    listed = json.loads(run_scraper("watch", "list", "--json", "--archive", str(tmp_path)).stdout)
    assert listed["cron"] == "0 * * * *"
    removed = run_scraper("watch", "remove", "https://example.com/a", "--archive", str(tmp_path))
    assert removed.returncode == 0 and run_scraper("watch", "list", "--json", "--archive", str(tmp_path)).stdout == ""


def readme_block(marker: str) -> str:
    text = (REPO / "README.md").read_text(encoding="utf-8")
    match = re.search(rf"<!-- {marker} -->\n```[a-z]*\n(.*?)```", text, re.S)
    assert match, f"README has no block marked {marker}"
    return match.group(1)


def test_readme_crontab_line_runs(tmp_path: Path) -> None:
    (line,) = [ln for ln in readme_block("crontab").splitlines() if ln.strip() and not ln.startswith("#")]
    fields = line.split(None, 5)
    assert croniter.is_valid(" ".join(fields[:5]))
    with SiteServer() as site:
        assert run_scraper("watch", "add", site.url("/cookies"), "--archive", str(tmp_path)).returncode == 0
        command = fields[5].replace("/srv/scraper", str(REPO)).replace("/srv/archive", str(tmp_path))
        proc = subprocess.run(["bash", "-c", command], capture_output=True, text=True, timeout=180,
                              env={**os.environ, "PYTHONPATH": str(REPO)})
    assert proc.returncode == 0, proc.stderr
    assert len(crawl_dirs(tmp_path)) == 1


def test_readme_systemd_units_run(tmp_path: Path) -> None:
    service = readme_block("systemd-service")
    timer = readme_block("systemd-timer")
    assert "Persistent=true" in timer and re.search(r"OnCalendar=\S+", timer)
    (exec_start,) = re.findall(r"^ExecStart=(.+)$", service, re.M)
    with SiteServer() as site:
        assert run_scraper("watch", "add", site.url("/cookies"), "--archive", str(tmp_path)).returncode == 0
        argv = shlex.split(exec_start.replace("/srv/scraper", str(REPO)).replace("/srv/archive", str(tmp_path)))
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=180, cwd=REPO,
                              env={**os.environ, "PYTHONPATH": str(REPO)})
    assert proc.returncode == 0, proc.stderr
    assert len(crawl_dirs(tmp_path)) == 1


def test_loop_runs_one_crawl_process_per_cycle(tmp_path: Path) -> None:
    with SiteServer() as site:
        added = run_scraper("watch", "add", site.url("/cookies"), "--every", "2s", "--archive", str(tmp_path))
        assert added.returncode == 0
        loop = subprocess.Popen([sys.executable, "-m", "scraper", "rearchive", "--loop", "--archive", str(tmp_path),
                                 "-q", *FAST], cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO)},
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        wait_for(lambda: len(crawl_dirs(tmp_path)) >= 2, "a second cycle's crawl", loop)
        loop.send_signal(signal.SIGINT)
        _out, err = loop.communicate(timeout=60)
    assert loop.returncode == 130, err
    # every cycle's crawl finished or stopped gracefully: a manifest each, no WARC left open
    dirs = crawl_dirs(tmp_path)
    assert len(dirs) >= 2
    assert all((d / "manifest.json").is_file() and not list(d.glob("*.open")) for d in dirs)
    finished = [json.loads((d / "manifest.json").read_text())["finish_reason"] for d in dirs]
    assert finished.count("finished") >= 1 and set(finished) <= {"finished", "shutdown"}
