"""URL canonicalisation, crawl scope and the address guard's rules. Pure: no Scrapy."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cache
from urllib.parse import unquote_plus, urlsplit, urlunsplit

from w3lib.url import canonicalize_url, safe_url_string

DEFAULT_PORTS = {"http": 80, "https": 443}
SCOPES = ("page", "host", "domain", "prefix")

# Parameters that identify a campaign or a click, not a page: dropped from the dedup key.
TRACKING_PARAMS = frozenset({
    "fbclid", "gclid", "gclsrc", "dclid", "gbraid", "wbraid", "msclkid", "yclid", "twclid", "ttclid", "igshid",
    "mc_cid", "mc_eid", "_hsenc", "_hsmi", "mkt_tok", "oly_anon_id", "oly_enc_id", "vero_id", "_openstat",
    "ref_src", "ref_url", "spm", "s_cid", "cmpid", "ncid", "sr_share", "at_medium", "at_campaign",
})
TRACKING_PREFIXES = ("utm_", "pk_", "mtm_", "hsa_")


def is_tracking_param(name: str) -> bool:
    lowered = name.lower()
    return lowered in TRACKING_PARAMS or lowered.startswith(TRACKING_PREFIXES)


def strip_tracking(url: str) -> str:
    """The URL without well-known tracking parameters (utm_*, fbclid, gclid, ...).

    The other arguments stay as written: decoding and re-encoding them would turn bytes that are
    not UTF-8 (``?q=M%FCller``) into replacement characters, and so different pages into one key.
    """
    parts = urlsplit(url)
    if not parts.query:
        return url
    pieces = parts.query.split("&")
    kept = [piece for piece in pieces if not is_tracking_param(unquote_plus(piece.partition("=")[0]))]
    if len(kept) == len(pieces):
        return url
    return urlunsplit(parts._replace(query="&".join(kept)))


def url_key(url: str) -> str:
    """The key under which two URLs count as the same page for deduplication.

    Fragments dropped, tracking parameters removed, query arguments sorted,
    percent-encoding, host case and default ports normalised.  The URL actually
    fetched stays the one the page linked to.
    """
    key = canonicalize_url(strip_tracking(url), keep_fragments=False)
    parts = urlsplit(key)
    if parts.port is not None and DEFAULT_PORTS.get(parts.scheme) == parts.port:
        key = urlunsplit(parts._replace(netloc=parts.netloc.rsplit(":", 1)[0]))
    return key


def host_of(url: str) -> str:
    return (urlsplit(url).hostname or "").lower()


def ascii_host(host: str) -> str:
    """A host name as requests send it: lower case, IDNA-encoded (``bücher.test`` -> ``xn--bcher-kva.test``)."""
    host = host.strip().lower()
    if host.isascii():
        return host
    try:
        return (urlsplit(safe_url_string(f"http://{host}/")).hostname or host).lower()
    except (ValueError, UnicodeError):
        return host


@cache
def _domain_extractor():  # type: ignore[no-untyped-def]
    from tldextract import TLDExtract

    # The bundled Public Suffix List snapshot: never download it during a crawl.
    return TLDExtract(suffix_list_urls=(), include_psl_private_domains=False)


def registered_domain(host: str) -> str:
    """``news.bbc.co.uk`` -> ``bbc.co.uk``; an IP address or a bare name stays itself."""
    host = host.lower().strip("[]")
    try:
        ipaddress.ip_address(host)
        return host
    except ValueError:
        pass
    parts = _domain_extractor()(host)
    return parts.top_domain_under_public_suffix or host


def url_prefix(url: str) -> str:
    """The folder of a seed URL: ``https://h/a/b/page.html`` -> ``https://h/a/b/``."""
    parts = urlsplit(url_key(url))
    folder = parts.path[: parts.path.rfind("/") + 1] or "/"
    return urlunsplit((parts.scheme, parts.netloc, folder, "", ""))


@dataclass(frozen=True)
class Scope:
    """Which discovered links the crawl may follow, and why a link is refused.

    ``verdict`` returns ``None`` for a link in scope, else the name of the rule
    that refused it, so the summary can say what each rule filtered.
    """

    seeds: tuple[str, ...] = ()
    mode: str = "host"
    max_depth: int = 0
    allow: tuple[re.Pattern[str], ...] = ()
    deny: tuple[re.Pattern[str], ...] = ()
    _hosts: frozenset[str] = field(default=frozenset(), repr=False)
    _domains: frozenset[str] = field(default=frozenset(), repr=False)
    _prefixes: tuple[str, ...] = field(default=(), repr=False)

    @classmethod
    def for_seeds(cls, seeds: Iterable[str], max_depth: int = 0, mode: str = "host",
                  allow: Iterable[str] = (), deny: Iterable[str] = ()) -> Scope:
        if mode not in SCOPES:
            raise ValueError(f"unknown scope {mode!r} (choose from {', '.join(SCOPES)})")
        seed_list = tuple(seeds)
        # IDNA-encoded: an IDN seed's own links (joined to the punycode URL fetched) are on its host.
        hosts = frozenset(ascii_host(host_of(s)) for s in seed_list)
        return cls(
            seeds=seed_list, mode=mode, max_depth=max_depth,
            allow=tuple(re.compile(p) for p in allow), deny=tuple(re.compile(p) for p in deny),
            _hosts=hosts, _domains=frozenset(registered_domain(h) for h in hosts),
            _prefixes=tuple(url_prefix(s) for s in seed_list),
        )

    @property
    def seed_hosts(self) -> frozenset[str]:
        return self._hosts

    def verdict(self, url: str, depth: int) -> str | None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            return "scheme"
        if depth > self.max_depth:
            return "depth"
        if self.mode == "page":
            return "scope:page"
        host = ascii_host(parts.hostname)
        if self.mode == "host" and host not in self._hosts:
            return "scope:host"
        if self.mode == "domain" and registered_domain(host) not in self._domains:
            return "scope:domain"
        if self.mode == "prefix" and not url_key(url).startswith(self._prefixes):
            return "scope:prefix"
        return self._pattern_verdict(url)

    def _pattern_verdict(self, url: str) -> str | None:
        """The person's own --allow/--deny rules."""
        if any(p.search(url) for p in self.deny):
            return "deny"
        if self.allow and not any(p.search(url) for p in self.allow):
            return "allow"
        return None

    def seed_verdict(self, url: str) -> str | None:
        """For URLs that are not discovered links (sitemap and feed entries, requisites):
        only the scheme and the person's own --allow/--deny rules apply."""
        if urlsplit(url).scheme not in ("http", "https"):
            return "scheme"
        return self._pattern_verdict(url)

    def allows(self, url: str, depth: int) -> bool:
        return self.verdict(url, depth) is None


def parse_resolve(entries: Sequence[str]) -> dict[str, str]:
    """``["news.example.com:127.0.0.1"]`` -> ``{"news.example.com": "127.0.0.1"}``."""
    out: dict[str, str] = {}
    for entry in entries:
        host, sep, address = entry.partition(":")
        if not sep or not host or not address:
            raise ValueError(f"{entry!r} is not HOST:ADDRESS")
        out[host.strip().lower()] = address.strip().strip("[]")
    return out


# -- the address guard's rules ------------------------------------------------------------
# IPv6 addresses that lead to an IPv4 address held in their last 32 bits: NAT64's well-known prefix
# (RFC 6052) and the deprecated IPv4-compatible form ``::a.b.c.d`` (RFC 4291).
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
_IPV4_COMPATIBLE = ipaddress.IPv6Network("::/96")


def embedded_ipv4(ip: ipaddress.IPv6Address) -> list[ipaddress.IPv4Address]:
    """The IPv4 addresses an IPv6 address leads to: IPv4-mapped, IPv4-compatible, 6to4 (``2002::/16``),
    Teredo (its server and its client) and NAT64 (``64:ff9b::/96``)."""
    found = [v4 for v4 in (ip.ipv4_mapped, ip.sixtofour) if v4 is not None]
    if ip.teredo is not None:
        found += ip.teredo
    if ip in _NAT64 or ip in _IPV4_COMPATIBLE:
        found.append(ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF))
    return found


def _is_special(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    # not is_global: also the shared address space 100.64.0.0/10 (carrier-grade NAT, where some
    # clouds put their metadata service), which is neither private nor public
    return bool(not ip.is_global or ip.is_private or ip.is_loopback or ip.is_link_local or ip.is_multicast
                or ip.is_reserved or ip.is_unspecified)


def is_special_address(address: str) -> bool:
    """Loopback, private, shared (100.64.0.0/10), link-local, multicast, reserved or unspecified: not the
    public web.  An IPv6 address that wraps an IPv4 address (6to4, NAT64, Teredo, IPv4-mapped or
    -compatible) is as special as the IPv4 address it leads to."""
    try:
        ip = ipaddress.ip_address(address.strip("[]").split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped  # ::ffff:a.b.c.d is the IPv4 address itself, as the socket sees it
    if isinstance(ip, ipaddress.IPv6Address) and ip.sixtofour is not None:
        # 6to4 (2002::/16) is as public as the IPv4 address it wraps.  Judged by that alone: Pythons
        # before 3.11.4 (Debian 12's 3.11.2) call all of 2002::/16 private, later ones none of it.
        return _is_special(ip.sixtofour)
    if _is_special(ip):
        return True
    return isinstance(ip, ipaddress.IPv6Address) and any(_is_special(v4) for v4 in embedded_ipv4(ip))
