"""crawl.middlewares: the redirects the crawl does not follow."""

from __future__ import annotations

import pytest
from scrapy.http import Response

from scraper.crawl.middlewares import unfollowable_redirect


@pytest.mark.parametrize(("location", "problem"), [
    (None, "without a Location header"),
    ("javascript:alert(1)", "to 'javascript:alert(1)', which is not an http(s) URL"),
    ("ftp://host/file", "to 'ftp://host/file', which is not an http(s) URL"),
    ("http://[::1/x", "to 'http://[::1/x', which is not a valid URL (Invalid IPv6 URL)"),
    ("http://host:99999/", "to 'http://host:99999/', which is not a valid URL (Port out of range 0-65535)"),
    ("/next", None),
    ("//cdn.example.com/x", None),
    ("https://example.com/", None),
])
def test_unfollowable_redirect(location: str | None, problem: str | None) -> None:
    headers = {"Location": location} if location is not None else {}
    response = Response("http://example.com/a", status=302, headers=headers)
    assert unfollowable_redirect(response) == problem
