"""Property-based tests (hypothesis): URL keys, the seed parser and the record normaliser.

The properties come from the documented contracts of :mod:`scraper.scope`, :mod:`scraper.seeds`,
:mod:`scraper.records` and the small normalisers of :mod:`scraper.extract.page`, not from their output.
"""

from __future__ import annotations

import base64
import io
import ipaddress
import itertools
import json
import random
import re
import string
import unicodedata
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any
from urllib.parse import quote, unquote_plus, urlsplit

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator

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
    split_authors,
)
from scraper.records import (
    KEY_FIELDS,
    Capture,
    WarcPointer,
    build_page_record,
    current_extractor,
    mime_type,
    next_version,
    record_for_capture,
    simhash,
    text_sha256,
    utc_timestamp,
    word_count,
)
from scraper.scope import (
    TRACKING_PARAMS,
    TRACKING_PREFIXES,
    Scope,
    host_of,
    is_tracking_param,
    strip_tracking,
    url_key,
)
from scraper.seeds import InvalidSeed, dedupe_seeds, parse_seed_lines, seed_url, validate_url
from scraper.storage.jsonl import dumps_line
from tests.conftest import assert_valid_records

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

tracking_names = st.tuples(
    st.one_of(st.sampled_from(sorted(TRACKING_PARAMS)),
              st.builds(lambda prefix, rest: prefix + rest, st.sampled_from(TRACKING_PREFIXES),
                        st.text(alphabet=string.ascii_letters + "_", max_size=6))),
    st.randoms(use_true_random=True),
).map(lambda case: "".join(c.upper() if case[1].random() < 0.5 else c for c in case[0]))


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


def assert_valid_key(key: str) -> None:
    """A key is itself a crawlable absolute http(s) URL, and fits the record schema's URL."""
    assert validate_url(key) == key
    assert urlsplit(key).scheme in ("http", "https")
    assert RECORD_URL.match(key), key
    assert url_key(key) == key


# -- url_key ----------------------------------------------------------------------------------


@URL_PROPS
@given(st.data(), urls)
def test_url_key_ignores_what_does_not_change_the_page(data: st.DataObject, url: Url) -> None:
    """Two spellings of one URL: fragment, host/scheme case, :80/:443, escape case, query order, tracking."""
    first = data.draw(spell(url))
    second = data.draw(spell(url))
    assert url_key(first) == url_key(second), (first, second)


@URL_PROPS
@given(spelled())
def test_url_key_is_an_idempotent_valid_url(case: tuple[Url, str]) -> None:
    url, text = case
    key = url_key(text)
    assert_valid_key(key)
    assert key.startswith(url.scheme + "://")


@URL_PROPS
@given(spelled(tracking=False, fragment=False), st.lists(st.tuples(tracking_names, st.text(max_size=5)), max_size=3))
def test_url_key_drops_what_strip_tracking_removes(case: tuple[Url, str], tracking: list[tuple[str, str]]) -> None:
    text = case[1]
    assert strip_tracking(text) == text  # nothing to strip: the URL as written
    extra = "&".join(f"{quote(name)}={quote(value)}" for name, value in tracking)
    tracked = text + ("&" if "?" in text else "?") + extra if extra else text
    assert url_key(tracked) == url_key(text)
    stripped = urlsplit(strip_tracking(tracked))
    assert stripped[:3] == urlsplit(text)[:3]  # scheme, host, path
    assert not any(is_tracking_param(unquote_plus(arg.partition("=")[0])) for arg in stripped.query.split("&"))


def _mutations(url: Url) -> st.SearchStrategy[Url]:
    other_scheme = "https" if url.scheme == "http" else "http"
    options = [
        st.lists(segments, max_size=4).map(lambda segs: replace(url, segments=tuple(segs))),
        st.just(replace(url, scheme=other_scheme, port=None if url.port == DEFAULT_PORTS[other_scheme] else url.port)),
        ports.map(lambda p: replace(url, port=None if p == DEFAULT_PORTS[url.scheme] else p)),
        hosts.map(lambda h: replace(url, host=h)),
        st.lists(st.tuples(param_names, param_values), max_size=4).map(lambda q: replace(url, query=tuple(q))),
    ]
    if url.query:
        options.append(st.tuples(st.integers(0, len(url.query) - 1), param_values).map(
            lambda change: replace(url, query=tuple((n, change[1] if i == change[0] else v)
                                                    for i, (n, v) in enumerate(url.query)))))
    return st.one_of(options)


@URL_PROPS
@given(st.data(), urls)
def test_url_key_tells_different_pages_apart(data: st.DataObject, url: Url) -> None:
    """A different path, non-tracking query value, scheme, host or non-default port: a different key."""
    other = data.draw(_mutations(url))
    assume(other.meaning() != url.meaning())
    first, second = data.draw(spell(url)), data.draw(spell(other))
    assert url_key(first) != url_key(second), (first, second)


def test_url_key_keeps_query_bytes_that_are_not_utf8() -> None:
    """Regression: strip_tracking decoded the query as UTF-8 with replacement characters, so every
    Latin-1 query value (``?q=M%FCller``, ``?q=M%E4ller``) had the key ``?q=M%EF%BF%BDller``."""
    assert url_key("http://a.test/?q=M%FCller") != url_key("http://a.test/?q=M%E4ller")
    assert url_key("http://a.test/?q=M%FCller&utm_source=x") == url_key("http://a.test/?q=M%fcller")
    assert url_key("http://a.test/?q=%zz") == url_key(url_key("http://a.test/?q=%zz"))


URL_PIECES = ["a.test", "A.TEST", "bücher.de", "[::1]", "[2001:DB8::1]", "1.2.3.4", ":80", ":443", ":8080", ":0080",
              "user:pw@", "@", "/", "//", "/./", "/../", "%", "%zz", "%2F", "%25", "%C3%A9", "%ff", "é", "?", "&",
              "&&", "=", "+", ";", "#", "##", "utm_source=1", "fbclid=x", "q=%FC", ".", "..", "-", "xn--", "~",
              "\x00", "\x7f", "\u200b", "\ufeff", "\u2028", "[", "]", ":", "\\", "|", "{}", "a" * 70, "¨", "ａ",
              "％", "＠", "ß", "ς", "İ", "\u0301", "Ⅻ", "<", ">", "^", "`", '"', "'"]


@MID
@given(st.sampled_from(["http://", "https://", "HTTP://", "http:", "https:/", "", "http://a.test"]),
       st.lists(st.one_of(st.sampled_from(URL_PIECES), st.text(max_size=4)), max_size=8))
def test_url_key_never_raises_on_an_accepted_url(prefix: str, pieces: list[str]) -> None:
    raw = prefix + "".join(pieces)
    try:
        accepted = validate_url(raw)
    except InvalidSeed:
        return
    key = url_key(accepted)
    assert_valid_key(key)
    assert url_key(accepted + "#anything") == key


@URL_PROPS
@given(spelled(), st.sampled_from(["host", "domain", "prefix"]), st.data())
def test_a_seed_is_in_its_own_scope_however_its_links_spell_it(case: tuple[Url, str], mode: str,
                                                               data: st.DataObject) -> None:
    url, seed = case
    scope = Scope.for_seeds([seed], mode=mode, max_depth=2)
    assert scope.verdict(seed, 0) is None
    for _ in range(2):  # the same page as a link might spell it (e.g. an IDN host in punycode, as Scrapy sends it)
        link = data.draw(spell(url))
        assert scope.verdict(link, 1) is None, (seed, link)
        assert scope.verdict(link, 3) == "depth"
    assert scope.verdict("mailto:someone@" + host_of(seed), 0) == "scheme"


def test_host_scope_matches_an_idn_seed_in_punycode() -> None:
    """A seed's host as written (bücher.de) and as Scrapy requests it and links carry it (xn--bcher-kva.de)."""
    scope = Scope.for_seeds(["https://bücher.de/start"])
    assert scope.allows("https://xn--bcher-kva.de/page", 0)
    assert Scope.for_seeds(["https://xn--bcher-kva.de/"]).allows("https://BÜCHER.de/page", 0)
    assert Scope.for_seeds(["https://bücher.de/"], mode="domain").allows("https://www.xn--bcher-kva.de/", 0)


# ===========================================================================================
# Seeds
# ===========================================================================================

# Seed URLs as people write them (no '#': the fragment rules are url_key's business, not the file format's).
valid_seed_urls = st.builds(
    lambda scheme, host, path: f"{scheme}://{host}/{path}", st.sampled_from(["http", "https", "HTTPS"]),
    st.sampled_from(["a.test", "A.Test:443", "bücher.de", "xn--bcher-kva.de", "[2001:db8::1]", "127.0.0.1:8080",
                     "user:pw@a.test"]),
    st.text(alphabet=string.ascii_letters + string.digits + "-._~/%?=&;:@!$'()*+,\\éü€中", max_size=12))
SPACES = " \t\u00a0\u3000\x0b\x0c\u2003"
blanks = st.text(alphabet=SPACES, max_size=3)
comment_text = st.text(max_size=12).map(lambda t: t.replace("\r", "").replace("\n", ""))


def _read(data: bytes, encoding: str) -> list[str]:
    """As the CLI reads a seed file (utf-8-sig, universal newlines) or stdin (utf-8)."""
    return parse_seed_lines(io.TextIOWrapper(io.BytesIO(data), encoding=encoding))


@st.composite
def messy_lines(draw: st.DrawFn, urls_: list[str]) -> list[str]:
    """The lines of a hand-edited seed file holding ``urls_``: blank and comment lines, white space
    around URLs, inline comments (white space, then '#')."""
    lines: list[str] = []
    for url in urls_:
        for _ in range(draw(st.integers(0, 2))):
            lines.append(draw(st.one_of(blanks, st.builds(lambda a, b: a + "#" + b, blanks, comment_text))))
        line = draw(blanks) + url + draw(blanks)
        if draw(st.booleans()):
            line += draw(st.text(alphabet=SPACES, min_size=1, max_size=2)) + "#" + draw(comment_text)
        lines.append(line)
    return lines + draw(st.lists(st.one_of(blanks, st.builds(lambda a: "# " + a, comment_text)), max_size=2))


@st.composite
def seed_file(draw: st.DrawFn, lines: list[str]) -> bytes:
    """The bytes of a file holding ``lines``: a UTF-8 BOM or not, LF, CRLF or CR line ends."""
    text = ""
    for line in lines:
        # Each line its own line end; but "\r" then an empty line ended by "\n" would be one "\r\n".
        ends = ["\r\n", "\r"] if text.endswith("\r") and not line else ["\n", "\r\n", "\r"]
        text += line + draw(st.sampled_from(ends))
    if lines and not draw(st.booleans()):
        text = text.rstrip("\r\n")  # no line end after the last line
    return (b"\xef\xbb\xbf" if draw(st.booleans()) else b"") + text.encode("utf-8")


@URL_PROPS
@given(st.lists(valid_seed_urls, max_size=5), st.data())
def test_seed_file_noise_does_not_change_the_urls(urls_: list[str], data: st.DataObject) -> None:
    clean = ("\n".join(urls_) + "\n").encode("utf-8")
    assert _read(clean, "utf-8-sig") == urls_
    messy = data.draw(seed_file(data.draw(messy_lines(urls_))))
    assert _read(messy, "utf-8-sig") == urls_
    assert _read(messy, "utf-8") == urls_  # stdin: the BOM is not stripped by the decoder


def _validation_error(text: str) -> str | None:
    try:
        seed_url(text)  # how a seed file reads a line: no scheme is https://
    except InvalidSeed as exc:
        return str(exc)
    return None


garbage = st.one_of(
    st.sampled_from(["javascript:alert(1)", "data:text/html,hi", "ftp://a.test/f", "example.com/page", "http://",
                     "https:///path", "http://exa mple.com/", "http://a.test:99999/", "http://a.test:0/",
                     "mailto:me@a.test", "//a.test/", "http://[::1/", "www.a.test", "\x00", "http://a.test:x/"]),
    st.text(max_size=20),
).map(lambda t: t.replace("\r", "").replace("\n", "")).filter(
    lambda t: "#" not in t and "\ufeff" not in t and t.strip() != "" and _validation_error(t.strip()) is not None)


@URL_PROPS
@given(st.lists(valid_seed_urls, max_size=4), garbage, st.data())
def test_a_garbage_line_is_reported_with_its_line_number(urls_: list[str], bad: str, data: st.DataObject) -> None:
    lines = data.draw(messy_lines(urls_))
    index = data.draw(st.integers(0, len(lines)))
    lines.insert(index, bad)
    with pytest.raises(InvalidSeed) as raised:
        _read(data.draw(seed_file(lines)), "utf-8-sig")
    message = str(raised.value)
    assert message == f"line {index + 1}: {_validation_error(bad.strip())}"
    assert len(message.splitlines()) == 1


@MID
@given(st.lists(st.text(max_size=30), max_size=6))
def test_seed_parser_raises_only_invalid_seed(lines: list[str]) -> None:
    try:
        found = parse_seed_lines(lines)
    except InvalidSeed as exc:
        number = re.match(r"line (\d+): ", str(exc))
        assert number and 1 <= int(number.group(1)) <= len(lines)
        assert len(str(exc).splitlines()) == 1
        return
    assert all(validate_url(url) == url for url in found)


arbitrary_urlish = st.one_of(
    st.text(),
    st.builds(lambda prefix, rest: prefix + rest,
              st.sampled_from(["http://", "https://", "HTTPS://", "javascript:", "data:", "ftp://", "mailto:",
                               " http://", "http:// ", "\x00http://", "http://\x01", "file:///", "http:", "//"]),
              st.text(max_size=40)),
    st.builds(lambda n, c: "http://a.test/" + c * n, st.integers(0, 100_000), st.characters()),
)


@MID
@given(arbitrary_urlish)
def test_validate_url_returns_an_http_url_or_raises_invalid_seed(raw: str) -> None:
    try:
        url = validate_url(raw)
    except InvalidSeed as exc:
        assert len(str(exc).splitlines()) == 1
        assert str(exc) == "empty URL" or str(exc).startswith("invalid URL ")
        return
    assert url == raw.strip()
    assert re.match(r"(?i)https?://", url), url
    parts = urlsplit(url)
    assert parts.scheme in ("http", "https") and parts.hostname
    assert not any(ch.isspace() for ch in url)
    assert validate_url(url) == url


def test_validate_url_refuses_control_characters_and_misplaced_brackets() -> None:
    """Regressions: ``"\\x08http://a.test/"`` was returned as a valid http URL (urlsplit skips leading
    C0 controls), and ``"http://a.test[::1]/"`` was accepted though url_key() and Scrapy raise on it."""
    for raw in ("\x08http://a.test/", "http://a.test/\x07", "http://a\x1bb.test/", "http://a.test/\x7f"):
        with pytest.raises(InvalidSeed, match="control character"):
            validate_url(raw)
    for raw in ("http://a.test[::1]/", "http://[::1]x/", "http://u@a[::1]:80/", "http://[::1]user:pw@a.test"):
        with pytest.raises(InvalidSeed, match="Invalid IPv6 URL"):
            validate_url(raw)
    for raw in ("http://\\", "http://a.test\\evil.test/", "http://\u00a8/"):  # no host, or not the one url_key sees
        with pytest.raises(InvalidSeed, match="invalid host name"):
            validate_url(raw)
    assert validate_url("http://u@[::1]:80/p[1]?q=[2]") == "http://u@[::1]:80/p[1]?q=[2]"


@URL_PROPS
@given(st.lists(spelled(), max_size=4), st.data())
def test_dedupe_keeps_the_first_spelling_of_each_page(cases: list[tuple[Url, str]], data: st.DataObject) -> None:
    pool = [text for _url, text in cases]
    for _ in range(data.draw(st.integers(0, 3)) if cases else 0):  # other spellings of some of them, anywhere
        url = data.draw(st.sampled_from(cases))[0]
        pool.insert(data.draw(st.integers(0, len(pool))), data.draw(spell(url)))
    keys = [url_key(u) for u in pool]
    out = dedupe_seeds(pool)
    assert out == [u for i, u in enumerate(pool) if keys[i] not in keys[:i]]  # the first of each, in order
    assert len({url_key(u) for u in out}) == len(out) == len(set(keys))
    assert dedupe_seeds(out) == out
    assert dedupe_seeds(pool + pool) == out


@URL_PROPS
@given(spelled(), st.data())
def test_dedupe_of_spellings_of_one_page_is_the_first(case: tuple[Url, str], data: st.DataObject) -> None:
    url, first = case
    others = data.draw(st.lists(spell(url), max_size=4))
    assert dedupe_seeds([first, *others]) == [first]


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


@st.composite
def records_in_sequence(draw: st.DrawFn) -> list[dict[str, Any]]:
    """Captures of one page, each record built with the URL's last good record as ``previous``."""
    out: list[dict[str, Any]] = []
    previous: dict[str, Any] | None = None
    for _ in range(draw(st.integers(1, 3))):
        capture = draw(captures())
        article = draw(st.one_of(st.none(), articles(capture.url)))
        extractor = draw(st.one_of(st.none(), st.just(current_extractor())))
        record = record_for_capture(draw(crawl_ids), capture, article, extractor, previous=previous).to_dict()
        out.append(record)
        if record["version"] is not None:
            previous = record
    return out


@FEW
@given(records_in_sequence())
def test_every_record_validates_and_round_trips_through_json(record_validator: Draft202012Validator,
                                                             records: list[dict[str, Any]]) -> None:
    assert_valid_records(record_validator, records)
    for record in records:
        assert json.loads(json.dumps(record)) == record
        assert json.loads(dumps_line(record).encode("utf-8").decode("utf-8")) == record  # pages.jsonl
    versions = [(r["version"], r["changed_fields"]) for r in records if r["version"] is not None]
    assert versions[:1] in ([], [(1, [])])  # the first capture with content is version 1
    for (before, _), (after, changed) in itertools.pairwise(versions):
        assert after == before + (1 if changed else 0)  # then up by one exactly when something changed


@FEW
@given(captures(), st.data())
def test_build_page_record_validates(record_validator: Draft202012Validator, capture: Capture,
                                     data: st.DataObject) -> None:
    article = data.draw(st.one_of(st.none(), articles(capture.url)))
    record = build_page_record(data.draw(crawl_ids), capture, article, current_extractor()).to_dict()
    assert_valid_records(record_validator, [record])
    assert record["normalized_url"] == url_key(capture.url)
    assert record["extractor"] is None or article is not None


@FEW
@given(captures(), st.data())
def test_a_revisit_keeps_the_content_and_version_of_what_it_revisits(capture: Capture, data: st.DataObject) -> None:
    first = build_page_record(data.draw(crawl_ids), capture, data.draw(articles(capture.url)),
                              current_extractor()).to_dict()
    revisit = record_for_capture(data.draw(crawl_ids), replace(capture, record_kind="revisit"), None, None,
                                 previous=first).to_dict()
    for name in ("text", "title", "authors", "published", "modified", "text_sha256", "text_simhash", "word_count"):
        assert revisit[name] == first[name], name
    assert revisit["version"] == first["version"]
    assert revisit["changed_fields"] == []


# -- next_version ------------------------------------------------------------------------------

KEY_VALUES = {
    "text": st.one_of(st.none(), st.sampled_from(["One text.", "Another text.", "one text"])),
    "title": st.one_of(st.none(), st.sampled_from(["A title", "Another title", "a title"])),
    "authors": st.lists(st.sampled_from(["Jane Doe", "John Roe", "jane doe"]), unique=True, max_size=2),
    "published": st.one_of(st.none(), st.sampled_from(["2024-03-01", "2024-03-01T10:00:00+01:00"])),
    "modified": st.one_of(st.none(), st.sampled_from(["2024-03-02", "2024-03-02T10:00:00Z"])),
}
key_articles = st.builds(Article, **KEY_VALUES, description=st.one_of(st.none(), st.text(max_size=5)),
                         tags=st.lists(st.text(min_size=1, max_size=3), max_size=2))


CAPTURE = Capture(requested_url="http://a.test/", url="http://a.test/", status=200, content_type="text/html",
                  fetched_at=datetime(2024, 3, 1, tzinfo=UTC), payload_digest=None,
                  warc=WarcPointer(file="a.warc.gz", offset=0, length=1,
                                   record_id="<urn:uuid:12345678-1234-1234-1234-123456789abc>"))


@MID
@given(st.integers(100, 599), key_articles, st.integers(1, 10**6), st.one_of(st.none(), key_articles),
       st.integers(100, 599))
def test_version_goes_up_by_one_exactly_when_a_key_field_changes(before_status: int, before: Article,
                                                                 before_version: int, after: Article | None,
                                                                 status: int) -> None:
    capture = replace(CAPTURE, status=before_status)
    previous = build_page_record("20240301T000000Z-abcdef", capture, before, current_extractor()).to_dict()
    if previous["version"] is not None:
        previous["version"] = before_version  # the page's history before this record
    version, changed = next_version(previous, after, status)
    if after is None or (after.text is None and after.title is None):  # no content: no version
        assert version is None
        assert changed == (["status"] if status != previous["status"] else [])
        return
    if previous["version"] is None:
        assert (version, changed) == (1, [])
        return
    expected = [name for name in KEY_FIELDS
                if (text_sha256(getattr(after, name)) if name == "text" else getattr(after, name))
                != (previous["text_sha256"] if name == "text" else previous[name])]
    assert changed == expected
    assert version == previous["version"] + (1 if changed else 0)


@MID
@given(key_articles, st.integers(1, 10**6), st.integers(100, 599),
       st.fixed_dictionaries({}, optional={"description": st.text(max_size=4), "site_name": st.text(max_size=4),
                                           "markdown": st.text(max_size=4), "tags": st.lists(st.text(max_size=3))}))
def test_version_ignores_fields_that_are_not_key_fields(article: Article, version: int, status: int,
                                                        other: dict[str, Any]) -> None:
    assume(article.text is not None or article.title is not None)
    previous = {"version": version, "status": 200, "text_sha256": text_sha256(article.text), "title": article.title,
                "authors": list(article.authors), "published": article.published, "modified": article.modified}
    assert next_version(previous, replace(article, **other), status) == (version, [])
    assert next_version(None, article, status) == (1, [])


# -- the small normalisers ---------------------------------------------------------------------


@PROPS
@given(aware_datetimes)
def test_utc_timestamp_is_utc_and_exact_to_the_second(moment: datetime) -> None:
    stamp = utc_timestamp(moment)
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z", stamp), stamp
    parsed = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    assert parsed.utcoffset() == timedelta(0)
    assert parsed <= moment < parsed + timedelta(seconds=1)


def test_utc_timestamp_pads_the_year() -> None:
    """Regression: strftime('%Y') gives '999', not '0999', so the value broke the record schema."""
    assert utc_timestamp(datetime(999, 5, 1, 12, tzinfo=UTC)) == "0999-05-01T12:00:00Z"


MEDIA_TOKEN = st.text(alphabet=string.ascii_letters + string.digits + "!#$&^_.+-", min_size=1, max_size=10)


@PROPS
@given(st.one_of(st.none(), st.text(max_size=30), content_types))
def test_mime_type_gives_a_bare_lower_case_media_type_or_none(value: str | None) -> None:
    result = mime_type(value)
    assert result is None or re.fullmatch(r"[a-z0-9!#$&^_.+-]+/[a-z0-9!#$&^_.+-]+", result), result
    assert mime_type(result) == result


@PROPS
@given(MEDIA_TOKEN, MEDIA_TOKEN, st.text(max_size=20), st.text(alphabet=" \t", max_size=2))
def test_mime_type_drops_parameters_and_case(kind: str, sub: str, params: str, pad: str) -> None:
    assert mime_type(f"{pad}{kind}/{sub}{pad};{params}") == f"{kind}/{sub}".lower()


def test_mime_type_of_a_malformed_header_is_unknown() -> None:
    """Regression: a malformed Content-Type was kept, and broke the record schema."""
    assert mime_type("text/html charset=utf-8") is None
    assert mime_type("html") is None
    assert mime_type("Text/HTML; charset=UTF-8") == "text/html"


@PROPS
@given(words_text, words_text)
def test_word_count_adds_up_over_separated_texts(first: str, second: str) -> None:
    assert word_count(first + " " + second) == word_count(first) + word_count(second)
    assert word_count(first) >= 0 and word_count(None) == 0 == word_count("")


@PROPS
@given(words_text, words_text)
def test_text_sha256_names_the_text(first: str, second: str) -> None:
    digest = text_sha256(first)
    assert digest is None if not first else re.fullmatch(r"sha256:[0-9a-f]{64}", digest or "")
    if first and second:
        assert (text_sha256(first) == text_sha256(second)) == (first == second)


WORD = re.compile(r"\w+")
# Characters that are not word characters, nor are their lower-case forms: punctuation, white space, symbols.
SEPARATORS = [c for c in map(chr, [*range(0x3100), *range(0xFE10, 0xFFFE), *range(0x1F300, 0x1F400)])
              if not WORD.match(c) and not WORD.match(c.lower()) and not 0xD800 <= ord(c) < 0xE000]


@PROPS
@given(st.one_of(st.text(alphabet=ANY_CHAR, max_size=60),
                 st.text(alphabet="ΑΣΟΔΚαςσοδκİiIßẞ _.:'’-,;!?\n\u00a0", max_size=30)),
       st.randoms(use_true_random=True))
def test_simhash_ignores_case_punctuation_and_white_space(text: str, rnd: random.Random) -> None:
    """simhash hashes the word 3-grams of text.lower(): words are runs of \\w characters, so case, and what
    separates the words (punctuation, white space), do not count."""
    assume(text)
    result = simhash(text)
    assert result is not None and re.fullmatch(r"[0-9a-f]{16}", result)
    assert simhash(text) == result  # deterministic
    # Same words, other separators: every run of non-word characters replaced by another one.
    pieces = re.split(r"(\w+)", text)
    respelled = "".join(
        piece if index % 2 else "".join(rnd.choices(SEPARATORS, k=rnd.randint(0 < index < len(pieces) - 1, 3)))
        for index, piece in enumerate(pieces))
    # Other case: any character whose other case lower-cases the same.
    recased = "".join(c.upper() if rnd.random() < 0.5 and c.upper().lower() == c.lower() else c for c in respelled)
    assume(recased)
    assert simhash(recased) == result, (text, recased)


def test_simhash_of_nothing() -> None:
    assert simhash(None) is None and simhash("") is None


def test_simhash_of_greek_capitals_ignores_punctuation_and_case() -> None:
    """Regression: 'ΟΔΟΣ.ΚΑΙ'.lower() is 'οδοσ.και' but 'ΟΔΟΣ ΚΑΙ'.lower() is 'οδος και' (final sigma)."""
    assert simhash("ΟΔΟΣ.ΚΑΙ ΜΕΤΑ") == simhash("ΟΔΟΣ ΚΑΙ ΜΕΤΑ") == simhash("οδος και μετα") == simhash("οδοσ και μετα")
    assert simhash("Grüße aus Köln") == simhash("grüße, AUS köln!")


@PROPS
@given(st.one_of(st.none(), words_text))
def test_clean_text_is_idempotent_and_tidy(value: str | None) -> None:
    result = clean_text(value)
    assert clean_text(result) == result
    if result is not None:
        assert result and all(line and line == line.strip() for line in result.split("\n"))


@PROPS
@given(st.one_of(st.none(), words_text, st.sampled_from([" null ", "None", "undefined", "\u00a0", "0", 0, 1.5])))
def test_clean_field_is_idempotent_and_never_blank(value: Any) -> None:
    result = clean_field(value)
    assert clean_field(result) == result
    assert result is None or (result == result.strip() and result.lower() not in {"none", "null", "undefined"})


@PROPS
@given(st.one_of(st.none(), st.text(max_size=20), st.lists(st.one_of(st.none(), words_text), max_size=5)))
def test_clean_list_is_idempotent_and_unique(value: Any) -> None:
    result = clean_list(value)
    assert clean_list(result) == result
    assert len(set(result)) == len(result) and all(result)


@PROPS
@given(st.one_of(st.none(), title_text))
def test_split_authors_gives_distinct_names(value: str | None) -> None:
    names = split_authors(value)
    assert all(names)
    assert len({n.lower() for n in names}) == len(names)
    assert not any(";" in n or "|" in n for n in names)


@PROPS
@given(st.one_of(st.none(), st.text(max_size=8),
                 st.from_regex(r"[A-Za-z]{2,3}([-_][A-Za-z0-9]{1,8})?", fullmatch=True)))
def test_language_code_is_a_primary_subtag(value: str | None) -> None:
    code = language_code(value)
    assert code is None or re.fullmatch(r"[a-z]{2,3}", code)
    assert language_code(code) == code
    if value and re.fullmatch(r"[A-Za-z]{2,3}([-_].*)?", value.strip()):
        assert code == re.split(r"[-_]", value.strip())[0].lower()


PAGE_DATE = re.compile(r"\d{4}-\d{2}-\d{2}|\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?([+-]\d{2}:\d{2})?")


@PROPS
@given(raw_dates())
def test_normalise_date_gives_a_schema_date_or_none(value: str | None) -> None:
    result = normalise_date(value)
    assert result is None or PAGE_DATE.fullmatch(result), (value, result)
    assert normalise_date(result) == result


def _whole_minute_offset(moment: datetime) -> bool:
    offset = moment.utcoffset()
    return offset is not None and offset % timedelta(minutes=1) == timedelta(0)


@PROPS
@given(aware_datetimes.filter(_whole_minute_offset))
def test_normalise_date_keeps_the_page_offset(moment: datetime) -> None:
    result = normalise_date(moment.isoformat())
    assert result is not None
    parsed = datetime.fromisoformat(result)
    assert parsed == moment and parsed.utcoffset() == moment.utcoffset()
    assert normalise_date(moment.date().isoformat()) == moment.date().isoformat()
    basic = f"{moment.year:04d}{moment.month:02d}{moment.day:02d}"
    assert normalise_date(basic) == moment.date().isoformat()  # date-only stays date-only


def test_normalise_date_edge_cases() -> None:
    """Regressions: a date in ISO basic form became a date-time at midnight; a sub-minute offset
    (allowed by fromisoformat) gave a value the record schema refuses."""
    assert normalise_date("20240301") == "2024-03-01"
    assert normalise_date("2024-W10-1") == "2024-03-04"
    assert normalise_date("2024-03-01T10:00:00+05:30:15") is None
    assert normalise_date("2024-03-01T10:00:00Z") == "2024-03-01T10:00:00+00:00"


@PROPS
@given(st.one_of(st.none(), st.dates().map(date.isoformat), st.text(max_size=10)), raw_dates())
def test_merge_dates_keeps_the_day(day: str | None, timestamp: str | None) -> None:
    result = merge_dates(day, timestamp)
    assert result is None or PAGE_DATE.fullmatch(result)
    if day is not None and re.fullmatch(r"\d{4}-\d{2}-\d{2}", day):
        assert result is not None and result[:10] == day
    if day is None:
        assert result == normalise_date(timestamp)


@URL_PROPS
@given(raw_urls, http_urls)
def test_absolute_gives_an_absolute_http_url_or_none(value: str | None, base: str) -> None:
    result = _absolute(value, base)
    assert result is None or (RECORD_URL.match(result) and urlsplit(result).hostname), result
    if value and _validation_error(value.strip()) is None and RECORD_URL.match(value.strip()):
        assert result is not None and url_key(result) == url_key(value.strip())  # (urljoin drops an empty '#')


def test_absolute_survives_what_pages_write() -> None:
    """Regressions: a canonical URL with a space broke the record schema, one without a host was
    kept, and a malformed IPv6 host raised out of extract_page."""
    base = "https://a.test/dir/page"
    assert _absolute("http://a.test/my page.html", base) == "http://a.test/my%20page.html"
    assert _absolute("other\npage.html", base) == "https://a.test/dir/otherpage.html"
    assert _absolute("http://", base) is None
    assert _absolute("http://[::1", base) is None


@FEW
@given(st.one_of(st.none(), title_text), hints(), http_urls)
def test_picked_titles_and_authors_are_schema_text(found: str | None, page_hints: StructuredHints,
                                                   url: str) -> None:
    title = pick_title(clean_field(found), url, page_hints)
    assert title is None or re.search(r"\S", title)
    authors = pick_authors(clean_field(found), url, page_hints)
    assert len(set(authors)) == len(authors) and all(re.search(r"\S", a) for a in authors)
