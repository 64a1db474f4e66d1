"""storage.rebuild: when a missing catalog matters."""

from __future__ import annotations

import json
from pathlib import Path

from scraper.storage.catalog import CatalogMissing
from scraper.storage.layout import lock_crawl
from scraper.storage.rebuild import catalog_gap


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
