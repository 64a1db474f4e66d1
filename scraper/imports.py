"""``scraper import``: WARC files that other tools wrote, brought into the archive root as a crawl of their own.

Pure: no Scrapy.  WARC files are read only through :mod:`scraper.storage.warc`, payloads are
decoded and extracted by the functions ``scraper reextract`` uses (:mod:`scraper.reextract`),
and page records are built by :func:`scraper.records.record_for_capture`, as the crawl builds them.

What an import does, in order:

1. **Plan** (:func:`plan_import`): every PATH is a WARC file (``.warc``, ``.warc.gz``, or any
   file given by name), a WACZ (its ``archive/*.warc[.gz]`` members), or a folder searched for
   both.  Each WARC gets a name in the new crawl folder: its own, made unique and ending in
   ``.warc``/``.warc.gz``.  The plan is saved as the crawl's ``crawl.json`` before anything is
   copied, so ``--resume`` does the same import again.
2. **Bring in** each file: copied (through a hidden temporary name, then renamed), or hard-linked
   with ``link``; a link across file systems falls back to a copy, and says so.  A WACZ's WARCs
   are copied out of the zip; the WACZ itself is not kept (``scraper wacz`` packages the crawl
   again).  Sources are only ever read.
3. **Read** each file once, streamed (:func:`~scraper.storage.warc.scan_records`): warcinfo
   (the writing tool's ``software``), responses and revisits (their headers and first bytes, to
   tell HTML pages as the crawl does), and the page records our own crawler wrote beside its
   responses.  A file that cannot be read to its end (not a WARC, a damaged or cut gzip member,
   a record not framed by its Content-Length) is not imported at all: one line says why, its copy
   is removed, and the other files are imported.  Importing the records before the damage would
   make a crawl that ``scraper verify`` calls damaged, while the source stays as it was.
4. **Pages.**  A response our crawler described with a page record keeps what that record says
   (requested URL, redirects, depth, referrer); the others of scraper's own files are not pages
   (robots.txt, redirect hops, requisites), as for ``scraper reextract``.  In other tools' files,
   every response with status 2xx, 4xx or 5xx whose body is HTML (Scrapy's rule, as the crawl
   decides it) is a page, with ``requested_url = url =`` its WARC-Target-URI and no ``redirects``:
   a WARC does not say which request a response answered after a redirect, and guessing from
   ``Location`` headers would tie unrelated captures together.  3xx responses stay in the WARC
   for replay.
5. **Revisits** are resolved to their original response: by WARC-Refers-To, then
   WARC-Refers-To-Target-URI + WARC-Refers-To-Date, then (identical-payload-digest) the target
   URI's latest earlier response with the same payload digest; first among the imported records,
   then in the catalog.  The page record takes the original's content, and after a 304
   (server-not-modified) its status and media type too, as the crawl's revisits do.  A revisit is
   a page when its original is; one whose original is nowhere is recorded without content when
   its own headers say HTML (``refers_to: null``), and counted.
6. **Extract and record**, in capture-time order: each page's payload (at most
   ARCHIVE_MAX_BODY_BYTES; a longer one is read that far and recorded ``truncated``) is extracted
   in a pool of worker processes; records are written to ``pages.jsonl`` as they come, then to
   the catalog in batches.  Versions follow the same rule as the crawl's, against the URL's
   capture before this one (in this import, else in the catalog).
7. **Commit**: the catalog marks the import's captures readable and ``manifest.json`` says what
   was imported, from where, by which tool, and the counts.

A killed import is resumed with ``scraper import --resume CRAWL_ID``: the plan is read back,
files brought in completely are kept (a half copy has its hidden name and is made again), a torn
last line of ``pages.jsonl`` is cut, the records written are kept and added to the catalog if they
are missing there, and the pages without a record are done.  So every page ends with exactly one
record.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import errno
import io
import json
import os
import shutil
import threading
import time
import zipfile
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlsplit

from scraper import __version__
from scraper.access import SNIFF_BYTES as ACCESS_SNIFF_BYTES
from scraper.access import read_access_signals
from scraper.article import ExtractionOptions
from scraper.extract.worker import ExtractedPage, extract_for_record, init_worker
from scraper.records import (
    NOT_MODIFIED,
    PAGE_RECORD_CONTENT_TYPE,
    Capture,
    WarcPointer,
    capture_from_record,
    current_extractor,
    page_record_from_json,
    record_for_capture,
    utc_timestamp,
)
from scraper.reextract import (
    MAX_BODY_BYTES,
    Tally,
    catalog_captures,
    decode_content,
    default_options,
    header,
    header_values,
    is_html_response,
    page_html,
    payload_codings,
    read_response,
    record_place,
)
from scraper.resume import JOB_FILE
from scraper.scope import url_key
from scraper.storage.backends import CatalogBackend, RevisitLookup
from scraper.storage.catalog import Catalog, NewCapture
from scraper.storage.codings import BodyTooLarge, decoded_start, header_codings
from scraper.storage.durable import replace_durably, write_json_atomically
from scraper.storage.jsonl import JsonlWriter, dumps_line, iter_jsonl
from scraper.storage.layout import (
    CRAWLS_DIR,
    GZIPPED_WARC_SUFFIX,
    PLAIN_WARC_SUFFIX,
    WARC_SUFFIXES,
    CrawlLayout,
    lock_crawl,
)
from scraper.storage.lookup import CatalogRevisits
from scraper.storage.repair import repair_jsonl
from scraper.storage.warc import DamagedWarc, PayloadRecord, StoredRecord, scan_records

IMPORT_COMMAND = "import"  # crawl.json's "command" for an import (a crawl's has none)
WACZ_SUFFIX = ".wacz"
# How much of a response's payload the read pass looks at to tell HTML (Scrapy sniffs 5,000 decoded bytes).
SNIFF_BYTES = 64 * 1024
INFO_BYTES = 64 * 1024  # of a warcinfo record: its fields
CATALOG_BATCH = 200  # catalog rows written per transaction, as the crawl does
# The extraction pool costs a second or two to start (its forkserver loads and warms extraction):
# started at once for this much WARC data, so that it warms up while the files are copied and read;
# for less, only when the files hold this many pages; else pages are extracted in this process.
POOL_EARLY_BYTES = 1024 * 1024
POOL_MIN_PAGES = 100
_COPY_CHUNK = 1 << 20


class ImportFailed(Exception):
    """A user error about the import as a whole (no such crawl, a finished import): one line."""


@dataclass(frozen=True)
class SourceFile:
    """One WARC file to import: where it comes from and the name it gets in the crawl folder."""

    source: str  # absolute path of the file given, or of the WACZ holding it
    member: str | None  # its name inside the WACZ
    name: str  # its file name in the crawl folder


@dataclass(frozen=True)
class FileError:
    """A file that could not be imported, and why (one line)."""

    source: str
    message: str

    def describe(self) -> str:
        return f"{self.source}: {self.message}"


@dataclass(frozen=True)
class ImportPlan:
    sources: list[str]  # the paths given, absolute
    files: list[SourceFile]
    errors: list[FileError]  # found out while planning (an unreadable WACZ, a folder without WARCs)
    link: bool

    def job(self, crawl_id: str) -> dict[str, Any]:
        """What ``crawl.json`` keeps of it, for ``--resume``."""
        return {"crawl_id": crawl_id, "command": IMPORT_COMMAND, "sources": self.sources, "link": self.link,
                "files": [asdict(f) for f in self.files], "errors": [asdict(e) for e in self.errors]}

    @classmethod
    def from_job(cls, job: dict[str, Any]) -> ImportPlan:
        return cls(sources=[str(s) for s in job["sources"]], files=[SourceFile(**f) for f in job["files"]],
                   errors=[FileError(**e) for e in job.get("errors", [])], link=bool(job.get("link")))


# -- planning ------------------------------------------------------------------------------------------------
def _is_wacz(path: Path) -> bool:
    if path.name.lower().endswith(WACZ_SUFFIX):
        return True
    try:
        with open(path, "rb") as fh:
            return fh.read(4) == b"PK\x03\x04"
    except OSError:
        return False


def _importable_name(name: str) -> bool:
    return name.lower().endswith((*WARC_SUFFIXES, WACZ_SUFFIX)) and not name.startswith(".")


def _folder_files(folder: Path) -> list[Path]:
    found: list[Path] = []
    for parent, dirs, names in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        found += [Path(parent) / n for n in sorted(names) if _importable_name(n)]
    return found


def _gzipped(path: Path) -> bool:
    try:
        with open(path, "rb") as fh:
            return fh.read(2) == b"\x1f\x8b"
    except OSError:
        return False


def _target_name(name: str, gzipped: bool, taken: set[str]) -> str:
    """The file's own name, ending in ``.warc``/``.warc.gz`` (what the archive's readers look for), made unique."""
    if not name.lower().endswith(WARC_SUFFIXES):
        name += GZIPPED_WARC_SUFFIX if gzipped else PLAIN_WARC_SUFFIX
    suffix = GZIPPED_WARC_SUFFIX if name.lower().endswith(GZIPPED_WARC_SUFFIX) else PLAIN_WARC_SUFFIX
    stem, candidate, serial = name[: -len(suffix)], name, 1
    while candidate.lower() in taken:
        serial += 1
        candidate = f"{stem}-{serial}{suffix}"
    taken.add(candidate.lower())
    return candidate


def plan_import(paths: Sequence[Path], link: bool) -> ImportPlan:
    """The WARC files to import from PATHs, with their names in the crawl folder.

    Raises FileNotFoundError for a path that does not exist (a usage error).
    """
    for path in paths:
        if not path.exists():
            raise FileNotFoundError(errno.ENOENT, "no such file or folder", str(path))
    files: list[SourceFile] = []
    errors: list[FileError] = []
    taken: set[str] = set()
    seen: set[str] = set()
    for given in paths:
        path = given.resolve()
        candidates = _folder_files(path) if path.is_dir() else [path]
        if path.is_dir() and not candidates:
            errors.append(FileError(str(path), "no WARC or WACZ files in this folder"))
        for candidate in candidates:
            if str(candidate) in seen:  # named twice (itself and through its folder): imported once
                continue
            seen.add(str(candidate))
            if _is_wacz(candidate):
                members, error = _wacz_members(candidate)
                if error is not None:
                    errors.append(FileError(str(candidate), error))
                for member in members:
                    files.append(SourceFile(str(candidate), member,
                                            _target_name(member.rsplit("/", 1)[-1], member.lower().endswith(".gz"),
                                                         taken)))
            else:
                files.append(SourceFile(str(candidate), None, _target_name(candidate.name, _gzipped(candidate), taken)))
    return ImportPlan([str(p.resolve()) for p in paths], files, errors, link)


def _wacz_members(path: Path) -> tuple[list[str], str | None]:
    """The WARC files of a WACZ (``archive/*.warc[.gz]``), or why there are none."""
    try:
        with zipfile.ZipFile(path) as wacz:
            names = [info.filename for info in wacz.infolist() if not info.is_dir()]
    except (OSError, zipfile.BadZipFile) as exc:
        return [], f"not a WACZ or WARC file ({one_line(exc)})"
    members = sorted(n for n in names if n.startswith("archive/") and n.lower().endswith(WARC_SUFFIXES))
    if not members:
        return [], "a WACZ without WARC files (nothing under archive/)"
    return members, None


def one_line(exc: BaseException | str) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= 200 else text[:197] + "..."


# -- bringing files in -----------------------------------------------------------------------------------------
def _temporary(directory: Path, name: str) -> Path:
    # Hidden and without a WARC suffix: no reader of the crawl folder takes a half copy for a WARC.
    return directory / f".{name}.importing"


def _copy_stream(source: io.BufferedIOBase | Any, target: Path) -> None:
    tmp = _temporary(target.parent, target.name)
    with open(tmp, "wb") as out:
        shutil.copyfileobj(source, out, _COPY_CHUNK)
        out.flush()
        os.fsync(out.fileno())
    replace_durably(tmp, target)


def bring_in(item: SourceFile, directory: Path, link: bool) -> bool:
    """Put the file into the crawl folder under its name; returns whether it was hard-linked.

    A file with its final name is complete (it is renamed or linked into place whole).
    Raises OSError when the source cannot be read or the copy written.
    """
    target = directory / item.name
    if item.member is not None:
        with zipfile.ZipFile(item.source) as wacz, wacz.open(item.member) as member:
            _copy_stream(member, target)
        return False
    if link:
        try:
            os.link(item.source, target)
            return True
        except OSError as exc:
            if exc.errno not in (errno.EXDEV, errno.EPERM, errno.EMLINK, errno.ENOTSUP, errno.EACCES):
                raise
    with open(item.source, "rb") as source:
        _copy_stream(source, target)
    return False


# -- reading the files -----------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Captured:
    """A response or revisit record of the import: what deciding pages and resolving revisits needs."""

    file: str  # its name in the crawl folder
    offset: int
    length: int
    record_id: str
    target_uri: str
    warc_date: str
    fetched_at: datetime
    kind: str  # response | revisit
    status: int
    content_type: str | None
    payload_digest: str | None
    html: bool  # the crawl would read it as an HTML page (by its headers and first bytes)
    truncated: bool  # WARC-Truncated
    etag: str | None
    last_modified: str | None
    profile: str | None = None  # a revisit's: identical-payload-digest | server-not-modified
    refers_to: str | None = None  # WARC-Refers-To
    refers_to_uri: str | None = None
    refers_to_date: str | None = None
    described: dict[str, Any] | None = None  # the page record our crawler wrote about it

    @property
    def page_key(self) -> tuple[str, int]:
        return (self.file, self.offset)

    def pointer(self) -> WarcPointer:
        return WarcPointer(file=self.file, offset=self.offset, length=self.length, record_id=self.record_id)


@dataclass
class FileScan:
    """What the read pass found in one file."""

    name: str
    records: int = 0
    first_record_id: str | None = None  # with the size, tells the same file given twice
    software: str | None = None
    scraper_written: bool = False  # our crawler's file: only responses it described are pages
    captured: list[Captured] = field(default_factory=list)
    described: dict[str, dict[str, Any]] = field(default_factory=dict)  # response record id -> page record


def _uri(value: str | None) -> str | None:
    if not value:
        return None
    value = value.strip().removeprefix("<").removesuffix(">")  # WARC/1.0 examples wrap URIs in <>
    parts = urlsplit(value)
    return value if parts.scheme in ("http", "https") and parts.netloc and not any(c.isspace() for c in value) else None


def parse_warc_date(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def normalize_digest(value: str | None) -> str | None:
    """``sha1:`` + base32, as page records carry it; a hex sha1 (some tools write one) is converted."""
    if not value or ":" not in value:
        return None
    algorithm, _, digest = value.strip().partition(":")
    if algorithm.lower() != "sha1":
        return None
    digest = digest.strip()
    if len(digest) == 40:
        try:
            return "sha1:" + base64.b32encode(binascii.unhexlify(digest)).decode("ascii")
        except (binascii.Error, ValueError):
            return None
    digest = digest.upper()
    return "sha1:" + digest if len(digest) == 32 and all(c in "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567" for c in digest) \
        else None


def _page_status(captured: Captured) -> bool:
    """2xx, 4xx, 5xx: 1xx and 3xx (redirects, 304 without a revisit) have no page of their own.
    A revisit's status may be its 304: whether it is a page is its original's to say.  robots.txt
    is no page, whatever a server answers for it (wget records an HTML 404 for it)."""
    if urlsplit(captured.target_uri).path == "/robots.txt":
        return False
    return captured.kind == "revisit" or 200 <= captured.status < 300 or 400 <= captured.status < 600


def _profile(value: str | None) -> str | None:
    value = (value or "").strip().lower()
    if value.endswith("server-not-modified"):
        return NOT_MODIFIED
    if value.endswith("identical-payload-digest"):  # uri-agnostic-identical-payload-digest too
        return "identical-payload-digest"
    return None


def _status(stored: StoredRecord) -> int | None:
    parts = (stored.http_status_line or "").split()
    try:
        return int(parts[1]) if len(parts) > 1 and parts[0].upper().startswith("HTTP/") else None
    except ValueError:
        return None


def looks_html(stored: StoredRecord, url: str, prefix: bytes) -> bool:
    """Whether the crawl would read this response as an HTML page, judged from its headers and first bytes."""
    headers = stored.http_headers
    try:
        body, left = decode_content(prefix, payload_codings(headers), SNIFF_BYTES * 64)
    except Exception:  # a cut prefix that a decoder refuses: let the full read decide
        return True
    return is_html_response(headers, url, body[:5000], left)


def _warcinfo_software(content: bytes) -> str | None:
    for line in content.decode("utf-8", "replace").splitlines():
        name, sep, value = line.partition(":")
        if sep and name.strip().lower() == "software" and value.strip():
            return value.strip()
    return None


def _content_bytes(max_body: int) -> Callable[[StoredRecord], int]:
    def wanted(head: StoredRecord) -> int:
        if head.rec_type == "warcinfo":
            return INFO_BYTES
        if head.rec_type == "metadata" and header(head.warc_headers, "Content-Type") == PAGE_RECORD_CONTENT_TYPE:
            return max_body
        if head.rec_type in ("response", "revisit") and head.http_status_line is not None:
            return SNIFF_BYTES
        return 0
    return wanted


def scan_file(path: Path, max_body: int = MAX_BODY_BYTES) -> FileScan:
    """Read one WARC file through.  Raises on damage (see :func:`~scraper.storage.warc.scan_records`)."""
    scan = FileScan(path.name)
    for read in scan_records(path, _content_bytes(max_body)):
        scan.records += 1
        stored = read.stored
        scan.first_record_id = scan.first_record_id or stored.record_id
        if stored.rec_type == "warcinfo":
            software = _warcinfo_software(stored.content)
            if scan.software is None and software:
                scan.software = software
                scan.scraper_written = software.lower().startswith("scraper/")
        elif stored.rec_type == "metadata" and stored.content:
            record = page_record_from_json(stored.content)
            if record is not None:
                scan.described.setdefault(str(record["warc"].get("record_id")), record)
        elif stored.rec_type in ("response", "revisit"):
            captured = _captured(path.name, read)
            if captured is not None:
                scan.captured.append(captured)
    if scan.records == 0:
        raise DamagedWarc("not a WARC file (no records)")
    return scan


def _captured(name: str, read: PayloadRecord) -> Captured | None:
    stored = read.stored
    uri = _uri(stored.target_uri)
    status = _status(stored)
    fetched_at = parse_warc_date(stored.date)
    if uri is None or status is None or fetched_at is None or not stored.record_id:
        return None  # dns:, a record without an HTTP message or a date: nothing a page record can describe
    headers, warc = stored.http_headers, stored.warc_headers
    kind = stored.rec_type
    return Captured(
        file=name, offset=stored.offset, length=stored.length, record_id=stored.record_id, target_uri=uri,
        warc_date=str(stored.date), fetched_at=fetched_at, kind=kind, status=status,
        content_type=header(headers, "Content-Type"),
        payload_digest=normalize_digest(header(warc, "WARC-Payload-Digest")),
        html=looks_html(stored, uri, stored.content), truncated=header(warc, "WARC-Truncated") is not None,
        etag=header(headers, "ETag"), last_modified=header(headers, "Last-Modified"),
        profile=_profile(header(warc, "WARC-Profile")) if kind == "revisit" else None,
        refers_to=header(warc, "WARC-Refers-To"), refers_to_uri=_uri(header(warc, "WARC-Refers-To-Target-URI")),
        refers_to_date=header(warc, "WARC-Refers-To-Date"))


# -- revisits ------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Original:
    """The response a revisit refers to, where it is in the archive."""

    crawl_id: str
    file: str
    offset: int
    length: int
    record_id: str
    warc_date: str
    target_uri: str
    status: int
    content_type: str | None
    is_page: bool
    truncated: bool

    def refers_to(self) -> dict[str, Any]:
        return {"record_id": self.record_id, "warc_date": self.warc_date, "target_uri": self.target_uri,
                "crawl_id": self.crawl_id, "file": self.file, "offset": self.offset, "length": self.length}


def _second(date: str | None) -> str:
    return (date or "")[:19]  # YYYY-MM-DDTHH:MM:SS: one tool writes microseconds, another none


class OriginalIndex:
    """The imported responses by record id, by URL and date, and by URL and payload digest."""

    def __init__(self, crawl_id: str, responses: Iterable[Captured], pages: set[tuple[str, int]]) -> None:
        self.crawl_id = crawl_id
        self.pages = pages
        self.by_id: dict[str, list[Captured]] = {}
        self.by_date: dict[tuple[str, str], Captured] = {}
        self.by_digest: dict[tuple[str, str], list[Captured]] = {}
        for captured in responses:
            self.by_id.setdefault(captured.record_id, []).append(captured)
            key = url_key(captured.target_uri)
            self.by_date.setdefault((key, _second(captured.warc_date)), captured)
            if captured.payload_digest:
                self.by_digest.setdefault((key, captured.payload_digest), []).append(captured)

    def _original(self, captured: Captured) -> Original:
        return Original(self.crawl_id, captured.file, captured.offset, captured.length, captured.record_id,
                        captured.warc_date, captured.target_uri, captured.status, captured.content_type,
                        captured.page_key in self.pages, captured.truncated)

    def find(self, revisit: Captured) -> Original | None:
        # A record id is unique, but one file may be imported twice (a copy, uncompressed or not): its own wins.
        same_id = self.by_id.get(revisit.refers_to or "", [])
        found = next((c for c in same_id if c.file == revisit.file), same_id[0] if same_id else None)
        if found is None and revisit.refers_to_uri and revisit.refers_to_date:
            found = self.by_date.get((url_key(revisit.refers_to_uri), _second(revisit.refers_to_date)))
        if found is None and revisit.payload_digest:
            earlier = [c for c in self.by_digest.get((url_key(revisit.refers_to_uri or revisit.target_uri),
                                                      revisit.payload_digest), [])
                       if c.fetched_at <= revisit.fetched_at]
            found = max(earlier, key=lambda c: c.fetched_at) if earlier else None
        return self._original(found) if found is not None else None


def _catalog_original(catalog: CatalogBackend | None, revisit: Captured) -> Original | None:
    """The revisit's original among the pages already in the catalog (committed captures)."""
    if catalog is None:
        return None
    rows = catalog_captures(catalog, revisit.refers_to) if revisit.refers_to else []
    if not rows and revisit.payload_digest:
        found = catalog.original_of_payload(url_key(revisit.refers_to_uri or revisit.target_uri),
                                            revisit.payload_digest, revisit.fetched_at)
        rows = [found] if found is not None else []
    for row in rows:
        if row.record_kind != "response":
            continue
        record = json.loads(row.record_json)
        return Original(row.crawl_id, row.warc_file, int(row.warc_offset), int(row.warc_length),
                        row.warc_record_id, row.warc_date or str(record.get("fetched_at")), row.url,
                        int(row.status), record.get("content_type"), True, bool(record.get("truncated")))
    return None


# -- the run ------------------------------------------------------------------------------------------------------
@dataclass
class ImportTally(Tally):
    """What an import did, for its summary and manifest (``pages``, ``revisits``: resolved, as in reextract)."""

    files_imported: int = 0
    records: int = 0
    pages_extracted: int = 0
    pages_before: int = 0  # records kept from an interrupted run (--resume)
    revisits_unresolved: int = 0
    truncated: int = 0
    errors: list[FileError] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # e.g. a link that fell back to a copy


@dataclass
class Page:
    """A page to record: its response or revisit, and the original a revisit refers to."""

    captured: Captured
    original: Original | None = None


class Progress(Protocol):
    """What the run tells its display (the CLI's: a bar on a terminal, errors as lines)."""

    def start(self, what: str, total: int | None) -> None: ...

    def advance(self) -> None: ...

    def error(self, error: FileError) -> None: ...

    def note(self, message: str) -> None: ...

    def warning(self, message: str) -> None: ...


class QuietProgress:
    """A display that shows nothing."""

    def start(self, what: str, total: int | None) -> None:
        """A new phase: ``reading``, ``extracting``."""

    def advance(self) -> None:
        """One step of the current phase done."""

    def error(self, error: FileError) -> None:
        """A file that could not be imported."""

    def note(self, message: str) -> None:
        """Something the person should hear (a link that became a copy)."""

    def warning(self, message: str) -> None:
        """A record that was not read whole (over the body limit), named."""


@dataclass(frozen=True, kw_only=True)
class ImportOptions:
    max_body_bytes: int = MAX_BODY_BYTES
    workers: int = 0  # extraction processes; 0: in this process
    extraction: ExtractionOptions = field(default_factory=default_options)


class Importer:
    """One import into one crawl folder (new, or an interrupted one to finish)."""

    def __init__(self, layout: CrawlLayout, plan: ImportPlan, catalog: Catalog, options: ImportOptions,
                 progress: Progress | None = None) -> None:
        self.layout = layout
        self.plan = plan
        self.catalog: CatalogBackend = catalog
        # A page's capture before this one, among those the archive had: the catalog's own captures
        # (a shared dedup index, with several machines, is constructed here instead).
        self.revisits: RevisitLookup = CatalogRevisits(catalog)
        self.options = options
        self.progress: Progress = progress or QuietProgress()
        self.extractor = current_extractor()
        self.tally = ImportTally()
        self.started_at = utc_timestamp(datetime.now(UTC))
        self.scans: list[FileScan] = []
        self.linked: dict[str, bool] = {}
        self.latest: dict[str, dict[str, Any]] = {}  # url_key(url) -> latest 2xx record of this import, no texts
        self.pending: list[NewCapture] = []
        self._pool: ProcessPoolExecutor | None = None
        self._pages_to_record = 0

    # -- creating and resuming ------------------------------------------------------------------------------
    @classmethod
    def create(cls, layout: CrawlLayout, plan: ImportPlan, catalog: Catalog, options: ImportOptions,
               progress: Progress | None = None) -> tuple[Importer, Any]:
        """A new crawl folder with the plan as its crawl.json; returns the importer and the folder's lock."""
        layout.create({JOB_FILE: plan.job(layout.crawl_id)})
        return cls(layout, plan, catalog, options, progress), lock_crawl(layout.directory)

    @staticmethod
    def read_plan(layout: CrawlLayout) -> ImportPlan:
        path = layout.directory / JOB_FILE
        try:
            job = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise ImportFailed(f"cannot read {path}: {one_line(exc)}") from exc
        if not isinstance(job, dict) or job.get("command") != IMPORT_COMMAND:
            raise ImportFailed(f"crawl {layout.crawl_id} is not an import (resume it with scraper crawl --resume)")
        try:
            return ImportPlan.from_job(job)
        except (KeyError, TypeError) as exc:
            raise ImportFailed(f"cannot read {path}: {one_line(exc)}") from exc

    # -- the whole run ----------------------------------------------------------------------------------------
    def run(self) -> dict[str, Any]:
        """Import every file of the plan; returns the manifest (also written as manifest.json)."""
        directory = self.layout.directory
        for error in self.plan.errors:
            self._error(error)
        done = self._records_so_far()
        seen: dict[tuple[int, str | None], str] = {}
        if self.options.workers > 0 and self._input_bytes() >= POOL_EARLY_BYTES:
            self._executor().submit(int)  # starts the forkserver and its workers now
        self.progress.start("reading files", len(self.plan.files))
        for item in self.plan.files:
            scan = self._bring_in_and_read(item)
            if scan is not None and self._seen_before(scan, item, seen):
                scan = None
            if scan is not None:
                self.scans.append(scan)
                self.tally.files_imported += 1
                self.tally.records += scan.records
            self.progress.advance()
        pages = self._pages()
        self._complete_catalog(pages, done)
        todo = [page for page in pages if page.captured.page_key not in done]
        self.progress.start("extracting pages", len(todo))
        try:
            self._record_all(todo)
        finally:
            if self._pool is not None:
                self._pool.shutdown(wait=False, cancel_futures=True)
        self._flush_catalog()
        self.catalog.commit_crawl(self.layout.crawl_id)
        manifest = self.manifest()
        write_json_atomically(self.layout.manifest_path, manifest)
        for leftover in directory.glob(".*.importing"):
            leftover.unlink(missing_ok=True)
        return manifest

    def _input_bytes(self) -> int:
        total = 0
        for item in self.plan.files:
            with contextlib.suppress(OSError, zipfile.BadZipFile, KeyError):
                if item.member is None:
                    total += os.path.getsize(item.source)
                else:
                    with zipfile.ZipFile(item.source) as wacz:
                        total += wacz.getinfo(item.member).file_size
        return total

    def _error(self, error: FileError) -> None:
        self.tally.errors.append(error)
        self.progress.error(error)

    def _bring_in_and_read(self, item: SourceFile) -> FileScan | None:
        directory = self.layout.directory
        target = directory / item.name
        source = f"{item.source}!{item.member}" if item.member else item.source
        if not target.exists():
            _temporary(directory, item.name).unlink(missing_ok=True)  # a copy a killed run did not finish
            try:
                linked = bring_in(item, directory, self.plan.link)
            except (OSError, zipfile.BadZipFile, KeyError) as exc:
                self._error(FileError(source, f"cannot be read: {getattr(exc, 'strerror', None) or one_line(exc)}"))
                return None
            if self.plan.link and not linked:
                self._note(f"{source}: copied, not linked (another file system, or a WACZ member)")
            self.linked[item.name] = linked
        else:
            self.linked[item.name] = self.plan.link and item.member is None and _same_file(Path(item.source), target)
        try:
            return scan_file(target, self.options.max_body_bytes)
        except (DamagedWarc, OSError) as exc:
            # Not imported at all: its copy goes (a link is only a name; the source is never touched).
            target.unlink(missing_ok=True)
            self._error(FileError(source, f"not imported: {one_line(exc)}"))
            return None

    def _seen_before(self, scan: FileScan, item: SourceFile, seen: dict[tuple[int, str | None], str]) -> bool:
        """The same file given twice (in two folders, or as a copy): imported once, or its
        record ids would be in the crawl twice."""
        target = self.layout.directory / item.name
        key = (target.stat().st_size, scan.first_record_id)
        if key not in seen:
            seen[key] = item.name
            return False
        target.unlink()
        self._note(f"{item.source}: the same file as {seen[key]}, imported once")
        return True

    def _note(self, message: str) -> None:
        self.tally.notes.append(message)
        self.progress.note(message)

    # -- which records are pages ------------------------------------------------------------------------------
    def _pages(self) -> list[Page]:
        described: dict[str, dict[str, Any]] = {}
        for scan in self.scans:
            for record_id, record in scan.described.items():
                described.setdefault(record_id, record)
        candidates: list[Captured] = []
        responses: list[Captured] = []
        for scan in self.scans:
            for captured in scan.captured:
                page_record = described.get(captured.record_id)
                if page_record is not None and (page_record.get("warc") or {}).get("file") == captured.file:
                    captured = replace(captured, described=page_record)
                if captured.kind == "response":
                    responses.append(captured)
                if captured.described is not None or (not scan.scraper_written and _page_status(captured)):
                    candidates.append(captured)
        page_keys = {c.page_key for c in candidates if c.kind == "response" and (c.described is not None or c.html)}
        index = OriginalIndex(self.layout.crawl_id, responses, page_keys)
        pages: list[Page] = []
        for captured in candidates:
            if captured.kind == "response":
                if captured.page_key in page_keys:
                    pages.append(Page(captured))
                continue
            original = index.find(captured) or _catalog_original(self.catalog, captured)
            if captured.described is not None or (original.is_page if original is not None else captured.html):
                pages.append(Page(captured, original))
        pages.sort(key=lambda page: (page.captured.fetched_at, page.captured.file, page.captured.offset))
        return pages

    # -- resuming ------------------------------------------------------------------------------------------------
    def _records_so_far(self) -> dict[tuple[str, int], dict[str, Any]]:
        """The page records an interrupted run wrote (a torn last line cut first), by WARC pointer."""
        pages = self.layout.pages_path
        if not pages.exists():
            return {}
        repair = repair_jsonl(pages, check_lock=False)
        if repair.changed:
            self.tally.notes.append(repair.describe())
        done: dict[tuple[str, int], dict[str, Any]] = {}
        for record in iter_jsonl(pages):
            warc = record.get("warc") or {}
            done[(str(warc.get("file")), int(warc.get("offset", -1)))] = record
            self._remember(record)
        self.tally.pages_before = len(done)
        return done

    def _complete_catalog(self, pages: list[Page], done: dict[tuple[str, int], dict[str, Any]]) -> None:
        """Catalog rows for the records an interrupted run wrote before it could add them."""
        if not done:
            return
        have = self.catalog.crawl_record_ids(self.layout.crawl_id)
        missing = [self._catalog_entry(page, done[page.captured.page_key], None) for page in pages
                   if page.captured.page_key in done and page.captured.record_id not in have]
        if missing:
            self.catalog.add_captures(missing)
            self.tally.notes.append(f"catalog: added {len(missing)} capture(s) that the interrupted run had "
                                    f"not written yet")

    # -- recording ---------------------------------------------------------------------------------------------
    def _record_all(self, pages: list[Page]) -> None:
        """Extract the pages (in the pool, a few ahead) and record them in order."""
        self._pages_to_record = len(pages)
        window: deque[tuple[Page, Capture, Future[ExtractedPage] | ExtractedPage | None]] = deque()
        ahead = max(4, 4 * self.options.workers)
        writer = JsonlWriter.open(self.layout.pages_path)
        try:
            for page in pages:
                capture, html = self._prepare(page)
                window.append((page, capture, self._submit(html, capture)))
                if len(window) >= ahead:
                    self._record(*window.popleft(), writer)
            while window:
                self._record(*window.popleft(), writer)
        finally:
            writer.close()

    def _prepare(self, page: Page) -> tuple[Capture, tuple[str, str | None] | None]:
        """The page's capture and, for a 2xx page, the HTML to extract and its Content-Language."""
        captured, original = page.captured, page.original
        source = captured if captured.kind == "response" else original
        read: PayloadRecord | None = None
        place = ""
        limit = self.options.max_body_bytes
        if source is not None and source.status in range(200, 300):
            crawl_id = original.crawl_id if original is not None and source is original else self.layout.crawl_id
            path = self.layout.root / CRAWLS_DIR / crawl_id / source.file
            read = read_response(path, source.offset, limit)
            if read is not None and read.stored.record_id != source.record_id:
                read = None
            if read is not None:
                place = record_place(path, read.stored)
                if read.cut:
                    self.progress.warning(f"{place}: a payload over {limit:,} bytes; read that far, and the page "
                                          f"recorded truncated")
        capture = self._capture(page, read)
        html: tuple[str, str | None] | None = None
        if read is not None and (captured.described is None or 200 <= capture.status < 300):
            try:
                text, language = page_html(read.stored, capture.url, limit)
            except BodyTooLarge as exc:  # a decompression bomb: as the crawl, the page is not read
                self.progress.warning(f"{place}: {exc}; not extracted")
                self.tally.extraction_errors += 1
                text, language = None, None
            except Exception:  # a body that is not what its Content-Encoding says: not read
                self.tally.extraction_errors += 1
                text, language = None, None
            html = (text, language) if text is not None else None
        return capture, html

    def _capture(self, page: Page, read: PayloadRecord | None) -> Capture:
        captured, original = page.captured, page.original
        # A revisit's WARC-Truncated is about its own block (wget writes one on each revisit, whose
        # block has no body): the page's content is its original's.
        truncated = ((original.truncated if original is not None else False) if captured.kind == "revisit"
                     else captured.truncated) or (read is not None and read.cut)
        refers_to = original.refers_to() if original is not None and captured.kind == "revisit" else None
        if captured.described is not None:
            capture = capture_from_record(captured.described)
            return replace(capture, warc=captured.pointer(), refers_to=refers_to,
                           truncated=capture.truncated or truncated)
        status, content_type = captured.status, captured.content_type
        if captured.profile == NOT_MODIFIED and original is not None:
            status, content_type = original.status, original.content_type  # the page is the original
        body = read.stored.content if read is not None else b""
        headers = read.stored.http_headers if read is not None else []
        head = decoded_start(body, header_codings(headers, "content-encoding"), ACCESS_SNIFF_BYTES)
        access = read_access_signals(header_values(headers, "X-Robots-Tag"), head, True)
        return Capture(requested_url=captured.target_uri, url=captured.target_uri, status=status,
                       content_type=content_type, fetched_at=captured.fetched_at,
                       payload_digest=captured.payload_digest, warc=captured.pointer(), access=access.as_dict(),
                       truncated=truncated, record_kind=captured.kind,
                       revisit_profile=captured.profile if captured.kind == "revisit" else None,
                       refers_to=refers_to)

    def _submit(self, html: tuple[str, str | None] | None,
                capture: Capture) -> Future[ExtractedPage] | ExtractedPage | None:
        if html is None:
            return None
        if self.options.workers <= 0 or (self._pool is None and self._pages_to_record < POOL_MIN_PAGES):
            return self._extract_here(html, capture)
        try:
            return self._executor().submit(extract_for_record, html[0], capture.url, self.options.extraction, html[1])
        except BrokenProcessPool:
            self._pool = None
            return self._extract_here(html, capture)

    def _extract_here(self, html: tuple[str, str | None], capture: Capture) -> ExtractedPage | None:
        try:
            return extract_for_record(html[0], capture.url, self.options.extraction, html[1])
        except Exception:  # one bad page must not stop the import; it is recorded without an article
            self.tally.extraction_errors += 1
            return None

    def _executor(self) -> ProcessPoolExecutor:
        if self._pool is None:
            import multiprocessing

            # forkserver, as the crawl's pool: workers fork from a server that loaded extraction once.
            context = multiprocessing.get_context("forkserver")
            context.set_forkserver_preload(["scraper.extract.preload"])
            self._pool = ProcessPoolExecutor(max_workers=self.options.workers, initializer=init_import_worker,
                                             initargs=(os.getpid(),), mp_context=context)
        return self._pool

    def _result(self, pending: Future[ExtractedPage] | ExtractedPage | None) -> ExtractedPage | None:
        if not isinstance(pending, Future):
            return pending
        try:
            return pending.result()
        except Exception:  # extraction raised, or its worker died: recorded without an article
            self.tally.extraction_errors += 1
            return None

    def _record(self, page: Page, capture: Capture, pending: Future[ExtractedPage] | ExtractedPage | None,
                writer: JsonlWriter) -> None:
        extracted = self._result(pending)
        article = extracted.article if extracted is not None else None
        previous = self._previous(capture)
        record = record_for_capture(self.layout.crawl_id, capture, article, self.extractor, previous=previous,
                                    fingerprint=extracted.fingerprint if extracted is not None else None).to_dict()
        line = dumps_line(record)
        writer.write_line(line)  # the WARC is in place: the record may point into it
        self.pending.append(self._catalog_entry(page, record, line.rstrip("\n")))
        if len(self.pending) >= CATALOG_BATCH:
            self._flush_catalog()
        self._remember(record)
        self._count(page, record, extracted)
        self.progress.advance()

    def _count(self, page: Page, record: dict[str, Any], extracted: ExtractedPage | None) -> None:
        self.tally.pages += 1
        self.tally.pages_extracted += extracted is not None
        self.tally.truncated += bool(record.get("truncated"))
        if page.captured.kind == "revisit":
            if page.original is not None:
                self.tally.revisits += 1
            else:
                self.tally.revisits_unresolved += 1

    def _catalog_entry(self, page: Page, record: dict[str, Any], line: str | None) -> NewCapture:
        captured, original = page.captured, page.original
        if captured.kind == "revisit":
            where = original.refers_to() if original is not None else {}
        elif 200 <= captured.status < 300:
            where = {"record_id": captured.record_id, "warc_date": captured.warc_date,
                     "target_uri": captured.target_uri, "crawl_id": self.layout.crawl_id, "file": captured.file,
                     "offset": captured.offset, "length": captured.length}
        else:
            where = {}
        return NewCapture(url_key(record["url"]), record, etag=captured.etag, last_modified=captured.last_modified,
                          warc_date=captured.warc_date, original=where, record_json=line)

    def _flush_catalog(self) -> None:
        pending, self.pending = self.pending, []
        if pending:
            self.catalog.add_captures(pending)

    # -- versions ----------------------------------------------------------------------------------------------
    def _previous(self, capture: Capture) -> dict[str, Any] | None:
        """The page's capture before this one: in this import (taken in time order), else in the catalog."""
        key = url_key(capture.url)
        if key in self.latest:
            return self.latest[key]
        earlier = self.revisits.previous_capture(key, before=capture.fetched_at)
        return earlier.record if earlier is not None else None

    def _remember(self, record: dict[str, Any]) -> None:
        if 200 <= int(record.get("status") or 0) < 300:
            self.latest[url_key(record["url"])] = {k: v for k, v in record.items() if k not in ("text", "markdown")}

    # -- the manifest ------------------------------------------------------------------------------------------
    def manifest(self) -> dict[str, Any]:
        tally = self.tally
        files = []
        by_name = {scan.name: scan for scan in self.scans}
        for item in self.plan.files:
            scan = by_name.get(item.name)
            if scan is not None:
                files.append({"file": item.name, "source": item.source, "member": item.member,
                              "linked": self.linked.get(item.name, False), "software": scan.software,
                              "records": scan.records})
        software = sorted({scan.software for scan in self.scans if scan.software})
        names = [str(f["file"]) for f in files]
        return {
            "crawl_id": self.layout.crawl_id,
            "started_at": self.started_at,
            "finished_at": utc_timestamp(datetime.now(UTC)),
            "finish_reason": "finished",
            "seeds": [],
            "imported": {"sources": self.plan.sources, "software": software, "files": files,
                         "errors": [asdict(e) for e in tally.errors], "notes": tally.notes},
            "warc_files": names,
            "pages_file": self.layout.pages_path.name,
            "counts": {"files": len(files), "files_failed": len(tally.errors), "warc_records": tally.records,
                       "warc_bytes": sum((self.layout.directory / name).stat().st_size for name in names),
                       "pages": tally.pages + tally.pages_before, "pages_extracted": tally.pages_extracted,
                       "pages_truncated": tally.truncated, "revisits_resolved": tally.revisits,
                       "revisits_unresolved": tally.revisits_unresolved,
                       "extraction_errors": tally.extraction_errors},
            "catalog": {"captures_committed": len(self.catalog.crawl_record_ids(self.layout.crawl_id))},
            "versions": {"scraper": __version__},
        }


def init_import_worker(parent: int) -> None:
    """An extraction worker of the import: as the crawl's, and it ends when the import process does.

    Workers are forked from the forkserver, not from the import, and each holds an end of its own
    task queue and of the forkserver's lifeline: after a kill -9 of the import they would wait for
    work forever, and keep the forkserver alive.  A thread watches the import process instead.
    """
    init_worker()

    def watch() -> None:
        while True:
            time.sleep(1.0)
            try:
                os.kill(parent, 0)
            except ProcessLookupError:
                os._exit(0)
            except PermissionError:  # alive, under another user (a recycled pid at worst: no harm)
                pass

    threading.Thread(target=watch, name="import-parent-watch", daemon=True).start()


def _same_file(a: Path, b: Path) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False
