"""The catalog: every URL, every capture, every watch (SQLAlchemy Core).

SQLite in WAL mode by default (``<root>/catalog.sqlite``); any SQLAlchemy URL
(PostgreSQL) works too.  Captures are written while a crawl runs with
``committed = false`` and marked committed once their WARC files are closed, so
readers never see a capture whose records are not in a closed WARC.

One page, one history: a capture belongs to the ``urls`` row of its *final* URL (after
redirects), so a page captured through ``/story/1001`` (301) and directly has its versions
in one line.  The URLs that redirected to a page are kept in ``redirects``, so that
``history`` of a redirect source finds the page it led to.  Catalogs written before this
(captures under their requested URL) are moved over once, when first opened.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import (
    Boolean,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    bindparam,
    create_engine,
    delete,
    event,
    func,
    select,
    update,
)
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError, OperationalError

from scraper.scope import url_key as key_of

CATALOG_FILE = "catalog.sqlite"
metadata = MetaData()

urls = Table(
    "urls", metadata,
    Column("id", Integer, primary_key=True),
    Column("url_key", String, nullable=False, unique=True),
    Column("url", Text, nullable=False),
    Column("first_seen", DateTime(timezone=True), nullable=False),
    Column("last_seen", DateTime(timezone=True), nullable=False),
)

captures = Table(
    "captures", metadata,
    Column("id", Integer, primary_key=True),
    Column("url_id", Integer, ForeignKey("urls.id"), nullable=False),
    Column("crawl_id", String, nullable=False),
    Column("fetched_at", DateTime(timezone=True), nullable=False),
    Column("status", Integer, nullable=False),
    Column("url", Text, nullable=False),
    Column("record_kind", String, nullable=False),  # response | revisit
    Column("revisit_profile", String),
    Column("payload_digest", String),
    Column("text_sha256", String),
    Column("text_simhash", String),
    Column("version", Integer),
    Column("follows_id", Integer, ForeignKey("captures.id")),
    Column("changed_fields", Text, nullable=False, default="[]"),
    Column("etag", Text),
    Column("last_modified", Text),
    Column("warc_file", String, nullable=False),
    Column("warc_offset", Integer, nullable=False),
    Column("warc_length", Integer, nullable=False),
    Column("warc_record_id", String, nullable=False),
    Column("warc_date", String, nullable=False),
    # the response record that holds the payload (itself, or a revisit's original)
    Column("original_record_id", String),
    Column("original_warc_date", String),
    Column("original_target_uri", Text),
    Column("original_crawl_id", String),
    Column("original_warc_file", String),
    Column("original_warc_offset", Integer),
    Column("original_warc_length", Integer),
    Column("record_json", Text, nullable=False),
    Column("committed", Boolean, nullable=False, default=False),
)
Index("captures_by_url", captures.c.url_id, captures.c.fetched_at)
Index("captures_by_crawl", captures.c.crawl_id)

# A URL that redirected to a page (the url_key of a requested URL or of a redirect hop), and the
# page it led to the last time: captures and versions belong to the page's own `urls` row.
redirects = Table(
    "redirects", metadata,
    Column("id", Integer, primary_key=True),
    Column("url_key", String, nullable=False, unique=True),
    Column("url_id", Integer, ForeignKey("urls.id"), nullable=False),
    Column("last_seen", DateTime(timezone=True), nullable=False),
)

# One-time changes to the data of catalogs written by older versions, by name, once applied.
migrations = Table(
    "migrations", metadata,
    Column("name", String, primary_key=True),
    Column("applied_at", DateTime(timezone=True), nullable=False),
)
PAGE_KEYS_MIGRATION = "captures-under-final-url"

watches = Table(
    "watches", metadata,
    Column("id", Integer, primary_key=True),
    Column("url_key", String, nullable=False, unique=True),
    Column("url", Text, nullable=False),
    Column("every_seconds", Float),
    Column("cron", String),
    Column("added_at", DateTime(timezone=True), nullable=False),
    # When a rearchive run last took the URL (what the schedule counts from). The name is older
    # than its meaning and kept so existing catalogs open unchanged: when the URL was last
    # *captured* comes from its captures (Catalog.last_captured), whoever made them.
    Column("last_captured_at", DateTime(timezone=True)),
    Column("next_due_at", DateTime(timezone=True), nullable=False),
)


def catalog_url(root: Path, db: str | None = None) -> str:
    return db or f"sqlite:///{(root / CATALOG_FILE).resolve()}"


def _utc(value: datetime | None) -> datetime | None:
    # SQLite returns naive datetimes: they were stored as UTC.
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


@dataclass(frozen=True)
class NewCapture:
    """A capture to add: its page record and what re-archiving will ask of it."""

    url_key: str  # the page's: of its final URL (``record["url"]``), not of the URL requested
    record: dict[str, Any]
    etag: str | None
    last_modified: str | None
    warc_date: str
    original: dict[str, Any]
    record_json: str | None = None  # the record serialised already, if the caller has it


def _fetched_at(record: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(record["fetched_at"].replace("Z", "+00:00"))


def _redirect_keys(entry: NewCapture) -> set[str]:
    """The url_keys of the URLs that led to the page (requested URL, redirect hops), its own aside."""
    record = entry.record
    if not record.get("redirects") and record.get("requested_url") == record.get("url"):
        return set()  # most pages: no URL to compute a key of (url_key costs the crawl's CPU)
    return {key_of(u) for u in [record.get("requested_url"), *(record.get("redirects") or [])] if u} - {entry.url_key}


def _capture_row(url_id: int, entry: NewCapture) -> dict[str, Any]:
    record, original = entry.record, entry.original
    previous = record.get("previous") or {}
    return {
        "url_id": url_id, "crawl_id": record["crawl_id"], "fetched_at": _fetched_at(record),
        "status": record["status"], "url": record["url"], "record_kind": record["record_kind"],
        "revisit_profile": record["revisit_profile"], "payload_digest": record["payload_digest"],
        "text_sha256": record["text_sha256"], "text_simhash": record.get("text_simhash"),
        "version": record.get("version"), "follows_id": previous.get("capture_id"),
        "changed_fields": json.dumps(record.get("changed_fields", [])),
        "etag": entry.etag, "last_modified": entry.last_modified,
        "warc_file": record["warc"]["file"], "warc_offset": record["warc"]["offset"],
        "warc_length": record["warc"]["length"], "warc_record_id": record["warc"]["record_id"],
        "warc_date": entry.warc_date,
        "original_record_id": original.get("record_id"), "original_warc_date": original.get("warc_date"),
        "original_target_uri": original.get("target_uri"), "original_crawl_id": original.get("crawl_id"),
        "original_warc_file": original.get("file"), "original_warc_offset": original.get("offset"),
        "original_warc_length": original.get("length"),
        "record_json": entry.record_json or json.dumps(record, ensure_ascii=False), "committed": False,
    }


@dataclass(frozen=True)
class PreviousCapture:
    """What re-archiving needs to know about a URL's last good capture."""

    capture_id: int
    version: int | None
    status: int
    etag: str | None
    last_modified: str | None
    payload_digest: str | None
    text_sha256: str | None
    original_record_id: str
    original_warc_date: str
    original_target_uri: str
    original_warc: dict[str, Any]  # {crawl_id, file, offset, length}
    record: dict[str, Any]


@dataclass(frozen=True)
class Watch:
    url: str
    url_key: str
    every_seconds: float | None
    cron: str | None
    added_at: datetime
    last_captured_at: datetime | None  # the URL's latest committed capture, by any crawl; None if none
    last_run_at: datetime | None  # when a rearchive run last took the URL: the schedule counts from it
    next_due_at: datetime


def next_due(after: datetime, every_seconds: float | None, cron: str | None) -> datetime:
    if cron:
        from croniter import croniter

        return _utc(croniter(cron, after.astimezone(UTC)).get_next(datetime)) or after
    return after + timedelta(seconds=every_seconds or 86400)


class Catalog:
    def __init__(self, url: str) -> None:
        self.url = url
        self.engine: Engine = create_engine(url, future=True)
        if self.engine.dialect.name == "sqlite":
            @event.listens_for(self.engine, "connect")
            def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
                cursor = dbapi_connection.cursor()
                cursor.execute("PRAGMA journal_mode=WAL")  # readers never block the crawl's writes
                cursor.execute("PRAGMA synchronous=NORMAL")
                cursor.execute("PRAGMA busy_timeout=30000")
                cursor.execute("PRAGMA foreign_keys=ON")
                cursor.close()
        metadata.create_all(self.engine)
        self._migrate(PAGE_KEYS_MIGRATION, self._file_captures_under_their_page)

    def _migrate(self, name: str, change: Callable[[Any], None]) -> None:
        """Apply a one-time change to the data, in one transaction with its mark in ``migrations``.

        Two processes opening an old catalog at once: the second's transaction fails (the first
        holds the write lock, or inserted the mark first) and, tried again, finds the mark.
        """
        for attempt in range(2):
            try:
                with self.engine.begin() as conn:
                    if conn.execute(select(migrations.c.name).where(migrations.c.name == name)).first() is not None:
                        return
                    change(conn)
                    conn.execute(migrations.insert().values(name=name, applied_at=datetime.now(UTC)))
                return
            except (OperationalError, IntegrityError):
                if attempt:
                    raise

    @staticmethod
    def _file_captures_under_their_page(conn: Any) -> None:
        """Catalogs written before pages were keyed by their final URL: move each capture made
        through a redirect from its requested URL's row to its page's, and remember the redirect.

        Only captures whose URL differs from their row's are looked at (SQL does that part);
        a requested URL's row left without captures is removed, its key now a redirect.
        """
        query = (select(captures.c.id, captures.c.url, captures.c.fetched_at, urls.c.id.label("old_id"),
                        urls.c.url_key.label("old_key"))
                 .join(urls, urls.c.id == captures.c.url_id).where(captures.c.url != urls.c.url)
                 .order_by(captures.c.fetched_at, captures.c.id))
        moves: list[tuple[int, str, str, datetime, str, int]] = []  # capture, page key, url, when, old key, old id
        for row in conn.execute(query):
            page_key = key_of(row.url)
            if page_key != row.old_key:
                moves.append((int(row.id), page_key, str(row.url), _utc(row.fetched_at) or row.fetched_at,
                              str(row.old_key), int(row.old_id)))
        if not moves:
            return
        page_ids = Catalog._url_ids(conn, list({move[1] for move in moves}))
        for capture_id, page_key, url, when, old_key, _old_id in moves:
            if page_key not in page_ids:
                inserted = conn.execute(urls.insert().values(url_key=page_key, url=url, first_seen=when,
                                                             last_seen=when))
                page_ids[page_key] = int(inserted.inserted_primary_key[0])  # type: ignore[index]
            conn.execute(update(captures).where(captures.c.id == capture_id).values(url_id=page_ids[page_key]))
            Catalog._remember_redirects(conn, {old_key: (page_ids[page_key], when)})
        for old_id in {move[5] for move in moves}:
            if conn.execute(select(captures.c.id).where(captures.c.url_id == old_id).limit(1)).first() is None:
                conn.execute(delete(urls).where(urls.c.id == old_id))

    @classmethod
    def open(cls, root: Path, db: str | None = None) -> Catalog:
        return cls(catalog_url(root, db))

    def close(self) -> None:
        self.engine.dispose()

    # -- captures -----------------------------------------------------------------------------
    def _url_id(self, conn: Any, url_key: str, url: str, when: datetime) -> int:
        row = conn.execute(select(urls.c.id).where(urls.c.url_key == url_key)).first()
        if row is not None:
            conn.execute(update(urls).where(urls.c.id == row.id).values(last_seen=when))
            return int(row.id)
        inserted = conn.execute(urls.insert().values(url_key=url_key, url=url, first_seen=when, last_seen=when))
        return int(inserted.inserted_primary_key[0])  # type: ignore[index]

    def add_capture(self, url_key: str, record: dict[str, Any], *, etag: str | None, last_modified: str | None,
                    warc_date: str, original: dict[str, Any]) -> int:
        """One capture, uncommitted until ``commit_crawl``; returns its id."""
        fetched_at = _fetched_at(record)
        with self.engine.begin() as conn:
            url_id = self._url_id(conn, url_key, record["url"], fetched_at)
            entry = NewCapture(url_key, record, etag=etag, last_modified=last_modified, warc_date=warc_date,
                               original=original)
            result = conn.execute(captures.insert().values(**_capture_row(url_id, entry)))
            self._remember_redirects(conn, {key: (url_id, fetched_at) for key in _redirect_keys(entry)})
            return int(result.inserted_primary_key[0])  # type: ignore[index]

    def add_captures(self, entries: Sequence[NewCapture]) -> None:
        """Many captures in one transaction, uncommitted until ``commit_crawl``.

        The crawl buffers its captures and writes them this way: three statements per batch
        instead of three per capture (SQLAlchemy's per-statement work cost a tenth of the
        crawl process's CPU).
        """
        if not entries:
            return
        with self.engine.begin() as conn:
            seen: dict[str, tuple[str, datetime, datetime]] = {}  # url_key -> (first url, first, last fetch)
            for entry in entries:
                when = _fetched_at(entry.record)
                url, first, last = seen.get(entry.url_key, (entry.record["url"], when, when))
                seen[entry.url_key] = (url, min(first, when), max(last, when))
            url_ids = self._url_ids(conn, list(seen))
            if url_ids:
                conn.execute(update(urls).where(urls.c.id == bindparam("url_id")).values(last_seen=bindparam("seen")),
                             [{"url_id": url_ids[key], "seen": seen[key][2]} for key in url_ids])
            new_keys = [key for key in seen if key not in url_ids]
            if new_keys:
                conn.execute(urls.insert(), [{"url_key": key, "url": seen[key][0], "first_seen": seen[key][1],
                                              "last_seen": seen[key][2]} for key in new_keys])
                url_ids.update(self._url_ids(conn, new_keys))
            conn.execute(captures.insert(), [_capture_row(url_ids[entry.url_key], entry) for entry in entries])
            led: dict[str, tuple[int, datetime]] = {}  # redirect source -> (page, when), the latest capture winning
            for entry in entries:
                when = _fetched_at(entry.record)
                for key in _redirect_keys(entry):
                    if key not in led or led[key][1] <= when:
                        led[key] = (url_ids[entry.url_key], when)
            self._remember_redirects(conn, led)

    @staticmethod
    def _remember_redirects(conn: Any, led: dict[str, tuple[int, datetime]]) -> None:
        """Each redirect source (url_key) -> the page (urls.id) it led to, unless it led elsewhere later."""
        if not led:
            return
        keys = list(led)
        known: dict[str, datetime] = {}
        for start in range(0, len(keys), 500):
            query = (select(redirects.c.url_key, redirects.c.last_seen)
                     .where(redirects.c.url_key.in_(keys[start:start + 500])))
            known.update({row.url_key: _utc(row.last_seen) or row.last_seen for row in conn.execute(query)})
        changed = [{"key": key, "page": page, "seen": when} for key, (page, when) in led.items()
                   if key in known and known[key] <= when]
        if changed:
            conn.execute(update(redirects).where(redirects.c.url_key == bindparam("key"))
                         .values(url_id=bindparam("page"), last_seen=bindparam("seen")), changed)
        new = [{"url_key": key, "url_id": page, "last_seen": when} for key, (page, when) in led.items()
               if key not in known]
        if new:
            conn.execute(redirects.insert(), new)

    @staticmethod
    def _url_ids(conn: Any, keys: list[str]) -> dict[str, int]:
        found: dict[str, int] = {}
        for start in range(0, len(keys), 500):  # SQLite's bound-parameter limit is 999 on old builds
            query = select(urls.c.url_key, urls.c.id).where(urls.c.url_key.in_(keys[start:start + 500]))
            found.update({row.url_key: int(row.id) for row in conn.execute(query)})
        return found

    @staticmethod
    def _page_id(conn: Any, url_key: str) -> int | None:
        """The page a URL names: its own row, else the page it last redirected to."""
        row = conn.execute(select(urls.c.id).where(urls.c.url_key == url_key)).first()
        if row is None:
            row = conn.execute(select(redirects.c.url_id).where(redirects.c.url_key == url_key)).first()
        return int(row[0]) if row is not None else None

    def replace_records(self, crawl_id: str, records: Sequence[dict[str, Any]]) -> int:
        """Put corrected page records in place of a crawl's captures of the same WARC response records
        (a resume re-extracting pages whose extraction did not run); returns the rows changed."""
        if not records:
            return 0
        rows = [{"crawl": crawl_id, "record_id": r["warc"]["record_id"],
                 "json": json.dumps(r, ensure_ascii=False), "sha": r.get("text_sha256"),
                 "simhash": r.get("text_simhash"), "ver": r.get("version"),
                 "changed": json.dumps(r.get("changed_fields", []))} for r in records]
        statement = (update(captures).where(captures.c.crawl_id == bindparam("crawl"),
                                            captures.c.warc_record_id == bindparam("record_id"))
                     .values(record_json=bindparam("json"), text_sha256=bindparam("sha"),
                             text_simhash=bindparam("simhash"), version=bindparam("ver"),
                             changed_fields=bindparam("changed")))
        with self.engine.begin() as conn:
            return int(conn.execute(statement, rows).rowcount or 0)

    def commit_crawl(self, crawl_id: str) -> int:
        """Mark a crawl's captures readable: call once its WARC files are closed."""
        with self.engine.begin() as conn:
            result = conn.execute(update(captures).where(captures.c.crawl_id == crawl_id).values(committed=True))
            return int(result.rowcount or 0)

    def crawl_record_ids(self, crawl_id: str) -> set[str]:
        """The WARC record ids of a crawl's captures, committed or not: what a resumed crawl has."""
        query = select(captures.c.warc_record_id).where(captures.c.crawl_id == crawl_id)
        with self.engine.connect() as conn:
            return set(conn.execute(query).scalars())

    def captured_key_hashes(self) -> set[int]:
        """``hash(url_key)`` of every URL that :meth:`previous_capture` could find.

        A crawl asks this once, then queries only URLs whose hash is in the set: one query
        per discovered link cost a sixth of the crawl process's CPU, and on a first crawl
        every one of them finds nothing.  Hashes, not keys: about 50 bytes a URL instead of
        150; a collision only costs one query that finds nothing.
        """
        query = (select(urls.c.url_key).distinct().join(captures, urls.c.id == captures.c.url_id)
                 .where(captures.c.committed.is_(True), captures.c.status >= 200, captures.c.status < 300,
                        captures.c.original_record_id.is_not(None)))
        with self.engine.connect() as conn:
            return {hash(key) for key in conn.execute(query).scalars()}

    def previous_capture(self, url_key: str, before: datetime | None = None) -> PreviousCapture | None:
        """The latest committed capture of a URL that holds (or refers to) a 2xx payload
        (fetched before ``before``, when given: `scraper import` files old captures into the timeline)."""
        query = (select(captures).join(urls, urls.c.id == captures.c.url_id)
                 .where(urls.c.url_key == url_key, captures.c.committed.is_(True),
                        captures.c.status >= 200, captures.c.status < 300,
                        captures.c.original_record_id.is_not(None))
                 .order_by(captures.c.fetched_at.desc(), captures.c.id.desc()).limit(1))
        if before is not None:
            query = query.where(captures.c.fetched_at < before)
        with self.engine.connect() as conn:
            row = conn.execute(query).first()
        if row is None:
            return None
        return PreviousCapture(
            capture_id=row.id, version=row.version, status=row.status, etag=row.etag,
            last_modified=row.last_modified, payload_digest=row.payload_digest, text_sha256=row.text_sha256,
            original_record_id=row.original_record_id, original_warc_date=row.original_warc_date,
            original_target_uri=row.original_target_uri,
            original_warc={"crawl_id": row.original_crawl_id, "file": row.original_warc_file,
                           "offset": row.original_warc_offset, "length": row.original_warc_length},
            record=json.loads(row.record_json),
        )

    def latest_status(self, url_key: str) -> int | None:
        query = (select(captures.c.status).join(urls, urls.c.id == captures.c.url_id)
                 .where(urls.c.url_key == url_key, captures.c.committed.is_(True))
                 .order_by(captures.c.fetched_at.desc(), captures.c.id.desc()).limit(1))
        with self.engine.connect() as conn:
            row = conn.execute(query).first()
        return int(row.status) if row is not None else None

    def history(self, url_key: str) -> list[dict[str, Any]]:
        """Every committed capture of a page, oldest first, as page records.

        ``url_key`` is the page's (its final URL's), or that of a URL that redirected to it.
        """
        with self.engine.connect() as conn:
            page_id = self._page_id(conn, url_key)
            if page_id is None:
                return []
            query = (select(captures.c.record_json)
                     .where(captures.c.url_id == page_id, captures.c.committed.is_(True))
                     .order_by(captures.c.fetched_at, captures.c.id))
            return [json.loads(row.record_json) for row in conn.execute(query)]

    def iter_records(self) -> Iterator[dict[str, Any]]:
        with self.engine.connect() as conn:
            for row in conn.execute(select(captures.c.record_json).where(captures.c.committed.is_(True))
                                    .order_by(captures.c.id)):
                yield json.loads(row.record_json)

    # -- watches --------------------------------------------------------------------------------
    def add_watch(self, url_key: str, url: str, every_seconds: float | None, cron: str | None,
                  now: datetime | None = None) -> bool:
        """Watch a URL (due at once); an existing watch gets the new schedule. True if new."""
        now = now or datetime.now(UTC)
        with self.engine.begin() as conn:
            row = conn.execute(select(watches.c.id).where(watches.c.url_key == url_key)).first()
            if row is not None:
                conn.execute(update(watches).where(watches.c.id == row.id)
                             .values(every_seconds=every_seconds, cron=cron))
                return False
            conn.execute(watches.insert().values(url_key=url_key, url=url, every_seconds=every_seconds, cron=cron,
                                                 added_at=now, next_due_at=now))
            return True

    def remove_watch(self, url_key: str) -> bool:
        with self.engine.begin() as conn:
            return bool(conn.execute(watches.delete().where(watches.c.url_key == url_key)).rowcount)

    def last_captured(self, url_keys: Sequence[str]) -> dict[str, datetime]:
        """The fetch time of each URL's latest committed capture, by url_key; URLs never captured are absent.

        Any crawl counts (``scraper crawl`` as much as ``rearchive``), and any capture: a 404 or a
        revisit is the archive's word on the URL at that time as much as a 200 is.  A URL that
        redirected to its page has that page's captures, as in :meth:`history`.
        """
        found: dict[str, datetime] = {}
        with self.engine.connect() as conn:
            # the URL's own page first; then, for the rest, the page it last redirected to
            for keyed in (urls, redirects):
                keys = [key for key in dict.fromkeys(url_keys) if key not in found]
                for start in range(0, len(keys), 500):  # SQLite's bound-parameter limit is 999 on old builds
                    column = urls.c.id if keyed is urls else redirects.c.url_id
                    query = (select(keyed.c.url_key, func.max(captures.c.fetched_at).label("latest"))
                             .join(captures, column == captures.c.url_id)
                             .where(keyed.c.url_key.in_(keys[start:start + 500]), captures.c.committed.is_(True))
                             .group_by(keyed.c.url_key))
                    for row in conn.execute(query):
                        latest = _utc(row.latest)
                        if latest is not None:
                            found[row.url_key] = latest
        return found

    def list_watches(self) -> list[Watch]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(watches).order_by(watches.c.next_due_at, watches.c.id)).all()
        captured = self.last_captured([r.url_key for r in rows])
        return [Watch(url=r.url, url_key=r.url_key, every_seconds=r.every_seconds, cron=r.cron,
                      added_at=_utc(r.added_at) or r.added_at, last_captured_at=captured.get(r.url_key),
                      last_run_at=_utc(r.last_captured_at), next_due_at=_utc(r.next_due_at) or r.next_due_at)
                for r in rows]

    def due_watches(self, now: datetime | None = None) -> list[Watch]:
        now = now or datetime.now(UTC)
        return [w for w in self.list_watches() if w.next_due_at <= now]

    def mark_captured(self, url_keys: list[str], when: datetime) -> None:
        """After a re-archive: a missed run catches up once, then the schedule resumes from now."""
        with self.engine.begin() as conn:
            for watch in conn.execute(select(watches).where(watches.c.url_key.in_(url_keys))).all():
                conn.execute(update(watches).where(watches.c.id == watch.id).values(
                    last_captured_at=when, next_due_at=next_due(when, watch.every_seconds, watch.cron)))
