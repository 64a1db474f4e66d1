"""access: the signals a site gives about being archived (X-Robots-Tag, meta robots, robots.txt)."""

from __future__ import annotations

import gzip

import pytest

from scraper.access import parse_meta_robots, parse_x_robots_tag, robots_txt_problem
from scraper.storage.codings import decoded_start


def test_x_robots_tag_applies_to_us_or_everyone() -> None:
    values = ["noindex, NOARCHIVE", "googlebot: nofollow", "scraper: noai", "unavailable_after: 2030-01-01"]
    assert parse_x_robots_tag(values) == ["noindex", "noarchive", "noai", "unavailable_after: 2030-01-01"]


def test_meta_robots_even_in_a_gzip_body() -> None:
    page = b"<html><head><meta name='ROBOTS' content='noarchive,noai'><meta name='googlebot' content='none'></head>"
    assert parse_meta_robots(decoded_start(gzip.compress(page), ["gzip"], 4096)) == ["noarchive", "noai"]
    assert decoded_start(b"not gzip at all", ["gzip"], 4096) == b""


@pytest.mark.parametrize(("body", "problem"), [
    (b"User-agent: *\nDisallow: /x\n", None),
    (b"", None),
    (b"<!DOCTYPE html><html><body>hi</body></html>", "an HTML page"),
    (b"\x00\x01\x02", "binary data"),
    (b"just some words\nand more words\n", "no 'field: value' lines"),
])
def test_robots_txt_problem(body: bytes, problem: str | None) -> None:
    assert robots_txt_problem(body, "text/plain") == problem
