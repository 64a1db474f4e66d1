"""Page records out for downstream tools: JSON Lines, CSV or Parquet, streamed crawl by crawl.

Pure: no Scrapy.  Records come from the crawl folders, not the catalog, so an archive
copied without its catalog exports the same; a crawl's records are read one at a time
(``pages.jsonl``, with each record replaced by its newest re-extraction from
``pages.reextract-*.jsonl`` unless asked for the records as crawled), so memory does
not grow with the archive.

Rows start with the fields of a WACZ ``pages.jsonl`` entry (``url``, ``ts``, ``title``,
``text``; ``ts`` is the capture time, ``fetched_at``), followed by every field of the
PageRecord.  JSON Lines rows are the records themselves plus ``ts``; CSV and Parquet
flatten them into the columns :func:`columns` derives from the page-record schema:

* nested objects become dotted columns (``warc.file``, ``refers_to.record_id``,
  ``previous.version``, ``extractor.version``); a nullable object (``refers_to``,
  ``previous``, ``extractor``) is null when all its columns are;
* lists (authors, tags, categories, redirects, changed_fields, access directives) are
  list<string> columns in Parquet, and JSON arrays in CSV cells (``["Jane Doe"]``):
  names may hold any separator, and a JSON array reads back exactly;
* in CSV an empty cell is null (records never hold empty strings), booleans are
  ``true``/``false``; in Parquet integers are int64, numbers (``page_type_confidence``) double and
  booleans bool.
"""

from __future__ import annotations

import contextlib
import csv
import functools
import io
import itertools
import json
import re
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Executor, Future
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO, Any, Literal, Protocol, TypeVar
from urllib.parse import urlsplit

from scraper.dates import parse_date_or_time, utc_moment
from scraper.interchange import UnknownCrawl, find_crawls
from scraper.schema import page_record_schema
from scraper.storage.jsonl import (
    DamagedLine,
    OnDamage,
    dumps_line,
    ignore_damaged,
    iter_jsonl_at,
    parse_line,
    read_jsonl_at,
    warn_damaged,
)
from scraper.storage.layout import MANIFEST_FILE, CrawlLayout
from scraper.text import dumps_json, escape_controls

FORMATS = ("jsonl", "csv", "parquet")
WACZ_FIELDS = ("url", "ts", "title", "text")
REEXTRACT_PREFIX = "pages.reextract-"
REEXTRACT_SUFFIX = ".jsonl"
_REEXTRACT_NAME = re.compile(r"^pages\.reextract-(\d{8}T\d{6}Z)(?:-(\d+))?\.jsonl$")
PARQUET_BATCH_ROWS = 500  # rows held before a Parquet row group is written: texts can be large


class ArchiveError(ValueError):
    """A user error about the archive (no archive, unknown crawl): one line, no traceback."""


# -- choosing crawls and records -------------------------------------------------------------
def select_crawls(root: Path, names: Sequence[str] = ()) -> list[CrawlLayout]:
    """The named crawls (every crawl when none is named), oldest first."""
    try:
        crawls = find_crawls(root, list(names))
    except UnknownCrawl as exc:
        raise ArchiveError(str(exc)) from exc
    return sorted(crawls, key=lambda crawl: crawl.crawl_id)


def being_written(crawl: CrawlLayout) -> bool:
    """A crawl with WARC files still open is running (or died): its records are not settled yet."""
    return bool(crawl.warc_files().in_progress)


def parse_since(text: str) -> datetime:
    """``export`` and ``reextract --since``: the moment captures are kept from: a date from its midnight UTC,
    a date-time without an offset in UTC."""
    return utc_moment(parse_date_or_time(text))


def parse_until(text: str) -> str:
    """``--at``: the last moment TEXT names, in the form of ``fetched_at``: a date stands for
    the whole day (up to 23:59:59 UTC), a date-time for itself (without an offset: UTC)."""
    value = parse_date_or_time(text)
    moment = utc_moment(value)
    if not isinstance(value, datetime):
        moment += timedelta(days=1, seconds=-1)
    return since_key(moment)


def since_key(moment: datetime) -> str:
    """The moment in the form of ``fetched_at``, so that the two compare as strings."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def finished_before(crawl: CrawlLayout, since: str) -> bool:
    """A crawl that finished before ``since`` holds no capture since then: no need to read it."""
    try:
        finished = json.loads((crawl.directory / MANIFEST_FILE).read_text(encoding="utf-8")).get("finished_at")
    except (OSError, ValueError):
        return False
    return isinstance(finished, str) and finished < since


def site_matcher(sites: Sequence[str]) -> Callable[[str], bool]:
    """A test of a URL against ``--site`` values: a host matches itself and its subdomains
    (``example.com`` matches ``www.example.com``); ``HOST:PORT`` also wants that port."""
    wanted: list[tuple[str, int | None]] = []
    for site in sites:
        value = site.strip().lower()
        parts = urlsplit(value if "//" in value else "//" + value)
        try:
            host, port = (parts.hostname or "").rstrip("."), parts.port
        except ValueError:
            host, port = "", None
        if not host or parts.path not in ("", "/") or parts.query or " " in host:
            raise ValueError(f"{site!r} is not a host name (e.g. example.com or 127.0.0.1:8080)")
        with contextlib.suppress(UnicodeError):
            host = host.encode("idna").decode("ascii")  # URLs in records carry IDNs as punycode
        wanted.append((host, port))

    def matches(url: str) -> bool:
        parts = urlsplit(url)
        host = (parts.hostname or "").rstrip(".")
        try:
            port = parts.port or {"http": 80, "https": 443}.get(parts.scheme)
        except ValueError:
            return False
        return any((host == h or host.endswith("." + h)) and (p is None or p == port) for h, p in wanted)

    return matches


def is_reextract_name(name: str) -> bool:
    return _REEXTRACT_NAME.match(name) is not None


def reextract_files(directory: Path) -> list[Path]:
    """A crawl's re-extraction files, oldest first (``pages.reextract-<UTC stamp>[-n].jsonl``)."""
    found = [(m.group(1), int(m.group(2) or 0), path) for path in directory.glob(REEXTRACT_PREFIX + "*")
             if (m := _REEXTRACT_NAME.match(path.name))]
    return [path for _stamp, _n, path in sorted(found)]


def _record_id(record: dict[str, Any]) -> str | None:
    warc = record.get("warc")
    return warc.get("record_id") if isinstance(warc, dict) else None


def _index_reextractions(directory: Path, on_damage: OnDamage = warn_damaged) -> dict[str, tuple[Path, int]]:
    """Where the newest re-extraction of each capture is: record id -> (file, byte offset).

    Offsets, not records: a crawl's texts are read again when they are written out.
    """
    index: dict[str, tuple[Path, int]] = {}
    for path in reextract_files(directory):
        for offset, record in iter_jsonl_at(path, on_damage):
            record_id = _record_id(record)
            if record_id:
                index[record_id] = (path, offset)  # a later file overrides an earlier one
    return index


def crawl_records(crawl: CrawlLayout, *, as_crawled: bool = False,
                  on_damage: OnDamage = warn_damaged) -> Iterator[dict[str, Any]]:
    """A crawl's page records in the order it wrote them, each in its newest re-extraction.

    Its page files are read in :meth:`~scraper.storage.layout.CrawlLayout.page_files`' order (``pages.jsonl``,
    then each worker's).  Records found only in re-extractions (page files deleted, or cut short by a crash)
    follow, in the order they were re-extracted.
    """
    pending = {} if as_crawled else _index_reextractions(crawl.directory, on_damage)
    handles: dict[Path, IO[bytes]] = {}

    def read_at(where: tuple[Path, int]) -> dict[str, Any]:
        path, offset = where
        if path not in handles:
            handles[path] = open(path, "rb")  # noqa: SIM115 - closed below, one per file
        return read_jsonl_at(handles[path], offset)

    try:
        for record in crawl.iter_page_records(on_damage):
            where = pending.pop(_record_id(record) or "", None)
            yield read_at(where) if where is not None else record
        for where in pending.values():
            yield read_at(where)
    finally:
        for handle in handles.values():
            handle.close()


_STATUS = re.compile(r"^([1-5])(\d\d|xx)$", re.IGNORECASE)


def status_matcher(values: Sequence[str]) -> Callable[[int], bool]:
    """A test of a record's status against ``--status`` values: ``404`` is that status,
    ``4xx`` its whole class."""
    exact: set[int] = set()
    classes: set[int] = set()
    for value in values:
        match = _STATUS.match(value.strip())
        if not match:
            raise ValueError(f"{value!r} is not an HTTP status: give one such as 200 or 404, or a class such as 2xx")
        if match.group(2).lower() == "xx":
            classes.add(int(match.group(1)))
        else:
            exact.add(int(match.group(0)))

    def matches(status: int) -> bool:
        return status in exact or status // 100 in classes

    return matches


@dataclass(frozen=True)
class Selection:
    """Which records to export: those every given filter keeps (``latest`` then picks among them)."""

    since: str | None = None  # fetched_at on or after this (the form of since_key)
    site: Callable[[str], bool] | None = None
    latest: bool = False  # only the newest record of each normalized_url
    as_crawled: bool = False  # ignore re-extractions
    page_types: frozenset[str] = frozenset()  # page_type is one of these (empty: any, records without one too)
    record_kind: str | None = None  # "response" or "revisit"
    status: Callable[[int], bool] | None = None  # see status_matcher

    def wants(self, record: dict[str, Any]) -> bool:
        if self.since is not None and str(record.get("fetched_at") or "") < self.since:
            return False
        # page_type is null when the page was not extracted, and absent from records written before it existed
        if self.page_types and record.get("page_type") not in self.page_types:
            return False
        if self.record_kind is not None and record.get("record_kind", "response") != self.record_kind:
            return False
        if self.status is not None and not self.status(int(record.get("status") or 0)):
            return False
        return self.site is None or self.site(str(record.get("url") or ""))


def _selected(crawls: Sequence[CrawlLayout], selection: Selection, on_damage: OnDamage = warn_damaged,
              advance: Callable[[], None] = lambda: None) -> Iterator[tuple[tuple[int, int], dict[str, Any]]]:
    for number, crawl in enumerate(crawls):
        if selection.since is not None and finished_before(crawl, selection.since):
            continue
        for position, record in enumerate(crawl_records(crawl, as_crawled=selection.as_crawled, on_damage=on_damage)):
            advance()  # every record read, kept or not: the progress display's count
            if selection.wants(record):
                yield (number, position), record


def selected_records(crawls: Sequence[CrawlLayout], selection: Selection, on_damage: OnDamage = warn_damaged,
                     advance: Callable[[], None] = lambda: None) -> Iterator[dict[str, Any]]:
    """The records to export, oldest crawl first, each crawl in its own order; a damaged line is given
    to ``on_damage`` (once) and skipped.  ``advance`` is called for each record read.

    ``latest`` reads the crawls twice, so that memory holds one entry per URL, not the records:
    the first pass finds where each URL's newest record is, the second writes those.
    """
    def passes(damage: OnDamage, _encode: bool) -> Iterator[tuple[tuple[int, int], dict[str, Any], dict[str, Any]]]:
        return ((place, record, record) for place, record in _selected(crawls, selection, damage, advance))

    return _pick(passes, selection, on_damage)


P = TypeVar("P")
# A pass over the crawls: (place, the record or its fields that Selection reads, what is written); the flag
# says whether what is written is needed (the first pass of --latest only reads places and fields).
Passes = Callable[[OnDamage, bool], Iterator[tuple[tuple[int, int], dict[str, Any], P]]]


def _pick(passes: Passes[P], selection: Selection, on_damage: OnDamage) -> Iterator[P]:
    if not selection.latest:
        for _place, _record, item in passes(on_damage, True):
            yield item
        return
    newest: dict[str, tuple[str, int, int]] = {}
    for (number, position), record, _item in passes(on_damage, False):
        key = str(record.get("normalized_url") or record.get("url"))
        mark = (str(record.get("fetched_at") or ""), number, position)  # a tie goes to the later record
        if key not in newest or mark > newest[key]:
            newest[key] = mark
    chosen = {(number, position) for _fetched, number, position in newest.values()}
    for place, _record, item in passes(ignore_damaged, True):  # said in the first pass
        if place in chosen:
            yield item


# -- rows and columns ------------------------------------------------------------------------------
ColumnKind = Literal["string", "integer", "number", "boolean", "list"]


@dataclass(frozen=True)
class Column:
    name: str  # "warc.offset"
    path: tuple[str, ...]  # ("warc", "offset")
    kind: ColumnKind


def export_row(record: dict[str, Any]) -> dict[str, Any]:
    """A WACZ page entry (url, ts, title, text) followed by the rest of the page record."""
    row = {"url": record.get("url"), "ts": record.get("fetched_at"), "title": record.get("title"),
           "text": record.get("text")}
    row.update((name, value) for name, value in record.items() if name not in row)
    return row


def _branches(node: dict[str, Any], defs: dict[str, Any]) -> list[dict[str, Any]]:
    """The alternatives a schema node allows, ``$ref`` and ``oneOf`` resolved."""
    if "$ref" in node:
        return _branches(defs[node["$ref"].rsplit("/", 1)[-1]], defs)
    if "oneOf" in node:
        return [branch for sub in node["oneOf"] for branch in _branches(sub, defs)]
    return [node]


def _kind(node: dict[str, Any], defs: dict[str, Any]) -> ColumnKind | dict[str, Any]:
    """A leaf's column kind, or an object's properties."""
    for branch in _branches(node, defs):
        kind = branch.get("type")
        if kind == "null":
            continue
        if kind == "object":
            return dict(branch["properties"])
        if kind == "array":
            return "list"
        if kind in ("integer", "number", "boolean"):
            return "integer" if kind == "integer" else "number" if kind == "number" else "boolean"
        if isinstance(branch.get("const"), bool):
            return "boolean"
        if isinstance(branch.get("const"), int):
            return "integer"
        return "string"
    return "string"


@functools.cache
def columns() -> tuple[Column, ...]:
    """The flat columns of CSV and Parquet, from the page-record schema: url, ts, title, text first."""
    schema = page_record_schema()
    defs = schema.get("$defs", {})
    found: list[Column] = [Column("ts", ("ts",), "string")]
    for name, node in schema["properties"].items():
        kind = _kind(node, defs)
        if isinstance(kind, dict):
            for sub, subnode in kind.items():
                sub_kind = _kind(subnode, defs)
                found.append(Column(f"{name}.{sub}", (name, sub), sub_kind if isinstance(sub_kind, str) else "string"))
        else:
            found.append(Column(name, (name,), kind))
    first = [next(c for c in found if c.name == name) for name in WACZ_FIELDS]
    return tuple(first + [c for c in found if c.name not in WACZ_FIELDS])


def flat_row(row: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for column in columns():
        value: Any = row
        for key in column.path:
            value = value.get(key) if isinstance(value, dict) else None
        out[column.name] = value
    return out


def csv_cell(kind: ColumnKind, value: Any) -> str:
    """A CSV cell.  CSV is read on terminals too (``export -f csv | less``): control characters other
    than a line break or a tab (which CSV quotes) are written as escapes, never raw."""
    if value is None:
        return ""
    if kind == "list":
        return dumps_json(list(value))
    if kind == "boolean":
        return "true" if value else "false"
    return escape_controls(str(value), keep_lines=True)


def csv_cells(row: dict[str, Any]) -> list[str]:
    flat = flat_row(row)
    return [csv_cell(c.kind, flat[c.name]) for c in columns()]


# -- writers ------------------------------------------------------------------------------------------
class Sink(Protocol):
    def write(self, row: dict[str, Any]) -> None: ...

    def write_encoded(self, item: Any) -> None:
        """A row :func:`encode_row` made (in a worker of ``export --jobs``)."""


    def close(self) -> None: ...


class JsonlSink:
    def __init__(self, stream: IO[str]) -> None:
        self.stream = stream

    def write(self, row: dict[str, Any]) -> None:
        self.stream.write(dumps_line(row))

    def write_encoded(self, item: Any) -> None:
        self.stream.write(item)

    def close(self) -> None:
        self.stream.flush()


class CsvSink:
    """RFC 4180 CSV with a header row; the stream must be opened with ``newline=""``."""

    def __init__(self, stream: IO[str]) -> None:
        self.stream = stream
        self.writer = csv.writer(stream)
        self.writer.writerow([c.name for c in columns()])

    def write(self, row: dict[str, Any]) -> None:
        self.writer.writerow(csv_cells(row))

    def write_encoded(self, item: Any) -> None:
        self.stream.write(item)

    def close(self) -> None:
        self.stream.flush()


def arrow_schema() -> Any:
    import pyarrow as pa

    types = {"string": pa.string(), "integer": pa.int64(), "number": pa.float64(), "boolean": pa.bool_(),
             "list": pa.list_(pa.string())}
    schema = pa.schema([pa.field(c.name, types[c.kind]) for c in columns()])
    return schema.with_metadata({"page_record_schema": str(page_record_schema().get("$id", ""))})


class ParquetSink:
    """Parquet through pyarrow's ParquetWriter, one row group per batch of rows."""

    def __init__(self, target: str | Path | IO[bytes], batch_rows: int = PARQUET_BATCH_ROWS) -> None:
        import pyarrow.parquet as pq

        self.schema = arrow_schema()
        self.writer = pq.ParquetWriter(target, self.schema)
        self.batch_rows = batch_rows
        self.rows: list[dict[str, Any]] = []

    def write(self, row: dict[str, Any]) -> None:
        self.write_encoded(flat_row(row))

    def write_encoded(self, item: Any) -> None:
        self.rows.append(item)
        if len(self.rows) >= self.batch_rows:  # the same row groups whoever flattened the rows
            self._flush()

    def _flush(self) -> None:
        import pyarrow as pa

        if self.rows:
            self.writer.write_table(pa.Table.from_pylist(self.rows, schema=self.schema))
            self.rows = []

    def close(self) -> None:
        self._flush()
        self.writer.close()


def open_sink(fmt: str, stream: IO[Any]) -> Sink:
    """A writer of ``fmt`` rows into ``stream`` (text for jsonl and csv, binary for parquet)."""
    if fmt == "jsonl":
        return JsonlSink(stream)
    if fmt == "csv":
        return CsvSink(stream)
    if fmt == "parquet":
        return ParquetSink(stream)
    raise ValueError(f"unknown format {fmt!r} (one of {', '.join(FORMATS)})")


def write_rows(records: Iterator[dict[str, Any]], sink: Sink) -> int:
    count = 0
    for record in records:
        sink.write(export_row(record))
        count += 1
    sink.close()
    return count


def write_encoded(items: Iterator[Any], sink: Sink) -> int:
    """:func:`write_rows` for rows already encoded (:func:`encoded_records`)."""
    count = 0
    for item in items:
        sink.write_encoded(item)
        count += 1
    sink.close()
    return count


# -- several processes (export --jobs) -----------------------------------------------------------------------
# What a task holds: lines of about this many bytes.  Workers get raw bytes (pickled for nothing) and give back
# encoded text, so the parent neither decodes nor encodes a record; a few tasks per worker are in flight ahead
# of the one being written, so memory is bounded by that window whatever the archive's size.
CHUNK_BYTES = 512 * 1024
AHEAD_PER_JOB = 4
# The fields Selection.wants and --latest read: all the parent needs of a record besides its encoded row.
_SELECTION_FIELDS = ("fetched_at", "page_type", "record_kind", "status", "url", "normalized_url")

Line = tuple[Path, int, int, bytes]  # file, line number (1-based), byte offset, the whole line


def encode_row(fmt: str, row: dict[str, Any], buffer: io.StringIO | None = None) -> Any:
    """The row as its sink writes it: a JSON line, a CSV line (``\r\n``, as csv.writer ends it) or the flat
    dict a Parquet batch is made of."""
    if fmt == "jsonl":
        return dumps_line(row)
    if fmt == "csv":
        buffer = buffer or io.StringIO()
        buffer.seek(0)
        buffer.truncate()
        csv.writer(buffer).writerow(csv_cells(row))
        return buffer.getvalue()
    return flat_row(row)


def _ids_of(lines: list[bytes]) -> list[tuple[bool, str | None]]:
    """In a worker: each line's (True, record id or None), or (False, why it is damaged)."""
    out: list[tuple[bool, str | None]] = []
    for raw in lines:
        found = parse_line(raw)
        out.append((False, found) if isinstance(found, str) else (True, _record_id(found)))
    return out


def _encode_lines(lines: list[bytes], fmt: str, encode: bool) -> list[tuple[dict[str, Any], Any] | str]:
    """In a worker: each line's (fields for Selection, its encoded row or None), or why it is damaged."""
    out: list[tuple[dict[str, Any], Any] | str] = []
    buffer = io.StringIO()
    for raw in lines:
        found = parse_line(raw)
        if isinstance(found, str):
            out.append(found)
            continue
        # only the fields present: Selection tells an absent record_kind from a null one
        fields = {name: found[name] for name in _SELECTION_FIELDS if name in found}
        out.append((fields, encode_row(fmt, export_row(found), buffer) if encode else None))
    return out


def _chunked(lines: Iterable[Line]) -> Iterator[list[Line]]:
    chunk: list[Line] = []
    size = 0
    for line in lines:
        chunk.append(line)
        size += len(line[3])
        if size >= CHUNK_BYTES:
            yield chunk
            chunk, size = [], 0
    if chunk:
        yield chunk


def _whole_lines(path: Path) -> Iterator[Line]:
    """The lines scan_jsonl would decode: not blank, and not a torn last line (skipped without a word)."""
    with open(path, "rb") as fh:
        offset = 0
        for number, raw in enumerate(fh, start=1):
            if raw.endswith(b"\n") and raw.strip():
                yield path, number, offset, raw
            offset += len(raw)


def _in_order(pool: Executor, work: Callable[..., list[Any]], chunks: Iterable[list[Line]], window: int,
              *args: Any) -> Iterator[tuple[list[Line], list[Any]]]:
    """Each chunk with ``work``'s results for its lines, in the chunks' order, ``window`` chunks in flight."""
    pending: deque[tuple[list[Line], Future[list[Any]]]] = deque()
    try:
        for chunk in chunks:
            pending.append((chunk, pool.submit(work, [line[3] for line in chunk], *args)))
            if len(pending) >= window:
                done, future = pending.popleft()
                yield done, future.result()
        while pending:
            done, future = pending.popleft()
            yield done, future.result()
    finally:
        for _chunk, future in pending:  # an error or an interrupt: nothing more is wanted
            future.cancel()


def _damaged(line: Line, reason: str) -> DamagedLine:
    path, number, offset, raw = line
    return DamagedLine(path, number, offset, reason, raw)


def _crawl_encoded(pool: Executor, window: int, crawl: CrawlLayout, fmt: str, as_crawled: bool,
                   on_damage: OnDamage, encode: bool) -> Iterator[tuple[dict[str, Any], Any]]:
    """:func:`crawl_records`, decoded and encoded by the pool: (fields, encoded row) in the same order, the
    same damaged lines given to ``on_damage`` in the same order."""
    index: dict[str, tuple[Path, int]] = {}  # as _index_reextractions: record id -> where its newest is
    if not as_crawled:
        for path in reextract_files(crawl.directory):
            for chunk, ids in _in_order(pool, _ids_of, _chunked(_whole_lines(path)), window):
                for line, (good, value) in zip(chunk, ids, strict=True):
                    if not good:
                        on_damage(_damaged(line, str(value)))
                    elif value:
                        index[value] = (line[0], line[2])  # a later file overrides an earlier one
    handles: dict[Path, IO[bytes]] = {}

    def line_at(where: tuple[Path, int]) -> Line:
        path, offset = where
        if path not in handles:
            handles[path] = open(path, "rb")  # noqa: SIM115 - closed below, one per file
        handles[path].seek(offset)
        return path, 0, offset, handles[path].readline()

    def substituted() -> Iterator[list[Line]]:
        """The page files' lines, each replaced by its newest re-extraction's; the damaged ones said and left out.
        Finding the record ids takes a decoding of its own (in the pool), only when there are re-extractions."""
        pages = (line for path in crawl.page_files() for line in _whole_lines(path))
        if not index:
            yield from _chunked(pages)  # damaged lines are found where they are encoded
            return
        for chunk, ids in _in_order(pool, _ids_of, _chunked(pages), window):
            lines: list[Line] = []
            for line, (good, value) in zip(chunk, ids, strict=True):
                if not good:
                    on_damage(_damaged(line, str(value)))
                    continue
                where = index.pop(value or "", None)
                lines.append(line if where is None else line_at(where))
            yield lines

    def leftovers() -> Iterator[list[Line]]:
        # Records found only in re-extractions: taken from the index once the page files have used theirs.
        yield from _chunked(line_at(where) for where in index.values())

    try:
        for chunk, results in _in_order(pool, _encode_lines, itertools.chain(substituted(), leftovers()), window,
                                        fmt, encode):
            for line, result in zip(chunk, results, strict=True):
                if isinstance(result, str):
                    on_damage(_damaged(line, result))
                else:
                    yield result
    finally:
        for handle in handles.values():
            handle.close()


def encoded_records(crawls: Sequence[CrawlLayout], selection: Selection, fmt: str, pool: Executor, jobs: int,
                    on_damage: OnDamage = warn_damaged, advance: Callable[[], None] = lambda: None) -> Iterator[Any]:
    """:func:`selected_records`' rows, encoded (:func:`encode_row`) by the pool's ``jobs`` workers."""
    window = jobs * AHEAD_PER_JOB

    def passes(damage: OnDamage, encode: bool) -> Iterator[tuple[tuple[int, int], dict[str, Any], Any]]:
        for number, crawl in enumerate(crawls):
            if selection.since is not None and finished_before(crawl, selection.since):
                continue
            found = _crawl_encoded(pool, window, crawl, fmt, selection.as_crawled, damage, encode)
            for position, (fields, item) in enumerate(found):
                advance()
                if selection.wants(fields):
                    yield (number, position), fields, item

    return _pick(passes, selection, on_damage)


def _ignore_interrupts() -> None:
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle (exit 130): no worker tracebacks


def export_pool(jobs: int) -> Executor:
    """``jobs`` worker processes, started from a forkserver that imported this module once; OSError if they
    cannot start."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["scraper.export"])
    pool = ProcessPoolExecutor(max_workers=jobs, mp_context=context, initializer=_ignore_interrupts)
    try:
        # Started now, not at the first chunk: a pool that cannot start (the forkserver's socket under a $TMPDIR
        # too long for AF_UNIX, no processes left) is an OSError here, before a byte is written.
        pool.submit(int).result()
    except OSError:
        pool.shutdown(cancel_futures=True)
        raise
    return pool
