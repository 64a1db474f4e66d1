"""Verify WARC files, ours and other tools', and report every finding with its offset.

Reads the file itself, without warcio: a checker that shares the writer's parser would
share its blind spots, and warcio forgives what a verifier must report.  Streaming, so
a record of any size costs only a chunk of memory.

A finding is of one of two sorts, fixed by its kind (``FAULT_KINDS``, ``WARNING_KINDS``):

* a **fault** is damage: something a second reader finds as well (warcio's and FastWARC's
  digest checks, their framing and gzip errors), or a break of a rule the WARC standard
  (1.0, 1.1) states.  ``scraper verify`` exits 3 on one.
* a **warning** is anything else worth saying, above all an HTTP header the stored body
  contradicts.  A response record holds the message as the server sent it, and servers
  lie (a Content-Encoding the body is not in, a wrong Content-Length): a recorder that
  keeps the lie did its job.  Warnings never change the exit status.

One rule holds only for records scraper wrote (the warcinfo record before them says
``software: scraper…``): our writer links a record only to records of its own crawl
folder, and a revisit only to a capture of its archive, so such a link that names no
record there means a record or a file of the archive was lost (``broken-link``, a fault).
In other tools' WARCs a link that names nothing in the files verified is a warning
(``unresolved-link``): the standard lets a record refer to one in another file, and an
excerpt of a WARC file is still a WARC file.

Faults (``deep=False``, the cheap form every crawl runs at its end, does the first five):

* ``gzip-member``: every gzip member decompresses and passes its CRC and length check;
  a torn last member (a crash mid-write) or a damaged one is reported at its offset, and
  reading resumes at the next member.
* ``multi-record-member``: a gzip member holding more than one record, e.g. a whole file
  compressed as one gzip stream: warcio refuses such a file ("non-chunked gzip file"),
  and no index can address its records.
* ``framing``: each record starts ``WARC/x.y``, has a numeric Content-Length, and its
  block of exactly that many bytes is followed by CRLF CRLF.
* ``warc-header``: a mandatory field missing (WARC-Record-ID, WARC-Type and WARC-Date on
  every record; WARC-Target-URI on response, resource, request, revisit, conversion and
  continuation records; WARC-Profile on a revisit, and WARC-Payload-Digest on an
  identical-payload-digest one; WARC-Segment-Number and WARC-Segment-Origin-ID on a
  continuation), a WARC-Record-ID that is not ``<uri>``, or a field the standard defines
  given twice (only WARC-Concurrent-To may repeat).  ``warc-date``: a WARC-Date or
  WARC-Refers-To-Date that is not a UTC timestamp in W3C-ISO8601 form ending in ``Z``
  (WARC/1.0: exactly ``YYYY-MM-DDThh:mm:ssZ``; later versions: any W3CDTF precision, at
  most 9 digits of fraction), or not a real date.
* ``duplicate-id``: a WARC-Record-ID used twice, in one file or across the files verified.
* ``block-digest`` / ``payload-digest``: WARC-Block-Digest over the block.
  WARC-Payload-Digest of an ``application/http`` record over the HTTP body, where either
  of two readings passes: the body as stored after the HTTP head (what warcio and FastWARC
  check, and what warcio and wget write) or, when its last transfer coding is chunked,
  the body with the chunking undone (the standard's "entity-body", what warcprox writes).
  Content codings are never undone for it.  Over the block for other records.  Not
  checked on revisits (their payload digest is the original's) nor on segmented records
  (it is the whole logical record's).  A digest that is not ``ALGORITHM:VALUE`` is a fault
  too; one in an algorithm hashlib does not know is the warning ``unchecked-digest``.
* ``broken-link``: see above.  ``unreadable``: the file cannot be read at all.

Warnings:

* ``no-warcinfo``: the file does not start with a warcinfo record (recommended by the
  standard, not required).  In the quick form too.
* ``http-head``: an ``application/http`` block whose HTTP head does not end.
* ``transfer-encoding-mismatch``: ``Transfer-Encoding: chunked`` on a body that does not
  de-chunk.  ``content-encoding-mismatch``: a Content-Encoding the body, its transfer
  coding undone, does not decode as (gzip, deflate, br, zstd; the first 64 KiB).
  ``content-length-mismatch``: an HTTP Content-Length that differs from the stored body
  (not checked when a Transfer-Encoding, or our ``X-Archive-Orig-Transfer-Encoding``,
  says the body was transfer-coded, on revisits, on empty bodies, and on statuses
  without a body).  These three skip records marked WARC-Truncated or segmented.
* ``unresolved-link``: see above.

* ``response-without-request``, ``metadata-shadows-capture``: see :class:`_Pairing` (the
  standard allows both; a second reader would not object).

Not reported, by design: a response without its request in a file that has no request
records at all (a WARC file "needs not to contain any particular record types"), records of
unknown type (readers skip them) and unknown WARC-Truncated reasons (the list is open).

Offsets are those of the gzip member (or, in a plain ``.warc``, of the record): the
``offset`` a CDXJ index or a page record's ``warc`` pointer gives.

HTTP bodies are decoded by :mod:`scraper.storage.codings`, the decoder every reader of HTTP bodies
from WARC records uses: transfer codings undone, then content codings, bounded.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import io
import os
import re
import signal
import zlib
from array import array
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, BinaryIO

from scraper.storage.codings import ChunkedDecoder, PayloadCodingError, can_decode, header_codings, undo_codings
from scraper.storage.codings import http_payload_stream as http_payload_stream  # importable from here, as before
from scraper.storage.layout import CRAWLS_DIR, OPEN_SUFFIX, is_open_warc_name, is_warc_name, warc_files_in

DAMAGE = "damage"
WARNING = "warning"
# Stable identifiers, for scripts reading `scraper verify --json` and the manifest.  A kind is
# always of one sort: faults (damage, exit 3) are what a second reader also finds or what the
# WARC standard names; warnings are everything else.
FAULT_KINDS = ("gzip-member", "multi-record-member", "framing", "warc-header", "warc-date", "duplicate-id",
               "block-digest", "payload-digest", "broken-link", "unreadable",
               "jsonl-line")  # a line of page records (pages.jsonl) that is not one: not a crash's doing
WARNING_KINDS = ("no-warcinfo", "unchecked-digest", "http-head", "transfer-encoding-mismatch",
                 "content-encoding-mismatch", "content-length-mismatch", "unresolved-link",
                 "response-without-request", "metadata-shadows-capture",
                 "torn-line")  # the last line of page records, torn by a crash: `verify --repair` cuts it
KINDS = FAULT_KINDS + WARNING_KINDS

CHUNK = 1 << 20
# The buffer of one member's inflated bytes.  Most records are a few KiB: a CHUNK-sized buffer (and a
# CHUNK-sized read to find the member's end) per member cost 12% of verify's time in allocation alone.
# Reads longer than it (a large block) still go to the member in one call.
MEMBER_BUFFER = 1 << 16
MAX_HEAD = 1 << 20  # a WARC or HTTP head this long is not a head
SNIFF = 1 << 16  # the body prefix kept for the Content-Encoding check
PROBE = 4096  # bytes of a candidate gzip member read to tell whether a record starts there
LISTED = 100  # faults (and warnings) of one file listed; the rest are counted
RESYNC_FACTOR = 4  # damaged gzip data read at most this many times the file's size (+ RESYNC_SLACK), resyncing
RESYNC_SLACK = 16 * CHUNK
GZIP_MAGIC = b"\x1f\x8b"
_VERSION_LINE = re.compile(rb"^WARC/\d+\.\d+\r\n$")
_BODILESS_STATUSES = frozenset({204, 304})
LINK_HEADERS = ("WARC-Concurrent-To", "WARC-Warcinfo-ID", "WARC-Refers-To")
# WARC 1.1 §5: "All 'response', 'resource', 'request', 'revisit', 'conversion' and 'continuation' records
# shall have a WARC-Target-URI field."
_TARGET_URI_TYPES = frozenset({"response", "resource", "request", "revisit", "conversion", "continuation"})
# WARC 1.1 §5: named fields "shall not be repeated in the same WARC record ... except as noted (e.g.
# WARC-Concurrent-To)", the only one noted.  Extension fields are free.
_SINGLE_FIELDS = frozenset(name.lower() for name in (
    "WARC-Record-ID", "Content-Length", "WARC-Date", "WARC-Type", "Content-Type", "WARC-Block-Digest",
    "WARC-Payload-Digest", "WARC-IP-Address", "WARC-Refers-To", "WARC-Refers-To-Target-URI", "WARC-Refers-To-Date",
    "WARC-Target-URI", "WARC-Truncated", "WARC-Warcinfo-ID", "WARC-Filename", "WARC-Profile",
    "WARC-Identified-Payload-Type", "WARC-Segment-Number", "WARC-Segment-Origin-ID", "WARC-Segment-Total-Length"))
_RECORD_ID = re.compile(r"<[A-Za-z][A-Za-z0-9+.-]*:[^\s<>]+>")
_WARC10_DATE = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z")
# W3CDTF (https://www.w3.org/TR/NOTE-datetime) at any of its precisions, in UTC ("Z")
_W3CDTF_UTC = re.compile(r"(\d{4})(?:-(\d{2})(?:-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d+))?)?Z)?)?)?")


@dataclass(frozen=True)
class Fault:
    """One finding: damage or a warning, as its kind says."""

    kind: str  # one of KINDS
    offset: int | None
    record_id: str | None
    message: str

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown fault kind {self.kind!r}")

    @property
    def severity(self) -> str:
        return WARNING if self.kind in WARNING_KINDS else DAMAGE

    def as_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "offset": self.offset, "record_id": self.record_id, "message": self.message}

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
    by_scraper: bool  # the record was written by scraper, whose links must resolve in its archive


def id_hash(text: str) -> int:
    """The 64-bit fingerprint of a record id (or a link's target): the same in every process, as Python's
    ``hash()``, salted per process, is not across the workers of ``verify --jobs``."""
    return int.from_bytes(hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=8).digest(), "little")


@dataclass
class IdTable:
    """A file's record ids once it is read: their fingerprints (:func:`id_hash`) and the offsets of their first
    records, in the order of the file.  16 bytes an id, where the strings in a dict cost ~150."""

    hashes: array[int] = field(default_factory=lambda: array("Q"))
    offsets: array[int] = field(default_factory=lambda: array("q"))

    @classmethod
    def of(cls, ids: dict[str, int]) -> IdTable:
        return cls(array("Q", map(id_hash, ids)), array("q", ids.values()))


@dataclass
class LinkTable:
    """A file's links that name no record of the file itself, once it is read, in the order of the file: the
    target's fingerprint, the offset of the linking record (its gzip member's), and which header and whether
    scraper wrote it (``LINK_HEADERS`` index * 2 + by_scraper).  17 bytes a link; the exact text is read again
    (:func:`_exact_links`) only for those no file verified resolves."""

    targets: array[int] = field(default_factory=lambda: array("Q"))
    offsets: array[int] = field(default_factory=lambda: array("q"))
    kinds: array[int] = field(default_factory=lambda: array("B"))

    @classmethod
    def of(cls, links: Iterable[Link]) -> LinkTable:
        table = cls()
        for link in links:
            table.targets.append(id_hash(link.target))
            table.offsets.append(link.offset)
            table.kinds.append(LINK_HEADERS.index(link.header) * 2 + link.by_scraper)
        return table


@dataclass
class FileReport:
    path: Path
    deep: bool = True
    records: int = 0
    faults: list[Fault] = field(default_factory=list)  # damage: the first LISTED found
    warnings: list[Fault] = field(default_factory=list)
    # Found after the first LISTED of their sort: counted, not listed.  Hostile bytes can hold a fault
    # every few bytes; a report of hundreds of thousands of lines helps nobody and costs its memory.
    faults_omitted: int = 0
    warnings_omitted: int = 0
    # While the file is read, exact: record id -> offset of its first record; the links to no record of the
    # file read so far.  Dropped when the file ends (settle), for what the checks across files need, compact.
    ids: dict[str, int] = field(default_factory=dict, repr=False)
    links: list[Link] = field(default_factory=list, repr=False)
    known: IdTable = field(default_factory=IdTable, repr=False)  # once read: its ids
    unresolved: LinkTable = field(default_factory=LinkTable, repr=False)  # once read: its links to other files
    by_scraper: bool = field(default=False, repr=False)  # the last warcinfo record read says scraper wrote it
    pairing: _Pairing = field(default_factory=lambda: _Pairing(), repr=False)  # deep: requests, captures, metadata

    @property
    def ok(self) -> bool:
        return not self.faults

    def add(self, kind: str, offset: int | None, record_id: str | None, message: str) -> None:
        self.extend([Fault(kind, offset, record_id, message)])

    def extend(self, findings: Iterable[Fault]) -> None:
        for finding in findings:
            listed = self.faults if finding.severity == DAMAGE else self.warnings
            if len(listed) < LISTED:
                listed.append(finding)
            elif finding.severity == DAMAGE:
                self.faults_omitted += 1
            else:
                self.warnings_omitted += 1

    def omitted(self) -> str | None:
        """The line that says how many findings are not listed, or None when all are."""
        counts = [f"{n:,} more {what}" for n, what in ((self.faults_omitted, "fault(s)"),
                                                        (self.warnings_omitted, "warning(s)")) if n]
        return f"... and {' and '.join(counts)}, not listed (the first {LISTED} of each are)" if counts else None

    def settle(self) -> None:
        """The file is read: keep what the checks across files need of it, compactly, and drop the rest.

        Memory: kept to the end were ~640 bytes a record (the ids as strings, every link, the pairing sets):
        ~6 GB at 10 million records (a 10 GB archive of our crawls holds ~4.4 million).  Now 16 bytes a record
        (IdTable) plus 17 a link to a record of another file (LinkTable: mostly revisits' WARC-Refers-To):
        160-330 MB at 10 million records.  The exact ids, the links and the pairing are one file's at a time,
        ~700 bytes a record of that file (a 1 GB file, the default rotation: ~300 MB while it is read).
        """
        self.known = IdTable.of(self.ids)
        self.unresolved = LinkTable.of(link for link in self.links if link.target not in self.ids)
        self.ids, self.links = {}, []

    def findings(self) -> list[Fault]:
        """Faults and warnings together, in the order of the file."""
        return sorted(self.faults + self.warnings, key=_position)

    def as_dict(self) -> dict[str, Any]:
        return {"path": str(self.path), "ok": self.ok, "mode": "deep" if self.deep else "quick",
                "records": self.records, "faults": [f.as_dict() for f in self.faults],
                "warnings": [w.as_dict() for w in self.warnings],
                "faults_omitted": self.faults_omitted, "warnings_omitted": self.warnings_omitted}


def _position(fault: Fault) -> int:
    return -1 if fault.offset is None else fault.offset


# -- finding files -------------------------------------------------------------------------------------
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
        # Read in growing steps: a member that fails in its first bytes has cost a few KiB, not a megabyte.
        self._step = PROBE
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

    @property
    def fed(self) -> int:
        """Bytes of the file read for this member so far."""
        return self._fed

    def _read_more(self) -> bytes:
        data = self._fh.read(self._step)
        self._step = min(2 * self._step, CHUNK)
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


def _header_end(data: bytes, start: int, end: int) -> int | None:
    """Where the gzip member header at ``data[start:]`` ends (RFC 1952 §2.3), if it does before ``end``."""
    if end - start < 10 or data[start + 3] & 0xE0:  # reserved flag bits set: no gzip header
        return None
    flags, position = data[start + 3], start + 10
    if flags & 0x04:  # FEXTRA: two bytes of length, then that many
        if position + 2 > end:
            return None
        position += 2 + int.from_bytes(data[position:position + 2], "little")
    for flag in (0x08, 0x10):  # FNAME, FCOMMENT: NUL-terminated
        if flags & flag:
            nul = data.find(b"\0", position, end)
            if nul < 0:
                return None
            position = nul + 1
    position += 2 if flags & 0x02 else 0  # FHCRC
    return position if position < end else None


def _is_record_member(data: bytes, start: int) -> bool:
    """Whether a gzip member holding a WARC record starts at ``data[start]``: its header ends, and the first
    bytes it inflates to are ``WARC/``.  Looks at no more than :data:`PROBE` bytes, however the bytes try
    to be a header that never ends (a file name without its NUL): each candidate costs the same."""
    end = min(len(data), start + PROBE)
    body = _header_end(data, start, end)
    if body is None:
        return False
    try:
        out = zlib.decompressobj(-zlib.MAX_WBITS).decompress(data[body:end], 16)
    except zlib.error:
        return False
    return out.lstrip(b"\r\n").startswith(b"WARC/")


def _next_member(fh: BinaryIO, after: int, size: int) -> tuple[int, int]:
    """Offset of the next gzip member holding a WARC record after a damaged one (or ``size``), and the bytes
    read to find it.

    One pass over the rest of the file, in windows that grow from a few KiB (the next member is usually
    near): each byte is read about once, and every candidate (the gzip magic) is judged by its first
    :data:`PROBE` bytes, so bytes made of gzip magic cost a bounded amount per byte instead of a read to
    the end of the file per candidate.
    """
    position, step, read = after, PROBE, 0
    while position < size:
        fh.seek(position)
        window = fh.read(step + PROBE)
        read += len(window)
        found = window.find(GZIP_MAGIC + b"\x08")
        while 0 <= found < step:
            if _is_record_member(window, found):
                return position + found, read
            found = window.find(GZIP_MAGIC + b"\x08", found + 1)
        position += step
        step = min(2 * step, CHUNK)
    return size, read


# -- reading records -----------------------------------------------------------------------------------
@dataclass
class _Digest:
    """A WARC digest header to check against the bytes fed to it."""

    spec: str
    hasher: Any

    @classmethod
    def of(cls, spec: str | None) -> _Digest | Fault | None:
        """The checker; or, when it cannot be checked, the finding (kind and record filled in later);
        or None when there is no header."""
        if spec is None:
            return None
        algorithm, sep, value = spec.strip().partition(":")
        if not sep or not algorithm.strip() or not value.strip():
            # WARC 1.1 §5.8: labelled-digest = algorithm ":" digest-value
            return Fault("block-digest", None, None, f"{spec!r} is not ALGORITHM:VALUE")
        name = algorithm.lower().replace("-", "")
        if name not in hashlib.algorithms_available:
            # The standard recommends no algorithm: one we do not know is not damage.
            return Fault("unchecked-digest", None, None, f"cannot check {spec!r}: unknown algorithm {algorithm!r}")
        return cls(spec.strip(), hashlib.new(name))

    def copy(self) -> _Digest:
        return _Digest(self.spec, self.hasher.copy())

    def update(self, data: bytes) -> None:
        self.hasher.update(data)

    def matches(self) -> bool:
        return self._names(self.hasher.digest())

    def of_nothing(self) -> bool:
        """The header holds the digest of zero bytes (what a writer that digested the wrong thing may write)."""
        return self._names(hashlib.new(self.hasher.name).digest())

    def _names(self, raw: bytes) -> bool:
        expected = self.spec.partition(":")[2].strip()
        if _is_base32_of(expected.upper().rstrip("="), raw):
            return True
        return expected.lower() == binascii.hexlify(raw).decode("ascii") or expected == base64.b64encode(
            raw).decode("ascii")

    def actual(self) -> str:
        return self.spec.partition(":")[0] + ":" + base64.b32encode(self.hasher.digest()).decode("ascii")


_BASE32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"  # RFC 4648's alphabet, in the order of the values 0-31
_BASE32_AS_DIGITS = str.maketrans(_BASE32, "0123456789ABCDEFGHIJKLMNOPQRSTUV")  # the digits int(text, 32) reads


def _is_base32_of(text: str, raw: bytes) -> bool:
    """Whether ``text`` is ``base64.b32encode(raw)`` without its padding.

    The same answer as comparing the two strings, but base64's encoder is pure Python, and it was 5% of
    verify's time; here the comparison is of two integers, made by C code.
    """
    bits = 8 * len(raw)
    if len(text) != -(-bits // 5) or text.strip(_BASE32):  # a character outside the alphabet: no match
        return False
    if not raw:
        return True
    # The encoding's last character carries zero bits past the end of ``raw``.
    return int(text.translate(_BASE32_AS_DIGITS), 32) == int.from_bytes(raw, "big") << (5 * len(text) - bits)


class _HttpMessage:
    """An application/http block fed in pieces: its head, then its body into the payload digests.

    When the body's last transfer coding is chunked, it is also de-chunked as it streams by,
    into a second payload digest (the standard's entity-body) and a prefix for the
    Content-Encoding check.
    """

    def __init__(self, payload: _Digest | None) -> None:
        self.head: bytes | None = None
        self.headers: list[tuple[str, str]] = []
        self.status_line = ""
        self.overlong = False
        self.body_length = 0
        self.raw_prefix = b""
        self.payload = payload  # over the body as stored
        self.entity_payload: _Digest | None = None  # over the de-chunked body
        self.chunked: ChunkedDecoder | None = None
        self.chunk_error: str | None = None
        self.entity_prefix = b""
        self._pending = b""

    def feed(self, data: bytes) -> None:
        if self.overlong:
            return  # not an HTTP head: reported once, not searched to the end
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
            self.status_line, self.headers = _http_headers(self.head)
            if header_codings(self.headers, "transfer-encoding")[-1:] == ["chunked"]:
                self.chunked = ChunkedDecoder()
                self.entity_payload = self.payload.copy() if self.payload else None
        if data:
            self._body(data)

    def _body(self, data: bytes) -> None:
        self.body_length += len(data)
        if len(self.raw_prefix) < SNIFF:
            self.raw_prefix += data[:SNIFF - len(self.raw_prefix)]
        if self.payload is not None:
            self.payload.update(data)
        if self.chunked is None or self.chunk_error is not None:
            return
        try:
            entity = self.chunked.feed(data)
        except PayloadCodingError as exc:
            self.chunk_error = exc.reason
            return
        if self.entity_payload is not None:
            self.entity_payload.update(entity)
        if len(self.entity_prefix) < SNIFF:
            self.entity_prefix += entity[:SNIFF - len(self.entity_prefix)]

    def finish(self) -> None:
        if self.chunked is not None and self.chunk_error is None:
            try:
                self.chunked.close()
            except PayloadCodingError as exc:
                self.chunk_error = exc.reason

    @property
    def entity_whole(self) -> bool:
        """The body de-chunked to its last chunk."""
        return self.chunked is not None and self.chunk_error is None


@dataclass
class _Record:
    offset: int
    headers: list[tuple[str, str]]
    version: str = "WARC/1.1"
    software: str | None = None  # a warcinfo record's "software" field (read in deep mode)

    # The values under each lower-cased name, in order: looked up a dozen times a record, a scan of
    # the header list per look-up was a fifth of verify's time.  The header list is never changed.
    _by_name: dict[str, list[str]] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        self._by_name = {}
        for name, value in self.headers:
            self._by_name.setdefault(name.lower(), []).append(value)

    def get(self, name: str) -> str | None:
        values = self._by_name.get(name.lower())
        return values[0] if values else None

    def get_all(self, name: str) -> list[str]:
        return list(self._by_name.get(name.lower(), ()))

    @property
    def record_id(self) -> str | None:
        return self.get("WARC-Record-ID")

    @property
    def rec_type(self) -> str:
        return (self.get("WARC-Type") or "").strip().lower()

    @property
    def is_http(self) -> bool:
        return (self.get("Content-Type") or "").split(";")[0].strip().lower() == "application/http"

    @property
    def truncated(self) -> bool:
        return self.get("WARC-Truncated") is not None

    @property
    def segmented(self) -> bool:
        """One segment of a record split across several (WARC 1.1 §7): its block is not the whole message."""
        return self.rec_type == "continuation" or self.get("WARC-Segment-Number") is not None


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
            return _Record(offset, headers, first[:-2].decode("ascii"))
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
    length: int
    block: _Digest | Fault | None = None
    payload: _Digest | Fault | None = None
    http: _HttpMessage | None = None
    info: bytes = b""  # the start of a warcinfo record's block

    @classmethod
    def of(cls, record: _Record, length: int) -> _Checks:
        checks = cls(record, length, block=_Digest.of(record.get("WARC-Block-Digest")))
        # A revisit's payload digest is the original's, a segment's the whole record's: neither is here to check.
        if record.rec_type != "revisit" and not record.segmented:
            checks.payload = _Digest.of(record.get("WARC-Payload-Digest"))
        if record.is_http and record.rec_type != "continuation":  # a continuation holds the middle of a message
            checks.http = _HttpMessage(checks.payload if isinstance(checks.payload, _Digest) else None)
        return checks

    def sinks(self) -> list[Callable[[bytes], None]]:
        out: list[Callable[[bytes], None]] = []
        if isinstance(self.block, _Digest):
            out.append(self.block.update)
        if self.http is not None:
            out.append(self.http.feed)
        elif isinstance(self.payload, _Digest):
            out.append(self.payload.update)
        if self.record.rec_type == "warcinfo":
            out.append(self._keep_info)
        return out

    def _keep_info(self, data: bytes) -> None:
        if len(self.info) < SNIFF:
            self.info += data[:SNIFF - len(self.info)]

    def report(self, report: FileReport) -> None:
        record, http = self.record, self.http
        block = self._checkable(report, "block-digest", "WARC-Block-Digest", self.block)
        if block is not None and not block.matches():
            nothing = f": it is the digest of no bytes at all, and the block has {self.length}" if (
                self.length and block.of_nothing()) else ""
            self._add(report, "block-digest", f"WARC-Block-Digest {block.spec} does not match the block "
                                              f"({block.actual()}){nothing}")
        if record.rec_type == "warcinfo":
            record.software = _warc_field(self.info, "software")
        if http is not None:
            http.finish()
            if http.head is None:
                # No head, no payload to check.  A revisit may have no block at all; a cut record, half a head.
                if self.length and not record.truncated and not record.segmented:
                    reason = "is longer than 1 MiB" if http.overlong else "does not end with an empty line"
                    self._add(report, "http-head", f"the HTTP head {reason}")
                return
        self._check_payload(report)
        if http is not None:
            for kind, message in _http_contradictions(record, http):
                self._add(report, kind, message)

    def _check_payload(self, report: FileReport) -> None:
        payload = self._checkable(report, "payload-digest", "WARC-Payload-Digest", self.payload)
        if payload is None or payload.matches():
            return
        http = self.http
        entity = http.entity_payload if http is not None and http.entity_whole else None
        if entity is None:
            self._add(report, "payload-digest", f"WARC-Payload-Digest {payload.spec} does not match the payload "
                                                f"({payload.actual()})")
        elif not entity.matches():
            self._add(report, "payload-digest", f"WARC-Payload-Digest {payload.spec} matches neither the body as "
                                                f"stored ({payload.actual()}) nor the body with its chunked transfer "
                                                f"coding undone ({entity.actual()})")

    def _checkable(self, report: FileReport, kind: str, header: str, digest: _Digest | Fault | None) -> _Digest | None:
        if isinstance(digest, Fault):
            self._add(report, digest.kind if digest.kind == "unchecked-digest" else kind, f"{header}: {digest.message}")
            return None
        return digest

    def _add(self, report: FileReport, kind: str, message: str) -> None:
        report.add(kind, self.record.offset, self.record.record_id, message)


def _warc_field(block: bytes, name: str) -> str | None:
    """A field of an application/warc-fields block (a warcinfo record's)."""
    for line in block.decode("utf-8", "replace").splitlines():
        key, sep, value = line.partition(":")
        if sep and key.strip().lower() == name:
            return value.strip()
    return None


def _is_scraper(software: str | None) -> bool:
    return software is not None and (software == "scraper" or software.startswith("scraper/"))


# -- the WARC header against the standard --------------------------------------------------------------
def _header_findings(record: _Record) -> Iterator[tuple[str, str]]:
    """``(kind, message)`` for each rule of the WARC standard that the record's header breaks."""
    for name in ("WARC-Record-ID", "WARC-Type", "WARC-Date"):
        if not record.get(name):
            yield "warc-header", f"the record has no {name} (mandatory on every record)"
    rec_type = record.rec_type
    if rec_type in _TARGET_URI_TYPES and not record.get("WARC-Target-URI"):
        yield "warc-header", f"a {rec_type} record has no WARC-Target-URI (mandatory on it)"
    if rec_type == "revisit":
        profile = record.get("WARC-Profile")
        if not profile:
            yield "warc-header", "a revisit record has no WARC-Profile (mandatory on it)"
        elif profile.endswith("/revisit/identical-payload-digest") and not record.get("WARC-Payload-Digest"):
            yield "warc-header", "an identical-payload-digest revisit has no WARC-Payload-Digest (mandatory on it)"
    if rec_type == "continuation":
        for name in ("WARC-Segment-Origin-ID", "WARC-Segment-Number"):
            if not record.get(name):
                yield "warc-header", f"a continuation record has no {name} (mandatory on it)"
    record_id = record.record_id
    if record_id and not _RECORD_ID.fullmatch(record_id):
        yield "warc-header", f"WARC-Record-ID {record_id!r} is not a URI in angle brackets"
    counts = Counter(name.lower() for name, _ in record.headers)
    reported: set[str] = set()
    for name, _ in record.headers:
        key = name.lower()
        if key in _SINGLE_FIELDS and counts[key] > 1 and key not in reported:
            reported.add(key)
            yield "warc-header", f"{name} is given {counts[key]} times; the standard allows it once"
    for name in ("WARC-Date", "WARC-Refers-To-Date"):
        value = record.get(name)
        problem = _date_problem(value, record.version) if value else None
        if problem:
            yield "warc-date", f"{name} {value!r} {problem}"


def _date_problem(value: str, version: str) -> str | None:
    """Why a WARC-Date is not one the standard allows, or None."""
    if version == "WARC/1.0" and not _WARC10_DATE.fullmatch(value):
        return "is not YYYY-MM-DDThh:mm:ssZ, the form WARC/1.0 requires"
    match = _W3CDTF_UTC.fullmatch(value)
    if match is None:
        return "is not a UTC timestamp in W3C-ISO8601 form (YYYY-MM-DDThh:mm:ssZ, to any precision, ending in Z)"
    year, month, day, hour, minute, second, fraction = match.groups()
    if fraction is not None and len(fraction) > 9:
        return "has more than 9 digits of a second"
    if second is not None and int(second) > 60:  # 60: a leap second
        return "is not a real date and time"
    try:
        datetime(int(year), int(month or 1), int(day or 1), int(hour or 0), int(minute or 0), min(int(second or 0), 59))
    except ValueError:
        return "is not a real date and time"
    return None


# -- HTTP headers against the body: warnings -------------------------------------------------------------
def _http_headers(head: bytes) -> tuple[str, list[tuple[str, str]]]:
    lines = head.decode("latin-1").split("\r\n")
    headers = []
    for line in lines[1:]:
        name, sep, value = line.partition(":")
        if sep:
            headers.append((name.strip().lower(), value.strip()))
    return lines[0], headers


def _http_contradictions(record: _Record, http: _HttpMessage) -> Iterator[tuple[str, str]]:
    """``(kind, message)`` for each HTTP header of a request/response that the stored body contradicts.

    Warnings all: a server's own lie is archived as it was told.
    """
    if record.rec_type not in ("response", "request") or record.truncated or record.segmented:
        return
    headers = http.headers
    transfer = header_codings(headers, "transfer-encoding")
    if http.chunk_error is not None:
        yield "transfer-encoding-mismatch", (f"Transfer-Encoding: {', '.join(transfer)}, but the stored body does "
                                             f"not de-chunk: {http.chunk_error}")
    content = header_codings(headers, "content-encoding")
    # Undo the transfer coding before judging the content coding; a body that does not de-chunk from its
    # start is judged as stored, as readers that fall back to it (warcio, browsers) see it.
    dechunked = http.chunked is not None and (bool(http.entity_prefix) or http.chunk_error is None)
    prefix = http.entity_prefix if dechunked else http.raw_prefix
    codings = content + [c for c in transfer if c != "chunked"]  # in the order applied
    if content and prefix and can_decode(codings):
        problem = _coding_problem(codings, prefix)
        if problem:
            value = ", ".join(v for n, v in headers if n == "content-encoding")
            body = "the body, its chunked transfer coding undone," if dechunked else "the body"
            yield "content-encoding-mismatch", (f"Content-Encoding: {value}, but {body} starts {prefix[:16]!r}, "
                                                f"{problem}")
    if transfer or any(name == "x-archive-orig-transfer-encoding" for name, _ in headers):
        return  # the body was transfer-coded: Content-Length does not describe it
    if not http.body_length:
        return  # a response to HEAD has the Content-Length of the body it does not send
    if record.rec_type == "response" and _bodiless_status(http.status_line):
        return
    declared = {value for name, value in headers if name == "content-length"}
    if len(declared) != 1:
        return  # none, or several that disagree: nothing one number can be checked against
    value = declared.pop()
    if value.isdigit() and int(value) != http.body_length:
        yield "content-length-mismatch", (f"HTTP Content-Length is {value} but the stored body has "
                                          f"{http.body_length} bytes, and the record is not marked WARC-Truncated")


def _coding_problem(codings: Sequence[str], prefix: bytes) -> str | None:
    """Why a body starting with ``prefix`` is not in ``codings`` (a clause), or None when its start decodes."""
    decoded = 0
    try:
        for out in undo_codings(codings, iter([prefix])):
            decoded += len(out)
            if decoded >= SNIFF:
                break
    except PayloadCodingError as exc:
        return None if exc.truncated else f"which {exc.reason}"
    return None


def _bodiless_status(status_line: str) -> bool:
    parts = status_line.split(" ", 2)
    status = int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else 0
    return status < 200 or status in _BODILESS_STATUSES


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
            length = _content_length(record)
            checks = _Checks.of(record, length) if deep else None
            _read_block(stream, length, checks.sinks() if checks else [])
        except _Framing as exc:
            raise _Framing(str(exc), offset, record) from None
        if checks is not None:
            checks.report(report)
        yield record


def _note_record(record: _Record, report: FileReport, deep: bool) -> None:
    if report.records == 0 and record.offset == 0 and record.rec_type != "warcinfo":
        report.add("no-warcinfo", 0, record.record_id,
                   f"the file starts with a {record.rec_type or 'untyped'} record, not a warcinfo record (the WARC "
                   f"standard recommends, not requires, one first)")
    report.records += 1
    record_id = record.record_id
    report.extend(Fault(kind, record.offset, record_id, message) for kind, message in _header_findings(record))
    if record_id:
        if record_id in report.ids:
            report.add("duplicate-id", record.offset, record_id,
                       f"WARC-Record-ID already used by the record at offset {report.ids[record_id]}")
        else:
            report.ids[record_id] = record.offset
    if record.rec_type == "warcinfo":
        # A warcinfo record describes the records after it, to the next one (WARC 1.1 §6.2).
        report.by_scraper = _is_scraper(record.software)
    if deep:
        # A link to a record already read resolves now; the rest wait for the file's end (settle).
        report.links.extend(Link(header, target.strip(), record_id, record.offset, report.by_scraper)
                            for header in LINK_HEADERS for target in record.get_all(header)
                            if target.strip() not in report.ids)
        report.pairing.note(record)


@dataclass
class _Pairing:
    """What one file says about its records' companions, for two warnings no reader raises but a person wants.

    * ``response-without-request``: in a file whose writer records requests (it has some), a response
      that no request goes with (by WARC-Concurrent-To either way, or the same target URI and WARC-Date)
      is a request record lost.  A file without any request records is not warned: the standard does
      not ask for them, and some recorders never write them.
    * ``metadata-shadows-capture``: a metadata record with the target URI and WARC-Date second of a
      capture.  The standard allows it, but pywb 2.10 indexes metadata records like captures and
      replayed such a JSON record in place of the page (warc-check's sample 12).  Not warned for
      ``application/warc-fields`` (what Heritrix writes beside every capture: pywb replayed the page
      over one, checked with warc-check on sample 12 so rewritten) nor ``text/anvl`` (pywb skips it).
    """

    requests: int = 0
    request_keys: set[tuple[str, str]] = field(default_factory=set)  # (target URI, WARC-Date)
    concurrent: set[str] = field(default_factory=set)  # ids named by a request's WARC-Concurrent-To
    request_ids: set[str] = field(default_factory=set)
    responses: list[tuple[int, str | None, str, str, frozenset[str]]] = field(default_factory=list)
    captures: set[tuple[str, str]] = field(default_factory=set)  # (target URI, WARC-Date to the second)
    metadata: list[tuple[int, str | None, str, str]] = field(default_factory=list)

    def note(self, record: _Record) -> None:
        uri, date = (record.get("WARC-Target-URI") or "").strip(), (record.get("WARC-Date") or "").strip()
        kind = record.rec_type
        if kind == "request":
            self.requests += 1
            self.request_keys.add((uri, date))
            self.concurrent.update(target.strip() for target in record.get_all("WARC-Concurrent-To"))
            if record.record_id:
                self.request_ids.add(record.record_id)
        elif kind in ("response", "revisit", "resource"):
            self.captures.add((uri, date[:19]))
            if kind == "response":
                named = frozenset(target.strip() for target in record.get_all("WARC-Concurrent-To"))
                self.responses.append((record.offset, record.record_id, uri, date, named))
        elif kind == "metadata" and (record.get("Content-Type") or "").split(";")[0].strip().lower() not in (
                "text/anvl", "application/warc-fields"):
            self.metadata.append((record.offset, record.record_id, uri, date[:19]))

    def findings(self) -> Iterator[Fault]:
        if self.requests:
            for offset, record_id, uri, date, named in self.responses:
                if (record_id in self.concurrent or named & self.request_ids or (uri, date) in self.request_keys):
                    continue
                yield Fault("response-without-request", offset, record_id,
                            f"no request record goes with this response of {uri}, though the file records "
                            f"requests (one lost?)")
        for offset, record_id, uri, second in self.metadata:
            if (uri, second) in self.captures:
                yield Fault("metadata-shadows-capture", offset, record_id,
                            f"a metadata record with the target URI and WARC-Date second of a capture of {uri}: "
                            f"pywb may replay it in place of the page (give metadata records a URI of their own)")


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
    warnings: list[Fault] = field(default_factory=list)  # the deep checks' warnings
    complete: bool = True  # inflated to its end and passed its CRC and length check
    torn: bool = False  # incomplete only because the file ends inside it: no byte of it failed to inflate
    gave_up: bool = False  # the walk stopped here (too much damaged data read): what follows is not known

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
    # A damaged member is read until it fails, maybe to the end of the file, and reading resumes at the next
    # plausible member, maybe inside it: bytes crafted to look like members inside members would be read
    # over and over.  Bounded: past this much damaged data read, the rest of the file is not read.
    budget, damaged = RESYNC_FACTOR * size + RESYNC_SLACK, 0
    while offset < size:
        fh.seek(offset)
        member = _Member(fh, offset)
        stream = io.BufferedReader(member, MEMBER_BUFFER)
        scratch = FileReport(Path(), deep)
        records: list[_Record] = []
        try:
            try:
                records.extend(_read_records(stream, deep, scratch, member=offset))
            except _Framing as exc:
                scratch.add("framing", offset, exc.record_id, str(exc))
                # Its head was read: links to it resolve, and a second use of its id is still a duplicate.
                records.extend([exc.record] if exc.record else [])
            while stream.read(MEMBER_BUFFER):  # to the member's end, through its CRC check
                pass
        except _GzipDamage as exc:
            reason = _gzip_fault(fh, offset, exc)
            damaged += member.fed
            if damaged > budget:
                fault = Fault("gzip-member", offset, None, f"{reason}; {size - offset} bytes to the end not read: "
                                                           f"resyncing has read {damaged} bytes of damaged gzip "
                                                           f"data, the most verify reads in a file of this size")
                yield MemberScan(offset, size, faults=[fault], complete=False, torn=False, gave_up=True)
                return
            following, scanned = _next_member(fh, offset + 1, size)
            damaged += scanned
            fault = Fault("gzip-member", offset, None, f"{reason}; {following - offset} bytes skipped"
                          + (f", reading resumes at offset {following}" if following < size else " to the end"))
            yield MemberScan(offset, following, faults=[fault], complete=False, torn=exc.torn)
            offset = following
            continue
        assert member.end is not None
        yield MemberScan(offset, member.end, records, scratch.faults, scratch.warnings)
        offset = member.end


def _verify_gzip(fh: BinaryIO, report: FileReport, deep: bool, read_to: Callable[[int], None]) -> None:
    for member in iter_members(fh, deep):
        read_to(member.next_offset)
        for record in member.records:
            _note_record(record, report, deep)
        if member.gave_up:  # the file's last finding, and the one that says why the rest is not read: listed
            report.faults.extend(member.faults)
        report.extend([] if member.gave_up else member.faults + member.warnings)
        if len(member.records) > 1:
            # warcio: "non-chunked gzip file detected, gzip block continues beyond single record"
            report.add("multi-record-member", member.offset, None,
                       f"this gzip member holds {len(member.records)} records: readers that seek to a record "
                       f"(warcio, CDXJ indexes, replay) need each record in a gzip member of its own "
                       f"(WARC 1.1 Annex D)")


def _verify_plain(fh: BinaryIO, report: FileReport, deep: bool, read_to: Callable[[int], None]) -> None:
    try:
        for record in _read_records(fh, deep, report):
            read_to(fh.tell())
            _note_record(record, report, deep)
    except _Framing as exc:
        if exc.record:
            _note_record(exc.record, report, deep)
        # An uncompressed WARC has no member boundaries to resume at.
        report.add("framing", exc.offset, exc.record_id, f"{exc}; the rest of the file is not read")


def verify_warc(path: Path, *, deep: bool = True, progress: Callable[[int], None] | None = None) -> FileReport:
    """Every finding in one WARC file (``.warc.gz`` as gzip members, or plain ``.warc``).

    Links to other records are collected in ``links`` but not resolved: that needs the other
    files, see :func:`verify_files`.  ``progress`` is told the bytes of the file read, as they are
    read; by the end, the file's size.
    """
    report = FileReport(path, deep)
    told = 0

    def read_to(position: int, at_least: int = CHUNK) -> None:
        # Told a MiB at a time: a bar's update costs more than a small record's check.
        nonlocal told
        if progress is not None and position - told >= at_least:
            progress(position - told)
            told = position

    try:
        with open(path, "rb", buffering=CHUNK) as fh:
            start = fh.read(5)
            fh.seek(0)
            if not start:
                report.add("framing", 0, None, "the file is empty")
            elif _gzipped(path, start):
                _verify_gzip(fh, report, deep, read_to)
            else:  # a plain WARC, whatever its name says: every reader tells them by their first bytes
                _verify_plain(fh, report, deep, read_to)
            read_to(os.fstat(fh.fileno()).st_size, 1)  # the rest (a plain file's unread tail after damage)
    except OSError as exc:
        report.add("unreadable", None, None, f"cannot read {path}: {exc.strerror or exc}")
    report.extend(report.pairing.findings())
    report.pairing = _Pairing()  # what it held is said: a long verify keeps one file's sets at a time
    report.settle()
    return report


def _gzipped(path: Path, start: bytes) -> bool:
    """Whether a file starting ``start`` is read as gzip members: every reader tells them by their first bytes."""
    return start.startswith(GZIP_MAGIC) or (path.name.removesuffix(OPEN_SUFFIX).endswith(".gz")
                                            and not start.startswith(b"WARC/"))


def _records_at(path: Path, offset: int) -> list[_Record]:
    """The records at ``offset`` read again: a plain file's one record there, or every record of the gzip member
    there.  For the few fingerprints whose exact text a finding needs; [] if they cannot be read."""
    records: list[_Record] = []
    try:
        with open(path, "rb") as fh:
            gzipped = _gzipped(path, fh.read(5))
            fh.seek(offset)
            stream: BinaryIO = io.BufferedReader(_Member(fh, offset), MEMBER_BUFFER) if gzipped else fh
            try:
                for record in _read_records(stream, False, FileReport(path), offset if gzipped else None):
                    records.append(record)
                    if not gzipped:
                        break
            except _Framing as exc:
                records.extend([exc.record] if exc.record else [])
    except (OSError, _GzipDamage):
        pass
    return records


def _exact_id(path: Path, offset: int, fingerprint: int) -> str | None:
    return next((r.record_id for r in _records_at(path, offset) if r.record_id and id_hash(r.record_id) == fingerprint),
                None)


def _exact_links(report: FileReport, wanted: Sequence[int]) -> list[Link]:
    """The links ``wanted`` (indices into ``report.unresolved``) as they are written, read again.

    The table holds, at each offset, a subsequence of the links of the records there, in their order: those
    whose target names no record of the file (every link to such a target is in it).  Matched in order, each
    entry is the very link it was made from.
    """
    table, found = report.unresolved, {}
    for offset in dict.fromkeys(table.offsets[i] for i in wanted):
        entries = [i for i, at in enumerate(table.offsets) if at == offset]
        written = iter([Link(header, target.strip(), record.record_id, record.offset, False)
                        for record in _records_at(report.path, offset)
                        for header in LINK_HEADERS for target in record.get_all(header)])
        for i in entries:
            header, fingerprint = LINK_HEADERS[table.kinds[i] // 2], table.targets[i]
            link = next((w for w in written if w.header == header and id_hash(w.target) == fingerprint), None)
            if link is not None:
                found[i] = Link(link.header, link.target, link.source_id, link.offset, bool(table.kinds[i] % 2))
    return [found[i] for i in wanted if i in found]


# -- several files ---------------------------------------------------------------------------------------
def _fingerprints(reports: Iterable[FileReport]) -> Any:
    """The sorted fingerprints of the record ids of ``reports`` (a numpy array: 8 bytes an id)."""
    import numpy as np  # here, not at the top: the crawl process imports this module, and seldom needs it

    columns = [np.frombuffer(report.known.hashes, dtype=np.uint64) for report in reports]
    return np.unique(np.concatenate(columns)) if columns else np.empty(0, dtype=np.uint64)


def _holds(fingerprints: Any, target: str) -> bool:
    """Whether a sorted array of fingerprints holds ``target``'s.  A target that names no record but shares a
    64-bit fingerprint with one passes: ~n / 2**64 for each such link among n ids (5e-13 at 10 million)."""
    import numpy as np

    wanted = np.uint64(id_hash(target))
    at = int(np.searchsorted(fingerprints, wanted))
    return at < len(fingerprints) and fingerprints[at] == wanted


class _Resolver:
    """Finds link targets in WARC files outside the verified set, reading each file at most once."""

    def __init__(self, verified: Iterable[Path]) -> None:
        self._verified = {path.resolve() for path in verified}
        self._ids: dict[Path, Any] = {}  # the sorted fingerprints of a file's ids (none for a file verified)
        self._folders: dict[Path, list[Path]] = {}

    def in_folder(self, target: str, folder: Path) -> bool:
        """In another WARC of the same folder (the same crawl)."""
        if folder not in self._folders:
            self._folders[folder] = warc_files_in(folder).closed
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
                self._ids[path] = _fingerprints([] if path.resolve() in self._verified
                                                else [verify_warc(path, deep=False)])
            if _holds(self._ids[path], target):
                return True
        return False


def _check_links(reports: Sequence[FileReport]) -> None:
    import numpy as np

    known = _fingerprints(reports)
    resolver = _Resolver(report.path for report in reports)
    for report in reports:
        folder = report.path.resolve().parent
        root = archive_root_of(report.path)
        # Links to a record of another file verified resolve by fingerprint; the rest are read again, exactly.
        targets = np.frombuffer(report.unresolved.targets, dtype=np.uint64)
        wanted = np.flatnonzero(~np.isin(targets, known)).tolist()
        for link in _exact_links(report, wanted):
            if resolver.in_folder(link.target, folder):
                continue
            refers = link.header == "WARC-Refers-To"
            if refers and root is not None and resolver.in_archive(link.target, root):
                continue
            report.add(*_unresolved(link, root))


def _unresolved(link: Link, root: Path | None) -> tuple[str, int, str | None, str]:
    """The finding for a link that names no record found: damage only where scraper's writer guarantees one."""
    what = f"{link.header} {link.target}"
    if not link.by_scraper:
        where = "the files verified" + (", their folders or the archive" if root is not None else " or their folders")
        return ("unresolved-link", link.offset, link.source_id,
                f"{what} names no record in {where} (the WARC standard lets a record refer to one in another file)")
    if link.header != "WARC-Refers-To":
        return "broken-link", link.offset, link.source_id, f"{what} names no record of this crawl's WARC files"
    if root is None:
        return ("unresolved-link", link.offset, link.source_id,
                f"{what} is not in the files verified, and the file is not in an archive (<root>/crawls/<crawl_id>/) "
                f"to look further")
    return "broken-link", link.offset, link.source_id, f"{what} names no record in any WARC under {root}"


def _check_duplicates_across(reports: Sequence[FileReport]) -> None:
    import numpy as np

    columns = [np.frombuffer(report.known.hashes, dtype=np.uint64) for report in reports]
    values, counts = np.unique(np.concatenate(columns) if columns else np.empty(0, np.uint64), return_counts=True)
    repeated = values[counts > 1]  # the fingerprints of more than one first use: usually none
    if not len(repeated):
        return
    first: dict[str, tuple[Path, int]] = {}
    for report, column in zip(reports, columns, strict=True):
        for index in np.flatnonzero(np.isin(column, repeated)).tolist():
            # The exact id, read again: two ids that share a fingerprint are not a duplicate.
            offset = report.known.offsets[index]
            record_id = _exact_id(report.path, offset, int(column[index]))
            if record_id is None:  # the file changed since: nothing to compare
                continue
            if record_id in first:
                where, at = first[record_id]
                report.add("duplicate-id", offset, record_id,
                           f"WARC-Record-ID already used in {where.name} at offset {at}")
            else:
                first[record_id] = (report.path, offset)


def verify_files(paths: Sequence[Path], *, deep: bool = True, progress: Callable[[int], None] | None = None,
                 jobs: int = 1, warn: Callable[[str], None] | None = None) -> list[FileReport]:
    """Verify each file, then what spans files: duplicate ids and (when ``deep``) links.

    ``progress`` is told the bytes read, as they are read (in all, the files' sizes).  With ``jobs`` over 1,
    that many processes verify a file each at a time; the reports are the same, in the same order.  ``warn``
    hears why, if the workers cannot start (the files are then verified in this process).
    """
    reports = _in_workers(paths, deep, jobs, progress, warn) if jobs > 1 and len(paths) > 1 else None
    if reports is None:
        reports = [verify_warc(path, deep=deep, progress=progress) for path in paths]
    _check_duplicates_across(reports)
    if deep:
        _check_links(reports)
    for report in reports:
        report.faults.sort(key=_position)
        report.warnings.sort(key=_position)
    return reports


# -- several files at once: one per worker process ----------------------------------------------------------
_read_in_workers: Any = None  # in a worker: the bytes all workers have read (a multiprocessing.Value)


def _start_worker(read: Any) -> None:
    # Ctrl-C is the parent's to handle: it stops the workers itself, and an idle worker would print a traceback.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    global _read_in_workers
    _read_in_workers = read


def _tell_read(count: int) -> None:
    with _read_in_workers.get_lock():
        _read_in_workers.value += count


def _verify_in_worker(path: Path, deep: bool) -> FileReport:
    # What comes back is settled (FileReport.settle): the findings and 16 bytes an id, never a file's strings.
    return verify_warc(path, deep=deep, progress=_tell_read)


def _in_workers(paths: Sequence[Path], deep: bool, jobs: int, progress: Callable[[int], None] | None,
                warn: Callable[[str], None] | None) -> list[FileReport] | None:
    """Each file verified by one of ``jobs`` processes, the reports in the order of ``paths``; None if the
    processes cannot start."""
    import multiprocessing
    from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
    from concurrent.futures.process import BrokenProcessPool

    # forkserver, not fork: a fork of a process with threads (a bar's refresh thread) may copy a held lock.
    context = multiprocessing.get_context("forkserver")
    read = context.Value("q", 0)
    pool = ProcessPoolExecutor(max_workers=min(jobs, len(paths)), mp_context=context, initializer=_start_worker,
                               initargs=(read,))
    finished = False
    try:
        try:
            futures: list[Future[FileReport]] = [pool.submit(_verify_in_worker, path, deep) for path in paths]
        except OSError as exc:
            # The workers cannot start (the forkserver's socket under a $TMPDIR too long for AF_UNIX, no
            # processes left): the same reports, from this process alone.
            if warn is not None:
                warn(f"cannot start verify workers ({exc.strerror or exc}): verifying in this process")
            return None
        told, waiting = 0, set(futures)
        while waiting:
            _, waiting = wait(waiting, timeout=0.2, return_when=FIRST_COMPLETED)
            if progress is not None and read.value > told:
                progress(read.value - told)
                told = read.value
        reports: list[FileReport] = []
        died = False
        for path, future in zip(paths, futures, strict=True):
            try:
                reports.append(future.result())
            except BrokenProcessPool:  # a worker killed (out of memory?): the files not done are verified here
                if warn is not None and not died:
                    warn("a verify worker died (out of memory? killed?): verifying the rest in this process")
                died = True
                reports.append(verify_warc(path, deep=deep, progress=progress))
        finished = True
        return reports
    finally:
        if not finished:  # interrupted: the workers go now, not after the file each is reading
            for process in list((getattr(pool, "_processes", None) or {}).values()):
                process.terminate()
        pool.shutdown(wait=finished, cancel_futures=True)


def summarise(reports: Sequence[FileReport], max_faults: int = 20) -> dict[str, Any]:
    """The manifest's ``verify`` entry: counts, the first faults and warnings (with their file's name), ok."""
    faults = [{"file": report.path.name, **fault.as_dict()} for report in reports for fault in report.faults]
    warnings = [{"file": report.path.name, **warning.as_dict()} for report in reports for warning in report.warnings]
    return {"files": len(reports), "records": sum(r.records for r in reports), "faults": faults[:max_faults],
            "warnings": warnings[:max_faults], "ok": all(r.ok for r in reports)}
