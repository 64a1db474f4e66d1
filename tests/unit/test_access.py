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


@pytest.mark.parametrize(("page", "directives"), [
    (b"<html><head><meta name='description' content='robots, and more'></head><body>x</body></html>", []),
    (b"<html><head><title>t</title></head><body><p>no meta at all</p></body></html>", []),
    # a name spelled with character references: lxml decodes them, so the page must be parsed
    (b"<html><head><meta name='&#114;obots' content='noarchive'></head></html>", ["noarchive"]),
    (b"<html><head><meta name='&#x53;CRAPER' content='noai'></head></html>", ["noai"]),
    # UTF-16 with its BOM: no ASCII "robots" among the bytes, but lxml reads the meta
    ("<html><head><meta name='robots' content='noindex'></head></html>".encode("utf-16"), ["noindex"]),
    (b"<html><body><meta name='Robots' content='nofollow'></body></html>", ["nofollow"]),
    ("<html><head><meta name='robots' content='none'></head></html>", ["none"]),
])
def test_meta_robots_found_however_spelled_and_no_parse_needed_without_one(page: bytes | str,
                                                                            directives: list[str]) -> None:
    assert parse_meta_robots(page) == directives
