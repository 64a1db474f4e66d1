"""Hostile archives for the readers, one table (issue 15: bounded reading, verify's resync, wacz's pages).

Every row copies an archive root that holds a good crawl (written by scraper's own WARC writer, its
pages extracted), adds something hostile built from real bytes (a gzip bomb, a record of hundreds of
megabytes that is kilobytes on disk, a WARC cut short, bytes that are all gzip magic), and runs one
reader (``python -m scraper ...``) in a subprocess.  Then it checks: the exit status; the row's line
on stderr (or stdout); no traceback; the good crawl's WARC files and page records byte for byte;
and a bound on the work, counted, never timed:

* peak memory: the child's ``ru_maxrss`` (``os.wait4``) at most the same command's on the good
  archive alone plus :data:`MEMORY_SLACK`, while the hostile record is :data:`BOMB` bytes when read
  or inflated whole (a reader that holds it, or a hundred megabytes of it, fails);
* files: the child runs under ``RLIMIT_FSIZE`` (:data:`FILE_LIMIT`): a reader that spools a bomb to
  a temporary file is killed by SIGXFSZ;
* output: how many findings ``verify`` lists.

The readers take the bound as ``--max-body-bytes`` (1 MiB here), as the crawl takes
ARCHIVE_MAX_BODY_BYTES.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import re
import resource
import shutil
import struct
import subprocess
import sys
import tempfile
import threading
import uuid
import zipfile
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from scraper.extract.page import extract_page
from scraper.records import PAGE_RECORD_CONTENT_TYPE, Capture, WarcPointer, record_for_capture
from scraper.reextract import default_options
from scraper.storage.warc import HttpExchange, WarcFileWriter, metadata_uri
from tests.conftest import REPO

LIMIT = "1M"  # --max-body-bytes in every row that reads bodies
LIMIT_BYTES = 1 << 20
BOMB = 256 << 20  # what a hostile record inflates to, or holds
# Over the same command's peak on the good archive alone.  warcio inflates a WARC's gzip 16 KiB at a time:
# data of the highest ratio (zeros) gives it up to 16 MiB at once, held with a copy or two, whatever the
# record's size: a constant, which a reader that holds a record (or a decoded body) whole goes far past.
MEMORY_SLACK = 96 << 20
FILE_LIMIT = 64 << 20  # RLIMIT_FSIZE of every child: no file it writes may grow past this
TIMEOUT = 300  # a child still running then is killed: a hang, not a measure
TRACEBACK = "Traceback (most recent call last)"
GOOD = "20260101T000000Z-600d00"
BAD = "20260102T000000Z-bad000"
START = datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC)
HTML_HEAD = b"<!doctype html><html><head><title>Bomb</title></head><body><p>"
PARAGRAPH = ("The harbour committee met on Tuesday and agreed to publish the whole budget, line by line, "
             "before the end of the month, after a debate that ran late into the evening. ")


# -- building archives from real bytes -----------------------------------------------------------------------
def article(title: str) -> bytes:
    return (f"<!doctype html><html lang='en'><head><meta charset='utf-8'><title>{title}</title></head><body>"
            f"<article><h1>{title}</h1>" + f"<p>{PARAGRAPH * 3}</p>" * 4 + "</article></body></html>").encode()


def gzip_stream(head: bytes, fill: bytes, count: int, tail: bytes = b"", wbits: int = 31) -> bytes:
    """``head + fill * count + tail`` compressed, a megabyte at a time (the whole is never in memory)."""
    compressor = zlib.compressobj(6, zlib.DEFLATED, wbits)
    out = [compressor.compress(head)]
    per = max(1, (1 << 20) // len(fill))
    block = fill * per
    left = count
    while left:
        step = min(per, left)
        out.append(compressor.compress(block if step == per else fill * step))
        left -= step
    out += [compressor.compress(tail), compressor.flush()]
    return b"".join(out)


def record_id(name: str) -> str:
    return f"<urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, name)}>"


def raw_member(fields: list[tuple[str, str]], head: bytes, fill: bytes = b"", count: int = 0,
               tail: bytes = b"") -> bytes:
    """One WARC record as one gzip member, written by hand: its block is ``head + fill * count + tail``."""
    length = len(head) + len(fill) * count + len(tail)
    warc_head = "WARC/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in fields) + f"Content-Length: {length}\r\n\r\n"
    return gzip_stream(warc_head.encode() + head, fill or b" ", count if fill else 0, tail + b"\r\n\r\n")


@functools.cache
def gzip_bomb_payload() -> bytes:
    """An HTML body that inflates to BOMB bytes: a quarter of a megabyte of gzip."""
    return gzip_stream(HTML_HEAD, b"\0", BOMB)


@dataclass
class CrawlBuilder:
    """A crawl folder written as a crawl writes it: WARC records, a page record beside each page, pages.jsonl."""

    root: Path
    crawl_id: str
    records: list[dict[str, Any]] = field(default_factory=list)
    request_offsets: list[int] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.directory = self.root / "crawls" / self.crawl_id
        self.writer = WarcFileWriter(self.directory, info={"crawl-id": self.crawl_id}, host="test")

    def page(self, path: str, body: bytes, headers: list[tuple[str, str]] | None = None,
             extract: bool = True) -> dict[str, Any]:
        url = f"http://news.example/{path}"
        moment = START + timedelta(seconds=len(self.records))
        location = self.writer.write_exchange(HttpExchange(
            url, "GET", [("Host", "news.example")], b"", "HTTP/1.1", 200, "OK",
            headers or [("Content-Type", "text/html; charset=utf-8")], body, moment))
        self.request_offsets.append(location.request.offset)
        response = location.response
        capture = Capture(requested_url=url, url=url, status=200, content_type="text/html", fetched_at=moment,
                          payload_digest=location.payload_digest,
                          warc=WarcPointer(file=response.file, offset=response.offset, length=response.length,
                                           record_id=response.record_id))
        found = extract_page(body.decode("utf-8"), url, default_options()) if extract else None
        record = record_for_capture(self.crawl_id, capture, found, None).to_dict()
        self.writer.write_metadata(metadata_uri(url), response.record_id, json.dumps(record).encode(),
                                   PAGE_RECORD_CONTENT_TYPE, moment)
        self.records.append(record)
        return record

    def close(self, *members: bytes) -> Path:
        """Close the WARC file, append hand-made ``members`` to it, write pages.jsonl; the WARC's path."""
        self.writer.close()
        (warc,) = self.directory.glob("*.warc.gz")
        with open(warc, "ab") as fh:
            for member in members:
                fh.write(member)
        (self.directory / "pages.jsonl").write_text("".join(json.dumps(r) + "\n" for r in self.records),
                                                    encoding="utf-8")
        return warc


def hostile_crawl(root: Path) -> CrawlBuilder:
    builder = CrawlBuilder(root, BAD)
    builder.page("fine", article("A page beside the hostile record"))
    return builder


# -- the hostile parts, one per row ----------------------------------------------------------------------------
def add_gzip_bomb(root: Path) -> None:
    """A page whose gzip body inflates to 256 MiB (and its page record, as a crawl writes one)."""
    builder = CrawlBuilder(root, BAD)
    builder.page("bomb", gzip_bomb_payload(), [("Content-Type", "text/html"), ("Content-Encoding", "gzip")],
                 extract=False)
    builder.close()


def add_huge_resource(root: Path) -> None:
    """A resource record of 256 MiB of zeros (a quarter of a megabyte on disk) beside a page."""
    huge = raw_member([("WARC-Type", "resource"), ("WARC-Record-ID", record_id("resource")),
                       ("WARC-Date", "2026-01-02T00:00:00Z"), ("WARC-Target-URI", "http://news.example/zeros.bin"),
                       ("Content-Type", "application/octet-stream")], b"", b"\0", BOMB)
    hostile_crawl(root).close(huge)


def add_huge_page_record(root: Path) -> None:
    """A metadata record that says it is a page record, of 256 MiB of JSON."""
    huge = raw_member([("WARC-Type", "metadata"), ("WARC-Record-ID", record_id("page-record")),
                       ("WARC-Date", "2026-01-02T00:00:00Z"), ("WARC-Target-URI", "metadata://news.example/huge"),
                       ("Content-Type", PAGE_RECORD_CONTENT_TYPE)],
                      b'{"schema_version": 1, "text": "', b"a", BOMB, b'"}')
    hostile_crawl(root).close(huge)


def add_huge_payload(root: Path) -> None:
    """A response of 256 MiB of HTML (spaces), its page record pointing at it, as another crawler's might."""
    builder = hostile_crawl(root)
    warc = builder.close()
    offset = warc.stat().st_size
    http = b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n\r\n" + HTML_HEAD
    rid, url = record_id("huge-payload"), "http://news.example/huge"
    response = raw_member([("WARC-Type", "response"), ("WARC-Record-ID", rid), ("WARC-Date", "2026-01-02T00:00:01Z"),
                           ("WARC-Target-URI", url), ("Content-Type", "application/http; msgtype=response")],
                          http, b" ", BOMB)
    capture = Capture(requested_url=url, url=url, status=200, content_type="text/html",
                      fetched_at=datetime(2026, 1, 2, 0, 0, 1, tzinfo=UTC), payload_digest=None,
                      warc=WarcPointer(file=warc.name, offset=offset, length=len(response), record_id=rid))
    record = record_for_capture(BAD, capture, None, None).to_dict()
    metadata = raw_member([("WARC-Type", "metadata"), ("WARC-Record-ID", record_id("huge-payload-record")),
                           ("WARC-Date", "2026-01-02T00:00:01Z"), ("WARC-Target-URI", metadata_uri(url)),
                           ("WARC-Concurrent-To", rid), ("Content-Type", PAGE_RECORD_CONTENT_TYPE)],
                          json.dumps(record).encode())
    with open(warc, "ab") as fh:
        fh.write(response + metadata)
    with open(builder.directory / "pages.jsonl", "a", encoding="utf-8") as fh:
        fh.write(json.dumps(record) + "\n")


def add_bomb_to_import(root: Path) -> None:
    """The gzip bomb's WARC, outside the archive: what `scraper import` is given."""
    add_gzip_bomb(root.parent / "source")


TRUNCATED_PAGES, KEPT_PAGES = 12, 8


def add_truncated_warc(root: Path) -> None:
    """A crawl of 12 pages whose WARC file was cut short after the 8th: its pages.jsonl still lists 12."""
    builder = CrawlBuilder(root, BAD)
    for number in range(TRUNCATED_PAGES):
        builder.page(f"story/{number}", article(f"Story number {number}"))
    warc = builder.close()
    with open(warc, "r+b") as fh:
        fh.truncate(builder.request_offsets[KEPT_PAGES])


def bad_file(root: Path) -> Path:
    folder = root / "crawls" / BAD
    folder.mkdir(parents=True)
    return folder / "hostile.warc.gz"


MAGIC_FLOOD = 20_000  # b"\x1f\x8b\x08" repeated: 60 kB, each one a place a gzip member could start


def add_gzip_magic_flood(root: Path) -> None:
    bad_file(root).write_bytes(b"garbage!" + b"\x1f\x8b\x08" * MAGIC_FLOOD)


FAULTY_RECORDS = 300


def add_fault_flood(root: Path) -> None:
    """300 small records, each with a WARC-Date that is no date: 300 faults."""
    bad_file(root).write_bytes(b"".join(
        raw_member([("WARC-Type", "resource"), ("WARC-Record-ID", record_id(f"date-{n}")),
                    ("WARC-Date", "2026-13-45T25:61:00Z"), ("WARC-Target-URI", f"http://news.example/{n}"),
                    ("Content-Type", "text/plain")], b"hi") for n in range(FAULTY_RECORDS)))


NESTED = 2_000


def add_nested_members(root: Path) -> None:
    """Candidates 100 bytes apart, each a gzip header and a stored block declaring 65,535 bytes that swallow the
    next 655 candidates and inflate to "WARC/": each read as a member, each failing 64 KiB later."""
    member = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff" + b"\x00" + struct.pack("<HH", 0xFFFF, 0x0000)
    member += b"WARC/1.1\r\n"
    bad_file(root).write_bytes(b"garbage!" + member.ljust(100, b"x") * NESTED)


# -- running a reader, measured ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class Ran:
    returncode: int
    stdout: str
    stderr: str
    peak: int  # the child's peak resident memory, in bytes (its waited-for children included)


def _limit_files() -> None:
    resource.setrlimit(resource.RLIMIT_FSIZE, (FILE_LIMIT, FILE_LIMIT))


def run_measured(args: list[str]) -> Ran:
    """``python -m scraper ARGS`` in a subprocess under RLIMIT_FSIZE, reaped with os.wait4 for its rusage."""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        proc = subprocess.Popen([sys.executable, "-m", "scraper", *args], stdout=out, stderr=err, cwd=REPO, env=env,
                                preexec_fn=_limit_files)
        timer = threading.Timer(TIMEOUT, proc.kill)
        timer.start()
        try:
            _pid, status, usage = os.wait4(proc.pid, 0)
        finally:
            timer.cancel()
        proc.returncode = os.waitstatus_to_exitcode(status)  # reaped here: Popen must not wait for it again
        out.seek(0)
        err.seek(0)
        return Ran(proc.returncode, out.read().decode("utf-8", "replace"), err.read().decode("utf-8", "replace"),
                   usage.ru_maxrss * 1024)


@dataclass(frozen=True)
class Case:
    id: str
    args: tuple[str, ...]  # {root} the archive root, {work} the row's folder
    build: Callable[[Path], None]
    exit: int
    message: str  # a regex, searched in stderr (and stdout)
    check: Callable[[Ran, Path], None] | None = None
    baseline: tuple[str, ...] | None = None  # the command on the good archive alone (default: the same)


def expand(args: tuple[str, ...], root: Path) -> list[str]:
    return [arg.replace("{root}", str(root)).replace("{work}", str(root.parent)) for arg in args]


def captures_of(root: Path) -> dict[str, str]:
    """The good crawl's WARC files and page records (not the files a reader adds beside them)."""
    folder = root / "crawls" / GOOD
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.iterdir()) if p.name.endswith(".warc.gz") or p.name == "pages.jsonl"}


# -- what each row checks beyond the common part ----------------------------------------------------------------
def reextracted(root: Path, crawl: str) -> list[dict[str, Any]]:
    (path,) = (root / "crawls" / crawl).glob("pages.reextract-*.jsonl")
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def good_crawl_reextracted(ran: Ran, root: Path) -> None:
    """The run went on past the hostile record: the good crawl's pages were extracted again, with their text."""
    records = reextracted(root, GOOD)
    assert len(records) == 2 and all(r["text"] and "harbour committee" in r["text"] for r in records)


def bomb_recorded_unread(ran: Ran, root: Path) -> None:
    good_crawl_reextracted(ran, root)
    (bomb,) = reextracted(root, BAD)
    assert bomb["url"].endswith("/bomb") and bomb["text"] is None  # recorded, as a crawl records a bomb page


def huge_page_truncated(ran: Ran, root: Path) -> None:
    good_crawl_reextracted(ran, root)
    by_url = {r["url"].rsplit("/", 1)[-1]: r for r in reextracted(root, BAD)}
    assert set(by_url) == {"fine", "huge"}
    assert by_url["huge"]["truncated"] is True and not by_url["fine"]["truncated"]


def bomb_imported(ran: Ran, root: Path) -> None:
    (crawl,) = (root.parent / "imported" / "crawls").iterdir()
    (record,) = [json.loads(line) for line in (crawl / "pages.jsonl").read_text(encoding="utf-8").splitlines()]
    assert record["url"].endswith("/bomb") and record["text"] is None


def package_pages(root: Path) -> list[str]:
    with zipfile.ZipFile(root.parent / "out.wacz") as package:
        lines = package.read("pages/pages.jsonl").decode("utf-8").splitlines()
    return sorted(json.loads(line)["url"].rsplit("/", 1)[-1] for line in lines[1:])


def bomb_packaged(ran: Ran, root: Path) -> None:
    assert package_pages(root) == ["first", "second"]  # the bomb page has no text: not a page to list


def only_pages_with_captures(ran: Ran, root: Path) -> None:
    assert package_pages(root) == sorted(["first", "second", *map(str, range(KEPT_PAGES))])


def findings(ran: Ran, file_name: str) -> list[str]:
    """The lines verify printed under one file."""
    lines = ran.stdout.splitlines()
    start = next(i for i, line in enumerate(lines) if line.split(" (")[0].endswith(file_name))
    said = []
    for line in lines[start + 1:]:
        if not line.startswith("  "):
            break
        said.append(line)
    return said


def one_fault_for_the_flood(ran: Ran, root: Path) -> None:
    assert len(findings(ran, "hostile.warc.gz")) == 1, ran.stdout[:2000]
    assert f"OK {root / 'crawls' / GOOD}" in ran.stdout


def faults_listed_and_counted(ran: Ran, root: Path) -> None:
    said = findings(ran, "hostile.warc.gz")
    assert sum(line.startswith("  warc-date ") for line in said) == 100, said[:5]
    assert said[-1] == "  ... and 200 more fault(s), not listed (the first 100 of each are)", said[-3:]


def resync_bounded(ran: Ran, root: Path) -> None:
    said = findings(ran, "hostile.warc.gz")
    assert len(said) == 102, said[-3:]  # the first 100, the one that stops, the count of the rest
    assert re.search(r"bytes to the end not read: resyncing has read \d+ bytes of damaged gzip data", said[-2])


CASES = [
    # -- item 1: every reader bounds decompression and record size, and streams records -------------------------
    Case("reextract-gzip-bomb", ("reextract", "--archive", "{root}", "--max-body-bytes", LIMIT), add_gzip_bomb, 1,
         rf"scraper: warning: \S+/crawls/{BAD}/\S+\.warc\.gz at offset \d+ \(<urn:uuid:[0-9a-f-]+>\): the body "
         r"inflates to over 1,048,576 bytes \(a decompression bomb\?\); not extracted", bomb_recorded_unread),
    Case("reextract-huge-resource", ("reextract", "--archive", "{root}", "--max-body-bytes", LIMIT),
         add_huge_resource, 0,
         r"re-extracted 3 page\(s\) of 2 crawl\(s\)", good_crawl_reextracted),
    Case("reextract-huge-page-record", ("reextract", "--archive", "{root}", "--max-body-bytes", LIMIT),
         add_huge_page_record, 1,
         rf"scraper: warning: \S+/crawls/{BAD}/\S+\.warc\.gz at offset \d+ \(<urn:uuid:[0-9a-f-]+>\): a page "
         r"record over 1,048,576 bytes; skipped", good_crawl_reextracted),
    Case("reextract-huge-payload", ("reextract", "--archive", "{root}", "--max-body-bytes", LIMIT), add_huge_payload, 0,
         rf"scraper: warning: \S+/crawls/{BAD}/\S+\.warc\.gz at offset \d+ \(<urn:uuid:[0-9a-f-]+>\): a payload "
         r"over 1,048,576 bytes; read that far, and the page recorded truncated", huge_page_truncated),
    Case("import-gzip-bomb", ("import", "{work}/source/crawls/" + BAD, "--archive", "{work}/imported", "-q",
                              "--max-body-bytes", LIMIT), add_bomb_to_import, 0,
         r"scraper: warning: \S+\.warc\.gz at offset \d+ \(<urn:uuid:[0-9a-f-]+>\): the body inflates to over "
         r"1,048,576 bytes \(a decompression bomb\?\); not extracted", bomb_imported,
         baseline=("import", "{root}/crawls/" + GOOD, "--archive", "{work}/imported", "-q")),
    Case("wacz-gzip-bomb", ("wacz", "--all", "--archive", "{root}", "-o", "{work}/out.wacz",
                            "--max-body-bytes", LIMIT), add_gzip_bomb, 0,
         r"out\.wacz: 2 WARC file\(s\), 2 page\(s\)", bomb_packaged),
    # -- item 12: the pages of a package are those whose captures are in it --------------------------------------
    Case("wacz-truncated-warc", ("wacz", "--all", "--archive", "{root}", "-o", "{work}/out.wacz"),
         add_truncated_warc, 3,
         rf"scraper: warning: \S+/crawls/{BAD}/pages\.jsonl: {TRUNCATED_PAGES - KEPT_PAGES} page record\(s\) point "
         r"at captures its WARC files do not hold \(a WARC file cut short\?\), the first at \S+\.warc\.gz offset "
         r"\d+", only_pages_with_captures),
    # -- item 5: verify's cost and report are bounded on hostile bytes ------------------------------------------
    Case("verify-gzip-magic-flood", ("verify", "--archive", "{root}"), add_gzip_magic_flood, 3,
         r"  gzip-member at offset 0: no gzip member starts here: the data starts b'garbage!\\x1f\\x8b\\x08.*'; "
         rf"{8 + 3 * MAGIC_FLOOD} bytes skipped to the end", one_fault_for_the_flood),
    Case("verify-fault-flood", ("verify", "--archive", "{root}"), add_fault_flood, 3,
         r"  warc-date at offset 0 \(<urn:uuid:[0-9a-f-]+>\): WARC-Date '2026-13-45T25:61:00Z' ",
         faults_listed_and_counted),
    Case("verify-nested-members", ("verify", "--archive", "{root}"), add_nested_members, 3,
         r"  \.\.\. and \d+ more fault\(s\), not listed", resync_bounded),
]


@pytest.fixture(scope="module")
def good_archive(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An archive root with one good crawl of two article pages."""
    root = tmp_path_factory.mktemp("good") / "archive"
    builder = CrawlBuilder(root, GOOD)
    builder.page("first", article("The first story"))
    builder.page("second", article("The second story"))
    builder.close()
    return root


def fresh_copy(good_archive: Path, folder: Path) -> Path:
    root = folder / "archive"
    shutil.copytree(good_archive, root)
    return root


@pytest.fixture(scope="module")
def baselines(good_archive: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[[Case], int]]:
    """The peak memory of a row's command on the good archive alone, each command measured once."""
    measured: dict[tuple[str, ...], int] = {}

    def peak(case: Case) -> int:
        args = case.baseline or case.args
        if args not in measured:
            root = fresh_copy(good_archive, tmp_path_factory.mktemp("baseline"))
            ran = run_measured(expand(args, root))
            assert ran.returncode == 0 and TRACEBACK not in ran.stderr, ran.stderr
            measured[args] = ran.peak
        return measured[args]

    yield peak


def test_the_table_has_a_row_per_case() -> None:
    assert len(CASES) >= 10 and len({c.id for c in CASES}) == len(CASES)


@pytest.mark.parametrize("case", [pytest.param(c, id=c.id) for c in CASES])
def test_hostile_archive(case: Case, good_archive: Path, baselines: Callable[[Case], int], tmp_path: Path) -> None:
    root = fresh_copy(good_archive, tmp_path)
    before = captures_of(root)
    case.build(root)
    ran = run_measured(expand(case.args, root))
    said = ran.stderr + "\n" + ran.stdout

    # no file written past RLIMIT_FSIZE (Python ignores SIGXFSZ: the write fails with EFBIG), the exit status,
    # no traceback
    assert "File too large" not in said and ran.returncode != -25, f"a file over {FILE_LIMIT:,} bytes:\n{said}"
    assert ran.returncode == case.exit, f"exit {ran.returncode}, not {case.exit}:\n{ran.stderr[-3000:]}"
    assert TRACEBACK not in said, ran.stderr[-3000:]
    # the good crawl's captures, byte for byte
    assert captures_of(root) == before
    # memory: what the command needs on the good archive, not what the hostile record would take
    baseline = baselines(case)
    assert ran.peak <= baseline + MEMORY_SLACK, (f"peak memory {ran.peak >> 20} MiB, over "
                                                 f"{(baseline + MEMORY_SLACK) >> 20} MiB")
    if case.check is not None:
        case.check(ran, root)
    # the row's own line
    assert re.search(case.message, said), f"no /{case.message}/ in:\n{said[-3000:]}"
