"""Hostile input, one table: each case ends in a clear message and its exit status, with no
traceback, and whatever an earlier crawl put in the archive root is left exactly as it was.

Every row runs ``python -m scraper crawl`` against ``tests/hostile_server.py`` into a copy of
an archive that already holds a good crawl, then checks: the exit status; the message (on
stderr, or among the manifest's warnings); no traceback; the earlier crawl's files byte for
byte, and its capture still the one the catalog answers with; no file outside the new
crawl's folder; ``scraper verify`` of the whole root; and what the row says about what was
archived (read back with warcio).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import pytest
from click.testing import CliRunner

from scraper.cli import cli
from scraper.storage.lookup import latest_record
from scraper.storage.warc import StoredRecord, iter_records
from tests.conftest import FAST, crawl_dirs, read_jsonl, run_scraper
from tests.hostile_server import (
    ESCAPING_PATHS,
    Hostile,
    HostileServer,
    binary_noise,
    cp1251_page,
    gzip_bomb,
    huge_html,
    page,
)

# Extraction in the crawl process (no worker pool to start), no retries, short timeouts: fast rows.
COMMON = [*FAST, "-s", "EXTRACT_WORKERS=0", "-s", "RETRY_TIMES=0", "-s", "DOWNLOAD_TIMEOUT=5"]
SMALL_LIMIT = 64 * 1024
TOO_LONG = "/long/too-long-" + "a" * 3000  # over Scrapy's URLLENGTH_LIMIT (2083)
VERY_LONG = "/long/very-long-" + "b" * 60_000
TRACEBACK = "Traceback (most recent call last)"
FAILURE_REPR = "<twisted.python.failure.Failure"  # a repr, not a message


T = TypeVar("T")

@pytest.fixture(scope="module")
def hostile() -> Iterator[Hostile]:
    with HostileServer() as running:
        yield running


@dataclass(frozen=True)
class Earlier:
    root: Path
    crawl: str
    hashes: dict[str, str]
    records: dict[str, dict[str, Any]]  # url -> page record


def sha256_tree(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def earlier_crawl(root: Path, urls: list[str], *options: str) -> Earlier:
    """A good crawl of ``urls`` into ``root``: the captures every row of a hostile table must leave alone."""
    proc = run_scraper("crawl", *options, *urls, "--archive", str(root))
    assert proc.returncode == 0, proc.stderr
    (crawl,) = crawl_dirs(root)
    records = {r["url"]: r for r in read_jsonl(crawl / "pages.jsonl")}
    assert set(records) == set(urls)
    return Earlier(root, crawl.name, sha256_tree(crawl), records)


@pytest.fixture(scope="module")
def earlier(hostile: Hostile, tmp_path_factory: pytest.TempPathFactory) -> Earlier:
    """A good crawl of two pages: the captures every hostile crawl must leave alone."""
    root = tmp_path_factory.mktemp("earlier") / "archive"
    return earlier_crawl(root, [hostile.url("/good"), hostile.url("/good2")], *COMMON)


@dataclass
class Outcome:
    """What a hostile crawl left: its process, and its crawl folder read back."""

    proc: subprocess.CompletedProcess[str]
    hostile: Hostile
    crawl: Path | None
    manifest: dict[str, Any]
    records: list[dict[str, Any]]
    warc: list[StoredRecord]

    def responses(self, url: str) -> list[StoredRecord]:
        return [r for r in self.warc if r.rec_type == "response" and r.target_uri == url]

    def response(self, path: str) -> StoredRecord:
        matches = self.responses(self.hostile.url(path))
        assert len(matches) == 1, f"{len(matches)} responses for {path}"
        return matches[0]

    def record(self, path: str) -> dict[str, Any]:
        matches = [r for r in self.records if r["url"] == self.hostile.url(path)]
        assert len(matches) == 1, f"{len(matches)} records for {path}: {[r['url'] for r in self.records]}"
        return matches[0]

    def pages(self) -> set[str]:
        return {r["url"] for r in self.records}

    def errors(self) -> dict[str, int]:
        return dict(self.manifest.get("counts", {}).get("errors", {}))


def warc_header(record: StoredRecord, name: str) -> str | None:
    return dict(record.warc_headers).get(name)


def http_header(record: StoredRecord, name: str) -> str | None:
    return next((v for k, v in record.http_headers if k.lower() == name.lower()), None)


# -- what must be true of the archive, per row ------------------------------------------------------------
def nothing_crawled(out: Outcome) -> None:
    assert out.crawl is None


def archived_page(path: str, *, text: str | None = None, body: Callable[[], bytes] | None = None,
                  status: int = 200) -> Callable[[Outcome], None]:
    def check(out: Outcome) -> None:
        record = out.record(path)
        assert record["status"] == status and not record["truncated"]
        response = out.response(path)
        assert warc_header(response, "WARC-Truncated") is None
        if body is not None:
            assert response.content == body()  # byte for byte what the server sent
        if text is not None:
            assert record["text"] and text in record["text"], (record["text"], out.proc.stderr)
    return check


def archived_truncated(path: str, *, header: tuple[str, str] | None = None) -> Callable[[Outcome], None]:
    """Cut at the size limit: the first bytes archived, marked so in the WARC and the record."""
    def check(out: Outcome) -> None:
        response = out.response(path)
        assert warc_header(response, "WARC-Truncated") == "length"
        assert SMALL_LIMIT < len(response.content) < 4 * SMALL_LIMIT
        assert response.content.startswith(b"<html><body>")
        record = out.record(path)
        assert record["truncated"] is True and record["status"] == 200
        assert out.manifest["counts"]["pages_truncated"] == 1
        if header is not None:
            assert http_header(response, header[0]) == header[1]
    return check


def archived_not_recorded(path: str, status_line: str) -> Callable[[Outcome], None]:
    """The exchange is in the WARC as the server sent it; no page record (the page failed)."""
    def check(out: Outcome) -> None:
        assert out.response(path).http_status_line == status_line
        assert not out.records
    return check


def failed_unarchived(path: str) -> Callable[[Outcome], None]:
    """Nothing usable arrived: the request was made, nothing of the page is in the WARC."""
    def check(out: Outcome) -> None:
        assert path in out.hostile.requests
        assert not out.responses(out.hostile.url(path)) and not out.records
    return check


def dechunked(path: str) -> Callable[[Outcome], None]:
    """Twisted removed the transfer coding and its header: what is stored agrees with itself."""
    def check(out: Outcome) -> None:
        response = out.response(path)
        assert http_header(response, "Transfer-Encoding") is None and http_header(response, "Content-Length") is None
        assert b"\r\n" not in response.content
    return check


def cl_too_short(out: Outcome) -> None:
    response = out.response("/cl-too-short")
    assert http_header(response, "Content-Length") == "100"
    assert response.content == page("Content-Length too short")[:100]  # what the message said it was
    assert warc_header(response, "WARC-Truncated") is None
    assert out.record("/cl-too-short")["status"] == 200


def cl_too_long(out: Outcome) -> None:
    response = out.response("/cl-too-long")
    assert response.content == page("Content-Length too long")  # all that arrived
    assert http_header(response, "Content-Length") == "5000"
    assert warc_header(response, "WARC-Truncated") == "length"
    record = out.record("/cl-too-long")
    assert record["truncated"] is True and record["status"] == 200
    assert out.errors() == {"dataloss": 1}


def gzip_bomb_kept(out: Outcome) -> None:
    response = out.response("/gzip/bomb")
    assert response.content == gzip_bomb()  # the compressed bytes, whole: what the server said
    assert http_header(response, "Content-Encoding") == "gzip"
    assert not out.records and out.errors() == {"bodynotdecoded": 1}


def fake_gzip_kept(out: Outcome) -> None:
    response = out.response("/gzip/fake")
    assert response.content == page("Not gzip at all")
    assert not out.records and out.errors() == {"bodynotdecoded": 1}


def redirects_given_up(first: str, count: int) -> Callable[[Outcome], None]:
    def check(out: Outcome) -> None:
        hops = [r for r in out.warc if r.rec_type == "response" and "/robots.txt" not in str(r.target_uri)]
        assert len(hops) == count and all(" 30" in str(r.http_status_line) for r in hops)
        assert hops[0].target_uri == out.hostile.url(first)
        assert not out.records and out.errors() == {"redirect_limit": 1}
    return check


def chain_given_up(out: Outcome) -> None:
    redirects_given_up("/chain/1", 21)(out)
    assert "/chain/22" not in out.hostile.requests  # the 21st redirect is not followed


def ipv6_literal(out: Outcome) -> None:
    (record,) = out.records
    assert record["url"] == out.hostile.url6("/v6-page") and record["status"] == 200
    (response,) = out.responses(record["url"])
    assert warc_header(response, "WARC-IP-Address") == "::1"


def idn_host(out: Outcome) -> None:
    base = f"http://xn--bcher-kva.test:{out.hostile.port}"
    assert out.pages() == {f"{base}/idn", f"{base}/idn/next"}  # its own link is on its own host
    assert out.manifest["counts"]["filtered"] == {"scope:host": 1}


def very_long_url(out: Outcome) -> None:
    (record,) = out.records
    assert record["url"] == out.hostile.url(VERY_LONG) and VERY_LONG in out.hostile.requests
    assert out.response(VERY_LONG).target_uri == out.hostile.url(VERY_LONG)


def too_long_url(out: Outcome) -> None:
    assert TOO_LONG not in out.hostile.requests and not out.records


ESCAPE_SEEDS = ["/../../etc/passwd", "/%2e%2e/%2e%2e/x", "/con", "/aux.txt", "/..%2f..%2fetc%2fshadow"]


def escape_seeds(out: Outcome) -> None:
    assert len(out.records) == len(ESCAPE_SEEDS)
    assert all(r["status"] == 200 for r in out.records)


def escape_links(out: Outcome) -> None:
    # every link was followed and archived: the archive names its files itself, never after URLs
    assert len(out.records) == 1 + len(ESCAPING_PATHS)
    assert {r["depth"] for r in out.records} == {0, 1}


def seeds_from_file(*paths: str) -> Callable[[Outcome], None]:
    def check(out: Outcome) -> None:
        assert out.pages() == {out.hostile.url(p) for p in paths}
    return check


def all_checks(*checks: Callable[[T], None]) -> Callable[[T], None]:
    """Checks of a row's outcome, one after the other (any table's outcome type)."""
    def check(out: T) -> None:
        for one in checks:
            one(out)
    return check


# -- the table -------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Case:
    id: str
    args: tuple[str, ...]  # after `crawl`; {base}, {base6}, {port} are the hostile server's
    exit: int
    message: str  # a regex: the one line a person reads (stderr or the manifest's warnings)
    check: Callable[[Outcome], None] | None = None
    seeds: bytes | None = None  # a seed file's bytes ({base} replaced), given with -i
    xfail: str | None = None
    ipv6: bool = False


URL_USAGE = "scraper: error: invalid URL"
NOT_HTTP = "give an absolute URL starting with http:// or https://"

CASES = [
    # -- invalid and exotic URLs ------------------------------------------------------------------------------
    Case("url-javascript", ("javascript:alert(document.cookie)",), 2,
         rf"{URL_USAGE} 'javascript:alert\(document.cookie\)': ({NOT_HTTP}|scheme 'javascript' is not supported)",
         nothing_crawled),
    Case("url-data", ("data:text/html,<script>alert(1)</script>",), 2,
         rf"{URL_USAGE} 'data:text/html,<script>alert\(1\)</script>': ({NOT_HTTP}|scheme 'data' is not supported)",
         nothing_crawled),
    Case("url-ftp", ("ftp://127.0.0.1/pub/file",), 2, r"scheme 'ftp' is not supported", nothing_crawled),
    Case("url-space", ("{base}/a page.html",), 2, rf"{URL_USAGE} '.*/a page.html': contains white space",
         nothing_crawled),
    Case("url-bad-ipv6", ("http://[::1/x",), 2, rf"{URL_USAGE} 'http://\[::1/x': Invalid IPv6 URL", nothing_crawled),
    Case("url-bad-port", ("http://127.0.0.1:99999/",), 2, r"invalid URL .*Port out of range", nothing_crawled),
    Case("url-no-host", ("http:///etc/passwd",), 2, rf"{URL_USAGE} 'http:///etc/passwd': no host name",
         nothing_crawled),
    Case("url-ipv6-literal", ("{base6}/v6-page",), 0, r"pages archived\s+1 \(1 extracted\)", ipv6_literal, ipv6=True),
    Case("url-idn", ("http://bücher.test:{port}/idn", "--resolve", "bücher.test:127.0.0.1", "--depth", "1"), 0,
         r"pages archived\s+2", idn_host),
    Case("url-too-long", ("{base}" + TOO_LONG,), 1,
         r"URL is 3,0\d\d characters long, over URLLENGTH_LIMIT \(2,083\); not fetched", too_long_url),
    Case("url-very-long", ("{base}" + VERY_LONG, "-s", "URLLENGTH_LIMIT=100000"), 0, r"pages archived\s+1",
         very_long_url),
    Case("url-escaping-seeds", tuple("{base}" + p for p in ESCAPE_SEEDS), 0, r"pages archived\s+5", escape_seeds),
    Case("url-escaping-links", ("{base}/escape-links", "--depth", "1"), 0,
         rf"pages archived\s+{1 + len(ESCAPING_PATHS)}", escape_links),
    # -- responses that lie -----------------------------------------------------------------------------------
    Case("content-length-too-short", ("{base}/cl-too-short",), 0, r"pages archived\s+1", cl_too_short),
    Case("content-length-too-long", ("{base}/cl-too-long",), 1,
         r"/cl-too-long: the connection closed after 7\d\d of 5,000 bytes; archived what arrived "
         r"\(WARC-Truncated: length\)", cl_too_long),
    Case("charset-wrong", ("{base}/charset/cp1251-as-utf8",), 0, r"pages archived\s+1",
         archived_page("/charset/cp1251-as-utf8", body=cp1251_page)),
    Case("charset-unknown", ("{base}/charset/bogus",), 0, r"pages archived\s+1 \(1 extracted\)",
         archived_page("/charset/bogus", text="harbour project", body=lambda: page("Bogus charset"))),
    Case("gzip-not-gzip", ("{base}/gzip/fake",), 1,
         r"/gzip/fake: body is not valid gzip as its Content-Encoding says \(Not a gzipped file.*\); "
         r"archived as received, not read", fake_gzip_kept),
    Case("gzip-truncated", ("{base}/gzip/truncated",), 0, r"pages archived\s+1",
         archived_page("/gzip/truncated", text="The committee met")),  # what the first half inflates to
    Case("gzip-bomb", ("{base}/gzip/bomb",), 1,
         r"/gzip/bomb: Content-Encoding: gzip body of 1,046,400 bytes inflates to over 104,857,600 bytes "
         r"\(a decompression bomb\?\); archived as received, not read", gzip_bomb_kept),
    Case("body-over-limit", ("{base}/over-limit", "-s", f"ARCHIVE_MAX_BODY_BYTES={SMALL_LIMIT}"), 0,
         r"/over-limit: body over the size limit; archived truncated \(WARC-Truncated: length\)",
         archived_truncated("/over-limit")),
    Case("body-announced-8gib", ("{base}/announce-huge", "-s", f"ARCHIVE_MAX_BODY_BYTES={SMALL_LIMIT}"), 0,
         r"/announce-huge: body over the size limit; archived truncated",
         archived_truncated("/announce-huge", header=("Content-Length", str(8 * 1024**3)))),
    Case("endless-chunked", ("{base}/endless-chunked", "-s", f"ARCHIVE_MAX_BODY_BYTES={SMALL_LIMIT}"), 0,
         r"/endless-chunked: body over the size limit; archived truncated",
         all_checks(archived_truncated("/endless-chunked"), dechunked("/endless-chunked"))),
    Case("byte-a-second", ("{base}/trickle", "-s", "DOWNLOAD_TIMEOUT=2"), 1,
         r"failed http://\S+/trickle: Getting http://\S+/trickle took longer than 2(\.0)? seconds",
         failed_unarchived("/trickle")),
    Case("not-http", ("{base}/garbage-status",), 1, r"failed http://\S+/garbage-status: .*non-integer status code",
         failed_unarchived("/garbage-status")),
    Case("hang-up-at-once", ("{base}/close-at-once",), 1,
         r"failed http://\S+/close-at-once: .*(closed|no response)", failed_unarchived("/close-at-once")),
    Case("header-200k", ("{base}/huge-header",), 1,
         r"failed http://\S+/huge-header: (no response|the response was cut off)",
         failed_unarchived("/huge-header")),  # Twisted's client hangs up on a header line over 16 KiB
    Case("status-999", ("{base}/status-999",), 1, r"errors\s+http_999 ×1",
         archived_not_recorded("/status-999", "HTTP/1.1 999")),  # Scrapy does not keep reason phrases
    # -- malformed and huge HTML; non-HTML under an HTML content type -----------------------------------------
    Case("html-malformed", ("{base}/malformed",), 0, r"pages archived\s+1 \(1 extracted\)",
         archived_page("/malformed", text="div in a cell")),  # the unterminated comment hides the rest
    Case("html-20000-deep", ("{base}/deep",), 0, r"pages archived\s+1", archived_page("/deep")),
    Case("html-3mb", ("{base}/huge-html",), 0, r"pages archived\s+1 \(1 extracted\)",
         archived_page("/huge-html", text="Paragraph 59.", body=huge_html)),
    Case("pdf-as-html", ("{base}/pdf-as-html",), 0, r"pages archived\s+1",
         all_checks(archived_page("/pdf-as-html"),
                    lambda out: out.response("/pdf-as-html").content.startswith(b"%PDF-1.4"))),
    Case("noise-as-html", ("{base}/noise-as-html",), 0, r"pages archived\s+1",
         archived_page("/noise-as-html", body=binary_noise)),
    # -- redirects --------------------------------------------------------------------------------------------
    Case("redirect-loop", ("{base}/loop/a",), 1,
         r"/loop/[ab]: redirect loop or chain longer than the limit; given up", redirects_given_up("/loop/a", 21)),
    Case("redirect-30-hops", ("{base}/chain/1",), 1,
         r"/chain/21: redirect loop or chain longer than the limit; given up", chain_given_up),
    Case("redirect-javascript", ("{base}/redirect/javascript",), 1,
         r"/redirect/javascript: 302 redirect to 'javascript:alert\(document.cookie\)', which is not an http\(s\) "
         r"URL; not followed", archived_not_recorded("/redirect/javascript", "HTTP/1.1 302 Found")),
    Case("redirect-ftp", ("{base}/redirect/ftp",), 1,
         r"/redirect/ftp: 302 redirect to 'ftp://127.0.0.1/pub/file', which is not an http\(s\) URL; not followed",
         archived_not_recorded("/redirect/ftp", "HTTP/1.1 302 Found")),
    Case("redirect-bad-url", ("{base}/redirect/bad-ipv6",), 1,
         r"/redirect/bad-ipv6: 302 redirect to 'http://\[::1/x', which is not a valid URL \(Invalid IPv6 URL\)",
         archived_not_recorded("/redirect/bad-ipv6", "HTTP/1.1 302 Found")),
    Case("redirect-no-location", ("{base}/redirect/no-location",), 1,
         r"/redirect/no-location: 302 redirect without a Location header; not followed",
         archived_not_recorded("/redirect/no-location", "HTTP/1.1 302 Found")),
    Case("redirect-to-private", ("{base}/redirect/private",), 1,
         r"address guard: 10\.255\.255\.1 is on 10\.255\.255\.1 \(loopback/private\); not fetched",
         archived_not_recorded("/redirect/private", "HTTP/1.1 302 Found")),
    # -- seed files -------------------------------------------------------------------------------------------
    Case("seeds-bom-crlf-comments", (), 0, r"pages archived\s+2",
         seeds_from_file("/seeded/a", "/seeded/b"),
         seeds=b"\xef\xbb\xbf# seeds\r\n\r\n  {base}/seeded/a  \r\n\t# indented comment\r\n{base}/seeded/b # note\r\n"),
    Case("seeds-garbage-line", (), 2, r"seeds.txt: line 3: invalid URL 'GET / HTTP/1.1': contains white space",
         nothing_crawled, seeds=b"{base}/seeded/a\n\nGET / HTTP/1.1\n{base}/seeded/b\n"),
    Case("seeds-javascript-line", (), 2,
         rf"seeds.txt: line 2: invalid URL 'javascript:alert\(1\)': ({NOT_HTTP}|scheme 'javascript' is not supported)",
         nothing_crawled, seeds=b"{base}/seeded/a\r\njavascript:alert(1)\r\n"),
    Case("seeds-utf16", (), 2, r"seed file is not UTF-8 text: .*seeds.txt", nothing_crawled,
         seeds="\ufeffhttp://127.0.0.1/\n".encode("utf-16-le")),
    Case("seeds-binary", (), 2, r"seed file is not UTF-8 text", nothing_crawled, seeds=gzip_bomb()[:4096]),
    Case("seeds-only-comments", (), 2, r"no URLs to crawl", nothing_crawled, seeds=b"\xef\xbb\xbf# nothing\r\n\r\n"),
    Case("seeds-control-chars", (), 2, r"seeds.txt: line 2: invalid URL '.*/seeded/nul\\x00': contains a control "
         r"character", nothing_crawled, seeds=b"# a NUL\n{base}/seeded/nul\x00\n"),
]


@dataclass(frozen=True)
class Run:
    workdir: Path
    root: Path
    proc: subprocess.CompletedProcess[str]


def run_case(case: Case, hostile: Hostile, earlier: Earlier, workdir: Path) -> Run:
    """Copy the earlier archive, then crawl the row's input into it."""
    root = workdir / "archive"
    shutil.copytree(earlier.root, root)
    values = {"base": hostile.base, "port": str(hostile.port), "base6": f"http://[::1]:{hostile.port6}"}
    args = [re.sub(r"\{(base6?|port)\}", lambda m: values[m.group(1)], arg) for arg in case.args]
    if case.seeds is not None:
        seeds = workdir / "seeds.txt"
        seeds.write_bytes(case.seeds.replace(b"{base}", hostile.base.encode()))
        args = ["-i", str(seeds), *args]
    proc = run_scraper("crawl", *COMMON, *args, "--archive", str(root), timeout=120)
    return Run(workdir, root, proc)


@pytest.fixture(scope="module")
def runs(request: pytest.FixtureRequest, hostile: Hostile, earlier: Earlier,
         tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Future[Run]]]:
    """The selected rows' crawls, HOSTILE_JOBS (default 2) at a time, in the order the tests read them."""
    cases = [item.callspec.params["case"] for item in request.session.items
             if isinstance(getattr(item, "callspec", None) and item.callspec.params.get("case"), Case)]
    cases = [c for c in cases if not (c.ipv6 and hostile.port6 is None)]
    with ThreadPoolExecutor(max_workers=int(os.environ.get("HOSTILE_JOBS", "2"))) as pool:
        futures = {c.id: pool.submit(run_case, c, hostile, earlier, tmp_path_factory.mktemp(c.id)) for c in cases}
        yield futures
        for future in futures.values():
            future.cancel()  # after a failure under -x: the rows not started yet


def outcome(proc: subprocess.CompletedProcess[str], hostile: Hostile, root: Path, earlier: Earlier) -> Outcome:
    new = [d for d in crawl_dirs(root) if d.name != earlier.crawl]
    assert len(new) <= 1, new
    if not new:
        return Outcome(proc, hostile, None, {}, [], [])
    crawl = new[0]
    assert not list(crawl.glob("*.open")), "a WARC file left open"
    manifest = json.loads((crawl / "manifest.json").read_text(encoding="utf-8"))
    records = read_jsonl(crawl / "pages.jsonl") if (crawl / "pages.jsonl").is_file() else []
    warc = [r for path in sorted(crawl.glob("*.warc.gz")) for r in iter_records(path)]  # warcio reads it all
    return Outcome(proc, hostile, crawl, manifest, records, warc)


def assert_nothing_escaped(workdir: Path, root: Path, earlier: Earlier, out: Outcome) -> None:
    """Every file is the earlier crawl's, the catalog's, or in the new crawl's own folder (no subfolders),
    and none is named after a URL."""
    allowed_dirs = {root / "crawls" / earlier.crawl} | ({out.crawl} if out.crawl else set())
    url_names = {"passwd", "shadow", "con", "aux.txt", "nul", "x", "root", "windows.ini", "x" * 300, "d"}
    for path in workdir.rglob("*"):
        if path.is_dir():
            assert path in {root, root / "crawls", *allowed_dirs}, f"unexpected folder {path}"
            continue
        assert path.name not in url_names, f"a file named after a URL: {path}"
        if path.parent == workdir:
            assert path.name == "seeds.txt", path
        elif path.parent == root:
            assert path.name.startswith("catalog"), f"unexpected file in the archive root: {path}"
        else:
            assert path.parent in allowed_dirs, f"file outside the crawl folders: {path}"


def param(case: Case) -> Any:
    marks = [pytest.mark.xfail(strict=True, reason=case.xfail)] if case.xfail else []
    return pytest.param(case, id=case.id, marks=marks)


def test_the_table_has_at_least_30_cases() -> None:
    assert len(CASES) >= 30 and len({c.id for c in CASES}) == len(CASES)


@pytest.mark.parametrize("case", [param(c) for c in CASES])
def test_hostile_input(case: Case, hostile: Hostile, earlier: Earlier, runs: dict[str, Future[Run]]) -> None:
    if case.ipv6 and hostile.port6 is None:
        pytest.skip("no IPv6 loopback on this machine")
    run = runs[case.id].result()
    proc, root = run.proc, run.root
    out = outcome(proc, hostile, root, earlier)
    said = proc.stderr + "\n" + "\n".join(out.manifest.get("warnings", []))

    # the exit status, and no traceback anywhere
    assert proc.returncode == case.exit, f"exit {proc.returncode}, not {case.exit}:\n{proc.stderr}"
    assert TRACEBACK not in proc.stderr and TRACEBACK not in proc.stdout, proc.stderr
    if case.exit == 2:  # a usage error: one line, nothing crawled
        assert proc.stderr.strip().splitlines()[-1].startswith("scraper: error:"), proc.stderr
        assert out.crawl is None
    else:
        assert out.crawl is not None and out.manifest["finish_reason"] == "finished", proc.stderr

    # the earlier crawl: every file byte for byte, and still the catalog's answer for its URLs
    assert sha256_tree(root / "crawls" / earlier.crawl) == earlier.hashes
    for url, record in earlier.records.items():
        assert latest_record(root, url) == record
    assert_nothing_escaped(run.workdir, root, earlier, out)

    # the whole root verifies (`python -m scraper verify -o ROOT`, in this process)
    verified = CliRunner().invoke(cli, ["verify", "--archive", str(root)])
    assert verified.exit_code == 0, verified.output

    if case.check is not None:
        case.check(out)

    # a clear message, last: the row's own line, and no repr of an exception in its place
    assert re.search(case.message, said), f"no /{case.message}/ in:\n{said}"
    assert FAILURE_REPR not in proc.stderr, proc.stderr
    # No bound on its time here: a loaded machine makes any bound flaky.  A row that hangs (an endless
    # body not cut at the limit, a trickle not timed out) fails on the crawl's 120 s timeout instead.
