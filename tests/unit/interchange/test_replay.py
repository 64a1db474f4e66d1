"""interchange.replay: what `scraper replay` offers to open first."""

from __future__ import annotations

import json
from pathlib import Path

from scraper.interchange.replay import newest_page
from scraper.storage.layout import CrawlLayout
from tests.unit.helpers.records import sample_records

CRAWL_ID = "20260101T000000Z-abcdef"


def test_the_page_to_open_is_found_in_a_workers_page_file(tmp_path: Path) -> None:
    """A crawl shared by workers has their page files, and perhaps no pages.jsonl (issue 17)."""
    layout = CrawlLayout(tmp_path, CRAWL_ID)
    layout.directory.mkdir(parents=True)
    page, pdf, _ = sample_records(CRAWL_ID)
    layout.worker_pages_path("w1").write_text(json.dumps(pdf) + "\n", encoding="utf-8")  # no page to open
    layout.worker_pages_path("w2").write_text(json.dumps(page) + "\n", encoding="utf-8")
    assert newest_page(tmp_path) == ("20260101120000", page["url"])
