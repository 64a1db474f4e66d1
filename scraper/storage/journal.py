"""Append-only journals that let an interrupted crawl resume: pure, standard library only.

Two files in a crawl's folder, each one JSON object per line:

- ``frontier.jsonl``: every request the crawl scheduled (``{"url", "kind", "depth",
  "referrer"}``), and a ``{"fetched": url}`` line once a seed source (sitemap, feed, ...)
  has been read and its entries scheduled.  Resuming schedules again what was scheduled and
  has no page record yet.
- ``catalog-pending.jsonl``: what the catalog needs of a page beyond its page record (ETag,
  Last-Modified, WARC-Date, the original it refers to), written before the page record and
  emptied whenever the catalog has taken the buffered rows.  Resuming adds to the catalog the
  pages whose rows were still buffered when the process died.

Each line goes to the operating system with one ``write`` as soon as it is made: a killed
process loses nothing already written, and at most tears the line being written, which
the readers skip.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

FRONTIER_FILE = "frontier.jsonl"
CATALOG_PENDING_FILE = "catalog-pending.jsonl"


def _dumps(value: dict[str, Any]) -> bytes:
    return (json.dumps(value, ensure_ascii=False, separators=(",", ":")) + "\n").encode("utf-8")


def read_lines(path: Path) -> Iterator[dict[str, Any]]:
    """The complete JSON lines of a journal; a torn or garbled line is skipped."""
    if not path.exists():
        return
    with open(path, "rb") as fh:
        for raw in fh:
            if not raw.endswith(b"\n"):
                return  # torn by a crash mid-write: the last line
            try:
                value = json.loads(raw)
            except ValueError:
                continue
            if isinstance(value, dict):
                yield value


class AppendJournal:
    """One JSON object per line, each written with a single unbuffered ``write``."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)

    def append(self, value: dict[str, Any]) -> None:
        data = _dumps(value)
        written = os.write(self._fd, data)
        if written != len(data):  # a full disk: say so rather than leave half a line
            raise OSError(28, f"short write to {self.path} ({written} of {len(data)} bytes)")

    def clear(self) -> None:
        os.ftruncate(self._fd, 0)

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1


@dataclass(frozen=True)
class ScheduledRequest:
    url: str
    kind: str  # page | sitemap | feed | discover | robots
    depth: int
    referrer: str | None


@dataclass(frozen=True)
class FrontierState:
    """What a crawl's frontier journal says: requests in the order scheduled, and sources read."""

    scheduled: list[ScheduledRequest]
    fetched_sources: set[str]


def read_frontier(directory: Path) -> FrontierState:
    scheduled: list[ScheduledRequest] = []
    fetched: set[str] = set()
    for line in read_lines(directory / FRONTIER_FILE):
        if "fetched" in line:
            fetched.add(str(line["fetched"]))
        elif "url" in line:
            scheduled.append(ScheduledRequest(url=str(line["url"]), kind=str(line.get("kind", "page")),
                                              depth=int(line.get("depth") or 0), referrer=line.get("referrer")))
    return FrontierState(scheduled, fetched)


def _end_torn_line(path: Path) -> None:
    """End the last line of a journal that a crash tore in the middle, so that the next line appended
    starts a line of its own: glued to the torn one, both would be skipped as one garbled line."""
    try:
        with open(path, "rb+") as fh:
            size = fh.seek(0, os.SEEK_END)
            if size == 0:
                return
            fh.seek(size - 1)
            if fh.read(1) != b"\n":
                fh.write(b"\n")
    except FileNotFoundError:
        return


class JournalFrontier:
    """The frontier (:class:`~scraper.storage.backends.Frontier`) of a crawl on one machine:
    ``frontier.jsonl`` in its folder, appended to by every session of the crawl.

    Scrapy's disk queue (JOBDIR) holds the same requests while the crawl runs, but is not crash-safe
    (its index is written at close): this journal is what a resume reads.
    """

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        _end_torn_line(directory / FRONTIER_FILE)
        self._journal = AppendJournal(directory / FRONTIER_FILE)

    def add(self, request: ScheduledRequest) -> None:
        self._journal.append({"url": request.url, "kind": request.kind, "depth": request.depth,
                              "referrer": request.referrer})

    def mark_done(self, url: str) -> None:
        self._journal.append({"fetched": url})

    def read(self) -> FrontierState:
        return read_frontier(self.directory)

    def close(self) -> None:
        self._journal.close()
