"""storage.layout, the crawl folder's lock: held by one process, seen by others, and never disturbed by their
looking."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from scraper.storage.layout import LOCK_FILE, is_crawl_locked, lock_crawl, new_crawl_id
from tests.conftest import REPO

# Takes and releases the lock CYCLES times, as crawls and resumes of the folder one after the other would;
# counts the times it found the lock taken.  Starts when its stdin says so, so that the checker is running;
# then holds the lock until its stdin says so, so that the checker sees it held at least once.
TAKER = """
import sys
from pathlib import Path
from scraper.storage.layout import CrawlBusy, lock_crawl

directory, cycles = Path(sys.argv[1]), int(sys.argv[2])
sys.stdin.readline()
busy = 0
for _ in range(cycles):
    try:
        lock_crawl(directory).close()
    except CrawlBusy:
        busy += 1
held = lock_crawl(directory)
print(busy, flush=True)
sys.stdin.readline()
held.close()
"""

# Looks at the lock until its stdin closes, as `scraper crawls` or `verify --repair` would; says the first
# time it sees the lock held, and free, then at the end how often it saw each.
CHECKER = """
import json, os, sys, threading
from pathlib import Path
from scraper.storage.layout import is_crawl_locked

directory = Path(sys.argv[1])
done = threading.Event()
threading.Thread(target=lambda: (sys.stdin.read(), done.set()), daemon=True).start()
print("ready", flush=True)
seen = {"locked": 0, "free": 0}
while not done.is_set():
    state = "locked" if is_crawl_locked(directory) else "free"
    seen[state] += 1
    if seen[state] == 1:
        print(state, flush=True)
print(json.dumps(seen))
"""


def python(code: str, *args: str) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.Popen([sys.executable, "-c", code, *args], cwd=REPO, env=env, text=True,
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE)


def test_looking_at_the_lock_never_makes_a_crawl_taking_it_fail(tmp_path: Path) -> None:
    (tmp_path / LOCK_FILE).touch()
    checker = python(CHECKER, str(tmp_path))
    assert checker.stdout is not None and checker.stdout.readline() == "ready\n"
    taker = python(TAKER, str(tmp_path), "3000")
    assert taker.stdin is not None and taker.stdout is not None
    taker.stdin.write("go\n")
    taker.stdin.flush()
    busy = taker.stdout.readline()  # the cycles are done, and the taker holds the lock
    # The checker looks all along: it sees the lock held (now, if not during the cycles), and free (before
    # the cycles, or once the taker lets go).  Each wait ends, however the two processes are scheduled.
    said = {"ready"}

    def wait_until_checker_says(state: str) -> None:
        while state not in said:
            line = checker.stdout.readline() if checker.stdout is not None else ""
            assert line, f"the checker ended before it saw the lock {state}"
            said.add(line.strip())

    wait_until_checker_says("locked")
    taker.communicate("release\n", timeout=300)
    wait_until_checker_says("free")
    seen = json.loads(checker.communicate("", timeout=300)[0].splitlines()[-1])
    assert taker.returncode == 0 and checker.returncode == 0
    assert int(busy) == 0, f"a crawl found the lock taken {busy.strip()} times of 3000, by a process only looking at it"
    assert seen["locked"] > 0 and seen["free"] > 0, seen


HOLDER = """
import sys
from pathlib import Path
from scraper.storage.layout import lock_crawl

handle = lock_crawl(Path(sys.argv[1]))
print("held", flush=True)
sys.stdin.read()
"""


def test_a_lock_is_seen_while_its_process_lives_and_gone_when_it_is_killed(tmp_path: Path) -> None:
    assert not is_crawl_locked(tmp_path)  # no lock file yet
    holder = python(HOLDER, str(tmp_path))
    assert holder.stdout is not None and holder.stdout.readline() == "held\n"
    assert is_crawl_locked(tmp_path)
    assert is_crawl_locked(tmp_path)  # looking twice changes nothing
    holder.send_signal(signal.SIGKILL)
    holder.wait(timeout=60)
    assert not is_crawl_locked(tmp_path)
    lock_crawl(tmp_path).close()  # and it can be taken again


def test_the_lock_is_held_while_the_file_is_open_even_in_the_same_process(tmp_path: Path) -> None:
    """A check in the process that holds the lock sees it too; closing the check's own file keeps it held."""
    handle = lock_crawl(tmp_path)
    try:
        assert is_crawl_locked(tmp_path)
        assert is_crawl_locked(tmp_path)
    finally:
        handle.close()
    assert not is_crawl_locked(tmp_path)


def test_crawl_ids_sort_in_the_order_the_crawls_started_within_one_second() -> None:
    start = datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC)
    ids = [new_crawl_id(start + timedelta(milliseconds=ms)) for ms in range(0, 1000, 37)]
    assert sorted(ids) == ids
    assert all(i.startswith("20260301T120000Z-") and len(i) == len("20260301T120000Z-") + 6 for i in ids)
    assert len({new_crawl_id(start) for _ in range(50)}) > 1  # the rest is random: two machines, one millisecond
