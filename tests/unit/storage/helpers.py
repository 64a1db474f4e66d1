"""WARC files built record by record for the storage tests (and the CLI's), and the members of a
file to damage."""

from __future__ import annotations

import base64
import gzip
import hashlib
import re
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import brotli

from scraper.records import WarcPointer
from scraper.storage.warc import (
    IDENTICAL_PAYLOAD,
    HttpExchange,
    RefersTo,
    WarcFileWriter,
    metadata_uri,
)

MOMENT = datetime(2024, 3, 1, 12, 30, 45, 123456, tzinfo=UTC)
HTML = b"<!doctype html><html><head><title>Hello</title></head><body><p>" + b"Words. " * 300 + b"</p></body></html>"


def exchange(url: str, body: bytes = HTML, headers: list[tuple[str, str]] | None = None,
             truncated: str | None = None) -> HttpExchange:
    return HttpExchange(
        url=url, method="GET", request_headers=[("Host", "example.test"), ("User-Agent", "test")], request_body=b"",
        protocol="HTTP/1.1", status=200, reason="OK",
        response_headers=headers if headers is not None else [("Content-Type", "text/html"),
                                                               ("Content-Length", str(len(body)))],
        response_body=body, fetched_at=MOMENT, remote_ip="127.0.0.1", truncated=truncated,
    )


def sha1_b32(data: bytes) -> str:
    return "sha1:" + base64.b32encode(hashlib.sha1(data).digest()).decode()


# -- making WARCs, and damaging copies of them ----------------------------------------------------------
@dataclass
class Warc:
    path: Path
    records: int
    responses: list[WarcPointer]  # in writing order: plain html, gzip, br, chunked, truncated


def write_warc(directory: Path, prefix: str = "scraper") -> Warc:
    """A WARC with the kinds of exchange a crawl writes: plain, gzip, br and de-chunked bodies, a truncated one,
    a metadata record and a revisit."""
    writer = WarcFileWriter(directory, prefix=prefix, host="test")
    gzipped, brotlied = gzip.compress(HTML, mtime=0), brotli.compress(HTML)
    exchanges = [
        exchange("http://example.test/plain"),
        exchange("http://example.test/gzip", gzipped, [("Content-Type", "text/html"), ("Content-Encoding", "gzip"),
                                                       ("Content-Length", str(len(gzipped)))]),
        exchange("http://example.test/br", brotlied, [("Content-Type", "text/html"), ("Content-Encoding", "br"),
                                                      ("Content-Length", str(len(brotlied)))]),
        exchange("http://example.test/chunked", HTML, [("Content-Type", "text/html"),
                                                       ("X-Archive-Orig-Transfer-Encoding", "chunked")]),
        exchange("http://example.test/cut", HTML[:100], [("Content-Type", "text/html"), ("Content-Encoding", "gzip"),
                                                         ("Content-Length", "99999")], truncated="length"),
    ]
    responses = [writer.write_exchange(e).response for e in exchanges]
    writer.write_metadata(metadata_uri(exchanges[0].url), responses[0].record_id, b'{"page": 1}',
                          "application/json", MOMENT)
    writer.write_revisit(exchange("http://example.test/plain"), profile=IDENTICAL_PAYLOAD, refers_to=RefersTo(
        responses[0].record_id, "http://example.test/plain", "2024-03-01T12:30:45.123456Z", sha1_b32(HTML)))
    writer.close()
    return Warc(directory / writer.closed_files[0], writer.records_written, responses)


def members(path: Path) -> list[tuple[int, bytes]]:
    """The file's gzip members, each with its offset."""
    data = path.read_bytes()
    out, offset = [], 0
    while offset < len(data):
        inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
        inflater.decompress(data[offset:])
        end = len(data) - len(inflater.unused_data)
        out.append((offset, data[offset:end]))
        offset = end
    return out


def member_of(path: Path, offset: int) -> int:
    return [start for start, _ in members(path)].index(offset)


def replace_member(path: Path, index: int, new: bytes | None, copy_to: Path) -> Path:
    parts = [member for _, member in members(path)]
    if new is None:
        del parts[index]
    else:
        parts[index] = new
    copy_to.write_bytes(b"".join(parts))
    return copy_to


def set_header(head: bytes, name: str, value: str) -> bytes:
    pattern = re.compile(rb"^" + re.escape(name.encode()) + rb": [^\r]*(?=\r\n)", re.MULTILINE | re.IGNORECASE)
    assert pattern.search(head), name
    return pattern.sub(f"{name}: {value}".encode(), head, count=1)


def edit_record(member: bytes, *, head: Callable[[bytes], bytes] = lambda h: h,
                block: Callable[[bytes], bytes] = lambda b: b, fix_length: bool = True,
                fix_digests: bool = True) -> bytes:
    """Rewrite one record (one gzip member): edit its WARC head and its block, then, as asked, make its
    Content-Length and digests agree again, so that only the intended fault remains."""
    record = gzip.decompress(member)
    warc_head, _, rest = record.partition(b"\r\n\r\n")
    assert rest.endswith(b"\r\n\r\n")
    new_head, new_block = head(warc_head + b"\r\n"), block(rest[:-4])
    if fix_length:
        new_head = set_header(new_head, "Content-Length", str(len(new_block)))
    if fix_digests:
        new_head = set_header(new_head, "WARC-Block-Digest", sha1_b32(new_block))
    return gzip.compress(new_head + b"\r\n" + new_block + b"\r\n\r\n")
