"""Issue 13: what `show`, `diff` and `export` read out of records: the status of a 304 revisit, export's
filters, the capture in effect at a time, and the difference between two versions."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from scraper.cli.rearchive import version_diff
from scraper.export import Selection, parse_until, select_crawls, selected_records, status_matcher
from scraper.extract.page import Article
from scraper.records import build_page_record, record_for_capture
from scraper.storage.jsonl import dumps_line
from scraper.storage.lookup import record_in_effect, url_records
from tests.conftest import assert_valid_records
from tests.unit.test_export import _capture

EXTRACTOR = {"name": "trafilatura", "version": "2.3.1"}
CRAWL_ID = "20260101T000000Z-abcdef"
MOMENT = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
ARTICLE = Article(page_type="article", title="Ferry timetable", text="The winter timetable starts on Monday.",
                  authors=["Ann Writer"])


def original() -> dict[str, Any]:
    return build_page_record(CRAWL_ID, _capture(1, "https://example.com/a", MOMENT), ARTICLE, EXTRACTOR).to_dict()


def refers_to(page: dict[str, Any]) -> dict[str, Any]:
    return {"record_id": page["warc"]["record_id"], "warc_date": "2026-01-01T12:00:00.000000Z",
            "target_uri": page["url"], "crawl_id": CRAWL_ID, "file": page["warc"]["file"],
            "offset": page["warc"]["offset"], "length": page["warc"]["length"]}


def not_modified(page: dict[str, Any], n: int = 2) -> dict[str, Any]:
    """The record of a 304 answer to a conditional request, as the crawl builds it: status 304, no Content-Type."""
    capture = _capture(n, page["url"], MOMENT.replace(hour=12 + n), status=304, content_type=None,
                       record_kind="revisit", revisit_profile="server-not-modified", refers_to=refers_to(page))
    return record_for_capture(CRAWL_ID, capture, None, EXTRACTOR, previous=page).to_dict()


# -- a revisit after a 304 --------------------------------------------------------------------------------------------
def test_a_not_modified_revisit_reports_its_originals_status_and_type(
        record_validator: Draft202012Validator) -> None:
    page = original()
    revisit = not_modified(page)
    assert (revisit["status"], revisit["content_type"]) == (200, "text/html")
    assert (revisit["record_kind"], revisit["revisit_profile"]) == ("revisit", "server-not-modified")
    assert revisit["text"] == page["text"] and revisit["version"] == 1
    # a 304 after that revisit: the revisit is the previous capture now, and says the same
    again = not_modified(revisit, 3)
    assert (again["status"], again["content_type"], again["version"]) == (200, "text/html", 1)
    # a PDF's 304 stays a PDF; a revisit with an identical payload keeps the status it was sent with
    pdf = build_page_record(CRAWL_ID, _capture(4, "https://example.com/r.pdf", MOMENT, content_type="application/pdf"),
                            None, None).to_dict()
    assert (not_modified(pdf, 5)["status"], not_modified(pdf, 5)["content_type"]) == (200, "application/pdf")
    same = record_for_capture(CRAWL_ID, _capture(6, page["url"], MOMENT.replace(hour=18), status=203,
                                                 record_kind="revisit", revisit_profile="identical-payload-digest",
                                                 refers_to=refers_to(page)), None, EXTRACTOR, previous=page).to_dict()
    assert same["status"] == 203
    assert_valid_records(record_validator, [revisit, again, not_modified(pdf, 5), same])


# -- export's filters -------------------------------------------------------------------------------------------------
def test_status_matches_numbers_and_classes() -> None:
    match = status_matcher(["404", "2xx", " 3XX "])
    assert [s for s in (200, 204, 299, 301, 304, 400, 404, 410, 500) if match(s)] == [200, 204, 299, 301, 304, 404]
    for bad in ["2x", "600", "6xx", "20", "abc", "", "2xx0"]:
        with pytest.raises(ValueError, match="is not an HTTP status"):
            status_matcher([bad])


def test_export_filters_by_kind_status_and_page_type(tmp_path: Path) -> None:
    page = original()
    revisit = not_modified(page)
    gone = build_page_record(CRAWL_ID, _capture(7, "https://example.com/gone", MOMENT, status=404), None,
                             None).to_dict()
    # page_type: "article", "listing", "other", null when not extracted, absent in records written before it
    listing = build_page_record(CRAWL_ID, _capture(8, "https://example.com/news/", MOMENT),
                                replace(ARTICLE, page_type="listing"), EXTRACTOR).to_dict()
    older = {name: value for name, value in page.items() if name != "page_type"}
    assert (page["page_type"], revisit["page_type"], gone["page_type"]) == ("article", "article", None)
    records = [page, revisit, gone, listing, older]
    folder = tmp_path / "crawls" / CRAWL_ID
    folder.mkdir(parents=True)
    (folder / "pages.jsonl").write_text("".join(dumps_line(r) for r in records), encoding="utf-8")
    crawls = select_crawls(tmp_path)

    def picked(**filters: Any) -> list[int]:
        return [records.index(r) for r in selected_records(crawls, Selection(**filters))]

    assert picked() == [0, 1, 2, 3, 4]
    assert picked(record_kind="response") == [0, 2, 3, 4]  # no revisits
    assert picked(record_kind="revisit") == [1]
    assert picked(status=status_matcher(["200"])) == [0, 1, 3, 4]  # the 304's revisit is its original's 200
    assert picked(status=status_matcher(["4xx"])) == [2]
    assert picked(page_types=frozenset({"article"})) == [0, 1]
    assert picked(page_types=frozenset({"article", "listing"}), record_kind="response") == [0, 3]
    # --latest picks among the records the filters keep: the newest response of the page, not its revisit
    def newest(**filters: Any) -> list[dict[str, Any]]:
        return list(selected_records(crawls, Selection(latest=True, status=status_matcher(["2xx"]), **filters)))

    assert [r["record_kind"] for r in newest() if r["url"] == page["url"]] == ["revisit"]
    assert [r["warc"]["record_id"] for r in newest(record_kind="response")] == [
        listing["warc"]["record_id"], page["warc"]["record_id"]]


# -- show --at, diff --------------------------------------------------------------------------------------------------
def test_at_a_date_means_the_whole_day_and_a_time_that_moment() -> None:
    assert parse_until("2026-03-01") == "2026-03-01T23:59:59Z"
    assert parse_until("2026-03-01T12:30:00Z") == "2026-03-01T12:30:00Z"
    assert parse_until("2026-03-01T12:30") == "2026-03-01T12:30:00Z"  # no offset: UTC
    assert parse_until("2026-03-01T00:30:00+02:00") == "2026-02-28T22:30:00Z"
    with pytest.raises(ValueError, match="invalid date"):
        parse_until("yesterday")


def test_the_record_in_effect_is_the_newest_with_content() -> None:
    page = original()
    revisit = not_modified(page)
    gone = {**page, "status": 404, "version": None, "fetched_at": "2026-01-01T20:00:00Z"}
    pdf = {**page, "version": None, "content_type": "application/pdf"}
    assert record_in_effect([page, revisit, gone]) is revisit  # a later 404 does not hide the page
    assert record_in_effect([pdf, gone]) is pdf  # without content: the newest 2xx
    assert record_in_effect([gone]) is gone and record_in_effect([]) is None


def test_records_of_an_archive_without_its_catalog_come_from_the_crawls_oldest_first(tmp_path: Path) -> None:
    page = original()
    later = {**not_modified(page), "crawl_id": "20260102T000000Z-bbbbbb"}
    other = build_page_record(CRAWL_ID, _capture(3, "https://example.com/b", MOMENT), ARTICLE, EXTRACTOR).to_dict()
    for crawl_id, records in [(CRAWL_ID, [page, other]), (later["crawl_id"], [later])]:
        folder = tmp_path / "crawls" / crawl_id
        folder.mkdir(parents=True)
        (folder / "pages.jsonl").write_text("".join(dumps_line(r) for r in records), encoding="utf-8")
    assert url_records(tmp_path, "https://example.com/a") == [page, later]
    assert url_records(tmp_path, "https://example.com/a?utm_source=x") == [page, later]  # the same page
    assert url_records(tmp_path, "https://example.com/c") == []


def test_version_diff_lists_what_changed() -> None:
    old = original()
    new = build_page_record(CRAWL_ID, replace(_capture(9, old["url"], MOMENT.replace(hour=20))),
                            replace(ARTICLE, title="Ferry timetable changed",
                                    text="The winter timetable starts on Tuesday."), EXTRACTOR,
                            previous=old).to_dict()
    changes = version_diff(old, new)
    assert changes.changed and changes.changed_fields == ["title", "text"]
    document = changes.to_json()
    assert document["from"] == {"version": 1, "fetched_at": old["fetched_at"], "crawl_id": CRAWL_ID,
                                "record_id": old["warc"]["record_id"]}
    assert document["to"]["version"] == 2 and document["changed"] is True
    assert document["fields"] == {"title": {"from": "Ferry timetable", "to": "Ferry timetable changed"}}
    assert document["text_diff"] == ["@@ -1 +1 @@", "-The winter timetable starts on Monday.",
                                     "+The winter timetable starts on Tuesday."]
    same = version_diff(old, old)
    assert not same.changed and same.to_json()["changed_fields"] == [] and same.to_json()["text_diff"] == []
