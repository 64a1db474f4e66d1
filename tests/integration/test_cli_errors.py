"""Bad input ends in one clear line and a meaningful exit status, never a traceback."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from scraper.storage.warc import iter_records
from tests.conftest import FAST, REPO, crawl_dirs, read_jsonl, run_scraper, wait_for
from tests.site import Site


def assert_one_line_error(proc: subprocess.CompletedProcess[str], status: int, words: str) -> None:
    assert proc.returncode == status, proc.stderr
    assert "Traceback" not in proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert any(words in line for line in lines), proc.stderr
    assert lines[-1].startswith(("scraper: error:", "Error:")), proc.stderr


def test_bad_url(tmp_path: Path) -> None:
    proc = run_scraper("crawl", "mailto:news@example.com", "--archive", str(tmp_path))  # no scheme would be https://
    assert_one_line_error(proc, 2, "http:// or https://")
    assert not crawl_dirs(tmp_path)


def test_missing_seed_file(tmp_path: Path) -> None:
    proc = run_scraper("crawl", "-i", str(tmp_path / "nope.txt"), "--archive", str(tmp_path))
    assert_one_line_error(proc, 2, "seed file not found")


def test_bad_line_in_seed_file(tmp_path: Path) -> None:
    seeds = tmp_path / "seeds.txt"
    seeds.write_text("http://127.0.0.1:9/ok\nftp://x.test/file\n")
    assert_one_line_error(run_scraper("crawl", "-i", str(seeds), "--archive", str(tmp_path)), 2, "line 2")


def test_unwritable_out(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    proc = run_scraper("crawl", "http://127.0.0.1:9/", "--archive", str(blocker / "archive"))
    assert_one_line_error(proc, 2, "--archive")


def test_no_urls_at_all(tmp_path: Path) -> None:
    assert_one_line_error(run_scraper("crawl", "--archive", str(tmp_path)), 2, "no URLs")


def test_unknown_option_is_a_usage_error() -> None:
    proc = run_scraper("crawl", "--no-such-flag")
    assert proc.returncode == 2 and "No such option" in proc.stderr


def test_help_explains() -> None:
    proc = run_scraper("crawl", "--help")
    assert proc.returncode == 0
    for flag in ["--input", "--archive", "--depth", "--max-pages", "--jsonl", "--ignore-robots", "Exit status"]:
        assert flag in proc.stdout


def test_unreachable_host_fails_cleanly(tmp_path: Path) -> None:
    # Port 9 (discard) on loopback: connection refused, no network beyond 127.0.0.1.
    proc = run_scraper("crawl", "http://127.0.0.1:9/page", "--archive", str(tmp_path), *FAST,
                       "-s", "RETRY_TIMES=0", "--ignore-robots")
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert "connectionrefusederror" in proc.stderr.lower()


def test_sigint_stops_gracefully_with_130_and_readable_files(site: Site, tmp_path: Path) -> None:
    urls = [site.url(f"/slow/{i}") for i in range(40)]
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen([sys.executable, "-m", "scraper", "crawl", *urls, "--archive", str(tmp_path), *FAST,
                             "-s", "CONCURRENT_REQUESTS_PER_DOMAIN=1"],
                            cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    def two_pages() -> bool:
        dirs = crawl_dirs(tmp_path)
        return bool(dirs) and (dirs[0] / "pages.jsonl").is_file() and len(read_jsonl(dirs[0] / "pages.jsonl")) >= 2

    wait_for(two_pages, "two pages archived", proc)
    proc.send_signal(signal.SIGINT)
    _out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    directory = crawl_dirs(tmp_path)[0]
    assert not list(directory.glob("*.open"))
    records = read_jsonl(directory / "pages.jsonl")
    assert 2 <= len(records) < len(urls)
    warc_urls = {r.target_uri for p in directory.glob("*.warc.gz") for r in iter_records(p) if r.rec_type == "response"}
    assert {r["url"] for r in records} <= warc_urls


def test_bad_catalog_url(tmp_path: Path) -> None:
    proc = run_scraper("crawl", "http://127.0.0.1:9/", "--db", "nosuchdb://x", "--archive", str(tmp_path))
    assert_one_line_error(proc, 2, "--db: cannot open the catalog")
    assert not crawl_dirs(tmp_path)


@pytest.mark.parametrize(("args", "words"), [
    (["crawl", "http://127.0.0.1:9/", "--depth", "x"], "Invalid value for '--depth'"),
    (["crawl", "http://127.0.0.1:9/", "--bogus"], "No such option '--bogus'"),
    (["show"], "Missing argument 'URL'"),
    (["nosuch"], "No such command 'nosuch'"),
])
def test_a_usage_error_is_one_line_naming_the_help_to_read(args: list[str], words: str, tmp_path: Path) -> None:
    proc = run_scraper(*args, "--archive", str(tmp_path)) if args[0] != "nosuch" else run_scraper(*args)
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1 and proc.stderr.startswith("scraper: error: " + words), proc.stderr
    assert f"(see 'scraper{' ' + args[0] if args[0] != 'nosuch' else ''} --help')" in proc.stderr
