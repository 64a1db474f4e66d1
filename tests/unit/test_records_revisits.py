"""records: what a revisit's record says (its original's content, status and version)."""

from __future__ import annotations

from dataclasses import replace

from hypothesis import given
from hypothesis import strategies as st
from jsonschema import Draft202012Validator

from scraper.article import Article
from scraper.records import (
    Capture,
    build_page_record,
    capture_from_record,
    current_extractor,
    record_for_capture,
)
from tests.conftest import assert_valid_records
from tests.unit.helpers.records import _capture, sample_records
from tests.unit.helpers.revisits import CRAWL_ID, EXTRACTOR, MOMENT, not_modified, original, refers_to
from tests.unit.helpers.strategies import FEW, articles, captures, crawl_ids


def test_a_revisit_takes_its_previous_content_unless_its_original_was_extracted() -> None:
    page, _pdf, revisit = sample_records()
    capture = capture_from_record(revisit)
    copied = record_for_capture(revisit["crawl_id"], capture, None, {"name": "t", "version": "new"}, previous=page)
    assert copied.text == page["text"] and copied.extractor == page["extractor"]
    fresh = Article(text="Extracted again from the original payload, with a better extractor.", title="New")
    again = record_for_capture(revisit["crawl_id"], capture, fresh, {"name": "t", "version": "new"}, previous=page)
    assert again.text == fresh.text and again.extractor == {"name": "t", "version": "new"}
    assert again.version == 2 and again.changed_fields == ["text", "title", "authors", "published", "modified"]


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


@FEW
@given(captures(), st.data())
def test_a_revisit_keeps_the_content_and_version_of_what_it_revisits(capture: Capture, data: st.DataObject) -> None:
    first = build_page_record(data.draw(crawl_ids), capture, data.draw(articles(capture.url)),
                              current_extractor()).to_dict()
    revisit = record_for_capture(data.draw(crawl_ids), replace(capture, record_kind="revisit"), None, None,
                                 previous=first).to_dict()
    for name in ("text", "title", "authors", "published", "modified", "text_sha256", "text_simhash", "word_count"):
        assert revisit[name] == first[name], name
    assert revisit["version"] == first["version"]
    assert revisit["changed_fields"] == []
