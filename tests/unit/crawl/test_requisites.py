"""crawl.requisites: what a page needs to be rendered (images, styles, scripts)."""

from __future__ import annotations

from scraper.crawl.requisites import css_urls, html_requisites, srcset_urls


def test_html_requisites_in_document_order() -> None:
    html = """<html><head><base href="/assets/"><link rel="stylesheet" href="a.css"><link rel="alternate" href="f.rss">
    <style>@import 'b.css'; .x{background:url(bg.png)}</style><script src="/j.js"></script></head><body>
    <img src="i.png" srcset="i-1x.png 1x, i-2x.png 2x"><video poster="p.jpg"><source src="v.mp4"></video>
    <div style="background-image:url('d.png')"></div><img src="data:image/png;base64,AAA"><a href="/page">x</a>
    </body></html>"""
    assert html_requisites(html, "http://h.test/dir/page.html") == [
        "http://h.test/assets/a.css", "http://h.test/assets/b.css", "http://h.test/assets/bg.png",
        "http://h.test/j.js", "http://h.test/assets/i.png", "http://h.test/assets/i-1x.png",
        "http://h.test/assets/i-2x.png", "http://h.test/assets/p.jpg", "http://h.test/assets/v.mp4",
        "http://h.test/assets/d.png"]


def test_css_urls_and_srcset() -> None:
    css = "@import url('x.css'); @font-face{src:url(f.woff2) format('woff2')} /* url(no.png) */ a{b:url(\"c.png\")}"
    assert css_urls(css, "http://h.test/s/site.css") == [
        "http://h.test/s/x.css", "http://h.test/s/f.woff2", "http://h.test/s/c.png"]
    assert srcset_urls("a.jpg 480w, b.jpg 800w") == ["a.jpg", "b.jpg"]
