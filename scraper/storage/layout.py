"""Where things live under the archive root.

    <root>/crawls/<crawl_id>/*.warc.gz
    <root>/crawls/<crawl_id>/pages.jsonl            page records of a crawl run on one machine
    <root>/crawls/<crawl_id>/pages-<worker>.jsonl   page records of one worker of a shared crawl
    <root>/crawls/<crawl_id>/manifest.json
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import re
import secrets
import shutil
import socket
import struct
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any, BinaryIO

from scraper.storage.durable import replace_durably, write_json_atomically
from scraper.storage.jsonl import OnDamage, iter_jsonl, warn_damaged

OPEN_SUFFIX = ".open"  # a WARC file being written: `NAME.warc.gz.open` until it is closed
CRAWLS_DIR = "crawls"
PAGES_FILE = "pages.jsonl"
# Several processes never append to one JSONL file: each worker of a shared crawl (issue 17) writes its
# page records to its own `pages-<worker>.jsonl` in the crawl's folder (and its name ends its WARC files').
WORKER_PAGES_PREFIX = "pages-"
WORKER_PAGES_SUFFIX = ".jsonl"
WORKER_NAME_MAX = 40
# Letters, digits, '_' and '.', with '-' inside: it goes into file names (no '/', no space, nothing hidden).
_WORKER_NAME = re.compile(r"[A-Za-z0-9_.](?:[A-Za-z0-9_.-]*[A-Za-z0-9_.])?", re.ASCII)
MANIFEST_FILE = "manifest.json"
REARCHIVE_LOCK_FILE = ".rearchive.lock"  # in the root: one `rearchive` run, or `catalog rebuild`, at a time
# WARC file names: what storage.warc writes (NAME.warc.gz, and NAME.warc.gz.open until it is closed), and
# what `scraper import` keeps of other tools' files (NAME.warc.gz, NAME.warc).  Nothing else in the code
# tells a WARC file by its name: every reader lists a crawl's files through warc_files_in().
GZIPPED_WARC_SUFFIX = ".warc.gz"
PLAIN_WARC_SUFFIX = ".warc"
WARC_SUFFIXES = (GZIPPED_WARC_SUFFIX, PLAIN_WARC_SUFFIX)
OPEN_SUFFIX = ".open"


def is_warc_name(name: str) -> bool:
    """A closed WARC file's name."""
    return name.endswith(WARC_SUFFIXES)


def is_open_warc_name(name: str) -> bool:
    """A WARC file still being written (or left so by a crash): ``NAME.warc.gz.open``."""
    return name.endswith(OPEN_SUFFIX) and is_warc_name(name.removesuffix(OPEN_SUFFIX))


def check_worker_name(name: str) -> str:
    """``name`` if it can name a worker's files; else :class:`ValueError` saying why, in one line."""
    if not name:
        raise ValueError("a worker name cannot be empty")
    if len(name) > WORKER_NAME_MAX:
        raise ValueError(f"a worker name has at most {WORKER_NAME_MAX} characters, not {len(name)}")
    if name.startswith("."):
        raise ValueError(f"a worker name cannot start with '.' (a hidden file): {name!r}")
    if not _WORKER_NAME.fullmatch(name):
        raise ValueError(f"a worker name is letters, digits, '_', '.' and '-' (not first or last): {name!r}")
    return name


def worker_pages_name(worker: str) -> str:
    """``pages-<worker>.jsonl``: the page records one worker of a shared crawl writes."""
    return f"{WORKER_PAGES_PREFIX}{check_worker_name(worker)}{WORKER_PAGES_SUFFIX}"


def is_page_file_name(name: str) -> bool:
    """``pages.jsonl``, or a worker's ``pages-<worker>.jsonl``; not a re-extraction, a temporary or a set-aside file."""
    if name == PAGES_FILE:
        return True
    if not (name.startswith(WORKER_PAGES_PREFIX) and name.endswith(WORKER_PAGES_SUFFIX)):
        return False
    try:
        check_worker_name(name[len(WORKER_PAGES_PREFIX):-len(WORKER_PAGES_SUFFIX)])
    except ValueError:
        return False
    return True


@dataclass(frozen=True)
class WarcFiles:
    closed: list[Path]  # finished files, by name (their time and serial)
    in_progress: list[Path]  # ``*.open``: still being written, or left so by a crash; by name

    def all(self) -> list[Path]:
        """Closed or not, by name."""
        return sorted(self.closed + self.in_progress)


def warc_files_in(folder: Path) -> WarcFiles:
    """The WARC files of one folder (a crawl's, or any), not below it; none when it is no folder."""
    if not folder.is_dir():
        return WarcFiles([], [])
    files = sorted(p for p in folder.iterdir() if p.is_file())
    return WarcFiles([p for p in files if is_warc_name(p.name)], [p for p in files if is_open_warc_name(p.name)])


class ArchiveRootError(OSError):
    """The archive root cannot be created or written."""


class OutsideRoot(ArchiveRootError):
    """Writing there would go through a link that leads out of the archive root: refused, nothing written."""

    def __init__(self, link: Path, target: Path, root: Path) -> None:
        self.link, self.target, self.root = link, target, root
        super().__init__(f"{link} {self.what()}")

    def what(self) -> str:
        """The message without the link's name, for a line that names it already."""
        if self.link.is_symlink():
            return f"is a link to {self.target}, outside the archive root {self.root}: nothing is written through it"
        return f"is outside the archive root {self.root}: nothing is written there"


def new_crawl_id(now: datetime | None = None) -> str:
    """``YYYYmmddTHHMMSSZ-<6 hex>``: sorts by start time, to the millisecond, and is unique across machines.

    The first three hex digits are the millisecond (000 to 3e7), the last three random: two crawls
    started in the same second (an import after another, a script's loop) still sort in the order
    they started, which readers take for "older" and "newer".
    """
    now = (now or datetime.now(UTC)).astimezone(UTC)
    return f"{now:%Y%m%dT%H%M%SZ}-{now.microsecond // 1000:03x}{secrets.token_hex(2)[:3]}"


@dataclass(frozen=True)
class CrawlLayout:
    root: Path
    crawl_id: str

    @property
    def directory(self) -> Path:
        return self.root / CRAWLS_DIR / self.crawl_id

    @property
    def pages_path(self) -> Path:
        return self.directory / PAGES_FILE

    def worker_pages_path(self, worker: str) -> Path:
        """Where one worker of a shared crawl writes its page records (:func:`worker_pages_name`)."""
        return self.directory / worker_pages_name(worker)

    def page_files(self) -> list[Path]:
        """Every file of the crawl's page records: ``pages.jsonl`` if there is one, then each worker's
        ``pages-<worker>.jsonl`` by name.  A crawl made by several workers may have no ``pages.jsonl``."""
        if not self.directory.is_dir():
            return []
        workers = sorted(p for p in self.directory.iterdir()
                         if p.name != PAGES_FILE and is_page_file_name(p.name) and p.is_file())
        return ([self.pages_path] if self.pages_path.is_file() else []) + workers

    def iter_page_records(self, on_damage: OnDamage = warn_damaged) -> Iterator[dict[str, Any]]:
        """The crawl's page records, file by file in :meth:`page_files`' order (torn last lines skipped,
        damaged lines given to ``on_damage``)."""
        for path in self.page_files():
            yield from iter_jsonl(path, on_damage)

    @property
    def manifest_path(self) -> Path:
        return self.directory / MANIFEST_FILE

    def warc_files(self) -> WarcFiles:
        """The crawl's WARC files: the closed ones, and apart those still ``.open``."""
        return warc_files_in(self.directory)

    def warc_paths(self) -> list[Path]:
        """The crawl's WARC files, closed or still ``.open``, by name (their time and serial)."""
        return self.warc_files().all()

    def create(self, files: dict[str, Any] | None = None) -> None:
        """Make the crawl's folder with ``files`` (name -> JSON value) already in it.

        The folder is made under a temporary name and renamed when its files are written,
        so a crawl folder never exists without them, even if the process dies meanwhile.
        :class:`OutsideRoot` when ``crawls/`` is a link out of the archive root.
        """
        staging = self.directory.with_name(f".{self.crawl_id}.creating")
        check_inside_root(self.directory.parent, self.root)  # a crawls/ that is a link out of the root: refused
        if self.directory.exists():
            raise ArchiveRootError(f"crawl folder already exists: {self.directory}")
        made = not staging.exists()
        try:
            staging.mkdir(parents=True, exist_ok=True)
            for name, value in (files or {}).items():
                write_json_atomically(staging / name, value)
            os.rename(staging, self.directory)
        except OSError as exc:
            if made:  # half made (a full disk): this call's own folder is not left behind
                shutil.rmtree(staging, ignore_errors=True)
            if self.directory.exists():
                raise ArchiveRootError(f"crawl folder already exists: {self.directory}") from exc
            raise ArchiveRootError(f"cannot create {self.directory}: {exc.strerror or exc}") from exc


def warc_file_name(prefix: str, started: datetime, serial: int, host: str) -> str:
    """``prefix-timestamp-serial-host.warc.gz`` (WARC 1.1 Annex C)."""
    stamp = started.astimezone(UTC).strftime("%Y%m%d%H%M%S") + f"{started.microsecond // 1000:03d}"
    safe_host = "".join(ch if ch.isalnum() or ch in ".-" else "_" for ch in host) or "localhost"
    return f"{prefix}-{stamp}-{serial:05d}-{safe_host}.warc.gz"


class LocalWarcFolder:
    """Where a crawl's WARC files go on one machine (:class:`~scraper.storage.backends.WarcDestination`):
    its folder, each file named by :func:`warc_file_name` with the next serial number, written as
    ``NAME.open`` and renamed once its bytes are on disk.

    ``serial_start``: a resumed crawl numbers its new files after the ones it has.  ``host``: the
    machine's name, or a worker's, so that several writers never pick the same name.  ``on_closed``:
    told each file's name once it is closed under it (a worker then marks its pages done).
    """

    def __init__(self, directory: Path, *, prefix: str = "scraper", host: str | None = None,
                 serial_start: int = 0, on_closed: Callable[[str], None] | None = None) -> None:
        self.directory = directory
        self.prefix = prefix
        self.host = host or socket.gethostname()
        self.serial_start = serial_start
        self._serial = serial_start
        self.closed_files: list[str] = []
        self.on_closed = on_closed

    @property
    def files_begun(self) -> int:
        return self._serial - self.serial_start

    def begin(self) -> tuple[str, BinaryIO]:
        self._serial += 1
        name = warc_file_name(self.prefix, datetime.now(UTC), self._serial, self.host)
        self.directory.mkdir(parents=True, exist_ok=True)
        # "x": never another writer's file (same name: same serial, same millisecond, same host)
        handle = open(self.directory / (name + OPEN_SUFFIX), "xb")  # noqa: SIM115 - closed by finish()
        return name, handle

    def finish(self, name: str, handle: BinaryIO) -> None:
        handle.flush()
        os.fsync(handle.fileno())
        handle.close()
        replace_durably(self.directory / (name + OPEN_SUFFIX), self.directory / name)
        self.closed_files.append(name)
        if self.on_closed is not None:
            self.on_closed(name)

    def abandon(self, name: str, handle: BinaryIO) -> None:
        with contextlib.suppress(OSError):
            handle.close()


LOCK_FILE = ".lock"

# The lock is Linux's open file description lock (fcntl F_OFD_SETLK) on the whole file: a process can
# test it without taking it (F_OFD_GETLK).  An flock can only be tested by taking it, and a crawl or a
# resume that took it at that instant failed ("another process is writing").  Like an flock, it belongs
# to the open file, not to the process (closing another descriptor of the file keeps it), and the kernel
# drops it when the file is closed, however the process ends.  Elsewhere: flock, tested by taking it.
_OFD_LOCKS = hasattr(fcntl, "F_OFD_SETLK")
_FLOCK = struct.Struct("hhqqi4x")  # struct flock on 64-bit Linux: l_type, l_whence, l_start, l_len, l_pid
_WHOLE_FILE_WRITE_LOCK = _FLOCK.pack(fcntl.F_WRLCK, os.SEEK_SET, 0, 0, 0)  # l_len 0: to the end, however long


class CrawlBusy(ArchiveRootError):
    """Another process (a crawl, a resume) is writing this crawl folder."""


def worker_lock_name(worker: str) -> str:
    """The lock a worker holds on a shared crawl's folder while it writes there: ``.lock-<worker>``."""
    return f"{LOCK_FILE}-{check_worker_name(worker)}"


def lock_crawl(directory: Path, name: str = LOCK_FILE) -> IO[bytes]:
    """Hold the crawl folder's lock for as long as the returned file stays open.

    The kernel drops it when the process ends, however it ends, so a killed crawl never
    leaves a stale lock behind.  A second crawl, a resume or a repair of the same folder
    sees it taken and leaves the folder alone.  A crawl folder that is a link out of its archive
    root is refused (:class:`OutsideRoot`): whoever takes the lock is about to write in it.
    """
    root = root_of(directory)
    if root is not None:
        check_inside_root(directory, root)
    # O_NOFOLLOW: a ".lock" that is a link is not opened (nor created at the far end of a dangling one)
    fd = os.open(directory / name, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW, 0o644)
    handle = open(fd, "ab")  # noqa: SIM115 - held until the crawl closes
    try:
        if _OFD_LOCKS:
            fcntl.fcntl(handle.fileno(), fcntl.F_OFD_SETLK, _WHOLE_FILE_WRITE_LOCK)
        else:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as exc:
        handle.close()
        if exc.errno not in (errno.EAGAIN, errno.EACCES):
            raise
        raise CrawlBusy(f"another process is writing {directory} (a crawl or a resume of it is running)") from exc
    return handle


def is_crawl_locked(directory: Path, name: str | None = None) -> bool:
    """Whether a live process holds the folder's lock (see :func:`lock_crawl`), found without taking it: a
    one-machine crawl's, or any worker's of a shared crawl (``.lock-<worker>``); ``name``: that lock file only."""
    if name is None:
        names = [LOCK_FILE, *(path.name for path in directory.glob(f"{LOCK_FILE}-*"))]
        return any(is_crawl_locked(directory, one) for one in names)
    try:
        with open(directory / name, "rb") as handle:
            if not _OFD_LOCKS:
                try:
                    fcntl.flock(handle.fileno(), fcntl.LOCK_SH | fcntl.LOCK_NB)
                except BlockingIOError:
                    return True
                return False
            held = fcntl.fcntl(handle.fileno(), fcntl.F_OFD_GETLK, _WHOLE_FILE_WRITE_LOCK)
    except OSError:  # no lock file (a crawl made before locks, or none started), or one that cannot be read
        return False
    return bool(_FLOCK.unpack(held)[0] != fcntl.F_UNLCK)


def check_writable_root(root: Path) -> None:
    """Fail early, with one clear line, when the archive root is unusable."""
    try:
        root.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ArchiveRootError(f"cannot create archive root {root}: {exc.strerror or exc}") from exc
    if not root.is_dir():
        raise ArchiveRootError(f"archive root {root} is not a folder")
    if not os.access(root, os.W_OK | os.X_OK):
        raise ArchiveRootError(f"archive root {root} is not writable")


def iter_crawls(root: Path, newest_first: bool = True) -> Iterator[CrawlLayout]:
    crawls = root / CRAWLS_DIR
    if not crawls.is_dir():
        return
    # ".<id>.creating": a crawl folder being made (CrawlLayout.create), or left by a crash then
    names = sorted((p.name for p in crawls.iterdir() if p.is_dir() and not p.name.startswith(".")),
                   reverse=newest_first)
    for name in names:
        yield CrawlLayout(root, name)


# -- writing only inside the archive root ---------------------------------------------------------
# An archive copied from elsewhere may hold links: a crawl folder, a WARC or a pages.jsonl that is a
# symbolic link to a file of someone else's.  Reading through them is harmless; writing, truncating
# or renaming through them changes what is not the archive's.  Every writer asks here first.
def root_of(path: Path) -> Path | None:
    """``<root>`` of ``<root>/crawls/<crawl_id>`` or of a file in it, by the names as given: links are not
    followed, so a crawl folder that is a link still belongs to the root that lists it."""
    full = Path(os.path.abspath(path))
    for folder in (full, full.parent):
        if folder.parent.name == CRAWLS_DIR:
            return folder.parent.parent
    return None


def check_inside_root(path: Path, root: Path) -> None:
    """Raise :class:`OutsideRoot`, naming the link, when ``path`` (a file to write in place, or a folder
    to create files in) resolves outside ``root``: through a link on the way, or its own."""
    base = Path(os.path.abspath(root))
    real_root = base.resolve()
    full = Path(os.path.abspath(path))
    real = full.resolve()
    if real == real_root or real.is_relative_to(real_root):
        return
    if full.is_relative_to(base):
        current = base
        for part in full.relative_to(base).parts:
            current = current / part
            if current.is_symlink():
                raise OutsideRoot(current, current.resolve(), root)
    raise OutsideRoot(path, real, root)
