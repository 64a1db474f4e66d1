"""DNS with fixed answers for named hosts (``--resolve HOST:ADDRESS``, like curl's).

For archiving a site from a staging address, or a host that public DNS does not
know yet; other names resolve as usual (Scrapy's caching resolver).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from scrapy.resolver import CachingThreadedResolver
from twisted.internet import defer

from scraper.scope import parse_resolve

if TYPE_CHECKING:
    from scrapy.crawler import Crawler
    from twisted.internet.defer import Deferred


class StaticHostsResolver(CachingThreadedResolver):
    def __init__(self, reactor: Any, cache_size: int, timeout: float, hosts: dict[str, str] | None = None) -> None:
        super().__init__(reactor, cache_size, timeout)
        self.hosts = hosts or {}

    @classmethod
    def from_crawler(cls, crawler: Crawler, reactor: Any) -> StaticHostsResolver:
        resolver = super().from_crawler(crawler, reactor)
        resolver.hosts = parse_resolve(crawler.settings.getlist("ARCHIVE_RESOLVE"))
        return resolver

    def getHostByName(self, name: str, timeout: Sequence[int] = ()) -> Deferred[str]:
        address = self.hosts.get(name.lower())
        if address is not None:
            return defer.succeed(address)
        return super().getHostByName(name, timeout)
