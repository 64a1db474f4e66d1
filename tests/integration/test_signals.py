"""Signals at the moments between start-up and the crawl: each one stops the process cleanly.

A process blocked opening a FIFO cannot go on until the test opens the other end, so the
test knows where it is when it signals it (Linux: ``/proc/PID/wchan`` names the wait).
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import REPO, crawl_dirs, run_scraper
from tests.site import Site


@contextlib.contextmanager
def scraper_process(*args: str) -> Iterator[subprocess.Popen[str]]:
    """``python -m scraper ARGS``, killed on the way out if a failed test left it waiting on its FIFO."""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    process = subprocess.Popen([sys.executable, "-m", "scraper", *args], cwd=REPO, env=env, text=True,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
    try:
        yield process
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.communicate()


def wait_opening_fifo(process: subprocess.Popen[str]) -> None:
    """Until ``process`` waits for a reader of a FIFO it opens for writing, or a writer of one it reads."""
    wchan = Path(f"/proc/{process.pid}/wchan")
    if not wchan.exists():
        pytest.skip("needs /proc/PID/wchan (Linux)")
    deadline = time.monotonic() + 60
    while wchan.read_text() != "wait_for_partner":
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, "never blocked opening the FIFO"
        time.sleep(0.01)


@pytest.fixture
def fifo(tmp_path: Path) -> Iterator[Path]:
    path = tmp_path / "fifo"
    os.mkfifo(path)
    yield path


def drain(path: Path) -> threading.Thread:
    """Open ``path`` for reading and read it to its end, in a thread."""
    def read() -> None:
        with open(path, "rb") as fh:
            while fh.read(65536):
                pass

    thread = threading.Thread(target=read, daemon=True)
    thread.start()
    return thread


def test_ctrl_c_in_a_command_exits_130_with_one_line(fifo: Path, tmp_path: Path) -> None:
    """Not click's "Aborted!" and exit 1: reading the seeds of ``-i FIFO`` is interrupted."""
    with scraper_process("crawl", "-i", str(fifo), "--archive", str(tmp_path / "archive")) as process:
        wait_opening_fifo(process)
        os.kill(process.pid, signal.SIGINT)
        _out, err = process.communicate(timeout=60)
    assert process.returncode == 130, err
    assert err.strip() == "scraper: interrupted"
    assert not crawl_dirs(tmp_path / "archive")


# Signals that arrive together are handled in the order of their numbers: SIGINT first, then SIGTERM (stop now).
@pytest.mark.parametrize("signals", [[signal.SIGTERM], [signal.SIGINT], [signal.SIGINT, signal.SIGTERM]],
                         ids=["SIGTERM", "SIGINT", "SIGINT then SIGTERM"])
def test_a_signal_while_the_crawl_is_set_up_stops_it_with_its_folder_closed(
        site: Site, fifo: Path, tmp_path: Path, signals: list[signal.Signals]) -> None:
    """The crawl folder exists, the reactor is not running yet: ArchiveRun waits to open ``--jsonl FIFO``.

    The crawl stops as soon as the reactor starts, closed as after any stop, and resumes.
    """
    root = tmp_path / "archive"
    with scraper_process("crawl", site.url("/"), "--archive", str(root), "--jsonl", str(fifo), "-q") as process:
        wait_opening_fifo(process)  # the command checks that --jsonl is writable: opens it, closes it
        drain(fifo).join(timeout=60)
        wait_opening_fifo(process)  # the crawl's set-up opens it for good
        (crawl,) = crawl_dirs(root)
        for signum in signals:
            os.kill(process.pid, signum)
        reader = drain(fifo)
        _out, err = process.communicate(timeout=60)
        reader.join(timeout=60)
    first = signals[0]
    assert process.returncode == (143 if first == signal.SIGTERM else 130), err
    assert "Traceback" not in err
    manifest = json.loads((crawl / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["finish_reason"] == "shutdown" and manifest["stopped_by"] == first.name
    assert not list(crawl.glob("*.open"))
    reader = drain(fifo)  # the resume writes its records there too
    proc = run_scraper("crawl", "--resume", crawl.name, "--archive", str(root), "-q")
    reader.join(timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert (crawl / "pages.jsonl").read_text(encoding="utf-8").count("\n") >= 1
    assert run_scraper("verify", "--archive", str(root)).returncode == 0


CTRL_C_IN_EXEC = """
from scraper import cli

@cli.cli.command("exec-then-wait")
def exec_then_wait() -> None:
    # As when a dataclass or a named tuple is defined while a module is imported: code run by exec() of a string.
    exec("import os, signal\\nos.kill(os.getpid(), signal.SIGINT)\\nfor _ in range(10 ** 8): pass")

raise SystemExit(cli.main(["exec-then-wait"]))
"""


def test_ctrl_c_in_code_run_by_exec_exits_130_not_by_the_signal(tmp_path: Path) -> None:
    """CPython ends a process by SIGINT at exit once a KeyboardInterrupt has left exec()'d code, even if caught.

    Run with ``-m``, as ``python -m scraper`` is: with ``-c`` or a script, SystemExit skips that check.
    """
    (tmp_path / "ctrl_c_in_exec.py").write_text(CTRL_C_IN_EXEC, encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), str(REPO)])}
    proc = subprocess.run([sys.executable, "-m", "ctrl_c_in_exec"], cwd=REPO, env=env, capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 130, proc.stderr
    assert proc.stderr.strip() == "scraper: interrupted"
