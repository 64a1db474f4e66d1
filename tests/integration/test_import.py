"""Issue 14: `scraper import PATH...`: WARC files written by others (and by us) into the archive as a crawl.

Real files throughout: WARCs of real crawls of the local test site, WARCs shaped like other tools'
(WARC/1.0, uncompressed, chunked and gzipped bodies, HTTP/1.0 without Content-Length, revisits of
both profiles, resource and metadata records, no request records) written with warcio's own
WARCWriter, a WACZ made by `scraper wacz`, and the real CLI in a subprocess.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from tests.conftest import FAST, REPO, assert_valid_records, crawl_dirs, read_jsonl, run_scraper
from tests.integration.test_export_reextract import EDITED, FIRST, NAMES, PARAGRAPHS
from tests.site import LivePage, SiteServer, live_article

SECOND = ["/live/story", "/live/etag", f"/articles/{NAMES[0]}.html"]


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def without_crawl_ids(record: dict[str, Any]) -> dict[str, Any]:
    """A record apart from which crawl holds it (its own crawl_id, and that of what it points at)."""
    out = {**record, "crawl_id": None}
    for name in ("previous", "refers_to"):
        if out.get(name):
            out[name] = {**out[name], "crawl_id": None}
    return out


def only_crawl(root: Path) -> Path:
    (crawl,) = crawl_dirs(root)
    return crawl


def import_(*args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return run_scraper("import", *args, timeout=timeout)


# -- our own crawls ------------------------------------------------------------------------------------------------
@dataclass
class Crawled:
    root: Path  # two crawls: the second with a new version and revisits of both profiles
    first: Path
    second: Path

    def records(self) -> list[dict[str, Any]]:
        return [*read_jsonl(self.first / "pages.jsonl"), *read_jsonl(self.second / "pages.jsonl")]


@pytest.fixture(scope="module")
def crawled(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Crawled]:
    root = tmp_path_factory.mktemp("crawled")
    with SiteServer() as site:
        site.live.update({"story": LivePage(live_article("Council backs harbour plan", PARAGRAPHS, ["Storm"])),
                          "etag": LivePage(live_article("Ferry timetable", PARAGRAPHS[::-1], ["Ferry"]), etag='"v1"')})
        first = run_scraper("crawl", *[site.url(p) for p in FIRST], "--archive", str(root), *FAST)
        assert first.returncode == 1, first.stderr  # /missing is a 404
        time.sleep(1.1)  # the second crawl's captures start in a later second
        site.live["story"] = LivePage(live_article("Council backs harbour plan", EDITED, ["Storm"]))
        second = run_scraper("crawl", *[site.url(p) for p in SECOND], "--archive", str(root), *FAST)
        assert second.returncode == 0, second.stderr
    first_dir, second_dir = crawl_dirs(root)
    yield Crawled(root, first_dir, second_dir)


@pytest.fixture(scope="module")
def imported(crawled: Crawled, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The WARC files of both crawls imported, as one folder, into an archive root of their own."""
    root = tmp_path_factory.mktemp("imported") / "archive"
    proc = import_(str(crawled.root / "crawls"), "--archive", str(root))
    assert proc.returncode == 0, proc.stderr
    return root


def test_an_import_of_our_own_crawls_has_their_records(crawled: Crawled, imported: Path,
                                                       record_validator: Draft202012Validator) -> None:
    crawl = only_crawl(imported)
    records = read_jsonl(crawl / "pages.jsonl")
    assert_valid_records(record_validator, records)
    assert {r["crawl_id"] for r in records} == {crawl.name}
    # Every field as the crawl recorded it (requested URL, redirects, text, versions, revisits and their
    # originals' places: the same file names and offsets), apart from which crawl holds it.
    original = {r["warc"]["record_id"]: without_crawl_ids(r) for r in crawled.records()}
    assert {r["warc"]["record_id"]: without_crawl_ids(r) for r in records} == original
    revisits = [r for r in records if r["record_kind"] == "revisit"]
    assert {r["revisit_profile"] for r in revisits} == {"identical-payload-digest", "server-not-modified"}
    assert all(r["refers_to"]["crawl_id"] == crawl.name for r in revisits)
    # the files, byte for byte
    sources = sorted([*crawled.first.glob("*.warc.gz"), *crawled.second.glob("*.warc.gz")])
    assert sorted(p.name for p in crawl.glob("*.warc.gz")) == sorted(p.name for p in sources)
    assert all(sha256(crawl / p.name) == sha256(p) for p in sources)
    manifest = json.loads((crawl / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["finish_reason"] == "finished"
    assert manifest["imported"]["sources"] == [str((crawled.root / "crawls").resolve())]
    assert manifest["imported"]["software"] == ["scraper/0.1.0"]
    assert manifest["counts"]["pages"] == len(records) and manifest["counts"]["revisits_resolved"] == 2
    assert manifest["catalog"]["captures_committed"] == len(records)


def test_show_history_and_export_read_the_import_as_they_read_the_crawls(crawled: Crawled, imported: Path) -> None:
    story = next(r["url"] for r in crawled.records() if r["url"].endswith("/live/story"))
    redirected = next(r for r in crawled.records() if r["redirects"])
    for url in (story, redirected["requested_url"]):
        shown = run_scraper("show", url, "--archive", str(imported))
        before = run_scraper("show", url, "--archive", str(crawled.root))
        assert shown.returncode == before.returncode == 0, shown.stderr
        assert without_crawl_ids(json.loads(shown.stdout)) == without_crawl_ids(json.loads(before.stdout))
    history = run_scraper("history", story, "--archive", str(imported))
    assert history.returncode == 0, history.stderr
    assert history.stdout == run_scraper("history", story, "--archive", str(crawled.root)).stdout.replace(
        crawled.first.name, only_crawl(imported).name).replace(crawled.second.name, only_crawl(imported).name)
    diff = run_scraper("diff", story, "--archive", str(imported))
    assert diff.returncode == 1 and "Correction: the vote" in diff.stdout, diff.stderr
    exported = run_scraper("export", "--archive", str(imported))
    assert exported.returncode == 0, exported.stderr
    rows = [json.loads(line) for line in exported.stdout.splitlines()]
    originals = [json.loads(line) for line in run_scraper("export", "--archive", str(crawled.root)).stdout.splitlines()]
    assert sorted(json.dumps(without_crawl_ids(r), sort_keys=True) for r in rows) == \
        sorted(json.dumps(without_crawl_ids(r), sort_keys=True) for r in originals)


def test_the_imported_crawl_verifies_and_indexes(imported: Path) -> None:
    crawl = only_crawl(imported)
    verified = run_scraper("verify", str(crawl))
    assert verified.returncode == 0, verified.stdout + verified.stderr
    indexed = run_scraper("index", crawl.name, "--archive", str(imported))
    assert indexed.returncode == 0, indexed.stderr
    lines = (crawl / "index.cdxj").read_text(encoding="utf-8").splitlines()
    assert any("/live/story" in line for line in lines)


def test_a_wacz_made_by_scraper_wacz_imports_its_warcs(crawled: Crawled, tmp_path: Path) -> None:
    wacz = tmp_path / "first.wacz"
    made = run_scraper("wacz", crawled.first.name, "--archive", str(crawled.root), "-o", str(wacz))
    assert made.returncode == 0, made.stderr
    root = tmp_path / "archive"
    proc = import_(str(wacz), "--archive", str(root))
    assert proc.returncode == 0, proc.stderr
    crawl = only_crawl(root)
    assert not list(crawl.glob("*.wacz"))  # the WACZ itself is not kept: its WARCs are
    (warc,) = crawled.first.glob("*.warc.gz")
    assert sha256(crawl / warc.name) == sha256(warc)
    expected = {r["warc"]["record_id"]: without_crawl_ids(r) for r in read_jsonl(crawled.first / "pages.jsonl")}
    assert {r["warc"]["record_id"]: without_crawl_ids(r) for r in read_jsonl(crawl / "pages.jsonl")} == expected
    manifest = json.loads((crawl / "manifest.json").read_text(encoding="utf-8"))
    (entry,) = manifest["imported"]["files"]
    assert (entry["source"], entry["member"]) == (str(wacz.resolve()), f"archive/{warc.name}")


def test_link_hard_links_and_never_changes_the_source(crawled: Crawled, tmp_path: Path) -> None:
    (source,) = crawled.first.glob("*.warc.gz")
    before = (sha256(source), source.stat().st_mtime_ns)
    root = tmp_path / "archive"
    proc = import_(str(source), "--link", "--archive", str(root))
    assert proc.returncode == 0, proc.stderr
    crawl = only_crawl(root)
    assert (crawl / source.name).stat().st_ino == source.stat().st_ino
    assert (sha256(source), source.stat().st_mtime_ns) == before
    manifest = json.loads((crawl / "manifest.json").read_text(encoding="utf-8"))
    assert [f["linked"] for f in manifest["imported"]["files"]] == [True]
    # without --link: a copy of its own
    copied = import_(str(source), "--archive", str(tmp_path / "copied"))
    assert copied.returncode == 0, copied.stderr
    copy = only_crawl(tmp_path / "copied") / source.name
    assert copy.stat().st_ino != source.stat().st_ino and sha256(copy) == before[0]


# -- WARCs shaped like other tools' ----------------------------------------------------------------------------
def article(title: str, words: str) -> bytes:
    paragraphs = "".join(f"<p>{words} Sentence {i} adds detail about the harbour and the ferry.</p>" for i in range(8))
    return (f"<html><head><title>{title}</title></head><body><article><h1>{title}</h1>{paragraphs}"
            f"</article></body></html>").encode()


def chunked(body: bytes, size: int = 100) -> bytes:
    parts = [body[i:i + size] for i in range(0, len(body), size)]
    return b"".join(f"{len(p):x}\r\n".encode() + p + b"\r\n" for p in parts) + b"0\r\n\r\n"


HERITRIX = "Heritrix/3.4.0-20220727 http://crawler.archive.org"
A_URL, B_URL, C_URL, T_URL = ("http://old.example.org/a.html", "http://old.example.org/b.html",
                              "http://old.example.org/c", "http://old.example.org/t.html")
A_HTML = article("Harbour ferry keeps winter timetable", "The ferry keeps its winter timetable.")
B_HTML = article("Council approves the budget", "The council approved the budget on Tuesday.")
NEW_URL = "https://www.example.net/news/story.html"
NEW_HTML = article("Lighthouse reopens to visitors", "The lighthouse reopened to visitors this weekend.")


class Writer:
    def __init__(self, path: Path, *, gzipped: bool, version: str) -> None:
        self.fh = open(path, "wb")  # noqa: SIM115 - closed in close()
        self.writer = WARCWriter(self.fh, gzip=gzipped, warc_version=version)

    def info(self, software: str) -> None:
        self.writer.write_record(self.writer.create_warcinfo_record("x.warc", {"software": software}))

    def response(self, url: str, date: str, status: str, headers: list[tuple[str, str]], body: bytes,
                 protocol: str = "HTTP/1.1", extra: dict[str, str] | None = None) -> Any:
        record = self.writer.create_warc_record(
            url, "response", payload=io.BytesIO(body), length=len(body),
            http_headers=StatusAndHeaders(status, headers, protocol=protocol),
            warc_headers_dict={"WARC-Date": date, **(extra or {})})
        self.writer.write_record(record)
        return record

    def revisit(self, url: str, date: str, status: str, headers: list[tuple[str, str]],
                warc_headers: dict[str, str]) -> None:
        record = self.writer.create_warc_record(
            url, "revisit", payload=io.BytesIO(b""), length=0,
            http_headers=StatusAndHeaders(status, headers, protocol="HTTP/1.1"),
            warc_headers_dict={"WARC-Date": date, **warc_headers})
        self.writer.write_record(record)

    def other(self, url: str, kind: str, content_type: str, body: bytes) -> None:
        self.writer.write_record(self.writer.create_warc_record(url, kind, payload=io.BytesIO(body), length=len(body),
                                                                warc_content_type=content_type))

    def close(self) -> None:
        self.fh.close()


def heritrix_like(path: Path) -> dict[str, str]:
    """WARC/1.0, uncompressed, no request records: the record ids of what later files refer to."""
    w = Writer(path, gzipped=False, version="1.0")
    w.info(HERITRIX)
    a = w.response(A_URL, "2015-03-01T10:00:00Z", "200 OK",
                   [("Content-Type", "text/html; charset=utf-8"), ("Transfer-Encoding", "chunked"),
                    ("Content-Encoding", "gzip"), ("ETag", '"a1"')], chunked(gzip.compress(A_HTML)))
    b = w.response(B_URL, "2015-03-01T10:00:05Z", "200 OK", [("Content-Type", "text/html")], B_HTML,
                   protocol="HTTP/1.0")  # no Content-Length: the body ends with the connection
    w.response(C_URL, "2015-03-01T10:00:06Z", "301 Moved Permanently",
               [("Location", A_URL), ("Content-Type", "text/html")], b"<html><body>Moved</body></html>")
    w.response("http://old.example.org/logo.png", "2015-03-01T10:00:07Z", "200 OK", [("Content-Type", "image/png")],
               b"\x89PNG\r\n\x1a\n" + bytes(range(256)))
    w.response(T_URL, "2015-03-01T10:00:08Z", "200 OK", [("Content-Type", "text/html")], A_HTML[:400],
               extra={"WARC-Truncated": "length"})
    w.other("http://old.example.org/a.html", "metadata", "application/warc-fields",
            b"via: http://old.example.org/\r\nhopsFromSeed: L\r\n")
    w.other("urn:heritrix:crawl.log", "resource", "text/plain", b"2015-03-01 200 a.html\n")
    w.revisit(A_URL, "2015-06-01T10:00:00Z", "200 OK", [("Content-Type", "text/html; charset=utf-8")],
              {"WARC-Profile": "http://netpreserve.org/warc/1.0/revisit/identical-payload-digest",
               "WARC-Refers-To": a.rec_headers.get_header("WARC-Record-ID"),
               "WARC-Payload-Digest": a.rec_headers.get_header("WARC-Payload-Digest")})
    w.revisit(B_URL, "2015-06-01T10:00:05Z", "304 Not Modified", [("Date", "Mon, 01 Jun 2015 10:00:05 GMT")],
              {"WARC-Profile": "http://netpreserve.org/warc/1.0/revisit/server-not-modified",
               "WARC-Refers-To-Target-URI": B_URL, "WARC-Refers-To-Date": "2015-03-01T10:00:05Z"})
    w.close()
    return {"a": a.rec_headers.get_header("WARC-Record-ID"), "b": b.rec_headers.get_header("WARC-Record-ID"),
            "a_digest": a.rec_headers.get_header("WARC-Payload-Digest")}


def browsertrix_like(path: Path, a_digest: str) -> str:
    """WARC/1.1, one gzip member per record: a page, and a revisit of a page in the other file by digest only."""
    w = Writer(path, gzipped=True, version="1.1")
    w.info("Browsertrix-Crawler 1.2.0 (with warcio.js 2.2.1)")
    new = w.response(NEW_URL, "2024-05-01T08:00:00.123456Z", "200 OK",
                     [("content-type", "text/html; charset=UTF-8")], NEW_HTML)
    w.revisit(A_URL, "2024-05-01T08:00:01Z", "200 OK", [("Content-Type", "text/html")],
              {"WARC-Profile": "http://netpreserve.org/warc/1.1/revisit/identical-payload-digest",
               "WARC-Payload-Digest": a_digest})
    w.close()
    return str(new.rec_headers.get_header("WARC-Record-ID"))


@pytest.fixture(scope="module")
def foreign(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, Path, dict[str, str]]]:
    folder = tmp_path_factory.mktemp("foreign")
    ids = heritrix_like(folder / "ARCHIVEIT-1234-20150301.warc")
    ids["new"] = browsertrix_like(folder / "rec-20240501.warc.gz", ids["a_digest"])
    root = tmp_path_factory.mktemp("foreign-archive") / "archive"
    proc = import_(str(folder / "rec-20240501.warc.gz"), str(folder / "ARCHIVEIT-1234-20150301.warc"),
                   "--archive", str(root))
    assert proc.returncode == 0, proc.stderr
    yield folder, root, ids


def test_foreign_warcs_become_page_records(foreign: tuple[Path, Path, dict[str, str]],
                                           record_validator: Draft202012Validator) -> None:
    folder, root, ids = foreign
    crawl = only_crawl(root)
    records = read_jsonl(crawl / "pages.jsonl")
    assert_valid_records(record_validator, records)
    # one record per HTML page: no 301, no image, no metadata or resource record; in capture-time order
    assert [(r["url"], r["record_kind"]) for r in records] == [
        (A_URL, "response"), (B_URL, "response"), (T_URL, "response"), (A_URL, "revisit"), (B_URL, "revisit"),
        (NEW_URL, "response"), (A_URL, "revisit")]
    a, b, t, a_again, b_again, new, a_third = records
    assert "The ferry keeps its winter timetable." in a["text"]  # de-chunked, then gunzipped
    assert a["title"] == "Harbour ferry keeps winter timetable" and a["page_type"] is not None
    assert "The council approved the budget" in b["text"]  # HTTP/1.0, no Content-Length
    assert (a["requested_url"], a["redirects"], a["depth"]) == (A_URL, [], 0)
    assert t["truncated"] is True and not a["truncated"]
    # revisits take their original's content; after a 304, its status and media type too
    assert a_again["refers_to"]["record_id"] == ids["a"] and a_again["text"] == a["text"]
    assert (b_again["status"], b_again["content_type"], b_again["revisit_profile"]) == \
        (200, "text/html", "server-not-modified")
    assert b_again["refers_to"]["record_id"] == ids["b"] and b_again["text"] == b["text"]
    assert a_third["refers_to"]["record_id"] == ids["a"]  # found by URL and payload digest, in the other file
    assert a_third["refers_to"]["file"] == "ARCHIVEIT-1234-20150301.warc"
    assert [r["version"] for r in (a, a_again, a_third)] == [1, 1, 1]
    assert new["fetched_at"] == "2024-05-01T08:00:00Z"
    manifest = json.loads((crawl / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["imported"]["software"] == ["Browsertrix-Crawler 1.2.0 (with warcio.js 2.2.1)", HERITRIX]
    assert manifest["counts"]["revisits_resolved"] == 3
    for source in folder.iterdir():  # never changed, copied whole
        assert sha256(crawl / source.name) == sha256(source)


def test_foreign_pages_are_in_the_catalog(foreign: tuple[Path, Path, dict[str, str]]) -> None:
    _folder, root, _ids = foreign
    history = run_scraper("history", A_URL, "--archive", str(root))
    assert history.returncode == 0, history.stderr
    assert history.stdout.count("2015-") == 2 and history.stdout.count("2024-05-01") == 1
    shown = run_scraper("show", NEW_URL, "--archive", str(root), "--format", "text")
    assert shown.returncode == 0 and shown.stdout.startswith("Lighthouse reopens to visitors"), shown.stderr
    exported = run_scraper("export", "--archive", str(root), "--kind", "response", "--status", "2xx")
    assert exported.returncode == 0, exported.stderr
    assert sorted(json.loads(line)["url"] for line in exported.stdout.splitlines()) == \
        sorted([A_URL, B_URL, T_URL, NEW_URL])


def test_a_later_import_finds_originals_in_the_catalog(foreign: tuple[Path, Path, dict[str, str]],
                                                       tmp_path: Path) -> None:
    folder, _root, ids = foreign
    root = tmp_path / "archive"
    first = import_(str(folder / "ARCHIVEIT-1234-20150301.warc"), "--archive", str(root))
    assert first.returncode == 0, first.stderr
    second = import_(str(folder / "rec-20240501.warc.gz"), "--archive", str(root))
    assert second.returncode == 0, second.stderr
    older, newer = crawl_dirs(root)
    revisit = next(r for r in read_jsonl(newer / "pages.jsonl") if r["record_kind"] == "revisit")
    assert (revisit["refers_to"]["crawl_id"], revisit["refers_to"]["record_id"]) == (older.name, ids["a"])
    assert "The ferry keeps its winter timetable." in revisit["text"]


def test_unreadable_files_are_one_line_each_and_the_rest_is_imported(foreign: tuple[Path, Path, dict[str, str]],
                                                                     tmp_path: Path) -> None:
    folder = tmp_path / "collection"
    shutil.copytree(foreign[0], folder)
    good = (folder / "rec-20240501.warc.gz").read_bytes()
    (folder / "cut.warc.gz").write_bytes(good[: len(good) - 200])  # the file ends inside its last record
    (folder / "notes.warc").write_text("this is not a WARC file\n", encoding="utf-8")
    (folder / "empty.wacz").write_bytes(b"")  # not even a zip
    root = tmp_path / "archive"
    proc = import_(str(folder), "--archive", str(root), "-q")
    assert proc.returncode == 1, proc.stderr
    lines = proc.stderr.splitlines()
    assert len(lines) == 3, proc.stderr
    assert all(line.startswith("scraper: error: " + str(folder)) for line in lines)
    assert any("cut.warc.gz: not imported: the record at offset" in line and "incomplete" in line for line in lines)
    assert any("notes.warc: not imported: not a WARC file" in line for line in lines)
    assert any("empty.wacz: not a WACZ or WARC file" in line for line in lines)
    crawl = only_crawl(root)
    assert sorted(p.name for p in crawl.glob("*.warc*")) == ["ARCHIVEIT-1234-20150301.warc", "rec-20240501.warc.gz"]
    assert len(read_jsonl(crawl / "pages.jsonl")) == 7
    manifest = json.loads((crawl / "manifest.json").read_text(encoding="utf-8"))
    assert len(manifest["imported"]["errors"]) == 3 and manifest["counts"]["files"] == 2


def test_usage_errors(tmp_path: Path) -> None:
    missing = import_(str(tmp_path / "nope.warc.gz"), "--archive", str(tmp_path / "archive"))
    assert missing.returncode == 2 and missing.stderr.strip() == \
        f"scraper: error: {tmp_path / 'nope.warc.gz'}: no such file or folder"
    assert not (tmp_path / "archive" / "crawls").exists()
    nothing = import_("--archive", str(tmp_path / "archive"))
    assert nothing.returncode == 2 and nothing.stderr.startswith("scraper: error: "), nothing.stderr
    unknown = import_("--resume", "20990101T000000Z-abcdef", "--archive", str(tmp_path / "archive"))
    assert unknown.returncode == 2 and unknown.stderr.startswith("scraper: error: --resume"), unknown.stderr


# -- kill -9, then --resume ----------------------------------------------------------------------------------
PAGES = 400


def many_pages(path: Path) -> None:
    w = Writer(path, gzipped=True, version="1.1")
    w.info("Wget/1.21.3 (linux-gnu)")
    for i in range(PAGES):
        w.response(f"http://big.example.org/story/{i}.html", f"2020-01-01T00:{i // 60:02d}:{i % 60:02d}Z", "200 OK",
                   [("Content-Type", "text/html")],
                   article(f"Story number {i}", f"Story {i} tells of the harbour, issue {i * 7}."))
    w.close()


def catalog_rows(root: Path, crawl_id: str) -> list[tuple[str, int]]:
    with sqlite3.connect(root / "catalog.sqlite") as db:
        return list(db.execute("SELECT warc_record_id, committed FROM captures WHERE crawl_id = ?", (crawl_id,)))


def test_a_killed_import_resumes_to_exactly_one_record_per_page(tmp_path: Path,
                                                                 record_validator: Draft202012Validator) -> None:
    many_pages(tmp_path / "big.warc.gz")
    root = tmp_path / "archive"
    process = subprocess.Popen([sys.executable, "-m", "scraper", "import", str(tmp_path / "big.warc.gz"),
                                "--archive", str(root), "-q"], cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO)},
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    written = 0
    while time.monotonic() < deadline and process.poll() is None:  # kill once 60 page records are on disk
        pages = list((root / "crawls").glob("*/pages.jsonl")) if (root / "crawls").is_dir() else []
        written = pages[0].read_bytes().count(b"\n") if pages else 0
        if written >= 60:
            break
        time.sleep(0.005)
    assert process.poll() is None, "the import ended before it could be killed"
    process.send_signal(signal.SIGKILL)
    process.wait()
    crawl = only_crawl(root)
    assert not (crawl / "manifest.json").exists()
    assert written < PAGES
    state = run_scraper("crawls", "--archive", str(root))
    assert "interrupted" in state.stdout, state.stdout + state.stderr
    resumed = import_("--resume", crawl.name, "--archive", str(root))
    assert resumed.returncode == 0, resumed.stderr
    records = read_jsonl(crawl / "pages.jsonl")
    assert len(records) == PAGES
    assert len({(r["warc"]["file"], r["warc"]["offset"]) for r in records}) == PAGES
    assert_valid_records(record_validator, records)
    assert all(r["text"] and r["title"].startswith("Story number") for r in records)
    rows = catalog_rows(root, crawl.name)
    assert len(rows) == PAGES and {committed for _, committed in rows} == {1}
    assert {record_id for record_id, _ in rows} == {r["warc"]["record_id"] for r in records}
    assert run_scraper("verify", str(crawl)).returncode == 0
    again = import_("--resume", crawl.name, "--archive", str(root))
    assert again.returncode == 0 and "already finished" in again.stderr, again.stderr
