"""Issue 17: workers in separate processes share one crawl, one schedule and one dedup index through a real
PostgreSQL server (tests/postgres.py), crawling a site of many hosts (tests/multihost.py) through --resolve."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import FAST, REPO, read_jsonl, run_scraper
from tests.integration.test_foreign_warcs import warc_check
from tests.integration.test_interchange import capture_ts, pywb_replay
from tests.multihost import MultiHostSite
from tests.postgres import PostgresServer
from tests.site import Site

# No extraction: these tests are about who fetches what, and extraction is most of a page's CPU.
QUICK = ("-s", "EXTRACT_ENABLED=False", "-s", "AUTOTHROTTLE_ENABLED=False", "-s", "RETRY_TIMES=0")
LEASE = "3"  # seconds: a killed worker's share comes back this long after its last heartbeat


def start_worker(root: Path, db: str, name: str, *args: str, rotate: str = "1",
                 db_in_env: bool = False) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO), **({"SCRAPER_DB": db} if db_in_env else {})}
    where = [] if db_in_env else ["--db", db]
    return subprocess.Popen([sys.executable, "-m", "scraper", "worker", *where, "--archive", str(root),
                             "--name", name, "--lease", LEASE, "--rotate", rotate, *args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=REPO)


def sql(db: str, query: str) -> list[tuple[Any, ...]]:
    import psycopg

    with psycopg.connect(db.replace("postgresql+psycopg://", "postgresql://")) as conn:
        return [tuple(row) for row in conn.execute(query).fetchall()]


def count(db: str, query: str) -> int:
    """``select count(*) ...``: 0 while the table does not exist yet (no worker has opened the database)."""
    import psycopg

    try:
        return int(sql(db, query)[0][0])
    except psycopg.errors.UndefinedTable:
        return 0


def wait_for(condition: Any, what: str, timeout: float = 90, process: subprocess.Popen[str] | None = None) -> None:
    """Until ``condition()`` holds; a failure, with the process's stderr, if ``process`` ends first."""
    deadline = time.monotonic() + timeout
    while not condition():
        if process is not None and process.poll() is not None:
            stderr = process.communicate()[1]
            pytest.fail(f"the worker ended (exit {process.returncode}) before {what}: {stderr[-2000:]}")
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


def finish(process: subprocess.Popen[str], timeout: float = 120) -> tuple[int, str]:
    _, stderr = process.communicate(timeout=timeout)
    return process.returncode, stderr


def page_records(crawl: Path) -> list[dict[str, Any]]:
    return [record for path in sorted(crawl.glob("pages*.jsonl")) for record in read_jsonl(path)]


@pytest.mark.long
@pytest.mark.multihost(hosts=20, pages_per_host=29, delay=0.01)  # 20 x (home + 29 articles) = 600 pages
def test_three_workers_share_a_crawl_and_one_killed_loses_nothing(multihost_site: MultiHostSite,
                                                                 postgres: PostgresServer, tmp_path: Path) -> None:
    site = multihost_site
    root, db = tmp_path / "archive", postgres.new_database()
    registered = run_scraper("crawl", *site.seed_urls(), "--depth", str(site.depth_needed()), "--archive", str(root),
                             "--db", db, "--register-only", "--allow-private", *site.resolve_args(), *QUICK)
    assert registered.returncode == 0, registered.stderr
    crawl_id = registered.stdout.strip()
    crawl = root / "crawls" / crawl_id
    # Few files (warc-check reads each one with half a dozen programs): a worker's pages are done at its end.
    # w2 first, holding leases before the others start: a worker that starts alone takes every host (its fair
    # share), and under load w2 could start after the others had taken them all and never hold a lease.
    workers = {"w2": start_worker(root, db, "w2", rotate="30")}
    w2_leases = "select count(*) from frontier where leased_by = 'w2' and state = 'leased'"
    wait_for(lambda: count(db, w2_leases) > 0, "w2 to hold leases", process=workers["w2"])
    workers.update((name, start_worker(root, db, name, rotate="30")) for name in ("w1", "w3"))
    # w2 dies holding leases, once the crawl is well under way
    wait_for(lambda: count(db, w2_leases) > 0 and count(db, "select count(*) from frontier where state <> 'queued'")
             >= 200, "w2 to hold leases, 200 requests leased or done", process=workers["w2"])
    workers["w2"].kill()
    assert workers["w2"].wait(10) == -signal.SIGKILL
    for name in ("w1", "w3"):
        status, stderr = finish(workers[name])
        assert status == 0, stderr

    # Every in-scope page has exactly one page record, and one committed capture in the shared catalog.
    records = page_records(crawl)
    recorded = Counter(record["requested_url"] for record in records)
    assert set(recorded) == set(site.all_page_urls())
    assert [url for url, n in recorded.items() if n != 1] == []
    committed = sql(db, f"select url, count(*) from captures where crawl_id = '{crawl_id}' and committed "
                        "group by url")
    assert sorted(url for url, _ in committed) == sorted(site.all_page_urls())
    assert {n for _, n in committed} == {1}
    # The kill cost leases: some of w2's requests were leased again after theirs ran out, and fetched by others.
    (expired,) = sql(db, f"select sum(expired_leases) from frontier where crawl_id = '{crawl_id}'")[0]
    assert expired >= 1
    status = run_scraper("status", "--db", db, "--json")
    assert status.returncode == 0, status.stderr
    report = json.loads(status.stdout)
    (row,) = [c for c in report["crawls"] if c["crawl_id"] == crawl_id]
    assert (row["state"], row["queued"], row["leased"], row["done"]) == ("finished", 0, 0, 600)
    assert row["expired_leases"] == expired
    assert {w["name"]: w["state"] for w in report["workers"]} == {"w1": "stopped", "w2": "running", "w3": "stopped"}

    # Politeness held for the crawl as a whole: never two requests at once to one host.
    assert max(site.max_in_flight().values()) == 1, site.max_in_flight()
    # Each worker wrote its own files, its name in theirs; what w2 left open is not a finished file.
    names = sorted(p.name for p in crawl.glob("*.warc.gz"))
    assert {name.rsplit("-", 1)[1].removesuffix(".warc.gz") for name in names} >= {"w1", "w3"}
    # The worker that finished the crawl closed what the killed one left open (its captures stay uncommitted).
    assert list(crawl.glob("*.open")) == []
    assert {p.name for p in crawl.glob("manifest*.json")} == {"manifest.json", "manifest-w1.json", "manifest-w3.json"}
    assert json.loads((crawl / "manifest.json").read_text())["frontier"]["done"] == 600
    assert warc_check(crawl) == {}

    # A revisit written by another worker refers to an original that w1 or w3 wrote, and pywb replays it.
    again = [site.url(host, "/p/3.html") for host in site.hosts[:2]]
    second = run_scraper("crawl", *again, "--archive", str(root), "--db", db, "--allow-private",
                         *site.resolve_args(), *QUICK)
    assert second.returncode == 0, second.stderr
    (newest,) = [p for p in (root / "crawls").iterdir() if p.name != crawl_id]
    revisits = page_records(newest)
    assert {r["record_kind"] for r in revisits} == {"revisit"}
    originals = {r["refers_to"]["file"].rsplit("-", 1)[1] for r in revisits}
    assert originals <= {"w1.warc.gz", "w3.warc.gz"}  # never w2's: its captures were never committed
    # index and export see every worker's captures.
    assert run_scraper("index", "--archive", str(root)).returncode == 0
    indexed = {json.loads(line.split(" ", 2)[2])["url"] for line in (root / "index.cdxj").read_text().splitlines()
               if '"mime": "warc/revisit"' not in line}
    assert set(site.all_page_urls()) <= indexed
    exported = run_scraper("export", crawl_id, "--archive", str(root), "--format", "jsonl", "--as-crawled", "-o", "-")
    assert exported.returncode == 0, exported.stderr
    assert Counter(json.loads(line)["requested_url"] for line in exported.stdout.splitlines()) == recorded

    paths = [f"/archive/{capture_ts(root, url, revisit=True)}id_/{url}" for url in again]
    (answers,) = pywb_replay(tmp_path, [(root, paths)])
    for url, answer in zip(again, answers, strict=True):
        assert answer.status == 200 and f"<title>{_title_of(site, url)}" in answer.body.decode(), url


def _title_of(site: MultiHostSite, url: str) -> str:
    import urllib.request

    with urllib.request.urlopen(urllib.request.Request(
            f"http://127.0.0.1:{site.port}" + url.split(str(site.port), 1)[1],
            headers={"Host": url.split("/")[2]})) as answer:
        body = answer.read().decode()
    return body.split("<title>", 1)[1].split("<", 1)[0]


@pytest.mark.long
@pytest.mark.multihost(hosts=20, pages_per_host=24)  # 20 x (home + 24 articles) = 500 URLs
def test_three_workers_capture_each_of_500_due_watches_once(multihost_site: MultiHostSite,
                                                            postgres: PostgresServer, tmp_path: Path) -> None:
    site = multihost_site
    root, db = tmp_path / "archive", postgres.new_database()
    watchlist = tmp_path / "watchlist.txt"
    watchlist.write_text("\n".join(site.all_page_urls()) + "\n")
    added = run_scraper("watch", "import", str(watchlist), "--every", "1h", "--archive", str(root), "--db", db)
    assert added.returncode == 0, added.stderr
    workers = [start_worker(root, db, name, "-s", "ARCHIVE_WATCH_BATCH=120", "-s", "ARCHIVE_ALLOW_PRIVATE=True",
                            *site.resolve_args(), *QUICK)
               for name in ("w1", "w2", "w3")]
    # w3 dies holding a batch of watches: its crawl is left open, its leases run out, another worker finishes it.
    wait_for(lambda: count(db, "select count(*) from frontier where leased_by = 'w3' and state = 'leased'") > 0,
             "w3 to hold leases")
    workers[2].kill()
    for process in workers[:2]:
        status, stderr = finish(process)
        assert status == 0, stderr
    captured = sql(db, "select u.url, count(*) from captures c join urls u on u.id = c.url_id where c.committed "
                       "group by u.url")
    assert sorted(url for url, _ in captured) == sorted(site.all_page_urls())
    assert {n for _, n in captured} == {1}  # each due watch captured once, the killed worker's share too
    due = run_scraper("watch", "list", "--json", "--archive", str(root), "--db", db)
    assert due.returncode == 0, due.stderr
    watches = [json.loads(line) for line in due.stdout.splitlines()]
    assert len(watches) == 500
    assert all(w["last_captured_at"] and w["next_due_at"] > w["last_captured_at"] for w in watches)
    (open_crawls,) = sql(db, "select count(*) from crawls where state = 'open'")[0]
    assert open_crawls == 0


@pytest.mark.multihost(hosts=2, pages_per_host=10)
def test_sigterm_stops_a_worker_cleanly_and_gives_its_leases_back(multihost_site: MultiHostSite,
                                                                  postgres: PostgresServer, tmp_path: Path) -> None:
    site = multihost_site
    root, db = tmp_path / "archive", postgres.new_database()
    os.environ["SCRAPER_DB"] = db  # as a service has it: no --db on these command lines
    try:
        registered = run_scraper("crawl", *site.seed_urls(), "--depth", "3", "--archive", str(root),
                                 "--register-only", "--allow-private", "--ignore-robots", *site.resolve_args(), *QUICK)
    finally:
        del os.environ["SCRAPER_DB"]
    assert registered.returncode == 0, registered.stderr
    assert not (root / "catalog.sqlite").exists()  # registered in PostgreSQL, not in a SQLite file
    crawl = root / "crawls" / registered.stdout.strip()
    site.hold()  # answers wait: requests are in flight when the signal comes
    worker = start_worker(root, db, "w1", "--forever", db_in_env=True)
    wait_for(lambda: sum(site.in_flight().values()) >= 2, "requests in flight")
    in_flight = sum(site.in_flight().values())
    worker.send_signal(signal.SIGTERM)
    time.sleep(0.5)
    site.release()
    status, stderr = finish(worker)
    assert status == 143, stderr
    # The pages in flight were finished and recorded; nothing else was fetched after the signal.
    records = page_records(crawl)
    assert len(records) == in_flight
    # Their file is closed (no .open left), and every lease it held went back: nothing stays leased.
    assert list(crawl.glob("*.open")) == [] and len(list(crawl.glob("*-w1.warc.gz"))) == 1
    states = dict(sql(db, "select state, count(*) from frontier group by state"))
    assert states.get("leased", 0) == 0 and states["done"] == in_flight and states["queued"] > 0
    assert sql(db, "select count(*) from hosts where leased_by is not null")[0][0] == 0
    assert sql(db, "select state from workers where name = 'w1'") == [("stopped",)]


def test_status_of_a_local_archive_and_workers_refuse_what_they_cannot_use(site: Site, tmp_path: Path) -> None:
    crawled = run_scraper("crawl", site.url("/"), "--archive", str(tmp_path), "-q", *FAST)
    assert crawled.returncode == 0, crawled.stderr
    status = run_scraper("status", "--archive", str(tmp_path), "--json")
    assert status.returncode == 0, status.stderr
    (crawl,) = json.loads(status.stdout)["crawls"]
    assert (crawl["state"], crawl["done"], crawl["queued"]) == ("finished", 1, 0)
    assert json.loads(status.stdout)["workers"] is None
    # A worker needs a database others can share, and a name that can go into file names: one line each.
    for args, said in ((["--db", f"sqlite:///{tmp_path}/catalog.sqlite"], "--db: workers share a PostgreSQL"),
                       (["--db", "postgresql://nobody@127.0.0.1:1/none", "--name", "../w"], "--name: "),
                       (["--db", "postgresql://nobody@127.0.0.1:1/none"], "--db: cannot open the catalog")):
        refused = run_scraper("worker", "--archive", str(tmp_path), *args)
        assert refused.returncode == 2 and refused.stderr.count("\n") == 1, refused.stderr
        assert refused.stderr.startswith(f"scraper: error: {said}"), refused.stderr
    registering = run_scraper("crawl", site.url("/"), "--archive", str(tmp_path), "--register-only")
    assert registering.returncode == 2 and "--register-only" in registering.stderr
