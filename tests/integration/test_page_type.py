"""A section front crawled from a real local server: a listing, not an article with invented fields."""

from __future__ import annotations

import json
import re
from pathlib import Path

from jsonschema import Draft202012Validator

from tests.conftest import FAST, assert_valid_records, crawl_dirs, read_jsonl, run_scraper
from tests.site import PAGES_DIR, LivePage, Site, expected_for, golden_pages
from tests.unit.extract.test_page_type import BORDERLINE

LISTING_DIR = PAGES_DIR / "gazette-sport-front"


def collapse(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def test_section_front_is_recorded_as_a_listing_and_an_article_as_an_article(
        site: Site, tmp_path: Path, record_validator: Draft202012Validator) -> None:
    expected = json.loads((LISTING_DIR / "expected.json").read_text(encoding="utf-8"))
    # The hand-written section front; its teasers link to /sport/2026/11/01/... and carry <time>s and bylines.
    site.live["sport/"] = LivePage((LISTING_DIR / "listing.html").read_bytes())
    name = next(n for n in golden_pages() if expected_for(n)["source"] == "trafilatura-eval")
    listing_url, article_url = site.url("/live/sport/"), site.url(f"/articles/{name}.html")
    proc = run_scraper("crawl", listing_url, article_url, "--archive", str(tmp_path), *FAST)
    assert proc.returncode == 0, proc.stderr
    (crawl,) = crawl_dirs(tmp_path)
    records = {r["url"]: r for r in read_jsonl(crawl / "pages.jsonl")}
    assert_valid_records(record_validator, list(records.values()))

    listing = records[listing_url]
    assert listing["page_type"] == "listing"
    assert listing["published"] is None and listing["modified"] is None and listing["authors"] == []
    assert listing["title"] == "Sport" and listing["extractor"] is not None
    text = collapse(listing["text"])
    # The headlines and teasers of the main list; the introduction and the secondary list are borderline for
    # the block model (tests/unit/extract/test_page_type.py, BORDERLINE).
    items = [s for s in expected["with"] if s not in BORDERLINE]
    assert len(items) == len(expected["with"]) - len(BORDERLINE)
    assert all(collapse(s) in text for s in items), text
    kept = [s for s in expected["without"] if collapse(s) in text]  # navigation, header, sidebar, footer
    assert not kept, f"chrome in the listing's text: {kept}"

    article = records[article_url]
    assert article["page_type"] == "article"
    assert article["published"][:10] == expected_for(name)["date"]
    assert article["authors"] == [expected_for(name)["author"]]
