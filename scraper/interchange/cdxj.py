"""Sorted CDXJ indexes of the captures, written by cdxj-indexer the way its command writes them.

One index per crawl (``<crawl>/index.cdxj``, file names relative to the crawl folder) and
one for the whole archive (``<root>/index.cdxj``, file names relative to the root), so either
folder can serve as pywb's archive path.  The archive index is merged from the crawls'
indexes instead of reading every WARC again: prefixing the file names of one crawl's sorted
lines with the same ``crawls/<id>/`` keeps them sorted, so a k-way merge gives exactly
the lines cdxj-indexer would write for all the WARCs at once.
"""

from __future__ import annotations

import heapq
import io
import json
from collections.abc import Iterable, Iterator, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, ClassVar

from cdxj_indexer.main import CDXJIndexer

from scraper.interchange import (
    InterchangeError,
    Warn,
    atomic_text_file,
    crawl_warcs,
    no_warnings,
    warn_in_progress,
)
from scraper.storage.layout import CRAWLS_DIR, CrawlLayout, iter_crawls

INDEX_FILE = "index.cdxj"
REVISIT_MIME = "warc/revisit"
METADATA_SCHEME = "metadata://"  # our metadata records' URIs (scraper.storage.warc.metadata_uri)


class _Indexer(CDXJIndexer):  # type: ignore[misc]
    # Captures only: what `cdxj-indexer --records response,revisit,resource` writes.  Not the
    # metadata records: ours are metadata://<host>/<path>, whose SURT key (the scheme dropped) is
    # the page's own, so pywb would serve the JSON of one as that page, for instance when the
    # original of a revisit is missing.  Given explicitly, the list also does not depend on
    # CDXJIndexer.DEFAULT_RECORDS, to which py-wacz appends "warcinfo" when it is imported.
    RECORDS: ClassVar[str] = "response,revisit,resource"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, records=self.RECORDS, **kwargs)


@dataclass(frozen=True)
class CdxjLine:
    """``urlkey timestamp {json}``: one capture in an index."""

    urlkey: str
    timestamp: str
    fields: dict[str, Any]

    @property
    def filename(self) -> str:
        return str(self.fields.get("filename", ""))

    @property
    def digest(self) -> str | None:
        return self.fields.get("digest")

    @property
    def is_revisit(self) -> bool:
        return self.fields.get("mime") == REVISIT_MIME

    def to_text(self) -> str:
        # json.dumps with its default separators is what cdxj-indexer writes
        return f"{self.urlkey} {self.timestamp} {json.dumps(self.fields)}\n"


def parse_line(line: str) -> CdxjLine:
    urlkey, timestamp, data = line.rstrip("\n").split(" ", 2)
    return CdxjLine(urlkey, timestamp, json.loads(data))


def read_index(path: Path) -> Iterator[CdxjLine]:
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                yield parse_line(line)


def index_warcs(warcs: Sequence[Path], dir_root: Path, out: IO[str]) -> None:
    """Index WARC files into ``out``, sorted, with file names relative to ``dir_root``."""
    indexer = _Indexer(out, [str(p.absolute()) for p in warcs], sort=True, dir_root=str(dir_root.absolute()))
    try:
        indexer.process_all()
    except Exception as exc:  # warcio's and cdxj-indexer's errors have no common base class
        where = indexer.curr_filename or ", ".join(p.name for p in warcs)
        raise InterchangeError(f"cannot index {where}: {exc}") from exc


# -- one crawl ---------------------------------------------------------------------------------
def crawl_index_path(crawl: CrawlLayout) -> Path:
    return crawl.directory / INDEX_FILE


def is_fresh(crawl: CrawlLayout) -> bool:
    """The crawl's index exists, is newer than its WARCs and names every one of them.

    A closed WARC never changes again, but a file still ``.open`` when the index was written
    is renamed later, keeping its older mtime: hence the check by name.  (A WARC without any
    indexable record is never named, so its crawl is simply indexed again; that is cheap.)
    """
    path = crawl_index_path(crawl)
    if not path.is_file():
        return False
    warcs = crawl_warcs(crawl.directory).closed
    built = path.stat().st_mtime
    if any(w.stat().st_mtime > built for w in warcs):
        return False
    lines = list(read_index(path))
    if any(str(line.fields.get("url", "")).startswith(METADATA_SCHEME) for line in lines):
        return False  # written before metadata records were left out
    named = {line.filename for line in lines}
    return all(w.name in named for w in warcs)


def write_crawl_index(crawl: CrawlLayout, warn: Warn = no_warnings) -> int | None:
    """(Re)write ``<crawl>/index.cdxj``; its number of lines, or None for a crawl without a finished WARC."""
    files = crawl_warcs(crawl.directory)
    warn_in_progress(files, warn)
    if not files.closed:
        return None
    path = crawl_index_path(crawl)
    try:
        with atomic_text_file(path) as out:
            index_warcs(files.closed, crawl.directory, out)
    except OSError as exc:
        raise InterchangeError(f"cannot write {path}: {exc.strerror or exc}") from exc
    return sum(1 for _ in open(path, encoding="utf-8"))


def crawl_lines(crawl: CrawlLayout) -> list[CdxjLine]:
    """A crawl's index lines: from its index when fresh, else indexed in memory (nothing is written)."""
    if is_fresh(crawl):
        return list(read_index(crawl_index_path(crawl)))
    files = crawl_warcs(crawl.directory)
    if not files.closed:
        return []
    buffer = io.StringIO()
    index_warcs(files.closed, crawl.directory, buffer)
    return [parse_line(line) for line in buffer.getvalue().splitlines() if line.strip()]


# -- the whole archive ---------------------------------------------------------------------------
def archive_index_path(root: Path) -> Path:
    return root / INDEX_FILE


def rooted(lines: Iterable[str], crawl_id: str) -> Iterator[str]:
    """A crawl's index lines with file names made relative to the archive root."""
    prefix = f"{CRAWLS_DIR}/{crawl_id}/"
    for text in lines:
        if text.strip():
            line = parse_line(text)
            yield CdxjLine(line.urlkey, line.timestamp, {**line.fields, "filename": prefix + line.filename}).to_text()


def write_archive_index(root: Path, crawls: Sequence[CrawlLayout]) -> int:
    """Merge the crawls' (sorted) indexes into ``<root>/index.cdxj``; its number of lines."""
    path = archive_index_path(root)
    count = 0
    try:
        with ExitStack() as stack, atomic_text_file(path) as out:
            streams = [rooted(stack.enter_context(open(crawl_index_path(c), encoding="utf-8")), c.crawl_id)
                       for c in crawls]
            for text in heapq.merge(*streams):
                out.write(text)
                count += 1
    except OSError as exc:
        raise InterchangeError(f"cannot write {path}: {exc.strerror or exc}") from exc
    return count


@dataclass
class IndexReport:
    indexed: dict[str, int] = field(default_factory=dict)  # crawl id -> lines, for the indexes written now
    reused: list[str] = field(default_factory=list)  # crawls whose index was up to date
    empty: list[str] = field(default_factory=list)  # crawls without a finished WARC
    archive_lines: int = 0
    archive_index: Path | None = None


def update_indexes(root: Path, rebuild: Iterable[CrawlLayout] = (), rebuild_all: bool = False,
                   warn: Warn = no_warnings) -> IndexReport:
    """Bring every crawl's index up to date (always rewriting those in ``rebuild``), then the archive's."""
    forced = {c.crawl_id for c in rebuild}
    report = IndexReport()
    indexed: list[CrawlLayout] = []
    for crawl in iter_crawls(root, newest_first=False):
        if rebuild_all or crawl.crawl_id in forced or not is_fresh(crawl):
            lines = write_crawl_index(crawl, warn)
            if lines is None:
                report.empty.append(crawl.crawl_id)
                crawl_index_path(crawl).unlink(missing_ok=True)  # an index of WARCs that are gone
                continue
            report.indexed[crawl.crawl_id] = lines
        else:
            warn_in_progress(crawl_warcs(crawl.directory), warn)
            report.reused.append(crawl.crawl_id)
        indexed.append(crawl)
    if not indexed:
        raise InterchangeError(f"no finished WARC files under {root / CRAWLS_DIR}")
    report.archive_lines = write_archive_index(root, indexed)
    report.archive_index = archive_index_path(root)
    return report
