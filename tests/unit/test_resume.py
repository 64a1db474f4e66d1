"""scraper.resume.finished_crawl: which crawl folders --resume leaves alone, from their manifests."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from scraper.resume import finished_crawl

CRAWL_ID = "20261205T030000Z-abcdef"
WARCS = ["scraper-20261205030000000-00001-host.warc.gz", "scraper-20261205030100000-00002-host.warc.gz"]


def crawl_folder(root: Path, reason: str | None, listed: list[str], on_disk: list[str]) -> Path:
    folder = root / "crawls" / CRAWL_ID
    folder.mkdir(parents=True)
    for name in on_disk:
        (folder / name).write_bytes(b"")
    if reason is not None:
        (folder / "manifest.json").write_text(json.dumps({
            "crawl_id": CRAWL_ID, "finished_at": "2026-12-05T03:02:00Z", "finish_reason": reason,
            "warc_files": listed}), encoding="utf-8")
    return folder


@pytest.mark.parametrize(("reason", "finished"), [
    ("finished", True),  # ran to its natural end
    ("shutdown", False),  # Ctrl-C or SIGTERM
    ("archive_write_error", False),  # a full disk
    ("closespider_timeout", False),  # --max-time: a limit of the run
    ("max_bytes", False),  # --max-bytes: a limit of the run
])
def test_only_a_crawl_that_ran_to_its_end_is_finished(tmp_path: Path, reason: str, finished: bool) -> None:
    found = finished_crawl(crawl_folder(tmp_path, reason, WARCS, WARCS))
    assert (found is not None) is finished
    if found is not None:
        assert found.describe() == f"crawl {CRAWL_ID} already finished at 2026-12-05T03:02:00Z: nothing to resume"


def test_a_killed_crawl_is_not_finished(tmp_path: Path) -> None:
    assert finished_crawl(crawl_folder(tmp_path, None, [], WARCS[:1])) is None  # no manifest yet


@pytest.mark.parametrize("later", [WARCS[1], WARCS[1] + ".open"], ids=["repaired", "still open"])
def test_a_manifest_older_than_the_last_run_is_not_finished(tmp_path: Path, later: str) -> None:
    """A run after the one that wrote the manifest (killed: it wrote no manifest of its own) left a WARC file."""
    assert finished_crawl(crawl_folder(tmp_path, "finished", WARCS[:1], [WARCS[0], later])) is None
