"""What workers on several machines share through one database: crawls, the frontier, hosts, workers.

``scraper crawl --db postgresql://...`` registers a crawl here (its settings and seeds) and works on
it; ``scraper worker`` joins any open crawl.  The tables live beside the catalog's, in the same
database, and are created the same way (under the catalog's schema lock, idempotently).

Three kinds of lease, each an expiry time renewed while its holder is alive (a heartbeat every third
of the lease), so that a killed worker's share goes back to the others when it runs out:

- **A request** (a frontier row, ``state = 'leased'``): taken with ``SELECT ... FOR UPDATE SKIP
  LOCKED`` (Crawlee's SQL queue does the same), held until the page's records are in a *closed* WARC
  file, and then marked ``done`` only if it is still this worker's (a lease that expired and was taken
  by another is lost: the page is recorded once, by the other).  A row leased again after an expiry
  counts in ``expired_leases``: the refetch shows in ``scraper status`` and the crawl's manifest.
- **A host** (``hosts``): the politeness of the crawl as a whole.  A worker sends to a host only while
  it holds the host's lease, so one host never has more requests in flight than one worker allows
  (its ``CONCURRENT_REQUESTS_PER_DOMAIN``), and robots.txt, Crawl-delay, Retry-After and AutoThrottle
  work as they do in one process: Scrapy's own per-host slot.  Released when the worker has nothing
  left to send there, with ``next_allowed_at`` (its last delay from now), which the next holder
  waits for.  Why leases and not a host hash: a hash pins a host to a worker that may be dead or
  busy; a lease moves with the work, and a dead worker's hosts are free after one lease period.
- **A worker** (``workers``): its heartbeat, for ``scraper status`` and for each worker's fair share
  of hosts (hosts with work divided by live workers).

Timestamps are the database server's clock (``now()``), never a worker's: workers on several
machines agree on what has expired only if one clock decides.
"""

from __future__ import annotations

import json
import math
import random
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Float,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    and_,
    case,
    func,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.engine import Engine

from scraper.scope import ascii_host, host_of
from scraper.storage.catalog import NEVER, _hold_schema_lock, captures, watches
from scraper.storage.journal import FrontierState, ScheduledRequest

shared_metadata = MetaData()
_ID = BigInteger().with_variant(Integer, "sqlite")  # a billion URLs need 64 bits; SQLite's rowid is already

crawls = Table(
    "crawls", shared_metadata,
    Column("crawl_id", String, primary_key=True),
    Column("command", String, nullable=False),  # crawl | rearchive: what made it
    Column("job_json", Text, nullable=False),  # the settings every worker runs it with (crawl.json's)
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("created_by", String, nullable=False),
    Column("state", String, nullable=False),  # open | finished
    Column("finished_at", DateTime(timezone=True)),
    Column("max_pages", Integer, nullable=False, default=0),  # 0: no limit
    Column("pages_scheduled", Integer, nullable=False, default=0),
)

frontier = Table(
    "frontier", shared_metadata,
    Column("id", _ID, primary_key=True, autoincrement=True),
    Column("crawl_id", String, nullable=False),
    Column("url_key", String, nullable=False),
    Column("url", Text, nullable=False),
    Column("host", String, nullable=False),
    Column("kind", String, nullable=False),  # page | sitemap | feed | discover | robots
    Column("depth", Integer, nullable=False),
    Column("referrer", Text),
    Column("watch_key", String),  # a re-archived watch: marked captured when this row is done
    Column("state", String, nullable=False),  # queued | leased | done | failed
    Column("leased_by", String),
    Column("lease_until", DateTime(timezone=True)),
    Column("leases", Integer, nullable=False, default=0),
    Column("expired_leases", Integer, nullable=False, default=0),
    Column("done_by", String),
    Column("done_at", DateTime(timezone=True)),
)
# Each URL once per crawl: two workers discovering the same link insert one row.
Index("frontier_url", frontier.c.crawl_id, frontier.c.url_key, unique=True)
Index("frontier_work", frontier.c.crawl_id, frontier.c.state, frontier.c.id)
Index("frontier_holder", frontier.c.leased_by, frontier.c.state)
# Leases that ran out (a dead worker's): found without reading every leased row, which stay leased until their
# WARC file is closed.
Index("frontier_expiry", frontier.c.crawl_id, frontier.c.lease_until,
      postgresql_where=frontier.c.state == "leased", sqlite_where=frontier.c.state == "leased")
# A host's next requests, without the ones done: what a lease reads, in the order they were found.
Index("frontier_host_queue", frontier.c.crawl_id, frontier.c.host, frontier.c.id,
      postgresql_where=frontier.c.state.in_(["queued", "leased"]),
      sqlite_where=frontier.c.state.in_(["queued", "leased"]))

# The hosts of a crawl and how many of their requests are queued: a lease picks hosts here first, then a few
# requests of each, so that a worker's requests are spread over its hosts (one request at a time each) rather
# than taken in the order found, which is one host's links after another's.
crawl_hosts = Table(
    "crawl_hosts", shared_metadata,
    Column("crawl_id", String, primary_key=True),
    Column("host", String, primary_key=True),
    Column("queued", Integer, nullable=False, default=0),
    # A random number given to the host when first seen: workers start looking for free hosts at a random
    # number, not at a random name (names share prefixes, "www.", and every start fell before the first one).
    Column("spread", Integer, nullable=False, default=0),
)
Index("crawl_hosts_spread", crawl_hosts.c.crawl_id, crawl_hosts.c.spread)

hosts = Table(
    "hosts", shared_metadata,
    Column("host", String, primary_key=True),
    Column("leased_by", String),
    Column("lease_until", DateTime(timezone=True)),
    Column("next_allowed_at", DateTime(timezone=True)),
    # The delay its last holder had reached (AutoThrottle's, Crawl-delay's): where the next holder starts, not at
    # AutoThrottle's first delay (1 s) again.
    Column("last_delay", Float),
)

workers = Table(
    "workers", shared_metadata,
    Column("name", String, primary_key=True),
    Column("machine", String, nullable=False),
    Column("pid", Integer, nullable=False),
    Column("started_at", DateTime(timezone=True), nullable=False),
    Column("heartbeat_at", DateTime(timezone=True), nullable=False),
    Column("state", String, nullable=False),  # running | stopped
    Column("pages", Integer, nullable=False, default=0),  # page records it committed, since it started
    Column("crawl_ids", Text, nullable=False, default="[]"),  # the crawls it is working on
)

QUEUED, LEASED, DONE, FAILED = "queued", "leased", "done", "failed"
SHARE_SECONDS = 3.0  # how long a worker's fair share of hosts is taken as counted
SPREAD = 2**31 - 1  # crawl_hosts.spread is below this
OPEN, FINISHED = "open", "finished"


def request_host(url: str) -> str:
    """The host a request goes to, as politeness counts it: Scrapy's download slot (the host name, IDNA-encoded,
    without the port), so that a host lease and a worker's slot are the same thing."""
    return ascii_host(host_of(url))


@dataclass(frozen=True)
class LeasedRequest:
    """A frontier row this worker now holds: fetch it, then :meth:`SharedFrontier.complete` it."""

    crawl_id: str
    url_key: str
    url: str
    host: str
    kind: str
    depth: int
    referrer: str | None
    refetch: bool  # its last lease expired: another worker took it and died (or stalled)
    host_delay: float | None = None  # the host was just taken: the delay its last holder had reached


@dataclass(frozen=True)
class SharedCrawl:
    crawl_id: str
    command: str
    job: dict[str, Any]
    state: str


@dataclass(frozen=True)
class FrontierCounts:
    """Where a crawl's requests are: what ``scraper status`` shows."""

    queued: int
    leased: int
    done: int
    failed: int
    expired_leases: int

    @property
    def total(self) -> int:
        return self.queued + self.leased + self.done + self.failed


@dataclass(frozen=True)
class Outcome:
    """A leased request this worker is finished with: its key, whether it ended with a response
    (``ok``: done) or without one (failed), and the WARC record of its page record's capture, if any."""

    url_key: str
    ok: bool
    record_id: str | None = None


@dataclass(frozen=True)
class Completed:
    """What :meth:`SharedFrontier.complete` marked: the keys still this worker's (with the watches among
    them), and the lost ones (their leases expired and another worker holds them)."""

    done: set[str]
    lost: set[str]
    watch_keys: list[str]


class SharedState:
    """The shared tables of one database, opened on the catalog's engine."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        with engine.begin() as conn:
            _hold_schema_lock(conn)
            shared_metadata.create_all(conn)

    def now(self) -> datetime:
        with self.engine.connect() as conn:
            return _aware(conn.execute(select(func.now())).scalar_one())

    # -- crawls -----------------------------------------------------------------------------------
    def register_crawl(self, crawl_id: str, command: str, job: dict[str, Any], seeds: Sequence[ScheduledRequest],
                       *, created_by: str, max_pages: int = 0, watch_keys: dict[str, str] | None = None) -> int:
        """A new open crawl and its first requests; returns how many requests were added."""
        with self.engine.begin() as conn:
            conn.execute(crawls.insert().values(crawl_id=crawl_id, command=command,
                                                job_json=json.dumps(job, sort_keys=True), created_at=func.now(),
                                                created_by=created_by, state=OPEN, max_pages=max_pages,
                                                pages_scheduled=0))
            return _add_requests(conn, crawl_id, seeds, watch_keys or {})

    def lease_due_watches(self, crawl_id: str, job: dict[str, Any], *, limit: int, created_by: str) -> int:
        """Take up to ``limit`` due watches into a new re-archive crawl ``crawl_id``; returns how many (0: none due,
        and no crawl is made).

        The watches are locked with ``FOR UPDATE SKIP LOCKED``, so workers asking at once take different ones,
        and are not due again until their page is done (each due watch is captured once per period): their
        next time is set when their request is done or failed (:meth:`SharedFrontier.complete`).  A worker
        that dies meanwhile leaves an open crawl, whose leases run out and which another worker finishes.
        """
        with self.engine.begin() as conn:
            due = conn.execute(select(watches.c.id, watches.c.url_key, watches.c.url)
                               .where(watches.c.next_due_at <= func.now())
                               .order_by(watches.c.next_due_at, watches.c.id).limit(limit)
                               .with_for_update(skip_locked=True)).all()
            if not due:
                return 0
            urls = [row.url for row in due]
            job = {**job, "ARCHIVE_SEEDS": urls}
            conn.execute(crawls.insert().values(crawl_id=crawl_id, command="rearchive",
                                                job_json=json.dumps(job, sort_keys=True), created_at=func.now(),
                                                created_by=created_by, state=OPEN, max_pages=0, pages_scheduled=0))
            _add_requests(conn, crawl_id, [ScheduledRequest(url, "page", 0, None) for url in urls],
                          {row.url_key: row.url_key for row in due})
            # Taken: not due again until done (NEVER is also what a schedule with no next time gets).
            conn.execute(update(watches).where(watches.c.id.in_([row.id for row in due])).values(next_due_at=NEVER))
            return len(due)

    def crawl(self, crawl_id: str) -> SharedCrawl | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(crawls).where(crawls.c.crawl_id == crawl_id)).first()
        return _shared_crawl(row) if row is not None else None

    def list_crawls(self, *, open_only: bool = False) -> list[SharedCrawl]:
        query = select(crawls).order_by(crawls.c.created_at, crawls.c.crawl_id)
        if open_only:
            query = query.where(crawls.c.state == OPEN)
        with self.engine.connect() as conn:
            return [_shared_crawl(row) for row in conn.execute(query)]

    def crawls_with_work(self) -> list[str]:
        """Open crawls with a request to lease now: queued, or leased by someone whose lease ran out."""
        query = (select(frontier.c.crawl_id).distinct().join(crawls, crawls.c.crawl_id == frontier.c.crawl_id)
                 .where(crawls.c.state == OPEN, _leasable(func.now())))
        with self.engine.connect() as conn:
            return sorted(conn.execute(query).scalars())

    def counts(self, crawl_id: str) -> FrontierCounts:
        query = (select(frontier.c.state, func.count(), func.coalesce(func.sum(frontier.c.expired_leases), 0))
                 .where(frontier.c.crawl_id == crawl_id).group_by(frontier.c.state))
        by_state: dict[str, int] = {}
        expired = 0
        with self.engine.connect() as conn:
            for state, count, expired_here in conn.execute(query):
                by_state[state] = int(count)
                expired += int(expired_here)
        return FrontierCounts(by_state.get(QUEUED, 0), by_state.get(LEASED, 0), by_state.get(DONE, 0),
                              by_state.get(FAILED, 0), expired)

    def finish_if_done(self, crawl_id: str) -> bool:
        """Mark the crawl finished when no request is queued or leased; True for the one caller that did."""
        with self.engine.begin() as conn:
            pending = conn.execute(select(frontier.c.id).where(frontier.c.crawl_id == crawl_id,
                                                               frontier.c.state.in_([QUEUED, LEASED])).limit(1)).first()
            if pending is not None:
                return False
            result = conn.execute(update(crawls).where(crawls.c.crawl_id == crawl_id, crawls.c.state == OPEN)
                                  .values(state=FINISHED, finished_at=func.now()))
            return bool(result.rowcount)

    # -- workers ----------------------------------------------------------------------------------
    def worker_started(self, name: str, machine: str, pid: int) -> None:
        values = {"machine": machine, "pid": pid, "started_at": func.now(), "heartbeat_at": func.now(),
                  "state": "running", "pages": 0, "crawl_ids": "[]"}
        with self.engine.begin() as conn:
            found = conn.execute(select(workers.c.name).where(workers.c.name == name).with_for_update()).first()
            if found is None:
                conn.execute(workers.insert().values(name=name, **values))
            else:
                conn.execute(update(workers).where(workers.c.name == name).values(**values))

    def heartbeat(self, name: str, crawl_ids: Iterable[str], lease_seconds: float) -> None:
        """The worker is alive: its heartbeat, and every lease it holds runs ``lease_seconds`` more."""
        until = func.now() + timedelta(seconds=lease_seconds)
        with self.engine.begin() as conn:
            conn.execute(update(workers).where(workers.c.name == name)
                         .values(heartbeat_at=func.now(), crawl_ids=json.dumps(sorted(crawl_ids))))
            conn.execute(update(frontier).where(frontier.c.leased_by == name, frontier.c.state == LEASED)
                         .values(lease_until=until))
            conn.execute(update(hosts).where(hosts.c.leased_by == name).values(lease_until=until))

    def worker_stopped(self, name: str) -> None:
        """A clean stop: the requests it had not fetched and its hosts go back to the others at once."""
        with self.engine.begin() as conn:
            _requeue(conn, and_(frontier.c.leased_by == name, frontier.c.state == LEASED))
            conn.execute(update(hosts).where(hosts.c.leased_by == name).values(leased_by=None, lease_until=None))
            conn.execute(update(workers).where(workers.c.name == name).values(state="stopped", crawl_ids="[]",
                                                                             heartbeat_at=func.now()))

    def add_pages(self, name: str, pages: int) -> None:
        with self.engine.begin() as conn:
            conn.execute(update(workers).where(workers.c.name == name).values(pages=workers.c.pages + pages))

    def list_workers(self) -> list[dict[str, Any]]:
        with self.engine.connect() as conn:
            now = _aware(conn.execute(select(func.now())).scalar_one())
            rows = conn.execute(select(workers).order_by(workers.c.name)).all()
        out = []
        for row in rows:
            started, beat = _aware(row.started_at), _aware(row.heartbeat_at)
            alive_for = max((beat - started).total_seconds(), 1e-6)
            out.append({"name": row.name, "machine": row.machine, "pid": row.pid, "state": row.state,
                        "started_at": started, "heartbeat_at": beat, "heartbeat_age": (now - beat).total_seconds(),
                        "pages": row.pages, "pages_per_second": row.pages / alive_for,
                        "crawl_ids": json.loads(row.crawl_ids or "[]")})
        return out

    def live_workers(self, lease_seconds: float) -> int:
        with self.engine.connect() as conn:
            query = select(func.count()).select_from(workers).where(
                workers.c.state == "running", workers.c.heartbeat_at > func.now() - timedelta(seconds=lease_seconds))
            return int(conn.execute(query).scalar_one())


def _aware(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _shared_crawl(row: Any) -> SharedCrawl:
    return SharedCrawl(row.crawl_id, row.command, json.loads(row.job_json), row.state)


def _leasable(now: Any) -> Any:
    return or_(frontier.c.state == QUEUED, and_(frontier.c.state == LEASED, frontier.c.lease_until < now))


def _add_requests(conn: Any, crawl_id: str, requests: Sequence[ScheduledRequest],
                  watch_keys: dict[str, str] | None = None) -> int:
    """Insert the requests not in the crawl's frontier yet, within its --max-pages; returns how many."""
    from scraper.scope import url_key

    if not requests:
        return 0
    limited = conn.execute(select(crawls.c.max_pages).where(crawls.c.crawl_id == crawl_id)).scalar()
    room = math.inf
    if limited:  # --max-pages: the crawl's row locked while its count goes up (workers add one after another)
        crawl = conn.execute(select(crawls.c.max_pages, crawls.c.pages_scheduled)
                             .where(crawls.c.crawl_id == crawl_id).with_for_update()).first()
        room = max(0, crawl.max_pages - crawl.pages_scheduled)
    rows: dict[str, dict[str, Any]] = {}
    for request in requests:
        key = url_key(request.url)
        if key in rows:
            continue
        rows[key] = {"crawl_id": crawl_id, "url_key": key, "url": request.url, "host": request_host(request.url),
                     "kind": request.kind, "depth": request.depth, "referrer": request.referrer,
                     "watch_key": (watch_keys or {}).get(key), "state": QUEUED, "leases": 0, "expired_leases": 0}
    insert = _insert_ignoring_duplicates(conn)
    added = 0
    pages_added = 0
    by_host: Counter[str] = Counter()
    if room == math.inf:  # one statement for them all; the rows that were new come back
        inserted = conn.execute(insert.values(list(rows.values())).returning(frontier.c.host, frontier.c.kind)).all()
        added = len(inserted)
        pages_added = sum(1 for row in inserted if row.kind == "page")
        by_host.update(row.host for row in inserted)
    for row in rows.values() if room != math.inf else ():
        if row["kind"] == "page" and pages_added >= room:
            continue
        result = conn.execute(insert, [row])
        if result.rowcount:
            added += 1
            pages_added += row["kind"] == "page"
            by_host[row["host"]] += 1
    _count_queued(conn, crawl_id, by_host)
    if pages_added:
        conn.execute(update(crawls).where(crawls.c.crawl_id == crawl_id)
                     .values(pages_scheduled=crawls.c.pages_scheduled + pages_added))
    return added


def _requeue(conn: Any, which: Any) -> None:
    """Leased requests back in the queue (a worker stopping cleanly), counted back in their hosts' queues."""
    rows = conn.execute(update(frontier).where(which).values(state=QUEUED, leased_by=None, lease_until=None)
                        .returning(frontier.c.crawl_id, frontier.c.host)).all()
    for crawl_id in {row.crawl_id for row in rows}:
        _count_queued(conn, crawl_id, Counter(row.host for row in rows if row.crawl_id == crawl_id))


def _count_queued(conn: Any, crawl_id: str, change: Counter[str]) -> None:
    """Add ``change`` (by host; negative: taken) to the crawl's queued counts of its hosts."""
    if not change:
        return
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects import postgresql as dialect
    else:
        from sqlalchemy.dialects import sqlite as dialect  # type: ignore[no-redef]
    statement = dialect.insert(crawl_hosts)
    statement = statement.on_conflict_do_update(index_elements=["crawl_id", "host"],
                                                set_={"queued": crawl_hosts.c.queued + statement.excluded.queued})
    conn.execute(statement, [{"crawl_id": crawl_id, "host": host, "queued": n, "spread": random.randrange(SPREAD)}
                             for host, n in sorted(change.items())])


def _insert_ignoring_duplicates(conn: Any) -> Any:
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects import postgresql

        return postgresql.insert(frontier).on_conflict_do_nothing(index_elements=["crawl_id", "url_key"])
    from sqlalchemy.dialects import sqlite

    return sqlite.insert(frontier).on_conflict_do_nothing(index_elements=["crawl_id", "url_key"])


def _upsert_host(conn: Any, host: str, name: str, until: Any, now: Any) -> tuple[bool, float | None]:
    """Take ``host``'s lease if it is free (or already ours) and its next allowed time has come; and the delay its
    last holder had reached."""
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects import postgresql as dialect
    else:
        from sqlalchemy.dialects import sqlite as dialect  # type: ignore[no-redef]
    statement = dialect.insert(hosts).values(host=host, leased_by=name, lease_until=until,
                                             next_allowed_at=None).on_conflict_do_update(
        index_elements=["host"], set_={"leased_by": name, "lease_until": until},
        where=or_(hosts.c.leased_by == name,
                  and_(or_(hosts.c.leased_by.is_(None), hosts.c.lease_until < now),
                       or_(hosts.c.next_allowed_at.is_(None), hosts.c.next_allowed_at <= now))),
    ).returning(hosts.c.host, hosts.c.last_delay)
    row = conn.execute(statement).first()
    return (row is not None, row.last_delay if row is not None else None)


class SharedFrontier:
    """One worker's view of one crawl's frontier (:class:`~scraper.storage.backends.Frontier`, plus leases).

    Requests a page links to are buffered and inserted by :meth:`flush` (one statement a page's worth,
    not one a link); the worker flushes before it completes any page, so a link is in the database
    before the page that found it is done.
    """

    def __init__(self, state: SharedState, crawl_id: str, worker: str, *, lease_seconds: float) -> None:
        self.state = state
        self.engine = state.engine
        self.crawl_id = crawl_id
        self.worker = worker
        self.lease_seconds = lease_seconds
        self._buffer: list[ScheduledRequest] = []
        self._share: tuple[float, int] | None = None  # (when, what) _fair_share counted last
        self.leased_total = 0
        self.refetched = 0
        self.lost = 0

    # -- the Frontier seam -------------------------------------------------------------------------
    def add(self, request: ScheduledRequest) -> None:
        self._buffer.append(request)
        if len(self._buffer) >= 500:
            self.flush()

    def mark_done(self, url: str) -> None:
        """The request for ``url`` needs no fetching again, whoever holds it.  A worker's own requests are done
        through :meth:`complete` instead, when the WARC file holding them is closed."""
        from scraper.scope import url_key

        self.flush()
        with self.engine.begin() as conn:
            found = conn.execute(select(frontier.c.id, frontier.c.host, frontier.c.state)
                                 .where(frontier.c.crawl_id == self.crawl_id, frontier.c.url_key == url_key(url),
                                        frontier.c.state != DONE).with_for_update()).first()
            if found is None:
                return
            conn.execute(update(frontier).where(frontier.c.id == found.id)
                         .values(state=DONE, done_by=self.worker, done_at=func.now(), lease_until=None))
            if found.state == QUEUED:
                _count_queued(conn, self.crawl_id, Counter({found.host: -1}))

    def read(self) -> FrontierState:
        self.flush()
        with self.engine.connect() as conn:
            rows = conn.execute(select(frontier).where(frontier.c.crawl_id == self.crawl_id)
                                .order_by(frontier.c.id)).all()
        return FrontierState([ScheduledRequest(r.url, r.kind, r.depth, r.referrer) for r in rows],
                             {r.url for r in rows if r.kind != "page" and r.state == DONE})

    def close(self) -> None:
        self.flush()

    # -- leases -------------------------------------------------------------------------------------
    def flush(self) -> int:
        buffered, self._buffer = self._buffer, []
        if not buffered:
            return 0
        with self.engine.begin() as conn:
            return _add_requests(conn, self.crawl_id, buffered)

    def lease(self, limit: int, held_hosts: set[str]) -> list[LeasedRequest]:
        """Up to ``limit`` requests of hosts this worker holds or can take now (its fair share of them), a few of
        each host's: hosts with queued requests first (``crawl_hosts``), then each one's oldest requests, locked
        with ``FOR UPDATE SKIP LOCKED`` (another worker's lease call skips them), then the new hosts' leases."""
        if limit <= 0:
            return []
        now = func.now()
        until = now + timedelta(seconds=self.lease_seconds)
        with self.engine.begin() as conn:
            busy = select(hosts.c.host).where(hosts.c.leased_by != self.worker, hosts.c.lease_until > now)
            resting = select(hosts.c.host).where(hosts.c.next_allowed_at > now,
                                                 or_(hosts.c.leased_by.is_(None), hosts.c.leased_by != self.worker))
            # Hosts with queued requests: this worker's own first, then new ones, as many as the batch needs (a
            # request a host) and its fair share of hosts allows.
            held = sorted(held_hosts)
            mine = list(conn.execute(
                select(crawl_hosts.c.host).where(crawl_hosts.c.crawl_id == self.crawl_id, crawl_hosts.c.queued > 0,
                                                 crawl_hosts.c.host.in_(held))).scalars()) if held else []
            expired = list(conn.execute(  # a dead worker's requests: few, and the leased rows are few
                select(frontier.c.host).distinct().where(frontier.c.crawl_id == self.crawl_id,
                                                         frontier.c.state == LEASED, frontier.c.lease_until < now,
                                                         frontier.c.host.not_in(busy))).scalars())
            share = int(min(self._fair_share(conn), 1_000_000))
            mine = mine[:share]  # over its share (workers joined since): the rest run dry and are let go
            quota = max(0, min(share - len(held), limit - len(mine)))
            others = [h for h in expired if h not in held_hosts][:quota]
            # From a random point in the hosts' order (its primary key), round to the start: workers asking at once
            # want different hosts, and no host waits behind the same first ones every time.
            pivot = random.randrange(SPREAD)
            for side in (crawl_hosts.c.spread >= pivot, crawl_hosts.c.spread < pivot):
                if len(others) >= quota:
                    break
                others += list(conn.execute(
                    select(crawl_hosts.c.host)
                    .where(crawl_hosts.c.crawl_id == self.crawl_id, side, crawl_hosts.c.queued > 0,
                           crawl_hosts.c.host.not_in(busy), crawl_hosts.c.host.not_in(resting),
                           crawl_hosts.c.host.not_in(held))
                    .order_by(crawl_hosts.c.spread).limit(quota - len(others))).scalars())
            chosen = list(dict.fromkeys([*mine, *(h for h in expired if h in held_hosts), *others]))
            if not chosen:
                return []
            # A host sends one request at a time: a request each, so that a batch serves as many hosts as it can
            # (Scrapy counts a request waiting for its host's turn against CONCURRENT_REQUESTS).
            per_host = max(1, math.ceil(limit / len(chosen)))
            candidates = conn.execute(text(
                "SELECT f.id, f.host, f.state FROM unnest(CAST(:hosts AS text[])) AS h(host) CROSS JOIN LATERAL ("
                " SELECT id, host, state FROM frontier WHERE crawl_id = :crawl AND host = h.host"
                " AND (state = 'queued' OR (state = 'leased' AND lease_until < now()))"
                " ORDER BY id LIMIT :per_host FOR UPDATE SKIP LOCKED) f"),
                {"hosts": chosen, "crawl": self.crawl_id, "per_host": per_host}).all()
            # Host leases taken in the order of their names, as every worker takes them: two workers' lease calls
            # (and a release) never wait for each other's locks in a circle.
            granted: dict[str, float | None] = {}
            for host in sorted({row.host for row in candidates} - held_hosts):
                took, last_delay = _upsert_host(conn, host, self.worker, until, now)
                if took:
                    granted[host] = last_delay
            ours = held_hosts | set(granted)
            taken: list[Any] = []
            for row in sorted(candidates, key=lambda r: (r.id % 7919, r.id)):  # the hosts interleaved
                if len(taken) >= limit:
                    break
                if row.host in ours:
                    taken.append(row)
            if not taken:
                return []
            expired_ids = {row.id for row in taken if row.state == LEASED}
            leased = conn.execute(
                update(frontier).where(frontier.c.id.in_([row.id for row in taken]))
                .values(state=LEASED, leased_by=self.worker, lease_until=until, leases=frontier.c.leases + 1,
                        expired_leases=frontier.c.expired_leases + case((frontier.c.state == LEASED, 1), else_=0))
                .returning(frontier.c.id, frontier.c.url_key, frontier.c.url, frontier.c.host, frontier.c.kind,
                           frontier.c.depth, frontier.c.referrer)).all()
            _count_queued(conn, self.crawl_id, Counter({h: -n for h, n in Counter(
                row.host for row in taken if row.state == QUEUED).items()}))
        out = [LeasedRequest(self.crawl_id, r.url_key, r.url, r.host, r.kind, r.depth, r.referrer,
                             refetch=r.id in expired_ids, host_delay=granted.get(r.host)) for r in leased]
        self.leased_total += len(out)
        self.refetched += len(expired_ids)
        held_hosts.update(granted)
        return out

    @property
    def share(self) -> int | None:
        """The fair share of hosts as last counted (None before the first lease)."""
        return self._share[1] if self._share is not None else None

    def _fair_share(self, conn: Any) -> int | float:
        """Hosts one worker may hold: those with work, shared among the live workers (at least one); counted
        again every few seconds, not at each lease (two counts over every host of the crawl)."""
        now = time.monotonic()
        if self._share is not None and now - self._share[0] < SHARE_SECONDS:
            return self._share[1]
        share = self._count_share(conn)
        self._share = (now, share)
        return share

    def _count_share(self, conn: Any) -> int:
        # Every host being worked on or waiting for work, over the live workers: a host whose requests are all
        # leased still counts, else the share shrinks below what each worker holds and new hosts wait.
        queued = select(crawl_hosts.c.host).where(crawl_hosts.c.crawl_id == self.crawl_id, crawl_hosts.c.queued > 0)
        held = select(hosts.c.host).where(hosts.c.leased_by.is_not(None), hosts.c.lease_until > func.now())
        leased = select(frontier.c.host).where(frontier.c.crawl_id == self.crawl_id, frontier.c.state == LEASED)
        active = conn.execute(select(func.count()).select_from(queued.union(held, leased).subquery())).scalar_one()
        alive = conn.execute(select(func.count()).select_from(workers).where(
            workers.c.state == "running",
            workers.c.heartbeat_at > func.now() - timedelta(seconds=self.lease_seconds))).scalar_one()
        return max(1, math.ceil(int(active) / max(1, int(alive))))

    def release_unfinished(self) -> None:
        """This worker stops working on the crawl: what it leased and did not finish is queued again, and its
        hosts are free (after their politeness delay, which the next holder's own slot then keeps)."""
        with self.engine.begin() as conn:
            _requeue(conn, and_(frontier.c.crawl_id == self.crawl_id, frontier.c.leased_by == self.worker,
                                frontier.c.state == LEASED))
            conn.execute(update(hosts).where(hosts.c.leased_by == self.worker).values(leased_by=None, lease_until=None))

    def release_hosts(self, delays: dict[str, float]) -> None:
        """Hosts this worker has nothing left to send to: free, after each one's delay from now."""
        if not delays:
            return
        with self.engine.begin() as conn:
            for host, delay in sorted(delays.items()):  # in name order, as lease() takes them
                conn.execute(update(hosts).where(hosts.c.host == host, hosts.c.leased_by == self.worker)
                             .values(leased_by=None, lease_until=None, last_delay=max(0.0, delay),
                                     next_allowed_at=func.now() + timedelta(seconds=max(0.0, delay))))

    def complete(self, outcomes: Sequence[Outcome], warc_file: str | None = None) -> Completed:
        """Mark done (or failed) the requests this worker still holds, in one transaction with committing
        their captures in ``warc_file`` (a file just closed); a request whose lease was lost is left to
        its new holder, and its capture stays uncommitted: the page is recorded once, by the other."""
        self.flush()  # the links these pages found go in first
        if not outcomes:
            return Completed(set(), set(), [])
        done: set[str] = set()
        watch_keys: list[str] = []
        with self.engine.begin() as conn:
            for ok in (True, False):
                wanted = [outcome.url_key for outcome in outcomes if outcome.ok is ok]
                for start in range(0, len(wanted), 500):
                    rows = conn.execute(
                        update(frontier).where(frontier.c.crawl_id == self.crawl_id,
                                               frontier.c.url_key.in_(wanted[start:start + 500]),
                                               frontier.c.leased_by == self.worker, frontier.c.state == LEASED)
                        .values(state=DONE if ok else FAILED, done_by=self.worker, done_at=func.now(),
                                lease_until=None)
                        .returning(frontier.c.url_key, frontier.c.watch_key)).all()
                    done.update(row.url_key for row in rows)
                    watch_keys += [row.watch_key for row in rows if row.watch_key]
            kept = [o.record_id for o in outcomes if o.url_key in done and o.record_id]
            if warc_file is not None:
                for start in range(0, len(kept), 500):
                    conn.execute(update(captures).where(captures.c.crawl_id == self.crawl_id,
                                                        captures.c.warc_file == warc_file,
                                                        captures.c.warc_record_id.in_(kept[start:start + 500]))
                                 .values(committed=True))
        lost = {outcome.url_key for outcome in outcomes} - done
        self.lost += len(lost)
        return Completed(done, lost, watch_keys)
