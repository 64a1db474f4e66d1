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

The driver's errors that a person can act on are raised as one-line :class:`CatalogError`
(still a SQLAlchemy error, so that callers catching those keep working): a damaged file
(:class:`CatalogDamaged`: rebuild it, :mod:`scraper.storage.rebuild`), a lock held too long by
another process (:class:`CatalogLocked`, naming the process when the kernel says which), a full
disk or a read-only file (:class:`CatalogUnwritable`).  Every :meth:`Catalog.close` checkpoints
SQLite's write-ahead log into ``catalog.sqlite``, so that the one file is the whole catalog.
"""

from __future__ import annotations

import json
import os
import shlex
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
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
from sqlalchemy.exc import IntegrityError, OperationalError, SQLAlchemyError

from scraper.scope import url_key as key_of

CATALOG_FILE = "catalog.sqlite"
# How long a statement waits for another process's lock on the catalog before it gives up: seconds.
WAIT_ENV = "SCRAPER_CATALOG_WAIT"
DEFAULT_WAIT_SECONDS = 30.0
# A checkpoint at close waits this long for other processes' readers and writers, then leaves the
# log to the next close: the end of a command is not held up by someone else's crawl.
CHECKPOINT_WAIT_MS = 1000
# The next time of a watch whose schedule has none (a cron date that never comes, an interval past
# the year 9999): never due again until its schedule is changed.
NEVER = datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC)
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
    """``--db`` as SQLAlchemy reads it, else the archive root's SQLite file.

    ``postgresql://`` (and ``postgres://``, as libpq and Heroku-style services write it) means
    psycopg 3, the driver scraper depends on; SQLAlchemy alone would look for psycopg2.
    """
    if not db:
        return f"sqlite:///{(root / CATALOG_FILE).resolve()}"
    for scheme in ("postgresql://", "postgres://"):
        if db.startswith(scheme):
            return "postgresql+psycopg://" + db.removeprefix(scheme)
    return db


def wait_seconds() -> float:
    """How long to wait for another process's lock: ``SCRAPER_CATALOG_WAIT`` seconds, else 30."""
    try:
        value = float(os.environ.get(WAIT_ENV, DEFAULT_WAIT_SECONDS))
    except ValueError:
        return DEFAULT_WAIT_SECONDS
    return value if value >= 0 else DEFAULT_WAIT_SECONDS


# -- problems a person can act on, in one line ---------------------------------------------------------------
class CatalogError(SQLAlchemyError):
    """A catalog problem said in one line: what is wrong (``problem``), then what to do (``remedy``);
    ``action`` is the remedy's first step alone, for a message that goes on (``..., then --resume``).

    A SQLAlchemy error, raised in place of the driver's: code that catches those (a crawl stopping
    cleanly at a failed write) still does.
    """

    def __init__(self, problem: str, remedy: str, action: str | None = None) -> None:
        super().__init__(f"{problem}; {remedy}")
        self.problem = problem
        self.remedy = remedy
        self.action = action or remedy

    def __str__(self) -> str:
        return f"{self.problem}; {self.remedy}"


class CatalogDamaged(CatalogError):
    """The catalog file is not a sound SQLite database: it must be rebuilt from the crawls' files."""


class CatalogMissing(CatalogDamaged):
    """The catalog is gone or empty while crawls on disk hold page records: rebuild it, or every page's
    history would start again at version 1."""


class CatalogLocked(CatalogError):
    """Another process held the catalog's lock for longer than :func:`wait_seconds`."""


class CatalogUnwritable(CatalogError):
    """The catalog could not be written: a full disk, a quota, a read-only file or folder, an I/O error."""


def rebuild_command(path: Path) -> str:
    """The command that rebuilds the SQLite catalog at ``path``."""
    if path.name == CATALOG_FILE:
        return f"scraper catalog rebuild --archive {shlex.quote(str(path.parent))}"
    return f"scraper catalog rebuild --db {shlex.quote(f'sqlite:///{path}')} --archive ARCHIVE_ROOT"


def damaged(path: Path, reason: str) -> CatalogDamaged:
    reason = " ".join(reason.split())[:200]  # SQLite's integrity messages span lines
    return CatalogDamaged(f"the catalog {path} is damaged ({reason})",
                          f"run `{rebuild_command(path)}` to rebuild it from the crawls' files "
                          f"(the damaged one is kept, as {path.name}.damaged-N)", f"run `{rebuild_command(path)}`")


# SQLite's primary result codes (https://www.sqlite.org/rescode.html) a person can act on.
SQLITE_BUSY, SQLITE_LOCKED, SQLITE_READONLY, SQLITE_IOERR, SQLITE_CORRUPT = 5, 6, 8, 10, 11
SQLITE_FULL, SQLITE_CANTOPEN, SQLITE_NOTADB = 13, 14, 26


def _classify(path: Path, error: BaseException) -> CatalogError | None:
    """The one-line error for a SQLite error, or None for one that is a bug to show as it is."""
    code = getattr(error, "sqlite_errorcode", None)
    if not isinstance(code, int):
        return None
    reason = str(error)
    primary = code & 0xFF  # extended codes (SQLITE_IOERR_WRITE ...) keep the primary one in the low byte
    if primary in (SQLITE_CORRUPT, SQLITE_NOTADB):
        return damaged(path, reason)
    if primary in (SQLITE_BUSY, SQLITE_LOCKED):
        holders = ", ".join(describe_process(pid) for pid in lock_holders(sqlite_files(path)))
        return CatalogLocked(f"the catalog {path} is locked by {holders or 'another process'}: waited "
                             f"{wait_seconds():g} s for it ({WAIT_ENV} sets how long)",
                             "try again when it is free", "wait until the catalog is free")
    if primary in (SQLITE_FULL, SQLITE_IOERR, SQLITE_READONLY, SQLITE_CANTOPEN):
        return CatalogUnwritable(f"cannot write the catalog {path}: {reason}",
                                 "make room (or make it writable), then try again", "make room")
    return None


def sqlite_files(path: Path) -> list[Path]:
    """The files of a SQLite database in WAL mode: its own, the log, the shared-memory index."""
    return [path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")]


# -- who holds the lock ------------------------------------------------------------------------------------------
def parse_proc_locks(text: str, files: set[tuple[int, int, int]], own_pid: int) -> list[int]:
    """The processes holding a write lock on any of ``files`` (device major, minor, inode), from the text
    of Linux's ``/proc/locks``.

    SQLite takes POSIX (fcntl) locks: a writer holds a WRITE lock on a byte of the ``-shm`` file (WAL
    mode) or of the database file.  Lines with ``->`` are processes waiting, not holding.
    """
    pids: list[int] = []
    for line in text.splitlines():
        parts = line.split()
        # "1: POSIX  ADVISORY  WRITE 7643 fe:00:2311538 120 120"
        if len(parts) < 6 or "->" in parts or parts[1] != "POSIX" or parts[3] != "WRITE":
            continue
        try:
            pid = int(parts[4])
            major, minor, inode = parts[5].split(":")
            where = (int(major, 16), int(minor, 16), int(inode))
        except ValueError:
            continue
        if where in files and pid > 0 and pid != own_pid and pid not in pids:
            pids.append(pid)
    return pids


def lock_holders(paths: Sequence[Path]) -> list[int]:
    """The other processes that hold a write lock on any of ``paths`` (Linux; elsewhere none known)."""
    files: set[tuple[int, int, int]] = set()
    for path in paths:
        try:
            info = os.stat(path)
        except OSError:
            continue
        files.add((os.major(info.st_dev), os.minor(info.st_dev), info.st_ino))
    try:
        text = Path("/proc/locks").read_text(encoding="ascii", errors="replace")
    except OSError:
        return []
    return parse_proc_locks(text, files, os.getpid())


def describe_process(pid: int, width: int = 100) -> str:
    """``pid 1234 (python -m scraper crawl https://…)``: its command line, when it can be read."""
    try:
        args = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return f"pid {pid}"
    command = " ".join(a.decode("utf-8", "replace") for a in args if a)
    command = "".join(ch if ch.isprintable() else "?" for ch in command)
    if len(command) > width:
        command = command[:width - 1] + "…"
    return f"pid {pid} ({command})" if command else f"pid {pid}"


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


# Any number that no other program on the same PostgreSQL database takes an advisory lock on.
SCHEMA_LOCK_KEY = 0x5C4A9E4  # "scraper"


def _hold_schema_lock(conn: Any) -> None:
    """On PostgreSQL, this transaction alone sets up the schema or applies a migration.

    Workers started together on a new database would each see no tables and each create them: the
    second's CREATE fails on the first's (PostgreSQL checks its catalogs only at commit).  DDL is
    transactional there, so an advisory lock held to the commit makes them take turns; the later
    ones find the tables made.  SQLite needs none: its write lock already serialises them.
    """
    if conn.dialect.name == "postgresql":
        conn.execute(select(func.pg_advisory_xact_lock(SCHEMA_LOCK_KEY)))


def insert_new(conn: Any, table: Table, key: str) -> Any:
    """``INSERT`` that leaves a row whose ``key`` another writer put there first, as it is.

    Two processes sharing one catalog (workers on one PostgreSQL database) may both see a URL as new
    and both insert it: the second would fail on the unique key.  PostgreSQL and SQLite both have
    ``ON CONFLICT DO NOTHING``; the row found afterwards is the one that won.
    """
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects import postgresql

        return postgresql.insert(table).on_conflict_do_nothing(index_elements=[table.c[key]])
    if conn.dialect.name == "sqlite":
        from sqlalchemy.dialects import sqlite

        return sqlite.insert(table).on_conflict_do_nothing(index_elements=[table.c[key]])
    return table.insert()  # another engine: a plain insert (a race raises, as it always did)


def _fetched_at(record: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(record["fetched_at"].replace("Z", "+00:00"))


def _redirect_keys(entry: NewCapture) -> set[str]:
    """The url_keys of the URLs that led to the page (requested URL, redirect hops), its own aside."""
    record = entry.record
    if not record.get("redirects") and record.get("requested_url") == record.get("url"):
        return set()  # most pages: no URL to compute a key of (url_key costs the crawl's CPU)
    return {key_of(u) for u in [record.get("requested_url"), *(record.get("redirects") or [])] if u} - {entry.url_key}


@dataclass(frozen=True)
class FollowsRef:
    """The capture a page record says it follows (its ``previous``), as the catalog looks it up."""

    record_id: str  # the WARC record id of that capture
    crawl_id: str | None
    fetched_at: datetime | None


def follows_ref(record: dict[str, Any]) -> FollowsRef | None:
    """What ``record["previous"]`` names; None for a first capture.  A ``previous`` that is not an
    object raises AttributeError, as any part of a record the catalog cannot hold does."""
    previous = record.get("previous") or {}
    record_id = previous.get("record_id")
    if not isinstance(record_id, str) or not record_id:
        return None
    crawl_id = previous.get("crawl_id")
    try:
        fetched_at: datetime | None = _fetched_at(previous)
    except (KeyError, TypeError, ValueError, AttributeError):
        fetched_at = None  # still found by its crawl and record id
    return FollowsRef(record_id, crawl_id if isinstance(crawl_id, str) else None, fetched_at)


def capture_row(url_id: int, entry: NewCapture, follows_id: int | None = None) -> dict[str, Any]:
    """The ``captures`` row of a capture; ``follows_id`` is the catalog id of the capture its record's
    ``previous`` names (:meth:`Catalog._follows_ids` finds it)."""
    record, original = entry.record, entry.original
    follows_ref(record)  # a record whose `previous` the catalog cannot read is refused here, before any write
    return {
        "url_id": url_id, "crawl_id": record["crawl_id"], "fetched_at": _fetched_at(record),
        "status": record["status"], "url": record["url"], "record_kind": record["record_kind"],
        "revisit_profile": record["revisit_profile"], "payload_digest": record["payload_digest"],
        "text_sha256": record["text_sha256"], "text_simhash": record.get("text_simhash"),
        "version": record.get("version"), "follows_id": follows_id,
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
class CatalogCapture:
    """Where the catalog has one committed capture's WARC record, and its page record (as JSON text)."""

    crawl_id: str
    url: str
    status: int
    record_kind: str  # response | revisit
    warc_file: str
    warc_offset: int
    warc_length: int
    warc_record_id: str
    warc_date: str
    record_json: str


def _catalog_capture(row: Any) -> CatalogCapture:
    return CatalogCapture(crawl_id=row.crawl_id, url=row.url, status=int(row.status), record_kind=row.record_kind,
                          warc_file=row.warc_file, warc_offset=int(row.warc_offset),
                          warc_length=int(row.warc_length), warc_record_id=row.warc_record_id,
                          warc_date=row.warc_date, record_json=row.record_json)


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


class ScheduleError(ValueError):
    """A schedule with no next time after a moment: a cron date that never comes (April 31st), or an
    interval that ends past the year 9999."""


def next_due(after: datetime, every_seconds: float | None, cron: str | None) -> datetime:
    """When a watch is due next after ``after``; ScheduleError when its schedule has no next time."""
    if cron:
        from croniter import CroniterError, croniter

        try:
            return _utc(croniter(cron, after.astimezone(UTC)).get_next(datetime)) or after
        except (CroniterError, ValueError, OverflowError) as exc:  # CroniterBadDateError: no such date
            raise ScheduleError(f"no date matches it after {after:%Y-%m-%d}: it never fires") from exc
    try:
        due = after + timedelta(seconds=every_seconds or 86400)
    except OverflowError as exc:
        raise ScheduleError("its next time would be past the year 9999") from exc
    if due >= NEVER:
        raise ScheduleError("its next time would be past the year 9999")
    return due


@dataclass(frozen=True)
class Unscheduled:
    """A watch marked captured whose schedule has no next time: it is never due again until changed."""

    url: str
    schedule: str  # "cron EXPR" or "every N seconds"
    reason: str

    def describe(self) -> str:
        return (f"watch {self.url} ({self.schedule}): {self.reason}; marked never due again until its schedule "
                f"is changed (scraper watch add URL --every/--cron)")


class Catalog:
    def __init__(self, url: str) -> None:
        self.url = url
        self.engine: Engine = create_engine(url, future=True)
        # The SQLite file, when the catalog is one: what messages name, checkpoints and checks read.
        self.path: Path | None = None
        if self.engine.dialect.name == "sqlite" and self.engine.url.database not in (None, "", ":memory:"):
            self.path = Path(str(self.engine.url.database))
        if self.engine.dialect.name == "sqlite":
            wait_ms = int(wait_seconds() * 1000)

            @event.listens_for(self.engine, "connect")
            def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
                cursor = dbapi_connection.cursor()
                cursor.execute("PRAGMA journal_mode=WAL")  # readers never block the crawl's writes
                cursor.execute("PRAGMA synchronous=NORMAL")
                cursor.execute(f"PRAGMA busy_timeout={wait_ms}")
                cursor.execute("PRAGMA foreign_keys=ON")
                cursor.close()

            @event.listens_for(self.engine, "handle_error")
            def _one_line(context: Any) -> None:
                # On connect too: a file that is not a database fails its first PRAGMA.
                found = _classify(self.path or Path(url), context.original_exception)
                if found is not None:
                    raise found from context.original_exception
        with self.engine.begin() as conn:
            _hold_schema_lock(conn)
            metadata.create_all(conn)
        self._migrate(PAGE_KEYS_MIGRATION, self._file_captures_under_their_page)

    def _migrate(self, name: str, change: Callable[[Any], None]) -> None:
        """Apply a one-time change to the data, in one transaction with its mark in ``migrations``.

        Two processes opening an old catalog at once: the second's transaction fails (the first
        holds the write lock, or inserted the mark first) and, tried again, finds the mark.
        """
        for attempt in range(2):
            try:
                with self.engine.begin() as conn:
                    _hold_schema_lock(conn)
                    if conn.execute(select(migrations.c.name).where(migrations.c.name == name)).first() is not None:
                        return
                    change(conn)
                    conn.execute(migrations.insert().values(name=name, applied_at=datetime.now(UTC)))
                return
            except (OperationalError, IntegrityError, CatalogLocked):
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
        """Checkpoint (SQLite) and let go of every connection."""
        self.checkpoint()
        self.engine.dispose()

    def checkpoint(self) -> bool:
        """Copy SQLite's write-ahead log into the database file and empty it: ``catalog.sqlite`` alone
        then holds every row, and copying that one file is a backup.  True when done.

        Best effort: it waits CHECKPOINT_WAIT_MS for other processes' readers and writers, then leaves
        the log to the next close (theirs); a read-only or full disk leaves it as it is.
        """
        if self.path is None:
            return False
        try:
            with self.engine.connect() as conn:
                conn.exec_driver_sql(f"PRAGMA busy_timeout={CHECKPOINT_WAIT_MS}")
                try:
                    busy = conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)").scalar()
                finally:
                    conn.exec_driver_sql(f"PRAGMA busy_timeout={int(wait_seconds() * 1000)}")
        except SQLAlchemyError:
            return False
        return busy == 0

    def check(self) -> None:
        """Raise :class:`CatalogDamaged` unless SQLite finds the file sound (``PRAGMA quick_check``).

        It reads every page of the file (about a second a gigabyte once cached): commands that are
        about to write into the archive (a crawl, a rearchive) ask before they make anything.
        """
        if self.path is None:
            return
        with self.engine.connect() as conn:
            found = [str(row) for row in conn.exec_driver_sql("PRAGMA quick_check(1)").scalars()]
        if found != ["ok"]:
            raise damaged(self.path, found[0] if found else "quick_check found nothing to say")

    def has_captures(self) -> bool:
        """Whether the catalog holds any capture, committed or not."""
        with self.engine.connect() as conn:
            return conn.execute(select(captures.c.id).limit(1)).first() is not None

    # -- captures -----------------------------------------------------------------------------
    def _url_id(self, conn: Any, url_key: str, url: str, when: datetime) -> int:
        row = conn.execute(select(urls.c.id).where(urls.c.url_key == url_key)).first()
        if row is not None:
            conn.execute(update(urls).where(urls.c.id == row.id).values(last_seen=when))
            return int(row.id)
        conn.execute(insert_new(conn, urls, "url_key").values(url_key=url_key, url=url, first_seen=when,
                                                              last_seen=when))
        return self._url_ids(conn, [url_key])[url_key]  # this writer's row, or the one another put first

    def add_capture(self, url_key: str, record: dict[str, Any], *, etag: str | None, last_modified: str | None,
                    warc_date: str, original: dict[str, Any]) -> int:
        """One capture, uncommitted until ``commit_crawl``; returns its id."""
        fetched_at = _fetched_at(record)
        with self.engine.begin() as conn:
            url_id = self._url_id(conn, url_key, record["url"], fetched_at)
            entry = NewCapture(url_key, record, etag=etag, last_modified=last_modified, warc_date=warc_date,
                               original=original)
            ref = follows_ref(record)
            follows = self._follows_ids(conn, [(url_id, ref)] if ref is not None else [])
            row = capture_row(url_id, entry, follows.get(ref.record_id) if ref is not None else None)
            result = conn.execute(captures.insert().values(**row))
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
                conn.execute(insert_new(conn, urls, "url_key"),
                             [{"url_key": key, "url": seen[key][0], "first_seen": seen[key][1],
                               "last_seen": seen[key][2]} for key in new_keys])
                url_ids.update(self._url_ids(conn, new_keys))
            refs = [follows_ref(entry.record) for entry in entries]
            follows = self._follows_ids(conn, [(url_ids[entry.url_key], ref) for entry, ref in zip(entries, refs,
                                                                                               strict=True) if ref])
            conn.execute(captures.insert(), [capture_row(url_ids[entry.url_key], entry,
                                                         follows.get(ref.record_id) if ref is not None else None)
                                             for entry, ref in zip(entries, refs, strict=True)])
            self._follow_within(conn, entries, refs, follows)
            led: dict[str, tuple[int, datetime]] = {}  # redirect source -> (page, when), the latest capture winning
            for entry in entries:
                when = _fetched_at(entry.record)
                for key in _redirect_keys(entry):
                    if key not in led or led[key][1] <= when:
                        led[key] = (url_ids[entry.url_key], when)
            self._remember_redirects(conn, led)

    @staticmethod
    def _follows_ids(conn: Any, wanted: Sequence[tuple[int, FollowsRef]]) -> dict[str, int]:
        """The catalog id of each capture named in ``wanted`` (the page of the capture that follows it,
        and what its record's ``previous`` says), by WARC record id; the first filed wins.

        First among the page's own captures at the time ``previous`` gives (the index by page and
        time: no scan of a large catalog); the rest (a page that moved to another URL since) by crawl
        and record id.  A capture not in the catalog (its crawl's folder gone) is left out: NULL.
        """
        found: dict[str, int] = {}
        timed = [(url_id, ref) for url_id, ref in wanted if ref.fetched_at is not None]
        for start in range(0, len(timed), 250):  # SQLite's bound-parameter limit is 999 on old builds
            chunk = timed[start:start + 250]
            names = {ref.record_id for _, ref in chunk}
            query = (select(captures.c.id, captures.c.warc_record_id)
                     .where(captures.c.url_id.in_({url_id for url_id, _ in chunk}),
                            captures.c.fetched_at.in_({ref.fetched_at for _, ref in chunk}))
                     .order_by(captures.c.id))
            for row in conn.execute(query):
                if row.warc_record_id in names:
                    found.setdefault(row.warc_record_id, int(row.id))
        rest: dict[str | None, set[str]] = {}
        for _, ref in wanted:
            if ref.record_id not in found:
                rest.setdefault(ref.crawl_id, set()).add(ref.record_id)
        for crawl_id, names in rest.items():
            listed = sorted(names)
            for start in range(0, len(listed), 500):
                query = select(captures.c.id, captures.c.warc_record_id).where(
                    captures.c.warc_record_id.in_(listed[start:start + 500])).order_by(captures.c.id)
                if crawl_id is not None:
                    query = query.where(captures.c.crawl_id == crawl_id)  # uses the index by crawl
                for row in conn.execute(query):
                    found.setdefault(row.warc_record_id, int(row.id))
        return found

    @staticmethod
    def _follow_within(conn: Any, entries: Sequence[NewCapture], refs: Sequence[FollowsRef | None],
                       follows: dict[str, int]) -> None:
        """Fill ``follows_id`` of the captures just inserted whose ``previous`` is in the same batch (a
        resumed crawl, an import of several captures of one page): they were not in the catalog before."""
        own = {entry.record["warc"]["record_id"] for entry in entries}
        late = [(entry, ref) for entry, ref in zip(entries, refs, strict=True)
                if ref is not None and ref.record_id not in follows and ref.record_id in own
                and ref.record_id != entry.record["warc"]["record_id"]]
        if not late:
            return
        found = Catalog._follows_ids(conn, [(0, replace(ref, fetched_at=None)) for _, ref in late])
        changes = [{"crawl": entry.record["crawl_id"], "record_id": entry.record["warc"]["record_id"],
                    "follows": found[ref.record_id]} for entry, ref in late if ref.record_id in found]
        if changes:
            conn.execute(update(captures).where(captures.c.crawl_id == bindparam("crawl"),
                                                captures.c.warc_record_id == bindparam("record_id"),
                                                captures.c.follows_id.is_(None))
                         .values(follows_id=bindparam("follows")), changes)

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
            conn.execute(insert_new(conn, redirects, "url_key"), new)

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

    def commit_files(self, crawl_id: str, files: Sequence[str]) -> int:
        """Mark readable the captures of a crawl whose records are in ``files`` (closed WARC files)."""
        total = 0
        with self.engine.begin() as conn:
            for start in range(0, len(files), 500):
                result = conn.execute(update(captures).where(captures.c.crawl_id == crawl_id,
                                                             captures.c.warc_file.in_(files[start:start + 500]))
                                      .values(committed=True))
                total += int(result.rowcount or 0)
        return total

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

    def captures_of_record(self, record_id: str, crawl_id: str | None = None) -> list[CatalogCapture]:
        """The committed captures whose WARC record is ``record_id`` (in ``crawl_id``, when given)."""
        query = captures.select().where(captures.c.warc_record_id == record_id, captures.c.committed.is_(True))
        if crawl_id:
            query = query.where(captures.c.crawl_id == crawl_id)  # uses the index by crawl
        with self.engine.connect() as conn:
            return [_catalog_capture(row) for row in conn.execute(query)]

    def original_of_payload(self, url_key: str, payload_digest: str, before: datetime) -> CatalogCapture | None:
        """The latest committed response of a URL with this payload, fetched at or before ``before``: the
        original of a revisit that names no record (`scraper import` of a foreign WARC)."""
        query = (select(captures).join(urls, urls.c.id == captures.c.url_id)
                 .where(urls.c.url_key == url_key, captures.c.payload_digest == payload_digest,
                        captures.c.record_kind == "response", captures.c.committed.is_(True),
                        captures.c.fetched_at <= before)
                 .order_by(captures.c.fetched_at.desc(), captures.c.id.desc()).limit(1))
        with self.engine.connect() as conn:
            row = conn.execute(query).first()
        return _catalog_capture(row) if row is not None else None

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
            row = conn.execute(select(watches.c.id, watches.c.next_due_at).where(watches.c.url_key == url_key)).first()
            if row is not None:
                changes: dict[str, Any] = {"every_seconds": every_seconds, "cron": cron}
                if (_utc(row.next_due_at) or now) >= NEVER:  # its old schedule had no next time: due at once
                    changes["next_due_at"] = now
                conn.execute(update(watches).where(watches.c.id == row.id).values(**changes))
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

    def mark_captured(self, url_keys: list[str], when: datetime) -> list[Unscheduled]:
        """After a re-archive: a missed run catches up once, then the schedule resumes from now.

        Each watch is marked on its own: one whose schedule has no next time (a row written before
        ``watch add`` refused such schedules) is marked never due again, and returned to be reported,
        and the others are marked as usual.
        """
        unscheduled: list[Unscheduled] = []
        with self.engine.begin() as conn:
            rows: list[Any] = []
            for start in range(0, len(url_keys), 500):  # SQLite's bound-parameter limit is 999 on old builds
                rows += conn.execute(select(watches).where(watches.c.url_key.in_(url_keys[start:start + 500]))).all()
            for watch in rows:
                try:
                    due = next_due(when, watch.every_seconds, watch.cron)
                except ScheduleError as exc:
                    due = NEVER
                    schedule = f"cron {watch.cron}" if watch.cron else f"every {watch.every_seconds:g} seconds"
                    unscheduled.append(Unscheduled(watch.url, schedule, str(exc)))
                conn.execute(update(watches).where(watches.c.id == watch.id).values(last_captured_at=when,
                                                                                     next_due_at=due))
        return unscheduled
