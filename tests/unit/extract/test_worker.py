"""extract.worker: what an extraction worker gives back for a page."""

from __future__ import annotations

from scraper.extract.page import ExtractionOptions, extract_page
from scraper.extract.worker import extract_for_record
from scraper.records import fingerprint_text, simhash, word_count
from tests.unit.helpers.pages import PAGES


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
