"""URL canonicalisation and crawl scope. Pure: no Scrapy."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

from w3lib.url import canonicalize_url

DEFAULT_PORTS = {"http": 80, "https": 443}


def url_key(url: str) -> str:
    """The key under which two URLs count as the same page for deduplication.

    Fragments dropped, query arguments sorted, percent-encoding and default
    ports normalised.  The URL actually fetched stays the one the page linked to.
    """
    key = canonicalize_url(url, keep_fragments=False)
    parts = urlsplit(key)
    if parts.port is not None and DEFAULT_PORTS.get(parts.scheme) == parts.port:
        key = urlunsplit(parts._replace(netloc=parts.netloc.rsplit(":", 1)[0]))
    return key


def host_of(url: str) -> str:
    return (urlsplit(url).hostname or "").lower()


@dataclass(frozen=True)
class Scope:
    """Which discovered links the crawl may follow."""

    hosts: frozenset[str]
    max_depth: int = 0

    @classmethod
    def for_seeds(cls, seeds: Iterable[str], max_depth: int = 0) -> Scope:
        return cls(frozenset(host_of(s) for s in seeds), max_depth)

    def allows(self, url: str, depth: int) -> bool:
        if depth > self.max_depth:
            return False
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https"):
            return False
        return (parts.hostname or "").lower() in self.hosts
