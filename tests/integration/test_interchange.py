"""Issue 6: CDXJ indexes, WACZ packages and pywb replay of crawls of the local test site."""

from __future__ import annotations

import base64
import gzip
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any

import pytest

from scraper.interchange.cdxj import update_indexes
from scraper.interchange.replay import config_path, shebang_python, sync_collection
from scraper.storage.warc import StoredRecord, iter_records
from tests.conftest import FAST, REPO, crawl_dirs, read_jsonl, run_scraper
from tests.integration.test_crawl import WARC_CHECK_SETUP
from tests.site import LivePage, Site, SiteServer, golden_pages, live_article

ENV = {**os.environ, "PYTHONPATH": str(REPO)}
RFC3339 = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
PARAGRAPHS = [f"Paragraph {i} says the harbour ferry keeps its winter timetable, as the council decided "
              f"on Tuesday after a long debate about the budget." for i in range(5)]

# pywb runs in a Python environment of its own (its brotlipy would replace the brotli module Scrapy
# needs): the one given by SCRAPER_PYWB_PYTHON, else the independent validator's (warc-check, whose
# setup.sh installs pywb; WARC_CHECK_VENV may move it), as `scraper replay --pywb-python` takes it.
WARC_CHECK_VENV = Path(os.environ.get("WARC_CHECK_VENV", "/tmp/warc-check-venv"))
PYWB_SERVER = REPO / "scraper" / "interchange" / "pywb_server.py"


def pywb_python() -> str:
    """A Python that has pywb; the test fails without one under CI and is skipped elsewhere."""
    python = os.environ.get("SCRAPER_PYWB_PYTHON") or str(WARC_CHECK_VENV / "bin" / "python")
    found = Path(python).exists() and subprocess.run([python, "-c", "import pywb"], capture_output=True,
                                                     timeout=120).returncode == 0
    if not found:
        if os.environ.get("CI"):
            pytest.fail(f"no pywb in {python}: .ci/run must run ../shared/tools/warc-check/setup.sh "
                        "(or set SCRAPER_PYWB_PYTHON)")
        pytest.skip(f"no pywb in {python} ({WARC_CHECK_SETUP}; or set SCRAPER_PYWB_PYTHON)")
    return python


def pywb_env() -> dict[str, str]:
    """The environment of a pywb child: none of the project's packages on its path."""
    return {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}


# pywb's front end monkey-patches its process for gevent when imported, which must not happen to
# pytest's: the replay app runs in a child process under the pywb Python, called straight through
# WSGI (no HTTP server), built by pywb_server exactly as `scraper replay` builds it, from the
# collection synced here by our side.  It imports pywb_server by path, never the scraper package.
# Input and output are JSON files.
PYWB_PROBE = r"""
import base64, importlib.util, json, sys
from pathlib import Path
from wsgiref.util import setup_testing_defaults

spec = importlib.util.spec_from_file_location("pywb_server", sys.argv[3])
pywb_server = importlib.util.module_from_spec(spec)
spec.loader.exec_module(pywb_server)

jobs, results = json.loads(Path(sys.argv[1]).read_text()), []
for job in jobs:
    app = pywb_server.create_app(job["config"])
    answers = []
    for target in job["paths"]:
        path, _, query = target.partition("?")
        environ = {}
        setup_testing_defaults(environ)
        environ.update(PATH_INFO=path, QUERY_STRING=query, REQUEST_URI=target)
        started = {}
        def start_response(status, headers, exc_info=None):
            started.update(status=int(status.split()[0]), headers=dict(headers))
        chunks = app(environ, start_response)
        body = b"".join(chunks)
        getattr(chunks, "close", lambda: None)()
        answers.append({**started, "body": base64.b64encode(body).decode()})
    results.append(answers)
Path(sys.argv[2]).write_text(json.dumps(results))
leaked = sorted(m for m in sys.modules if m == "scraper" or m.startswith(("scraper.", "scrapy", "cdxj_indexer")))
assert not leaked, leaked
"""


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes


def pywb_replay(tmp_path: Path, jobs: list[tuple[Path, list[str]]]) -> list[list[Answer]]:
    """For each (archive root, request paths), pywb's answers to the paths, in-process in a child."""
    python = pywb_python()
    for root, _paths in jobs:  # our side, as `scraper replay` does before it starts pywb
        update_indexes(root)
        sync_collection(root)
    spec, out = tmp_path / "probe-in.json", tmp_path / "probe-out.json"
    spec.write_text(json.dumps([{"config": str(config_path(root)), "paths": paths} for root, paths in jobs]))
    proc = subprocess.run([python, "-c", PYWB_PROBE, str(spec), str(out), str(PYWB_SERVER)], capture_output=True,
                          text=True, timeout=300, cwd=tmp_path, env=pywb_env())
    assert proc.returncode == 0, proc.stderr[-3000:]
    return [[Answer(a["status"], a["headers"], base64.b64decode(a["body"])) for a in answers]
            for answers in json.loads(out.read_text())]


def fetch(url: str) -> tuple[int, dict[str, str], bytes]:
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # loopback only, never a proxy
    try:
        with opener.open(url, timeout=30) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


def ts14(warc_date: str | None) -> str:
    assert warc_date
    return re.sub(r"\D", "", warc_date)[:14]


def status_of(record: StoredRecord) -> str:
    assert record.http_status_line
    return record.http_status_line.split()[1]


def cdxj(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8").splitlines()


def fields(line: str) -> tuple[str, str, dict[str, Any]]:
    urlkey, timestamp, data = line.split(" ", 2)
    return urlkey, timestamp, json.loads(data)


def cdxj_indexer(dir_root: Path, warcs: list[Path]) -> list[str]:
    """What the cdxj-indexer command itself writes for these files, sorted."""
    # captures only, as scraper index writes them (the command's default also takes metadata records)
    proc = subprocess.run([sys.executable, "-m", "cdxj_indexer.main", "--sort", "--dir-root", str(dir_root),
                           "--records", "response,revisit,resource", *map(str, warcs)],
                          capture_output=True, text=True, timeout=120, check=True)
    return proc.stdout.splitlines()


def capture_ts(root: Path, url: str, revisit: bool = False) -> str:
    """The timestamp of a capture of ``url`` in the archive index (a response, or a revisit)."""
    if not (root / "index.cdxj").is_file():  # a test run on its own: no earlier test indexed the archive
        assert run_scraper("index", "--archive", str(root)).returncode == 0
    for line in cdxj(root / "index.cdxj"):
        _, timestamp, data = fields(line)
        if data["url"] == url and (data["mime"] == "warc/revisit") == revisit:
            return timestamp
    raise AssertionError(f"{url} is not in the index")


def no_traceback(proc: subprocess.CompletedProcess[str]) -> None:
    assert "Traceback" not in proc.stderr, proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1, proc.stderr
    assert proc.stderr.startswith("scraper: error: ")


# -- fixtures ---------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def site_root(site: Site, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A depth-1 crawl of the test site."""
    root = tmp_path_factory.mktemp("interchange-site")
    crawl = run_scraper("crawl", site.url("/"), "--depth", "1", "--deny", r"^https?://(?!127\.0\.0\.1)",
                        "--archive", str(root), *FAST)
    assert crawl.returncode == 1 and len(crawl_dirs(root)) == 1, crawl.stderr  # 1: /missing and /error
    return root


@dataclass
class Revisited:
    site: Site
    root: Path
    first: Path  # crawl folders
    second: Path


@pytest.fixture(scope="module")
def revisited(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Revisited]:
    """Two crawls of pages that did not change between them: the second one holds revisit records."""
    root = tmp_path_factory.mktemp("interchange-revisits")
    with SiteServer() as site:
        site.live["plain"] = LivePage(live_article("Harbour ferry timetable", PARAGRAPHS, ["Storm"]))
        site.live["etag"] = LivePage(live_article("Council budget vote", PARAGRAPHS[::-1], ["Storm"]), etag='"v1"')
        urls = [site.url("/live/plain"), site.url("/live/etag")]
        assert run_scraper("crawl", *urls, "--archive", str(root), *FAST).returncode == 0
        time.sleep(1.1)  # another second: replay tells the captures apart by their 14-digit timestamps
        assert run_scraper("crawl", *urls, "--archive", str(root), *FAST).returncode == 0
        first, second = crawl_dirs(root)
        kinds = {r["url"]: r["record_kind"] for r in read_jsonl(second / "pages.jsonl")}
        assert kinds == {urls[0]: "revisit", urls[1]: "revisit"}, kinds  # what the tests below rely on
        yield Revisited(site, root, first, second)


# -- scraper index ----------------------------------------------------------------------------------
def test_crawl_index_is_sorted_and_covers_every_capture(site_root: Path) -> None:
    proc = run_scraper("index", "--archive", str(site_root))
    assert proc.returncode == 0, proc.stderr
    (crawl,) = crawl_dirs(site_root)
    lines = cdxj(crawl / "index.cdxj")
    assert lines == sorted(lines) and len(lines) > 15
    records = {(path.name, r.offset, r.length): r for path in crawl.glob("*.warc.gz") for r in iter_records(path)}
    indexed = {}
    for line in lines:
        _urlkey, timestamp, data = fields(line)
        key = (data["filename"], int(data["offset"]), int(data["length"]))
        record = records[key]  # every line addresses exactly one record of the crawl
        assert data["url"] == record.target_uri and timestamp == ts14(record.date)
        indexed[key] = data
    captures = {k: r for k, r in records.items() if r.rec_type in ("response", "revisit")}
    assert captures and set(captures) <= set(indexed)
    # captures only, never a metadata record (its SURT key is its page's: pywb would serve it as the page)
    assert {records[k].rec_type for k in indexed} <= {"response", "revisit", "resource"}
    for key, record in captures.items():
        data = indexed[key]
        assert data["status"] == status_of(record)
        assert data["digest"] == dict(record.warc_headers)["WARC-Payload-Digest"]
    assert proc.stdout.splitlines() == [str(crawl / "index.cdxj"), str(site_root / "index.cdxj")]


def test_archive_index_is_the_merge_cdxj_indexer_writes(revisited: Revisited) -> None:
    root = revisited.root
    proc = run_scraper("index", "--archive", str(root))
    assert proc.returncode == 0, proc.stderr
    merged = cdxj(root / "index.cdxj")
    warcs = sorted(root.glob("crawls/*/*.warc.gz"))
    assert merged == cdxj_indexer(root, warcs)  # byte for byte, file names relative to the root
    # captures only: a metadata record's key is its page's (SURT drops metadata://), pywb would serve it
    assert not [line for line in merged if '"metadata://' in line]
    assert merged == sorted(merged)
    for crawl in (revisited.first, revisited.second):
        own = cdxj(crawl / "index.cdxj")
        assert own == cdxj_indexer(crawl, sorted(crawl.glob("*.warc.gz")))
        assert not [line for line in own if '"metadata://' in line]
        prefix = f"crawls/{crawl.name}/"
        assert sorted(fields(line)[2]["filename"] for line in merged if prefix in line) == sorted(
            prefix + fields(line)[2]["filename"] for line in own)
    revisits = [fields(line)[2] for line in merged if '"warc/revisit"' in line]
    assert {r["url"] for r in revisits} == {revisited.site.url("/live/plain"), revisited.site.url("/live/etag")}
    assert all(r["filename"].startswith(f"crawls/{revisited.second.name}/") for r in revisits)


def test_index_skips_open_warcs_and_notices_them_once_closed(revisited: Revisited, tmp_path: Path) -> None:
    root = tmp_path / "archive"
    shutil.copytree(revisited.root / "crawls", root / "crawls")
    first, second = crawl_dirs(root)
    (warc,) = first.glob("*.warc.gz")
    shutil.copy(warc, second / "late.warc.gz.open")  # a crawl still writing
    proc = run_scraper("index", first.name, "--archive", str(root))
    assert proc.returncode == 0, proc.stderr
    assert "late.warc.gz.open" in proc.stderr and "warning" in proc.stderr
    assert ".open" not in (root / "index.cdxj").read_text()
    assert (second / "index.cdxj").is_file()  # the other crawl had no index yet: made for the merge
    (second / "late.warc.gz.open").rename(second / "late.warc.gz")  # closed, with its older mtime
    proc = run_scraper("index", first.name, "--archive", str(root))
    assert proc.returncode == 0, proc.stderr
    assert f"crawls/{second.name}/late.warc.gz" in (root / "index.cdxj").read_text()


def test_index_takes_crawl_folders_and_rejects_unknown_crawls(revisited: Revisited, tmp_path: Path) -> None:
    # a crawl folder names its archive root: no --archive needed
    proc = run_scraper("index", str(revisited.second), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "index.cdxj" in proc.stdout and (revisited.root / "index.cdxj").is_file()
    unknown = run_scraper("index", "20990101T000000Z-abcdef", "--archive", str(revisited.root))
    assert unknown.returncode == 2 and "no crawl '20990101T000000Z-abcdef'" in unknown.stderr
    no_traceback(unknown)
    nowhere = run_scraper("index", "--archive", str(tmp_path / "nothing"))
    assert nowhere.returncode == 2 and "no archive at" in nowhere.stderr
    (tmp_path / "empty" / "crawls" / "20990101T000000Z-abcdef").mkdir(parents=True)
    empty = run_scraper("index", "--archive", str(tmp_path / "empty"))
    assert empty.returncode == 1 and "no finished WARC files" in empty.stderr
    no_traceback(empty)


# -- pywb replay, in-process ----------------------------------------------------------------------------
def test_pywb_replays_the_archived_pages(site_root: Path, site: Site, tmp_path: Path) -> None:
    assert run_scraper("index", "--archive", str(site_root)).returncode == 0
    name = next(iter(golden_pages()))
    article = f"/articles/{name}.html"
    paths = ["/", article, "/cookies", "/search?q=warc&page=2", "/missing"]
    requests = [f"/archive/{capture_ts(site_root, site.url(p))}id_/{site.url(p)}" for p in paths]
    requests.append(f"/archive/{capture_ts(site_root, site.url(article))}/{site.url(article)}")  # as a browser
    requests.append(f"/archive/20200101000000id_/{site.url('/never-crawled')}")
    (answers,) = pywb_replay(tmp_path, [(site_root, requests)])
    for path, answer in zip(paths, answers[:len(paths)], strict=True):
        status, _headers, body = fetch(site.url(path))  # what the site serves (it has not changed)
        assert (answer.status, answer.body) == (status, body), path
        assert answer.headers["Memento-Datetime"], path
    browsed = answers[len(paths)]
    title = re.search(rb"<title>(.*?)</title>", (golden_pages()[name] / "page.html").read_bytes(), re.S)
    assert browsed.status == 200 and title and title.group(1) in browsed.body
    assert b"wbinfo" in browsed.body  # rewritten for browsing, with pywb's banner
    assert answers[-1].status == 404  # not archived: pywb does not go and get it
    assert "/never-crawled" not in site.paths_requested()


def test_pywb_replays_revisits_from_an_earlier_crawl(revisited: Revisited, tmp_path: Path) -> None:
    site, root = revisited.site, revisited.root
    urls = [site.url("/live/plain"), site.url("/live/etag")]
    assert run_scraper("index", "--archive", str(root)).returncode == 0
    requests = [f"/archive/{capture_ts(root, url, revisit=True)}id_/{url}" for url in urls]
    (answers,) = pywb_replay(tmp_path, [(root, requests)])
    for url, answer in zip(urls, answers, strict=True):
        assert answer.status == 200 and answer.body == fetch(url)[2], url
        # the revisit's own moment, not a fall-back to the original's
        served = parsedate_to_datetime(answer.headers["Memento-Datetime"]).strftime("%Y%m%d%H%M%S")
        assert served == capture_ts(root, url, revisit=True), url
    links = sorted(p.relative_to(root / ".pywb" / "archive" / "archive")
                   for p in (root / ".pywb" / "archive" / "archive").rglob("*.warc.gz"))
    assert links == sorted(p.relative_to(root) for p in root.glob("crawls/*/*.warc.gz"))


# -- scraper wacz -----------------------------------------------------------------------------------
def wacz_validate(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "wacz", "validate", "-f", str(path)], capture_output=True,
                          text=True, timeout=300)


def wacz_pages(path: Path) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    with zipfile.ZipFile(path) as package:
        header, *pages = [json.loads(line) for line in package.read("pages/pages.jsonl").splitlines()]
    return header, pages


def wacz_warcs(path: Path) -> set[str]:
    with zipfile.ZipFile(path) as package:
        return {n.removeprefix("archive/") for n in package.namelist() if n.startswith("archive/")}


def test_wacz_package_validates_and_lists_the_pages(site_root: Path, tmp_path: Path) -> None:
    output = tmp_path / "site.wacz"
    proc = run_scraper("wacz", "--all", "--archive", str(site_root), "-o", str(output), "--title", "Test site")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip().endswith("site.wacz")
    checked = wacz_validate(output)
    assert checked.returncode == 0 and "Validation succeeded" in checked.stdout, checked.stdout + checked.stderr
    (crawl,) = crawl_dirs(site_root)
    assert wacz_warcs(output) == {p.name for p in crawl.glob("*.warc.gz")}
    header, pages = wacz_pages(output)
    assert header["format"] == "json-pages-1.0" and header["hasText"] is True
    records = [r for r in read_jsonl(crawl / "pages.jsonl")
               if r["status"] == 200 and r["content_type"] == "text/html" and r["title"]]
    assert sorted((p["url"], p["title"], p["ts"]) for p in pages) == sorted(
        (r["url"], r["title"], r["fetched_at"]) for r in records)
    assert all(RFC3339.match(p["ts"]) and p["text"] for p in pages)
    assert not [p for p in pages if p["url"].endswith(("/missing", "/error", ".pdf"))]
    with zipfile.ZipFile(output) as package:
        datapackage = json.loads(package.read("datapackage.json"))
        index = gzip.decompress(package.read("indexes/index.cdx.gz")).decode()
    assert datapackage["title"] == "Test site"
    assert all(p["url"] in index for p in pages)


def test_wacz_of_a_revisit_crawl_carries_the_originals(revisited: Revisited, tmp_path: Path) -> None:
    site, first, second = revisited.site, revisited.first, revisited.second
    output = tmp_path / "second.wacz"
    proc = run_scraper("wacz", second.name, "--archive", str(revisited.root), "-o", str(output))
    assert proc.returncode == 0, proc.stderr
    assert wacz_warcs(output) == {p.name for p in [*second.glob("*.warc.gz"), *first.glob("*.warc.gz")]}
    assert wacz_validate(output).returncode == 0
    _header, pages = wacz_pages(output)
    urls = [site.url("/live/plain"), site.url("/live/etag")]
    assert sorted(p["url"] for p in pages) == sorted(urls)  # the second crawl's pages only
    # The package replays on its own; without the originals' WARC its revisits would not.
    alone, without = tmp_path / "alone", tmp_path / "without"
    with zipfile.ZipFile(output) as package:
        warcs = {n.removeprefix("archive/"): package.read(n) for n in package.namelist() if n.startswith("archive/")}
    for root, names in ((alone, set(warcs)), (without, {p.name for p in second.glob("*.warc.gz")})):
        folder = root / "crawls" / "from-wacz"
        folder.mkdir(parents=True)
        for name in names:
            (folder / name).write_bytes(warcs[name])
    requests = [f"/archive/{ts}id_/{url}" for url in urls
                for ts in [capture_ts(revisited.root, url, revisit=True)]]
    replayed, broken = pywb_replay(tmp_path, [(alone, requests), (without, requests)])
    for url, answer, failed in zip(urls, replayed, broken, strict=True):
        assert answer.status == 200 and answer.body == fetch(url)[2], url
        assert failed.body != answer.body, url
        # pywb's "Original for revisit record could not be loaded", not a metadata record's JSON
        assert failed.status in (404, 503) and not failed.body.lstrip().startswith(b"{"), (url, failed.status)


def test_wacz_usage_errors_are_one_line(revisited: Revisited, tmp_path: Path) -> None:
    root = str(revisited.root)
    (tmp_path / "taken.wacz").mkdir()
    (tmp_path / "a-file").write_text("")
    cases = [
        (["wacz", "20990101T000000Z-abcdef", "--archive", root, "-o", str(tmp_path / "x.wacz")], "no crawl"),
        (["wacz", "--archive", root, "-o", str(tmp_path / "x.wacz")], "give crawl ids"),
        (["wacz", "--all", "--archive", root, "-o", str(tmp_path / "taken.wacz")], "is a folder"),
        (["wacz", "--all", "--archive", root, "-o", str(tmp_path / "a-file" / "x.wacz")], "cannot write"),
        (["wacz", "--all", "--archive", root, "-o", str(tmp_path / "x.zip")], "must end in .wacz"),
    ]
    for args, message in cases:
        proc = run_scraper(*args)
        assert proc.returncode == 2 and message in proc.stderr, (args, proc.stderr)
        no_traceback(proc)
    (tmp_path / "empty" / "crawls" / "20990101T000000Z-abcdef").mkdir(parents=True)
    empty = run_scraper("wacz", "--all", "--archive", str(tmp_path / "empty"), "-o", str(tmp_path / "x.wacz"))
    assert empty.returncode == 1 and "no finished WARC files" in empty.stderr
    no_traceback(empty)
    assert not (tmp_path / "x.wacz").exists() and not list(tmp_path.glob(".*.tmp"))  # nothing half-written


# -- scraper replay ---------------------------------------------------------------------------------
def test_replay_serves_the_archive_until_ctrl_c(site_root: Path, site: Site) -> None:
    server = subprocess.Popen([sys.executable, "-m", "scraper", "replay", "--port", "0", "--archive", str(site_root),
                               "--pywb-python", pywb_python()],
                              cwd=REPO, env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        printed: dict[str, str] = {}
        deadline = time.monotonic() + 120
        while "newest page" not in printed and time.monotonic() < deadline:
            line = server.stdout.readline() if server.stdout else ""
            if not line:
                break
            label, _, url = line.partition(": ")
            printed[label] = url.strip()
        assert "newest page" in printed, server.stderr.read() if server.stderr else ""
        page = re.fullmatch(r"(http://127\.0\.0\.1:\d+/archive/)(\d{14})/(.+)", printed["newest page"])
        assert page and printed["collection"] == page.group(1)
        assert page.group(3) == site.url("/")  # the crawl's seed
        status, headers, body = fetch(printed["newest page"])
        assert status == 200 and headers["Memento-Datetime"] and b"<title>Test site</title>" in body
        raw = fetch(f"{page.group(1)}{page.group(2)}id_/{page.group(3)}")
        assert raw[0] == 200 and raw[2] == fetch(site.url("/"))[2]
        assert fetch(f"{page.group(1)}{page.group(2)}id_/{site.url('/not-archived')}")[0] == 404
        assert "/not-archived" not in site.paths_requested()  # pywb never fetched it live
        assert fetch(printed["collection"])[0] == 200
    finally:
        server.send_signal(signal.SIGINT)
        _out, err = server.communicate(timeout=60)
    assert server.returncode == 130, err
    assert "Traceback" not in err and "replay stopped" in err


def test_replay_reports_a_taken_port_and_a_missing_archive(revisited: Revisited, tmp_path: Path) -> None:
    python = pywb_python()
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        proc = run_scraper("replay", "--port", str(port), "--archive", str(revisited.root), "--pywb-python", python)
    assert proc.returncode == 1 and f"cannot listen on 127.0.0.1:{port}: Address already in use" in proc.stderr
    assert "Traceback" not in proc.stderr and proc.stdout == ""
    missing = run_scraper("replay", "--port", "0", "--archive", str(tmp_path / "nothing"))
    assert missing.returncode == 2 and "no archive at" in missing.stderr
    no_traceback(missing)


def test_replay_without_pywb_says_where_to_get_it(revisited: Revisited, tmp_path: Path) -> None:
    # this Python has no pywb: it must not, its brotlipy would break Scrapy's br decoding
    proc = run_scraper("replay", "--port", "0", "--archive", str(revisited.root), "--pywb-python", sys.executable)
    assert proc.returncode == 2 and "make replay" in proc.stderr and "brotli" in proc.stderr, proc.stderr
    assert proc.stdout == ""
    no_traceback(proc)


def test_the_python_wayback_runs_with_is_read_from_its_first_lines(tmp_path: Path) -> None:
    scripts = {
        "plain": ("#!/opt/pywb/bin/python3\nimport sys\n", "/opt/pywb/bin/python3"),
        "long": ("#!/bin/sh\n'''exec' \"/a long/path/bin/python\" \"$0\" \"$@\"\n' '''\n", "/a long/path/bin/python"),
        "env": ("#!/usr/bin/env python3\n", shutil.which("python3")),
        "binary": ("\x7fELF", None),
    }
    for name, (text, python) in scripts.items():
        (tmp_path / name).write_text(text)
        assert shebang_python(tmp_path / name) == python, name
