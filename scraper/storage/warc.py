"""WARC/1.1 writing and reading: the only module that imports warcio.

Vocabulary follows warcio: ``create_*`` builds a record, ``write_*`` puts it on
disk, ``iter_*`` reads records back.  Each record is compressed as its own gzip
member (WARC 1.1 Annex D), so the offset and length that a :class:`~scraper.records.WarcPointer`
holds address exactly one record, the way CDXJ indexes and pywb expect.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import io
import tempfile
import zlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, BinaryIO
from urllib.parse import urlsplit

from warcio.archiveiterator import ArchiveIterator
from warcio.recordbuilder import RecordBuilder
from warcio.warcwriter import BufferWARCWriter

from scraper.compat.warcio import RawHeaders, framing_errors, without_payload_digest
from scraper.records import WarcPointer

# Where WARC files go and what they are called is the archive layout's.
from scraper.storage.layout import LocalWarcFolder

if TYPE_CHECKING:
    from scraper.storage.backends import WarcDestination

WARC_VERSION = "WARC/1.1"
# Where a WARC file is closed and the next begun, unless told otherwise: `scraper crawl --warc-max-size`'s default,
# and ARCHIVE_WARC_MAX_BYTES's through `scrapy crawl`.  1 GiB, as the CLI reads "1G" (sizes are binary).
DEFAULT_MAX_BYTES = 1024**3
# warcio hard-codes gzip level 9; level 6 costs ~15% less CPU for ~1% more bytes.
GZIP_LEVEL = 6

Headers = Sequence[tuple[str, str]]


def format_warc_date(moment: datetime) -> str:
    """WARC-Date as WARC 1.1 wants it: UTC, ``Z`` suffix, microseconds.

    ``datetime.isoformat()`` would give ``+00:00``, which cdxj-indexer, pywb and
    py-wacz reject.
    """
    moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass(frozen=True)
class HttpExchange:
    """One HTTP request and the response to it, as they crossed the wire."""

    url: str
    method: str
    request_headers: Headers
    request_body: bytes
    protocol: str
    status: int
    reason: str
    response_headers: Headers
    response_body: bytes
    fetched_at: datetime
    remote_ip: str | None = None
    truncated: str | None = None  # WARC-Truncated reason, e.g. "length"
    # Extension fields of the request record (WARC 1.1 §4): what the fields of the standard cannot say
    # about how the request came to be made (Scraper-Browser-Request: made for a page a browser rendered).
    request_fields: tuple[tuple[str, str], ...] = ()


IDENTICAL_PAYLOAD = "http://netpreserve.org/warc/1.1/revisit/identical-payload-digest"
SERVER_NOT_MODIFIED = "http://netpreserve.org/warc/1.1/revisit/server-not-modified"


@dataclass(frozen=True)
class RefersTo:
    """The response record a revisit refers to: its WARC-Refers-To* headers, and the payload digest it shares.

    Named as the page record's ``refers_to``, which says the same about a revisit (and where the record is).
    """

    record_id: str
    target_uri: str
    warc_date: str
    payload_digest: str


def payload_digest(body: bytes) -> str:
    """WARC-Payload-Digest of a body as stored: sha1, base32."""
    return "sha1:" + base64.b32encode(hashlib.sha1(body).digest()).decode("ascii")


@dataclass(frozen=True)
class ExchangeLocation:
    request: WarcPointer
    response: WarcPointer
    payload_digest: str
    warc_date: str


def request_target(url: str) -> str:
    """The request-target of the request line: path *and* query."""
    parts = urlsplit(url)
    target = parts.path or "/"
    if parts.query:
        target += "?" + parts.query
    return target


def _gzip_member(data: bytes) -> bytes:
    compressor = zlib.compressobj(GZIP_LEVEL, zlib.DEFLATED, zlib.MAX_WBITS + 16)
    return compressor.compress(data) + compressor.flush()


class WarcFileWriter:
    """Writes records into rotating WARC files that go to a :class:`~scraper.storage.backends.WarcDestination`.

    A new file starts when the current one reaches ``max_bytes``; every file begins with its own
    ``warcinfo`` record.  The destination names the files and closes them durably; by default it is
    the folder ``directory`` (:class:`~scraper.storage.layout.LocalWarcFolder`: ``NAME.warc.gz.open``
    while written, renamed when closed, so that a reader never mistakes a file being written for a
    finished one), with ``prefix``, ``host`` and ``serial_start`` naming its files.
    """

    def __init__(self, directory: Path | None = None, prefix: str = "scraper", max_bytes: int = DEFAULT_MAX_BYTES,
                 info: dict[str, str] | None = None, host: str | None = None, serial_start: int = 0, *,
                 destination: WarcDestination | None = None) -> None:
        if destination is None:
            if directory is None:
                raise TypeError("WarcFileWriter needs a directory or a destination")
            destination = LocalWarcFolder(directory, prefix=prefix, host=host, serial_start=serial_start)
        elif directory is not None:
            raise TypeError("WarcFileWriter takes a directory or a destination, not both")
        self.destination = destination
        self.max_bytes = max_bytes
        self.info = dict(info or {})
        self._builder = RecordBuilder(warc_version=WARC_VERSION)
        self._fh: BinaryIO | None = None
        self._name: str | None = None
        self._warcinfo_id: str | None = None
        # Every record this writer put on disk (warcinfo, request, response, revisit, metadata) and
        # their compressed bytes: the crawl summary's figures, which `scraper verify` reads back.
        self.records_written = 0
        self.bytes_written = 0

    # -- files -------------------------------------------------------------
    @property
    def current_file(self) -> str | None:
        return self._name

    @property
    def closed_files(self) -> list[str]:
        return self.destination.closed_files

    @property
    def files_opened(self) -> int:
        return self.destination.files_begun

    def _open_next(self) -> None:
        self._name, self._fh = self.destination.begin()
        warcinfo = self.create_warcinfo_record(self._name)
        self._warcinfo_id = warcinfo.rec_headers.get_header("WARC-Record-ID")
        self._write(warcinfo)

    def _ensure_room(self) -> None:
        if self._fh is not None and self._fh.tell() >= self.max_bytes:
            self._close_current()
        if self._fh is None:
            self._open_next()

    def _close_current(self) -> None:
        if self._fh is None or self._name is None:
            return
        self.destination.finish(self._name, self._fh)
        self._fh = None
        self._name = None

    def close(self) -> None:
        self._close_current()

    def abandon(self) -> None:
        """After a failed write: close the file as it is, keeping its ``.open`` name, raising nothing.

        Its last record may be torn; ``scraper verify --repair`` (or a resume) cuts it off and
        gives the file its final name.
        """
        if self._fh is not None and self._name is not None:
            self.destination.abandon(self._name, self._fh)
        self._fh = None
        self._name = None

    def flush(self) -> None:
        if self._fh is not None:
            self._fh.flush()

    # -- records -----------------------------------------------------------
    def create_warcinfo_record(self, filename: str) -> Any:
        fields = {"software": "scraper", "format": "WARC File Format 1.1",
                  "conformsTo": "https://iipc.github.io/warc-specifications/specifications/warc-format/warc-1.1/"}
        fields.update(self.info)
        return self._builder.create_warcinfo_record(filename, fields)

    def _write(self, record: Any, payload_digest: bool = True) -> WarcPointer:
        """Serialise one record, compress it as one gzip member, append it."""
        assert self._fh is not None and self._name is not None
        if self._warcinfo_id and record.rec_type != "warcinfo":
            record.rec_headers.replace_header("WARC-Warcinfo-ID", self._warcinfo_id)
        buffer = BufferWARCWriter(gzip=False, warc_version=WARC_VERSION)
        if not payload_digest:
            record.rec_headers.remove_header("WARC-Payload-Digest")
            without_payload_digest(buffer, record.rec_type)
        buffer.write_record(record)
        member = _gzip_member(buffer.get_contents())
        offset = self._fh.tell()
        # One write per record: a crash leaves at worst one torn member at the end.
        self._fh.write(member)
        self.records_written += 1
        self.bytes_written += len(member)
        return WarcPointer(file=self._name, offset=offset, length=len(member),
                           record_id=record.rec_headers.get_header("WARC-Record-ID"))

    def write_exchange(self, exchange: HttpExchange) -> ExchangeLocation:
        """Write a ``request`` + ``response`` pair linked by WARC-Concurrent-To."""
        self._ensure_room()
        warc_date = format_warc_date(exchange.fetched_at)
        response_headers = {"WARC-Date": warc_date}
        if exchange.remote_ip:
            response_headers["WARC-IP-Address"] = exchange.remote_ip
        if exchange.truncated:
            response_headers["WARC-Truncated"] = exchange.truncated
        status_line = f"{exchange.status} {exchange.reason}".rstrip()
        response = self._builder.create_warc_record(
            exchange.url, "response",
            payload=io.BytesIO(exchange.response_body), length=len(exchange.response_body),
            http_headers=RawHeaders(status_line, list(exchange.response_headers), protocol=exchange.protocol),
            warc_headers_dict=response_headers,
        )
        digest = response.rec_headers.get_header("WARC-Payload-Digest")
        return self._write_pair(exchange, response, digest, warc_date)

    def write_revisit(self, exchange: HttpExchange, *, profile: str, refers_to: RefersTo,
                      http_status_line: str | None = None,
                      http_headers: Headers | None = None) -> ExchangeLocation:
        """A ``request`` + ``revisit`` pair: the payload is that of ``refers_to``.

        ``profile`` is :data:`IDENTICAL_PAYLOAD` or :data:`SERVER_NOT_MODIFIED`.  The
        revisit's HTTP block is the response's own headers, or (for a 304) the given
        status line and headers: the original's, freshened by the 304's, so that replay
        tools serve the original content instead of an empty 304.
        """
        self._ensure_room()
        warc_date = format_warc_date(exchange.fetched_at)
        status_line = http_status_line or f"{exchange.status} {exchange.reason}".rstrip()
        headers = list(http_headers if http_headers is not None else exchange.response_headers)
        warc_headers = {
            "WARC-Date": warc_date, "WARC-Profile": profile, "WARC-Refers-To": refers_to.record_id,
            "WARC-Refers-To-Target-URI": refers_to.target_uri, "WARC-Refers-To-Date": refers_to.warc_date,
            "WARC-Payload-Digest": refers_to.payload_digest,
        }
        if exchange.remote_ip:
            warc_headers["WARC-IP-Address"] = exchange.remote_ip
        revisit = self._builder.create_warc_record(
            exchange.url, "revisit", payload=io.BytesIO(b""), length=0,
            http_headers=RawHeaders(status_line, headers, protocol=exchange.protocol),
            warc_headers_dict=warc_headers,
        )
        return self._write_pair(exchange, revisit, refers_to.payload_digest, warc_date)

    def _write_pair(self, exchange: HttpExchange, response: Any, payload_digest: str,
                    warc_date: str) -> ExchangeLocation:
        response_id = response.rec_headers.get_header("WARC-Record-ID")
        # warcio puts `protocol` first (a status line); a request line ends with it instead.
        request_line = f"{exchange.method} {request_target(exchange.url)} {exchange.protocol}"
        request = self._builder.create_warc_record(
            exchange.url, "request",
            payload=io.BytesIO(exchange.request_body), length=len(exchange.request_body),
            http_headers=RawHeaders(request_line, list(exchange.request_headers), protocol="",
                                     is_http_request=True),
            warc_headers_dict={"WARC-Date": warc_date, "WARC-Concurrent-To": response_id,
                               **dict(exchange.request_fields)},
        )
        request_location = self._write(request)
        response_location = self._write(response)
        return ExchangeLocation(request_location, response_location, payload_digest, warc_date)

    def write_metadata(self, target_uri: str, concurrent_to: str, body: bytes,
                       content_type: str, fetched_at: datetime) -> WarcPointer:
        """A ``metadata`` record about an earlier response (e.g. its extracted page record)."""
        self._ensure_room()
        warc_headers = {"WARC-Date": format_warc_date(fetched_at), "WARC-Concurrent-To": concurrent_to}
        record = self._builder.create_warc_record(
            target_uri, "metadata", payload=io.BytesIO(body), length=len(body),
            warc_content_type=content_type, warc_headers_dict=warc_headers,
        )
        # Readers disagree on what the "payload" of an HTTP message in a metadata record is
        # (warcio: the block; FastWARC: the body after the head): give it a block digest only.
        return self._write(record, payload_digest=not content_type.startswith("application/http"))

    def write_resource(self, target_uri: str, concurrent_to: str, body: bytes, content_type: str,
                       fetched_at: datetime) -> WarcPointer:
        """A ``resource`` record made during a capture, not received over HTTP (a page's rendered DOM, a
        screenshot), tied to that capture's response by WARC-Concurrent-To."""
        self._ensure_room()
        warc_headers = {"WARC-Date": format_warc_date(fetched_at), "WARC-Concurrent-To": concurrent_to}
        record = self._builder.create_warc_record(
            target_uri, "resource", payload=io.BytesIO(body), length=len(body),
            warc_content_type=content_type, warc_headers_dict=warc_headers,
        )
        return self._write(record)


def rendered_uri(kind: str, url: str) -> str:
    """The target URI of what rendering a page made (``dom``, ``screenshot``): never the page's own, so
    replay serves the page as it was received, not its DOM."""
    return f"urn:{kind}:{url}"


def metadata_uri(url: str) -> str:
    """A target URI for our metadata records that never shadows the page in replay."""
    return "metadata://" + url.split("://", 1)[-1]


# -- reading -------------------------------------------------------------------
@dataclass(frozen=True)
class StoredRecord:
    rec_type: str
    record_id: str
    target_uri: str | None
    date: str | None
    offset: int
    length: int
    warc_headers: list[tuple[str, str]]
    http_status_line: str | None
    http_headers: list[tuple[str, str]]
    content: bytes  # HTTP payload as stored (still content-encoded), or the whole block


def _stored(record: Any, offset: int, length: int) -> StoredRecord:
    http = record.http_headers
    return StoredRecord(
        rec_type=record.rec_type,
        record_id=record.rec_headers.get_header("WARC-Record-ID"),
        target_uri=record.rec_headers.get_header("WARC-Target-URI"),
        date=record.rec_headers.get_header("WARC-Date"),
        offset=offset,
        length=length,
        warc_headers=list(record.rec_headers.headers),
        http_status_line=(f"{http.protocol} {http.statusline}" if http is not None else None),
        http_headers=list(http.headers) if http is not None else [],
        content=record.raw_stream.read(),
    )


def iter_records(path: Path) -> Iterator[StoredRecord]:
    """Every record of a WARC file, with its offset and length in the file."""
    with open(path, "rb") as fh:
        iterator = ArchiveIterator(fh)
        for record in iterator:
            # Read the content first: asking for the offset makes warcio skip to the record's end.
            stored = _stored(record, -1, -1)
            yield replace(stored, offset=iterator.get_record_offset(), length=iterator.get_record_length())


def read_record_at(path: Path, offset: int) -> StoredRecord:
    """The record that starts at ``offset`` (a WARC pointer's file and offset)."""
    with open(path, "rb") as fh:
        fh.seek(offset)
        for record in ArchiveIterator(fh):
            return _stored(record, offset, -1)
    raise ValueError(f"no WARC record at offset {offset} of {path}")


# -- reading bodies, bounded (scraper import, scraper reextract) -----------------------------------------
class TornRecord(ValueError):
    """The file ends inside a record: fewer bytes than its Content-Length says."""


class FramingError(ValueError):
    """A record is not followed by CRLF CRLF where its Content-Length says it ends."""


def _last_transfer_coding(http: Any) -> str:
    value = http.get_header("Transfer-Encoding") if http is not None else None
    return (value or "").rsplit(",", 1)[-1].strip().lower()


def _payload_stream(record: Any) -> Any:
    """The HTTP payload with chunked transfer coding undone; content codings are left to the reader.

    warcio's ChunkedDataReader passes a body that is not valid chunking through as it is,
    as browsers and replay tools do.
    """
    if _last_transfer_coding(record.http_headers) == "chunked":
        from warcio.bufferedreaders import ChunkedDataReader

        return ChunkedDataReader(record.raw_stream)
    return record.raw_stream


def _read_at_most(stream: Any, limit: int) -> tuple[bytes, bool]:
    """Up to ``limit`` bytes of a stream, and whether it had more: never more than limit + 64 KiB in memory."""
    data = bytearray()  # grown in place: the bytes are copied once more, at the end, not twice
    while len(data) <= limit:
        chunk = stream.read(min(65536, limit + 1 - len(data)))
        if not chunk:
            break
        data += chunk
    cut = len(data) > limit
    del data[limit:]
    return bytes(data), cut


def _check_whole(record: Any, offset: int) -> None:
    """Raise TornRecord when the file ended before the record did (warcio reads such a record quietly)."""
    while record.raw_stream.read(1 << 20):  # the rest, unread: never held
        pass
    if getattr(record.raw_stream, "limit", 0) > 0:
        raise TornRecord(f"the file ends inside the record at offset {offset}")


@dataclass(frozen=True)
class PayloadRecord:
    """A record whose ``content`` is at most ``max_bytes`` of its payload, chunked transfer coding undone."""

    stored: StoredRecord
    cut: bool  # the payload went on past max_bytes


def _payload_record(record: Any, offset: int, length: int, max_bytes: int) -> PayloadRecord:
    stored = _stored_head(record, offset, length)
    content, cut = _read_at_most(_payload_stream(record), max_bytes)
    return PayloadRecord(replace(stored, content=content), cut)


def _stored_head(record: Any, offset: int, length: int) -> StoredRecord:
    http = record.http_headers
    return StoredRecord(
        rec_type=record.rec_type, record_id=record.rec_headers.get_header("WARC-Record-ID"),
        target_uri=record.rec_headers.get_header("WARC-Target-URI"), date=record.rec_headers.get_header("WARC-Date"),
        offset=offset, length=length, warc_headers=list(record.rec_headers.headers),
        http_status_line=(f"{http.protocol} {http.statusline}" if http is not None else None),
        http_headers=list(http.headers) if http is not None else [], content=b"")


class DamagedWarc(ValueError):
    """A WARC file that cannot be read to its end; the message says what and where, in one line."""


def _damage(exc: Exception, iterator: Any, offset: int, first: bool) -> DamagedWarc:
    """What went wrong, in one line: warcio's messages hold the bytes it choked on, and span lines."""
    text = " ".join(str(exc).split())
    if isinstance(exc, (TornRecord, FramingError, DamagedWarc)):
        return DamagedWarc(text)
    if framing_errors(iterator):
        return DamagedWarc(f"a record before offset {offset} is not followed by CRLF CRLF (a wrong Content-Length?)")
    if "non-chunked gzip" in text:
        return DamagedWarc("one gzip stream for the whole file, not one per record: its records cannot be addressed")
    if first and not isinstance(exc, (zlib.error, EOFError)):
        return DamagedWarc("not a WARC file")
    if isinstance(exc, (zlib.error, EOFError, OSError)):
        return DamagedWarc(f"damaged gzip data at offset {offset} ({type(exc).__name__})")
    return DamagedWarc(f"no WARC record where one should start, at offset {offset} (damaged data?)")


def _check_head(record: Any, offset: int, first: bool) -> None:
    """warcio reads leniently: text that is no WARC as an ARC record, a record cut inside its
    headers as one without a type."""
    if record.format != "warc":
        raise DamagedWarc("not a WARC file" if first else f"no WARC record where one should start, at offset {offset}")
    headers = record.rec_headers
    if record.rec_type is None or not headers.get_header("WARC-Record-ID") or \
            headers.get_header("Content-Length") is None:
        raise TornRecord(f"the record at offset {offset} is incomplete (the file ends inside it, or it is damaged)")


def scan_records(path: Path, content_bytes: Callable[[StoredRecord], int]) -> Iterator[PayloadRecord]:
    """Every record of a WARC file, streamed, with at most ``content_bytes(head)`` bytes of its payload.

    Never holds a whole record.  Raises DamagedWarc (one line) when the file cannot be read to its
    end: not a WARC, a damaged gzip member, a record cut short by the end of the file, a record not
    followed by CRLF CRLF; the records before the damage have been yielded.  OSError when the file
    cannot be opened.
    """
    with open(path, "rb") as fh:
        iterator = ArchiveIterator(fh)
        records = iter(iterator)
        first = True
        while True:
            offset = iterator.offset
            try:
                # warcio prints a framing problem to stderr and reads on: it is raised here instead.
                with contextlib.redirect_stderr(io.StringIO()):
                    record = next(records, None)
                if framing_errors(iterator):
                    raise FramingError(f"a record before offset {iterator.offset} is not followed by CRLF CRLF "
                                       f"(a wrong Content-Length?)")
                if record is None:
                    return
                offset = iterator.offset
                _check_head(record, offset, first)
                head = _stored_head(record, offset, -1)
                limit = content_bytes(head)
                read = _payload_record(record, offset, -1, limit) if limit > 0 else PayloadRecord(head, False)
                _check_whole(record, offset)
                with contextlib.redirect_stderr(io.StringIO()):
                    length = iterator.get_record_length()
            except Exception as exc:
                raise _damage(exc, iterator, offset, first) from exc
            first = False
            yield PayloadRecord(replace(read.stored, length=length), read.cut)


def read_payload_at(path: Path, offset: int, max_bytes: int) -> PayloadRecord:
    """The record at ``offset`` with at most ``max_bytes`` of its payload (chunked transfer coding undone)."""
    with open(path, "rb") as fh:
        fh.seek(offset)
        for record in ArchiveIterator(fh):
            return _payload_record(record, offset, -1, max_bytes)
    raise ValueError(f"no WARC record at offset {offset} of {path}")


# -- buffering a record for another reader (cdxj-indexer, as py-wacz runs it), bounded ---------------------------
SPOOL_IN_MEMORY = 1 << 16


def spool_content(record: Any, max_bytes: int) -> IO[bytes]:
    """At most ``max_bytes`` of a warcio record's content (``content_stream()``, its HTTP payload as warcio
    decodes it), in a temporary file that stays in memory up to 64 KiB.

    cdxj-indexer buffers each record's content whole when py-wacz runs it (to join requests and
    responses): a gzip bomb of kilobytes in a WARC would put gigabytes into a temporary file.
    What is read from the buffer is the start of a request's body (the query of a POST) and a
    warcinfo record's fields; the WARC file itself is copied into the package as it is.
    """
    spool = tempfile.SpooledTemporaryFile(SPOOL_IN_MEMORY)  # noqa: SIM115 - closed by its reader
    stream = record.content_stream()
    left = max_bytes
    while left > 0:
        chunk = stream.read(min(SPOOL_IN_MEMORY, left))
        if not chunk:
            break
        spool.write(chunk)
        left -= len(chunk)
    spool.seek(0)
    return spool

