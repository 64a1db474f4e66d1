"""Hostile output, addresses and disks, one table: each case ends in its exit status and its line, with
no traceback, nothing printed raw that a terminal would obey, and the captures already in the archive
root exactly as they were.

Every row copies an archive that already holds a good crawl (for some rows, also two hostile imports),
plants what the row needs, runs the real CLI (``python -m scraper``) in a subprocess, then checks: the
exit status; the row's line (on stderr or stdout); no traceback; no control character in stdout or
stderr but the tabs and line breaks the output is made of; the earlier crawl's files byte for byte, and
its captures still the catalog's answer; and what the row says about what was (not) written or fetched.

- Forged output (issue 15, item 10): a record id, a title or a WARC file name holding an escape
  sequence (``ESC ] 0 ; ... BEL``, or the one-byte C1 form ``\\x9d``) or line breaks, printed by every
  command that prints them.
- The address guard (item 11): the shared address space 100.64.0.0/10 and 6to4 addresses wrapping
  special IPv4 addresses; another port on a seed's address.  Links to addresses that are not loopback
  are requested through a recording HTTP proxy on 127.0.0.1 (``http_proxy``), so that a request the
  guard lets through is seen there and nothing leaves the machine.
- A full disk (item 8): ``crawl``, ``export -o`` and ``reextract`` with every write failing, as on a
  full disk (``RLIMIT_FSIZE`` 0, as tests/integration/test_resume.py's full-disk test does).
"""

from __future__ import annotations

import contextlib
import csv
import gzip
import io
import json
import os
import re
import resource
import shutil
import signal
import sqlite3
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from scraper.storage.lookup import latest_record
from tests.conftest import FAST, RAW_CONTROL, REPO, crawl_dirs, run_scraper
from tests.integration.test_hostile import Earlier, earlier_crawl, sha256_tree
from tests.site import Site, SiteServer, golden_pages

COMMON = [*FAST, "-s", "EXTRACT_WORKERS=0", "-s", "RETRY_TIMES=0", "-s", "DOWNLOAD_TIMEOUT=5"]
TRACEBACK = "Traceback (most recent call last)"

OSC = "\x1b]0;pwned\x07"  # sets the terminal's title
C1_OSC = "\u009d0;pwned\u009c"  # the same in its one-character (C1) form
FORGED = "\nOK forged.warc.gz (9 records)\n"  # a line verify never wrote
EVIL_URL = "http://evil.test/story"
EVIL_FILES = (f"evil{OSC}.warc.gz", "evil2\x1b[31m.warc.gz")
EVIL_TITLES = (f"First {C1_OSC} title", f"Second {C1_OSC} title")
EVIL_RECORD_ID = f"<urn:uuid:{OSC}\u009b31m>"
NAMES = list(golden_pages())


# -- servers -----------------------------------------------------------------------------------------
@dataclass
class Recorder:
    """A loopback HTTP server that answers every request, as a page or as a proxy (absolute-form
    targets), and records each request line."""

    port: int = 0
    requests: list[str] = field(default_factory=list)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def targets(self, needle: str) -> list[str]:
        return [line for line in self.requests if needle in line]


C1_PAGE = (f"<!doctype html><html lang='en'><head><meta charset='utf-8'><title>{EVIL_TITLES[0]}</title></head>"
           f"<body><article><h1>{EVIL_TITLES[0]}</h1>"
           + "".join(f"<p>Paragraph {i}: the council met on Tuesday to discuss the harbour budget and its "
                     f"repairs.</p>" for i in range(12))
           + "</article></body></html>").encode()


def recorder_handler(recorder: Recorder) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            recorder.requests.append(self.requestline)
            body = C1_PAGE if self.path.endswith("/c1-title") else b"<html><body><p>recorded</p></body></html>"
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    return Handler


@pytest.fixture(scope="module")
def recorder() -> Iterator[Recorder]:
    found = Recorder()
    server = ThreadingHTTPServer(("127.0.0.1", 0), recorder_handler(found))
    server.daemon_threads = True
    found.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield found
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def other() -> Iterator[Site]:
    """A second site on 127.0.0.1, on another port than the seeds'."""
    with SiteServer() as running:
        yield running


@dataclass(frozen=True)
class Servers:
    site: Site
    other: Site
    recorder: Recorder


@pytest.fixture(scope="module")
def servers(site: Site, other: Site, recorder: Recorder) -> Servers:
    return Servers(site, other, recorder)


# -- the archives rows start from -------------------------------------------------------------------------
@pytest.fixture(scope="module")
def earlier(site: Site, tmp_path_factory: pytest.TempPathFactory) -> Earlier:
    """A good crawl of two articles: the captures every row must leave alone."""
    root = tmp_path_factory.mktemp("earlier") / "archive"
    return earlier_crawl(root, [site.url(f"/articles/{name}.html") for name in NAMES[:2]], *COMMON)


def warc_record(headers: list[tuple[str, str]], block: bytes) -> bytes:
    """One WARC/1.1 record in its own gzip member, as a hostile tool might write it (no checks)."""
    head = "WARC/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers) + f"Content-Length: {len(block)}\r\n\r\n"
    return gzip.compress(head.encode("utf-8") + block + b"\r\n\r\n", mtime=0)


def evil_warc(title: str, date: str, record_id: str) -> bytes:
    html = (f"<!doctype html><html lang='en'><head><meta charset='utf-8'><title>{title}</title></head><body>"
            f"<article><h1>{title}</h1>" + "".join(f"<p>{title}: paragraph {i} about the harbour budget, the "
                                                   f"council and its repairs.</p>" for i in range(12))
            + "</article></body></html>")
    http = b"HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\n\r\n" + html.encode("utf-8")
    info = warc_record([("WARC-Type", "warcinfo"), ("WARC-Record-ID", f"<urn:uuid:{date}-info>"),
                        ("WARC-Date", date), ("Content-Type", "application/warc-fields")], b"software: evil\r\n")
    response = warc_record([("WARC-Type", "response"), ("WARC-Record-ID", record_id), ("WARC-Date", date),
                            ("WARC-Target-URI", EVIL_URL), ("Content-Type", "application/http; msgtype=response")],
                           http)
    return info + response


@pytest.fixture(scope="module")
def imported(earlier: Earlier, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The earlier archive plus two imports of hand-made WARCs: one page in two versions, whose titles
    hold a C1 escape sequence, whose WARC file names hold escape sequences, and whose first record id
    holds both forms."""
    work = tmp_path_factory.mktemp("imported")
    root = work / "archive"
    shutil.copytree(earlier.root, root)
    dates = ("2026-01-01T00:00:00Z", "2026-02-01T00:00:00Z")
    ids = (EVIL_RECORD_ID, "<urn:uuid:00000000-0000-4000-8000-000000000002>")
    for name, title, date, record_id in zip(EVIL_FILES, EVIL_TITLES, dates, ids, strict=True):
        source = work / name
        source.write_bytes(evil_warc(title, date, record_id))
        proc = run_scraper("import", str(source), "--archive", str(root), "-q")
        assert proc.returncode == 0, proc.stderr
    return root


# -- one row ----------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Setup:
    """Where a row runs: its own copy of the archive, and the servers."""

    workdir: Path
    root: Path
    servers: Servers
    earlier: Earlier


@dataclass(frozen=True)
class Command:
    args: tuple[str, ...]
    env: dict[str, str] = field(default_factory=dict)  # added to the environment
    file_limit: int | None = None  # RLIMIT_FSIZE: every write past it fails (EFBIG), as on a full disk
    # Another process reads the catalog meanwhile (as `scraper show` may during a crawl): SQLite then keeps
    # its shared-memory file as it is, so the catalog opens on the full disk and the command goes on to
    # write its own files.
    catalog_in_use: bool = False


@dataclass(frozen=True)
class Outcome:
    setup: Setup
    proc: subprocess.CompletedProcess[str]

    @property
    def lines(self) -> list[str]:
        return self.proc.stdout.splitlines()

    def new_crawls(self) -> list[Path]:
        return [d for d in crawl_dirs(self.setup.root) if d.name != self.setup.earlier.crawl]


@dataclass(frozen=True)
class Case:
    id: str
    prepare: Callable[[Setup], Command]  # plants what the row needs in its copy; the command to run
    exit: int
    message: str  # a regex: the row's line, on stderr or stdout
    check: Callable[[Outcome], None] | None = None
    base: str = "earlier"  # or "imported": the archive the row starts from
    error: bool = False  # an error: exactly one "scraper: error:" line, the last on stderr


def limit_file_size(limit: int) -> Callable[[], None]:
    def apply() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # else the kernel kills the writer
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
    return apply


def run(command: Command, setup: Setup) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy")}
    env.update({"PYTHONPATH": str(REPO), **command.env})
    preexec = limit_file_size(command.file_limit) if command.file_limit is not None else None
    with contextlib.ExitStack() as stack:
        if command.catalog_in_use:
            reader = stack.enter_context(contextlib.closing(sqlite3.connect(setup.root / "catalog.sqlite")))
            reader.execute("SELECT count(*) FROM sqlite_master").fetchone()
        return subprocess.run([sys.executable, "-m", "scraper", *command.args], cwd=setup.workdir, env=env,
                              capture_output=True, text=True, timeout=180, preexec_fn=preexec)


# -- forged output: what each row plants and checks -------------------------------------------------------
def plant_warcs(setup: Setup) -> Path:
    """A crawl folder of an attacker's: a garbage WARC whose name forges a line of verify's report, and a
    ``.open`` one whose name sets the terminal's title."""
    folder = setup.root / "crawls" / "20260101T000000Z-abcdef"
    folder.mkdir()
    (folder / f"x{FORGED}.warc.gz").write_bytes(b"not a WARC at all\n")
    (folder / f"y{OSC}.warc.gz.open").write_bytes(b"")
    return folder


def verify_lines(out: Outcome) -> None:
    files = [line for line in out.lines if not line.startswith("  ")]  # a line per file, then its findings
    assert all(line.startswith(("OK ", "DAMAGED ")) for line in files), out.proc.stdout
    assert not [line for line in files if line.startswith("OK forged")], out.proc.stdout
    assert any(line.startswith("DAMAGED ") and "x\\nOK forged.warc.gz (9 records)\\n.warc.gz" in line
               for line in files), out.proc.stdout
    assert "y\\x1b]0;pwned\\x07.warc.gz.open" in out.proc.stderr  # skipped, and said so on one line


def verify_json(out: Outcome) -> None:
    reports = [json.loads(line) for line in out.lines]
    assert {Path(r["path"]).name for r in reports if not r["ok"]} == {f"x{FORGED}.warc.gz"}  # decodes back


def plant_path(setup: Setup) -> Command:
    return Command(("verify", str(setup.root / "a\nscraper: verified 9 file(s), 90 records: no damage")))


def show_json(out: Outcome) -> None:
    record = json.loads(out.proc.stdout)
    assert record["title"] == EVIL_TITLES[1] and record["warc"]["file"] == EVIL_FILES[1]  # the values, whole


def shows_escaped(*texts: str) -> Callable[[Outcome], None]:
    def check(out: Outcome) -> None:
        for text in texts:
            assert text in out.proc.stdout, out.proc.stdout
    return check


def history_rows(out: Outcome) -> None:
    header, *rows = [line.split("\t") for line in out.lines]
    assert header[0] == "fetched" and len(rows) == 2 and all(len(row) == len(header) for row in rows)
    assert rows[0][-1].endswith("/evil\\x1b]0;pwned\\x07.warc.gz") and rows[1][-1].endswith("/evil2\\x1b[31m.warc.gz")


def history_json(out: Outcome) -> None:
    records = [json.loads(line) for line in out.lines]
    assert [r["title"] for r in records] == list(EVIL_TITLES)
    assert records[0]["warc"]["record_id"] == EVIL_RECORD_ID


def diff_text(out: Outcome) -> None:
    (title,) = [line for line in out.lines if line.startswith("title: ")]
    assert title == 'title: "First \\u009d0;pwned\\u009c title" -> "Second \\u009d0;pwned\\u009c title"'


def export_jsonl(out: Outcome) -> None:
    records = [json.loads(line) for line in out.lines]
    assert len(records) == 4 and {r["title"] for r in records if r["url"] == EVIL_URL} == set(EVIL_TITLES)


def export_csv(out: Outcome) -> None:
    rows = list(csv.DictReader(io.StringIO(out.proc.stdout)))
    evil = [r for r in rows if r["url"] == EVIL_URL]
    assert len(rows) == 4 and [r["warc.file"] for r in evil] == ["evil\\x1b]0;pwned\\x07.warc.gz",
                                                                 "evil2\\x1b[31m.warc.gz"]
    assert evil[0]["warc.record_id"] == "<urn:uuid:\\x1b]0;pwned\\x07\\x9b31m>"


HOSTILE_CRAWL = f"{OSC}\nforged\tfinished"


def plant_crawl_folder(setup: Setup) -> Command:
    """A crawl folder named to set the terminal's title and forge a row, holding a copy of a good WARC."""
    folder = setup.root / "crawls" / HOSTILE_CRAWL
    folder.mkdir()
    earlier = setup.root / "crawls" / setup.earlier.crawl
    for warc in earlier.glob("*.warc.gz"):
        shutil.copy(warc, folder / warc.name)
    manifest = json.loads((earlier / "manifest.json").read_text(encoding="utf-8"))
    (folder / "manifest.json").write_text(json.dumps({**manifest, "crawl_id": HOSTILE_CRAWL}), encoding="utf-8")
    (folder / "crawl.json").write_text(json.dumps({"settings": {"ARCHIVE_SEEDS": [f"http://a.test/{C1_OSC}"]}}),
                                       encoding="utf-8")
    return Command(("crawls", "--archive", str(setup.root)))


def crawls_rows(out: Outcome) -> None:
    header, *rows = [line.split("\t") for line in out.lines]
    assert header[0] == "crawl" and len(rows) == 2 and all(len(row) == len(header) for row in rows)
    assert rows[0][0] == "\\x1b]0;pwned\\x07\\nforged\\tfinished" and rows[0][-1] == "http://a.test/\\x9d0;pwned\\x9c"


def index_paths(out: Outcome) -> None:
    assert any(line.endswith("\\x1b]0;pwned\\x07\\nforged\\tfinished/index.cdxj") for line in out.lines), out.lines
    assert all(line.endswith("index.cdxj") for line in out.lines)


def crawled_title(out: Outcome) -> None:
    (record,) = [json.loads(line) for line in out.lines]
    assert record["title"] == EVIL_TITLES[0]  # whole: the C1 characters are \u-escaped in the JSON


# -- the address guard --------------------------------------------------------------------------------------
def through_proxy(setup: Setup, *args: str) -> Command:
    """A crawl whose requests to anything but the loopback test servers go to the recording proxy."""
    proxy = setup.servers.recorder.base
    return Command(("crawl", *COMMON, *args, "--requisites", "--archive", str(setup.root)),
                   env={"http_proxy": proxy, "HTTP_PROXY": proxy, "no_proxy": "127.0.0.1,localhost",
                        "NO_PROXY": "127.0.0.1,localhost"})


def link_from_seed(target: str) -> Callable[[Setup], Command]:
    def prepare(setup: Setup) -> Command:
        target_url = target.format(other=setup.servers.other.port, site=setup.servers.site.port)
        return through_proxy(setup, setup.servers.site.url(f"/link-to?url={target_url}"))
    return prepare


def never_requested(needle: str) -> Callable[[Outcome], None]:
    """Neither the proxy nor the other site saw a request for ``needle``; the guard said it refused."""
    def check(out: Outcome) -> None:
        assert not out.setup.servers.recorder.targets(needle), out.setup.servers.recorder.requests
        assert not [line for line in out.setup.servers.other.requests if needle in line]
        (crawl,) = out.new_crawls()
        manifest = json.loads((crawl / "manifest.json").read_text(encoding="utf-8"))
        assert manifest["counts"]["guard_refused"] >= 1
    return check


def seed_port_only(setup: Setup) -> Command:
    """Two seed pages: one links to another port of the seeds' address, one to the seeds' own port, both
    by a name (localhost) that resolves to the seeds' address."""
    site, other = setup.servers.site, setup.servers.other
    return through_proxy(setup, site.url(f"/link-to?url=http://localhost:{other.port}/static/logo.png?row=port"),
                         site.url(f"/link-to?url=http://localhost:{site.port}/static/logo.png?row=port"))


def seed_port_checked(out: Outcome) -> None:
    never_requested("row=port")(out)
    assert any("/static/logo.png?row=port" in line for line in out.setup.servers.site.requests)  # its own port


# -- a full disk --------------------------------------------------------------------------------------------
def no_new_crawl(out: Outcome) -> None:
    assert os.listdir(out.setup.root / "crawls") == [out.setup.earlier.crawl]  # no .creating folder either


def no_export_file(out: Outcome) -> None:
    assert os.listdir(out.setup.workdir) == ["archive"]  # neither out.jsonl nor .out.jsonl.tmp-PID


def no_reextract_file(out: Outcome) -> None:
    crawl = out.setup.root / "crawls" / out.setup.earlier.crawl
    assert sha256_tree(crawl) == out.setup.earlier.hashes and not [p for p in crawl.iterdir() if "reextract" in p.name]


# -- the table --------------------------------------------------------------------------------------------------
def args(*values: str) -> Callable[[Setup], Command]:
    """A command whose arguments name the row's archive as {root}, its folder as {workdir}."""
    def prepare(setup: Setup) -> Command:
        return Command(tuple(v.format(root=setup.root, workdir=setup.workdir) for v in values))
    return prepare


def planted(plant: Callable[[Setup], Any], *values: str) -> Callable[[Setup], Command]:
    def prepare(setup: Setup) -> Command:
        plant(setup)
        return args(*values)(setup)
    return prepare


def full_disk(*values: str, catalog_in_use: bool = False) -> Callable[[Setup], Command]:
    def prepare(setup: Setup) -> Command:
        return Command(args(*values)(setup).args, file_limit=0, catalog_in_use=catalog_in_use)
    return prepare


URL = EVIL_URL
VERIFIED = r"scraper: verified \d+ file\(s\), \d+ records: 1 damaged"
FULL = r"(File too large|disk I/O error)"

CASES = [
    # -- output that could be forged (item 10) ------------------------------------------------------------
    Case("verify-forged-ok-line", planted(plant_warcs, "verify", "--archive", "{root}"), 3, VERIFIED, verify_lines),
    Case("verify-json", planted(plant_warcs, "verify", "--json", "--archive", "{root}"), 3, VERIFIED, verify_json),
    Case("verify-error-line", plant_path, 2,
         r"scraper: error: no such file or folder: .*/a\\nscraper: verified 9 file\(s\), 90 records: no damage",
         error=True),
    Case("show-json", args("show", URL, "--archive", "{root}"), 0, r'"title": "Second \\u009d0;pwned\\u009c title"',
         show_json, base="imported"),
    Case("show-text", args("show", URL, "--archive", "{root}", "--format", "text"), 0,
         r"Second \\x9d0;pwned\\x9c title",
         base="imported"),
    Case("show-markdown", args("show", URL, "--archive", "{root}", "--format", "markdown"), 0,
         r"# Second \\x9d0;pwned\\x9c title", shows_escaped(f"Original url: {URL}"), base="imported"),
    Case("history-table", args("history", URL, "--archive", "{root}"), 0, r"evil\\x1b\]0;pwned\\x07\.warc\.gz",
         history_rows, base="imported"),
    Case("history-json", args("history", URL, "--archive", "{root}", "--json"), 0, r"\\u009d0;pwned\\u009c",
         history_json, base="imported"),
    Case("diff-text", args("diff", URL, "--archive", "{root}"), 1, r"^title: ", diff_text, base="imported"),
    Case("export-jsonl", args("export", "--archive", "{root}"), 0, r"exported 4 record\(s\) as jsonl to stdout",
         export_jsonl, base="imported"),
    Case("export-csv", args("export", "--archive", "{root}", "-f", "csv"), 0,
         r"exported 4 record\(s\) as csv to stdout", export_csv, base="imported"),
    Case("crawls-table", plant_crawl_folder, 0, r"\\x1b\]0;pwned\\x07\\nforged\\tfinished\t", crawls_rows),
    Case("index-paths", planted(plant_crawl_folder, "index", "--archive", "{root}"), 0,
         r"scraper: crawl \\x1b\]0;pwned\\x07\\nforged\\tfinished: \d+ CDXJ line\(s\)", index_paths),
    Case("crawl-jsonl-stdout", lambda s: Command(("crawl", *COMMON, s.servers.recorder.base + "/c1-title", "--jsonl",
                                                  "-", "--archive", str(s.root))), 0,
         r"pages archived\s+1 \(1 extracted\)", crawled_title),
    # -- the address guard (item 11) ------------------------------------------------------------------------
    Case("guard-shared-address", lambda s: through_proxy(
        s, s.servers.site.url("/link-to?url=http://metadata.test/latest/meta-data/"),
        "--resolve", "metadata.test:100.100.100.200"), 0,
         r"address guard: metadata\.test is on 100\.100\.100\.200 \(loopback/private\); not fetched",
         never_requested("metadata.test")),
    Case("guard-6to4-link-local", link_from_seed("http://[2002:a9fe:a9fe::]/latest/meta-data/"), 0,
         r"address guard: 2002:a9fe:a9fe:: is on 2002:a9fe:a9fe:: \(loopback/private\); not fetched",
         never_requested("2002:a9fe:a9fe::")),
    Case("guard-6to4-loopback", link_from_seed("http://[2002:7f00:1::]:{other}/static/logo.png"), 0,
         r"address guard: 2002:7f00:1:: is on 2002:7f00:1:: \(loopback/private\); not fetched",
         never_requested("2002:7f00:1::")),
    Case("guard-seed-address-other-port", link_from_seed("http://127.0.0.1:{other}/static/logo.png?row=ip"), 0,
         r"address guard: 127\.0\.0\.1:\d+ is on 127\.0\.0\.1 \(loopback/private\), a seed's address but not "
         r"its port; not fetched", never_requested("row=ip")),
    Case("guard-seed-name-other-port", seed_port_only, 0,
         r"address guard: localhost:\d+ is on 127\.0\.0\.1 \(loopback/private\), a seed's address but not its "
         r"port; not fetched", seed_port_checked),
    # -- a disk already full (item 8) -----------------------------------------------------------------------
    Case("full-disk-crawl", lambda s: Command(("crawl", *COMMON, s.servers.site.url("/cookies"), "--archive",
                                               str(s.root)), file_limit=0), 74,
         rf"scraper: error: cannot write (the archive in .*archive|the catalog .*catalog\.sqlite): {FULL}.*make room",
         no_new_crawl, error=True),
    Case("full-disk-crawl-catalog-in-use", lambda s: Command(
        ("crawl", *COMMON, s.servers.site.url("/cookies"), "--archive", str(s.root)), file_limit=0,
        catalog_in_use=True),
         74, r"scraper: error: cannot write the archive in .*archive: File too large; nothing was crawled: make room, "
             r"then run the crawl again", no_new_crawl, error=True),
    Case("full-disk-export", full_disk("export", "--archive", "{root}", "-o", "{workdir}/out.jsonl"), 74,
         r"scraper: error: cannot write .*/out\.jsonl: File too large; nothing was written: make room",
         no_export_file, error=True),
    Case("full-disk-export-parquet", full_disk("export", "--archive", "{root}", "-f", "parquet", "-o",
                                               "{workdir}/out.parquet"), 74,
         r"scraper: error: cannot write .*/out\.parquet: File too large; nothing was written", no_export_file,
         error=True),
    Case("full-disk-reextract", full_disk("reextract", "--archive", "{root}"), 74,
         rf"scraper: error: .*{FULL}.*", no_reextract_file, error=True),
    Case("full-disk-reextract-catalog-in-use", full_disk("reextract", "--archive", "{root}", catalog_in_use=True), 74,
         r"scraper: error: cannot write re-extracted records into .*: File too large", no_reextract_file, error=True),
]


@pytest.mark.parametrize("case", [pytest.param(c, id=c.id) for c in CASES])
def test_hostile_output(case: Case, servers: Servers, earlier: Earlier, request: pytest.FixtureRequest,
                        tmp_path: Path) -> None:
    start = request.getfixturevalue("imported") if case.base == "imported" else earlier.root
    setup = Setup(tmp_path, tmp_path / "archive", servers, earlier)
    shutil.copytree(start, setup.root)
    proc = run(case.prepare(setup), setup)
    out = Outcome(setup, proc)
    said = proc.stderr + "\n" + proc.stdout

    # the exit status, no traceback, and nothing a terminal would obey
    assert proc.returncode == case.exit, f"exit {proc.returncode}, not {case.exit}:\n{proc.stderr[-3000:]}"
    assert TRACEBACK not in said, proc.stderr[-3000:]
    raw = sorted({hex(ord(c)) for c in RAW_CONTROL.findall(said)})
    assert not raw, f"raw control characters {raw} in the output:\n{said[-3000:]!r}"
    if case.error:
        errors = [line for line in proc.stderr.splitlines() if line.startswith("scraper: error:")]
        assert len(errors) == 1 and proc.stderr.splitlines()[-1] == errors[0], proc.stderr

    # the earlier crawl: every file byte for byte (`index` adds its index.cdxj), and still the catalog's
    # answer for its URLs
    after = sha256_tree(setup.root / "crawls" / earlier.crawl)
    assert {name: after.get(name) for name in earlier.hashes} == earlier.hashes
    assert set(after) - set(earlier.hashes) <= {"index.cdxj"}
    for url, record in earlier.records.items():
        assert latest_record(setup.root, url) == record

    if case.check is not None:
        case.check(out)
    assert re.search(case.message, said, re.M), f"no /{case.message}/ in:\n{said[-3000:]}"
