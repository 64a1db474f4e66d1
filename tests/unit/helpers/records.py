"""Sample page records as the crawl writes them (a page, a PDF, a revisit), for the readers' tests."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from scraper.extract.page import Article
from scraper.extract.product import Product
from scraper.records import (
    Capture,
    WarcPointer,
    build_page_record,
    record_for_capture,
)


# -- sample records --------------------------------------------------------------------------------------------------
def _capture(n: int, url: str, fetched: datetime, **changes: Any) -> Capture:
    capture = Capture(requested_url=url, url=url, status=200, content_type="text/html; charset=utf-8",
                      fetched_at=fetched, payload_digest="sha1:" + "A" * 32,
                      warc=WarcPointer(file="scraper-20260101000000000-00001-h.warc.gz", offset=100 * n, length=90,
                                       record_id=f"<urn:uuid:00000000-0000-0000-0000-{n:012d}>"))
    return replace(capture, **changes)


ARTICLE = Article(text="First line, with a comma and \"quotes\".\nZoë — “second” line; a;b", markdown="# Hi\n\nBody",
                  title="A title, with commas", authors=["Doe, Jane", "O'Brien; Pat"], published="2024-03-01",
                  modified="2024-03-02T10:00:00+01:00", site_name="Site", description="About it", language="en",
                  canonical_url="https://example.com/a", image="https://example.com/a.png", tags=["x", "y"],
                  categories=["News"], page_type="product", page_type_confidence=0.875,
                  product=Product(name="Harbour map", brand="Acme, Inc.", sku="HM-1", price="19.99", currency="EUR",
                                  availability="InStock", rating="4.5", review_count=12))
# The extractor of a record written now (records.current_extractor's keys): every column of the schema gets a value.
EXTRACTOR = {"name": "scraper", "version": "2.0", "model": "0123456789ab", "trafilatura": "2.3.1"}


def sample_records(crawl_id: str = "20260101T000000Z-abcdef", base: int = 1,
                   day: int = 1) -> list[dict[str, Any]]:
    """A page, a PDF without article, and a revisit of the page with a version history."""
    moment = datetime(2026, 1, day, 12, 0, tzinfo=UTC)
    page = build_page_record(crawl_id, _capture(base, "https://www.example.com/a?b=1", moment), ARTICLE,
                             EXTRACTOR)
    pdf = build_page_record(crawl_id, _capture(base + 1, "https://example.org/r.pdf", moment,
                                               content_type="application/pdf", redirects=[]), None, None)
    refers = {"record_id": page.warc.record_id, "warc_date": "2026-01-01T12:00:00.000000Z", "target_uri": page.url,
              "crawl_id": crawl_id, "file": page.warc.file, "offset": page.warc.offset, "length": 90}
    revisit = record_for_capture(crawl_id, _capture(base + 2, page.url, moment.replace(hour=13),
                                                    record_kind="revisit", revisit_profile="identical-payload-digest",
                                                    refers_to=refers, redirects=["https://www.example.com/old",
                                                                                 "https://www.example.com/a?b=1"]),
                                 None, {**EXTRACTOR, "version": "9.9"}, previous=page.to_dict())
    return [page.to_dict(), pdf.to_dict(), revisit.to_dict()]
