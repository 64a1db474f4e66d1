"""Append-only JSON Lines files of page records: the one writer, and the one reader every command uses.

The writer writes and flushes whole lines, so a crash tears at most the last one.  The reader
(:func:`scan_jsonl`, and :func:`iter_jsonl` on top of it) reads bytes and decodes each line on
its own: a line that is not UTF-8, not JSON or not a JSON object (a bad disk block, a careless
edit, a hostile archive) is one :class:`DamagedLine`, reported and skipped, and every line after
it is still read.  A last line without its newline is what a crash leaves: it is skipped without
a word, as ``scraper verify --repair`` cuts it.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from scraper.storage.durable import temporary_path
from scraper.text import dumps_json, escape_controls

# A damaged line is shown this far in messages: enough to recognise it, never a whole page of noise.
SHOWN = 40


def dumps_line(record: dict[str, Any]) -> str:
    # No raw DEL, C1 or U+2028/9 either: the line may go to a terminal (`--jsonl -`, `export`) or a line reader.
    return dumps_json(record, separators=(",", ":")) + "\n"


class JsonlWriter:
    """Appends one JSON object per line; each line is written and flushed whole."""

    def __init__(self, stream: IO[str], owns_stream: bool = True) -> None:
        self._stream = stream
        self._owns_stream = owns_stream
        self.count = 0

    @classmethod
    def open(cls, path: Path) -> JsonlWriter:
        return cls(open(path, "a", encoding="utf-8"))

    def write(self, record: dict[str, Any]) -> None:
        self.write_line(dumps_line(record))

    def write_line(self, line: str) -> None:
        """A record already serialised by :func:`dumps_line`."""
        self._stream.write(line)
        self._stream.flush()
        self.count += 1

    def flush_durably(self) -> None:
        """Every line written so far is on disk (fsync): for a writer that has just promised it elsewhere."""
        self._stream.flush()
        with contextlib.suppress(OSError, ValueError):  # a pipe (stdout) cannot be synced
            os.fsync(self._stream.fileno())

    def close(self) -> None:
        if self._owns_stream:
            self._stream.close()
        else:
            self._stream.flush()


@dataclass(frozen=True)
class DamagedLine:
    """A whole line (it ends in a newline) that is not a page record: skipped by every reader."""

    path: Path
    number: int  # 1-based, as editors and `sed -n Np` count
    offset: int  # of the line's first byte
    reason: str
    raw: bytes  # the line as it is in the file, kept so that a rewrite can set it aside

    def describe(self) -> str:
        return f"{self.path}: line {self.number}: {self.reason}"


@dataclass(frozen=True)
class JsonlLine:
    """One line of a JSONL file as :func:`scan_jsonl` read it."""

    number: int
    offset: int
    record: dict[str, Any] | None  # None: blank, damaged or torn
    damage: DamagedLine | None = None
    torn: bool = False  # the last line, without its newline: a crash while it was written


OnDamage = Callable[[DamagedLine], None]


def warn_damaged(damage: DamagedLine) -> None:
    """The default report of a damaged line: one warning line on stderr, where every command says things."""
    sys.stderr.write(f"scraper: warning: {escape_controls(damage.describe())}; skipped\n")
    sys.stderr.flush()


def ignore_damaged(damage: DamagedLine) -> None:
    """For a second pass over lines already reported."""


def _shown(data: bytes) -> str:
    """The start of a line for a message: bytes that are not UTF-8 and control characters written as escapes."""
    return escape_controls(data[:SHOWN].decode("utf-8", "backslashreplace")) + ("…" if len(data) > SHOWN else "")


def parse_line(raw: bytes) -> dict[str, Any] | str:
    """The record a whole line holds, or why it holds none (one line of text)."""
    body = raw.rstrip(b"\r\n")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        return f"not UTF-8 (byte 0x{body[exc.start]:02x} at column {exc.start + 1}: {_shown(body)})"
    try:
        value = json.loads(text)
    except ValueError as exc:
        return f"not JSON ({getattr(exc, 'msg', exc)} at column {getattr(exc, 'colno', '?')}: {_shown(body)})"
    if not isinstance(value, dict):
        return f"not a JSON object ({_shown(body)})"
    return value


def scan_jsonl(path: Path) -> Iterator[JsonlLine]:
    """Every line of a JSONL file, with its record or what is wrong with it (bytes in, never a decode error)."""
    with open(path, "rb") as fh:
        offset = 0
        for number, raw in enumerate(fh, start=1):
            if not raw.endswith(b"\n"):
                yield JsonlLine(number, offset, None, torn=True)
            elif not raw.strip():
                yield JsonlLine(number, offset, None)
            else:
                found = parse_line(raw)
                if isinstance(found, str):
                    yield JsonlLine(number, offset, None, damage=DamagedLine(path, number, offset, found, raw))
                else:
                    yield JsonlLine(number, offset, found)
            offset += len(raw)


def iter_jsonl(path: Path, on_damage: OnDamage = warn_damaged) -> Iterator[dict[str, Any]]:
    """Records of a JSONL file; a damaged line is given to ``on_damage`` and skipped, a torn last
    line (a crash mid-write) is skipped."""
    for line in scan_jsonl(path):
        if line.damage is not None:
            on_damage(line.damage)
        elif line.record is not None:
            yield line.record


def iter_jsonl_at(path: Path, on_damage: OnDamage = warn_damaged) -> Iterator[tuple[int, dict[str, Any]]]:
    """(byte offset, record) of each good line: where to read it again (:func:`read_jsonl_at`)."""
    for line in scan_jsonl(path):
        if line.damage is not None:
            on_damage(line.damage)
        elif line.record is not None:
            yield line.offset, line.record


def read_jsonl_at(handle: IO[bytes], offset: int) -> dict[str, Any]:
    """The record of the line at ``offset``, one :func:`iter_jsonl_at` found good."""
    handle.seek(offset)
    record: dict[str, Any] = json.loads(handle.readline())
    return record


def save_damaged_lines(path: Path) -> Path | None:
    """Copy the damaged lines of ``path`` to ``NAME.damaged-<offset of the first>`` before the file is
    rewritten without them, so that nothing it held is lost; None when it has none.

    Written as a temporary file, then hard-linked to its name: never over a file already there.
    """
    damaged = [line.damage for line in scan_jsonl(path) if line.damage is not None]
    if not damaged:
        return None
    data = b"".join(d.raw for d in damaged)
    base = path.with_name(f"{path.name}.damaged-{damaged[0].offset}")
    tmp = temporary_path(base)
    tmp.unlink(missing_ok=True)
    with open(tmp, "xb") as out:  # "x": never through a link planted under that name
        out.write(data)
        out.flush()
        os.fsync(out.fileno())
    try:
        for serial in itertools.count(1):
            sidecar = base if serial == 1 else base.with_name(f"{base.name}-{serial}")
            if sidecar.is_file() and not sidecar.is_symlink() and sidecar.read_bytes() == data:
                return sidecar  # set aside by an earlier rewrite that did not finish
            try:
                os.link(tmp, sidecar)  # never replaces a file of that name
            except FileExistsError:
                continue
            return sidecar
    finally:
        tmp.unlink()
    raise AssertionError("unreachable")
