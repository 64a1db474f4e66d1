"""scraper.storage.shared on a real PostgreSQL server: leases of requests and hosts, their expiry, what a lost
lease costs, and due watches taken by one worker each."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import create_engine, select

from scraper.storage.catalog import Catalog
from scraper.storage.journal import ScheduledRequest
from scraper.storage.shared import Outcome, SharedFrontier, SharedState, crawl_hosts, frontier, hosts
from tests.postgres import PostgresServer

CRAWL = "20260301T120000Z-000abc"


@pytest.fixture
def state(postgres: PostgresServer) -> Iterator[SharedState]:
    engine = create_engine(postgres.new_database())
    shared = SharedState(engine)
    requests = [ScheduledRequest(f"http://h{h}.test/p/{n}", "page", 1, None) for h in range(3) for n in range(4)]
    shared.register_crawl(CRAWL, "crawl", {}, requests, created_by="test")
    for name in ("w1", "w2"):
        shared.worker_started(name, "machine", 1)
    yield shared
    engine.dispose()


def worker(state: SharedState, name: str, lease_seconds: float = 60) -> SharedFrontier:
    return SharedFrontier(state, CRAWL, name, lease_seconds=lease_seconds)


def test_two_workers_never_hold_one_host_and_spread_over_hosts(state: SharedState) -> None:
    w1, w2 = worker(state, "w1"), worker(state, "w2")
    held1: set[str] = set()
    held2: set[str] = set()
    first = w1.lease(4, held1)
    second = w2.lease(12, held2)
    assert len({lease.host for lease in first}) >= 2  # a few of each host, not one host's four
    assert held1 and held2 and not held1 & held2
    assert {lease.host for lease in first} <= held1 and {lease.host for lease in second} <= held2
    assert not {lease.url_key for lease in first} & {lease.url_key for lease in second}
    with state.engine.connect() as conn:
        owners = dict(conn.execute(select(hosts.c.host, hosts.c.leased_by)).all())
    assert {host for host, owner in owners.items() if owner == "w1"} == held1


def test_an_expired_lease_goes_to_another_worker_and_the_first_loses_the_page(state: SharedState) -> None:
    w1, w2 = worker(state, "w1", lease_seconds=0.5), worker(state, "w2")
    taken = w1.lease(12, set())
    assert taken and not any(lease.refetch for lease in taken)
    time.sleep(0.8)  # w1 stops renewing (killed): its leases run out
    again = w2.lease(12, set())
    assert {lease.url_key for lease in again} == {lease.url_key for lease in taken}
    assert all(lease.refetch for lease in again) and w2.refetched == len(again)
    late = w1.complete([Outcome(lease.url_key, True) for lease in taken])
    assert late.done == set() and late.lost == {lease.url_key for lease in taken}  # w2's now: recorded once, by w2
    done = w2.complete([Outcome(lease.url_key, True) for lease in again])
    assert done.done == {lease.url_key for lease in again}
    assert state.counts(CRAWL).expired_leases == len(again)


def test_a_heartbeat_keeps_leases_alive(state: SharedState) -> None:
    w1, w2 = worker(state, "w1", lease_seconds=0.6), worker(state, "w2")
    taken = w1.lease(12, set())
    for _ in range(4):
        time.sleep(0.3)
        state.heartbeat("w1", [CRAWL], 0.6)
    others = w2.lease(12, set())  # 1.2 s later, all still w1's: w2 gets the host w1 did not take, nothing else
    assert not {lease.host for lease in others} & {lease.host for lease in taken}
    assert w1.complete([Outcome(lease.url_key, True) for lease in taken]).lost == set()


def test_a_clean_stop_queues_what_was_not_finished_and_frees_the_hosts(state: SharedState) -> None:
    w1 = worker(state, "w1")
    taken = w1.lease(12, set())
    w1.complete([Outcome(taken[0].url_key, True)])
    w1.release_unfinished()
    counts = state.counts(CRAWL)
    assert (counts.done, counts.leased, counts.queued) == (1, 0, 11)
    with state.engine.connect() as conn:
        assert conn.execute(select(hosts.c.host).where(hosts.c.leased_by.is_not(None))).all() == []
        queued = sum(conn.execute(select(crawl_hosts.c.queued)).scalars())
    assert queued == 11  # the hosts' queued counts follow the rows back
    state.worker_stopped("w1")  # w2 alone now: its share is every host
    assert len(worker(state, "w2").lease(12, set())) == 11


def test_links_are_added_once_and_within_max_pages(postgres: PostgresServer) -> None:
    engine = create_engine(postgres.new_database())
    state = SharedState(engine)
    state.register_crawl(CRAWL, "crawl", {}, [ScheduledRequest("http://a.test/", "page", 0, None)],
                         created_by="test", max_pages=3)
    w1, w2 = worker(state, "w1"), worker(state, "w2")
    for frontier_of_one in (w1, w2):  # both find the same links
        for n in range(5):
            frontier_of_one.add(ScheduledRequest(f"http://a.test/{n}", "page", 1, "http://a.test/"))
        frontier_of_one.flush()
    with engine.connect() as conn:
        urls = sorted(conn.execute(select(frontier.c.url)).scalars())
    assert urls == ["http://a.test/", "http://a.test/0", "http://a.test/1"]  # --max-pages 3, each once
    engine.dispose()


def test_due_watches_are_taken_once_and_due_again_when_done(postgres: PostgresServer, tmp_path) -> None:  # type: ignore[no-untyped-def]
    url = postgres.new_database()
    catalog = Catalog.open(tmp_path, url)
    state = SharedState(catalog.engine)
    past = datetime.now(UTC) - timedelta(hours=2)
    for n in range(5):
        catalog.add_watch(f"http://a.test/{n}", f"http://a.test/{n}", 3600, None, now=past)
    assert state.lease_due_watches("crawl-a", {}, limit=3, created_by="w1") == 3
    assert state.lease_due_watches("crawl-b", {}, limit=3, created_by="w2") == 2  # the other two: none twice
    assert state.lease_due_watches("crawl-c", {}, limit=3, created_by="w3") == 0
    assert catalog.due_watches() == []  # taken: not due while their pages are being fetched
    a = SharedFrontier(state, "crawl-a", "w1", lease_seconds=60)
    leased = a.lease(10, set())
    finished = a.complete([Outcome(lease.url_key, True) for lease in leased])
    assert sorted(finished.watch_keys) == sorted(lease.url_key for lease in leased)
    catalog.mark_captured(finished.watch_keys, datetime.now(UTC))
    soon = datetime.now(UTC) + timedelta(hours=1, minutes=1)
    assert sorted(w.url for w in catalog.due_watches(soon)) == sorted(lease.url for lease in leased)
    catalog.close()
