"""storage.catalog on a real SQLite file: captures, watches and schedules, redirects, follows_id, lock holders."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from scraper.records import text_sha256
from scraper.scope import url_key
from scraper.storage.catalog import (
    NEVER,
    Catalog,
    NewCapture,
    ScheduleError,
    next_due,
    parse_proc_locks,
)

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def record(url: str, fetched: datetime, *, status: int = 200, version: int | None = 1, text: str = "Body",
           kind: str = "response") -> dict[str, Any]:
    return {"crawl_id": "20260301T120000Z-abcdef", "requested_url": url, "url": url, "status": status,
            "fetched_at": fetched.strftime("%Y-%m-%dT%H:%M:%SZ"), "record_kind": kind, "revisit_profile": None,
            "payload_digest": "sha1:AAAA", "text_sha256": text_sha256(text), "version": version,
            "changed_fields": [], "text": text,
            "warc": {"file": "f.warc.gz", "offset": 0, "length": 10, "record_id": f"<urn:uuid:{fetched.minute}>"}}


ORIGINAL = {"record_id": "<urn:uuid:1>", "warc_date": "2026-03-01T12:00:00.000000Z",
            "target_uri": "http://a.test/p", "crawl_id": "c", "file": "f.warc.gz", "offset": 0, "length": 10}


def test_captures_are_invisible_until_their_crawl_commits(tmp_path: Path) -> None:
    catalog = Catalog.open(tmp_path)
    catalog.add_capture("http://a.test/p", record("http://a.test/p", T0), etag='"e1"', last_modified=None,
                        warc_date=ORIGINAL["warc_date"], original=ORIGINAL)
    assert catalog.previous_capture("http://a.test/p") is None and catalog.history("http://a.test/p") == []
    assert catalog.commit_crawl("20260301T120000Z-abcdef") == 1
    previous = catalog.previous_capture("http://a.test/p")
    assert previous is not None and previous.etag == '"e1"' and previous.original_warc["file"] == "f.warc.gz"
    with catalog.engine.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
    catalog.close()
    assert (tmp_path / "catalog.sqlite").is_file()


def test_previous_capture_skips_failures(tmp_path: Path) -> None:
    catalog = Catalog.open(tmp_path)
    catalog.add_capture("k", record("http://a.test/p", T0), etag=None, last_modified=None,
                        warc_date="d", original=ORIGINAL)
    catalog.add_capture("k", record("http://a.test/p", T0 + timedelta(hours=1), status=404, version=None),
                        etag=None, last_modified=None, warc_date="d", original={})
    catalog.commit_crawl("20260301T120000Z-abcdef")
    previous = catalog.previous_capture("k")
    assert previous is not None and previous.status == 200  # the 404 holds no payload to refer to
    assert catalog.latest_status("k") == 404
    assert [r["status"] for r in catalog.history("k")] == [200, 404]


def test_watches_due_and_schedule(tmp_path: Path) -> None:
    catalog = Catalog.open(tmp_path)
    assert catalog.add_watch("k1", "http://a.test/1", 3600, None, now=T0)
    assert not catalog.add_watch("k1", "http://a.test/1", 60, None, now=T0)  # updated, not duplicated
    assert catalog.add_watch("k2", "http://a.test/2", None, "0 * * * *", now=T0)
    assert {w.url_key for w in catalog.due_watches(now=T0)} == {"k1", "k2"}
    catalog.mark_captured(["k1", "k2"], T0 + timedelta(minutes=5))
    due = {w.url_key: w.next_due_at for w in catalog.list_watches()}
    assert due["k1"] == T0 + timedelta(minutes=6)  # every 60 s
    assert due["k2"] == T0 + timedelta(hours=1)  # the next top of the hour
    assert catalog.due_watches(now=T0 + timedelta(minutes=5, seconds=30)) == []
    assert catalog.remove_watch("k1") and not catalog.remove_watch("k1")


def test_next_due_from_cron_is_utc() -> None:
    assert next_due(T0 + timedelta(minutes=1), None, "30 12 * * *") == T0 + timedelta(minutes=30)
    assert next_due(T0, 90, None) == T0 + timedelta(seconds=90)


def catalog_rows(catalog: Catalog) -> list[tuple[Any, ...]]:
    with catalog.engine.connect() as conn:
        captured = conn.execute(text(
            "SELECT u.url_key, u.url, u.first_seen, u.last_seen, c.fetched_at, c.status, c.etag, c.warc_record_id,"
            " c.original_record_id, c.record_json, c.committed FROM captures c JOIN urls u ON u.id = c.url_id"
            " ORDER BY c.id")).all()
    return [tuple(row) for row in captured]


def test_a_batch_of_captures_is_stored_as_one_by_one(tmp_path: Path) -> None:
    """add_captures (the crawl's batched path) leaves the same rows as add_capture per capture.

    The batch mixes a URL already known, a new URL seen twice (first and last seen must
    span both), and a capture without an original.
    """
    entries = [
        NewCapture("k-old", record("http://a.test/old", T0 + timedelta(minutes=5)), etag='"x"', last_modified=None,
                   warc_date="d1", original=ORIGINAL),
        NewCapture("k-new", record("http://a.test/new", T0 + timedelta(minutes=6)), etag=None,
                   last_modified="Sun, 01 Mar 2026 12:00:00 GMT", warc_date="d2", original=ORIGINAL),
        NewCapture("k-new", record("http://a.test/new?again", T0 + timedelta(minutes=9), status=404, version=None),
                   etag=None, last_modified=None, warc_date="d3", original={}),
    ]
    (tmp_path / "one").mkdir(), (tmp_path / "batch").mkdir()
    one_by_one, batched = Catalog.open(tmp_path / "one"), Catalog.open(tmp_path / "batch")
    for catalog in (one_by_one, batched):
        catalog.add_capture("k-old", record("http://a.test/old", T0), etag=None, last_modified=None,
                            warc_date="d0", original=ORIGINAL)
    for entry in entries:
        one_by_one.add_capture(entry.url_key, entry.record, etag=entry.etag, last_modified=entry.last_modified,
                               warc_date=entry.warc_date, original=entry.original)
    batched.add_captures(entries)
    batched.add_captures([])
    assert catalog_rows(batched) == catalog_rows(one_by_one)
    rows = catalog_rows(batched)
    assert len(rows) == 4 and [row[0] for row in rows] == ["k-old", "k-old", "k-new", "k-new"]
    new_url_row = rows[2]
    assert new_url_row[1] == "http://a.test/new" and new_url_row[2] < new_url_row[3]  # first < last seen
    assert batched.commit_crawl("20260301T120000Z-abcdef") == 4
    assert [r["status"] for r in batched.history("k-new")] == [200, 404]


def redirected(requested: str, final: str, fetched: datetime, **kwargs: Any) -> dict[str, Any]:
    """A record of a page reached through a redirect: requested ``requested``, answered at ``final``."""
    return {**record(final, fetched, **kwargs), "requested_url": requested, "redirects": [requested]}


STORY, ARTICLE = "http://a.test/story/1001", "http://a.test/news/a"


def test_captures_made_through_redirects_belong_to_their_page(tmp_path: Path) -> None:
    """One page, one history: a capture is filed under its final URL, and a URL that redirected to the page finds it."""
    catalog = Catalog.open(tmp_path)
    catalog.add_capture(url_key(ARTICLE), record(ARTICLE, T0), etag=None, last_modified=None, warc_date="d",
                        original=ORIGINAL)
    catalog.add_captures([NewCapture(url_key(ARTICLE), redirected(STORY, ARTICLE, T0 + timedelta(hours=1), version=2),
                                     etag='"e2"', last_modified=None, warc_date="d", original=ORIGINAL)])
    catalog.commit_crawl("20260301T120000Z-abcdef")
    assert [r["version"] for r in catalog.history(url_key(ARTICLE))] == [1, 2]
    assert catalog.history(url_key(STORY)) == catalog.history(url_key(ARTICLE))
    assert catalog.history(url_key("http://a.test/elsewhere")) == []
    previous = catalog.previous_capture(url_key(ARTICLE))
    assert previous is not None and previous.version == 2 and previous.etag == '"e2"'
    with catalog.engine.connect() as conn:
        assert conn.execute(text("SELECT url_key, url FROM urls")).all() == [(url_key(ARTICLE), ARTICLE)]


def test_an_older_catalog_is_filed_under_final_urls_once(tmp_path: Path) -> None:
    """Older code filed captures under their requested URL (and had no redirects or migrations table).

    Opened again, each capture made through a redirect moves to its page; a requested URL left without
    captures becomes a redirect to the page, one with captures of its own (a page before it redirected) stays.
    """
    old_page = "http://a.test/old"
    catalog = Catalog.open(tmp_path)
    catalog.add_capture(url_key(ARTICLE), record(ARTICLE, T0), etag=None, last_modified=None, warc_date="d",
                        original=ORIGINAL)
    catalog.add_capture(url_key(old_page), record(old_page, T0), etag=None, last_modified=None, warc_date="d",
                        original=ORIGINAL)
    for requested, minutes in ((STORY, 30), (old_page, 40)):  # filed under the requested URL, as older code did
        catalog.add_capture(url_key(requested), redirected(requested, ARTICLE, T0 + timedelta(minutes=minutes)),
                            etag=None, last_modified=None, warc_date="d", original=ORIGINAL)
    catalog.commit_crawl("20260301T120000Z-abcdef")
    with catalog.engine.begin() as conn:  # the rest as older code left it: a row's url was the URL requested
        conn.execute(text("UPDATE urls SET url = :url WHERE url_key = :key"), {"url": STORY, "key": url_key(STORY)})
        conn.execute(text("DROP TABLE redirects"))
        conn.execute(text("DROP TABLE migrations"))
    catalog.close()
    for _ in range(2):  # the second opening finds the move done
        catalog = Catalog.open(tmp_path)
        assert [r["fetched_at"] for r in catalog.history(url_key(ARTICLE))] == [
            "2026-03-01T12:00:00Z", "2026-03-01T12:30:00Z", "2026-03-01T12:40:00Z"]
        assert catalog.history(url_key(STORY)) == catalog.history(url_key(ARTICLE))
        assert [r["url"] for r in catalog.history(url_key(old_page))] == [old_page]  # a page of its own before
        with catalog.engine.connect() as conn:
            assert sorted(conn.execute(text("SELECT url_key FROM urls")).scalars()) == sorted(
                [url_key(ARTICLE), url_key(old_page)])
            assert conn.execute(text("SELECT count(*) FROM migrations")).scalar() == 1
        catalog.close()


def following(url: str, fetched: datetime, record_id: str, previous: dict[str, Any] | None) -> dict[str, Any]:
    """A record with its own WARC record id, ``previous``-linked to ``previous`` (a record) as the crawl links it."""
    made = {**record(url, fetched), "warc": {"file": "f.warc.gz", "offset": 0, "length": 10, "record_id": record_id}}
    made["previous"] = ({"crawl_id": previous["crawl_id"], "fetched_at": previous["fetched_at"],
                         "version": previous["version"], "record_id": previous["warc"]["record_id"]}
                        if previous is not None else None)
    return made


def follows_by_record(catalog: Catalog) -> dict[str, str | None]:
    """Each capture's WARC record id -> that of the capture its follows_id names (None: NULL)."""
    with catalog.engine.connect() as conn:
        rows = conn.execute(text("SELECT c.warc_record_id, f.warc_record_id FROM captures c"
                                 " LEFT JOIN captures f ON f.id = c.follows_id ORDER BY c.id")).all()
    return {str(row[0]): row[1] for row in rows}


def test_follows_id_names_the_capture_the_record_follows(tmp_path: Path) -> None:
    """follows_id is the catalog id of the capture a record's `previous` names, on every path that writes
    captures: one by one, in a batch, within the same batch, and for a page that moved to another URL."""
    moved = "http://a.test/moved"
    first = following(ARTICLE, T0, "<urn:uuid:first>", None)
    second = following(ARTICLE, T0 + timedelta(hours=1), "<urn:uuid:second>", first)
    third = following(ARTICLE, T0 + timedelta(hours=2), "<urn:uuid:third>", second)
    fourth = following(ARTICLE, T0 + timedelta(hours=3), "<urn:uuid:fourth>", third)  # same batch as third
    elsewhere = following(moved, T0 + timedelta(hours=4), "<urn:uuid:moved>", fourth)  # filed under another page
    catalog = Catalog.open(tmp_path)
    for made in (first, second):
        catalog.add_capture(url_key(ARTICLE), made, etag=None, last_modified=None, warc_date="d", original=ORIGINAL)
    catalog.add_captures([NewCapture(url_key(url), made, etag=None, last_modified=None, warc_date="d",
                                     original=ORIGINAL)
                          for url, made in ((ARTICLE, third), (ARTICLE, fourth), (moved, elsewhere))])
    assert follows_by_record(catalog) == {"<urn:uuid:first>": None, "<urn:uuid:second>": "<urn:uuid:first>",
                                          "<urn:uuid:third>": "<urn:uuid:second>",
                                          "<urn:uuid:fourth>": "<urn:uuid:third>",
                                          "<urn:uuid:moved>": "<urn:uuid:fourth>"}
    catalog.close()


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
