"""crawl.links: the crawl process's cheap link reading, against what a Scrapy selector reads.

Pages: tests/fixtures/pages (real articles; see that folder's README for their sources)."""

from __future__ import annotations

import pytest
from scrapy.http import HtmlResponse

from scraper.crawl.links import anchor_hrefs
from tests.unit.helpers.pages import PAGES

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
