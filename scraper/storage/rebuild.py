"""The catalog rebuilt from the archive's own files, and the checks that say when it must be.

The catalog is an index of what the crawl folders hold, and they hold everything a capture row
needs:

* the page record: a line of ``pages.jsonl``, else the ``metadata`` record beside its response in
  the WARC (``application/json``, as :mod:`scraper.reextract` and :mod:`scraper.imports` read them);
* from the response or revisit record itself: its ``WARC-Date``, and the ``ETag`` and
  ``Last-Modified`` of its HTTP headers (what the next crawl's conditional request sends);
* where the payload is: the record itself for a 2xx response, the page record's ``refers_to``
  for a revisit (as the crawl and ``scraper import`` filed them).

Crawls are read oldest first, each in the order it recorded its pages, and written in the batches
a crawl writes (:data:`BATCH`), so versions, histories and redirects come out as the crawls made
them.  A capture is readable (committed) when its WARC file is one the crawl's manifest lists as
closed; the captures of a crawl that was killed stay uncommitted, for its ``--resume`` to finish.

Watches are the one thing the files do not hold: they are read from the old catalog when it can
still be read (read-only: the damaged file is kept as it is, beside the new one).
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import sqlite3
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from scraper.records import PAGE_RECORD_CONTENT_TYPE, page_record_from_json
from scraper.scope import url_key
from scraper.storage.catalog import (
    Catalog,
    CatalogMissing,
    CatalogUnwritable,
    NewCapture,
    capture_row,
    catalog_url,
    rebuild_command,
    sqlite_files,
)
from scraper.storage.durable import fsync_path, remove_stale_temporaries, replace_durably, temporary_path
from scraper.storage.jsonl import scan_jsonl
from scraper.storage.layout import (
    CRAWLS_DIR,
    CrawlLayout,
    is_crawl_locked,
    iter_crawls,
)
from scraper.storage.warc import DamagedWarc, StoredRecord, read_payload_at, scan_records

BATCH = 200  # RecordPipeline.CATALOG_BATCH: a crawl's batches give the same `urls` rows
PAGE_RECORD_MAX_BYTES = 100 * 1024 * 1024  # a page record longer than this is no record the crawl wrote
REBUILDING = ".rebuild"  # the part of the temporary file's name: .catalog.sqlite.PID.tmp.rebuild
WATCH_COLUMNS = ("url_key", "url", "every_seconds", "cron", "added_at", "last_captured_at", "next_due_at")


def sqlite_path(root: Path, db: str | None = None) -> Path | None:
    """The SQLite file of the catalog of ``root`` (``--db sqlite:///FILE`` too); None for a server."""
    url = catalog_url(root, db)
    prefix = "sqlite:///"
    if not url.startswith(prefix) or url[len(prefix):] in ("", ":memory:"):
        return None
    return Path(url[len(prefix):].split("?", 1)[0])


# -- when a rebuild is needed ------------------------------------------------------------------------------------
def ended_crawls_with_pages(root: Path, exclude: str | None = None) -> list[str]:
    """The crawls that ended (they have a manifest) having recorded pages: what a catalog must know of.

    A crawl without a manifest is running or was killed: its ``--resume`` adds its own captures.
    """
    found: list[str] = []
    for layout in iter_crawls(root, newest_first=False):
        if layout.crawl_id == exclude:
            continue
        with contextlib.suppress(OSError):
            if layout.manifest_path.is_file() and any(path.stat().st_size > 0 for path in layout.page_files()):
                found.append(layout.crawl_id)
    return found


def _captureless(path: Path) -> str | None:
    """``"missing"`` or ``"empty"`` (no capture at all), read without creating or changing anything;
    None when it has captures, or cannot be read (opening it says why)."""
    if not path.exists():
        return "missing"
    try:
        connection = sqlite3.connect(path.resolve().as_uri() + "?mode=ro", uri=True)
        try:
            tables = connection.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'captures'")
            if not tables.fetchone():
                return "empty"
            return None if connection.execute("SELECT 1 FROM captures LIMIT 1").fetchone() else "empty"
        finally:
            connection.close()
    except sqlite3.Error:
        return None


def catalog_gap(root: Path, db: str | None = None, exclude: str | None = None) -> CatalogMissing | None:
    """The error to raise when the catalog is missing or empty while crawls on disk recorded pages.

    Opened as it is, a new catalog would be made and every page's history would start again at
    version 1: the catalog must be rebuilt first.  ``exclude``: a crawl being resumed, which adds
    its own captures.
    """
    path = sqlite_path(root, db)
    if path is None:
        return None
    state = _captureless(path)
    if state is None:
        return None
    crawls = ended_crawls_with_pages(root, exclude)
    if not crawls:
        return None
    return CatalogMissing(f"the catalog {path} is {state}, but {root / CRAWLS_DIR} holds {len(crawls)} crawl(s) with "
                          f"page records",
                          f"run `{rebuild_command(path)}` to rebuild it from them (without it, every page's "
                          f"history would start again at version 1)")


def check_catalog(root: Path, db: str | None = None, resuming: str | None = None) -> None:
    """Before a crawl makes anything: raise the catalog's one-line error when it is missing while crawls
    need it (:func:`catalog_gap`) or damaged (``PRAGMA quick_check``).

    A catalog that cannot be written (a full disk) is left to the crawl, which says so for the whole
    archive when it fails to open it.
    """
    gap = catalog_gap(root, db, resuming)
    if gap is not None:
        raise gap
    try:
        catalog = Catalog.open(root, db)
    except CatalogUnwritable:
        return
    try:
        catalog.check()
    finally:
        catalog.engine.dispose()  # nothing written: nothing to checkpoint


# -- one crawl folder, read back --------------------------------------------------------------------------------
@dataclass(frozen=True)
class WarcFacts:
    """What a response or revisit record tells the catalog beyond its page record."""

    warc_date: str
    target_uri: str | None
    etag: str | None
    last_modified: str | None


def _last_header(headers: Sequence[tuple[str, str]], name: str) -> str | None:
    """The last value of a header, as Scrapy's ``Headers.get`` (what the crawl stored) gives it."""
    wanted = name.lower()
    values = [value for key, value in headers if key.lower() == wanted]
    return values[-1] if values else None


def _uri(value: str | None) -> str | None:
    return value.strip().removeprefix("<").removesuffix(">") if value else None  # WARC/1.0 wraps URIs in <>


def _record_id(record: dict[str, Any]) -> str | None:
    warc = record.get("warc")
    value = warc.get("record_id") if isinstance(warc, dict) else None
    return value if isinstance(value, str) and value else None


@dataclass
class CrawlFiles:
    """One crawl folder read for the catalog: where each page record is, and the facts of its WARC record."""

    layout: CrawlLayout
    order: list[str] = field(default_factory=list)  # response record ids, in the order the crawl recorded them
    lines: dict[str, tuple[Path, int]] = field(default_factory=dict)  # record id -> its page file, line offset
    described: dict[str, tuple[Path, int]] = field(default_factory=dict)  # record id -> its metadata record
    facts: dict[str, WarcFacts] = field(default_factory=dict)
    committed_files: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def _wanted_bytes(head: StoredRecord) -> int:
    if head.rec_type == "metadata" and _last_header(head.warc_headers, "Content-Type") == PAGE_RECORD_CONTENT_TYPE:
        return PAGE_RECORD_MAX_BYTES
    return 0  # a response's or revisit's head is all the catalog needs of it


def read_crawl(layout: CrawlLayout, advance: Callable[[int], None] = lambda _size: None) -> CrawlFiles:
    """Find a crawl's page records (its page files first, pages.jsonl then each worker's, then those only its
    WARC files hold) and the facts of their WARC records.  Damage is noted and read past: what can be read is kept.
    The bytes of WARC files read are told to ``advance`` (a progress bar's), in all the files' sizes."""
    crawl = CrawlFiles(layout)
    for pages in layout.page_files():
        for line in scan_jsonl(pages):
            if line.damage is not None:
                crawl.problems.append(line.damage.describe())
            record_id = _record_id(line.record) if line.record is not None else None
            if record_id is not None:
                if record_id not in crawl.lines:
                    crawl.order.append(record_id)
                crawl.lines[record_id] = (pages, line.offset)  # a record written again replaces the first, in its place
    for path in layout.warc_paths():
        reached = 0  # of the file, told to advance
        try:
            for read in scan_records(path, _wanted_bytes):
                stored = read.stored
                advance(stored.offset + stored.length - reached)
                reached = stored.offset + stored.length
                if stored.rec_type in ("response", "revisit") and stored.record_id:
                    crawl.facts[stored.record_id] = WarcFacts(
                        stored.date or "", _uri(stored.target_uri), _last_header(stored.http_headers, "ETag"),
                        _last_header(stored.http_headers, "Last-Modified"))
                elif stored.rec_type == "metadata" and stored.content and not read.cut:
                    record = page_record_from_json(stored.content)
                    record_id = _record_id(record) if record is not None else None
                    if record_id is not None and record_id not in crawl.lines:
                        if record_id not in crawl.described:
                            crawl.order.append(record_id)
                        crawl.described[record_id] = (path, stored.offset)  # a later one replaces it
        except (DamagedWarc, OSError) as exc:
            crawl.problems.append(f"{path}: {getattr(exc, 'strerror', None) or exc}; read up to there")
        with contextlib.suppress(OSError):
            advance(max(path.stat().st_size - reached, 0))  # what follows the last record read: damage
    crawl.committed_files = _committed_files(layout)
    return crawl


def _committed_files(layout: CrawlLayout) -> list[str]:
    """The WARC files whose captures were readable: the closed ones the crawl's manifest lists.

    No manifest (a crawl killed, or one whose manifest cannot be read): none, for its resume.
    """
    try:
        manifest = json.loads(layout.manifest_path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    listed = manifest.get("warc_files") if isinstance(manifest, dict) else None
    if not isinstance(listed, list):
        return []
    return [name for name in listed if isinstance(name, str) and (layout.directory / name).is_file()]


def capture_entry(record: dict[str, Any], text: str, facts: WarcFacts | None) -> NewCapture:
    """The catalog's capture of a page record, as the crawl (or ``scraper import``) filed it."""
    warc = record["warc"]
    if record.get("record_kind") == "revisit":
        original = dict(record.get("refers_to") or {})  # the response that holds its payload
    elif 200 <= int(record["status"]) < 300:
        original = {"record_id": warc["record_id"], "warc_date": facts.warc_date if facts else "",
                    "target_uri": (facts.target_uri if facts else None) or record["url"],
                    "crawl_id": record["crawl_id"], "file": warc["file"], "offset": warc["offset"],
                    "length": warc["length"]}
    else:
        original = {}
    return NewCapture(url_key(record["url"]), record, etag=facts.etag if facts else None,
                      last_modified=facts.last_modified if facts else None,
                      warc_date=facts.warc_date if facts else "", original=original, record_json=text)


def iter_entries(crawl: CrawlFiles) -> Iterator[NewCapture]:
    """The crawl's captures, in its order; a record the catalog cannot hold is noted in its problems."""
    handles: dict[Path, IO[bytes]] = {}  # one per page file, opened when first needed
    try:
        for record_id in crawl.order:
            if record_id in crawl.lines:
                pages, line_offset = crawl.lines[record_id]
                if pages not in handles:
                    handles[pages] = open(pages, "rb")  # noqa: SIM115 - closed below
                handles[pages].seek(line_offset)
                data = handles[pages].readline()
                where = f"{pages} at byte {line_offset}"
            else:
                path, offset = crawl.described[record_id]
                try:
                    data = read_payload_at(path, offset, PAGE_RECORD_MAX_BYTES).stored.content
                except (OSError, ValueError) as exc:
                    crawl.problems.append(f"{path}: the page record at offset {offset} cannot be read again: {exc}")
                    continue
                where = f"{path} at offset {offset}"
            text = data.decode("utf-8", "replace").rstrip("\r\n")
            record = page_record_from_json(data)
            facts = crawl.facts.get(record_id)
            try:
                if record is None:
                    raise ValueError("not a page record")
                entry = capture_entry(record, text, facts)
                capture_row(0, entry)  # what the catalog will need of it
            except (KeyError, TypeError, ValueError, AttributeError) as exc:
                crawl.problems.append(f"{where}: not a page record the catalog can hold ({type(exc).__name__}: "
                                      f"{exc}); left out")
                continue
            if facts is None:
                crawl.problems.append(f"{where}: its WARC record {record_id} was not found; its capture has no "
                                      f"WARC-Date, ETag or Last-Modified")
            yield entry
    finally:
        for handle in handles.values():
            handle.close()


# -- the rebuild --------------------------------------------------------------------------------------------------
class RebuildRefused(Exception):
    """Something is writing the archive: a rebuild now would miss it, or be missed by it."""


@dataclass
class Rebuilt:
    """What a rebuild did, for its summary."""

    catalog: Path
    kept_aside: Path | None = None  # where the old catalog went (catalog.sqlite.damaged-N)
    crawls: int = 0
    captures: int = 0
    committed: int = 0
    watches: int = 0
    watches_problem: str | None = None  # why the old catalog's watches could not all be read
    problems: list[str] = field(default_factory=list)


def read_watches(path: Path) -> tuple[list[tuple[Any, ...]], str | None]:
    """The watches of the old catalog, as stored, read-only (the file is kept as it is), and what stopped
    the reading, if anything: the rows read before damage are kept."""
    if not path.exists():
        return [], None
    rows: list[tuple[Any, ...]] = []
    try:
        connection = sqlite3.connect(path.resolve().as_uri() + "?mode=ro", uri=True)
        try:
            for row in connection.execute(f"SELECT {', '.join(WATCH_COLUMNS)} FROM watches ORDER BY id"):
                rows.append(tuple(row))
        finally:
            connection.close()
    except sqlite3.Error as exc:
        return rows, str(exc)
    return rows, None


def keep_aside(path: Path) -> Path | None:
    """Rename a catalog's files (with its log and index) to ``NAME.damaged-N``, the first N free."""
    if not any(f.exists() or f.is_symlink() for f in sqlite_files(path)):
        return None
    for serial in itertools.count(1):
        aside = path.with_name(f"{path.name}.damaged-{serial}")
        if not any(f.exists() or f.is_symlink() for f in sqlite_files(aside)):
            break
    for source, target in zip(sqlite_files(path), sqlite_files(aside), strict=True):
        if source.exists() or source.is_symlink():
            os.rename(source, target)
    return aside


def warc_bytes(root: Path) -> int:
    """The bytes of every crawl's WARC files: what a rebuild reads of them (a progress bar's total)."""
    size = 0
    for layout in iter_crawls(root, newest_first=False):
        for path in layout.warc_paths():
            with contextlib.suppress(OSError):
                size += path.stat().st_size
    return size


def rebuild_catalog(root: Path, db: str | None = None, progress: Callable[[str], None] = lambda _: None,
                    advance: Callable[[int], None] = lambda _size: None) -> Rebuilt:
    """Build a new catalog from every crawl folder of ``root``, then put it in place of the old one,
    which is kept aside.  Call with the rearchive lock held; raises RebuildRefused while a crawl runs.
    ``progress`` is told each crawl done (a line), ``advance`` the bytes of WARC files read (:func:`warc_bytes`
    in all)."""
    target = sqlite_path(root, db)
    if target is None:
        raise ValueError("only a SQLite catalog can be rebuilt here")
    running = [layout.crawl_id for layout in iter_crawls(root) if is_crawl_locked(layout.directory)]
    if running:
        raise RebuildRefused(f"crawl {running[0]} is running in {root / CRAWLS_DIR}: rebuild the catalog when it "
                             f"has ended")
    done = Rebuilt(target)
    remove_stale_temporaries(target.parent, lambda name: name == target.name)
    building = temporary_path(target, REBUILDING)
    for leftover in sqlite_files(building):
        leftover.unlink(missing_ok=True)
    watches, done.watches_problem = read_watches(target)
    try:
        catalog = Catalog(f"sqlite:///{building}")
        try:
            for layout in iter_crawls(root, newest_first=False):
                crawl = read_crawl(layout, advance)
                added = 0
                batch: list[NewCapture] = []
                for entry in iter_entries(crawl):
                    batch.append(entry)
                    if len(batch) >= BATCH:
                        catalog.add_captures(batch)
                        added, batch = added + len(batch), []
                catalog.add_captures(batch)
                added += len(batch)
                done.committed += catalog.commit_files(layout.crawl_id, crawl.committed_files)
                done.crawls += 1
                done.captures += added
                done.problems += crawl.problems
                progress(f"{layout.crawl_id}: {added} capture(s)")
            with catalog.engine.begin() as conn:
                placeholders = ", ".join("?" for _ in WATCH_COLUMNS)
                for row in watches:
                    conn.exec_driver_sql(f"INSERT OR IGNORE INTO watches ({', '.join(WATCH_COLUMNS)}) "
                                         f"VALUES ({placeholders})", row)
            done.watches = len(watches)
        finally:
            catalog.close()
        # One file, no log beside it: what is renamed into place is the whole catalog.
        connection = sqlite3.connect(building)
        try:
            connection.execute("PRAGMA journal_mode=DELETE")
        finally:
            connection.close()
        fsync_path(building)
        done.kept_aside = keep_aside(target)
        replace_durably(building, target)
    except BaseException:
        for leftover in sqlite_files(building):
            leftover.unlink(missing_ok=True)
        raise
    return done
