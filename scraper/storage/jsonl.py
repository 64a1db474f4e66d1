"""Append-only JSON Lines files of page records."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any


def dumps_line(record: dict[str, Any]) -> str:
    return json.dumps(record, ensure_ascii=False, separators=(",", ":")) + "\n"


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

    def close(self) -> None:
        if self._owns_stream:
            self._stream.close()
        else:
            self._stream.flush()


def iter_jsonl(path: Path) -> Iterator[dict[str, Any]]:
    """Records of a JSONL file; a torn last line (a crash mid-write) is skipped."""
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            if not line.endswith("\n"):
                break
            line = line.strip()
            if line:
                yield json.loads(line)
