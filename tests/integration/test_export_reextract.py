"""Issue 6: `scraper reextract` (records again from the stored WARCs) and `scraper export` (jsonl, csv, parquet).

One archive with two crawls of a local site: the second re-captures pages of the first (a changed page,
a 304 and an identical payload: a new version and two revisits) and adds pages on a second host.  A
third crawl, with --no-extract, goes into an archive of its own.  Tests that write copy the archive first.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import pty
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pyarrow.parquet as pq
import pytest
from jsonschema import Draft202012Validator

from scraper.article import PAGE_TYPES
from scraper.extract.page import EXTRACTOR_NAME, EXTRACTOR_VERSION
from scraper.records import current_extractor
from scraper.reextract import Reextractor
from scraper.storage.layout import CrawlLayout
from tests.conftest import FAST, REPO, assert_valid_records, crawl_dirs, read_jsonl, run_scraper
from tests.integration.test_cli_errors import assert_one_line_error
from tests.site import LivePage, SiteServer, golden_pages, live_article
from tests.unit.test_export import record_from_flat

PARAGRAPHS = [f"Paragraph {i} of the report explains, at some length, what the council decided on Tuesday "
              f"about the harbour, the budget and the new ferry timetable for the coming winter season."
              for i in range(6)]
EDITED = [*PARAGRAPHS[:5], "Correction: the vote was 7 to 4, not 8 to 3 as first reported here on Tuesday."]
NAMES = list(golden_pages())
FIRST = [f"/articles/{NAMES[0]}.html", f"/articles/{NAMES[2]}.html", "/gzip/article.html", "/redirect/1",
         "/report.pdf", "/missing", "/chunked", "/live/story", "/live/etag"]
BARE = [f"/articles/{NAMES[0]}.html", f"/articles/{NAMES[2]}.html", "/gzip/article.html", "/report.pdf"]
NEWS_HOST = "news.example.com"
# The fields a page's extraction gives: what re-extraction must reproduce.
CONTENT_FIELDS = ("title", "authors", "published", "modified", "site_name", "description", "language", "image",
                  "tags", "categories", "text", "markdown", "word_count", "text_sha256", "text_simhash",
                  "canonical_url")


@dataclass
class Archive:
    root: Path  # two crawls
    first: Path
    second: Path
    bare: Path  # the root of a --no-extract crawl
    base: str  # http://127.0.0.1:PORT

    def records(self, crawl: Path) -> list[dict[str, Any]]:
        return read_jsonl(crawl / "pages.jsonl")

    @property
    def second_started(self) -> str:
        """The first capture time of the second crawl: every capture of the first is earlier."""
        return min(r["fetched_at"] for r in self.records(self.second))


@pytest.fixture(scope="module")
def archive(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Archive]:
    root, bare = tmp_path_factory.mktemp("two-crawls"), tmp_path_factory.mktemp("no-extract")
    with SiteServer() as site:
        site.live.update({"story": LivePage(live_article("Council backs harbour plan", PARAGRAPHS, ["Storm"])),
                          "etag": LivePage(live_article("Ferry timetable", PARAGRAPHS[::-1], ["Ferry"]), etag='"v1"')})
        first = run_scraper("crawl", *[site.url(p) for p in FIRST], "--archive", str(root), *FAST)
        assert first.returncode == 1, first.stderr  # /missing is a 404: archived, counted as failed
        time.sleep(1.1)  # the second crawl's captures start in a later second: --since can tell them apart
        site.live["story"] = LivePage(live_article("Council backs harbour plan", EDITED, ["Storm"]))
        news = f"http://{NEWS_HOST}:{site.port}"
        second = run_scraper("crawl", site.url("/live/story"), site.url("/live/etag"),
                             site.url(f"/articles/{NAMES[0]}.html"), news + "/cookies",
                             news + f"/articles/{NAMES[4]}.html", "--resolve", f"{NEWS_HOST}:127.0.0.1",
                             "--archive", str(root), *FAST)
        assert second.returncode == 0, second.stderr
        # Without extraction the story gets no versions; it changes between these two crawls.
        no_extract = run_scraper("crawl", *[site.url(p) for p in [*BARE, "/live/story"]], "--no-extract",
                                 "--archive", str(bare), *FAST)
        assert no_extract.returncode == 0, no_extract.stderr
        site.live["story"] = LivePage(live_article("Council backs harbour plan", PARAGRAPHS, ["Storm"]))
        changed = run_scraper("crawl", site.url("/live/story"), "--no-extract", "--archive", str(bare), *FAST)
        assert changed.returncode == 0, changed.stderr
        first_dir, second_dir = crawl_dirs(root)
        yield Archive(root, first_dir, second_dir, bare, site.base)


def copy_archive(archive: Archive, target: Path) -> tuple[Path, Path, Path]:
    shutil.copytree(archive.root, target)
    return target, target / "crawls" / archive.first.name, target / "crawls" / archive.second.name


def reextracted(crawl: Path) -> list[dict[str, Any]]:
    (path,) = sorted(crawl.glob("pages.reextract-*.jsonl"))
    return read_jsonl(path)


def differences(crawled: list[dict[str, Any]], again: list[dict[str, Any]],
                fields: tuple[str, ...] | None = None) -> list[str]:
    """Every field of every record that re-extraction did not reproduce, one line each."""
    by_id = {r["warc"]["record_id"]: r for r in again}
    assert len(by_id) == len(again), "a capture re-extracted twice"
    out = [f"{r['url']}: not re-extracted" for r in crawled if r["warc"]["record_id"] not in by_id]
    for record in crawled:
        other = by_id.get(record["warc"]["record_id"], record)
        out += [f"{record['url']} {name}: {record[name]!r:.80} != {other.get(name)!r:.80}"
                for name in fields or tuple(record) if record[name] != other.get(name)]
    return out


def file_digests(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted((root / "crawls").rglob("*")) if p.is_file()}


def test_the_archive_has_what_the_tests_need(archive: Archive) -> None:
    first, second = archive.records(archive.first), archive.records(archive.second)
    assert len(first) == len(FIRST) and len(second) == 5
    kinds = {(r["record_kind"], r["revisit_profile"], r["status"]) for r in second}
    # a revisit after a 304 reports its original's status (issue 13)
    assert {("revisit", "identical-payload-digest", 200), ("revisit", "server-not-modified", 200)} <= kinds
    (story,) = [r for r in second if r["url"].endswith("/live/story")]
    assert (story["version"], story["changed_fields"]) == (2, ["text"])
    assert max(r["fetched_at"] for r in first) < archive.second_started


# -- reextract -----------------------------------------------------------------------------------------------------
def test_reextract_reproduces_every_record_of_every_crawl(archive: Archive, tmp_path: Path,
                                                         record_validator: Draft202012Validator) -> None:
    """With the extractor the crawls used, re-extraction gives back each record whole.

    No field is excluded from the comparison: a page record has no timestamp of its own
    (fetched_at is the capture's), and the extractor's name and version are the same here.
    Versions are computed again (the second crawl's against the first's re-extracted records).
    """
    root, first, second = copy_archive(archive, tmp_path / "archive")
    before = file_digests(root)
    proc = run_scraper("reextract", "--archive", str(root))
    assert proc.returncode == 0, proc.stderr
    for crawl in (first, second):
        crawled, again = archive.records(crawl), reextracted(crawl)
        assert len(again) == len(crawled)
        assert differences(crawled, again) == []
        assert_valid_records(record_validator, again)
        assert {(r["extractor"] or {}).get("version") for r in again} <= {EXTRACTOR_VERSION, None}
    # nothing archived was touched: every file is as it was; only the new files were added
    after = file_digests(root)
    assert {k: after[k] for k in before} == before
    assert sorted(set(after) - set(before)) == sorted(
        str(p.relative_to(root)) for p in root.glob("crawls/*/pages.reextract-*.jsonl"))
    assert not list(root.rglob("*.tmp"))
    assert "re-extracted 14 page(s) of 2 crawl(s)" in proc.stderr
    assert "2 revisit(s) read from their originals, 0 skipped" in proc.stderr


def test_reextract_of_one_crawl_finds_versions_and_originals_in_the_catalog(archive: Archive, tmp_path: Path) -> None:
    root, first, second = copy_archive(archive, tmp_path / "archive")
    proc = run_scraper("reextract", second.name, "--archive", str(root))
    assert proc.returncode == 0, proc.stderr
    assert not list(first.glob("pages.reextract-*"))
    assert differences(archive.records(second), reextracted(second)) == []


def test_reextract_without_pages_jsonl(archive: Archive, tmp_path: Path) -> None:
    root, first, _second = copy_archive(archive, tmp_path / "archive")
    (first / "pages.jsonl").unlink()
    proc = run_scraper("reextract", first.name, "--archive", str(root))
    assert proc.returncode == 0, proc.stderr
    assert differences(archive.records(archive.first), reextracted(first)) == []
    # export carries on with the re-extracted records where pages.jsonl was
    exported = [json.loads(line) for line in run_scraper("export", first.name, "--archive", str(root)).stdout
                .splitlines()]
    assert [r["warc"]["record_id"] for r in exported] == [
        r["warc"]["record_id"] for r in archive.records(archive.first)]


def test_reextract_from_the_warcs_alone(archive: Archive, tmp_path: Path) -> None:
    """No pages.jsonl and no catalog: revisits are still read through their records' refers_to;
    versions are kept as the crawl recorded them."""
    root, _first, second = copy_archive(archive, tmp_path / "archive")
    (second / "pages.jsonl").unlink()
    (root / "catalog.sqlite").unlink()
    proc = run_scraper("reextract", second.name, "--archive", str(root))
    assert proc.returncode == 0, proc.stderr
    assert differences(archive.records(archive.second), reextracted(second)) == []
    assert not (root / "catalog.sqlite").exists()  # read when there is one, never created


def test_reextract_extracts_what_a_crawl_did_not(archive: Archive) -> None:
    """--no-extract crawls get text and metadata from their WARCs, equal to what an extracting crawl got,
    and the changed story a version history computed against its re-extracted previous capture."""
    bare, changed = crawl_dirs(archive.bare)
    crawled = archive.records(bare) + archive.records(changed)
    assert all(r["text"] is None and r["extractor"] is None and r["version"] is None for r in crawled)
    as_crawled = run_scraper("export", "--archive", str(archive.bare))
    assert [json.loads(line)["text"] for line in as_crawled.stdout.splitlines()] == [None] * len(crawled)
    proc = run_scraper("reextract", "--archive", str(archive.bare))
    assert proc.returncode == 0, proc.stderr
    assert f"{len(crawled) - 1} with changed text" in proc.stderr  # every page but the PDF
    again = {urlsplit(r["url"]).path: r for r in reextracted(bare)}
    extracted = {urlsplit(r["url"]).path: r for r in archive.records(archive.first)}
    for path in BARE:
        assert differences([extracted[path]], [{**again[path], "warc": extracted[path]["warc"]}],
                           (*CONTENT_FIELDS, "version", "extractor")) == [], path
    assert again["/gzip/article.html"]["text"] and again["/gzip/article.html"]["version"] == 1
    assert again["/gzip/article.html"]["extractor"] == current_extractor()
    assert (current_extractor()["name"], current_extractor()["version"]) == (EXTRACTOR_NAME, EXTRACTOR_VERSION)
    assert again["/report.pdf"]["extractor"] is None and again["/report.pdf"]["text"] is None
    first_story, (second_story,) = again["/live/story"], reextracted(changed)
    assert (first_story["version"], first_story["changed_fields"]) == (1, [])
    assert (second_story["version"], second_story["changed_fields"]) == (2, ["text"])
    assert second_story["previous"]["record_id"] == first_story["warc"]["record_id"]
    assert second_story["previous"]["version"] == 1
    # export now gives the re-extracted records; --as-crawled the crawls' own
    rows = [json.loads(line) for line in run_scraper("export", "--archive", str(archive.bare)).stdout.splitlines()]
    assert [r["text"] for r in rows] == [r["text"] for r in [*reextracted(bare), second_story]]
    plain = run_scraper("export", "--as-crawled", "--archive", str(archive.bare)).stdout.splitlines()
    assert [json.loads(line)["text"] for line in plain] == [None] * len(crawled)


def write_old_crawl(root: Path, crawl_id: str, html: bytes) -> dict[str, Any]:
    """A crawl as scraper wrote it before issue 18: a WARC whose page record (beside the response) and pages.jsonl
    say page_type "other", have no page_type_confidence or product, and name trafilatura as the extractor."""
    import io

    from warcio.statusandheaders import StatusAndHeaders
    from warcio.warcwriter import WARCWriter

    from tests.unit.test_schema_evolution import OLD_RECORD

    folder = root / "crawls" / crawl_id
    folder.mkdir(parents=True)
    name = "scraper-20250105090000000-00001-h.warc.gz"
    url = "https://example.com/articles/harbour.html"
    with open(folder / name, "wb") as fh:
        writer = WARCWriter(fh, gzip=True)
        writer.write_record(writer.create_warcinfo_record(name, {"software": "scraper 0.1.0"}))
        offset = fh.tell()
        response = writer.create_warc_record(
            url, "response", payload=io.BytesIO(html), length=len(html),
            http_headers=StatusAndHeaders("200 OK", [("Content-Type", "text/html; charset=utf-8")],
                                          protocol="HTTP/1.1"))
        writer.write_record(response)
        length = fh.tell() - offset
        record = {**OLD_RECORD, "crawl_id": crawl_id, "requested_url": url, "url": url, "normalized_url": url,
                  "warc": {"file": name, "offset": offset, "length": length,
                           "record_id": response.rec_headers.get_header("WARC-Record-ID")}}
        data = json.dumps(record).encode()
        writer.write_record(writer.create_warc_record(
            "metadata://example.com/articles/harbour.html", "metadata", payload=io.BytesIO(data), length=len(data),
            warc_content_type="application/json"))
    (folder / "pages.jsonl").write_text(json.dumps(record) + "\n", encoding="utf-8")
    return record


def test_reextract_of_an_old_crawl_says_the_new_extractor(tmp_path: Path,
                                                         record_validator: Draft202012Validator) -> None:
    """Issue 18: records extracted by trafilatura alone (extractor {name, version}) get re-extracted, and the new
    records name scraper, its model digest and trafilatura's version, with one of the seven page types."""
    root = tmp_path / "archive"
    paragraphs = "".join(f"<p>{text}</p>" for text in PARAGRAPHS)
    html = (f"<!doctype html><html lang='en'><head><title>Council backs harbour plan</title></head><body>"
            f"<article><h1>Council backs harbour plan</h1>{paragraphs}</article></body></html>").encode()
    old = write_old_crawl(root, "20250105T090000Z-0a1b2c", html)
    assert old["extractor"] == {"name": "trafilatura", "version": "2.3.1"} and old["page_type"] == "other"
    proc = run_scraper("reextract", "--archive", str(root))
    assert proc.returncode == 0, proc.stderr
    (again,) = reextracted(root / "crawls" / "20250105T090000Z-0a1b2c")
    extractor = current_extractor()
    assert again["extractor"] == extractor and extractor["name"] == "scraper"
    assert set(extractor) == {"name", "version", "model", "trafilatura"} and extractor["model"]
    assert f"with scraper {extractor['version']} (model {extractor['model']}, " in proc.stderr
    assert again["page_type"] in PAGE_TYPES and "page_type_confidence" in again and "product" in again
    assert again["text"] and "harbour" in again["text"] and again["warc"] == old["warc"]
    assert_valid_records(record_validator, [old, again])
    # export now gives the re-extracted record, --as-crawled the old one
    exported = [json.loads(line) for line in run_scraper("export", "--archive", str(root)).stdout.splitlines()]
    assert [r["extractor"] for r in exported] == [extractor]
    plain = run_scraper("export", "--as-crawled", "--page-type", "other", "--archive", str(root)).stdout
    assert [json.loads(line)["extractor"] for line in plain.splitlines()] == [old["extractor"]]


def test_reextract_since_selects_captures_by_date(archive: Archive, tmp_path: Path) -> None:
    root, first, second = copy_archive(archive, tmp_path / "archive")
    proc = run_scraper("reextract", "--since", archive.second_started, "--archive", str(root))
    assert proc.returncode == 0, proc.stderr
    assert not list(first.glob("pages.reextract-*"))
    assert differences(archive.records(second), reextracted(second)) == []
    later = (date.fromisoformat(archive.second_started[:10]) + timedelta(days=1)).isoformat()
    nothing = run_scraper("reextract", "--since", later, "--archive", str(root))
    assert nothing.returncode == 0 and "re-extracted 0 page(s)" in nothing.stderr
    assert len(list(second.glob("pages.reextract-*"))) == 1


def test_reextract_usage_errors(archive: Archive, tmp_path: Path) -> None:
    assert_one_line_error(run_scraper("reextract", "20990101T000000Z-000000", "--archive", str(archive.root)), 2,
                          "unknown crawl")
    assert_one_line_error(run_scraper("reextract", "--since", "last week", "--archive", str(archive.root)), 2,
                          "--since: invalid date")
    assert_one_line_error(run_scraper("reextract", "--archive", str(tmp_path / "nowhere")), 2, "no archive at")
    assert not list(archive.root.glob("crawls/*/pages.reextract-*"))


# -- export -----------------------------------------------------------------------------------------------------------
def export_jsonl(archive: Archive, *args: str) -> list[dict[str, Any]]:
    proc = run_scraper("export", "--archive", str(archive.root), *args)
    assert proc.returncode == 0, proc.stderr
    return [json.loads(line) for line in proc.stdout.splitlines()]


def without_ts(row: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in row.items() if k != "ts"}


def test_export_jsonl_rows_are_wacz_pages_and_page_records(archive: Archive,
                                                          record_validator: Draft202012Validator) -> None:
    rows = export_jsonl(archive)
    for row in rows:
        assert list(row)[:4] == ["url", "ts", "title", "text"] and row["ts"] == row["fetched_at"]
    assert_valid_records(record_validator, [without_ts(r) for r in rows])
    assert [without_ts(r) for r in rows] == archive.records(archive.first) + archive.records(archive.second)


def test_export_csv_and_parquet_read_back_as_the_jsonl_export(archive: Archive, tmp_path: Path,
                                                             record_validator: Draft202012Validator) -> None:
    expected = [without_ts(r) for r in export_jsonl(archive)]
    csv_path, parquet_path = tmp_path / "pages.csv", tmp_path / "pages.parquet"
    for fmt, path in (("csv", csv_path), ("parquet", parquet_path)):
        proc = run_scraper("export", "-f", fmt, "-o", str(path), "--archive", str(archive.root))
        assert proc.returncode == 0 and f"exported {len(expected)} record(s) as {fmt}" in proc.stderr, proc.stderr
    with open(csv_path, encoding="utf-8", newline="") as fh:
        from_csv = [record_from_flat(row, from_csv=True) for row in csv.DictReader(fh)]
    from_parquet = [record_from_flat(row, from_csv=False) for row in pq.read_table(parquet_path).to_pylist()]
    for records in (from_csv, from_parquet):
        assert records == expected
        assert_valid_records(record_validator, records)
    # csv on stdout is the same file
    stdout = run_scraper("export", "-f", "csv", "--archive", str(archive.root)).stdout
    assert list(csv.reader(io.StringIO(stdout, newline=""))) == list(csv.reader(csv_path.open(newline="")))


def test_export_latest_keeps_the_newest_capture_of_each_url(archive: Archive) -> None:
    everything = export_jsonl(archive)
    latest = export_jsonl(archive, "--latest")
    keys = [r["normalized_url"] for r in latest]
    assert len(keys) == len(set(keys)) and set(keys) == {r["normalized_url"] for r in everything}
    newest: dict[str, dict[str, Any]] = {}
    for row in everything:
        if row["normalized_url"] not in newest or row["fetched_at"] >= newest[row["normalized_url"]]["fetched_at"]:
            newest[row["normalized_url"]] = row
    assert sorted(latest, key=lambda r: r["normalized_url"]) == sorted(newest.values(),
                                                                       key=lambda r: r["normalized_url"])
    (story,) = [r for r in latest if r["url"].endswith("/live/story")]
    assert story["version"] == 2 and story["crawl_id"] == archive.second.name
    assert len(latest) == len(everything) - 3  # story, etag and the article were captured twice


def test_export_site_filters_by_host(archive: Archive) -> None:
    everything = export_jsonl(archive)
    news = export_jsonl(archive, "--site", NEWS_HOST)
    assert news and news == [r for r in everything if urlsplit(r["url"]).hostname == NEWS_HOST]
    assert export_jsonl(archive, "--site", "example.com") == news  # subdomains of the site too
    port = int(urlsplit(archive.base).port or 80)
    local = export_jsonl(archive, "--site", f"127.0.0.1:{port}")
    assert local == [r for r in everything if urlsplit(r["url"]).hostname == "127.0.0.1"]
    assert export_jsonl(archive, "--site", "127.0.0.1", "--site", NEWS_HOST) == everything
    assert export_jsonl(archive, "--site", f"127.0.0.1:{port + 1}") == []


def test_export_since_filters_by_capture_time(archive: Archive) -> None:
    second = export_jsonl(archive, "--since", archive.second_started)
    assert [without_ts(r) for r in second] == archive.records(archive.second)
    day = archive.second_started[:10]
    assert len(export_jsonl(archive, "--since", day)) == len(FIRST) + 5
    later = (date.fromisoformat(day) + timedelta(days=1)).isoformat()
    assert export_jsonl(archive, "--since", later) == []
    latest_news = export_jsonl(archive, "--since", archive.second_started, "--latest", "--site", NEWS_HOST)
    assert {urlsplit(r["url"]).path for r in latest_news} == {"/cookies", f"/articles/{NAMES[4]}.html"}


def test_export_usage_errors_leave_no_file(archive: Archive, tmp_path: Path) -> None:
    root = str(archive.root)
    assert_one_line_error(run_scraper("export", "-f", "parquet", "--archive", root), 2, "needs -o FILE")
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    assert_one_line_error(run_scraper("export", "-o", str(blocker / "out.jsonl"), "--archive", root), 2,
                          "cannot write")
    assert_one_line_error(run_scraper("export", "-o", str(tmp_path), "--archive", root), 2, "is a folder")
    assert_one_line_error(run_scraper("export", "--since", "2024-02-30", "--archive", root), 2, "invalid date")
    assert_one_line_error(run_scraper("export", "--site", "exa mple.com", "--archive", root), 2, "not a host name")
    assert_one_line_error(run_scraper("export", "nope", "-o", str(tmp_path / "x.csv"), "--archive", root), 2,
                          "unknown crawl")
    assert_one_line_error(run_scraper("export", "--archive", str(tmp_path / "none")), 2, "no archive at")
    # --page-type: the seven kinds and the old "other"; anything else is one line from click
    assert_one_line_error(run_scraper("export", "--page-type", "blog", "--archive", root), 2,
                          "'blog' is not one of 'article', 'forum', 'product', 'collection', 'listing', "
                          "'documentation', 'service', 'other'")
    for kind in ("forum", "documentation", "other"):
        assert run_scraper("export", "--page-type", kind, "--archive", root).returncode == 0, kind
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a-file"]


def test_help_explains_both_commands() -> None:
    reextract = run_scraper("reextract", "--help")
    assert reextract.returncode == 0
    for words in ("pages.reextract-", "WARC-Refers-To", "never changed", "--since", "Exit status"):
        assert words in reextract.stdout, words
    export = run_scraper("export", "--help")
    assert export.returncode == 0
    for words in ("jsonl|csv|parquet", "--latest", "--site", "WACZ pages.jsonl", "--as-crawled", "FILE|-",
                  "article, forum, product, collection, listing, documentation, service; or other"):
        assert words in " ".join(export.stdout.split()), words  # help text is wrapped


# -- every core, and progress (issue 19) ------------------------------------------------------------------------------
def reextract_files_of(root: Path) -> dict[str, bytes]:
    return {p.parent.name: p.read_bytes() for p in sorted(root.glob("crawls/*/pages.reextract-*.jsonl"))}


def test_reextract_in_two_processes_writes_byte_for_byte_what_one_writes(archive: Archive, tmp_path: Path) -> None:
    """Versions chain through the records in WARC order: a pool that wrote them as they finished would differ."""
    one, _, _ = copy_archive(archive, tmp_path / "one")
    two, _, _ = copy_archive(archive, tmp_path / "two")
    alone = run_scraper("reextract", "--jobs", "1", "--archive", str(one))
    pooled = run_scraper("reextract", "--jobs", "2", "--archive", str(two))
    assert alone.returncode == 0 and pooled.returncode == 0, alone.stderr + pooled.stderr
    written = reextract_files_of(two)
    assert len(written) == 2 and written == reextract_files_of(one)
    assert "re-extracted 14 page(s) of 2 crawl(s)" in pooled.stderr
    # stderr is no terminal here: no progress bar, not even a trace of one
    assert "\x1b[" not in pooled.stderr and "pages/s" not in pooled.stderr and "eta" not in pooled.stderr


def test_reextract_jobs_must_be_a_positive_number(archive: Archive) -> None:
    for value in ("0", "-2"):
        assert_one_line_error(run_scraper("reextract", "--jobs", value, "--archive", str(archive.root)), 2,
                              "--jobs")
    assert not list(archive.root.glob("crawls/*/pages.reextract-*"))


def test_export_in_two_processes_writes_byte_for_byte_what_one_writes(archive: Archive, tmp_path: Path) -> None:
    """Every format and the options that read differently (--latest reads twice, --as-crawled skips the
    re-extractions), over a crawl whose records are re-extracted, one also only there, and damaged lines."""
    root, _first, second = copy_archive(archive, tmp_path / "archive")
    assert run_scraper("reextract", "--jobs", "1", "--archive", str(root), str(second.name)).returncode == 0
    (again,) = second.glob("pages.reextract-*.jsonl")
    lines = (second / "pages.jsonl").read_bytes().splitlines(keepends=True)
    # the last record is only in the re-extraction; a damaged line in a page file and in a re-extraction
    (second / "pages.jsonl").write_bytes(b"".join(lines[:2]) + b"{not json\n" + b"".join(lines[2:-1]))
    again.write_bytes(again.read_bytes() + b"\xff\xfe\n")
    for args in ((), ("--latest",), ("--as-crawled",), ("--latest", "--site", NEWS_HOST, "--kind", "response"),
                 ("-f", "csv"), ("-f", "csv", "--since", archive.second_started), ("-f", "parquet")):
        out: dict[str, bytes] = {}
        said: dict[str, str] = {}
        for jobs in ("1", "2"):
            target = tmp_path / f"out-{jobs}"
            proc = run_scraper("export", "-q", "--jobs", jobs, "-o", str(target), "--archive", str(root), *args)
            assert proc.returncode == 3, proc.stderr  # done, damaged lines left out
            out[jobs], said[jobs] = target.read_bytes(), proc.stderr
        assert out["1"] == out["2"] and said["1"] == said["2"], args
        assert "pages.jsonl: line 3: not JSON" in said["2"], said["2"]
    on_stdout = [run_scraper("export", "--jobs", jobs, "--archive", str(root)).stdout for jobs in ("1", "2")]
    assert on_stdout[0] == on_stdout[1] and len(on_stdout[0].splitlines()) == len(FIRST) + len(lines)


def test_export_jobs_must_be_a_positive_number(archive: Archive) -> None:
    assert_one_line_error(run_scraper("export", "--jobs", "0", "--archive", str(archive.root)), 2, "--jobs")


def test_a_killed_extraction_worker_is_replaced_and_its_pages_extracted_again(archive: Archive,
                                                                              tmp_path: Path) -> None:
    root, first, _ = copy_archive(archive, tmp_path / "archive")
    crawl = CrawlLayout(root, first.name)
    alone = Reextractor(root).run_crawl(crawl)
    assert alone is not None
    expected = alone.read_bytes()
    alone.unlink()
    warnings: list[str] = []
    with Reextractor(root, warn=warnings.append, jobs=2) as runner:
        def kill_a_worker() -> None:
            pool = runner._pool
            if not warnings and pool is not None and pool._processes:  # once, with pages in flight
                os.kill(next(iter(pool._processes)), signal.SIGKILL)

        written = runner.run_crawl(crawl, kill_a_worker)
    assert written is not None and written.read_bytes() == expected
    assert [w for w in warnings if "worker died" in w] == [
        "an extraction worker died (out of memory? killed?): new workers took over, and the pages it had are "
        "extracted again"]
    assert runner.tally.pools_replaced == 1 and runner.tally.extraction_errors == 0


def read_through_a_terminal(*args: str) -> tuple[int, str]:
    """``scraper ARGS`` with stderr on a pseudo-terminal (stdout piped away): its status and what the terminal got."""
    leader, follower = pty.openpty()
    env = {**os.environ, "PYTHONPATH": str(REPO), "COLUMNS": "160", "TERM": "xterm"}
    process = subprocess.Popen([sys.executable, "-m", "scraper", *args], stdout=subprocess.DEVNULL,
                               stderr=follower, env=env, cwd=REPO)
    os.close(follower)
    seen = bytearray()
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # EIO: the process closed its end
            break
        if not chunk:
            break
        seen += chunk
    os.close(leader)
    plain = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", seen.decode("utf-8", "replace"))  # colours, cursor moves
    return process.wait(timeout=120), plain


def test_readers_show_a_bar_with_rate_and_eta_on_a_terminal(archive: Archive, tmp_path: Path) -> None:
    root, _, _ = copy_archive(archive, tmp_path / "archive")
    status, terminal = read_through_a_terminal("reextract", "--jobs", "1", "--archive", str(root))
    assert status == 0, terminal
    assert re.search(r"re-extracting \S+ .*\d+/\d+ .*[\d?.,]+ pages/s .*eta", terminal), terminal
    status, terminal = read_through_a_terminal("export", "--archive", str(root), "-o", str(tmp_path / "out.jsonl"))
    assert status == 0, terminal
    assert re.search(r"exporting .*\d+/\d+ .*[\d?.,]+ records/s .*eta", terminal), terminal
    quiet_status, quiet = read_through_a_terminal("export", "--archive", str(root), "-q", "-o",
                                                  str(tmp_path / "again.jsonl"))
    assert quiet_status == 0 and quiet == "", quiet  # -q: no bar, no summary


@pytest.mark.parametrize("command", [("index",), ("wacz", "--all", "-o", "{tmp}/out.wacz"), ("catalog", "rebuild")],
                         ids=["index", "wacz", "catalog-rebuild"])
def test_whole_archive_readers_show_a_byte_bar_on_a_terminal_only(archive: Archive, tmp_path: Path,
                                                                 command: tuple[str, ...]) -> None:
    """index, wacz and catalog rebuild read every WARC file: a bar over their megabytes, with a rate and an
    ETA, on a terminal; on a pipe, not a trace of one."""
    args = [arg.replace("{tmp}", str(tmp_path)) for arg in command]
    root, _, _ = copy_archive(archive, tmp_path / "archive")
    status, terminal = read_through_a_terminal(*args, "--archive", str(root))
    assert status == 0, terminal
    assert re.search(r"(indexing|packaging|rebuilding) .*\d+/\d+ .*[\d?.,]+ MB/s .*eta", terminal), terminal
    piped = run_scraper(*args, "--archive", str(root))
    assert piped.returncode == 0, piped.stderr
    assert "\x1b[" not in piped.stderr and "MB/s" not in piped.stderr and "eta" not in piped.stderr, piped.stderr
