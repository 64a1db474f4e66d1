"""The crawl process's cheap link reading, and what the extraction worker hands back.

Pages: tests/fixtures/pages (real articles; see that folder's README for their sources).
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from scrapy.http import HtmlResponse

from scraper.crawl.links import anchor_hrefs
from scraper.extract.page import ExtractionOptions, extract_page
from scraper.extract.worker import extract_for_record
from scraper.records import Capture, WarcPointer, build_page_record, fingerprint_text, simhash, word_count

PAGES = Path(__file__).resolve().parents[2] / "fixtures" / "pages"
PAGE_NAMES = sorted(p.name for p in PAGES.iterdir() if (p / "page.html").is_file())


@pytest.mark.parametrize("name", PAGE_NAMES)
def test_anchor_hrefs_read_what_a_scrapy_selector_reads(name: str) -> None:
    html = (PAGES / name / "page.html").read_bytes()
    response = HtmlResponse("https://example.test/a/b", body=html, encoding="utf-8")
    expected = [href.strip() for href in response.xpath("//a/@href").getall()]
    assert len(expected) > 20
    assert anchor_hrefs(response.text) == expected


def test_anchor_hrefs_on_awkward_markup() -> None:
    html = ("<p><a href='  /spaced  '>x</a><!-- <a href='/commented'> --><A HREF=upper>y</A>"
            "<a name=no-href>z</a><a href=''>empty</a><script>var s = '<a href=\"/in-script\">';</script>")
    assert anchor_hrefs(html) == ["/spaced", "upper", ""]
    assert anchor_hrefs("") == [] and anchor_hrefs("   ") == [] and anchor_hrefs("no markup at all") == []


def test_the_worker_returns_the_article_and_its_fingerprint() -> None:
    html = (PAGES / "wired-ai" / "page.html").read_text(encoding="utf-8")
    url = "https://www.wired.com/story/artificial-intelligence-confusing/"
    extracted = extract_for_record(html, url, ExtractionOptions())
    assert extracted.article == extract_page(html, url)
    assert extracted.article is not None and extracted.article.text
    assert extracted.fingerprint == fingerprint_text(extracted.article.text)
    assert extracted.fingerprint.word_count == word_count(extracted.article.text) > 100
    assert extracted.fingerprint.simhash == simhash(extracted.article.text)
    assert extract_for_record(b"", url, ExtractionOptions()).fingerprint is None


def test_a_record_built_with_a_fingerprint_equals_one_built_without() -> None:
    html = (PAGES / "flowfx-tmux" / "page.html").read_text(encoding="utf-8")
    extracted = extract_for_record(html, "https://flowfx.de/blog/tmux/", ExtractionOptions())
    capture = Capture(requested_url="https://flowfx.de/blog/tmux/", url="https://flowfx.de/blog/tmux/", status=200,
                      content_type="text/html", fetched_at=datetime(2026, 1, 1, tzinfo=UTC),
                      payload_digest="sha1:X", warc=WarcPointer(file="f", offset=0, length=1, record_id="<urn:x>"))
    with_fp = build_page_record("c", capture, extracted.article, None, fingerprint=extracted.fingerprint)
    without = build_page_record("c", capture, extracted.article, None)
    assert with_fp == without and with_fp.text_simhash is not None and with_fp.word_count > 0
