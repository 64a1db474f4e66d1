"""Hypothesis strategies: a structured model of URLs and their spellings, seed files, page records, and the
settings of the property tests built on them.

The properties (in test_scope, test_seeds, test_records, test_records_revisits and extract/test_page) come from
the documented contracts of :mod:`scraper.scope`, :mod:`scraper.seeds`, :mod:`scraper.records` and the small
normalisers of :mod:`scraper.extract.page`, not from their output."""

from __future__ import annotations

import base64
import ipaddress
import random
import re
import string
import unicodedata
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from typing import Any
from urllib.parse import quote

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from scraper.article import Article
from scraper.extract.page import (
    StructuredHints,
    _absolute,
    clean_field,
    clean_list,
    clean_text,
    language_code,
    merge_dates,
    normalise_date,
    pick_authors,
    pick_title,
)
from scraper.records import (
    Capture,
    WarcPointer,
    utc_timestamp,
)
from scraper.scope import (
    TRACKING_PARAMS,
    TRACKING_PREFIXES,
    is_tracking_param,
)
from scraper.seeds import InvalidSeed, seed_url

# The whole file must stay well under 30 s on a loaded 2-CPU CI machine: 200 examples where an example is cheap,
# fewer where each draws several structured URLs or a whole record (the generation, not the code, is the cost).
# (Each property passed 300 - 4 000 examples when written; these counts guard against regressions.)
PROPS = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
MID = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
URL_PROPS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
FEW = settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])

DEFAULT_PORTS = {"http": 80, "https": 443}
UNRESERVED = string.ascii_letters + string.digits + "-._~"
RECORD_URL = re.compile(r"^https?://[^\s]+$")  # the schema's $defs/url


# ===========================================================================================
# URLs: a structured model (what a URL means) and many spellings of it (how it is written)
# ===========================================================================================

# Letters whose IDNA 2003 (what w3lib and Scrapy use) and IDNA 2008 encodings agree: no 'ß', no final sigma.
IDN_LETTERS = "abcdefghijklmnopqrstuvwxyzäöüéèêçñåøæœàíóúłśźżčřšžабвгдежзиклмнопрстуфхцчшщыэюяαβγδεζηθικλμνξοπρστυφχψω"
ANY_CHAR = st.characters(codec="utf-8")  # no surrogates
SPACE_CATEGORIES = ("Cs", "Cc", "Cn", "Co", "Zs", "Zl", "Zp")


@dataclass(frozen=True)
class Host:
    kind: str  # dns | idn | v4 | v6
    name: str  # lower case; an IPv6 address without brackets

    def meaning(self) -> str:
        return self.name.encode("idna").decode("ascii") if self.kind == "idn" else self.name


@dataclass(frozen=True)
class Url:
    """What a URL identifies.  A path segment is text (UTF-8 when escaped) or raw bytes (always escaped
    when not unreserved ASCII), so its meaning is its bytes: '/' in a segment is always written %2F."""

    scheme: str
    host: Host
    port: int | None  # None: the scheme's default port
    segments: tuple[str | bytes, ...]
    query: tuple[tuple[str, bytes], ...]  # decoded names (never tracking parameters) and value bytes

    def meaning(self) -> tuple[Any, ...]:
        path = tuple(_bytes(seg) for seg in self.segments)
        if path == (b"",):
            path = ()  # "http://h" and "http://h/" are the same resource
        return (self.scheme, self.host.meaning(), self.port, path, tuple(sorted(self.query)))


def _bytes(segment: str | bytes) -> bytes:
    return segment.encode("utf-8") if isinstance(segment, str) else segment


def _pct(data: bytes, lower: bool) -> str:
    text = "".join(f"%{b:02X}" for b in data)
    return text.lower() if lower else text


LDH = string.ascii_lowercase + string.digits
dns_label = st.text(alphabet=LDH, min_size=1, max_size=8).map(
    lambda s: s if len(s) < 3 or s[1] != "a" else s[0] + "-" + s[2:])  # now and then a hyphen inside
tld = st.text(alphabet=string.ascii_lowercase, min_size=2, max_size=6)
idn_label = st.builds(lambda a, c, b: a + c + b, st.text(alphabet=IDN_LETTERS, max_size=4),
                      st.sampled_from([c for c in IDN_LETTERS if not c.isascii()]),
                      st.text(alphabet=IDN_LETTERS, max_size=4))

hosts = st.one_of(
    st.builds(lambda labels, top: Host("dns", ".".join([*labels, top])), st.lists(dns_label, min_size=1, max_size=3),
              tld),
    st.builds(lambda labels, idn, top: Host("idn", ".".join([*labels, idn, top])),
              st.lists(dns_label, max_size=2), idn_label, tld),
    st.integers(0, 2**32 - 1).map(lambda n: Host("v4", str(ipaddress.IPv4Address(n)))),
    st.one_of(st.integers(0, 2**128 - 1), st.integers(0, 2**16),
              st.integers(0, 2**32 - 1).map(lambda n: n | 0xFFFF << 32))  # IPv4-mapped
    .map(lambda n: Host("v6", ipaddress.IPv6Address(n).compressed)),
)

segments = st.one_of(st.text(alphabet=ANY_CHAR, max_size=6),
                     st.binary(max_size=4)).filter(lambda seg: _bytes(seg) not in (b".", b".."))  # dot segments go
param_names = st.text(max_size=8).filter(lambda n: not is_tracking_param(n))
param_values = st.one_of(st.binary(max_size=8), st.text(max_size=8).map(lambda t: t.encode("utf-8")))
ports = st.one_of(st.none(), st.integers(1, 65535))


def _url(scheme: str, host: Host, port: int | None, segs: list[Any], query: list[Any]) -> Url:
    return Url(scheme, host, None if port == DEFAULT_PORTS[scheme] else port, tuple(segs), tuple(query))


urls = st.builds(_url, st.sampled_from(["http", "https"]), hosts, ports, st.lists(segments, max_size=4),
                 st.lists(st.tuples(param_names, param_values), max_size=4))


def spell_with(rnd: random.Random, url: Url, *, tracking: bool = True, fragment: bool = True) -> str:
    """One way of writing ``url``: scheme and host case, explicit default port, percent-escape case,
    unicode or escaped characters, query order, tracking parameters, a fragment."""

    def coin() -> bool:
        return rnd.random() < 0.5

    def mixed_case(text: str) -> str:
        return "".join(c.upper() if len(c.upper()) == 1 and coin() else c for c in text)

    scheme = mixed_case(url.scheme)
    host = url.host
    if host.kind == "v6":
        netloc = f"[{mixed_case(host.name)}]"
    elif host.kind == "idn" and coin():
        netloc = mixed_case(host.name.encode("idna").decode("ascii"))  # punycode, as Scrapy sends it
    else:
        netloc = mixed_case(host.name)
    port = url.port
    if port is None and coin():
        port = DEFAULT_PORTS[url.scheme]
    if port is not None:
        netloc += ":" + "0" * rnd.choice((0, 0, 1, 2)) + str(port)

    def char(c: str) -> str:
        literal = c in UNRESERVED or (not c.isascii() and unicodedata.category(c) not in SPACE_CATEGORIES)
        return c if literal and coin() else _pct(c.encode("utf-8"), coin())

    def segment(seg: str | bytes) -> str:
        if isinstance(seg, str):
            return "".join(char(c) for c in seg)
        return "".join(chr(b) if chr(b) in UNRESERVED and coin() else _pct(bytes([b]), coin()) for b in seg)

    path = "/" + "/".join(segment(seg) for seg in url.segments)
    if path == "/" and coin():
        path = ""

    def form(data: bytes) -> str:
        out = []
        for byte in data:
            char = chr(byte)
            if char in UNRESERVED and coin():
                out.append(char)
            elif char == " " and coin():
                out.append("+")
            else:
                out.append(_pct(bytes([byte]), coin()))
        return "".join(out)

    pairs = [f"{form(name.encode('utf-8'))}={form(value)}" for name, value in url.query]
    rnd.shuffle(pairs)
    if tracking:
        for _ in range(rnd.choice((0, 0, 1, 2, 3))):
            name = mixed_case(rnd.choice([*sorted(TRACKING_PARAMS), *(p + rnd.choice(("", "x", "_id"))
                                                                      for p in TRACKING_PREFIXES)]))
            value = "".join(rnd.choices(string.ascii_letters + string.digits, k=rnd.randrange(6)))
            pairs.insert(rnd.randrange(len(pairs) + 1), f"{form(name.encode())}={value}")
    text = f"{scheme}://{netloc}{path}"
    if pairs:
        text += "?" + "&".join(pairs)
    if fragment and coin():
        text += "#" + quote("".join(rnd.choices("aZ09-/?#&=:é %", k=rnd.randrange(8))), safe="/?#&=:@!$'()*+,;")
    return text


def spell(url: Url, *, tracking: bool = True, fragment: bool = True) -> st.SearchStrategy[str]:
    return st.randoms(use_true_random=True).map(lambda rnd: spell_with(rnd, url, tracking=tracking,
                                                                       fragment=fragment))


def spelled(url_strategy: st.SearchStrategy[Url] = urls, **kwargs: bool) -> st.SearchStrategy[tuple[Url, str]]:
    return url_strategy.flatmap(lambda u: st.tuples(st.just(u), spell(u, **kwargs)))


def _validation_error(text: str) -> str | None:
    try:
        seed_url(text)  # how a seed file reads a line: no scheme is https://
    except InvalidSeed as exc:
        return str(exc)
    return None


# ===========================================================================================
# Records
# ===========================================================================================

words_text = st.text(alphabet=ANY_CHAR, max_size=60)
title_text = st.text(alphabet=string.ascii_letters + " |-–—·»/:'’éßİΣς\u00a0\u3000.,;&" + "0123456789", max_size=40)
cleaned = st.builds(lambda t, c: clean_field(c + t) or c, title_text, st.sampled_from("aXé"))
# As Scrapy hands them over: the scheme in lower case.
http_urls = spelled(tracking=False).map(lambda c: c[0].scheme + c[1][c[1].index(":"):])
some_urls = st.sampled_from(["http://a.test/", "https://xn--bcher-kva.de/caf%C3%A9?q=1", "http://[2001:db8::1]:8080/x",
                             "https://a.test/bücher/ü?x=ä#frag", "http://1.2.3.4/p%2Fq;a=b", "https://A.TEST:443/"])
fixed_offsets = st.builds(lambda minutes, seconds: timezone(timedelta(minutes=minutes, seconds=seconds)),
                          st.integers(-23 * 60 - 59, 23 * 60 + 59), st.sampled_from([0, 0, 0, 15, 59]))
aware_datetimes = st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30), timezones=fixed_offsets)


@st.composite
def raw_dates(draw: st.DrawFn) -> str | None:
    moment = draw(aware_datetimes)
    return draw(st.sampled_from([
        None, "", "   ", "yesterday", "10/01/2014", "2024-03", "2024-13-01", "2024-02-30T10:00:00",
        moment.date().isoformat(), moment.isoformat(), moment.isoformat(sep=" "),
        moment.replace(tzinfo=None).isoformat(),
        moment.astimezone(UTC).isoformat().replace("+00:00", "Z"), moment.strftime("%Y%m%d"),
        moment.strftime("%Y%m%dT%H%M%S%z"), moment.isoformat(timespec="minutes"), f" {moment.isoformat()} ",
        draw(st.text(max_size=12)),
    ]))


@st.composite
def hints(draw: st.DrawFn) -> StructuredHints:
    """What read_structured_hints gives: cleaned strings, headings joined from their pieces."""
    piece = st.builds(lambda t, c: " ".join((c + t).split()), title_text, st.sampled_from("aXé"))
    parts = draw(st.lists(st.lists(piece, min_size=1, max_size=3), max_size=2))
    return StructuredHints(
        site_names=tuple(draw(st.lists(cleaned, max_size=2))),
        headings=tuple(" ".join(p) for p in parts), heading_parts=tuple(tuple(p) for p in parts),
        titles=tuple(draw(st.lists(cleaned, max_size=2))),
        document_title=draw(st.one_of(st.none(), cleaned)),
        bylines=tuple(draw(st.lists(cleaned, max_size=2))), author_names=tuple(draw(st.lists(cleaned, max_size=2))),
    )


raw_urls = st.one_of(st.none(), http_urls, st.text(max_size=20),
                     st.sampled_from(["/relative/path", "page.html", "//other.test/x", " http://a.test/a b ",
                                      "http://[::1", "http://", "javascript:void(0)", "HTTP://UPPER.test/",
                                      "http://a.test/\ttab\n", "https:///nohost", "data:image/png;base64,xx"]))


@st.composite
def articles(draw: st.DrawFn, page_url: str) -> Article:
    """An Article as extract_page builds it: raw metadata through the module's own normalisers."""
    page_hints = draw(hints())
    text = clean_text(draw(st.one_of(st.none(), words_text)))
    raw_list = st.one_of(st.none(), st.text(max_size=20), st.lists(st.one_of(st.none(), st.text(max_size=8)),
                                                                     max_size=4))
    return Article(
        text=text,
        markdown=(str(draw(st.one_of(st.none(), words_text)) or "").strip() or None) if text else None,
        title=pick_title(clean_field(draw(st.one_of(st.none(), title_text))), page_url, page_hints),
        authors=pick_authors(clean_field(draw(st.one_of(st.none(), title_text))), page_url, page_hints),
        published=merge_dates(clean_field(draw(raw_dates())), draw(raw_dates())),
        modified=normalise_date(draw(raw_dates())),
        site_name=clean_field(draw(st.one_of(st.none(), words_text))),
        description=clean_field(draw(st.one_of(st.none(), words_text))),
        language=language_code(draw(st.one_of(st.none(), st.text(max_size=6), st.sampled_from(["en-US", "de_DE"]))))
        or language_code(draw(st.one_of(st.none(), st.text(max_size=6)))),
        canonical_url=_absolute(draw(raw_urls), page_url),
        image=_absolute(clean_field(draw(raw_urls)), page_url),
        tags=clean_list(draw(raw_list)),
        categories=clean_list(draw(raw_list)),
    )


record_ids = st.uuids().map(lambda u: f"<urn:uuid:{u}>")
warc_pointers = st.builds(
    WarcPointer, file=st.builds(lambda n, gz: f"scraper-{n:017d}-00001-host.warc{gz}", st.integers(0, 10**17 - 1),
                               st.sampled_from([".gz", ""])),
    offset=st.integers(0, 2**40), length=st.integers(1, 2**31), record_id=record_ids)
crawl_ids = st.builds(lambda when, tail: f"{when:%Y%m%dT%H%M%SZ}-{tail:06x}",
                      st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2099, 12, 31)),
                      st.integers(0, 0xFFFFFF))
content_types = st.one_of(
    st.none(), st.text(max_size=30),
    st.sampled_from(["text/html; charset=UTF-8", "TEXT/HTML", "application/xhtml+xml", "text/html charset=utf-8",
                     "text/html,text/html", "html", "", " ; charset=utf-8", "text/html;", "image/svg+xml; q=1",
                     "application/vnd.api+json", "multipart/form-data; boundary=x"]))
directives = st.lists(st.text(alphabet=string.ascii_lowercase + "-:", min_size=1, max_size=10), max_size=3)


@st.composite
def captures(draw: st.DrawFn) -> Capture:
    kind = draw(st.sampled_from(["response", "revisit"]))
    url = draw(http_urls)
    return Capture(
        requested_url=draw(some_urls), url=url, status=draw(st.integers(100, 599)),
        content_type=draw(content_types), fetched_at=draw(aware_datetimes),
        payload_digest=draw(st.one_of(st.none(), st.binary(min_size=20, max_size=20).map(
            lambda d: "sha1:" + base64.b32encode(d).decode()))),
        warc=draw(warc_pointers), depth=draw(st.integers(0, 50)),
        referrer=draw(st.one_of(st.none(), some_urls)), redirects=draw(st.lists(some_urls, max_size=2)),
        access=draw(st.one_of(st.none(), st.fixed_dictionaries({"x_robots_tag": directives,
                                                                "meta_robots": directives}))),
        truncated=draw(st.booleans()), record_kind=kind,
        revisit_profile=draw(st.sampled_from(["identical-payload-digest", "server-not-modified"]))
        if kind == "revisit" else None,
        refers_to=draw(st.fixed_dictionaries({
            "record_id": record_ids, "warc_date": aware_datetimes.map(utc_timestamp), "target_uri": some_urls,
            "crawl_id": crawl_ids, "file": st.just("x.warc.gz"), "offset": st.integers(0, 10**9),
            "length": st.integers(1, 10**9)})) if kind == "revisit" else None,
    )
