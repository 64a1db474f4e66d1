"""pywb replay of the archive root, from a pywb collection kept in sync with it.

    <root>/.pywb/config.yaml                                  what the replay runs with
    <root>/.pywb/archive/indexes/index.cdxj                  -> <root>/index.cdxj
    <root>/.pywb/archive/archive/crawls/<id>/<file>.warc.gz  -> <root>/crawls/<id>/<file>.warc.gz

The links are relative, so the archive root can move; the archive index names each WARC
``crawls/<id>/<file>``, which the mirrored ``archive/`` folder resolves.  ``wayback`` run
by hand in ``<root>/.pywb`` serves the same collection.

The collection is a fixed one in the config, not one pywb discovers under its collections
root: pywb rescans a discovered collection's folder on every request and prints a line
about it on stdout.  Its collections root (which pywb needs, but only for template
overrides here) therefore holds no collection, or pywb would list this one twice.

pywb never fetches live content here: no live collection, no proxy mode, no recording.

pywb itself never runs in this process, nor in the project's environment: it depends on
brotlipy, whose ``brotli`` module replaces the one Scrapy decodes ``br`` responses with.
This module keeps the collection in sync and finds a Python that has pywb (``--pywb-python``,
``$SCRAPER_PYWB_PYTHON``, the one ``wayback`` runs with, or ``.venv-replay``, which
``make replay`` sets up); :class:`PywbServer` runs :mod:`scraper.interchange.pywb_server`
with it, by path, as a child process."""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from scraper.interchange import InterchangeError, crawl_warcs, is_replayable_page, pywb_server, timestamp14
from scraper.interchange.cdxj import INDEX_FILE, archive_index_path
from scraper.storage.layout import OutsideRoot, check_inside_root, iter_crawls
from scraper.text import escape_controls

PYWB_DIR = ".pywb"
COLLECTION = "archive"


def pywb_dir(root: Path) -> Path:
    return root.absolute() / PYWB_DIR


def collection_dir(root: Path) -> Path:
    return pywb_dir(root) / COLLECTION


def config_path(root: Path) -> Path:
    return pywb_dir(root) / "config.yaml"


def pywb_config(root: Path) -> dict[str, Any]:
    """pywb's settings, with absolute paths: the folder pywb is started in does not matter."""
    base, coll = pywb_dir(root), collection_dir(root)
    return {
        "collections": {COLLECTION: {"index": str(coll / "indexes" / INDEX_FILE),
                                     "archive_paths": str(coll / "archive") + os.sep}},
        "enable_auto_colls": False,
        "collections_root": str(base / "collections"),  # template overrides only: collections/archive/templates
        "templates_dir": str(base / "templates"),  # overrides of pywb's own templates, if any
        "static_dir": str(base / "static"),
        "framed_replay": False,  # the replay URL is the page itself (with pywb's banner), not a frame
        "enable_memento": True,
        "debug": False,
    }


@dataclass(frozen=True)
class SyncReport:
    linked: int  # WARCs in the collection
    added: int
    removed: int


def _relative_link(link: Path, target: Path, root: Path) -> None:
    check_inside_root(link.parent, root)  # a folder of the collection that is a link out of the root: refused
    link.parent.mkdir(parents=True, exist_ok=True)
    link.unlink(missing_ok=True)
    link.symlink_to(os.path.relpath(target, link.parent))


def sync_collection(root: Path) -> SyncReport:
    """Make the pywb collection mirror the archive: a link per finished WARC, the archive index, the config.

    A folder of it (or the config) that is a link out of the root raises :class:`OutsideRoot`: nothing is
    written through it.
    """
    root = root.absolute()
    archive = collection_dir(root) / "archive"
    wanted = {p.relative_to(root): p for crawl in iter_crawls(root, newest_first=False)
              for p in crawl_warcs(crawl.directory).closed}
    try:
        for folder in (pywb_dir(root), collection_dir(root), archive):  # never through a link out of the root
            check_inside_root(folder, root)
        archive.mkdir(parents=True, exist_ok=True)
        present = {p.relative_to(archive) for p in archive.rglob("*") if p.is_symlink()}
        removed = [rel for rel in present if rel not in wanted or not (archive / rel).exists()]
        for rel in removed:
            (archive / rel).unlink()
        added = [rel for rel in wanted if not (archive / rel).exists()]
        for rel in added:
            _relative_link(archive / rel, wanted[rel], root)
        index_link = collection_dir(root) / "indexes" / INDEX_FILE
        if not index_link.is_symlink():
            _relative_link(index_link, archive_index_path(root), root)
        write_config(root)
    except OutsideRoot:
        raise  # the archive is hostile: the caller says so, in its own way
    except OSError as exc:
        raise InterchangeError(f"cannot set up the pywb collection in {pywb_dir(root)}: {exc.strerror or exc}") from exc
    return SyncReport(len(wanted), len(added), len(removed))


def write_config(root: Path) -> None:
    """``config.yaml`` as JSON, which is YAML too: writing it needs no yaml module in this environment."""
    header = "# written by `scraper replay` at every start (edits are lost); `wayback` in this folder reads it\n"
    check_inside_root(config_path(root), root)  # written in place: never through a link out of the root
    config_path(root).write_text(header + json.dumps(pywb_config(root), indent=2) + "\n", encoding="utf-8")


# -- pywb's own Python environment ------------------------------------------------------------------
PYWB_PYTHON_ENV = "SCRAPER_PYWB_PYTHON"
REPLAY_VENV = ".venv-replay"
NO_PYWB = ("pywb must be installed in a Python environment of its own (its brotlipy replaces the brotli module "
           "Scrapy decodes br pages with): `make replay` sets one up in .venv-replay, or give --pywb-python PATH "
           f"or set {PYWB_PYTHON_ENV}")


class NoPywb(InterchangeError):
    """No Python environment with pywb: a usage error (exit status 2)."""


def shebang_python(script: Path) -> str | None:
    """The interpreter a console script such as ``wayback`` runs with, from its first lines.

    ``#!/path/python``, ``#!/usr/bin/env python3``, and pip's wrapper for long paths
    (``#!/bin/sh`` then ``'''exec' "/path/python" "$0" "$@"``).
    """
    try:
        with open(script, "rb") as fh:
            head = fh.read(1024).decode("utf-8", "replace").splitlines()
    except OSError:
        return None
    if not head or not head[0].startswith("#!"):
        return None
    words = shlex.split(head[0][2:].strip()) if head[0][2:].strip() else []
    if words and Path(words[0]).name in ("sh", "bash") and len(head) > 1:
        wrapped = re.match(r"""^'''exec' "?([^"]+)"? "\$0" "\$@"$""", head[1].strip())
        return wrapped.group(1) if wrapped else None
    if words and Path(words[0]).name == "env":
        args = [w for w in words[1:] if not w.startswith("-")]
        return shutil.which(args[0]) if args else None
    return words[0] if words else None


def pywb_python_candidates(option: str | None, cwd: Path | None = None) -> list[str]:
    """Where to look for pywb, in order: the option, else the variable, else ``wayback``'s, else a .venv-replay.

    A Python named by the option or the variable is the only one tried.
    """
    if option:
        return [option]
    if os.environ.get(PYWB_PYTHON_ENV):
        return [os.environ[PYWB_PYTHON_ENV]]
    found: list[str] = []
    wayback = shutil.which("wayback")
    if wayback and (python := shebang_python(Path(wayback))):
        found.append(python)
    repo = Path(__file__).resolve().parents[2]  # the checkout holding the scraper package
    for folder in (repo, (cwd or Path.cwd()).absolute()):
        venv_python = folder / REPLAY_VENV / "bin" / "python"
        if venv_python.exists() and str(venv_python) not in found:
            found.append(str(venv_python))
    return found


def has_pywb(python: str) -> bool:
    try:
        proc = subprocess.run([python, "-c", "import pywb"], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL, timeout=60)
    except (OSError, subprocess.SubprocessError):
        return False
    return proc.returncode == 0


def find_pywb_python(option: str | None) -> str:
    """A Python that imports pywb, or :class:`NoPywb` with one line saying how to get one."""
    candidates = pywb_python_candidates(option)
    for python in candidates:
        if has_pywb(python):
            return python
    tried = f"no pywb in {', '.join(candidates)}" if candidates else "no Python with pywb found"
    raise NoPywb(f"{tried}: {NO_PYWB}")


# -- the replay server, a child process -------------------------------------------------------------
ACCESS_LOG_LINE = re.compile(r'^\S+ - \S+ \[[^\]]*\] "')  # gevent's: 127.0.0.1 - - [date] "GET / HTTP/1.1" 200 ...


class PywbServer:
    """``pywb_server.py`` run by a pywb Python: started, announced, stopped by signal.

    The child's stdout carries the ``READY <port>`` line.  Its stderr (pywb's access log) is
    passed on once it listens, and kept until then; its last line that is not an access log
    line explains a failed start or an unexpected stop.
    """

    def __init__(self, python: str, root: Path, host: str, port: int, quiet: bool) -> None:
        script = Path(pywb_server.__file__).resolve()
        self.command = [python, str(script), "--config", str(config_path(root)), "--host", host,
                        "--port", str(port), *(["--quiet"] if quiet else [])]
        self.proc: subprocess.Popen[str] | None = None
        self.last_error = ""
        self._early: list[str] = []  # stderr lines before READY
        self._live = False
        self._lock = threading.Lock()
        self._threads: list[threading.Thread] = []

    def start(self) -> int:
        """Launch the child and wait until it listens: the port bound."""
        try:
            self.proc = subprocess.Popen(self.command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                         stderr=subprocess.PIPE, text=True, errors="replace", bufsize=1)
        except OSError as exc:
            raise InterchangeError(f"cannot run {self.command[0]}: {exc.strerror or exc}") from exc
        assert self.proc.stdout is not None and self.proc.stderr is not None
        self._pump(self.proc.stderr, self._on_stderr)
        for line in self.proc.stdout:
            word, _, port = line.strip().partition(" ")
            if word == pywb_server.READY and port.isdigit():
                with self._lock:
                    self._live = True
                    for early in self._early:
                        self._to_stderr(early)
                self._pump(self.proc.stdout, self._to_stderr)
                return int(port)
        status = self.proc.wait()
        self._join()
        if status == 1 and self.last_error.startswith("cannot listen on "):
            raise InterchangeError(self.last_error)  # pywb_server's own one-line error
        raise InterchangeError(f"pywb could not start ({describe_exit(status)}): {self.last_error or 'no message'}")

    def wait(self) -> int:
        assert self.proc is not None
        status = self.proc.wait()
        self._join()
        return status

    def stop(self, signum: int, timeout: float = 20) -> None:
        """Pass the signal on, and wait for the child to stop (killing it if it does not)."""
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signum)
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self._join()

    def _on_stderr(self, line: str) -> None:
        with self._lock:
            if line.strip() and not ACCESS_LOG_LINE.match(line):
                self.last_error = line.strip()
            if self._live:
                self._to_stderr(line)
            else:
                self._early.append(line)

    @staticmethod
    def _to_stderr(line: str) -> None:
        # pywb's log names the paths browsers asked for: anyone who reaches the port chooses those bytes
        sys.stderr.write(escape_controls(line.rstrip("\n")) + "\n")
        sys.stderr.flush()

    def _pump(self, stream: IO[str], sink: Callable[[str], None]) -> None:
        def run() -> None:
            for line in stream:
                sink(line)

        thread = threading.Thread(target=run, daemon=True)
        thread.start()
        self._threads.append(thread)

    def _join(self) -> None:
        for thread in self._threads:
            thread.join(timeout=5)


def describe_exit(status: int) -> str:
    if status < 0:
        try:
            return f"killed by {signal.Signals(-status).name}"
        except ValueError:
            return f"killed by signal {-status}"
    return f"exit status {status}"


def replay_url(base: str, timestamp: str, url: str) -> str:
    return f"{base}/{COLLECTION}/{timestamp}/{url}"


def newest_page(root: Path) -> tuple[str, str] | None:
    """(14-digit timestamp, URL) of the newest crawl's first page: something to open."""
    for crawl in iter_crawls(root, newest_first=True):
        pages = [r for r in crawl.iter_page_records() if is_replayable_page(r)]
        if pages:
            first = min(pages, key=lambda r: (int(r.get("depth") or 0), str(r["fetched_at"])))
            return timestamp14(str(first["fetched_at"])), str(first["url"])
    return None
