"""The storage seams (storage/backends.py): what every backend of each must do, on real files.

One suite per seam.  Each runs against every implementation its fixture lists: today the local ones;
issue 17's PostgreSQL catalog, leased frontier and shared dedup index, and its per-worker WARC
destination, are added to the same fixtures' ``params``.  A fixture gives a way to *open* the backend,
so that a test can close it and open it again on the same store (a resume, another process).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine

from scraper.scope import url_key
from scraper.storage.backends import CatalogBackend, Frontier, RevisitLookup, WarcDestination
from scraper.storage.catalog import Catalog, NewCapture
from scraper.storage.journal import FRONTIER_FILE, JournalFrontier, ScheduledRequest
from scraper.storage.layout import OPEN_SUFFIX, LocalWarcFolder
from scraper.storage.lookup import CatalogRevisits, DatabaseRevisits
from scraper.storage.shared import SharedFrontier, SharedState
from scraper.storage.verify import verify_files
from scraper.storage.warc import ExchangeLocation, HttpExchange, WarcFileWriter, iter_records, read_record_at

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
CRAWL = "20260301T120000Z-abcdef"
LATER_CRAWL = "20260302T120000Z-fedcba"


def exchange(url: str, body: bytes, when: datetime = T0) -> HttpExchange:
    return HttpExchange(url=url, method="GET", request_headers=[("Host", "a.test")], request_body=b"",
                        protocol="HTTP/1.1", status=200, reason="OK",
                        response_headers=[("Content-Type", "text/html"), ("Content-Length", str(len(body)))],
                        response_body=body, fetched_at=when, remote_ip="127.0.0.1")


def page_record(url: str, crawl_id: str, when: datetime, location: ExchangeLocation, *, version: int = 1,
                requested_url: str | None = None) -> dict[str, Any]:
    """A page record for a response written to a real WARC file, as the crawl builds it (the fields the
    catalog reads)."""
    return {"crawl_id": crawl_id, "requested_url": requested_url or url, "url": url, "status": 200,
            "fetched_at": when.strftime("%Y-%m-%dT%H:%M:%SZ"), "record_kind": "response", "revisit_profile": None,
            "payload_digest": location.payload_digest, "text_sha256": None, "version": version,
            "changed_fields": [], "content_type": "text/html", "redirects": [],
            "warc": asdict(location.response)}


def capture(record: dict[str, Any], location: ExchangeLocation, etag: str | None = None) -> NewCapture:
    original = {"record_id": location.response.record_id, "warc_date": location.warc_date,
                "target_uri": record["url"], "crawl_id": record["crawl_id"], "file": location.response.file,
                "offset": location.response.offset, "length": location.response.length}
    return NewCapture(url_key(record["url"]), record, etag=etag, last_modified=None, warc_date=location.warc_date,
                      original=original)


# -- the catalog ---------------------------------------------------------------------------------------------------
OpenCatalog = Callable[[], CatalogBackend]


@pytest.fixture(params=["sqlite", "postgresql"])
def open_catalog(request: pytest.FixtureRequest, tmp_path: Path) -> OpenCatalog:
    """Opens the catalog backend on one store (the same store at every call)."""
    if request.param == "sqlite":
        return lambda: Catalog.open(tmp_path)
    if request.param == "postgresql":  # a database of its own on the suite's real server (tests/postgres.py)
        url = request.getfixturevalue("postgres").new_database()
        return lambda: Catalog.open(tmp_path, url)
    raise AssertionError(request.param)


def _two_versions(catalog: CatalogBackend, folder: Path) -> tuple[ExchangeLocation, ExchangeLocation]:
    """A page captured by two crawls, the second through a redirect; both committed."""
    writer = WarcFileWriter(folder, host="test")
    first = writer.write_exchange(exchange("http://a.test/p", b"<p>one</p>"))
    second = writer.write_exchange(exchange("http://a.test/p", b"<p>two</p>", T0 + timedelta(days=1)))
    writer.close()
    catalog.add_captures([capture(page_record("http://a.test/p", CRAWL, T0, first), first, etag='"1"')])
    assert catalog.commit_crawl(CRAWL) == 1
    catalog.add_captures([capture(page_record("http://a.test/p", LATER_CRAWL, T0 + timedelta(days=1), second,
                                              version=2, requested_url="http://a.test/old-p"), second)])
    return first, second


def test_catalog_captures_are_unseen_until_their_crawl_commits(open_catalog: OpenCatalog, tmp_path: Path) -> None:
    catalog = open_catalog()
    _, second = _two_versions(catalog, tmp_path / "warcs")
    assert [r["version"] for r in catalog.history(url_key("http://a.test/p"))] == [1]  # the second: uncommitted
    assert catalog.crawl_record_ids(LATER_CRAWL) == {second.response.record_id}  # committed or not
    assert catalog.captures_of_record(second.response.record_id) == []
    assert catalog.commit_crawl(LATER_CRAWL) == 1
    catalog.close()

    reopened = open_catalog()  # another process, later
    history = reopened.history(url_key("http://a.test/p"))
    assert [(r["version"], r["crawl_id"]) for r in history] == [(1, CRAWL), (2, LATER_CRAWL)]  # oldest first
    assert reopened.history(url_key("http://a.test/old-p")) == history  # a redirect source finds its page
    reopened.close()


def test_catalog_points_at_the_warc_records(open_catalog: OpenCatalog, tmp_path: Path) -> None:
    catalog = open_catalog()
    first, second = _two_versions(catalog, tmp_path / "warcs")
    catalog.commit_crawl(LATER_CRAWL)
    (found,) = catalog.captures_of_record(first.response.record_id)
    assert (found.crawl_id, found.warc_file, found.warc_offset) == (CRAWL, first.response.file,
                                                                    first.response.offset)
    stored = read_record_at(tmp_path / "warcs" / found.warc_file, found.warc_offset)
    assert stored.record_id == first.response.record_id and stored.content == b"<p>one</p>"
    assert catalog.captures_of_record(first.response.record_id, LATER_CRAWL) == []  # not in that crawl
    original = catalog.original_of_payload(url_key("http://a.test/p"), second.payload_digest,
                                           T0 + timedelta(days=2))
    assert original is not None and original.warc_record_id == second.response.record_id
    assert catalog.original_of_payload(url_key("http://a.test/p"), second.payload_digest, T0) is None  # not yet
    catalog.close()


def test_catalog_replaces_records_of_a_crawl(open_catalog: OpenCatalog, tmp_path: Path) -> None:
    catalog = open_catalog()
    _, second = _two_versions(catalog, tmp_path / "warcs")
    catalog.commit_crawl(LATER_CRAWL)
    fixed = {**page_record("http://a.test/p", LATER_CRAWL, T0 + timedelta(days=1), second, version=2),
             "text": "two", "extractor": {"name": "test"}}
    assert catalog.replace_records(LATER_CRAWL, [fixed]) == 1
    assert catalog.history(url_key("http://a.test/p"))[-1]["text"] == "two"
    catalog.close()


def test_catalog_watches(open_catalog: OpenCatalog) -> None:
    catalog = open_catalog()
    assert catalog.add_watch("k1", "http://a.test/1", 3600, None, now=T0)
    assert not catalog.add_watch("k1", "http://a.test/1", 60, None, now=T0)  # a new schedule, not a second watch
    assert [w.url_key for w in catalog.due_watches(now=T0)] == ["k1"]
    assert catalog.mark_captured(["k1"], T0) == []
    catalog.close()
    reopened = open_catalog()
    assert [(w.url_key, w.next_due_at) for w in reopened.list_watches()] == [("k1", T0 + timedelta(seconds=60))]
    assert reopened.due_watches(now=T0 + timedelta(seconds=30)) == []
    assert reopened.remove_watch("k1") and reopened.list_watches() == []
    reopened.close()


# -- the revisit lookup --------------------------------------------------------------------------------------------
@pytest.fixture(params=["catalog", "postgresql-catalog", "postgresql-shared"])
def revisit_store(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[CatalogBackend, Callable[[], RevisitLookup]]:
    """A catalog to file captures in, and a way to open the lookup that answers from what it holds."""
    db = request.getfixturevalue("postgres").new_database() if request.param.startswith("postgresql") else None
    catalog = Catalog.open(tmp_path, db)
    if request.param in ("catalog", "postgresql-catalog"):
        return catalog, lambda: CatalogRevisits(catalog)
    if request.param == "postgresql-shared":  # a worker's: the shared dedup index, asked each time
        return catalog, lambda: DatabaseRevisits(catalog)
    raise AssertionError(request.param)


def test_lookup_finds_a_stored_payload_and_where_it_is(
        revisit_store: tuple[CatalogBackend, Callable[[], RevisitLookup]], tmp_path: Path) -> None:
    catalog, open_lookup = revisit_store
    writer = WarcFileWriter(tmp_path / "warcs", host="test")
    stored = writer.write_exchange(exchange("http://a.test/p", b"<p>same</p>"))
    writer.close()  # the file is closed before its captures are committed, as a crawl does it
    catalog.add_captures([capture(page_record("http://a.test/p", CRAWL, T0, stored), stored, etag='"v1"')])
    assert open_lookup().previous_capture(url_key("http://a.test/p")) is None  # uncommitted: the WARC may not be
    catalog.commit_crawl(CRAWL)

    lookup = open_lookup()
    found = lookup.previous_capture(url_key("http://a.test/p"))
    assert found is not None and found.etag == '"v1"' and found.status == 200
    assert found.payload_digest == stored.payload_digest
    assert found.original_record_id == stored.response.record_id and found.original_target_uri == "http://a.test/p"
    where = found.original_warc
    assert (where["crawl_id"], where["file"], where["offset"]) == (CRAWL, stored.response.file,
                                                                   stored.response.offset)
    record = read_record_at(tmp_path / "warcs" / where["file"], where["offset"])
    assert record.content == b"<p>same</p>" and record.date == found.original_warc_date
    assert lookup.previous_capture(url_key("http://a.test/other")) is None  # never stored
    assert lookup.previous_capture(url_key("http://a.test/p"), before=T0) is None  # not before it was fetched
    catalog.close()


# -- the frontier --------------------------------------------------------------------------------------------------
OpenFrontier = Callable[[], Frontier]


@pytest.fixture(params=["journal", "postgresql-shared"])
def open_frontier(request: pytest.FixtureRequest, tmp_path: Path) -> OpenFrontier:
    """Opens one crawl's frontier (the same crawl at every call: a resume, or another worker)."""
    if request.param == "journal":
        return lambda: JournalFrontier(tmp_path)
    if request.param == "postgresql-shared":
        engine = create_engine(request.getfixturevalue("postgres").new_database())
        request.addfinalizer(engine.dispose)
        state = SharedState(engine)
        return lambda: SharedFrontier(state, CRAWL, "w1", lease_seconds=60)
    raise AssertionError(request.param)


SEED = ScheduledRequest("http://a.test/", "page", 0, None)
SITEMAP = ScheduledRequest("http://a.test/sitemap.xml", "sitemap", 0, None)
LINK = ScheduledRequest("http://a.test/a", "page", 1, "http://a.test/")


def test_frontier_keeps_what_was_added_across_a_reopen(open_frontier: OpenFrontier) -> None:
    frontier = open_frontier()
    for request in (SEED, SITEMAP, LINK):
        frontier.add(request)
    frontier.mark_done(SITEMAP.url)
    frontier.close()  # the process ends (or dies: every line was written when it was made)

    resumed = open_frontier()
    state = resumed.read()
    assert state.scheduled == [SEED, SITEMAP, LINK]  # in the order added
    assert state.fetched_sources == {SITEMAP.url}
    later = ScheduledRequest("http://a.test/b", "page", 2, LINK.url)
    resumed.add(later)
    resumed.close()
    assert open_frontier().read().scheduled == [SEED, SITEMAP, LINK, later]  # the sessions add up


def test_an_empty_frontier_has_nothing_left(open_frontier: OpenFrontier) -> None:
    frontier = open_frontier()
    state = frontier.read()
    assert state.scheduled == [] and state.fetched_sources == set()
    frontier.close()


def test_journal_frontier_skips_a_line_torn_by_a_crash(tmp_path: Path) -> None:
    frontier = JournalFrontier(tmp_path)
    frontier.add(SEED)
    frontier.close()
    with open(tmp_path / FRONTIER_FILE, "ab") as fh:
        fh.write(b'{"url":"http://a.test/tor')  # killed in the middle of a line
    resumed = JournalFrontier(tmp_path)
    assert resumed.read().scheduled == [SEED]
    resumed.add(LINK)  # the first request of the resumed session is not glued to the torn line
    resumed.close()
    assert JournalFrontier(tmp_path).read().scheduled == [SEED, LINK]


# -- the WARC destination ------------------------------------------------------------------------------------------
OpenDestination = Callable[[str], WarcDestination]


@pytest.fixture(params=["local"])
def open_destination(request: pytest.FixtureRequest, tmp_path: Path) -> OpenDestination:
    """Opens a destination for one writer (``worker`` names it) of one crawl."""
    if request.param == "local":
        return lambda worker: LocalWarcFolder(tmp_path / "crawl", prefix="t", host=worker)
    raise AssertionError(request.param)


def test_destination_names_a_file_final_only_once_closed(open_destination: OpenDestination) -> None:
    destination = open_destination("w1")
    name, handle = destination.begin()
    handle.write(b"not yet whole")
    assert not (destination.directory / name).exists()  # no reader takes it for a finished file
    assert (destination.directory / (name + OPEN_SUFFIX)).is_file()
    destination.finish(name, handle)
    assert handle.closed and (destination.directory / name).read_bytes() == b"not yet whole"
    assert not list(destination.directory.glob("*" + OPEN_SUFFIX))
    assert destination.closed_files == [name] and destination.files_begun == 1


def test_destination_files_rotate_at_the_size_limit(open_destination: OpenDestination) -> None:
    destination = open_destination("w1")
    writer = WarcFileWriter(destination=destination, max_bytes=2_000, info={"crawl-id": CRAWL})
    locations = [writer.write_exchange(exchange(f"http://a.test/{i}", bytes(range(256)) * 8)) for i in range(6)]
    writer.close()
    names = destination.closed_files
    assert len(names) >= 3 and len(set(names)) == len(names) and destination.files_begun == len(names)
    assert names == sorted(names)  # the serial numbers sort them in the order written
    assert sorted(p.name for p in destination.directory.iterdir()) == sorted(names)
    reports = verify_files([destination.directory / name for name in names])
    assert [fault for report in reports for fault in report.findings()] == []
    for name in names:
        types = [r.rec_type for r in iter_records(destination.directory / name)]
        assert types[0] == "warcinfo" and types.count("warcinfo") == 1  # each file says what it is part of
    for location in locations:  # every pointer the writer returned reads back its record
        assert read_record_at(destination.directory / location.response.file,
                              location.response.offset).record_id == location.response.record_id


def test_destinations_of_two_writers_never_share_a_file(open_destination: OpenDestination) -> None:
    first, second = open_destination("w1"), open_destination("w2")
    names = []
    for destination in (first, second):
        name, handle = destination.begin()
        handle.write(b"x")
        destination.finish(name, handle)
        names.append(name)
    assert names[0] != names[1] and "w1" in names[0] and "w2" in names[1]  # the writer's name in the file's


def test_an_abandoned_file_is_left_to_be_repaired(open_destination: OpenDestination) -> None:
    destination = open_destination("w1")
    name, handle = destination.begin()
    handle.write(b"torn")
    destination.abandon(name, handle)
    assert handle.closed and destination.closed_files == []
    assert (destination.directory / (name + OPEN_SUFFIX)).read_bytes() == b"torn"
