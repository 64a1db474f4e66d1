"""AddressGuardMiddleware: discovered links may not reach loopback or private networks.

A page on the public web can link to ``http://192.168.1.1/`` or a name that
resolves to ``127.0.0.1``; following it would make the crawler probe the
network it runs in.  Seeds are the person's own choice: their hosts stay allowed,
on their own ports.  A seed ``http://127.0.0.1:8080/`` says nothing about what
listens on ``127.0.0.1:6379`` or ``localhost:22``: a link there is refused, unless
``--allow-private``.
"""

from __future__ import annotations

import ipaddress
import logging
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from scrapy.exceptions import IgnoreRequest, NotConfigured
from scrapy.utils.defer import maybe_deferred_to_future
from twisted.internet.error import DNSLookupError

from scraper.crawl import counters
from scraper.crawl.extensions import archive_run
from scraper.scope import DEFAULT_PORTS, ascii_host, host_of, is_special_address

if TYPE_CHECKING:
    from scrapy import Request
    from scrapy.crawler import Crawler

logger = logging.getLogger(__name__)


class AddressGuardRefused(IgnoreRequest):
    """The request's host is on a loopback, private, link-local or multicast address."""


# Where a request goes: a host name or address, and a port.
Endpoint = tuple[str, int | None]


def port_of(url: str) -> int | None:
    """The port a request to ``url`` connects to: the one given, else the scheme's default."""
    parts = urlsplit(url)
    try:
        port = parts.port
    except ValueError:  # not a port number: the download itself reports the URL
        return None
    return port if port is not None else DEFAULT_PORTS.get(parts.scheme)


def _normal_address(address: str) -> str:
    """One spelling per address (``::1`` for ``0:0::1``), so that endpoints compare."""
    try:
        return str(ipaddress.ip_address(address.strip("[]")))
    except ValueError:
        return address


class AddressGuardMiddleware:
    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self._seed_endpoints: frozenset[Endpoint] | None = None
        self._seed_addresses: set[Endpoint] | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> AddressGuardMiddleware:
        if crawler.settings.getbool("ARCHIVE_ALLOW_PRIVATE"):
            raise NotConfigured
        return cls(crawler)

    @property
    def seed_endpoints(self) -> frozenset[Endpoint]:
        """Hosts and ports the person named: seeds and seed sources, however they were given."""
        if self._seed_endpoints is None:
            seed_urls = getattr(self.crawler.spider, "seed_urls", None)
            urls = seed_urls() if callable(seed_urls) else self.crawler.settings.getlist("ARCHIVE_SEEDS")
            # As requests name them: a seed given as an IDN (bücher.test) is fetched as punycode.
            self._seed_endpoints = frozenset((ascii_host(host_of(u)), port_of(u)) for u in urls)
        return self._seed_endpoints

    async def _resolve(self, host: str) -> str | None:
        if is_special_address(host) or _is_ip(host):
            return host.strip("[]")
        from twisted.internet import reactor

        try:
            return str(await maybe_deferred_to_future(reactor.resolve(host)))  # type: ignore[attr-defined,arg-type]
        except (DNSLookupError, OSError):
            return None  # the download itself reports the DNS failure

    async def seed_addresses(self) -> set[Endpoint]:
        """Where the seeds live: a private address and port a seed is on is the person's choice."""
        if self._seed_addresses is None:
            resolved = {(await self._resolve(host), port) for host, port in self.seed_endpoints}
            self._seed_addresses = {(_normal_address(a), port) for a, port in resolved if a}
        return self._seed_addresses

    async def process_request(self, request: Request) -> None:
        host, port = ascii_host(host_of(request.url)), port_of(request.url)
        if not host or (host, port) in self.seed_endpoints:
            return None
        address = await self._resolve(host)
        if address is None or not is_special_address(address):
            return None
        seeds = await self.seed_addresses()
        if (_normal_address(address), port) in seeds:
            return None
        if self.crawler.stats is not None:
            self.crawler.stats.inc_value(counters.GUARD_REFUSED.stat)
        if any(_normal_address(address) == seed for seed, _port in seeds):
            where = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
            message = (f"address guard: {where} is on {address} (loopback/private), a seed's address but not "
                       f"its port; not fetched (see --allow-private)")
        else:
            message = f"address guard: {host} is on {address} (loopback/private); not fetched (see --allow-private)"
        archive_run(self.crawler).warn(message)
        raise AddressGuardRefused(message)


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return True
