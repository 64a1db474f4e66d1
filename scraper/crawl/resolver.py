"""DNS with fixed answers for named hosts (``--resolve HOST:ADDRESS``, like curl's).

For archiving a site from a staging address, or a host that public DNS does not
know yet; other names resolve as usual (Scrapy's caching resolver).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from scrapy.resolver import CachingThreadedResolver
from twisted.internet import defer

from scraper.scope import ascii_host, parse_resolve

if TYPE_CHECKING:
    from scrapy.crawler import Crawler
    from twisted.internet.defer import Deferred


def ip_literal(name: str) -> str | None:
    """The address when ``name`` is an IPv4 or IPv6 literal (``[::1]`` or ``::1``), else None."""
    try:
        return str(ipaddress.ip_address(name.strip("[]")))
    except ValueError:
        return None


def hosts_of(settings: Any) -> dict[str, str]:
    """``ARCHIVE_RESOLVE`` as the resolver keys it: an IDN given to --resolve in Unicode matches its punycode."""
    return {ascii_host(host): address for host, address in parse_resolve(settings.getlist("ARCHIVE_RESOLVE")).items()}


def add_hosts(reactor: Any, settings: Any) -> None:
    """Answer a crawl's ``--resolve`` names too: a worker runs crawls one after another on one reactor,
    whose resolver Scrapy made once, from the worker's own settings."""
    resolver = getattr(reactor, "resolver", None)
    if isinstance(resolver, StaticHostsResolver):
        resolver.hosts.update(hosts_of(settings))


class StaticHostsResolver(CachingThreadedResolver):
    def __init__(self, reactor: Any, cache_size: int, timeout: float, hosts: dict[str, str] | None = None) -> None:
        super().__init__(reactor, cache_size, timeout)
        self.hosts = hosts or {}

    @classmethod
    def from_crawler(cls, crawler: Crawler, reactor: Any) -> StaticHostsResolver:
        resolver = super().from_crawler(crawler, reactor)
        resolver.hosts = hosts_of(crawler.settings)
        return resolver

    def getHostByName(self, name: str, timeout: Sequence[int] = ()) -> Deferred[str]:
        address = self.hosts.get(ascii_host(name)) or ip_literal(name)
        if address is not None:
            # An IP literal needs no lookup; gethostbyname() would not even know an IPv6 one.
            return defer.succeed(address)
        return super().getHostByName(name, timeout)
