"""AddressGuardMiddleware: discovered links may not reach loopback or private networks.

A page on the public web can link to ``http://192.168.1.1/`` or a name that
resolves to ``127.0.0.1``; following it would make the crawler probe the
network it runs in.  Seeds are the person's own choice: their hosts stay allowed.
"""

from __future__ import annotations

import ipaddress
import logging
from typing import TYPE_CHECKING

from scrapy.exceptions import IgnoreRequest, NotConfigured
from scrapy.utils.defer import maybe_deferred_to_future
from twisted.internet.error import DNSLookupError

from scraper.extensions import ArchiveRun
from scraper.scope import ascii_host, host_of, is_special_address

if TYPE_CHECKING:
    from scrapy import Request
    from scrapy.crawler import Crawler

logger = logging.getLogger(__name__)


class AddressGuardRefused(IgnoreRequest):
    """The request's host is on a loopback, private, link-local or multicast address."""


class AddressGuardMiddleware:
    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self._seed_hosts: frozenset[str] | None = None
        self._seed_addresses: set[str] | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> AddressGuardMiddleware:
        if crawler.settings.getbool("ARCHIVE_ALLOW_PRIVATE"):
            raise NotConfigured
        return cls(crawler)

    @property
    def seed_hosts(self) -> frozenset[str]:
        """Hosts the person named: seeds and seed sources, however they were given."""
        if self._seed_hosts is None:
            seed_urls = getattr(self.crawler.spider, "seed_urls", None)
            urls = seed_urls() if callable(seed_urls) else self.crawler.settings.getlist("ARCHIVE_SEEDS")
            # As requests name them: a seed given as an IDN (bücher.test) is fetched as punycode.
            self._seed_hosts = frozenset(ascii_host(host_of(u)) for u in urls)
        return self._seed_hosts

    async def _resolve(self, host: str) -> str | None:
        if is_special_address(host) or _is_ip(host):
            return host.strip("[]")
        from twisted.internet import reactor

        try:
            return str(await maybe_deferred_to_future(reactor.resolve(host)))  # type: ignore[attr-defined,arg-type]
        except (DNSLookupError, OSError):
            return None  # the download itself reports the DNS failure

    async def seed_addresses(self) -> set[str]:
        """Where the seeds live: a private address a seed is on is the person's choice."""
        if self._seed_addresses is None:
            resolved = {await self._resolve(host) for host in self.seed_hosts}
            self._seed_addresses = {a for a in resolved if a}
        return self._seed_addresses

    async def process_request(self, request: Request) -> None:
        host = ascii_host(host_of(request.url))
        if not host or host in self.seed_hosts:
            return None
        address = await self._resolve(host)
        if address is None or not is_special_address(address) or address in await self.seed_addresses():
            return None
        if self.crawler.stats is not None:
            self.crawler.stats.inc_value("scraper/guard/refused")
        message = f"address guard: {host} is on {address} (loopback/private); not fetched (see --allow-private)"
        ArchiveRun.of(self.crawler).warn(message)
        raise AddressGuardRefused(message)


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return True
