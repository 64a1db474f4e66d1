"""Issue 13: reading the archive. 304 revisits report their original's status; `show --format text`,
`show --at/--version`, `diff --format json` and its exit status, `crawls`, and export's filters.

One archive: a crawl of four live pages (and a long URL), `rearchive` of them after one page changed and
one went away (304s for the pages with validators), `rearchive` of the two 304 pages again, and a crawl
stopped early by Scrapy's page count.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from tests.conftest import FAST, assert_valid_records, crawl_dirs, read_jsonl, run_scraper, wait_for
from tests.integration.test_resume import CRAWL_ARGS, kill_group, linked_site, start, wait_for_pages
from tests.site import LivePage, Site, SiteServer, live_article

__all__ = ["linked_site"]  # a fixture, used by a test below

PARAGRAPHS = [f"Paragraph {i} of the report explains, at some length, what the council decided on Tuesday "
              f"about the harbour, the budget and the new ferry timetable for the coming winter season."
              for i in range(6)]
EDITED = [*PARAGRAPHS[:5], "Correction: the vote was 7 to 4, not 8 to 3 as first reported here on Tuesday."]
LAST_MODIFIED = "Mon, 04 Mar 2024 10:00:00 GMT"
NOT_MODIFIED = ("etag", "dated")  # the pages the server answers 304 once they are captured


@dataclass
class Reading:
    site: Site
    root: Path
    seeds: list[list[str]]  # the seeds of each crawl, in crawl order

    def url(self, name: str) -> str:
        return self.site.url(f"/live/{name}")

    def history(self, name: str) -> list[dict[str, Any]]:
        proc = run_scraper("history", self.url(name), "--json", "--archive", str(self.root))
        assert proc.returncode == 0, proc.stderr
        return [json.loads(line) for line in proc.stdout.splitlines()]

    def scraper(self, *args: str) -> Any:
        return run_scraper(*args, "--archive", str(self.root))


@pytest.fixture(scope="module")
def reading(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Reading]:
    root = tmp_path_factory.mktemp("reading")
    with SiteServer() as site:
        site.live.update({
            "etag": LivePage(live_article("Ferry timetable", PARAGRAPHS[::-1], ["Ferry"]), etag='"v1"'),
            "dated": LivePage(live_article("Harbour budget", PARAGRAPHS[1:], ["Budget"]),
                              last_modified=LAST_MODIFIED),
            "edited": LivePage(live_article("Council backs harbour plan", PARAGRAPHS, ["Storm"])),
            "gone": LivePage(live_article("Lighthouse sold", PARAGRAPHS[2:], ["Sale"])),
        })
        live = [site.url(f"/live/{name}") for name in site.live]
        long_url = site.url("/search?q=" + "harbour-ferry-timetable-" * 8)  # longer than a terminal is wide
        seeds = [[*live, long_url], live, [site.url(f"/live/{name}") for name in NOT_MODIFIED], [site.url("/")]]
        first = run_scraper("crawl", *seeds[0], "--archive", str(root), *FAST)
        assert first.returncode == 0, first.stderr
        time.sleep(1.1)  # later captures in later seconds: --at tells them apart
        site.live["edited"] = LivePage(live_article("Council backs harbour plan", EDITED, ["Storm"]))
        site.live["gone"] = LivePage(b"gone", status=404)
        second = run_scraper("rearchive", *seeds[1], "--archive", str(root), *FAST)
        assert second.returncode == 1, second.stderr  # the 404
        time.sleep(1.1)
        third = run_scraper("rearchive", *seeds[2], "--archive", str(root), *FAST)
        assert third.returncode == 0, third.stderr
        stopped = run_scraper("crawl", *seeds[3], "--depth", "1", "-s", "CLOSESPIDER_PAGECOUNT=2",
                              "--archive", str(root), *FAST)
        assert stopped.returncode == 0, stopped.stderr
        yield Reading(site, root, seeds)


def assert_error_line(proc: Any, status: int, words: str) -> None:
    """Nothing on stdout, one line on stderr, the status given."""
    assert (proc.returncode, proc.stdout) == (status, ""), proc.stderr
    (line,) = proc.stderr.splitlines()
    assert line.startswith("scraper: error: ") and words in line, line


# -- item 6: a revisit after a 304 reports its original's status and type ----------------------------------------------
def test_not_modified_revisits_report_the_originals_status_and_type(
        reading: Reading, record_validator: Draft202012Validator) -> None:
    for name in NOT_MODIFIED:
        first, *revisits = captures = reading.history(name)
        assert [(r["status"], r["content_type"], r["record_kind"], r["revisit_profile"]) for r in captures] == [
            (200, "text/html", "response", None), *[(200, "text/html", "revisit", "server-not-modified")] * 2], name
        assert all(r["refers_to"]["record_id"] == first["warc"]["record_id"] for r in revisits)
        assert all(r["text"] == first["text"] and r["version"] == 1 for r in revisits)
        assert_valid_records(record_validator, captures)
        shown = json.loads(reading.scraper("show", reading.url(name)).stdout)
        assert (shown["status"], shown["content_type"], shown["record_kind"]) == (200, "text/html", "revisit")
    # each re-capture was a conditional request the server answered 304: the second too (after a revisit)
    assert reading.site.conditional.count(("/live/etag", '"v1"')) == 2
    assert reading.site.conditional.count(("/live/dated", LAST_MODIFIED)) == 2
    # the catalog's status column says the same as the records
    with sqlite3.connect(reading.root / "catalog.sqlite") as conn:
        rows = conn.execute("SELECT captures.status, captures.record_kind FROM captures JOIN urls "
                            "ON urls.id = captures.url_id WHERE urls.url IN (?, ?)",
                            [reading.url(name) for name in NOT_MODIFIED]).fetchall()
    assert sorted(rows) == [(200, "response")] * 2 + [(200, "revisit")] * 4
    # and exporting the 200s keeps them
    proc = run_scraper("export", "--status", "200", "--archive", str(reading.root), "-q")
    exported = [json.loads(line) for line in proc.stdout.splitlines()]
    assert sum(r["revisit_profile"] == "server-not-modified" for r in exported) == 4


# -- item 9: show --format text ---------------------------------------------------------------------------------------
def test_show_text_prints_the_title_once(reading: Reading) -> None:
    proc = reading.scraper("show", reading.url("edited"), "--format", "text")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("Council backs harbour plan\n\nParagraph 0 of the report")
    assert proc.stdout.count("Council backs harbour plan") == 1
    markdown = reading.scraper("show", reading.url("edited"), "--format", "markdown").stdout
    assert markdown.startswith("# Council backs harbour plan\n") and markdown.count("Council backs harbour plan") == 1


# -- show --at, --version ---------------------------------------------------------------------------------------------
def shown(reading: Reading, name: str, *options: str) -> dict[str, Any]:
    proc = reading.scraper("show", reading.url(name), *options)
    assert proc.returncode == 0, proc.stderr
    record: dict[str, Any] = json.loads(proc.stdout)
    return record


def test_show_at_a_time_gives_the_capture_in_effect_then(reading: Reading) -> None:
    v1, v2 = reading.history("edited")
    record_id = {v1["warc"]["record_id"]: "v1", v2["warc"]["record_id"]: "v2"}

    def at(moment: str) -> str:
        return record_id[shown(reading, "edited", "--at", moment)["warc"]["record_id"]]

    assert at(v1["fetched_at"]) == "v1" and at(v2["fetched_at"]) == "v2"
    before_v2 = datetime.fromisoformat(v2["fetched_at"].replace("Z", "+00:00")) - timedelta(seconds=1)
    assert at(before_v2.strftime("%Y-%m-%dT%H:%M:%S")) == "v1"  # no offset: UTC
    assert at(before_v2.astimezone(timezone(timedelta(hours=-5))).isoformat()) == "v1"  # the same moment elsewhere
    assert at(v2["fetched_at"][:10]) == "v2"  # a date: the whole day
    # a page that went away: its last good capture stays in effect, as in `show`
    good, missing = reading.history("gone")
    assert missing["status"] == 404
    assert shown(reading, "gone", "--at", missing["fetched_at"])["warc"] == good["warc"]
    assert shown(reading, "gone")["warc"] == good["warc"]  # as without --at
    proc = reading.scraper("show", reading.url("edited"), "--at", "2001-02-03")
    assert_error_line(proc, 1, f"no capture of {reading.url('edited')} at or before 2001-02-03T23:59:59Z "
                               f"(the first is from {v1['fetched_at']})")


def test_show_version_gives_that_versions_first_capture(reading: Reading) -> None:
    v1, v2 = reading.history("edited")
    assert shown(reading, "edited", "--version", "1")["warc"] == v1["warc"]
    assert shown(reading, "edited", "--version", "2")["warc"] == v2["warc"]
    # the first of a version's captures: the 304 revisits repeat version 1 of the etag page
    first = reading.history("etag")[0]
    assert shown(reading, "etag", "--version", "1")["warc"] == first["warc"]
    text = reading.scraper("show", reading.url("edited"), "--version", "1", "--format", "text").stdout
    assert "Paragraph 5 of the report" in text and "Correction" not in text
    proc = reading.scraper("show", reading.url("edited"), "--version", "3")
    assert_error_line(proc, 1, "has no version 3 (versions: 1, 2)")
    for options, message in [(["--at", "yesterday"], "--at: invalid date"),
                             (["--at", v1["fetched_at"], "--version", "1"], "give --at or --version, not both"),
                             (["--version", "0"], "Invalid value for '--version'")]:
        proc = reading.scraper("show", reading.url("edited"), *options)
        assert proc.returncode == 2 and message in proc.stderr and "Traceback" not in proc.stderr, options


# -- diff -------------------------------------------------------------------------------------------------------------
def test_diff_exits_1_when_something_changed_and_says_what_in_json(reading: Reading) -> None:
    v1, v2 = reading.history("edited")
    text = reading.scraper("diff", reading.url("edited"))
    assert text.returncode == 1, text.stderr
    assert text.stdout.splitlines()[:2] == [f"--- version 1 ({v1['fetched_at']})",
                                            f"+++ version 2 ({v2['fetched_at']})"]
    proc = reading.scraper("diff", reading.url("edited"), "--format", "json")
    assert proc.returncode == 1, proc.stderr
    document = json.loads(proc.stdout)
    assert document["from"] == {"version": 1, "fetched_at": v1["fetched_at"], "crawl_id": v1["crawl_id"],
                                "record_id": v1["warc"]["record_id"]}
    assert document["to"]["version"] == 2 and document["to"]["fetched_at"] == v2["fetched_at"]
    assert document["changed"] is True and document["changed_fields"] == ["text"] and document["fields"] == {}
    assert f"-{PARAGRAPHS[5]}" in document["text_diff"] and f"+{EDITED[5]}" in document["text_diff"]
    assert document["text_diff"][0].startswith("@@ ") and f" {PARAGRAPHS[4]}" in document["text_diff"]
    # versions given both ways round, and one with itself
    assert reading.scraper("diff", reading.url("edited"), "--from", "2", "--to", "1").returncode == 1
    same = reading.scraper("diff", reading.url("edited"), "--from", "2", "--to", "2")
    assert (same.returncode, same.stdout) == (0, "")


def test_diff_of_a_page_with_one_version_says_so_and_exits_0(reading: Reading) -> None:
    first = reading.history("etag")[0]  # three captures, one version
    proc = reading.scraper("diff", reading.url("etag"))
    assert (proc.returncode, proc.stdout) == (0, "")
    (line,) = proc.stderr.splitlines()
    assert line == (f"scraper: {reading.url('etag')} has one version only (version 1, first captured "
                    f"{first['fetched_at']}): nothing to compare")
    proc = reading.scraper("diff", reading.url("etag"), "--format", "json")
    document = json.loads(proc.stdout)
    assert proc.returncode == 0 and document["changed"] is False and document["text_diff"] == []
    assert document["from"] == document["to"] and document["to"]["version"] == 1


def test_diff_trouble_exits_2(reading: Reading) -> None:
    for args, message in [([reading.url("edited"), "--from", "7"], "has no version 7 (versions: 1, 2)"),
                          ([reading.site.url("/never/captured")], "no captures of"),
                          ([reading.url("edited"), "--format", "yaml"], "Invalid value for '-f' / '--format'")]:
        proc = reading.scraper("diff", *args)
        assert proc.returncode == 2 and message in proc.stderr and proc.stdout == "", args


# -- crawls -----------------------------------------------------------------------------------------------------------
def crawls_json(root: Path) -> list[dict[str, Any]]:
    proc = run_scraper("crawls", "--json", "--archive", str(root))
    assert proc.returncode == 0, proc.stderr
    return [json.loads(line) for line in proc.stdout.splitlines()]


def test_crawls_lists_every_crawl_with_what_its_folder_says(reading: Reading) -> None:
    listed = crawls_json(reading.root)
    folders = crawl_dirs(reading.root)
    assert [c["crawl_id"] for c in listed] == [d.name for d in folders]  # oldest first
    assert [(c["state"], c["finish_reason"]) for c in listed] == [("finished", "finished")] * 3 + [
        ("stopped", "closespider_pagecount")]
    assert [c["seeds"] for c in listed] == reading.seeds
    for crawl, folder in zip(listed, folders, strict=True):
        manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
        assert crawl["pages"] == len(read_jsonl(folder / "pages.jsonl")) > 0
        assert crawl["warc_bytes"] == sum(p.stat().st_size for p in folder.glob("*.warc.gz")) > 0
        assert crawl["finished_at"] == manifest["finished_at"]
        started = datetime.strptime(folder.name[:16], "%Y%m%dT%H%M%SZ").strftime("%Y-%m-%dT%H:%M:%SZ")
        assert crawl["started_at"] == started
    # piped: a header and a line per crawl, tab-separated, every value whole (rich cut them at 80 columns)
    proc = run_scraper("crawls", "--archive", str(reading.root))
    assert proc.returncode == 0, proc.stderr
    header, *lines = proc.stdout.splitlines()
    assert header.split("\t") == ["crawl", "state", "started", "finished", "pages", "WARC bytes", "seeds"]
    rows = [line.split("\t") for line in lines]
    assert [row[:2] for row in rows] == [[c["crawl_id"], c["state"]] for c in listed[:3]] + [
        [listed[3]["crawl_id"], "stopped (closespider_pagecount)"]]
    assert [row[6].split(" ") for row in rows] == reading.seeds
    assert [row[4:6] for row in rows] == [[str(c["pages"]), str(c["warc_bytes"])] for c in listed]


def test_crawls_says_running_then_interrupted(linked_site: str, tmp_path: Path) -> None:
    slow = ["-s", "DOWNLOAD_DELAY=0.5", "-s", "CONCURRENT_REQUESTS_PER_DOMAIN=1"]  # still running a minute later
    process = start("crawl", linked_site, "--archive", str(tmp_path), *CRAWL_ARGS, *slow)
    try:
        wait_for(lambda: bool(list(tmp_path.glob("crawls/*/*.warc.gz.open"))), "an open WARC file", process)
        (running,) = crawls_json(tmp_path)
        assert (running["state"], running["finish_reason"], running["finished_at"]) == ("running", None, None)
        assert running["seeds"] == [linked_site]
        wait_for_pages(tmp_path, set(), process, 2)  # then killed with pages (and WARC records) written
    finally:
        kill_group(process)  # kill -9: no manifest, the WARC left .open
    (crawl,) = crawl_dirs(tmp_path)
    (killed,) = crawls_json(tmp_path)
    assert (killed["state"], killed["finish_reason"], killed["finished_at"]) == ("interrupted", None, None)
    assert killed["pages"] == (crawl / "pages.jsonl").read_bytes().count(b"\n") >= 2
    assert killed["warc_bytes"] == sum(p.stat().st_size for p in crawl.glob("*.warc.gz.open")) > 0
    proc = run_scraper("crawls", "--archive", str(tmp_path))
    assert proc.stdout.splitlines()[1].split("\t")[1:4] == ["interrupted", killed["started_at"], "-"]


def test_crawls_of_an_empty_or_missing_archive(tmp_path: Path) -> None:
    proc = run_scraper("crawls", "--archive", str(tmp_path))
    assert (proc.returncode, proc.stdout) == (0, "") and "no crawls in" in proc.stderr
    assert run_scraper("crawls", "--json", "--archive", str(tmp_path)).stdout == ""
    assert_error_line(run_scraper("crawls", "--archive", str(tmp_path / "nothing")), 2, "no archive at")


# -- export's filters -------------------------------------------------------------------------------------------------
def exported(reading: Reading, *filters: str) -> list[dict[str, Any]]:
    proc = run_scraper("export", *filters, "--archive", str(reading.root), "-q")
    assert proc.returncode == 0, proc.stderr
    return [json.loads(line) for line in proc.stdout.splitlines()]


def test_export_filters_by_record_kind_and_status(reading: Reading) -> None:
    everything = exported(reading)
    responses = exported(reading, "--kind", "response")
    assert responses == [r for r in everything if r["record_kind"] == "response"] and len(responses) < len(everything)
    revisits = exported(reading, "--kind", "revisit", "--status", "2xx")
    assert sorted(r["url"] for r in revisits) == sorted([reading.url(name) for name in NOT_MODIFIED] * 2)
    assert [r["url"] for r in exported(reading, "--status", "404", "--status", "5xx")] == [reading.url("gone")]
    assert exported(reading, "--status", "304") == []  # a 304 is its original's 200 now
    # --latest after the filters: the newest response of the etag page is its first capture
    latest = [r for r in exported(reading, "--latest", "--kind", "response") if r["url"] == reading.url("etag")]
    assert [r["warc"] for r in latest] == [reading.history("etag")[0]["warc"]]
    # page_type, as the crawl's extraction gave it (null for what was not extracted, such as the 404)
    articles = exported(reading, "--page-type", "article")
    assert reading.url("edited") in {r["url"] for r in articles}
    assert articles == [r for r in everything if r.get("page_type") == "article"]
    assert exported(reading, "--page-type", "article", "--page-type", "listing", "--kind", "response") == [
        r for r in responses if r.get("page_type") in ("article", "listing")]
    for bad, message in [(["--status", "2x"], "--status: '2x' is not an HTTP status"),
                         (["--kind", "metadata"], "Invalid value for '--kind'"),
                         (["--page-type", "articles"], "Invalid value for '--page-type'")]:
        proc = run_scraper("export", *bad, "--archive", str(reading.root))
        assert proc.returncode == 2 and message in proc.stderr and proc.stdout == "", bad
