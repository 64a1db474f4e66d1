"""records: the PageRecord contract and its renderings."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from jsonschema import Draft202012Validator

from scraper.extract.page import Article
from scraper.records import (
    Capture,
    WarcPointer,
    build_page_record,
    mime_type,
    render_markdown,
    text_sha256,
    utc_timestamp,
    word_count,
)
from tests.conftest import assert_valid_records

CRAWL_ID = "20240301T123045Z-abcdef"
POINTER = WarcPointer(file="scraper-20240301123045123-00001-h.warc.gz", offset=123, length=456,
                      record_id="<urn:uuid:12345678-1234-1234-1234-123456789abc>")


def capture(**overrides: object) -> Capture:
    fields: dict[str, object] = dict(
        requested_url="http://example.test/r", url="http://example.test/a",
        status=200, content_type="text/html; charset=UTF-8",
        fetched_at=datetime(2024, 3, 1, 14, 30, 45, tzinfo=timezone(timedelta(hours=2))),
        payload_digest="sha1:UPE7SFSL2X75ZIU4UI2WCCVS7MVVVMAK", warc=POINTER, depth=1,
        referrer="http://example.test/", redirects=["http://example.test/r"],
    )
    fields.update(overrides)
    return Capture(**fields)  # type: ignore[arg-type]


ARTICLE = Article(text="First paragraph here.\nSecond one.", markdown="## Head\n\nFirst paragraph here.",
                  title="A title", authors=["Jane Doe", "John Roe"], published="2014-01-10T23:30:00+04:00",
                  language="en", canonical_url="https://example.test/canonical", tags=["x"])


def test_record_from_article_validates(record_validator: Draft202012Validator) -> None:
    record = build_page_record(CRAWL_ID, capture(), ARTICLE, {"name": "trafilatura", "version": "2.3.1"}).to_dict()
    assert_valid_records(record_validator, [record])
    assert record["fetched_at"] == "2024-03-01T12:30:45Z"  # UTC
    assert record["published"] == "2014-01-10T23:30:00+04:00"  # the page's own offset
    assert record["content_type"] == "text/html"
    assert record["word_count"] == 5
    assert record["text_sha256"] == text_sha256(ARTICLE.text)
    assert record["warc"] == {"file": POINTER.file, "offset": 123, "length": 456, "record_id": POINTER.record_id}


def test_record_without_article_uses_null_not_empty(record_validator: Draft202012Validator) -> None:
    record = build_page_record(CRAWL_ID, capture(content_type="application/pdf", redirects=[]), None,
                               {"name": "trafilatura", "version": "2.3.1"}).to_dict()
    assert_valid_records(record_validator, [record])
    assert record["extractor"] is None and record["text"] is None and record["title"] is None
    assert record["authors"] == [] and record["word_count"] == 0
    assert "" not in [v for v in record.values() if isinstance(v, str)]


def test_schema_rejects_what_the_contract_forbids(record_validator: Draft202012Validator) -> None:
    good = build_page_record(CRAWL_ID, capture(), ARTICLE, {"name": "t", "version": "1"}).to_dict()
    for key, bad in [("title", ""), ("fetched_at", "2024-03-01T12:30:45+00:00"), ("language", "English"),
                     ("authors", "Jane Doe"), ("published", "10/01/2014"), ("url", "/relative")]:
        assert not record_validator.is_valid({**good, key: bad}), key


def test_markdown_document_form() -> None:
    record = build_page_record(CRAWL_ID, capture(), ARTICLE, {"name": "t", "version": "1"}).to_dict()
    lines = render_markdown(record).splitlines()
    assert lines[0] == "# A title"
    assert "By Jane Doe and John Roe" in lines
    assert any(line.startswith("Published 2014-01-10") for line in lines)
    assert "## Head" in lines
    assert lines[-1] == "Original url: http://example.test/a"


def test_small_helpers() -> None:
    assert mime_type("Text/HTML; charset=utf-8") == "text/html" and mime_type("") is None
    assert word_count("Hello, world—again") == 3 and word_count(None) == 0
    assert utc_timestamp(datetime(2024, 1, 1, 0, 30, tzinfo=timezone(timedelta(hours=1)))) == "2023-12-31T23:30:00Z"
    assert utc_timestamp(datetime(2024, 1, 1, tzinfo=UTC)).endswith("Z")


def test_markdown_does_not_repeat_the_headline() -> None:
    article = Article(text="A title\nBody.", markdown="# A title\n\nBody.", title="A title")
    record = build_page_record(CRAWL_ID, capture(), article, {"name": "t", "version": "1"}).to_dict()
    assert render_markdown(record).count("A title") == 1
