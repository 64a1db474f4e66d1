"""interchange: one answer to "is this an HTML page?": the crawl's (Scrapy's HtmlResponse) is every reader's."""

from __future__ import annotations

import pytest
from scrapy.http import HtmlResponse
from scrapy.responsetypes import responsetypes

from scraper.interchange import is_replayable_page

TYPES = ["text/html", "application/xhtml+xml", "application/vnd.wap.xhtml+xml", "application/xml",
         "application/rss+xml", "text/plain", "application/json", "image/png", "application/pdf"]


@pytest.mark.parametrize("content_type", TYPES)
def test_a_page_the_crawl_extracts_is_a_page_of_the_wacz(content_type: str) -> None:
    extracted_by_the_crawl = issubclass(responsetypes.from_mimetype(content_type), HtmlResponse)
    record = {"status": 200, "content_type": content_type, "title": "A title", "text": "Some text.",
              "record_kind": "response"}
    assert is_replayable_page(record) == extracted_by_the_crawl
