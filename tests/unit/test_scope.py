"""seeds and scope: seed lists, URL validation, canonical keys, the crawl scope."""

from __future__ import annotations

import pytest

from scraper.scope import Scope, url_key
from scraper.seeds import InvalidSeed, dedupe_seeds, parse_seed_lines, validate_url


def test_seed_lines_skip_comments_blanks_and_bom() -> None:
    lines = ["\ufeff# my seeds\r\n", "https://a.test/1\r\n", "\n", "   \n", "https://a.test/2#frag  # note\n",
             "  http://b.test/x?q=1  \n"]
    assert parse_seed_lines(lines) == ["https://a.test/1", "https://a.test/2#frag", "http://b.test/x?q=1"]


@pytest.mark.parametrize(("raw", "message"), [
    ("example.com/page", "http:// or https://"),
    ("ftp://example.com/file", "scheme 'ftp'"),
    ("javascript:alert(1)", "http:// or https://"),
    ("http://", "no host"),
    ("http://exa mple.com/", "white space"),
    ("http://example.com:99999/", "invalid URL"),
])
def test_invalid_urls_are_named(raw: str, message: str) -> None:
    with pytest.raises(InvalidSeed, match=message.replace("?", r"\?")):
        validate_url(raw)


def test_bad_line_is_reported_with_its_number() -> None:
    with pytest.raises(InvalidSeed, match="line 3"):
        parse_seed_lines(["https://a.test/", "# c", "not a url"])


def test_url_key_normalises_what_does_not_change_the_page() -> None:
    assert url_key("http://A.test:80/p?b=2&a=1#top") == url_key("http://a.test/p?a=1&b=2")
    assert url_key("http://a.test/caf%c3%a9") == url_key("http://a.test/caf%C3%A9")
    assert url_key("http://a.test/p?a=1") != url_key("http://a.test/p?a=2")


def test_dedupe_keeps_first_spelling() -> None:
    assert dedupe_seeds(["http://a.test/p#x", "http://a.test/p", "http://a.test/q"]) == [
        "http://a.test/p#x", "http://a.test/q"]


def test_scope_same_host_within_depth() -> None:
    scope = Scope.for_seeds(["http://a.test/start"], max_depth=1)
    assert scope.allows("http://a.test/other", 1)
    assert not scope.allows("http://a.test/other", 2)
    assert not scope.allows("http://b.test/other", 1)
    assert not scope.allows("mailto:x@a.test", 1)
