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
    NOT_SHOWN,
    Advance,
    InterchangeError,
    Reading,
    Skipped,
    Warn,
    atomic_text_file,
    crawl_warcs,
    file_sizes,
    no_progress,
    no_warnings,
    short_reason,
    warn_in_progress,
)
from scraper.storage.layout import CRAWLS_DIR, CrawlLayout, OutsideRoot, check_inside_root, iter_crawls

INDEX_FILE = "index.cdxj"
REVISIT_MIME = "warc/revisit"
METADATA_SCHEME = "metadata://"  # our metadata records' URIs (scraper.storage.warc.metadata_uri)


class AdvancingIndexer(CDXJIndexer):  # type: ignore[misc]
    """A cdxj-indexer indexer that tells ``advance`` the bytes of each WARC file as it reads them.

    At each record, how far into the file the reads have reached (the furthest ``tell()``: py-wacz's indexer
    seeks back to hash a record it has read); at the end of the file (or when it cannot be read on), the rest.
    """

    def __init__(self, *args: Any, advance: Advance = no_progress, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.advance = advance
        self._input: Any = None
        self._reached = 0

    def process_one(self, input_: Any, output: Any, filename: str) -> None:
        self._input, self._reached = input_, 0
        try:
            super().process_one(input_, output, filename)
        finally:
            self.advance(max(file_sizes([Path(filename)]) - self._reached, 0))
            self._input = None

    def process_index_entry(self, it: Any, record: Any, *args: Any) -> None:
        super().process_index_entry(it, record, *args)
        position = self._input.tell() if self._input is not None else 0
        if position > self._reached:
            self.advance(position - self._reached)
            self._reached = position


class _Indexer(AdvancingIndexer):
    # Captures only: what `cdxj-indexer --records response,revisit,resource` writes.  Not the
    # metadata records: ours are metadata://<host>/<path>, whose SURT key (the scheme dropped) is
    # the page's own, so pywb would serve the JSON of one as that page, for instance when the
    # original of a revisit is missing.  Given explicitly, the list also does not depend on
    # CDXJIndexer.DEFAULT_RECORDS, to which py-wacz appends "warcinfo" when it is imported.
    RECORDS: ClassVar[str] = "response,revisit,resource"

    def __init__(self, *args: Any, skipped: Skipped, names: dict[str, Path], **kwargs: Any) -> None:
        super().__init__(*args, records=self.RECORDS, **kwargs)
        self.skipped = skipped
        self.names = names  # the absolute file names given to cdxj-indexer -> the paths as the user sees them

    def process_one(self, input_: Any, output: Any, filename: str) -> None:
        # A file's lines reach the (sorting) output only once the whole file is read: a file that cannot
        # be read (not a WARC, a damaged member) is left out whole, said once, and the others are indexed.
        lines = io.StringIO()
        try:
            super().process_one(input_, lines, filename)
        except Exception as exc:  # warcio's and cdxj-indexer's errors have no common base class
            self.skipped.file(self.names.get(filename, Path(filename)),
                              f"not readable as a WARC file ({short_reason(exc)})")
            return
        for line in lines.getvalue().splitlines(keepends=True):
            output.write(line)  # one at a time: the sorting writer sorts what it is given as lines


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


def index_warcs(warcs: Sequence[Path], dir_root: Path, out: IO[str], skipped: Skipped | None = None,
                advance: Advance = no_progress) -> None:
    """Index WARC files into ``out``, sorted, with file names relative to ``dir_root``; a file that cannot
    be read is left out and told to ``skipped`` (without one, it is an :class:`InterchangeError`).  The bytes
    read are told to ``advance``."""
    told = skipped if skipped is not None else Skipped()
    names: dict[str, Path] = {}
    for path in warcs:
        try:
            with open(path, "rb"):
                pass
        except OSError as exc:
            told.file(path, f"cannot be read ({exc.strerror or exc})")
            advance(file_sizes([path]))
            continue
        names[str(path.absolute())] = path
    indexer = _Indexer(out, list(names), sort=True, dir_root=str(dir_root.absolute()), skipped=told, names=names,
                       advance=advance)
    try:
        indexer.process_all()
    except Exception as exc:  # warcio's and cdxj-indexer's errors have no common base class
        where = indexer.curr_filename or ", ".join(p.name for p in warcs)
        raise InterchangeError(f"cannot index {where}: {short_reason(exc)}") from exc
    if skipped is None and told:
        raise InterchangeError(f"cannot index {next(iter(told.reasons.values()))}")


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
    # One pass, keeping only the file names: a crawl of millions of captures has an index of gigabytes.
    named: set[str] = set()
    for line in read_index(path):
        if str(line.fields.get("url", "")).startswith(METADATA_SCHEME):
            return False  # written before metadata records were left out
        named.add(line.filename)
    return all(w.name in named for w in warcs)


def write_crawl_index(crawl: CrawlLayout, warn: Warn = no_warnings, skipped: Skipped | None = None,
                      advance: Advance = no_progress) -> int | None:
    """(Re)write ``<crawl>/index.cdxj``; its number of lines, or None for a crawl without a finished WARC.

    A crawl folder that is a link out of the archive root raises :class:`OutsideRoot`: nothing is written.
    """
    files = crawl_warcs(crawl.directory)
    warn_in_progress(files, warn)
    if not files.closed:
        return None
    path = crawl_index_path(crawl)
    try:
        with atomic_text_file(path, crawl.root) as out:
            index_warcs(files.closed, crawl.directory, out, skipped, advance)
    except OutsideRoot:
        raise
    except OSError as exc:
        raise InterchangeError(f"cannot write {path}: {exc.strerror or exc}") from exc
    return sum(1 for _ in open(path, encoding="utf-8"))


def crawl_lines(crawl: CrawlLayout, skipped: Skipped | None = None) -> list[CdxjLine]:
    """A crawl's index lines: from its index when fresh, else indexed in memory (nothing is written)."""
    if is_fresh(crawl):
        return list(read_index(crawl_index_path(crawl)))
    files = crawl_warcs(crawl.directory)
    if not files.closed:
        return []
    buffer = io.StringIO()
    index_warcs(files.closed, crawl.directory, buffer, skipped)
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
        with ExitStack() as stack, atomic_text_file(path, root) as out:
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
    skipped: Skipped = field(default_factory=Skipped)  # WARC files left out, crawl folders not written


def update_indexes(root: Path, rebuild: Iterable[CrawlLayout] = (), rebuild_all: bool = False,
                   warn: Warn = no_warnings, reading: Reading = NOT_SHOWN) -> IndexReport:
    """Bring every crawl's index up to date (always rewriting those in ``rebuild``), then the archive's.

    A WARC file that cannot be read is left out of its crawl's index, and a crawl folder that is a link
    out of the archive root is not indexed at all (nothing is written through it): each said with
    ``warn``, and kept in the report's ``skipped``; the rest is indexed all the same.  ``reading`` is told
    the bytes of the WARC files to index, then those read.
    """
    forced = {c.crawl_id for c in rebuild}
    report = IndexReport(skipped=Skipped(warn))
    indexed: list[CrawlLayout] = []
    chosen: list[tuple[CrawlLayout, bool]] = []  # each crawl inside the root, and whether to index it now
    for crawl in iter_crawls(root, newest_first=False):
        try:
            check_inside_root(crawl.directory, root)
        except OutsideRoot as exc:
            report.skipped.add(str(crawl.directory), str(exc))
            continue
        chosen.append((crawl, rebuild_all or crawl.crawl_id in forced or not is_fresh(crawl)))
    reading.total(file_sizes(w for crawl, write in chosen if write for w in crawl_warcs(crawl.directory).closed))
    for crawl, write in chosen:
        if write:
            lines = write_crawl_index(crawl, warn, report.skipped, reading.advance)
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
