"""Issue 13: a URL typed without a scheme is taken as https:// (seeds.seed_url); validate_url stays strict."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scraper.seeds import InvalidSeed, parse_seed_lines, seed_url, validate_url


@pytest.mark.parametrize(("typed", "url"), [
    ("example.com/news/", "https://example.com/news/"),
    ("  www.example.com  ", "https://www.example.com"),
    ("localhost:8080/x", "https://localhost:8080/x"),
    ("localhost:8080", "https://localhost:8080"),
    ("127.0.0.1/x?q=1", "https://127.0.0.1/x?q=1"),
    ("10.0.0.7:8443#top", "https://10.0.0.7:8443#top"),
    ("[::1]:8080/x", "https://[::1]:8080/x"),
    ("bücher.test/x", "https://bücher.test/x"),
    ("//example.com/x", "https://example.com/x"),  # scheme-relative
    ("http://example.com/x", "http://example.com/x"),  # a scheme given is kept
    ("HTTPS://example.com/x", "HTTPS://example.com/x"),
])
def test_a_url_without_a_scheme_is_taken_as_https(typed: str, url: str) -> None:
    assert seed_url(typed) == url


@pytest.mark.parametrize(("typed", "message"), [
    ("ftp://example.com/f", "scheme 'ftp' is not supported"),
    ("mailto:me@example.com", "http:// or https://"),
    ("javascript:alert(1)", "http:// or https://"),
    ("data:text/html,hi", "http:// or https://"),
    ("localhost:", "http:// or https://"),  # no port after the colon: a scheme, and not ours
    ("http:/x", "no host"),
    ("example.com:99999/", "Port out of range"),
    ("exa mple.com/", "white space"),
    ("", "empty URL"),
])
def test_what_is_not_a_web_address_is_still_refused(typed: str, message: str) -> None:
    with pytest.raises(InvalidSeed, match=message):
        seed_url(typed)


def test_validate_url_itself_still_wants_the_scheme() -> None:
    with pytest.raises(InvalidSeed, match="http:// or https://"):
        validate_url("example.com/news/")


def test_a_seed_file_takes_lines_without_a_scheme_as_https() -> None:
    lines = ["# seeds\n", "example.com/news/\n", "http://b.test/x  # note\n", "127.0.0.1:8080/y\n"]
    assert parse_seed_lines(lines) == ["https://example.com/news/", "http://b.test/x", "https://127.0.0.1:8080/y"]
    with pytest.raises(InvalidSeed, match=r"^line 2: .*scheme 'ftp'"):
        parse_seed_lines(["a.test/", "ftp://a.test/f"])


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=40))
def test_seed_url_gives_a_valid_url_or_one_line_invalid_seed(raw: str) -> None:
    """Whatever is typed: a URL validate_url accepts unchanged, or a one-line InvalidSeed; and a URL
    validate_url accepts as it is comes back unchanged."""
    try:
        url = seed_url(raw)
    except InvalidSeed as exc:
        assert len(str(exc).splitlines()) == 1
        return
    assert validate_url(url) == url
    try:
        strict = validate_url(raw)
    except InvalidSeed:
        assert url.startswith("https://")
        return
    assert url == strict
