"""WACZ packages of crawls, built by py-wacz, for ReplayWeb.page and ``wacz validate``.

The page list comes from our page records (title and extracted text), not from py-wacz's
own page detection; the WARCs that hold the originals of the crawls' revisit records go
into the package too, so that it replays on its own.
"""

from __future__ import annotations

import contextlib
import io
import json
from argparse import Namespace
from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from scraper import defaults
from scraper.interchange import (
    Advance,
    InterchangeError,
    Skipped,
    Warn,
    crawl_warcs,
    is_replayable_page,
    no_progress,
    no_warnings,
    warn_in_progress,
)
from scraper.interchange.cdxj import AdvancingIndexer, CdxjLine, crawl_lines
from scraper.storage.durable import remove_stale_temporaries, replace_durably, temporary_path
from scraper.storage.jsonl import iter_jsonl, warn_damaged
from scraper.storage.layout import CrawlLayout, iter_crawls
from scraper.storage.warc import spool_content

MAX_BODY_BYTES = int(defaults.ARCHIVE_MAX_BODY_BYTES)  # what the crawl keeps of one body, by default

PAGES_HEADER = {"format": "json-pages-1.0", "id": "pages", "title": "Pages"}


@dataclass
class Package:
    """What goes into one WACZ."""

    warcs: list[Path] = field(default_factory=list)  # the crawls' own WARCs
    originals: list[Path] = field(default_factory=list)  # other crawls' WARCs holding revisited originals
    pages: list[dict[str, Any]] = field(default_factory=list)  # pages.jsonl entries, header excluded
    unresolved: list[str] = field(default_factory=list)  # URLs of revisits whose original is nowhere
    skipped: Skipped = field(default_factory=Skipped)  # unreadable WARC files, damaged page-record lines

    @property
    def files(self) -> list[Path]:
        return [*self.warcs, *self.originals]


def page_entry(record: dict[str, Any]) -> dict[str, Any]:
    """A WACZ page from one of our page records: ``ts`` is RFC 3339, as the WACZ spec wants."""
    record_id = str(record["warc"]["record_id"])
    entry = {"id": record_id.removeprefix("<urn:uuid:").removesuffix(">").replace("-", ""),
             "url": record["url"], "ts": record["fetched_at"], "title": record.get("title") or record["url"]}
    if record.get("text"):
        entry["text"] = record["text"]
    return entry


def crawl_pages(crawl: CrawlLayout, packaged: set[str], skipped: Skipped | None = None,
                captures: set[tuple[str, int]] | None = None) -> Iterator[dict[str, Any]]:
    """The crawl's final HTML pages whose WARC record is in the package (a damaged line: told to ``skipped``).

    With ``captures`` (the file and offset of each capture the package's index holds), only the pages
    whose capture is one of them: a WARC file cut short still has its name, but not the records after
    the cut, and a page listed without its capture does not replay.  Those are counted and said once.
    """
    for path in crawl.page_files():  # pages.jsonl, then each worker's: every page of the crawl
        missing: list[dict[str, Any]] = []
        for record in iter_jsonl(path, skipped.line if skipped is not None else warn_damaged):
            warc = record.get("warc") or {}
            if is_replayable_page(record) and warc.get("file") in packaged:
                if captures is not None and (str(warc.get("file")), _offset(warc.get("offset"))) not in captures:
                    missing.append(warc)
                    continue
                yield page_entry(record)
        if missing and skipped is not None:
            first = missing[0]
            skipped.add(f"{path}:captures", f"{path}: {len(missing)} page record(s) point at "
                        f"captures its WARC files do not hold (a WARC file cut short?), the first at "
                        f"{first.get('file')} offset {first.get('offset')}: left out of the page list")


def _offset(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return -1


def index_captures(lines: Sequence[CdxjLine]) -> set[tuple[str, int]]:
    """(file name, offset) of every capture in a crawl's index lines."""
    return {(line.filename, _offset(line.fields.get("offset"))) for line in lines}


def _originals_by_capture(root: Path, skipped: Skipped | None = None) -> dict[tuple[str, str], list[tuple[str, Path]]]:
    """(urlkey, payload digest) -> [(timestamp, WARC)] of every non-revisit capture in the archive."""
    found: dict[tuple[str, str], list[tuple[str, Path]]] = defaultdict(list)
    for crawl in iter_crawls(root, newest_first=False):
        for line in crawl_lines(crawl, skipped):
            if not line.is_revisit and line.digest:
                found[(line.urlkey, line.digest)].append((line.timestamp, (crawl.directory / line.filename).absolute()))
    return found


def original_warcs(root: Path, revisits: Sequence[CdxjLine], packaged: set[Path],
                   skipped: Skipped | None = None) -> tuple[list[Path], list[str]]:
    """WARCs outside the package that hold the originals of ``revisits``, and the revisits left unresolved.

    A revisit is found again the way replay tools find it: by URL and payload digest.  Of the
    captures that match, the latest one not after the revisit is its original.
    """
    if not revisits:
        return [], []
    captures = _originals_by_capture(root, skipped)
    extra: list[Path] = []
    unresolved: list[str] = []
    for revisit in revisits:
        candidates = captures.get((revisit.urlkey, revisit.digest or ""), [])
        if any(path in packaged for _, path in candidates):
            continue
        earlier = [c for c in candidates if c[0] <= revisit.timestamp] or candidates
        if not earlier:
            unresolved.append(str(revisit.fields.get("url")))
            continue
        path = max(earlier)[1]  # outside the package: candidates inside it were found above
        packaged.add(path)
        extra.append(path)
    return extra, unresolved


def plan_package(root: Path, crawls: Sequence[CrawlLayout], warn: Warn = no_warnings) -> Package:
    """What goes into the package.  A WARC file that cannot be read is left out (py-wacz could not index
    it either), with the pages whose records are in it; a damaged line of a pages.jsonl is left out:
    each said once with ``warn``, and kept in ``skipped``."""
    package = Package(skipped=Skipped(warn))
    revisits: list[CdxjLine] = []
    for crawl in crawls:
        files = crawl_warcs(crawl.directory)
        warn_in_progress(files, warn)
        lines = crawl_lines(crawl, package.skipped)  # first: it finds the files that cannot be read
        readable = [p for p in files.closed if str(p) not in package.skipped.reasons]
        package.warcs += readable
        package.pages += crawl_pages(crawl, {p.name for p in readable}, package.skipped, index_captures(lines))
        revisits += [line for line in lines if line.is_revisit]
    if not package.warcs:
        raise InterchangeError("no finished WARC files to package in " + ", ".join(c.crawl_id for c in crawls))
    packaged = {p.absolute() for p in package.warcs}
    originals, package.unresolved = original_warcs(root, revisits, packaged, package.skipped)
    package.originals = originals
    for url in package.unresolved:
        warn(f"the original of a revisit of {url} is not in the archive: it will not replay")
    clashes = _same_names(package.files)
    if clashes:
        raise InterchangeError(f"two WARC files named {clashes[0]}: a WACZ keeps file names only")
    return package


def _same_names(paths: Sequence[Path]) -> list[str]:
    seen: set[str] = set()
    clashes = []
    for path in paths:
        if path.name in seen:
            clashes.append(path.name)
        seen.add(path.name)
    return clashes


def write_pages(path: Path, pages: Sequence[dict[str, Any]]) -> None:
    # hasText tells ReplayWeb.page to build its full-text search from the pages' text
    header = {**PAGES_HEADER, **({"hasText": True} if any(p.get("text") for p in pages) else {})}
    with open(path, "w", encoding="utf-8") as fh:
        for entry in [header, *pages]:
            fh.write(json.dumps(entry, ensure_ascii=False) + "\n")


@contextlib.contextmanager
def bounded_buffering(max_bytes: int) -> Iterator[None]:
    """cdxj-indexer, while py-wacz runs it, buffers at most ``max_bytes`` of each record's content.

    py-wacz has cdxj-indexer buffer every record's decoded content to join requests to responses
    (``post_append``), whole: a WARC holding a gzip bomb would write gigabytes to a temporary file.
    It reads only the start of what it buffers (a POST's query, a warcinfo record's fields).
    """
    from cdxj_indexer import bufferiter

    original = bufferiter.buffer_record_content

    def buffer_record_content(record: Any) -> None:
        record.buffered_stream = spool_content(record, max_bytes)

    bufferiter.buffer_record_content = buffer_record_content  # looked up by name at each record
    try:
        yield
    finally:
        bufferiter.buffer_record_content = original


READS_OF_EACH_WARC = 3  # py-wacz indexes each WARC file, copies it into the package, then hashes that copy


class _Counted:
    """A binary stream whose reads are told to ``advance`` (their bytes)."""

    def __init__(self, stream: Any, advance: Advance) -> None:
        self._stream = stream
        self._advance = advance

    def read(self, size: int = -1) -> bytes:
        data: bytes = self._stream.read(size)
        self._advance(len(data))
        return data

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)

    def __enter__(self) -> _Counted:
        return self

    def __exit__(self, *exc: object) -> None:
        self._stream.close()


@contextlib.contextmanager
def counted_reads(warcs: Sequence[Path], advance: Advance) -> Iterator[None]:
    """While py-wacz runs, the bytes of ``warcs`` it reads are told to ``advance``: in all
    :data:`READS_OF_EACH_WARC` times their size.

    py-wacz has no progress hook: its indexer is replaced by one that reports (as ``scraper index``'s does),
    its ``open`` (which it copies each WARC file from) by one that counts, and its ``hash_stream`` (which
    reads the copies back from the package, ``archive/<name>``) by one that counts those.
    """
    import builtins

    from wacz import main, waczindexer

    names = {str(path) for path in warcs}
    indexer, hash_stream = main.WACZIndexer, waczindexer.hash_stream

    class Indexer(AdvancingIndexer, indexer):  # type: ignore[misc, valid-type]
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, advance=advance, **kwargs)

    def counted_open(file: Any, mode: str = "r", *args: Any, **kwargs: Any) -> Any:
        stream = builtins.open(file, mode, *args, **kwargs)  # noqa: SIM115 - py-wacz closes it (a with block)
        return _Counted(stream, advance) if str(file) in names and "b" in mode else stream

    def counted_hash_stream(hash_type: str, stream: Any) -> Any:
        archived = str(getattr(stream, "name", "")).startswith("archive/")
        return hash_stream(hash_type, _Counted(stream, advance) if archived else stream)

    main.WACZIndexer, waczindexer.hash_stream = Indexer, counted_hash_stream  # looked up by name at each use
    main.open = counted_open  # type: ignore[attr-defined]  # a module global before the builtin
    try:
        yield
    finally:
        main.WACZIndexer, waczindexer.hash_stream = indexer, hash_stream
        del main.open  # type: ignore[attr-defined]


def write_wacz(package: Package, output: Path, title: str, description: str | None = None,
               max_body_bytes: int = MAX_BODY_BYTES, advance: Advance = no_progress) -> None:
    """Build the WACZ with py-wacz's own ``create`` (the page list copied as we wrote it), then rename it in place.

    py-wacz reads at most ``max_body_bytes`` of each record (:func:`bounded_buffering`).  The bytes of the
    WARC files it reads are told to ``advance`` (:func:`counted_reads`)."""
    # imported here: py-wacz changes cdxj-indexer's defaults when imported, and only this needs it
    from wacz.main import create_wacz

    # Both temporary files are beside the package, named after it and this process: a run killed half
    # way leaves them there, where the next run for the same package finds them and removes them.
    remove_stale_temporaries(output.parent, lambda target: target == output.name)
    tmp = temporary_path(output)
    pages = temporary_path(output, ".pages.jsonl")  # py-wacz takes a page list only from a *.jsonl file
    chatter = io.StringIO()
    try:
        write_pages(pages, package.pages)
        args = Namespace(inputs=[str(p) for p in package.files], output=str(tmp), pages=str(pages),
                         copy_pages=True, extra_pages=None, detect_pages=False, text=False, hash_type="sha256",
                         log_directory=None, split_seeds=False, ts=None, url=None, date=None, title=title,
                         desc=description, signing_url=None, signing_token=None, file=False)
        # py-wacz prints its progress on stdout: ours is for data
        with contextlib.redirect_stdout(chatter), bounded_buffering(max_body_bytes), \
                counted_reads(package.files, advance):
            status = create_wacz(args)
        if status != 0:
            lines = [ln for ln in chatter.getvalue().splitlines() if ln.strip()] or ["no reason given"]
            raise InterchangeError(f"py-wacz could not create the package: {lines[-1]}")
        replace_durably(tmp, output)
    except OSError as exc:
        raise InterchangeError(f"cannot write {output}: {exc.strerror or exc}") from exc
    finally:
        tmp.unlink(missing_ok=True)
        pages.unlink(missing_ok=True)
