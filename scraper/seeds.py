"""Seeds: URLs given on the command line, in a file or on stdin.

Pure: no Scrapy.  A seed list is one URL per line; ``#`` starts a comment,
blank lines are ignored, a UTF-8 BOM and CRLF line ends are tolerated.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from urllib.parse import urlsplit

from scraper.scope import url_key

SCHEMES = ("http", "https")
_INLINE_COMMENT = re.compile(r"\s+#")


class InvalidSeed(ValueError):
    """A seed that cannot be crawled; the message is one line for the user."""


def validate_url(raw: str) -> str:
    """Return the URL if it is an absolute http(s) URL with a host, else raise InvalidSeed."""
    url = raw.strip()
    if not url:
        raise InvalidSeed("empty URL")
    if any(ch.isspace() for ch in url):
        raise InvalidSeed(f"invalid URL {raw!r}: contains white space")
    try:
        parts = urlsplit(url)
        port = parts.port  # raises ValueError on a bad port
    except ValueError as exc:
        raise InvalidSeed(f"invalid URL {raw!r}: {exc}") from None
    if parts.scheme.lower() not in SCHEMES:
        if not parts.scheme or "." in parts.scheme or not parts.netloc:
            raise InvalidSeed(f"invalid URL {raw!r}: give an absolute URL starting with http:// or https://")
        raise InvalidSeed(f"invalid URL {raw!r}: scheme {parts.scheme!r} is not supported (http, https)")
    if not parts.hostname:
        raise InvalidSeed(f"invalid URL {raw!r}: no host name")
    if port == 0:
        raise InvalidSeed(f"invalid URL {raw!r}: port 0")
    return url


def parse_seed_lines(lines: Iterable[str]) -> list[str]:
    """URLs from the lines of a seed list, in order, without comments or blanks.

    Raises InvalidSeed naming the line of the first URL that is not valid.
    """
    urls: list[str] = []
    for number, line in enumerate(lines, start=1):
        text = line.lstrip("\ufeff").strip()
        if not text or text.startswith("#"):
            continue
        # "URL  # note": a comment needs white space before it, since '#' also starts a fragment.
        text = _INLINE_COMMENT.split(text, maxsplit=1)[0]
        try:
            urls.append(validate_url(text))
        except InvalidSeed as exc:
            raise InvalidSeed(f"line {number}: {exc}") from None
    return urls


def dedupe_seeds(urls: Iterable[str]) -> list[str]:
    """Keep the first of seeds that canonicalise to the same URL, in order."""
    seen: set[str] = set()
    out: list[str] = []
    for url in urls:
        key = url_key(url)
        if key not in seen:
            seen.add(key)
            out.append(url)
    return out
