"""storage.lookup: which record of a URL is in effect, with or without the catalog."""

from __future__ import annotations

from pathlib import Path

from scraper.records import build_page_record
from scraper.storage.jsonl import dumps_line
from scraper.storage.lookup import record_in_effect, url_records
from tests.unit.helpers.records import _capture
from tests.unit.helpers.revisits import ARTICLE, CRAWL_ID, EXTRACTOR, MOMENT, not_modified, original


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
