"""storage.catalog and storage.rebuild, the parts a hostile table cannot reach: who holds a lock, schedules
that have no next time, and which crawls a missing catalog must be rebuilt from."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from scraper.storage.catalog import NEVER, Catalog, CatalogMissing, ScheduleError, next_due, parse_proc_locks
from scraper.storage.layout import lock_crawl
from scraper.storage.rebuild import catalog_gap

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
SHM = (0xFE, 0x00, 2311538)  # device fe:00, inode 2311538


def test_lock_holders_are_the_writers_of_the_catalogs_files() -> None:
    text = "\n".join([
        "1: POSIX  ADVISORY  WRITE 7643 fe:00:2311538 120 120",  # the writer's lock on the -shm file
        "2: POSIX  ADVISORY  READ 7700 fe:00:2311538 123 123",  # a reader: blocks no writer
        "3: POSIX  ADVISORY  WRITE 4242 fe:00:2311538 120 120",  # this process: not another
        "4: -> POSIX  ADVISORY  WRITE 7800 fe:00:2311538 120 120",  # waiting, not holding
        "5: POSIX  ADVISORY  WRITE 7900 fe:01:2311538 120 120",  # the same inode on another device
        "6: OFDLCK ADVISORY  WRITE -1 fe:00:2311538 0 EOF",  # a crawl folder's lock: no pid
        "7: POSIX  ADVISORY  WRITE 7643 fe:00:2311538 121 121",  # the same writer again
        "garbage",
    ])
    assert parse_proc_locks(text, {SHM}, own_pid=4242) == [7643]


def test_schedules_without_a_next_time() -> None:
    with pytest.raises(ScheduleError, match="it never fires"):
        next_due(T0, None, "0 0 31 4 *")  # April has 30 days
    with pytest.raises(ScheduleError, match="past the year 9999"):
        next_due(T0, 8.64e15, None)  # over timedelta's range
    with pytest.raises(ScheduleError, match="past the year 9999"):
        next_due(T0, 3e11, None)  # within it, past datetime's
    assert next_due(T0, None, "0 0 29 2 *") == datetime(2028, 2, 29, tzinfo=UTC)  # rare is not never


def test_each_watch_is_marked_on_its_own(tmp_path: Path) -> None:
    catalog = Catalog.open(tmp_path)
    for key, every, cron in (("good", 3600.0, None), ("never", None, "0 0 30 2 *"), ("huge", 8.64e15, None)):
        catalog.add_watch(key, f"http://a.test/{key}", every, cron, now=T0)
    unscheduled = catalog.mark_captured(["good", "never", "huge"], T0)
    assert sorted(u.url for u in unscheduled) == ["http://a.test/huge", "http://a.test/never"]
    due = {w.url_key: w.next_due_at for w in catalog.list_watches()}
    assert due == {"good": T0 + timedelta(hours=1), "never": NEVER, "huge": NEVER}
    assert catalog.due_watches(now=T0 + timedelta(days=400)) == [w for w in catalog.list_watches()
                                                                if w.url_key == "good"]
    catalog.add_watch("never", "http://a.test/never", 60, None, now=T0)  # a schedule that has a next time
    assert {w.url_key for w in catalog.due_watches(now=T0)} == {"never"}  # due at once again
    catalog.close()


def crawl(root: Path, name: str, *, manifest: bool, pages: bool) -> Path:
    folder = root / "crawls" / name
    folder.mkdir(parents=True)
    if manifest:
        (folder / "manifest.json").write_text(json.dumps({"finish_reason": "finished"}))
    (folder / "pages.jsonl").write_text('{"url": "http://a.test/"}\n' if pages else "")
    return folder


def test_a_missing_catalog_matters_only_to_crawls_that_ended_with_pages(tmp_path: Path) -> None:
    crawl(tmp_path, "20260301T120000Z-000001", manifest=False, pages=True)  # killed: its resume adds its rows
    crawl(tmp_path, "20260301T120000Z-000002", manifest=True, pages=False)  # ended without a page
    assert catalog_gap(tmp_path) is None
    ended = crawl(tmp_path, "20260301T120000Z-000003", manifest=True, pages=True)
    gap = catalog_gap(tmp_path)
    assert isinstance(gap, CatalogMissing) and "is missing" in str(gap) and "1 crawl(s)" in str(gap)
    assert catalog_gap(tmp_path, exclude=ended.name) is None  # the crawl being resumed
    held = lock_crawl(ended)  # running, or resumed: still a crawl the catalog must know of
    assert catalog_gap(tmp_path) is not None
    held.close()
    assert not (tmp_path / "catalog.sqlite").exists()  # asked without making one
    (tmp_path / "catalog.sqlite").write_bytes(b"")
    gap = catalog_gap(tmp_path)
    assert gap is not None and "is empty" in str(gap)
