"""A page record and the 304 revisits of it, as the crawl builds them."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from scraper.extract.page import Article
from scraper.records import build_page_record, record_for_capture
from tests.unit.helpers.records import _capture

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
