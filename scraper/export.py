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
import json
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO, Any, Literal, Protocol
from urllib.parse import urlsplit

from scraper.dates import parse_date_or_time, utc_moment
from scraper.interchange import UnknownCrawl, find_crawls
from scraper.schema import page_record_schema
from scraper.storage.jsonl import (
    OnDamage,
    dumps_line,
    ignore_damaged,
    iter_jsonl_at,
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
    if not selection.latest:
        for _place, record in _selected(crawls, selection, on_damage, advance):
            yield record
        return
    newest: dict[str, tuple[str, int, int]] = {}
    for (number, position), record in _selected(crawls, selection, on_damage, advance):
        key = str(record.get("normalized_url") or record.get("url"))
        mark = (str(record.get("fetched_at") or ""), number, position)  # a tie goes to the later record
        if key not in newest or mark > newest[key]:
            newest[key] = mark
    chosen = {(number, position) for _fetched, number, position in newest.values()}
    for place, record in _selected(crawls, selection, ignore_damaged, advance):  # said in the first pass
        if place in chosen:
            yield record


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


# -- writers ------------------------------------------------------------------------------------------
class Sink(Protocol):
    def write(self, row: dict[str, Any]) -> None: ...

    def close(self) -> None: ...


class JsonlSink:
    def __init__(self, stream: IO[str]) -> None:
        self.stream = stream

    def write(self, row: dict[str, Any]) -> None:
        self.stream.write(dumps_line(row))

    def close(self) -> None:
        self.stream.flush()


class CsvSink:
    """RFC 4180 CSV with a header row; the stream must be opened with ``newline=""``."""

    def __init__(self, stream: IO[str]) -> None:
        self.stream = stream
        self.writer = csv.writer(stream)
        self.writer.writerow([c.name for c in columns()])

    def write(self, row: dict[str, Any]) -> None:
        flat = flat_row(row)
        self.writer.writerow([csv_cell(c.kind, flat[c.name]) for c in columns()])

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
        self.rows.append(flat_row(row))
        if len(self.rows) >= self.batch_rows:
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
