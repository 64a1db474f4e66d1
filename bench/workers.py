"""Workers benchmark (issue 17): many ``scraper worker`` processes on one crawl, and the shared frontier's lease rate.

Two parts, each against a real, temporary PostgreSQL cluster (``tests/postgres.py``: initdb, fsync off):

``crawl``: pages/s with 1, 2, 4 and 8 workers on an I/O-bound site of many hosts
    (``tests/multihost.py``: ``--delay`` seconds of server latency on every answer).  Each run gets a
    database of its own, registers the crawl with ``scraper crawl --register-only``, starts the N
    workers at once as separate ``python -m scraper worker`` processes, and times from the first start
    to the last exit.  The site grows with N (``--hosts-per-worker`` hosts per worker, the same pages
    per host), so every run lasts about as long and its fixed costs (start-up, the last WARC file's
    close, the end-of-crawl poll) weigh the same: the question is whether N workers do N times the
    work in the same time.  Pages are page records (lines of ``pages-*.jsonl``).  Politeness is on:
    robots.txt obeyed, one request at a time per host (the default), and AutoThrottle (the default), or
    with ``--download-delay`` a fixed per-host delay with AutoThrottle off.  Extraction is on (the default).
    Measured per run: pages/s, CPU of the workers' process trees (RUSAGE_CHILDREN: this process is a
    subreaper, so the extraction forkservers and their pool reach it too), the PostgreSQL server's
    CPU (/proc), WAL bytes and transactions per page, each worker's peak RSS (/proc, every 100 ms),
    the most requests one host saw at once, and the statements the workers ran (pg_stat_statements);
    and where the wall time goes, from the site's record of every request: start-up to the first request,
    the last answer to the last exit (the tail), requests in flight on average, the gap between a host's
    answer and its next request, robots.txt fetched again by a worker a host moved to.
    The captures/urls/frontier tables' bytes per row are read from the last run's database.

``lease``: ``SharedFrontier.lease()`` + ``complete()`` + ``release_hosts()`` in a loop, from 1, 4, 16,
    32 processes at once (each a "worker" with its own connection), on a frontier of ``--rows``
    queued rows over ``--hosts`` hosts inserted with COPY.  Measured: leases/s (rows and calls), each
    call's latency p50/p99 (time.perf_counter), client and server CPU per cycle, and the frontier's
    bytes per row.  Then again with ``--held`` rows leased by a worker that holds them (a crawling
    worker's rows wait for their WARC file's close), and that worker's heartbeat (it rewrites them all);
    and the first size again with host names without "www." (lease() takes new hosts from a random point
    in the names' order).

This prints figures; it asserts nothing and is not part of the test run.

    .venv/bin/python bench/workers.py [--only crawl|lease] [--workers 1,2,4,8] [--loops 1,4,16,32] [--json PATH]
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import multiprocessing
import os
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
REPO_ROOT = BENCH_DIR.parent
sys.path.insert(1, str(REPO_ROOT))  # tests.postgres, tests.multihost, scraper

from crawl import (  # noqa: E402  (bench/ is sys.path[0]; the repository root only from the line above)
    CLK_TCK,
    become_subreaper,
    code_state,
    cpu_seconds,
    descendants,
    machine,
    reap_strays,
    status_kib,
)
from tables import print_table  # noqa: E402

from tests.multihost import MultiHostSite  # noqa: E402
from tests.postgres import PostgresServer, bin_dir  # noqa: E402

CPUS = os.cpu_count() or 1
SAMPLE_S = 0.1
MIB = 1024 * 1024


# -- the PostgreSQL server -------------------------------------------------------------------------------
class Postgres:
    """tests/postgres.py's temporary cluster, with pg_stat_statements loaded, and its CPU time from /proc."""

    def __init__(self) -> None:
        binaries = bin_dir()
        if binaries is None:
            raise SystemExit("bench/workers.py: PostgreSQL is not installed (Debian: apt-get install postgresql)")
        self.base = Path(tempfile.mkdtemp(prefix="scraper-bench-postgres-"))
        self.server = PostgresServer(self.base, binaries)
        self.binaries = binaries

    def start(self) -> Postgres:
        self.server.start()
        try:
            # pg_stat_statements is loaded at start only; pg_ctl restart reuses the first start's options.
            self.execute("postgres", "ALTER SYSTEM SET shared_preload_libraries = 'pg_stat_statements'")
            subprocess.run([*self.server._as_owner, str(self.binaries / "pg_ctl"), "-D", str(self.server.data),
                            "-l", str(self.server.log), "-w", "-t", "60", "restart"],
                           check=True, capture_output=True, timeout=120)
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        self.server.stop()
        shutil.rmtree(self.base, ignore_errors=True)

    def new_database(self) -> str:
        url = self.server.new_database()
        self.execute(url, "CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
        return url

    @staticmethod
    def dsn(url: str) -> str:
        return url.replace("postgresql+psycopg://", "postgresql://")

    def execute(self, url: str, query: str) -> list[tuple[Any, ...]]:
        import psycopg

        dsn = self.dsn(url) if "://" in url else f"host=127.0.0.1 port={self.server.port} user=scraper dbname={url}"
        with psycopg.connect(dsn, autocommit=True) as conn:
            cursor = conn.execute(query)
            return [tuple(row) for row in cursor.fetchall()] if cursor.description else []

    def postmaster(self) -> int:
        return int((self.server.data / "postmaster.pid").read_text().split()[0])

    def cpu_seconds(self) -> float:
        """The server's user+sys so far: the postmaster's own and its reaped children's (backends that exited),
        plus its live children's.  Deltas of this are exact across backends that come and go."""
        pid = self.postmaster()
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        total = sum(int(value) for value in fields[11:15]) / CLK_TCK  # utime stime cutime cstime
        return total + sum(cpu_seconds(child) for child in descendants(pid))

    def wal_lsn(self, url: str) -> int:
        (lsn,) = self.execute(url, "SELECT pg_current_wal_lsn() - '0/0'::pg_lsn")[0]
        return int(lsn)

    def xacts(self, url: str) -> int:
        (commits,) = self.execute(url, "SELECT xact_commit + xact_rollback FROM pg_stat_database "
                                       "WHERE datname = current_database()")[0]
        return int(commits)


@dataclass(frozen=True)
class Statement:
    """One kind of statement (pg_stat_statements' rows merged by the start of their text: an IN list's length
    makes a new row there), per page or per cycle."""

    text: str
    calls: int
    rows: int
    exec_ms: float


def statements(pg: Postgres, url: str) -> list[Statement]:
    rows = pg.execute(url, "SELECT query, calls, rows, total_exec_time FROM pg_stat_statements "
                           "WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())")
    merged: dict[str, list[float]] = defaultdict(lambda: [0, 0, 0.0])
    for query, calls, n, exec_ms in rows:
        text = " ".join(str(query).split())
        if text.startswith(("SELECT pg_", "SELECT xact_", "SELECT query", "CREATE EXTENSION")):
            continue  # the benchmark's own
        key = text[:90]
        merged[key][0] += calls
        merged[key][1] += n
        merged[key][2] += exec_ms
    out = [Statement(text, int(c), int(n), float(ms)) for text, (c, n, ms) in merged.items()]
    return sorted(out, key=lambda s: -s.exec_ms)


@dataclass(frozen=True)
class TableSize:
    table: str
    rows: int
    heap: int
    toast: int
    indexes: dict[str, int]

    @property
    def total(self) -> int:
        return self.heap + self.toast + sum(self.indexes.values())

    def per_row(self, part: int) -> float:
        return part / self.rows if self.rows else 0.0


def table_size(pg: Postgres, url: str, table: str) -> TableSize:
    (rows,) = pg.execute(url, f"SELECT count(*) FROM {table}")[0]
    (heap, toast) = pg.execute(url, f"SELECT pg_relation_size('{table}'), "
                                    f"coalesce(pg_total_relation_size(reltoastrelid), 0) "
                                    f"FROM pg_class WHERE relname = '{table}'")[0]
    indexes = dict(pg.execute(url, f"SELECT indexrelid::regclass::text, pg_relation_size(indexrelid) FROM pg_index "
                                   f"WHERE indrelid = '{table}'::regclass ORDER BY 1"))
    return TableSize(table, int(rows), int(heap), int(toast), {k: int(v) for k, v in indexes.items()})


def print_sizes(sizes: Sequence[TableSize]) -> None:
    rows = []
    for size in sizes:
        index_text = ", ".join(f"{name} {size.per_row(n):.0f}" for name, n in size.indexes.items())
        rows.append([size.table, str(size.rows), f"{size.per_row(size.total):.0f}", f"{size.per_row(size.heap):.0f}",
                     f"{size.per_row(size.toast):.0f}", f"{size.per_row(sum(size.indexes.values())):.0f}", index_text])
    print_table(["table", "rows", "B/row total", "heap", "toast", "indexes", "each index, B/row"], rows)


# -- part 1: N workers crawl a site of many hosts ----------------------------------------------------------
@dataclass
class TreePeaks:
    """What the 100 ms samples saw of one worker's process tree."""

    main_kib: int = 0  # the worker process's own VmHWM
    tree_kib: int = 0  # the largest sum of VmRSS over its tree in one sample
    processes: int = 0
    cpu_s: dict[int, float] = field(default_factory=dict)  # pid -> utime+stime when last seen


@contextmanager
def sample_workers(pids: Sequence[int]) -> Iterator[list[TreePeaks]]:
    peaks = [TreePeaks() for _ in pids]
    stop = threading.Event()

    def run() -> None:
        seen: list[set[int]] = [set() for _ in pids]
        while not stop.wait(SAMPLE_S):
            for index, pid in enumerate(pids):
                tree = [pid, *descendants(pid)]
                total = 0
                for member in tree:
                    figures = status_kib(member)
                    total += figures.get("VmRSS", 0)
                    if member == pid:
                        peaks[index].main_kib = max(peaks[index].main_kib, figures.get("VmHWM", 0))
                    if figures:
                        peaks[index].cpu_s[member] = cpu_seconds(member)
                        seen[index].add(member)
                peaks[index].tree_kib = max(peaks[index].tree_kib, total)
                peaks[index].processes = len(seen[index])

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    try:
        yield peaks
    finally:
        stop.set()
        thread.join()


@dataclass(frozen=True)
class WorkerFigures:
    name: str
    exit_status: int
    pages: int
    peak_rss_mib: float  # the worker process (Scrapy, the leases, the WARC writer)
    tree_peak_mib: float  # its tree: plus the extraction forkserver and pool workers (RSS summed)
    processes: int
    sampled_cpu_s: float  # its tree's utime+stime when last sampled: a lower bound


@dataclass(frozen=True)
class Timeline:
    """When the site saw the run's requests, from the workers' start (seconds), and how they were spread: where a
    run's wall time goes besides fetching, and whether hosts were handed from one worker to another."""

    first_request_s: float  # start-up: the workers' start to the first request the site saw
    half_s: float  # half of the requests had started by then
    last_start_s: float  # the last request's start
    last_end_s: float  # the last answer
    requests: int  # robots.txt included
    robots: int  # robots.txt fetches: one per host, plus one each time a host moved to a worker without it
    shared_hosts: int  # hosts whose pages more than one worker recorded
    mean_in_flight: float  # requests being answered, on average, from the first request to the last answer
    median_gap_s: float  # the median time between two of a host's requests beyond the latency: its delay


@dataclass(frozen=True)
class CrawlRun:
    workers: int
    hosts: int
    pages_expected: int
    pages: int
    pages_twice: int
    wall_s: float
    workers_cpu_s: float  # RUSAGE_CHILDREN delta: every worker's whole tree
    postgres_cpu_s: float
    site_cpu_s: float  # this process (the site's threads, the sampler): the server side of HTTP
    wal_bytes: int
    transactions: int
    max_in_flight: int  # the most requests one host had at once, robots.txt included
    idle_host_s: float  # summed over hosts: gaps between two of a host's requests beyond the longest delay
    idle_hosts: int  # hosts with such a gap
    timeline: Timeline
    load_before: float
    load_after: float
    per_worker: list[WorkerFigures]
    top_statements: list[Statement]
    leases: dict[str, int]

    @property
    def pages_per_s(self) -> float:
        return self.pages / self.wall_s if self.wall_s else 0.0


def longest_delay(args: argparse.Namespace) -> float:
    """The longest a worker waits between two requests to a host: 1.5 x DOWNLOAD_DELAY (Scrapy randomises it
    0.5-1.5x), or with AutoThrottle the delay a host's slot starts with (it then falls towards the latency)."""
    if args.download_delay is None:
        from scraper.crawl import settings

        return float(settings.AUTOTHROTTLE_START_DELAY)
    return 1.5 * float(args.download_delay)


def idle_gaps(site: MultiHostSite, longest: float) -> dict[str, float]:
    """Per host, the time its requests (robots.txt included) waited beyond ``longest`` (latency + the longest
    randomised delay) between one start and the next: work queued for a host that no worker was sending."""
    out: dict[str, float] = {}
    for host in site.hosts:
        starts = [interval.start for interval in site.intervals(host)]
        idle = sum(max(0.0, b - a - longest) for a, b in itertools.pairwise(starts))
        if idle > 0:
            out[host] = idle
    return out


def count_lines(paths: Sequence[Path]) -> Counter[str]:
    urls: Counter[str] = Counter()
    for path in paths:
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                urls[json.loads(line)["requested_url"]] += 1
    return urls


def crawl_run(pg: Postgres, workdir: Path, workers: int, args: argparse.Namespace) -> tuple[CrawlRun, str]:
    hosts = args.hosts_per_worker * workers
    run_dir = workdir / f"crawl-{workers}"
    run_dir.mkdir()
    root, db = run_dir / "archive", pg.new_database()
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    politeness = [] if args.download_delay is None else ["-s", "AUTOTHROTTLE_ENABLED=False",
                                                          "-s", f"DOWNLOAD_DELAY={args.download_delay:g}"]
    politeness += [arg for setting in args.setting for arg in ("-s", setting)]
    with MultiHostSite(hosts=hosts, pages_per_host=args.pages_per_host, delay=args.delay) as site:
        register = subprocess.run(
            [sys.executable, "-m", "scraper", "crawl", *site.seed_urls(), "--depth", str(site.depth_needed()),
             "--archive", str(root), "--db", db, "--register-only", "--allow-private", "-q",
             *site.resolve_args(), *politeness],
            cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=120)
        if register.returncode != 0:
            raise SystemExit(f"bench/workers.py: registering the crawl failed:\n{register.stderr}")
        crawl_id = register.stdout.strip()
        pg.execute(db, "SELECT pg_stat_statements_reset()")
        site.reset()
        wal_before, xacts_before, pg_before = pg.wal_lsn(db), pg.xacts(db), pg.cpu_seconds()
        load_before = os.getloadavg()[0]
        own_before = time.process_time()
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        names = [f"w{i + 1}" for i in range(workers)]
        start = time.perf_counter()
        start_mono = time.monotonic()  # the site's clock
        processes = []
        for name in names:
            out = open(run_dir / f"{name}.log", "wb")  # noqa: SIM115  (closed below, after the wait)
            processes.append((subprocess.Popen(
                [sys.executable, "-m", "scraper", "worker", "--db", db, "--archive", str(root), "--name", name],
                cwd=REPO_ROOT, env=env, stdout=out, stderr=subprocess.STDOUT), out))
        with sample_workers([p.pid for p, _ in processes]) as peaks:
            statuses = [process.wait() for process, _ in processes]
            wall_s = time.perf_counter() - start
        for _, out in processes:
            out.close()
        reap_strays(frozenset())  # the forkservers, orphaned when their worker exited: reaped here, counted
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        own_s = time.process_time() - own_before
        pg_s = pg.cpu_seconds() - pg_before
        wal, xacts = pg.wal_lsn(db) - wal_before, pg.xacts(db) - xacts_before
        max_in_flight = max(site.max_in_flight().values(), default=0)
        idle = idle_gaps(site, args.delay + longest_delay(args))
        expected = len(site.all_page_urls())
        intervals = [i for host in site.hosts for i in site.intervals(host)]
        gaps = [b.start - a.end for host in site.hosts for a, b in itertools.pairwise(site.intervals(host))]
        robots = sum(site.robots_requests().values())
    crawl = root / "crawls" / crawl_id
    recorded = count_lines(sorted(crawl.glob("pages*.jsonl")))
    per_worker = []
    workers_of: defaultdict[str, set[str]] = defaultdict(set)
    for name, status, peak in zip(names, statuses, peaks, strict=True):
        own = count_lines([crawl / f"pages-{name}.jsonl"]) if (crawl / f"pages-{name}.jsonl").exists() else Counter()
        for url in own:
            workers_of[url.split("/")[2]].add(name)
        per_worker.append(WorkerFigures(name, status, sum(own.values()), peak.main_kib / 1024, peak.tree_kib / 1024,
                                        peak.processes, sum(peak.cpu_s.values())))
    leases: Counter[str] = Counter()
    for manifest in crawl.glob("manifest-*.json"):
        leases.update(json.loads(manifest.read_text()).get("leases", {}))
    starts = sorted(i.start - start_mono for i in intervals)
    first, last_end = (starts[0], max(i.end for i in intervals) - start_mono) if starts else (0.0, 0.0)
    timeline = Timeline(first_request_s=first, half_s=starts[len(starts) // 2] if starts else 0.0,
                        last_start_s=starts[-1] if starts else 0.0, last_end_s=last_end, requests=len(intervals),
                        robots=robots, shared_hosts=sum(1 for names_ in workers_of.values() if len(names_) > 1),
                        mean_in_flight=sum(i.end - i.start for i in intervals) / max(last_end - first, 1e-9),
                        median_gap_s=statistics.median(gaps) if gaps else 0.0)
    run = CrawlRun(workers=workers, hosts=hosts, pages_expected=expected, pages=sum(recorded.values()),
                   pages_twice=sum(1 for n in recorded.values() if n > 1), wall_s=wall_s,
                   workers_cpu_s=(after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime),
                   postgres_cpu_s=pg_s, site_cpu_s=own_s, wal_bytes=wal, transactions=xacts,
                   max_in_flight=max_in_flight, idle_host_s=sum(idle.values()), idle_hosts=len(idle),
                   timeline=timeline,
                   load_before=load_before, load_after=os.getloadavg()[0],
                   per_worker=per_worker, top_statements=statements(pg, db), leases=dict(leases))
    return run, db


def print_crawl_runs(runs: Sequence[CrawlRun]) -> None:
    base = runs[0]
    rows = []
    for run in runs:
        cpu = run.workers_cpu_s + run.postgres_cpu_s + run.site_cpu_s
        rows.append([
            str(run.workers), str(run.hosts), f"{run.pages}/{run.pages_expected}", f"{run.wall_s:.1f}",
            f"{run.pages_per_s:.1f}", f"{1000 / run.pages_per_s:.1f}" if run.pages else "—",
            f"{run.pages_per_s / base.pages_per_s:.2f}x", f"{run.pages_per_s / (run.workers * base.pages_per_s):.2f}",
            f"{run.workers_cpu_s:.1f}", f"{1000 * run.workers_cpu_s / max(run.pages, 1):.1f}",
            f"{run.postgres_cpu_s:.1f}", f"{1000 * run.postgres_cpu_s / max(run.pages, 1):.1f}",
            f"{run.site_cpu_s:.1f}", f"{100 * cpu / (run.wall_s * CPUS):.0f}%",
            f"{run.wal_bytes / max(run.pages, 1):.0f}", f"{run.transactions / max(run.pages, 1):.1f}",
            str(run.max_in_flight), f"{run.idle_host_s:.0f} ({run.idle_hosts})", f"{run.load_before:.2f}"])
    print_table(["workers", "hosts", "pages", "wall s", "pages/s", "ms/page", "vs 1 worker", "vs linear",
                 "workers CPU s", "CPU ms/page", "postgres CPU s", "pg ms/page", "site CPU s",
                 f"busy of {CPUS} CPUs", "WAL B/page", "xacts/page", "max/host", "idle host-s", "load"], rows)
    print("vs linear: pages/s / (N x the 1-worker pages/s); busy: (workers + postgres + site CPU) / (wall x CPUs)")
    print("max/host: the most requests one host had in flight at once; idle host-s (hosts): time hosts with pages "
          "left waited beyond latency + 1.5 x the delay between two requests")
    print()
    rows = []
    for run in runs:
        t = run.timeline
        window = t.last_end_s - t.first_request_s
        rows.append([str(run.workers), f"{run.wall_s:.1f}", f"{t.first_request_s:.1f}", f"{t.half_s:.1f}",
                     f"{t.last_start_s:.1f}", f"{t.last_end_s:.1f}", f"{run.wall_s - t.last_end_s:.1f}",
                     f"{run.pages / max(window, 1e-9):.1f}", f"{t.mean_in_flight:.1f}", f"{t.median_gap_s:.2f}",
                     f"{t.robots}/{run.hosts}", str(t.shared_hosts)])
    print_table(["workers", "wall s", "first request s", "half started s", "last start s", "last answer s",
                 "tail s", "pages/s first..last", "mean in flight", "median host gap s", "robots.txt/hosts",
                 "hosts shared"], rows)
    print("times from the workers' start, as the site saw them; tail: the last answer to the last worker's exit "
          "(the last WARC file's close, the end-of-crawl poll); mean in flight: requests being answered, on "
          "average, first request to last answer; median host gap: between the end of a host's answer and its "
          "next request (AutoThrottle's delay and the lease's hand-over); robots.txt/hosts above 1: hosts handed "
          "to a worker that had not fetched it; hosts shared: whose pages more than one worker recorded")
    print("per worker: pages, peak RSS MiB of the worker process / of its tree (extraction forkserver and pool "
          "summed), processes, CPU s (sampled)")
    for run in runs:
        parts = [f"{w.name} {w.pages} pages, {w.peak_rss_mib:.0f}/{w.tree_peak_mib:.0f} MiB, {w.processes} procs, "
                 f"{w.sampled_cpu_s:.1f} s, exit {w.exit_status}" for w in run.per_worker]
        leases = ", ".join(f"{k} {v}" for k, v in sorted(run.leases.items()))
        print(f"  {run.workers} worker(s): " + "; ".join(parts) + f"; pages recorded twice: {run.pages_twice}; "
              f"leases: {leases}")
    for run in runs:
        print(f"\nStatements of the {run.workers}-worker run (pg_stat_statements; per page; server time only)")
        total_ms = sum(s.exec_ms for s in run.top_statements) or 1.0
        rows = [[s.text[:88], f"{s.calls / max(run.pages, 1):.2f}", f"{s.rows / max(s.calls, 1):.1f}",
                 f"{1000 * s.exec_ms / max(s.calls, 1):.0f}", f"{s.exec_ms / max(run.pages, 1):.3f}",
                 f"{100 * s.exec_ms / total_ms:.0f}%"] for s in run.top_statements[:12]]
        print_table(["statement", "calls/page", "rows/call", "us/call", "ms/page", "share"], rows)
        calls = sum(s.calls for s in run.top_statements)
        print(f"all statements: {calls / max(run.pages, 1):.1f} calls/page, {total_ms / max(run.pages, 1):.2f} ms "
              f"of execution per page")


# -- part 2: the lease rate ------------------------------------------------------------------------------
WORDS = ("council", "harbour", "budget", "vote", "station", "winter", "market", "bridge", "school", "museum",
         "ferry", "garden", "library", "tunnel", "festival", "court", "railway", "river", "mayor", "election")


def synthetic_rows(crawl_id: str, rows: int, hosts: int, prefix: str = "www.",
                   seed: int = 20261206) -> Iterator[tuple[Any, ...]]:
    """Frontier rows as a news crawl makes them: an article URL of ~80 characters, its key, its host, the host's
    home page as referrer; shuffled, so that consecutive rows are of different hosts.  Hosts are named
    ``{prefix}{word}-news{n}.example``: with "www." every name starts alike, as many sites' do."""
    from scraper.scope import url_key
    from scraper.storage.shared import request_host

    rng = random.Random(seed)
    order = list(range(rows))
    rng.shuffle(order)
    for n in order:
        host = f"{prefix}{WORDS[n % hosts % len(WORDS)]}-news{n % hosts}.example"
        slug = "-".join(rng.choice(WORDS) for _ in range(rng.randint(3, 6)))
        url = f"https://{host}/{2020 + n % 6}/{n % 12 + 1:02d}/{n % 28 + 1:02d}/{slug}-{n}.html"
        yield (crawl_id, url_key(url), url, request_host(url), "page", 1, f"https://{host}/", "queued", 0, 0)


def fill_frontier(url: str, rows: int, hosts: int, prefix: str = "www.") -> tuple[str, float]:
    import psycopg
    from sqlalchemy import create_engine

    from scraper.storage.shared import SharedState

    engine = create_engine(url)
    SharedState(engine).register_crawl("bench-leases", "crawl", {}, [], created_by="bench")
    engine.dispose()
    start = time.perf_counter()
    with psycopg.connect(Postgres.dsn(url), autocommit=True) as conn:
        with conn.cursor().copy("COPY frontier (crawl_id, url_key, url, host, kind, depth, referrer, state, leases, "
                                "expired_leases) FROM STDIN") as copy:
            for row in synthetic_rows("bench-leases", rows, hosts, prefix):
                copy.write_row(row)
        # what _add_requests keeps for the lease's choice of hosts, which COPY bypasses
        conn.execute("INSERT INTO crawl_hosts (crawl_id, host, queued, spread) SELECT crawl_id, host, count(*), "
                     "floor(random() * 2147483647)::int FROM frontier WHERE state = 'queued' GROUP BY crawl_id, host")
        conn.execute("VACUUM ANALYZE frontier")
    return "bench-leases", time.perf_counter() - start


def hold_rows(pg: Postgres, url: str, crawl_id: str, rows: int) -> None:
    """``rows`` queued rows leased by a live worker that is not leasing any more ("holder"), as a crawling worker's
    are until their WARC file closes (60 s of pages: 3,000 at 50 pages/s), with the hosts' queued counts kept."""
    pg.execute(url, f"UPDATE frontier SET state = 'leased', leased_by = 'holder', leases = 1, "
                    f"lease_until = now() + interval '1 hour' WHERE id IN (SELECT id FROM frontier WHERE "
                    f"crawl_id = '{crawl_id}' AND state = 'queued' ORDER BY random() LIMIT {rows})")
    pg.execute(url, f"UPDATE crawl_hosts c SET queued = (SELECT count(*) FROM frontier f WHERE f.crawl_id = c.crawl_id "
                    f"AND f.host = c.host AND f.state = 'queued') WHERE c.crawl_id = '{crawl_id}'")
    pg.execute(url, "VACUUM ANALYZE frontier")


@dataclass(frozen=True)
class Heartbeat:
    """``SharedState.heartbeat`` of a worker holding ``rows`` leased rows: it rewrites every one."""

    rows: int
    ms: float  # the median of the calls'
    postgres_cpu_ms: float  # per call
    wal_bytes: float  # per call


def time_heartbeat(pg: Postgres, url: str, crawl_id: str, rows: int, calls: int = 5) -> Heartbeat:
    from sqlalchemy import create_engine

    from scraper.storage.shared import SharedState

    engine = create_engine(url, pool_size=1, max_overflow=0)
    state = SharedState(engine)
    state.heartbeat("holder", [crawl_id], 3600.0)  # the connection made, the statements planned
    wal_before, pg_before = pg.wal_lsn(url), pg.cpu_seconds()
    times = []
    for _ in range(calls):
        t0 = time.perf_counter()
        state.heartbeat("holder", [crawl_id], 3600.0)
        times.append(time.perf_counter() - t0)
    pg_s, wal = pg.cpu_seconds() - pg_before, pg.wal_lsn(url) - wal_before
    engine.dispose()
    return Heartbeat(rows, 1000 * statistics.median(times), 1000 * pg_s / calls, wal / calls)


@dataclass(frozen=True)
class LoopResult:
    lease_s: list[float]
    complete_s: list[float]
    release_s: list[float]
    rows: int
    empty: int  # lease calls that got nothing
    deadlocks: dict[str, int]  # by the call that PostgreSQL chose to abort (it was rolled back; the loop goes on)


def lease_loop(url: str, crawl_id: str, name: str, batch: int, host_delay: float, fixed_share: int | None,
               barrier: Any, deadline_box: Any, results: Any) -> None:
    from psycopg.errors import DeadlockDetected
    from sqlalchemy import create_engine
    from sqlalchemy.exc import OperationalError

    from scraper.storage.shared import Outcome, SharedFrontier, SharedState

    if fixed_share is not None:
        # What-if, in this process only: the fair share as a number known beforehand instead of counted by
        # _fair_share's three queries each call (the first counts the crawl's queued hosts: O(queued rows)).
        SharedFrontier._fair_share = lambda self, conn: fixed_share  # type: ignore[method-assign]
    engine = create_engine(url, pool_size=1, max_overflow=0)
    state = SharedState(engine)
    state.worker_started(name, "bench", os.getpid())
    frontier = SharedFrontier(state, crawl_id, name, lease_seconds=60)
    held: set[str] = set()
    lease_s, complete_s, release_s, rows, empty = [], [], [], 0, 0
    deadlocks: Counter[str] = Counter()
    barrier.wait()
    deadline = deadline_box.value
    while time.monotonic() < deadline:
        t0 = time.perf_counter()
        try:
            got = frontier.lease(batch, held)
        except OperationalError as exc:
            if not isinstance(exc.orig, DeadlockDetected):
                raise
            deadlocks["lease"] += 1
            continue
        t1 = time.perf_counter()
        lease_s.append(t1 - t0)
        if not got:
            empty += 1
            continue
        frontier.complete([Outcome(request.url_key, True) for request in got])
        t2 = time.perf_counter()
        complete_s.append(t2 - t1)
        rows += len(got)
        # As a worker does once a host has nothing in flight: free, after its politeness delay.
        try:
            frontier.release_hosts(dict.fromkeys(held, host_delay))
        except OperationalError as exc:
            if not isinstance(exc.orig, DeadlockDetected):
                raise
            deadlocks["release_hosts"] += 1
            continue  # still held: released at the next cycle
        held.clear()
        release_s.append(time.perf_counter() - t2)
    state.worker_stopped(name)
    engine.dispose()
    results.put(asdict(LoopResult(lease_s, complete_s, release_s, rows, empty, dict(deadlocks))))


@dataclass(frozen=True)
class LeaseRun:
    variant: str  # "as is", "N held" (hold_rows) or "share fixed" (the what-if of lease_loop)
    loops: int
    seconds: float
    lease_calls: int
    empty_calls: int
    rows: int
    lease_ms: tuple[float, float]  # p50, p99
    complete_ms: tuple[float, float]
    release_ms: tuple[float, float]
    client_cpu_s: float
    postgres_cpu_s: float
    wal_bytes: int
    load_before: float
    top_statements: list[Statement]
    deadlocks: dict[str, int]


def percentiles(values: Sequence[float]) -> tuple[float, float]:
    if len(values) < 2:
        return (1000 * values[0], 1000 * values[0]) if values else (0.0, 0.0)
    cuts = statistics.quantiles(values, n=100, method="inclusive")
    return 1000 * statistics.median(values), 1000 * cuts[98]


def lease_run(pg: Postgres, url: str, crawl_id: str, loops: int, args: argparse.Namespace,
              fixed_share: int | None, variant: str = "as is") -> LeaseRun:
    context = multiprocessing.get_context("fork")
    barrier = context.Barrier(loops + 1)
    deadline = context.Value("d", 0.0)
    results = context.Queue()
    pg.execute(url, "DELETE FROM workers")  # the last level's loops: stopped, but they would count for nothing
    pg.execute(url, "UPDATE hosts SET leased_by = NULL, lease_until = NULL, next_allowed_at = NULL")
    pg.execute(url, "SELECT pg_stat_statements_reset()")
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    procs = [context.Process(target=lease_loop, args=(url, crawl_id, f"loop{i}", args.batch, args.host_delay,
                                                      fixed_share, barrier, deadline, results)) for i in range(loops)]
    for proc in procs:
        proc.start()
    deadline.value = time.monotonic() + 3600.0  # replaced below, before the barrier opens
    load_before = os.getloadavg()[0]
    wal_before, pg_before = pg.wal_lsn(url), pg.cpu_seconds()
    deadline.value = time.monotonic() + args.seconds
    barrier.wait()
    started = time.perf_counter()
    collected = [LoopResult(**results.get(timeout=args.seconds + 120)) for _ in procs]
    elapsed = time.perf_counter() - started
    for proc in procs:
        proc.join()
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    pg_s = pg.cpu_seconds() - pg_before
    lease_s = [v for r in collected for v in r.lease_s]
    return LeaseRun(
        variant="share fixed" if fixed_share is not None else variant, loops=loops, seconds=elapsed,
        lease_calls=len(lease_s), empty_calls=sum(r.empty for r in collected),
        rows=sum(r.rows for r in collected), lease_ms=percentiles(lease_s),
        complete_ms=percentiles([v for r in collected for v in r.complete_s]),
        release_ms=percentiles([v for r in collected for v in r.release_s]),
        client_cpu_s=(after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime),
        postgres_cpu_s=pg_s, wal_bytes=pg.wal_lsn(url) - wal_before, load_before=load_before,
        top_statements=statements(pg, url),
        deadlocks=dict(sum((Counter(r.deadlocks) for r in collected), Counter())))


def print_lease_runs(runs: Sequence[LeaseRun], rows_in_frontier: int, batch: int) -> None:
    rows = []
    for run in runs:
        cycles = max(run.lease_calls - run.empty_calls, 1)
        rows.append([run.variant, str(run.loops), f"{run.seconds:.1f}", f"{run.lease_calls / run.seconds:.0f}",
                     f"{run.rows / run.seconds:.0f}", f"{run.rows / cycles:.1f}", str(run.empty_calls),
                     "{:.1f} / {:.1f}".format(*run.lease_ms), "{:.1f} / {:.1f}".format(*run.complete_ms),
                     "{:.1f} / {:.1f}".format(*run.release_ms),
                     f"{1000 * run.client_cpu_s / cycles:.1f}", f"{1000 * run.postgres_cpu_s / cycles:.1f}",
                     f"{run.wal_bytes / max(run.rows, 1):.0f}",
                     ", ".join(f"{k} {v}" for k, v in sorted(run.deadlocks.items())) or "0",
                     f"{run.load_before:.2f}"])
    print_table(["lease()", "loops", "s", "lease calls/s", "rows leased/s", "rows/call", "empty calls",
                 "lease ms p50/p99", "complete ms p50/p99", "release ms p50/p99", "client CPU ms/cycle",
                 "postgres CPU ms/cycle",
                 "WAL B/row", "deadlocks", "load"], rows)
    print(f"frontier: {rows_in_frontier} queued rows at the start; batch {batch}; a cycle = lease() + complete() + "
          f"release_hosts() of what it leased; N held: N of the queued rows leased by a worker that is not leasing "
          f"(a crawling worker's rows wait for their WARC file's close); share fixed: _fair_share replaced by "
          f"hosts / loops in the loops' processes (a what-if: not the code as it is)")
    for run in [r for r in runs if r.loops == max(x.loops for x in runs)]:
        print(f"\nStatements of the {run.loops}-loop run, {run.variant} (pg_stat_statements; per cycle; server "
              f"time only)")
        cycles = max(run.lease_calls - run.empty_calls, 1)
        total_ms = sum(s.exec_ms for s in run.top_statements) or 1.0
        print_table(["statement", "calls/cycle", "rows/call", "us/call", "share"],
                    [[s.text[:88], f"{s.calls / cycles:.2f}", f"{s.rows / max(s.calls, 1):.1f}",
                      f"{1000 * s.exec_ms / max(s.calls, 1):.0f}", f"{100 * s.exec_ms / total_ms:.0f}%"]
                     for s in run.top_statements[:10]])
        top = run.top_statements[0] if run.top_statements else None
        if top is not None:
            print(f"server execution per cycle: {total_ms / cycles:.2f} ms, of which the first statement "
                  f"{top.exec_ms / cycles:.2f} ms")


# -- main ------------------------------------------------------------------------------------------------
def int_list(text: str) -> list[int]:
    return [int(part) for part in text.split(",") if part.strip()]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", choices=("crawl", "lease"), help="run one part only")
    parser.add_argument("--workers", type=int_list, default=[1, 2, 4, 8], metavar="N,...")
    parser.add_argument("--hosts-per-worker", type=int, default=24, help="the site has this many hosts per worker")
    parser.add_argument("--pages-per-host", type=int, default=15, help="articles per host (plus its home page)")
    parser.add_argument("--delay", type=float, default=0.1, help="the server's latency, seconds, on every answer")
    parser.add_argument("--download-delay", type=float, metavar="SECONDS",
                        help="a fixed per-host delay (DOWNLOAD_DELAY, AutoThrottle off); default: scraper's own "
                             "politeness, AutoThrottle")
    parser.add_argument("--setting", "-s", action="append", default=[], metavar="NAME=VALUE",
                        help="a Scrapy setting for the crawl part's crawl (scraper crawl -s; every worker runs it)")
    parser.add_argument("--rows", type=int_list, default=[100_000, 500_000], metavar="N,...",
                        help="frontier sizes for the lease part, one database each")
    parser.add_argument("--hosts", type=int, default=10_000, help="hosts in the lease part's frontier")
    parser.add_argument("--loops", type=int_list, default=[1, 4, 16, 32], metavar="N,...")
    parser.add_argument("--seconds", type=float, default=4.0, help="how long each lease level runs")
    parser.add_argument("--batch", type=int, default=8,
                        help="rows asked for per lease() call (a crawling worker's were 7-12: README)")
    parser.add_argument("--host-delay", type=float, default=1.0, help="next_allowed_at of a released host, seconds")
    parser.add_argument("--held", type=int, default=50_000, metavar="N",
                        help="then again with N queued rows (at most half) leased by a worker that holds them, as "
                             "rows wait for their WARC file's close; 0: not")
    parser.add_argument("--no-bare-hosts", dest="bare_hosts", action="store_false",
                        help="not the first size again with host names without www.")
    parser.add_argument("--share-fixed", action="store_true",
                        help="also the what-if of _fair_share replaced by a number (it told something while the "
                             "share was counted by a scan of the frontier at every lease; it is cached now)")
    parser.add_argument("--json", type=Path, metavar="PATH", help="also write the figures as JSON to PATH")
    args = parser.parse_args(argv)

    started = datetime.now(UTC)
    load_start = os.getloadavg()
    pg = Postgres().start()  # before becoming a subreaper: the postmaster is not this process's to reap
    become_subreaper()
    workdir = Path(tempfile.mkdtemp(prefix="scraper-bench-workers-"))
    figures: dict[str, Any] = {"machine": machine(), "code": code_state(),
                               "date": started.strftime("%Y-%m-%d %H:%M UTC"), "load_start": load_start,
                               "memory_gib": os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 1024 ** 3}
    m = figures["machine"]
    print(f"machine: {m['platform']}; {m['cpu']}; {m['cpu_count']} CPUs; {figures['memory_gib']:.1f} GiB; "
          f"{m['python']}; scrapy {m['scrapy']}")
    print(f"code:    {figures['code']}; PostgreSQL {pg.execute('postgres', 'SHOW server_version')[0][0]} "
          f"(fsync, synchronous_commit and full_page_writes off: tests/postgres.py's cluster)")
    print(f"date:    {figures['date']}; load average {load_start[0]:.2f} {load_start[1]:.2f} {load_start[2]:.2f}")
    try:
        if args.only in (None, "crawl"):
            delay = ("AutoThrottle (scraper's default: a host's delay starts at 1 s and follows its latency)"
                     if args.download_delay is None else
                     f"DOWNLOAD_DELAY {args.download_delay:g} s (randomised 0.5-1.5x), AutoThrottle off")
            print(f"\n== Workers crawling: {args.hosts_per_worker} hosts per worker x ({args.pages_per_host} "
                  f"articles + home), server latency {args.delay:g} s, {delay}, 1 request per host at a time, "
                  f"robots.txt obeyed, extraction on{''.join(f'; -s {x}' for x in args.setting)}\n")
            runs, last_db = [], None
            for n in args.workers:
                run, last_db = crawl_run(pg, workdir, n, args)
                runs.append(run)
                print(f"  {n} worker(s): {run.pages} pages in {run.wall_s:.1f} s", flush=True)
            print()
            print_crawl_runs(runs)
            assert last_db is not None
            sizes = [table_size(pg, last_db, t) for t in ("urls", "captures", "frontier", "crawl_hosts", "hosts")]
            (json_bytes, url_bytes) = pg.execute(last_db, "SELECT avg(octet_length(record_json)), "
                                                           "avg(octet_length(url)) FROM captures")[0]
            print(f"\nTables of the {args.workers[-1]}-worker run's database (a real crawl: every page once)")
            print_sizes(sizes)
            print(f"captures: record_json (the page record) {float(json_bytes):.0f} B on average (compressed in "
                  f"TOAST when over ~2 kB), url {float(url_bytes):.0f} B")
            figures["crawl"] = {"settings": {k: getattr(args, k) for k in ("hosts_per_worker", "pages_per_host",
                                                                           "delay", "download_delay", "setting")},
                                "runs": [asdict(run) for run in runs], "tables": [asdict(s) for s in sizes],
                                "record_json_bytes": float(json_bytes)}
        if args.only in (None, "lease"):
            figures["lease"] = []
            # The last: the first size again with host names that do not all start alike ("www."): lease() takes new
            # hosts from a random point in their names' order, which a common prefix makes the same point.
            sizes_l = [(rows, "www.") for rows in args.rows] + ([(args.rows[0], "")] if args.bare_hosts else [])
            for rows, prefix in sizes_l:
                url = pg.new_database()
                crawl_id, fill_s = fill_frontier(url, rows, args.hosts, prefix)
                fresh = table_size(pg, url, "frontier")
                (avg_url,) = pg.execute(url, "SELECT avg(octet_length(url)) FROM frontier")[0]
                named = "www.<word>-news<n>.example" if prefix else "<word>-news<n>.example, without www."
                print(f"\n== Lease rate: {rows} queued rows over {args.hosts} hosts named {named} (COPY + VACUUM "
                      f"ANALYZE {fill_s:.1f} s; URLs of {float(avg_url):.0f} B), {args.seconds:g} s per level\n")
                runs_l = [lease_run(pg, url, crawl_id, loops, args, None, "as is" if prefix else "no www.")
                          for loops in args.loops]
                if args.share_fixed:
                    runs_l += [lease_run(pg, url, crawl_id, loops, args, math.ceil(args.hosts / loops))
                               for loops in args.loops]
                heartbeat = None
                held = min(args.held, rows // 2) if prefix else 0
                if held:
                    hold_rows(pg, url, crawl_id, held)
                    heartbeat = time_heartbeat(pg, url, crawl_id, held)
                    runs_l += [lease_run(pg, url, crawl_id, loops, args, None, f"{held} held") for loops in args.loops]
                print_lease_runs(runs_l, rows, args.batch)
                if heartbeat is not None:
                    print(f"heartbeat of a worker holding {heartbeat.rows} leased rows: {heartbeat.ms:.0f} ms "
                          f"(median of 5), {heartbeat.postgres_cpu_ms:.0f} ms of server CPU and "
                          f"{heartbeat.wal_bytes / MIB:.1f} MiB of WAL a call "
                          f"({heartbeat.wal_bytes / heartbeat.rows:.0f} B a row)")
                after = table_size(pg, url, "frontier")
                per_host = [table_size(pg, url, "crawl_hosts"), table_size(pg, url, "hosts")]
                print("\nThe frontier table, fresh (after COPY) and after the lease runs (their rows updated twice); "
                      "a row a host: crawl_hosts (each crawl's) and hosts (the leases) after the runs")
                print_sizes([fresh, after, *per_host])
                figures["lease"].append({"rows": rows, "hosts": args.hosts, "prefix": prefix, "fill_s": fill_s,
                                         "held": held,
                                         "heartbeat": asdict(heartbeat) if heartbeat is not None else None,
                                         "runs": [asdict(run) for run in runs_l], "fresh": asdict(fresh),
                                         "after": asdict(after), "per_host": [asdict(t) for t in per_host]})
    finally:
        pg.stop()
        shutil.rmtree(workdir, ignore_errors=True)
    figures["load_end"] = os.getloadavg()
    print(f"\nended {datetime.now(UTC).strftime('%H:%M UTC')}; load average at the end {figures['load_end'][0]:.2f}")
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2, default=str) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    with suppress(KeyboardInterrupt):
        sys.exit(main())
