"""crawl.items: what the capture middleware hands on, and how the catalog files it for the next revisit."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from scraper.access import AccessSignals
from scraper.crawl.items import Archived, refers_to_of
from scraper.records import WarcPointer
from scraper.storage.catalog import Catalog, NewCapture

CRAWL_ID = "20260301T120000Z-abcdef"
URL = "http://a.test/p"
POINTER = WarcPointer(file="scraper-20260301120000000-00001-h.warc.gz", offset=1234, length=567,
                      record_id="<urn:uuid:0f0f0f0f-0000-0000-0000-000000000001>")


def archived(**overrides: Any) -> Archived:
    fields: dict[str, Any] = dict(
        warc=POINTER, payload_digest="sha1:AAAA", fetched_at=datetime(2026, 3, 1, 12, 0, tzinfo=UTC),
        warc_date="2026-03-01T12:00:00.000000Z", truncated=False, revisit_profile=None, refers_to=None,
        previous=None, access=AccessSignals(), etag='"e1"', last_modified=None)
    fields.update(overrides)
    return Archived(**fields)


def page_record(status: int, kind: str) -> dict[str, Any]:
    return {"crawl_id": CRAWL_ID, "requested_url": URL, "url": URL, "status": status,
            "fetched_at": "2026-03-01T12:00:00Z", "record_kind": kind, "revisit_profile": None,
            "payload_digest": "sha1:AAAA", "text_sha256": None, "version": None, "changed_fields": [],
            "warc": {"file": POINTER.file, "offset": POINTER.offset, "length": POINTER.length,
                     "record_id": POINTER.record_id}}


def test_a_response_is_its_own_original_and_a_failure_has_none() -> None:
    response = archived()
    assert response.record_kind == "response"
    assert response.catalog_original(CRAWL_ID, URL, 200) == {
        "record_id": POINTER.record_id, "warc_date": "2026-03-01T12:00:00.000000Z", "target_uri": URL,
        "crawl_id": CRAWL_ID, "file": POINTER.file, "offset": POINTER.offset, "length": POINTER.length}
    assert response.catalog_original(CRAWL_ID, URL, 404) == {}  # no payload a later revisit could refer to


def test_a_revisit_files_the_original_it_refers_to() -> None:
    earlier = {"record_id": "<urn:uuid:1>", "warc_date": "2026-02-01T00:00:00.000000Z", "target_uri": URL,
               "crawl_id": "20260201T000000Z-aaaaaa", "file": "old.warc.gz", "offset": 0, "length": 9}
    revisit = archived(revisit_profile="server-not-modified", refers_to=earlier)
    assert revisit.record_kind == "revisit"
    assert revisit.catalog_original(CRAWL_ID, URL, 304) == earlier  # the 304's own record holds no payload


def test_what_the_catalog_files_is_what_the_next_revisit_refers_to(tmp_path: Path) -> None:
    """Filed under the catalog's column names, read back as the next crawl's previous capture: one shape."""
    catalog = Catalog.open(tmp_path)
    response = archived()
    original = response.catalog_original(CRAWL_ID, URL, 200)
    catalog.add_captures([NewCapture(URL, page_record(200, "response"), etag=response.etag, last_modified=None,
                                     warc_date=response.warc_date, original=original)])
    catalog.commit_crawl(CRAWL_ID)
    previous = catalog.previous_capture(URL)
    assert previous is not None
    assert refers_to_of(previous) == original
    assert list(refers_to_of(previous)) == list(original)  # the page record's key order too
    # and a revisit of that revisit still refers to the response that holds the payload
    revisit = archived(revisit_profile="identical-payload-digest", refers_to=refers_to_of(previous))
    assert revisit.catalog_original(CRAWL_ID, URL, 200) == original
    catalog.close()
