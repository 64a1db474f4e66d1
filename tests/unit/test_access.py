"""Pure rules behind issue 3: access signals, requisites, scope verdicts, Retry-After, CLI values."""

from __future__ import annotations

import gzip
from datetime import UTC, datetime

import pytest

from scraper.access import decode_for_sniffing, parse_meta_robots, parse_x_robots_tag, robots_txt_problem
from scraper.cli._common import ExitStatus, parse_duration, parse_size
from scraper.cli._crawl_run import exit_status
from scraper.crawl.politeness import parse_retry_after
from scraper.crawl.requisites import css_urls, html_requisites, srcset_urls
from scraper.scope import Scope, is_special_address, parse_resolve, registered_domain, strip_tracking, url_key


def test_x_robots_tag_applies_to_us_or_everyone() -> None:
    values = ["noindex, NOARCHIVE", "googlebot: nofollow", "scraper: noai", "unavailable_after: 2030-01-01"]
    assert parse_x_robots_tag(values) == ["noindex", "noarchive", "noai", "unavailable_after: 2030-01-01"]


def test_meta_robots_even_in_a_gzip_body() -> None:
    page = b"<html><head><meta name='ROBOTS' content='noarchive,noai'><meta name='googlebot' content='none'></head>"
    assert parse_meta_robots(decode_for_sniffing(gzip.compress(page), "gzip")) == ["noarchive", "noai"]
    assert decode_for_sniffing(b"not gzip at all", "gzip") == b""


@pytest.mark.parametrize(("body", "problem"), [
    (b"User-agent: *\nDisallow: /x\n", None),
    (b"", None),
    (b"<!DOCTYPE html><html><body>hi</body></html>", "an HTML page"),
    (b"\x00\x01\x02", "binary data"),
    (b"just some words\nand more words\n", "no 'field: value' lines"),
])
def test_robots_txt_problem(body: bytes, problem: str | None) -> None:
    assert robots_txt_problem(body, "text/plain") == problem


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


def test_tracking_parameters_are_not_part_of_the_key() -> None:
    assert strip_tracking("http://h.test/a?utm_source=x&id=3&fbclid=y&gclid=z") == "http://h.test/a?id=3"
    assert url_key("http://h.test/a?utm_medium=m&id=3") == url_key("http://h.test/a?id=3")


def test_scope_verdicts_name_the_rule() -> None:
    scope = Scope.for_seeds(["https://www.bbc.co.uk/news/world/story.html"], max_depth=2, mode="domain",
                            deny=[r"/sport/"], allow=[r"/news/"])
    assert scope.verdict("https://www.bbc.co.uk/news/uk", 1) is None
    assert scope.verdict("https://feeds.bbc.co.uk/news/x", 1) is None  # same registered domain
    assert scope.verdict("https://www.bbc.com/news/x", 1) == "scope:domain"
    assert scope.verdict("https://www.bbc.co.uk/news/sport/x", 1) == "deny"
    assert scope.verdict("https://www.bbc.co.uk/weather", 1) == "allow"
    assert scope.verdict("https://www.bbc.co.uk/news/uk", 3) == "depth"
    prefix = Scope.for_seeds(["https://h.test/news/world/story.html"], max_depth=1, mode="prefix")
    assert prefix.verdict("https://h.test/news/world/other", 1) is None
    assert prefix.verdict("https://h.test/news/other", 1) == "scope:prefix"
    assert registered_domain("127.0.0.1") == "127.0.0.1"


@pytest.mark.parametrize(("address", "special"), [
    ("127.0.0.1", True), ("10.1.2.3", True), ("192.168.0.1", True), ("169.254.1.1", True), ("224.0.0.1", True),
    ("::1", True), ("[fe80::1]", True), ("::ffff:10.0.0.1", True), ("93.184.216.34", False),
    ("2606:2800:220:1:248:1893:25c8:1946", False), ("example.com", False),
])
def test_special_addresses(address: str, special: bool) -> None:
    assert is_special_address(address) is special


def test_retry_after_seconds_or_http_date() -> None:
    now = datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC).timestamp()
    assert parse_retry_after("120", now) == 120
    assert parse_retry_after("Thu, 01 Jan 2026 12:00:30 GMT", now) == 30
    assert parse_retry_after("Thu, 01 Jan 2026 11:00:00 GMT", now) == 0
    assert parse_retry_after("soon", now) is None


def test_cli_values() -> None:
    assert parse_size("1G") == 1024**3 and parse_size("500K") == 500 * 1024 and parse_size("12") == 12
    assert parse_duration("90s") == 90 and parse_duration("2h") == 7200 and parse_duration("3") == 3
    assert parse_resolve(["a.test:127.0.0.1", "B.test:[::1]"]) == {"a.test": "127.0.0.1", "b.test": "::1"}
    with pytest.raises(ValueError):
        parse_resolve(["nocolon"])


def test_exit_status() -> None:
    assert exit_status({"finish_reason": "finished", "counts": {"pages": 3, "errors": {}}}) == ExitStatus.OK
    assert exit_status({"finish_reason": "finished", "counts": {"pages": 3, "pages_failed": 1}}) == 1
    assert exit_status({"finish_reason": "shutdown", "counts": {"pages": 3}}) == 130
    # nothing archived because nothing was new since --since: not a failure
    assert exit_status({"finish_reason": "finished", "counts": {"pages": 0, "errors": {}}, "warnings": []}) == 0
    assert exit_status({"finish_reason": "finished", "counts": {"pages": 0, "robots_denied": 1}}) == 1
