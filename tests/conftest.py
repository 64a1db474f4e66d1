"""Shared fixtures: the local test site, a helper that runs the real CLI, the schema."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, settings
from jsonschema import Draft202012Validator

from scraper.schema import page_record_schema
from tests.foreign_warcs import (  # noqa: F401 - session fixtures: WARCs written by other tools
    foreign_site,
    pywb_corpora,
    warcio_corpus,
    warcprox_corpus,
    wget_corpora,
)
from tests.multihost import MultiHostSite
from tests.postgres import PostgresServer
from tests.postgres import bin_dir as postgres_bin_dir
from tests.site import Site, SiteServer

REPO = Path(__file__).resolve().parents[1]
# No timed assertions, Hypothesis's included: its 200 ms deadline per example and its too-slow health check
# fail a property test on a loaded machine whatever the code does (under CI it drops both itself).
settings.register_profile("scraper", settings.default, deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("scraper")

# Tests want results, not politeness towards their own loopback server.
FAST = ["-s", "AUTOTHROTTLE_START_DELAY=0", "-s", "AUTOTHROTTLE_MAX_DELAY=0.5"]


def pytest_xdist_auto_num_workers(config: pytest.Config) -> int:
    """``-n auto``: two workers per core.  Much of a test is waiting (a crawl's delays, a server's
    timeout, a subprocess starting), which a second worker per core fills: measured on 2 cores,
    the suite takes 6.5 min with 4 workers against 8.3 with 2."""
    return 2 * (os.cpu_count() or 1)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Tests marked ``long`` first, one at the head of each worker's share.

    ``--dist worksteal`` first hands each worker a contiguous share of the collection, then idle workers
    steal from the tail of the busiest.  A half-minute test that falls late in a share runs last, alone,
    while the other workers are done (measured: 30 s of a 330 s run).  Each share is the size worksteal
    gives it; the long tests are dealt round-robin to the heads of the shares.
    """
    workers = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
    long = [item for item in items if item.get_closest_marker("long")]
    if not long or workers < 2:
        return
    rest = [item for item in items if not item.get_closest_marker("long")]
    shares: list[list[pytest.Item]] = [long[i::workers] for i in range(workers)]
    remaining = len(items)
    for index, share in enumerate(shares):
        size = remaining // (workers - index)  # as worksteal splits the collection among idle workers
        remaining -= size
        share += [rest.pop(0) for _ in range(max(0, size - len(share))) if rest]
    shares[-1] += rest
    items[:] = [item for share in shares for item in share]


def compile_package() -> None:
    """The package's bytecode written once, before the tests start some 500 ``python -m scraper`` processes.

    Under ``PYTHONDONTWRITEBYTECODE`` (set in this workplace's shells) a fresh clone never gets a
    ``__pycache__``, and every process compiled each module it imports from source again: about 0.09 s of
    CPU for a crawl's imports, some 8% of the suite's CPU.  py_compile writes whatever that variable says,
    and processes still read what it wrote (a module edited since is compiled again, as ever).
    """
    import compileall

    compileall.compile_dir(REPO / "scraper", quiet=1)


def pytest_configure(config: pytest.Config) -> None:
    if not hasattr(config, "workerinput"):  # once a run: in pytest-xdist's controller, not in each worker
        compile_package()
    config.addinivalue_line("markers", "long: a test of half a minute or more, started first (see above)")
    config.addinivalue_line("markers", "multihost(**kwargs): the arguments of the multihost_site fixture's site")
    # Tests send SIGINT as a terminal's Ctrl-C: to processes that handle it.  Started as a background
    # job of a non-interactive shell, pytest has SIGINT ignored, and so would every process it starts
    # (Python keeps an ignored SIGINT ignored).  Handled here, it is back to its default in children.
    if signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    """A real PostgreSQL server (tests/postgres.py), this worker's own, started on first use.

    Its folder is not under pytest's basetemp: that is private to root, and CI's cluster belongs to nobody.
    """
    binaries = postgres_bin_dir()
    if binaries is None:
        if os.environ.get("CI"):
            pytest.fail("PostgreSQL is not installed: .ci/run must apt-get install postgresql")
        pytest.skip("PostgreSQL is not installed here (Debian: apt-get install postgresql)")
    base = Path(tempfile.mkdtemp(prefix="scraper-postgres-"))
    try:
        server = PostgresServer(base, binaries).start()
        try:
            yield server
        finally:
            server.stop()
    finally:
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture(scope="session")
def site() -> Iterator[Site]:
    with SiteServer() as running:
        yield running


@pytest.fixture
def multihost_site(request: pytest.FixtureRequest) -> Iterator[MultiHostSite]:
    """Many hosts on one server (tests/multihost.py), twenty of thirty articles unless the test is marked
    ``@pytest.mark.multihost(hosts=2, pages_per_host=10, delay=0.1)``.  Its own per test: it counts requests."""
    marker = request.node.get_closest_marker("multihost")
    with MultiHostSite(**(marker.kwargs if marker else {})) as running:
        yield running


def run_scraper(*args: str, cwd: Path | None = None, stdin: str | None = None,
                timeout: float = 180) -> subprocess.CompletedProcess[str]:
    """``python -m scraper ARGS`` in a subprocess, as a user would run it."""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.run([sys.executable, "-m", "scraper", *args], cwd=cwd or REPO, input=stdin,
                          capture_output=True, text=True, timeout=timeout, env=env)


def wait_for(condition: Callable[[], bool], what: str, process: subprocess.Popen[Any] | None = None,
             limit: float = 300) -> None:
    """Until ``condition()`` holds; a failure, not a fall-through, if ``process`` ends first or nothing comes.

    A test that signals a process once it has done something must not signal it earlier because a
    loaded machine was slow (a deadline that just ends the wait would): that is a race in the test.
    ``limit`` only stops a hung test; it is no bound on how fast the code must be.
    """
    deadline = time.monotonic() + limit
    while not condition():
        if process is not None and process.poll() is not None:
            pytest.fail(f"the process ended (exit {process.returncode}) before {what}")
        if time.monotonic() > deadline:
            pytest.fail(f"still no {what} after {limit:.0f} s")
        time.sleep(0.05)


def crawl_dirs(root: Path) -> list[Path]:
    if not (root / "crawls").is_dir():
        return []
    return sorted(p for p in (root / "crawls").iterdir() if not p.name.startswith("."))


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


@pytest.fixture(scope="session")
def record_validator() -> Draft202012Validator:
    schema = page_record_schema()
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)


def assert_valid_records(validator: Draft202012Validator, records: list[dict[str, Any]]) -> None:
    assert records, "no records to validate"
    for record in records:
        errors = sorted(validator.iter_errors(record), key=str)
        assert not errors, f"{record.get('url')}: {[e.message for e in errors][:3]}"


# What no output may hold raw: C0 but tab and line feed (the outputs' own), DEL, C1, U+2028/9.
RAW_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029]")
