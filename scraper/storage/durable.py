"""Durable file operations, the one place that does them: a file appears whole or not at all, and
a rename survives a power cut.

Every writer of a file that readers may open while it is written (manifests, page records,
indexes, exports, packages, a rebuilt catalog) writes a hidden temporary file beside it
(:func:`scraper.storage.layout.temporary_path`), fsyncs it, renames it into place and fsyncs
the folder, so that neither a crash nor a full disk leaves half a file under the real name.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import stat
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Literal, overload

# -- temporary files: written beside their target, renamed into place, removed when left stale -------
# ".NAME.PID.tmp", optionally with a part after it (".NAME.PID.tmp.pages.jsonl"): the process that
# writes it is in the name, so a later run can tell a file a live process is writing from one a
# killed process left.  ".NAME.tmp-PID" is the same, as `scraper export` names its files.
_TEMPORARY = re.compile(r"^\.(?P<target>.+?)\.(?P<pid>\d+)\.tmp(?:\.[\w.-]+)?$|^\.(?P<target2>.+)\.tmp-(?P<pid2>\d+)$")


def temporary_path(path: Path, part: str = "") -> Path:
    """Where this process builds ``path`` (or a ``part`` of it, e.g. ``".pages.jsonl"``) before renaming it."""
    return path.with_name(f".{path.name}.{os.getpid()}.tmp{part}")


@dataclass(frozen=True)
class Temporary:
    path: Path
    target: str  # the name of the file it was to become
    pid: int  # the process that wrote it


def parse_temporary(path: Path) -> Temporary | None:
    match = _TEMPORARY.match(path.name)
    if match is None:
        return None
    target = match.group("target") or match.group("target2")
    return Temporary(path, target, int(match.group("pid") or match.group("pid2")))


def is_live_process(pid: int) -> bool:
    """Whether a process ``pid`` exists (another user's too: it may not be signalled, but it is there)."""
    if pid <= 0:
        return True  # not a process id: never taken for a dead one
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError):  # another user's; or a number no process has, in a planted name
        return True
    return True


def remove_stale_temporaries(folder: Path, owns: Callable[[str], bool]) -> list[Path]:
    """Remove the temporary files in ``folder`` whose target ``owns`` claims and whose process is gone
    (killed before it could rename or remove them); the files removed.

    Never a live process's file (its PID is running: maybe this process), never a folder, and a link
    is removed itself, never what it points at.
    """
    removed: list[Path] = []
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return removed
    for entry in entries:
        found = parse_temporary(Path(entry.path))
        if found is None or not owns(found.target) or is_live_process(found.pid):
            continue
        if entry.is_dir(follow_symlinks=False):
            continue
        try:
            os.unlink(entry.path)
        except FileNotFoundError:  # another run removed it first
            continue
        removed.append(found.path)
    return removed


def fsync_path(path: Path) -> None:
    """Flush a file that another handle (SQLite, a library) wrote, by its name; or a folder, so that a
    rename, a new name or a removal in it survives a power cut."""
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def replace_durably(tmp: Path, target: Path) -> None:
    """Rename the finished ``tmp`` over ``target``, durably."""
    os.replace(tmp, target)
    fsync_path(target.parent)


def move_no_replace(src: Path, dst: Path) -> None:
    """Rename ``src`` to ``dst``, never replacing a file already called ``dst`` (``os.rename`` would).

    A hard link then an unlink: a crash in between leaves both names on one file, which the
    next run recognises (``dst`` is the same file) and finishes.
    """
    try:
        os.link(src, dst)
    except FileExistsError:
        if not os.path.samefile(src, dst):
            raise
    except OSError:  # a filesystem without hard links: check, then rename
        if dst.exists():
            raise FileExistsError(f"{dst} already exists") from None
        os.rename(src, dst)
        fsync_path(dst.parent)
        return
    os.unlink(src)
    fsync_path(dst.parent)


class AtomicFile:
    """A file that appears at ``path`` complete or not at all: written as a temporary file beside it,
    renamed by :meth:`commit`.  Opened at once, so an unwritable place fails before any work.

    The temporary files of earlier writers of the same ``path`` that were killed are removed first
    (never a live process's); the temporary file is created anew ("x"), never written through a
    link planted under its name.
    """

    def __init__(self, path: Path, binary: bool = False) -> None:
        self.path = path
        remove_stale_temporaries(path.absolute().parent, lambda target: target == path.name)
        self.tmp = temporary_path(path)
        self.tmp.unlink(missing_ok=True)  # this PID's, left by a dead process that had it (or a planted link)
        # closed by commit() or discard()
        self.handle: IO[Any] = (open(self.tmp, "xb") if binary  # noqa: SIM115
                                else open(self.tmp, "x", encoding="utf-8", newline=""))  # noqa: SIM115

    def commit(self) -> None:
        self.handle.flush()
        os.fsync(self.handle.fileno())
        self.handle.close()
        replace_durably(self.tmp, self.path)

    def discard(self) -> None:
        """Drop the temporary file (after commit: nothing to do)."""
        with contextlib.suppress(OSError):  # closing flushes, and a full disk fails that again: still removed
            self.handle.close()
        with contextlib.suppress(FileNotFoundError):
            self.tmp.unlink()


@overload
def atomic_write(path: Path, binary: Literal[False] = False) -> contextlib.AbstractContextManager[IO[str]]: ...
@overload
def atomic_write(path: Path, binary: Literal[True]) -> contextlib.AbstractContextManager[IO[bytes]]: ...
def atomic_write(path: Path, binary: bool = False) -> contextlib.AbstractContextManager[IO[Any]]:
    """``with atomic_write(path) as fh: ...``: ``path`` appears when the block ends, and not if it raises."""
    return _atomic_write(path, binary)


def _is_special(path: Path) -> bool:
    """A device, a FIFO or a socket (``-o /dev/null``, ``-o /dev/stdout``, a shell's ``>(...)``): written in place."""
    try:
        mode = path.stat().st_mode
    except OSError:
        return False
    return not stat.S_ISREG(mode) and not stat.S_ISDIR(mode)


@contextlib.contextmanager
def _atomic_write(path: Path, binary: bool) -> Iterator[IO[Any]]:
    if _is_special(path):  # renaming a file over /dev/null would replace the device with a file
        handle: IO[Any] = open(path, "wb") if binary else open(path, "w", encoding="utf-8", newline="")  # noqa: SIM115
        with handle:
            yield handle
        return
    file = AtomicFile(path, binary)
    try:
        yield file.handle
        file.commit()
    except BaseException:
        file.discard()
        raise


def write_json_atomically(path: Path, data: Any) -> None:
    """JSON, indented, through :func:`atomic_write`: never half a file."""
    with atomic_write(path) as fh:
        json.dump(data, fh, indent=2, ensure_ascii=False, sort_keys=False)
        fh.write("\n")
