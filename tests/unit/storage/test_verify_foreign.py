"""storage.verify on WARCs other tools write: what they write is accepted, and each fault is one that
warcio or FastWARC also finds, or one the WARC standard names; the rest are warnings.

The reference samples of ``../shared/tools/warc-check/samples`` (real wget and warcio output, and
damaged copies of it), then WARCs built here byte by byte, deterministically, in the ways wget,
warcprox, warcio/pywb and Heritrix write them.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import brotli
import pytest
from click.testing import CliRunner

from scraper.cli import cli
from scraper.storage.verify import (
    FAULT_KINDS,
    KINDS,
    WARNING_KINDS,
    FileReport,
    PayloadCodingError,
    http_payload_stream,
    summarise,
    verify_files,
)
from tests.unit.storage.helpers import sha1_b32

REPO = Path(__file__).resolve().parents[3]
SAMPLES = REPO.parent / "shared" / "tools" / "warc-check" / "samples"
HTML = b"<!doctype html><html><head><title>Foreign</title></head><body><p>" + b"Words of a page. " * 400 + b"</p>"
IDENTICAL = "http://netpreserve.org/warc/{v}/revisit/identical-payload-digest"
NOT_MODIFIED = "http://netpreserve.org/warc/{v}/revisit/server-not-modified"


def kinds(report: FileReport) -> list[str]:
    return [finding.kind for finding in report.findings()]


def verify_exit(*paths: Path) -> int:
    """``scraper verify PATH...``'s exit status, run in this process."""
    return CliRunner().invoke(cli, ["verify", *map(str, paths)]).exit_code


# -- the reference samples -------------------------------------------------------------------------------
def samples() -> Path:
    if not SAMPLES.is_dir():
        if os.environ.get("CI"):
            pytest.fail(f"the WARC samples are missing: CI must have ../shared beside the checkout ({SAMPLES})")
        pytest.skip(f"no WARC samples here: they are in ../shared/tools/warc-check/samples beside the checkout "
                    f"({SAMPLES})")
    return SAMPLES


def sample_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file() and p.name.endswith((".warc", ".warc.gz")))


def test_every_good_sample_passes_without_a_finding() -> None:
    good = sample_files(samples() / "good")
    assert {p.parent.name for p in good} == {"wget", "warcio", "warcio-uncompressed"}
    for path in good:
        (report,) = verify_files([path])
        assert report.faults == [] and report.warnings == [], [f.describe() for f in report.findings()]
        assert report.records > 20
        assert verify_exit(path) == 0


# Each damaged sample (its README says what was done to it), what verify finds, and whether that is damage.
# 07, 09, 10, 11 and 12 break rules of ../shared/tools/warc-check, not of the WARC standard, and neither
# warcio nor FastWARC finds anything in them: each is caught, as a warning (exit 0).
BAD = {
    "01-flipped-payload-byte.warc.gz": ({"block-digest", "payload-digest"}, 3),
    "02-truncated-mid-record.warc.gz": ({"gzip-member"}, 3),
    # the broken framing ends the reading of the plain file, so its request goes unseen
    "03-wrong-content-length.warc": ({"framing", "response-without-request"}, 3),
    "04-duplicate-record-id.warc.gz": ({"duplicate-id"}, 3),
    "05-bad-block-digest.warc.gz": ({"block-digest"}, 3),
    "06-bad-payload-digest.warc.gz": ({"payload-digest"}, 3),
    "07-no-warcinfo.warc.gz": ({"no-warcinfo"}, 0),  # the standard recommends a warcinfo record first
    "08-bad-warc-date.warc.gz": ({"warc-date"}, 3),  # +00:00: not the UTC form the standard gives
    # request records are optional, but this file records them: one is missing
    "09-response-without-request.warc.gz": ({"response-without-request"}, 0),
    "10-revisit-original-missing.warc.gz": ({"unresolved-link"}, 0),  # the original may be in another file
    "11-decoded-body-gzip-header.warc.gz": ({"content-encoding-mismatch"}, 0),  # as a lying server makes it
    # allowed by WARC 1.1 §5.11, but pywb may replay it in place of the page
    "12-metadata-shadows-page.warc.gz": ({"metadata-shadows-capture"}, 0),
    "13-single-gzip-stream.warc.gz": ({"multi-record-member"}, 3),  # warcio refuses the file
    "14-flipped-gzip-byte.warc.gz": ({"gzip-member"}, 3),
    "15-wget-dedup-revisits": ({"block-digest"}, 3),  # wget's revisits: the digest of no bytes (FastWARC agrees)
}


@pytest.mark.parametrize("name", sorted(BAD))
def test_each_damaged_sample_is_caught_with_its_kind(name: str) -> None:
    # the table names every damaged sample: one added to the folder must be added here
    assert sorted(p.name for p in samples().joinpath("bad").iterdir() if p.name != "README.md") == sorted(BAD)
    path = samples() / "bad" / name
    expected, status = BAD[name]
    reports = verify_files(sample_files(path) if path.is_dir() else [path])
    found = {f.kind for report in reports for f in report.findings()}
    assert found == expected, [f.describe() for report in reports for f in report.findings()]
    assert all(r.ok for r in reports) == (status == 0)
    assert verify_exit(path) == status


def test_fault_and_warning_kinds_are_apart() -> None:
    assert not set(FAULT_KINDS) & set(WARNING_KINDS) and len(set(KINDS)) == len(KINDS)
    assert {kind for kinds_, _ in BAD.values() for kind in kinds_} <= set(KINDS)


# -- WARCs built by hand, as other tools write them ---------------------------------------------------------
def chunked(body: bytes, size: int = 1000, extension: bytes = b"") -> bytes:
    """``body`` in chunks of ``size`` bytes (the last one shorter), then the last chunk."""
    pieces = [body[i:i + size] for i in range(0, len(body), size)]
    parts = [b"%x%s\r\n%s\r\n" % (len(piece), extension, piece) for piece in pieces]
    return b"".join(parts) + b"0\r\n\r\n"


def http(status: str, headers: Sequence[tuple[str, str]], body: bytes = b"") -> bytes:
    head = "".join(f"{name}: {value}\r\n" for name, value in headers)
    return f"{status}\r\n{head}\r\n".encode("latin-1") + body


def hex_sha1(data: bytes) -> str:
    return "sha1:" + hashlib.sha1(data).hexdigest()


@dataclass
class Builder:
    """Records of one WARC file, written the way a given tool writes them."""

    version: str = "WARC/1.1"
    date: str = "2024-03-01T12:30:45.123456Z"
    digest: Callable[[bytes], str] = sha1_b32  # warcprox writes hex
    series: int = 0  # told apart in the record ids, so that files verified together share none
    records: list[bytes] = field(default_factory=list)
    count: int = 0

    def next_id(self) -> str:
        self.count += 1
        return f"<urn:uuid:00000000-0000-4000-{0x8000 + self.series:04x}-{self.count:012d}>"

    def add(self, rec_type: str, block: bytes, headers: Sequence[tuple[str, str]] = (), *,
            payload: bytes | str | None = None, block_digest: str | None = None, date: str | None = None) -> str:
        """One record; ``payload``: the bytes its WARC-Payload-Digest is of, or the header's value itself."""
        record_id = self.next_id()
        lines = [self.version, f"WARC-Type: {rec_type}", f"WARC-Record-ID: {record_id}",
                 f"WARC-Date: {date or self.date}", *(f"{name}: {value}" for name, value in headers),
                 f"WARC-Block-Digest: {block_digest or self.digest(block)}"]
        if payload is not None:
            lines.append(f"WARC-Payload-Digest: {payload if isinstance(payload, str) else self.digest(payload)}")
        lines.append(f"Content-Length: {len(block)}")
        self.records.append(("\r\n".join(lines) + "\r\n\r\n").encode("utf-8") + block + b"\r\n\r\n")
        return record_id

    def warcinfo(self, software: str) -> str:
        return self.add("warcinfo", f"software: {software}\r\nformat: WARC File Format\r\n".encode(),
                        [("Content-Type", "application/warc-fields")])

    def exchange(self, url: str, response: bytes, payload: bytes | str | None, *, request: bool = True,
                 headers: Sequence[tuple[str, str]] = ()) -> str:
        """A response (``payload``: what its payload digest is of) and, unless not wanted, its request."""
        response_id = self.add("response", response, [("WARC-Target-URI", url), *headers,
                                                      ("Content-Type", "application/http;msgtype=response")],
                               payload=payload)
        if request:
            path = "/" + url.split("/", 3)[-1]
            self.add("request", http(f"GET {path} HTTP/1.1", [("Host", "example.test")]),
                     [("WARC-Target-URI", url), ("WARC-Concurrent-To", response_id),
                      ("Content-Type", "application/http;msgtype=request")], payload=b"")
        return response_id

    def write(self, path: Path, compress: bool = True) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"".join(gzip.compress(r, mtime=0) if compress else r for r in self.records))
        return path


def nginx_head(*extra: tuple[str, str]) -> list[tuple[str, str]]:
    return [("Server", "nginx"), ("Content-Type", "text/html"), *extra]


GZ = gzip.compress(HTML, mtime=0)


def wget_style(folder: Path) -> Path:
    """GNU Wget 1.21: WARC/1.0, gzip per record, a request beside each response, a dedup revisit
    (headers only, WARC-Truncated: length; its block digest right, unlike wget's own), a manifest
    metadata record and an arguments resource."""
    warc = Builder(version="WARC/1.0", date="2024-03-01T12:30:45Z", series=1)
    warc.warcinfo("Wget/1.21.3 (linux-gnu)")
    body = chunked(GZ, 300)
    head = http("HTTP/1.1 200 OK", nginx_head(("Transfer-Encoding", "chunked"), ("Content-Encoding", "gzip")))
    original = warc.exchange("http://example.test/", head + body, payload=body)  # wget digests the stored body
    warc.exchange("http://example.test/old", http("HTTP/1.1 301 Moved Permanently",
                                                  [("Location", "/"), ("Content-Length", "5")], b"moved"), b"moved")
    # an empty entity, chunked and "gzipped": nothing to decode
    empty = http("HTTP/1.1 200 OK", nginx_head(("Transfer-Encoding", "chunked"), ("Content-Encoding", "gzip")))
    warc.exchange("http://example.test/empty", empty + b"0\r\n\r\n", payload=b"0\r\n\r\n")
    # HTTP/1.0, no Content-Length: the body runs to the end of the block
    warc.exchange("http://example.test/http10", http("HTTP/1.0 200 OK", [("Content-Type", "text/html")], HTML), HTML)
    warc.add("revisit", head, [("WARC-Target-URI", "http://example.test/"), ("WARC-Refers-To", original),
                               ("WARC-Profile", IDENTICAL.format(v="1.0")), ("WARC-Truncated", "length"),
                               ("Content-Type", "application/http;msgtype=response")], payload=body)
    manifest = warc.add("metadata", b"wget-site.warc.gz\n", [("WARC-Target-URI", "metadata://gnu.org/MANIFEST.txt"),
                                                             ("Content-Type", "text/plain")])
    warc.add("resource", b'"wget" "-r" "http://example.test/"\n',
             [("WARC-Target-URI", "metadata://gnu.org/wget_arguments.txt"), ("WARC-Concurrent-To", manifest),
              ("Content-Type", "text/plain")], payload=b'"wget" "-r" "http://example.test/"\n')
    return warc.write(folder / "wget.warc.gz")


def warcprox_style(folder: Path) -> Path:
    """warcprox 2.x: WARC/1.0, hex digests, the payload digest over the de-chunked body (what http.client
    read), the request after its response, revisits of headers only without WARC-Truncated."""
    warc = Builder(version="WARC/1.0", date="2024-03-01T12:30:45Z", digest=hex_sha1, series=2)
    warc.warcinfo("warcprox 2.13.1")
    deflated = zlib.compress(HTML)
    head = http("HTTP/1.1 200 OK", nginx_head(("Transfer-Encoding", "chunked"), ("Content-Encoding", "deflate")))
    original = warc.exchange("http://example.test/deflate", head + chunked(deflated, 512), payload=deflated)
    warc.exchange("http://example.test/chunked", http("HTTP/1.1 200 OK", nginx_head(("Transfer-Encoding", "chunked")),
                                                      chunked(HTML, 700, b";ext=1")), payload=HTML)
    revisit = warc.add("revisit", head, [("WARC-Target-URI", "http://example.test/deflate"),
                                         ("WARC-Profile", IDENTICAL.format(v="1.0")), ("WARC-Refers-To", original),
                                         ("WARC-Refers-To-Target-URI", "http://example.test/deflate"),
                                         ("WARC-Refers-To-Date", "2024-03-01T12:30:45Z"),
                                         ("Content-Type", "application/http;msgtype=response")], payload=deflated)
    warc.add("request", http("GET /deflate HTTP/1.1", [("Host", "example.test")]),
             [("WARC-Target-URI", "http://example.test/deflate"), ("WARC-Concurrent-To", revisit),
              ("Content-Type", "application/http;msgtype=request")])
    return warc.write(folder / "warcprox.warc.gz")


def pywb_style(folder: Path) -> Path:
    """warcio (as pywb's recorder and capture_http use it): WARC/1.1 with dates of every precision W3CDTF
    has, uncompressed, responses without requests, gzip then br, revisits of both profiles, one with no
    block at all."""
    warc = Builder(series=3)
    warc.warcinfo("warcio/1.7.4")
    brotlied = brotli.compress(HTML)
    body = chunked(brotlied, 256)
    head = http("HTTP/1.1 200 OK", nginx_head(("Content-Encoding", "br"), ("Transfer-Encoding", "chunked")))
    original = warc.exchange("http://example.test/br", head + body, payload=body, request=False)
    twice = brotli.compress(gzip.compress(HTML, mtime=0))  # gzip first, then br
    warc.add("response", http("HTTP/1.1 200 OK", nginx_head(("Content-Encoding", "gzip, br"),
                                                            ("Content-Length", str(len(twice)))), twice),
             [("WARC-Target-URI", "http://example.test/twice"), ("Content-Type", "application/http; msgtype=response")],
             payload=twice, date="2024-03-01T12:31:00.1Z")
    warc.add("revisit", head, [("WARC-Target-URI", "http://example.test/br"), ("WARC-Refers-To", original),
                               ("WARC-Profile", IDENTICAL.format(v="1.1")),
                               ("WARC-Refers-To-Target-URI", "http://example.test/br"),
                               ("WARC-Refers-To-Date", "2024-03-01T12:30:45.123456Z"),
                               ("Content-Type", "application/http; msgtype=response")], payload=body,
             date="2024-03-01T12:32Z")
    warc.add("revisit", b"", [("WARC-Target-URI", "http://example.test/br"), ("WARC-Refers-To", original),
                              ("WARC-Profile", NOT_MODIFIED.format(v="1.1")),
                              ("Content-Type", "application/http; msgtype=response")], date="2024-03-02")
    warc.add("metadata", b'{"title": "Foreign"}', [("WARC-Target-URI", "metadata://example.test/br"),
                                                   ("WARC-Refers-To", original), ("Content-Type", "application/json")],
             date="2024-03-01T12:30:45.123456789Z")
    return warc.write(folder / "pywb.warc", compress=False)


def heritrix_style(folder: Path) -> Path:
    """Heritrix 3: WARC/1.0, a dns resource, a record segmented into a continuation, a response cut at the
    size limit (WARC-Truncated), a 304 revisit, a conversion, and metadata under the page's own URI."""
    warc = Builder(version="WARC/1.0", date="2024-03-01T12:30:45Z", series=4)
    warc.warcinfo("Heritrix/3.4.0-20220727 http://crawler.archive.org")
    warc.add("resource", b"20240301123045\nexample.test.\t300\tIN\tA\t127.0.0.1\n",
             [("WARC-Target-URI", "dns:example.test"), ("Content-Type", "text/dns")])
    whole = http("HTTP/1.1 200 OK", nginx_head(("Content-Length", str(len(HTML)))), HTML)
    split = len(whole) // 2
    first = warc.add("response", whole[:split], [("WARC-Target-URI", "http://example.test/big"),
                                                 ("WARC-Segment-Number", "1"),
                                                 ("Content-Type", "application/http;msgtype=response")],
                     payload=HTML)  # the logical record's
    warc.add("continuation", whole[split:], [("WARC-Target-URI", "http://example.test/big"),
                                             ("WARC-Segment-Origin-ID", first), ("WARC-Segment-Number", "2"),
                                             ("WARC-Segment-Total-Length", str(len(whole)))])
    cut = http("HTTP/1.1 200 OK", nginx_head(("Transfer-Encoding", "chunked"), ("Content-Encoding", "gzip"),
                                             ("Content-Length", "999999")), chunked(GZ, 100)[:250])
    page = warc.add("response", cut, [("WARC-Target-URI", "http://example.test/cut"), ("WARC-Truncated", "length"),
                                      ("Content-Type", "application/http;msgtype=response")],
                    payload=cut.partition(b"\r\n\r\n")[2])
    warc.add("metadata", b"via: http://example.test/\r\nhopsFromSeed: L\r\n",
             [("WARC-Target-URI", "http://example.test/cut"), ("WARC-Concurrent-To", page),
              ("Content-Type", "application/warc-fields")])
    warc.add("revisit", http("HTTP/1.1 304 Not Modified", [("ETag", '"v1"')]),
             [("WARC-Target-URI", "http://example.test/big"), ("WARC-Profile", NOT_MODIFIED.format(v="1.0")),
              ("WARC-Refers-To", first), ("Content-Type", "application/http;msgtype=response")])
    warc.add("conversion", b"Words of a page.", [("WARC-Target-URI", "http://example.test/big"),
                                                 ("WARC-Refers-To", first), ("Content-Type", "text/plain")],
             payload=b"Words of a page.")
    return warc.write(folder / "heritrix.warc.gz")


STYLES = {"wget": wget_style, "warcprox": warcprox_style, "pywb": pywb_style, "heritrix": heritrix_style}
RECORDS = {"wget": 12, "warcprox": 7, "pywb": 6, "heritrix": 8}


@pytest.mark.parametrize("style", sorted(STYLES))
def test_what_other_tools_write_passes(tmp_path: Path, style: str) -> None:
    path = STYLES[style](tmp_path / style)
    (report,) = verify_files([path])
    assert report.faults == [] and report.warnings == [], [f.describe() for f in report.findings()]
    assert report.records == RECORDS[style]
    assert verify_exit(path) == 0


def test_what_other_tools_write_passes_in_an_archive_too(tmp_path: Path) -> None:
    """Imported into an archive root (``scraper import``), with the WARCs of a crawl of ours beside them."""
    crawl = tmp_path / "archive" / "crawls" / "20240301T000000Z-abcdef"
    paths = [make(crawl) for make in STYLES.values()]
    reports = verify_files(paths)
    assert [f.describe() for r in reports for f in r.findings()] == []


# -- what is not damage: warnings ----------------------------------------------------------------------------
def lying_server(folder: Path, body: bytes, headers: Sequence[tuple[str, str]], software: str = "nginx-recorder/1",
                 request: bool = True) -> FileReport:
    warc = Builder()
    warc.warcinfo(software)
    warc.exchange("http://example.test/lie", http("HTTP/1.1 200 OK", headers, body), payload=body, request=request)
    (report,) = verify_files([warc.write(folder / "lie.warc.gz")])
    return report


def test_a_server_that_lies_about_gzip_is_archived_as_told_a_warning(tmp_path: Path) -> None:
    report = lying_server(tmp_path, HTML, [("Content-Encoding", "gzip"), ("Content-Length", str(len(HTML)))])
    assert report.ok and kinds(report) == ["content-encoding-mismatch"]
    assert "Content-Encoding: gzip, but the body starts b'<!doctype html><'" in report.warnings[0].message
    assert verify_exit(report.path) == 0


def test_transfer_encoding_on_a_body_stored_de_chunked_is_a_warning(tmp_path: Path) -> None:
    # pywb's recorder stores chunked bodies de-chunked and keeps the header; readers fall back to the bytes
    report = lying_server(tmp_path, GZ, [("Transfer-Encoding", "chunked"), ("Content-Encoding", "gzip")])
    assert report.ok and kinds(report) == ["transfer-encoding-mismatch"]  # the gzip, as stored, is gzip
    assert "does not de-chunk: no chunk size where one was due: b'\\x1f\\x8b" in report.warnings[0].message


def test_a_wrong_content_length_is_a_warning(tmp_path: Path) -> None:
    report = lying_server(tmp_path, HTML, [("Content-Length", "12")])
    assert report.ok and kinds(report) == ["content-length-mismatch"]


def test_an_http_head_that_does_not_end_is_a_warning(tmp_path: Path) -> None:
    # "neither ... the 'application/http' content-type serves as an absolute guarantee that the contained
    # material is a legal HTTP response" (WARC 1.1 §6.3.2); cut short by WARC-Truncated, it is not even that
    warc = Builder()
    warc.warcinfo("x")
    head = b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n"
    warc.exchange("http://example.test/garbled", head, payload=None, request=False)
    warc.add("response", head, [("WARC-Target-URI", "http://example.test/cut"), ("WARC-Truncated", "disconnect"),
                                ("Content-Type", "application/http;msgtype=response")])
    (report,) = verify_files([warc.write(tmp_path / "head.warc.gz")])
    assert report.ok and kinds(report) == ["http-head"]
    assert "does not end with an empty line" in report.warnings[0].message


def test_a_file_without_warcinfo_gets_a_warning(tmp_path: Path) -> None:
    warc = Builder()
    warc.exchange("http://example.test/", http("HTTP/1.1 200 OK", [], HTML), payload=HTML)
    (report,) = verify_files([warc.write(tmp_path / "bare.warc.gz")])
    assert report.ok and kinds(report) == ["no-warcinfo"] and report.warnings[0].offset == 0


def test_links_in_other_tools_warcs_that_name_nothing_are_warnings(tmp_path: Path) -> None:
    warc = Builder()
    warc.warcinfo("Wget/1.21.3")
    warc.exchange("http://example.test/", http("HTTP/1.1 200 OK", [], HTML), payload=HTML, request=False,
                  headers=[("WARC-Concurrent-To", "<urn:uuid:00000000-0000-4000-8000-999999999999>")])
    crawl = tmp_path / "archive" / "crawls" / "20240301T000000Z-abcdef"
    for path in (warc.write(tmp_path / "loose.warc.gz"), warc.write(crawl / "imported.warc.gz")):
        (report,) = verify_files([path])
        assert report.ok and kinds(report) == ["unresolved-link"], report.findings()
        assert "lets a record refer to one in another file" in report.warnings[0].message
    # The very same link in a WARC scraper wrote means a lost record: damage.
    ours = Builder()
    ours.warcinfo("scraper/0.1.0")
    ours.records += warc.records[1:]
    (report,) = verify_files([ours.write(crawl / "scraper-ours.warc.gz")])
    assert kinds(report) == ["broken-link"] and not report.ok


def test_an_unknown_digest_algorithm_is_a_warning_a_malformed_digest_a_fault(tmp_path: Path) -> None:
    warc = Builder()
    warc.warcinfo("x")
    warc.add("resource", b"data", [("WARC-Target-URI", "file:///data")], block_digest="blake9000:ABCDEF")
    warc.add("resource", b"data", [("WARC-Target-URI", "file:///data2")], block_digest="ABCDEF")
    (report,) = verify_files([warc.write(tmp_path / "digests.warc.gz")])
    assert kinds(report) == ["unchecked-digest", "block-digest"]
    assert "not ALGORITHM:VALUE" in report.faults[0].message


# -- what is damage ---------------------------------------------------------------------------------------------
def test_a_chunked_payload_digest_matching_neither_reading_is_a_fault(tmp_path: Path) -> None:
    warc = Builder()
    warc.warcinfo("x")
    body = chunked(HTML, 500)
    warc.exchange("http://example.test/", http("HTTP/1.1 200 OK", [("Transfer-Encoding", "chunked")], body),
                  payload=HTML + b"!")
    (report,) = verify_files([warc.write(tmp_path / "digest.warc.gz")])
    assert kinds(report) == ["payload-digest"] and not report.ok
    message = report.faults[0].message
    assert f"the body as stored ({sha1_b32(body)})" in message
    assert f"the body with its chunked transfer coding undone ({sha1_b32(HTML)})" in message


def test_a_whole_file_gzip_stream_is_a_fault(tmp_path: Path) -> None:
    warc = Builder()
    warc.warcinfo("x")
    warc.exchange("http://example.test/", http("HTTP/1.1 200 OK", [], HTML), payload=HTML)
    path = tmp_path / "one-stream.warc.gz"
    path.write_bytes(gzip.compress(b"".join(warc.records), mtime=0))
    (report,) = verify_files([path], deep=False)
    assert kinds(report) == ["multi-record-member"] and "holds 3 records" in report.faults[0].message


# case: (the edit of the response record, its WARC version, the kind found, words of its message)
HEADER_FAULTS: dict[str, tuple[Callable[[bytes], bytes], str, str, str]] = {
    "no WARC-Date": (lambda r: r.replace(b"WARC-Date: 2024-03-01T12:30:45Z\r\n", b""), "WARC/1.1", "warc-header",
                     "no WARC-Date (mandatory on every record)"),
    "no WARC-Target-URI": (lambda r: r.replace(b"WARC-Target-URI: http://example.test/\r\n", b""), "WARC/1.1",
                           "warc-header", "a response record has no WARC-Target-URI"),
    "record id without brackets": (lambda r: r.replace(b"<urn:uuid:00000000-0000-4000-8000-000000000002>",
                                                       b"urn:uuid:00000000-0000-4000-8000-000000000002"),
                                   "WARC/1.1", "warc-header", "is not a URI in angle brackets"),
    "WARC-Date twice": (lambda r: r.replace(b"WARC-Date: 2024-03-01T12:30:45Z\r\n",
                                            b"WARC-Date: 2024-03-01T12:30:45Z\r\nWARC-Date: 2024-03-01T12:30:46Z\r\n"),
                        "WARC/1.1", "warc-header", "WARC-Date is given 2 times"),
    "isoformat date": (lambda r: r.replace(b"12:30:45Z", b"12:30:45+00:00"), "WARC/1.1", "warc-date",
                       "is not a UTC timestamp in W3C-ISO8601 form"),
    "fraction in WARC/1.0": (lambda r: r.replace(b"12:30:45Z", b"12:30:45.5Z"), "WARC/1.0", "warc-date",
                             "is not YYYY-MM-DDThh:mm:ssZ, the form WARC/1.0 requires"),
    "ten digits of a second": (lambda r: r.replace(b"12:30:45Z", b"12:30:45.1234567890Z"), "WARC/1.1", "warc-date",
                               "has more than 9 digits of a second"),
    "month 13": (lambda r: r.replace(b"2024-03-01T", b"2024-13-01T"), "WARC/1.0", "warc-date",
                 "is not a real date and time"),
}


@pytest.mark.parametrize("case", sorted(HEADER_FAULTS))
def test_what_the_standard_forbids_in_a_header_is_a_fault(tmp_path: Path, case: str) -> None:
    edit, version, kind, words = HEADER_FAULTS[case]
    warc = Builder(version=version, date="2024-03-01T12:30:45Z")
    warc.warcinfo("x")
    warc.exchange("http://example.test/", http("HTTP/1.1 200 OK", [], HTML), payload=HTML, request=False)
    warc.records[1] = edit(warc.records[1])
    for deep in (True, False):  # header rules are part of the quick check every crawl runs
        (report,) = verify_files([warc.write(tmp_path / "header.warc.gz")], deep=deep)
        assert kinds(report) == [kind], report.findings()
        assert words in report.faults[0].message
        assert report.faults[0].offset == len(gzip.compress(warc.records[0], mtime=0))


REVISIT_FAULTS = {
    "no WARC-Profile": ([], "a revisit record has no WARC-Profile"),
    "no payload digest": ([("WARC-Profile", IDENTICAL.format(v="1.1"))],
                          "an identical-payload-digest revisit has no WARC-Payload-Digest"),
}


@pytest.mark.parametrize("case", sorted(REVISIT_FAULTS))
def test_a_revisit_without_what_its_profile_needs_is_a_fault(tmp_path: Path, case: str) -> None:
    headers, words = REVISIT_FAULTS[case]
    warc = Builder()
    warc.warcinfo("x")
    warc.add("revisit", b"", [("WARC-Target-URI", "http://example.test/"), *headers])
    (report,) = verify_files([warc.write(tmp_path / "revisit.warc.gz")])
    assert kinds(report) == ["warc-header"] and words in report.faults[0].message


def test_a_continuation_without_its_origin_is_a_fault(tmp_path: Path) -> None:
    warc = Builder()
    warc.warcinfo("x")
    warc.add("continuation", b"the rest", [("WARC-Target-URI", "http://example.test/"), ("WARC-Segment-Number", "2")])
    (report,) = verify_files([warc.write(tmp_path / "continuation.warc.gz")])
    assert kinds(report) == ["warc-header"] and "no WARC-Segment-Origin-ID" in report.faults[0].message


def test_the_manifest_summary_keeps_faults_and_warnings_apart(tmp_path: Path) -> None:
    lie = lying_server(tmp_path, HTML, [("Content-Length", "12")])
    summary = summarise([lie])
    assert summary["ok"] is True and summary["faults"] == []
    assert [w["kind"] for w in summary["warnings"]] == ["content-length-mismatch"]
    assert summary["warnings"][0]["file"] == "lie.warc.gz"


# -- http_payload_stream ---------------------------------------------------------------------------------------
def payload(headers: Sequence[tuple[str, str]], body: bytes, limit: int = 1 << 30, piece: int = 7) -> bytes:
    """The decoded payload, the body fed in pieces of ``piece`` bytes (boundaries anywhere)."""
    pieces = [body[i:i + piece] for i in range(0, len(body), piece)]
    return b"".join(http_payload_stream(headers, pieces, limit))


def test_payload_stream_undoes_the_transfer_coding_then_the_content_codings() -> None:
    assert payload([("Transfer-Encoding", "chunked"), ("Content-Encoding", "gzip")], chunked(GZ, 100)) == HTML
    twice = brotli.compress(gzip.compress(HTML, mtime=0))
    assert payload([("content-encoding", "gzip, br"), ("Transfer-Encoding", "chunked")], chunked(twice, 64)) == HTML
    assert payload([("Content-Encoding", "deflate")], zlib.compress(HTML, wbits=-15)) == HTML  # raw deflate
    assert payload([("Content-Encoding", "deflate")], zlib.compress(HTML)) == HTML  # zlib-wrapped
    assert payload([("Content-Encoding", "identity")], HTML) == HTML
    assert payload([("Content-Encoding", "gzip")], GZ + GZ, piece=1000) == HTML + HTML  # two gzip members
    assert payload([("Content-Encoding", "gzip")], b"") == b""  # an empty body: a 204's, a HEAD's


def test_payload_stream_stops_at_its_limit() -> None:
    bomb = gzip.compress(b"\0" * (50 << 20), mtime=0)  # 50 MiB of zeros in 50 KiB
    out = list(http_payload_stream([("Content-Encoding", "gzip")], [bomb], 100_000))
    assert sum(map(len, out)) == 100_000 and max(map(len, out)) <= 1 << 16


@pytest.mark.parametrize(("headers", "body", "coding", "truncated"), [
    ([("Content-Encoding", "gzip")], HTML, "gzip", False),
    ([("Content-Encoding", "br")], HTML, "br", False),
    ([("Transfer-Encoding", "chunked")], HTML, "chunked", False),
    ([("Content-Encoding", "gzip")], GZ[:len(GZ) // 2], "gzip", True),
    ([("Transfer-Encoding", "chunked")], chunked(HTML)[:-5], "chunked", True),
    ([("Content-Encoding", "compress")], HTML, "compress", False),
])
def test_payload_stream_says_which_coding_fails(headers: list[tuple[str, str]], body: bytes, coding: str,
                                                truncated: bool) -> None:
    with pytest.raises(PayloadCodingError) as raised:
        payload(headers, body)
    assert raised.value.coding == coding and raised.value.truncated is truncated


def test_our_own_crawl_style_passes_beside_foreign_ones(tmp_path: Path) -> None:
    """scraper's own WARCs (test_verify's) and the four styles, verified as one set."""
    from tests.unit.storage.helpers import write_warc

    ours = write_warc(tmp_path / "crawl").path
    foreign = [make(tmp_path / "foreign") for make in STYLES.values()]
    reports = verify_files([ours, *foreign])
    assert [f.describe() for r in reports for f in r.findings()] == []
