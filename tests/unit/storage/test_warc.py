"""storage.warc: write records, read them back with warcio and by hand."""

from __future__ import annotations

import base64
import gzip
import hashlib
import zlib
from datetime import UTC, datetime
from pathlib import Path

import pytest

from scraper import settings
from scraper.cli._common import parse_size
from scraper.cli.crawl import crawl
from scraper.reextract import page_html, payload_codings
from scraper.storage.layout import OPEN_SUFFIX, warc_file_name
from scraper.storage.warc import (
    DEFAULT_MAX_BYTES,
    DamagedWarc,
    HttpExchange,
    WarcFileWriter,
    format_warc_date,
    iter_records,
    metadata_uri,
    read_payload_at,
    read_record_at,
    request_target,
    scan_records,
)
from tests.unit.helpers.response_warc import HTML, write_warc

MOMENT = datetime(2024, 3, 1, 12, 30, 45, 123456, tzinfo=UTC)


def sha1_b32(data: bytes) -> str:
    return "sha1:" + base64.b32encode(hashlib.sha1(data).digest()).decode()


def exchange(url: str = "http://example.test/news/a?x=1&y=2", body: bytes = b"<html>hello</html>",
             headers: list[tuple[str, str]] | None = None, status: int = 200, reason: str = "OK") -> HttpExchange:
    return HttpExchange(
        url=url, method="GET",
        request_headers=[("Host", "example.test"), ("User-Agent", "test")], request_body=b"",
        protocol="HTTP/1.1", status=status, reason=reason,
        response_headers=headers or [("Content-Type", "text/html"), ("Content-Length", str(len(body)))],
        response_body=body, fetched_at=MOMENT, remote_ip="127.0.0.1",
    )


def test_warc_date_is_utc_with_z_and_micros() -> None:
    assert format_warc_date(MOMENT) == "2024-03-01T12:30:45.123456Z"


def test_request_target_keeps_path_and_query() -> None:
    assert request_target("http://h.test/a/b?q=1&r=%20") == "/a/b?q=1&r=%20"
    assert request_target("http://h.test") == "/"


def test_file_name_follows_annex_c() -> None:
    name = warc_file_name("scraper", MOMENT, 7, "my host")
    assert name == "scraper-20240301123045123-00007-my_host.warc.gz"


def test_exchange_round_trip(tmp_path: Path) -> None:
    body = b"\x1f\x8b compressed-looking bytes"
    headers = [("Content-Type", "text/html"), ("Content-Encoding", "gzip"),
               ("Set-Cookie", "a=1"), ("Set-Cookie", "b=2"), ("X-Caf\u00e9", "na\u00efve")]
    writer = WarcFileWriter(tmp_path, prefix="t", info={"crawl-id": "c1"})
    loc = writer.write_exchange(exchange(body=body, headers=headers))
    writer.close()

    files = list(tmp_path.iterdir())
    assert [f.name for f in files] == [loc.response.file] and not files[0].name.endswith(OPEN_SUFFIX)
    records = list(iter_records(files[0]))
    assert [r.rec_type for r in records] == ["warcinfo", "request", "response"]
    warcinfo, request, response = records
    assert b"crawl-id: c1" in warcinfo.content
    assert dict(request.warc_headers)["WARC-Concurrent-To"] == response.record_id
    assert request.http_status_line == "GET /news/a?x=1&y=2 HTTP/1.1"
    assert response.http_status_line == "HTTP/1.1 200 OK"
    assert [v for k, v in response.http_headers if k == "Set-Cookie"] == ["a=1", "b=2"]
    assert response.content == body  # stored as received
    assert dict(response.warc_headers)["WARC-Payload-Digest"] == sha1_b32(body) == loc.payload_digest
    assert dict(response.warc_headers)["WARC-Warcinfo-ID"] == warcinfo.record_id
    assert response.date == "2024-03-01T12:30:45.123456Z"
    # latin-1 header bytes go out exactly as they came in, not percent-encoded
    raw = zlib.decompress(files[0].read_bytes()[loc.response.offset:loc.response.offset + loc.response.length],
                          wbits=31)
    assert "X-Café: naïve".encode("latin-1") in raw


def test_block_digest_covers_http_headers_and_body(tmp_path: Path) -> None:
    writer = WarcFileWriter(tmp_path)
    loc = writer.write_exchange(exchange())
    writer.close()
    path = tmp_path / loc.response.file
    member = path.read_bytes()[loc.response.offset:loc.response.offset + loc.response.length]
    record = zlib.decompress(member, wbits=31)  # exactly one gzip member
    head, _, block = record.partition(b"\r\n\r\n")
    assert block.endswith(b"\r\n\r\n")
    block = block[:-4]
    declared = dict(line.split(": ", 1) for line in head.decode().split("\r\n")[1:])
    assert int(declared["Content-Length"]) == len(block)
    assert declared["WARC-Block-Digest"] == sha1_b32(block)


def test_pointer_reads_back_the_same_record(tmp_path: Path) -> None:
    writer = WarcFileWriter(tmp_path)
    locs = [writer.write_exchange(exchange(url=f"http://example.test/{i}")) for i in range(3)]
    meta = writer.write_metadata(metadata_uri("http://example.test/1"), locs[1].response.record_id,
                                 b'{"a": 1}', "application/json", MOMENT)
    writer.close()
    path = tmp_path / meta.file
    record = read_record_at(path, locs[1].response.offset)
    assert record.record_id == locs[1].response.record_id
    assert record.target_uri == "http://example.test/1"
    metadata = read_record_at(path, meta.offset)
    assert metadata.rec_type == "metadata" and metadata.content == b'{"a": 1}'
    assert metadata.target_uri == "metadata://example.test/1"
    assert dict(metadata.warc_headers)["WARC-Concurrent-To"] == locs[1].response.record_id
    lengths = {r.offset: r.length for r in iter_records(path)}
    assert lengths[locs[2].response.offset] == locs[2].response.length


def test_rotation_starts_new_files_each_with_warcinfo(tmp_path: Path) -> None:
    writer = WarcFileWriter(tmp_path, max_bytes=2_000)
    for i in range(6):
        writer.write_exchange(exchange(url=f"http://example.test/{i}", body=bytes(range(256)) * 8))
    writer.close()
    files = sorted(tmp_path.glob("*.warc.gz"))
    assert len(files) >= 3 and files == sorted(tmp_path / n for n in writer.closed_files)
    assert not list(tmp_path.glob("*" + OPEN_SUFFIX))
    pairs = 0
    for path in files:
        types = [r.rec_type for r in iter_records(path)]
        assert types[0] == "warcinfo" and types.count("warcinfo") == 1
        assert types.count("request") == types.count("response")  # a pair never spans two files
        pairs += types.count("response")
    assert pairs == 6


def test_open_file_is_renamed_only_on_close(tmp_path: Path) -> None:
    writer = WarcFileWriter(tmp_path)
    writer.write_exchange(exchange())
    writer.flush()
    assert [p.name.endswith(OPEN_SUFFIX) for p in tmp_path.iterdir()] == [True]
    writer.close()
    assert [p.name.endswith(".warc.gz") for p in tmp_path.iterdir()] == [True]


def test_warcio_verifies_digests(tmp_path: Path) -> None:
    from warcio.archiveiterator import ArchiveIterator

    writer = WarcFileWriter(tmp_path)
    writer.write_exchange(exchange())
    writer.close()
    with open(next(tmp_path.iterdir()), "rb") as fh:
        iterator = ArchiveIterator(fh, check_digests="raise")
        count = 0
        for record in iterator:
            record.content_stream().read()
            count += 1
    assert count == 3


@pytest.mark.parametrize("url", ["http://example.test/a", "https://example.test/a?b=1"])
def test_metadata_uri_never_equals_page_uri(url: str) -> None:
    assert metadata_uri(url) != url and metadata_uri(url).startswith("metadata://")


def chunked(body: bytes, size: int = 64) -> bytes:
    parts = [body[i:i + size] for i in range(0, len(body), size)]
    return b"".join(f"{len(p):x}\r\n".encode() + p + b"\r\n" for p in parts) + b"0\r\n\r\n"


def test_a_chunked_gzipped_body_is_read_dechunked_then_decoded(tmp_path: Path) -> None:
    headers = [("Content-Type", "text/html"), ("Transfer-Encoding", "chunked"), ("Content-Encoding", "gzip")]
    offset = write_warc(tmp_path / "a.warc.gz", headers, chunked(gzip.compress(HTML)))
    read = read_payload_at(tmp_path / "a.warc.gz", offset, 1 << 20)
    assert not read.cut and read.stored.content == gzip.compress(HTML)
    assert payload_codings(read.stored.http_headers) == ["gzip"]
    html, _language = page_html(read.stored, "http://example.org/page.html")
    assert html == HTML.decode()


def test_a_body_over_the_limit_is_read_up_to_it_and_said_to_be_cut(tmp_path: Path) -> None:
    offset = write_warc(tmp_path / "a.warc", [("Content-Type", "text/html")], HTML, gzipped=False)
    read = read_payload_at(tmp_path / "a.warc", offset, 1000)
    assert read.cut and read.stored.content == HTML[:1000]
    (_info, response) = list(scan_records(tmp_path / "a.warc", lambda head: 100))
    assert response.cut and response.stored.content == HTML[:100] and response.stored.offset == offset


def test_a_cut_file_is_damaged_after_its_whole_records(tmp_path: Path) -> None:
    write_warc(tmp_path / "a.warc.gz", [("Content-Type", "text/html")], HTML)
    data = (tmp_path / "a.warc.gz").read_bytes()
    (tmp_path / "cut.warc.gz").write_bytes(data[:-150])
    seen = []
    with pytest.raises(DamagedWarc, match="offset"):
        for read in scan_records(tmp_path / "cut.warc.gz", lambda head: 0):
            seen.append(read.stored.rec_type)
    assert seen == ["warcinfo"]


def test_the_cli_the_setting_and_the_writer_share_one_default(tmp_path: Path) -> None:
    (option,) = [p for p in crawl.params if p.name == "warc_max_size"]
    assert parse_size(str(option.default)) == settings.ARCHIVE_WARC_MAX_BYTES == DEFAULT_MAX_BYTES == 1024**3
    assert WarcFileWriter(tmp_path).max_bytes == DEFAULT_MAX_BYTES  # it was 1 GB, 10**9
