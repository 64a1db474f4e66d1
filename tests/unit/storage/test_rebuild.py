"""storage.rebuild: when a missing catalog matters, and where a crawl's page records are read."""

from __future__ import annotations

import json
from pathlib import Path

from scraper.storage.catalog import CatalogMissing
from scraper.storage.layout import CrawlLayout, lock_crawl
from scraper.storage.rebuild import catalog_gap, iter_entries, read_crawl
from tests.unit.helpers.records import sample_records


def crawl(root: Path, name: str, *, manifest: bool, pages: bool) -> Path:
    folder = root / "crawls" / name
    folder.mkdir(parents=True)
    if manifest:
        (folder / "manifest.json").write_text(json.dumps({"finish_reason": "finished"}))
    (folder / "pages.jsonl").write_text('{"url": "http://a.test/"}\n' if pages else "")
    return folder


def test_a_missing_catalog_matters_only_to_crawls_that_ended_with_pages(tmp_path: Path) -> None:
    crawl(tmp_path, "20260301T120000Z-000001", manifest=False, pages=True)  # killed: its resume adds its rows
    crawl(tmp_path, "20260301T120000Z-000002", manifest=True, pages=False)  # ended without a page
    assert catalog_gap(tmp_path) is None
    ended = crawl(tmp_path, "20260301T120000Z-000003", manifest=True, pages=True)
    gap = catalog_gap(tmp_path)
    assert isinstance(gap, CatalogMissing) and "is missing" in str(gap) and "1 crawl(s)" in str(gap)
    assert catalog_gap(tmp_path, exclude=ended.name) is None  # the crawl being resumed
    held = lock_crawl(ended)  # running, or resumed: still a crawl the catalog must know of
    assert catalog_gap(tmp_path) is not None
    held.close()
    assert not (tmp_path / "catalog.sqlite").exists()  # asked without making one
    (tmp_path / "catalog.sqlite").write_bytes(b"")
    gap = catalog_gap(tmp_path)
    assert gap is not None and "is empty" in str(gap)


def test_a_crawl_of_workers_is_read_from_every_workers_page_file(tmp_path: Path) -> None:
    """Issue 17: workers of one crawl write pages-<worker>.jsonl each, and perhaps no pages.jsonl."""
    layout = CrawlLayout(tmp_path, "20260301T120000Z-000004")
    layout.create({"manifest.json": {"finish_reason": "finished"}})
    assert catalog_gap(tmp_path) is None
    page, pdf, _ = sample_records(layout.crawl_id)
    other, _, _ = sample_records(layout.crawl_id, base=10)
    layout.worker_pages_path("w2").write_text(json.dumps(other) + "\n", encoding="utf-8")
    layout.worker_pages_path("w1").write_text(json.dumps(page) + "\n" + json.dumps(pdf) + "\n", encoding="utf-8")
    gap = catalog_gap(tmp_path)
    assert isinstance(gap, CatalogMissing) and "1 crawl(s)" in str(gap)
    entries = list(iter_entries(read_crawl(layout)))
    assert [json.loads(e.record_json)["warc"]["record_id"] for e in entries] == [
        r["warc"]["record_id"] for r in (page, pdf, other)]
