"""Issue 14: reading other tools' WARC records, bounded: de-chunking, the body limit, decompression bombs.

Real WARC files written with warcio, read back through scraper.storage.warc and scraper.imports.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import io
from pathlib import Path

import pytest
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from scraper.imports import Importer, ImportOptions, normalize_digest, plan_import
from scraper.reextract import DecodedTooLarge, decode_content, page_html, payload_codings
from scraper.storage.catalog import Catalog
from scraper.storage.jsonl import iter_jsonl
from scraper.storage.layout import CrawlLayout, new_crawl_id
from scraper.storage.warc import DamagedWarc, read_payload_at, scan_records

HTML = ("<html><head><title>Ferry timetable</title></head><body><article><h1>Ferry timetable</h1>"
        + "<p>The ferry keeps its winter timetable, the harbour master said on Tuesday morning.</p>" * 40
        + "</article></body></html>").encode()


def chunked(body: bytes, size: int = 64) -> bytes:
    parts = [body[i:i + size] for i in range(0, len(body), size)]
    return b"".join(f"{len(p):x}\r\n".encode() + p + b"\r\n" for p in parts) + b"0\r\n\r\n"


def write_warc(path: Path, headers: list[tuple[str, str]], body: bytes, gzipped: bool = True) -> int:
    """One response record after a warcinfo; returns the response's offset."""
    with open(path, "wb") as fh:
        writer = WARCWriter(fh, gzip=gzipped, warc_version="1.0")
        writer.write_record(writer.create_warcinfo_record(path.name, {"software": "test"}))
        offset = fh.tell()
        writer.write_record(writer.create_warc_record(
            "http://example.org/page.html", "response", payload=io.BytesIO(body), length=len(body),
            http_headers=StatusAndHeaders("200 OK", headers, protocol="HTTP/1.1"),
            warc_headers_dict={"WARC-Date": "2020-01-01T00:00:00Z"}))
    return offset


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


def test_a_decompression_bomb_is_refused_at_the_limit() -> None:
    bomb = gzip.compress(b"\0" * (4 << 20))
    with pytest.raises(DecodedTooLarge):
        decode_content(bomb, ["gzip"], limit=1 << 20)
    assert decode_content(bomb, ["gzip"], limit=8 << 20)[0] == b"\0" * (4 << 20)


def test_a_cut_file_is_damaged_after_its_whole_records(tmp_path: Path) -> None:
    write_warc(tmp_path / "a.warc.gz", [("Content-Type", "text/html")], HTML)
    data = (tmp_path / "a.warc.gz").read_bytes()
    (tmp_path / "cut.warc.gz").write_bytes(data[:-150])
    seen = []
    with pytest.raises(DamagedWarc, match="offset"):
        for read in scan_records(tmp_path / "cut.warc.gz", lambda head: 0):
            seen.append(read.stored.rec_type)
    assert seen == ["warcinfo"]


def test_digests_as_page_records_carry_them() -> None:
    hex_digest = hashlib.sha1(b"the payload").hexdigest()  # some tools write sha1 in hex
    base32 = "sha1:" + base64.b32encode(bytes.fromhex(hex_digest)).decode()
    assert normalize_digest(f"sha1:{hex_digest}") == base32
    assert normalize_digest(base32.lower()) == base32
    assert normalize_digest("sha256:abc") is None and normalize_digest(None) is None


def test_an_imported_page_over_the_body_limit_is_recorded_truncated(tmp_path: Path) -> None:
    source = tmp_path / "big.warc.gz"
    write_warc(source, [("Content-Type", "text/html")], HTML)
    root = tmp_path / "archive"
    root.mkdir()
    layout = CrawlLayout(root, new_crawl_id())
    catalog = Catalog.open(root, None)
    try:
        importer, lock = Importer.create(layout, plan_import([source], link=False), catalog,
                                         ImportOptions(max_body_bytes=2000))
        importer.run()
        lock.close()
    finally:
        catalog.close()
    (record,) = iter_jsonl(layout.pages_path)
    assert record["truncated"] is True
    assert record["title"] == "Ferry timetable" and record["text"].count("winter timetable") < 40
