"""What scraper.compat.warcio assumes of warcio's internals: fails when an upgrade changes them underneath."""

from __future__ import annotations

import contextlib
import io

from warcio.archiveiterator import ArchiveIterator
from warcio.recordbuilder import RecordBuilder
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import BufferWARCWriter

from scraper.compat import warcio as compat_warcio

BODY = b"<p>caf\xc3\xa9</p>"


def _response(writer: BufferWARCWriter, headers: StatusAndHeaders) -> bytes:
    record = writer.create_warc_record("https://example.com/", "response", payload=io.BytesIO(BODY),
                                       length=len(BODY), http_headers=headers)
    writer.write_record(record)
    return bytes(writer.get_contents())


def test_raw_headers_are_written_and_digested_byte_for_byte() -> None:
    value = "caf\xe9"  # one latin-1 octet, as a header value decoded from the wire
    plain = _response(BufferWARCWriter(gzip=False), StatusAndHeaders("200 OK", [("X-Name", value)], "HTTP/1.1"))
    assert b"X-Name: caf\xe9\r\n" not in plain, "warcio now keeps non-ASCII header bytes: RawHeaders may go"
    raw = _response(BufferWARCWriter(gzip=False),
                    compat_warcio.RawHeaders("200 OK", [("X-Name", value)], "HTTP/1.1"))
    assert b"X-Name: caf\xe9\r\n" in raw
    (record,) = ArchiveIterator(io.BytesIO(raw), check_digests="raise")  # the block digest covers those bytes
    record.content_stream().read()
    assert record.rec_headers.get_header("WARC-Block-Digest")


def test_a_writer_can_leave_out_one_types_payload_digest() -> None:
    assert "revisit" in RecordBuilder.NO_PAYLOAD_DIGEST_TYPES
    writer = BufferWARCWriter(gzip=False)
    compat_warcio.without_payload_digest(writer, "response")
    written = _response(writer, StatusAndHeaders("200 OK", [], "HTTP/1.1"))
    assert b"WARC-Payload-Digest" not in written and b"WARC-Block-Digest" in written
    assert "response" not in BufferWARCWriter.NO_PAYLOAD_DIGEST_TYPES, "the class's own tuple was changed"
    assert b"WARC-Payload-Digest" in _response(BufferWARCWriter(gzip=False), StatusAndHeaders("200 OK", [], "HTTP/1.1"))


def test_the_iterator_counts_a_record_not_followed_by_crlf_crlf() -> None:
    good = _response(BufferWARCWriter(gzip=False), StatusAndHeaders("200 OK", [], "HTTP/1.1"))
    iterator = ArchiveIterator(io.BytesIO(good + good))
    assert len(list(iterator)) == 2 and compat_warcio.framing_errors(iterator) == 0
    torn = good.removesuffix(b"\r\n\r\n") + b"XX\r\n\r\n"  # the Content-Length stops two bytes short
    iterator = ArchiveIterator(io.BytesIO(torn + good))
    with contextlib.redirect_stderr(io.StringIO()):  # warcio says so on stderr as well
        list(iterator)
    assert compat_warcio.framing_errors(iterator) == 1
