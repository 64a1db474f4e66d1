"""Verify WARC files as our writer makes them, and report every fault with its offset.

Reads the file itself, without warcio: a checker that shares the writer's parser would
share its blind spots, and warcio forgives what a verifier must report.  Streaming, so
a record of any size costs only a chunk of memory.

What is checked (``deep=False``, the cheap form every crawl runs at its end, does the
first three):

* ``gzip-member``: every gzip member decompresses and passes its CRC and length check;
  a torn last member (a crash mid-write) or a damaged one is reported at its offset, and
  reading resumes at the next member.
* ``framing``: each record starts ``WARC/1.x``, has a numeric Content-Length, and its
  block of exactly that many bytes is followed by CRLF CRLF.  ``warc-header``: a record
  without WARC-Record-ID or WARC-Type.
* ``duplicate-id``: a WARC-Record-ID used twice, in one file or across the files verified.
* ``block-digest`` / ``payload-digest``: WARC-Block-Digest over the block,
  WARC-Payload-Digest over the HTTP body (after the HTTP head) for ``application/http``
  records, over the block otherwise.  A revisit's payload digest is the original's, so
  it is not checked against the revisit's (empty) body.
* ``http-head``: an ``application/http`` block whose HTTP head does not end.
* ``content-encoding``: a Content-Encoding the body does not start like (gzip and zstd by
  their magic bytes, deflate and br by decoding the first 64 KiB).  Empty bodies and
  records with WARC-Truncated are skipped.
* ``content-length``: an HTTP Content-Length that differs from the stored body.  Damage,
  not a warning: our capture marks every incomplete body with WARC-Truncated (dataloss,
  size limit) and de-chunks bodies under X-Archive-Orig-Transfer-Encoding, so a mismatch
  in any other record means the body was lost or altered after capture.  Skipped for
  truncated records, transfer-coded bodies, revisits and statuses without a body (1xx,
  204, 304).
* ``broken-link``: WARC-Concurrent-To and WARC-Warcinfo-ID must name a record of the
  same crawl: the files verified, then the other WARCs in the file's folder (our writer
  never links across crawls this way).  WARC-Refers-To (a revisit's original) may name a
  record of an older crawl: it is looked up in every WARC under the archive root when the
  file lies in ``<root>/crawls/<crawl_id>/`` (missing there: damage); a WARC outside such
  a layout cannot be resolved, and an unresolved Refers-To is then an ``unresolved-link``
  *warning*.  Files outside the verified set are read only for their record ids, lazily,
  and ``.open`` files never (a revisit only refers to committed captures).

Offsets are those of the gzip member (or, in a plain ``.warc``, of the record): the
``offset`` a CDXJ index or a page record's ``warc`` pointer gives.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import io
import os
import re
import zlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from scraper.storage.layout import CRAWLS_DIR
from scraper.storage.warc import OPEN_SUFFIX

DAMAGE = "damage"
WARNING = "warning"
# Fault kinds: stable identifiers, for scripts reading `scraper verify --json` and the manifest.
KINDS = ("gzip-member", "framing", "warc-header", "duplicate-id", "block-digest", "payload-digest", "http-head",
         "content-encoding", "content-length", "broken-link", "unresolved-link", "unreadable")

CHUNK = 1 << 20
MAX_HEAD = 1 << 20  # a WARC or HTTP head this long is not one we wrote
SNIFF = 1 << 16  # the body prefix kept for the Content-Encoding check
WARC_SUFFIXES = (".warc.gz", ".warc")
GZIP_MAGIC = b"\x1f\x8b"
_VERSION_LINE = re.compile(rb"^WARC/\d+\.\d+\r\n$")
_BODILESS_STATUSES = frozenset({204, 304})
LINK_HEADERS = ("WARC-Concurrent-To", "WARC-Warcinfo-ID", "WARC-Refers-To")


@dataclass(frozen=True)
class Fault:
    kind: str  # one of KINDS
    offset: int | None
    record_id: str | None
    message: str
    severity: str = DAMAGE

    def as_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "severity": self.severity, "offset": self.offset,
                "record_id": self.record_id, "message": self.message}

    def describe(self) -> str:
        where = f" at offset {self.offset}" if self.offset is not None else ""
        record = f" ({self.record_id})" if self.record_id else ""
        prefix = "warning " if self.severity == WARNING else ""
        return f"{prefix}{self.kind}{where}{record}: {self.message}"


@dataclass(frozen=True)
class Link:
    """A record's WARC header naming another record."""

    header: str
    target: str
    source_id: str | None
    offset: int


@dataclass
class FileReport:
    path: Path
    deep: bool = True
    records: int = 0
    faults: list[Fault] = field(default_factory=list)
    ids: dict[str, int] = field(default_factory=dict, repr=False)  # record id -> offset of its first record
    links: list[Link] = field(default_factory=list, repr=False)

    @property
    def ok(self) -> bool:
        return not any(f.severity == DAMAGE for f in self.faults)

    def add(self, kind: str, offset: int | None, record_id: str | None, message: str,
            severity: str = DAMAGE) -> None:
        self.faults.append(Fault(kind, offset, record_id, message, severity))

    def as_dict(self) -> dict[str, Any]:
        return {"path": str(self.path), "ok": self.ok, "mode": "deep" if self.deep else "quick",
                "records": self.records, "faults": [f.as_dict() for f in self.faults]}


# -- finding files -------------------------------------------------------------------------------------
def is_warc_name(name: str) -> bool:
    return name.endswith(WARC_SUFFIXES)


def is_open_warc_name(name: str) -> bool:
    return name.endswith(OPEN_SUFFIX) and is_warc_name(name.removesuffix(OPEN_SUFFIX))


def find_warcs(folder: Path) -> tuple[list[Path], list[Path]]:
    """The WARC files under ``folder`` (any depth), and apart, the ``.open`` ones."""
    closed, still_open = [], []
    for path in sorted(folder.rglob("*")):
        if path.is_file() and is_warc_name(path.name):
            closed.append(path)
        elif path.is_file() and is_open_warc_name(path.name):
            still_open.append(path)
    return closed, still_open


def archive_root_of(path: Path) -> Path | None:
    """``<root>`` for a file in ``<root>/crawls/<crawl_id>/``, else None."""
    crawl_folder = path.resolve().parent
    return crawl_folder.parent.parent if crawl_folder.parent.name == CRAWLS_DIR else None


# -- reading gzip members ------------------------------------------------------------------------------
class _GzipDamage(Exception):
    """The member cannot be decompressed: nothing it decoded to is to be trusted.

    ``torn``: the file ends inside the member and every byte up to that end inflated without
    error, so the bytes are the start of a member whose end was never written (what a crash
    mid-write leaves); otherwise the data itself is bad.
    """

    def __init__(self, message: str, torn: bool = False) -> None:
        super().__init__(message)
        self.torn = torn


class _Framing(Exception):
    """The record stream does not follow WARC framing: the rest of the member is unreadable as records."""

    def __init__(self, message: str, offset: int | None = None, record: _Record | None = None) -> None:
        super().__init__(message)
        self.offset = offset
        self.record = record  # the record whose block is out of frame, when its head could be read

    @property
    def record_id(self) -> str | None:
        return self.record.record_id if self.record else None


class _Member(io.RawIOBase):
    """The decompressed bytes of the one gzip member at ``start``; ``end`` is known once it is read."""

    def __init__(self, fh: BinaryIO, start: int) -> None:
        self._fh = fh
        self._start = start
        self._fed = 0
        self._inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
        self.end: int | None = None

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        while self.end is None:
            data = self._inflater.unconsumed_tail or self._read_more()
            try:
                out = self._inflater.decompress(data, len(buffer))
            except zlib.error as exc:
                raise _GzipDamage(_zlib_reason(exc)) from None
            if self._inflater.eof:
                self.end = self._start + self._fed - len(self._inflater.unused_data)
            if out:
                buffer[:len(out)] = out
                return len(out)
        return 0

    def _read_more(self) -> bytes:
        data = self._fh.read(CHUNK)
        if not data:
            raise _GzipDamage(f"the file ends inside this gzip member, {self._fed} bytes in "
                              f"(a torn write, or a truncated copy)", torn=True)
        self._fed += len(data)
        return data


def _zlib_reason(exc: zlib.error) -> str:
    # "Error -3 while decompressing data: incorrect data check" -> "incorrect data check"
    return "damaged gzip member: " + str(exc).rsplit(": ", 1)[-1]


def _gzip_fault(fh: BinaryIO, offset: int, exc: _GzipDamage) -> str:
    fh.seek(offset)
    start = fh.read(16)
    return str(exc) if start.startswith(GZIP_MAGIC) else f"no gzip member starts here: the data starts {start!r}"


def _probe_member(fh: BinaryIO, offset: int) -> bool:
    """Whether a gzip member plausibly starts at ``offset``: its first 64 KiB inflate without error."""
    fh.seek(offset)
    try:
        zlib.decompressobj(16 + zlib.MAX_WBITS).decompress(fh.read(SNIFF), SNIFF)
    except zlib.error:
        return False
    return True


def _next_member(fh: BinaryIO, after: int, size: int) -> int:
    """Offset of the next plausible gzip member after a damaged one, or ``size``."""
    position = after
    while position < size:
        fh.seek(position)
        window = fh.read(CHUNK + 2)
        found = window.find(GZIP_MAGIC + b"\x08")
        if found < 0:
            position += CHUNK
            continue
        if _probe_member(fh, position + found):
            return position + found
        position += found + 1
    return size


# -- reading records -----------------------------------------------------------------------------------
@dataclass
class _Digest:
    """A WARC digest header to check against the bytes fed to it."""

    spec: str
    hasher: Any

    @classmethod
    def of(cls, spec: str | None) -> _Digest | str | None:
        """The checker, or why it cannot be checked (a message), or None when there is no header."""
        if spec is None:
            return None
        algorithm, sep, _ = spec.strip().partition(":")
        if not sep:
            return f"{spec!r} is not ALGORITHM:VALUE"
        name = algorithm.lower().replace("-", "")
        if name not in hashlib.algorithms_available:
            return f"cannot check {spec!r}: unknown algorithm {algorithm!r}"
        return cls(spec.strip(), hashlib.new(name))

    def update(self, data: bytes) -> None:
        self.hasher.update(data)

    def matches(self) -> bool:
        expected = self.spec.partition(":")[2].strip()
        raw = self.hasher.digest()
        b32 = base64.b32encode(raw).decode("ascii")
        if expected.upper().rstrip("=") == b32.rstrip("="):
            return True
        return expected.lower() == binascii.hexlify(raw).decode("ascii") or expected == base64.b64encode(
            raw).decode("ascii")

    def actual(self) -> str:
        return self.spec.partition(":")[0] + ":" + base64.b32encode(self.hasher.digest()).decode("ascii")


class _HttpSplitter:
    """Splits an application/http block into its head and the body, fed in chunks."""

    def __init__(self, on_body: Callable[[bytes], None]) -> None:
        self.head: bytes | None = None
        self._pending = b""
        self._on_body = on_body
        self.body_length = 0
        self.body_prefix = b""
        self.overlong = False

    def feed(self, data: bytes) -> None:
        if self.overlong:
            return  # not an HTTP message we wrote: reported once, not searched to the end
        if self.head is None:
            self._pending += data
            end = self._pending.find(b"\r\n\r\n")
            if end < 0:
                self.overlong = len(self._pending) > MAX_HEAD
                if self.overlong:
                    self._pending = b""
                return
            self.head, data = self._pending[:end + 4], self._pending[end + 4:]
            self._pending = b""
        if data:
            self.body_length += len(data)
            if len(self.body_prefix) < SNIFF:
                self.body_prefix += data[:SNIFF - len(self.body_prefix)]
            self._on_body(data)


@dataclass
class _Record:
    offset: int
    headers: list[tuple[str, str]]

    def get(self, name: str) -> str | None:
        return next((v for n, v in self.headers if n.lower() == name.lower()), None)

    def get_all(self, name: str) -> list[str]:
        return [v for n, v in self.headers if n.lower() == name.lower()]

    @property
    def record_id(self) -> str | None:
        return self.get("WARC-Record-ID")

    @property
    def rec_type(self) -> str:
        return (self.get("WARC-Type") or "").strip().lower()

    @property
    def is_http(self) -> bool:
        return (self.get("Content-Type") or "").split(";")[0].strip().lower() == "application/http"


def _read_warc_head(stream: BinaryIO, offset: int) -> _Record | None:
    """The WARC header lines of the next record; None at a clean end of the stream."""
    first = stream.readline(MAX_HEAD)
    if not first:
        return None
    if not _VERSION_LINE.match(first):
        raise _Framing(f"no WARC record here: the data starts {first[:40]!r}")
    headers: list[tuple[str, str]] = []
    total = len(first)
    while True:
        line = stream.readline(MAX_HEAD)
        total += len(line)
        if not line.endswith(b"\r\n") or total > MAX_HEAD:
            raise _Framing("the WARC header does not end with an empty line" if total <= MAX_HEAD
                           else "the WARC header is longer than 1 MiB")
        if line == b"\r\n":
            return _Record(offset, headers)
        text = line[:-2].decode("utf-8", "replace")
        if text[:1] in (" ", "\t") and headers:  # a folded continuation line
            name, value = headers[-1]
            headers[-1] = (name, value + " " + text.strip())
            continue
        name, sep, value = text.partition(":")
        if not sep or not name.strip():
            raise _Framing(f"malformed WARC header line {text[:60]!r}")
        headers.append((name.strip(), value.strip()))


def _content_length(record: _Record) -> int:
    value = record.get("Content-Length")
    if value is None:
        raise _Framing("the record has no Content-Length")
    if not value.isdigit():
        raise _Framing(f"Content-Length {value!r} is not a number")
    return int(value)


def _read_block(stream: BinaryIO, length: int, sinks: Sequence[Callable[[bytes], None]]) -> None:
    remaining = length
    while remaining:
        chunk = stream.read(min(remaining, CHUNK))
        if not chunk:
            raise _Framing(f"the block ends after {length - remaining} of its {length} bytes "
                           f"(Content-Length too large, or the record is cut short)")
        for sink in sinks:
            sink(chunk)
        remaining -= len(chunk)
    trailer = stream.read(4)
    if trailer != b"\r\n\r\n":
        raise _Framing(f"the block is not followed by CRLF CRLF (found {trailer!r}): "
                       f"Content-Length {length} does not match the block")


@dataclass
class _Checks:
    """The deep checks of one record, fed the block as it streams by."""

    record: _Record
    block: _Digest | str | None = None
    payload: _Digest | str | None = None
    http: _HttpSplitter | None = None

    @classmethod
    def of(cls, record: _Record) -> _Checks:
        checks = cls(record, block=_Digest.of(record.get("WARC-Block-Digest")))
        # A revisit's payload digest is the original's: there is no payload here to check it against.
        if record.rec_type != "revisit":
            checks.payload = _Digest.of(record.get("WARC-Payload-Digest"))
        if record.is_http:
            checks.http = _HttpSplitter(checks.payload.update if isinstance(checks.payload, _Digest) else _ignore)
        return checks

    def sinks(self) -> list[Callable[[bytes], None]]:
        out: list[Callable[[bytes], None]] = []
        if isinstance(self.block, _Digest):
            out.append(self.block.update)
        if self.http is not None:
            out.append(self.http.feed)
        elif isinstance(self.payload, _Digest):
            out.append(self.payload.update)
        return out

    def report(self, report: FileReport) -> None:
        record = self.record
        self._digest(report, "block-digest", "WARC-Block-Digest", "block", self.block)
        if self.http is not None and self.http.head is None:
            reason = "is longer than 1 MiB" if self.http.overlong else "does not end with an empty line"
            report.add("http-head", record.offset, record.record_id, f"the HTTP head {reason}")
            return
        self._digest(report, "payload-digest", "WARC-Payload-Digest", "payload", self.payload)
        if self.http is not None and self.http.head is not None:
            for kind, message in _http_contradictions(record, self.http):
                report.add(kind, record.offset, record.record_id, message)

    def _digest(self, report: FileReport, kind: str, header: str, what: str,
                digest: _Digest | str | None) -> None:
        record = self.record
        if isinstance(digest, str):
            severity = WARNING if digest.startswith("cannot check") else DAMAGE
            report.add(kind, record.offset, record.record_id, f"{header}: {digest}", severity)
        elif digest is not None and not digest.matches():
            report.add(kind, record.offset, record.record_id,
                       f"{header} {digest.spec} does not match the {what} ({digest.actual()})")


def _ignore(data: bytes) -> None:
    pass


# -- HTTP headers against the body ---------------------------------------------------------------------
def _http_headers(head: bytes) -> tuple[str, list[tuple[str, str]]]:
    lines = head.decode("latin-1").split("\r\n")
    headers = []
    for line in lines[1:]:
        name, sep, value = line.partition(":")
        if sep:
            headers.append((name.strip().lower(), value.strip()))
    return lines[0], headers


def _http_contradictions(record: _Record, http: _HttpSplitter) -> Iterator[tuple[str, str]]:
    """``(kind, message)`` for each HTTP header of a request/response the stored body contradicts."""
    if record.rec_type not in ("response", "request") or record.get("WARC-Truncated") is not None:
        return
    assert http.head is not None
    first_line, headers = _http_headers(http.head)
    values = {name: [v for n, v in headers if n == name] for name, _ in headers}
    codings = [c.strip().lower() for v in values.get("content-encoding", []) for c in v.split(",")]
    codings = [c for c in codings if c and c != "identity"]
    if codings and http.body_length:
        problem = _encoding_problem(codings[-1], http.body_prefix)
        if problem:
            yield "content-encoding", problem
    if "transfer-encoding" in values or "x-archive-orig-transfer-encoding" in values:
        return  # the body was transfer-coded: Content-Length does not describe it
    if record.rec_type == "response" and _bodiless_status(first_line):
        return
    declared = set(values.get("content-length", []))
    if len(declared) != 1:
        return  # none, or several that disagree: nothing one number can be checked against
    value = declared.pop()
    if value.isdigit() and int(value) != http.body_length:
        yield "content-length", (f"HTTP Content-Length is {value} but the stored body has {http.body_length} "
                                 f"bytes, and the record is not marked WARC-Truncated")


def _bodiless_status(status_line: str) -> bool:
    parts = status_line.split(" ", 2)
    status = int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else 0
    return status < 200 or status in _BODILESS_STATUSES


def _encoding_problem(coding: str, prefix: bytes) -> str | None:
    """Why a body starting with ``prefix`` cannot be ``coding``-encoded, or None when it can (or is unknown)."""
    start = f"the body starts {prefix[:16]!r}"
    if coding in ("gzip", "x-gzip"):
        return None if prefix.startswith(GZIP_MAGIC) else f"Content-Encoding: {coding}, but {start}, not gzip"
    if coding == "zstd":
        return None if prefix.startswith(b"\x28\xb5\x2f\xfd") else f"Content-Encoding: zstd, but {start}"
    if coding == "deflate":
        # Servers send zlib-wrapped and raw deflate alike under this name.
        if any(_inflates(prefix, wbits) for wbits in (zlib.MAX_WBITS, -zlib.MAX_WBITS)):
            return None
        return f"Content-Encoding: deflate, but {start} and does not inflate"
    if coding == "br":
        return None if _unbrotlis(prefix) else f"Content-Encoding: br, but {start} and does not decode as brotli"
    return None


def _inflates(prefix: bytes, wbits: int) -> bool:
    try:
        zlib.decompressobj(wbits).decompress(prefix, SNIFF)
    except zlib.error:
        return False
    return True


def _unbrotlis(prefix: bytes) -> bool:
    import brotli

    decoder = brotli.Decompressor()
    # brotlipy's Decompressor has decompress(); Google's brotli has process(): both decode a prefix.
    step = getattr(decoder, "process", None) or decoder.decompress
    try:
        step(prefix)
    except Exception:  # brotli.error under either name
        return False
    return True


# -- one file ------------------------------------------------------------------------------------------
def _read_records(stream: BinaryIO, deep: bool, report: FileReport, member: int | None = None) -> Iterator[_Record]:
    """Parse records off ``stream`` until it ends; framing faults raise :class:`_Framing`.

    Inside a gzip member every record has the member's offset; in a plain file, its own.
    """
    while True:
        offset = stream.tell() if member is None else member
        record = None
        try:
            record = _read_warc_head(stream, offset)
            if record is None:
                return
            checks = _Checks.of(record) if deep else None
            _read_block(stream, _content_length(record), checks.sinks() if checks else [])
        except _Framing as exc:
            raise _Framing(str(exc), offset, record) from None
        if checks is not None:
            checks.report(report)
        yield record


def _note_record(record: _Record, report: FileReport, deep: bool) -> None:
    report.records += 1
    record_id = record.record_id
    for header in ("WARC-Record-ID", "WARC-Type"):
        if not record.get(header):
            report.add("warc-header", record.offset, record_id, f"the record has no {header}")
    if record_id:
        if record_id in report.ids:
            report.add("duplicate-id", record.offset, record_id,
                       f"WARC-Record-ID already used by the record at offset {report.ids[record_id]}")
        else:
            report.ids[record_id] = record.offset
    if deep:
        report.links.extend(Link(header, target.strip(), record_id, record.offset)
                            for header in LINK_HEADERS for target in record.get_all(header))


@dataclass
class MemberScan:
    """One gzip member, read through its CRC check or as far as it could be read.

    Public so that ``storage.repair`` finds torn tails with the very walk this verifier
    reports them from, not with a second gzip reader of its own.
    """

    offset: int
    next_offset: int  # where reading goes on: the member's end, or after damage the next plausible member
    records: list[_Record] = field(default_factory=list)  # empty when the member is damaged
    faults: list[Fault] = field(default_factory=list)  # framing (and deep-check) faults, or its gzip-member fault
    complete: bool = True  # inflated to its end and passed its CRC and length check
    torn: bool = False  # incomplete only because the file ends inside it: no byte of it failed to inflate

    @property
    def framed(self) -> bool:
        """Complete, and every record in it framed (Content-Length honoured, CRLF CRLF after the block)."""
        return self.complete and not any(f.kind == "framing" for f in self.faults)


def iter_members(fh: BinaryIO, deep: bool = False) -> Iterator[MemberScan]:
    """Every gzip member of an open file, in order; after a damaged one, reading resumes at the next plausible one.

    Faults and records count only once the member has passed its CRC check.
    """
    size = os.fstat(fh.fileno()).st_size
    offset = 0
    while offset < size:
        fh.seek(offset)
        member = _Member(fh, offset)
        stream = io.BufferedReader(member, CHUNK)
        scratch = FileReport(Path(), deep)
        records: list[_Record] = []
        try:
            try:
                records.extend(_read_records(stream, deep, scratch, member=offset))
            except _Framing as exc:
                scratch.add("framing", offset, exc.record_id, str(exc))
                # Its head was read: links to it resolve, and a second use of its id is still a duplicate.
                records.extend([exc.record] if exc.record else [])
            while stream.read(CHUNK):  # to the member's end, through its CRC check
                pass
        except _GzipDamage as exc:
            reason = _gzip_fault(fh, offset, exc)
            following = _next_member(fh, offset + 1, size)
            fault = Fault("gzip-member", offset, None, f"{reason}; {following - offset} bytes skipped"
                          + (f", reading resumes at offset {following}" if following < size else " to the end"))
            yield MemberScan(offset, following, faults=[fault], complete=False, torn=exc.torn)
            offset = following
            continue
        assert member.end is not None
        yield MemberScan(offset, member.end, records, scratch.faults)
        offset = member.end


def _verify_gzip(fh: BinaryIO, report: FileReport, deep: bool) -> None:
    for member in iter_members(fh, deep):
        for record in member.records:
            _note_record(record, report, deep)
        report.faults.extend(member.faults)


def _verify_plain(fh: BinaryIO, report: FileReport, deep: bool) -> None:
    try:
        for record in _read_records(fh, deep, report):
            _note_record(record, report, deep)
    except _Framing as exc:
        if exc.record:
            _note_record(exc.record, report, deep)
        # An uncompressed WARC has no member boundaries to resume at.
        report.add("framing", exc.offset, exc.record_id, f"{exc}; the rest of the file is not read")


def verify_warc(path: Path, *, deep: bool = True) -> FileReport:
    """Every fault of one WARC file (``.warc.gz`` as gzip members, or plain ``.warc``).

    Links to other records are collected in ``links`` but not resolved: that needs the other
    files, see :func:`verify_files`.
    """
    report = FileReport(path, deep)
    try:
        with open(path, "rb", buffering=CHUNK) as fh:
            magic = fh.read(2)
            fh.seek(0)
            if not magic:
                report.add("framing", 0, None, "the file is empty")
            elif magic == GZIP_MAGIC or path.name.removesuffix(OPEN_SUFFIX).endswith(".gz"):
                _verify_gzip(fh, report, deep)
            else:
                _verify_plain(fh, report, deep)
    except OSError as exc:
        report.add("unreadable", None, None, f"cannot read {path}: {exc.strerror or exc}")
    return report


# -- several files ---------------------------------------------------------------------------------------
def record_ids(path: Path) -> set[str]:
    """The record ids of a file, read the cheap way."""
    return set(verify_warc(path, deep=False).ids)


class _Resolver:
    """Finds link targets in WARC files outside the verified set, reading each file at most once."""

    def __init__(self, verified: Iterable[Path]) -> None:
        self._verified = {path.resolve() for path in verified}
        self._ids: dict[Path, set[str]] = {}
        self._folders: dict[Path, list[Path]] = {}

    def in_folder(self, target: str, folder: Path) -> bool:
        """In another WARC of the same folder (the same crawl)."""
        if folder not in self._folders:
            self._folders[folder] = sorted(p for p in folder.iterdir() if p.is_file() and is_warc_name(p.name))
        return self._found_in(target, self._folders[folder])

    def in_archive(self, target: str, root: Path) -> bool:
        """In any WARC under the archive root, the newest crawl first (a revisit's original is usually recent)."""
        if root not in self._folders:
            crawls = sorted((p for p in (root / CRAWLS_DIR).iterdir() if p.is_dir()), reverse=True)
            self._folders[root] = [path for crawl in crawls for path in find_warcs(crawl)[0]]
        return self._found_in(target, self._folders[root])

    def _found_in(self, target: str, files: Iterable[Path]) -> bool:
        for path in files:
            if path not in self._ids:
                self._ids[path] = set() if path.resolve() in self._verified else record_ids(path)
            if target in self._ids[path]:
                return True
        return False


def _check_links(reports: Sequence[FileReport]) -> None:
    known = {record_id for report in reports for record_id in report.ids}
    resolver = _Resolver(report.path for report in reports)
    for report in reports:
        folder = report.path.resolve().parent
        root = archive_root_of(report.path)
        for link in report.links:
            if link.target in known or resolver.in_folder(link.target, folder):
                continue
            if link.header != "WARC-Refers-To":
                report.add("broken-link", link.offset, link.source_id,
                           f"{link.header} {link.target} names no record of this crawl's WARC files")
            elif root is None:
                report.add("unresolved-link", link.offset, link.source_id,
                           f"{link.header} {link.target} is not in the files verified, and the file is not "
                           f"in an archive (<root>/crawls/<crawl_id>/) to look further", WARNING)
            elif not resolver.in_archive(link.target, root):
                report.add("broken-link", link.offset, link.source_id,
                           f"{link.header} {link.target} names no record in any WARC under {root}")


def _check_duplicates_across(reports: Sequence[FileReport]) -> None:
    first: dict[str, tuple[Path, int]] = {}
    for report in reports:
        for record_id, offset in report.ids.items():
            if record_id in first:
                where, at = first[record_id]
                report.add("duplicate-id", offset, record_id,
                           f"WARC-Record-ID already used in {where.name} at offset {at}")
            else:
                first[record_id] = (report.path, offset)


def verify_files(paths: Sequence[Path], *, deep: bool = True) -> list[FileReport]:
    """Verify each file, then what spans files: duplicate ids and (when ``deep``) links."""
    reports = [verify_warc(path, deep=deep) for path in paths]
    _check_duplicates_across(reports)
    if deep:
        _check_links(reports)
    for report in reports:
        report.faults.sort(key=lambda f: -1 if f.offset is None else f.offset)
    return reports


def summarise(reports: Sequence[FileReport], max_faults: int = 20) -> dict[str, Any]:
    """The manifest's ``verify`` entry: counts, the first faults (with their file's name), ok."""
    faults = [{"file": report.path.name, **fault.as_dict()} for report in reports for fault in report.faults]
    return {"files": len(reports), "records": sum(r.records for r in reports), "faults": faults[:max_faults],
            "ok": all(r.ok for r in reports)}
