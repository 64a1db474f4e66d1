"""The archive in the formats other tools read: CDXJ indexes, WACZ packages, pywb replay.

No Scrapy here, and no warcio either: cdxj-indexer, py-wacz and pywb read the WARCs
(they use warcio themselves).  Errors meant for the user are :class:`InterchangeError`
with a one-line message.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from scraper.records import HTML_TYPES
from scraper.storage.durable import atomic_write
from scraper.storage.jsonl import DamagedLine
from scraper.storage.layout import (
    CRAWLS_DIR,
    GZIPPED_WARC_SUFFIX,
    OPEN_SUFFIX,
    CrawlLayout,
    WarcFiles,
    check_inside_root,
    iter_crawls,
    warc_files_in,
)
from scraper.text import escape_controls

Warn = Callable[[str], None]
Advance = Callable[[int], None]  # told each stretch of bytes of WARC files read: a progress bar's advance


def no_warnings(message: str) -> None:
    """The default ``warn``: callers that do not report warnings drop them."""


def no_progress(size: int) -> None:
    """The default ``advance``: callers without a progress display drop it."""


@dataclass(frozen=True)
class Reading:
    """How a reader of WARC files reports its progress: ``total`` once it knows which files it reads (their
    bytes), then ``advance`` with each stretch read; in all, the total."""

    total: Callable[[int], None] = no_progress
    advance: Advance = no_progress


NOT_SHOWN = Reading()  # a reader whose progress nobody shows


def file_sizes(paths: Iterable[Path]) -> int:
    """The bytes of the files (one that has gone counts nothing): a reader's total before it starts."""
    size = 0
    for path in paths:
        with suppress(OSError):
            size += path.stat().st_size
    return size


@dataclass
class Skipped:
    """What a command left out and went on without: a WARC file it cannot read, a damaged line of
    page records, a crawl folder it must not write into.  Each is said once (``warn``, one line),
    however often it is met, and any of them makes the command's exit status 3 (some damaged).
    """

    warn: Warn = no_warnings
    reasons: dict[str, str] = field(default_factory=dict)  # what -> the line said about it

    def add(self, key: str, message: str) -> None:
        if key not in self.reasons:
            self.reasons[key] = message
            self.warn(f"{message}; skipped")

    def file(self, path: Path, reason: str) -> None:
        self.add(str(path), f"{path}: {reason}")

    def line(self, damage: DamagedLine) -> None:
        """An :data:`~scraper.storage.jsonl.OnDamage` for the JSONL reader."""
        self.add(f"{damage.path}:{damage.number}", damage.describe())

    def __bool__(self) -> bool:
        return bool(self.reasons)


def short_reason(exc: BaseException, limit: int = 100) -> str:
    """An exception as a short line: its first line, without the bytes a reader quotes (warcio shows the
    first line of a file that is not a WARC, whatever it holds), control characters escaped."""
    lines = str(exc).strip().splitlines()
    text = escape_controls((lines[0] if lines else type(exc).__name__).split(", first line:")[0])
    return text if len(text) <= limit else text[:limit] + "…"


class InterchangeError(Exception):
    """Something the user can act on (a damaged WARC, nothing to package): one line, exit status 1."""


class UnknownCrawl(InterchangeError):
    """A crawl named on the command line is not in the archive: a usage error."""


def crawl_warcs(directory: Path) -> WarcFiles:
    """A crawl folder's gzipped WARC files; the ``.open`` ones belong to a crawl that is still running."""
    files = warc_files_in(directory)
    return WarcFiles([p for p in files.closed if p.name.endswith(GZIPPED_WARC_SUFFIX)],
                     [p for p in files.in_progress if p.name.removesuffix(OPEN_SUFFIX).endswith(GZIPPED_WARC_SUFFIX)])


def warn_in_progress(files: WarcFiles, warn: Warn) -> None:
    for path in files.in_progress:
        warn(f"skipping {path} (still being written by a running crawl)")


def find_crawl(root: Path, name: str) -> CrawlLayout:
    """A crawl of ``root`` by id (``20261125T062622Z-2351b5``) or by folder (``archive/crawls/<id>``)."""
    crawls = root / CRAWLS_DIR
    crawl_id = name.rstrip(os.sep)  # "20261125T062622Z-2351b5/", as shell completion writes it
    if crawl_id and os.sep not in crawl_id and crawl_id not in (".", "..") and (crawls / crawl_id).is_dir():
        return CrawlLayout(root, crawl_id)
    folder = Path(name)
    if folder.is_dir() and folder.resolve().parent == crawls.resolve():
        return CrawlLayout(root, folder.resolve().name)
    if folder.is_dir():
        raise UnknownCrawl(f"{name} is not a crawl folder of the archive {root} (give its archive root)")
    raise UnknownCrawl(f"unknown crawl: no crawl {name!r} in {crawls}")


def find_crawls(root: Path, names: tuple[str, ...] | list[str]) -> list[CrawlLayout]:
    """The crawls named, in order and without repeats; every crawl of the archive when none are."""
    if not (root / CRAWLS_DIR).is_dir():
        raise UnknownCrawl(f"no archive at {root} (no {CRAWLS_DIR}/ folder)")
    if not names:
        return list(iter_crawls(root, newest_first=False))
    found: dict[str, CrawlLayout] = {}
    for name in names:
        crawl = find_crawl(root, name)
        found.setdefault(crawl.crawl_id, crawl)
    return list(found.values())


def root_of_crawl_folders(names: tuple[str, ...] | list[str]) -> Path | None:
    """The archive root that crawls given as folders (``ROOT/crawls/<id>``) belong to, when they all agree."""
    roots = set()
    for name in names:
        folder = Path(name).resolve()
        if not folder.is_dir() or folder.parent.name != CRAWLS_DIR:
            return None
        roots.add(folder.parent.parent)
    return roots.pop() if len(roots) == 1 else None


def is_replayable_page(record: dict[str, Any]) -> bool:
    """A page record worth listing as a page: the final HTML answer, with a title or text.

    A revisit of a 304 has no content type of its own, but replays as its HTML original.
    """
    if not (record.get("title") or record.get("text")):
        return False
    status = int(record.get("status") or 0)
    if record.get("record_kind") == "revisit" and status == 304:
        return True
    return 200 <= status < 300 and record.get("content_type") in HTML_TYPES


def timestamp14(iso: str) -> str:
    """``2026-11-25T06:26:36.913Z`` -> ``20261125062636``: the 14-digit timestamp of CDXJ and replay URLs."""
    digits = "".join(ch for ch in iso.split(".", 1)[0] if ch.isdigit())
    return digits[:14].ljust(14, "0")


@contextmanager
def atomic_text_file(path: Path, root: Path) -> Iterator[IO[str]]:
    """Write ``path`` of the archive ``root`` through a temporary file in the same folder and a rename:
    never half a file, and never in a folder that is a link out of the root (:class:`OutsideRoot`).

    The temporary name is hidden and unique per process, so two writers never share it and
    readers globbing for ``*.cdxj`` never see it; those a killed writer left are removed first.
    """
    check_inside_root(path.parent, root)
    with atomic_write(path) as fh:
        yield fh
