"""scope: canonical URL keys (examples, then properties), tracking parameters, special addresses, the crawl scope."""

from __future__ import annotations

import string
from dataclasses import replace
from urllib.parse import quote, unquote_plus, urlsplit

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from scraper.scope import (
    TRACKING_PARAMS,
    TRACKING_PREFIXES,
    Scope,
    ascii_host,
    host_of,
    is_special_address,
    is_tracking_param,
    registered_domain,
    strip_tracking,
    url_key,
)
from scraper.seeds import InvalidSeed, validate_url
from tests.unit.helpers.strategies import (
    DEFAULT_PORTS,
    MID,
    RECORD_URL,
    URL_PROPS,
    Url,
    hosts,
    param_names,
    param_values,
    ports,
    segments,
    spell,
    spelled,
    urls,
)


def test_url_key_normalises_what_does_not_change_the_page() -> None:
    assert url_key("http://A.test:80/p?b=2&a=1#top") == url_key("http://a.test/p?a=1&b=2")
    assert url_key("http://a.test/caf%c3%a9") == url_key("http://a.test/caf%C3%A9")
    assert url_key("http://a.test/p?a=1") != url_key("http://a.test/p?a=2")


def test_scope_same_host_within_depth() -> None:
    scope = Scope.for_seeds(["http://a.test/start"], max_depth=1)
    assert scope.allows("http://a.test/other", 1)
    assert not scope.allows("http://a.test/other", 2)
    assert not scope.allows("http://b.test/other", 1)
    assert not scope.allows("mailto:x@a.test", 1)


def test_ascii_host_is_what_requests_send() -> None:
    assert ascii_host("Bücher.TEST") == "xn--bcher-kva.test"
    assert ascii_host("www.Example.com") == "www.example.com"
    assert ascii_host("xn--bcher-kva.test") == "xn--bcher-kva.test"


def test_an_idn_seed_keeps_its_own_links_in_scope() -> None:
    scope = Scope.for_seeds(["http://bücher.test/a"], max_depth=1)
    assert scope.verdict("http://xn--bcher-kva.test/b", 1) is None  # joined to the punycode URL fetched
    assert scope.verdict("http://bücher.test/c", 1) is None
    assert scope.verdict("http://other.test/", 1) == "scope:host"


def test_tracking_parameters_are_not_part_of_the_key() -> None:
    assert strip_tracking("http://h.test/a?utm_source=x&id=3&fbclid=y&gclid=z") == "http://h.test/a?id=3"
    assert url_key("http://h.test/a?utm_medium=m&id=3") == url_key("http://h.test/a?id=3")


def test_scope_verdicts_name_the_rule() -> None:
    scope = Scope.for_seeds(["https://www.bbc.co.uk/news/world/story.html"], max_depth=2, mode="domain",
                            deny=[r"/sport/"], allow=[r"/news/"])
    assert scope.verdict("https://www.bbc.co.uk/news/uk", 1) is None
    assert scope.verdict("https://feeds.bbc.co.uk/news/x", 1) is None  # same registered domain
    assert scope.verdict("https://www.bbc.com/news/x", 1) == "scope:domain"
    assert scope.verdict("https://www.bbc.co.uk/news/sport/x", 1) == "deny"
    assert scope.verdict("https://www.bbc.co.uk/weather", 1) == "allow"
    assert scope.verdict("https://www.bbc.co.uk/news/uk", 3) == "depth"
    prefix = Scope.for_seeds(["https://h.test/news/world/story.html"], max_depth=1, mode="prefix")
    assert prefix.verdict("https://h.test/news/world/other", 1) is None
    assert prefix.verdict("https://h.test/news/other", 1) == "scope:prefix"
    assert registered_domain("127.0.0.1") == "127.0.0.1"


@pytest.mark.parametrize(("address", "special"), [
    ("127.0.0.1", True), ("10.1.2.3", True), ("192.168.0.1", True), ("169.254.1.1", True), ("224.0.0.1", True),
    ("::1", True), ("[fe80::1]", True), ("::ffff:10.0.0.1", True), ("93.184.216.34", False),
    ("2606:2800:220:1:248:1893:25c8:1946", False), ("example.com", False),
])
def test_special_addresses(address: str, special: bool) -> None:
    assert is_special_address(address) is special


tracking_names = st.tuples(
    st.one_of(st.sampled_from(sorted(TRACKING_PARAMS)),
              st.builds(lambda prefix, rest: prefix + rest, st.sampled_from(TRACKING_PREFIXES),
                        st.text(alphabet=string.ascii_letters + "_", max_size=6))),
    st.randoms(use_true_random=True),
).map(lambda case: "".join(c.upper() if case[1].random() < 0.5 else c for c in case[0]))


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


# -- special addresses as the guard judges resolved ones (from tests/integration/test_hostile_output.py) ------
@pytest.mark.parametrize(("special", "public"), [
    ("100.64.0.1", "100.128.0.1"), ("100.127.255.255", "100.63.255.255"),  # the shared address space's edges
    ("100.100.100.200", "93.184.216.34"),  # a cloud's metadata service in it
    ("2002:7f00:1::", "2002:5db8:d822::1"),  # 6to4 of 127.0.0.1, and of a public address
    ("2002:a9fe:a9fe::1", "2002:5db8:d822::1"), ("2002:a00:1::", "2002:5db8:d822::1"),  # of 169.254/16, 10/8
    ("2002:6440:1::", "2002:5db8:d822::1"),  # of 100.64.0.1
    ("::ffff:100.64.0.1", "::ffff:93.184.216.34"),  # IPv4-mapped: the IPv4 address itself
])
def test_the_guard_sees_through_addresses_that_wrap_ipv4(special: str, public: str) -> None:
    """Resolved addresses as the guard judges them (NAT64, IPv4-compatible and Teredo addresses were
    special already: IANA reserves or keeps them private)."""
    from scraper.scope import is_special_address

    assert is_special_address(special) and not is_special_address(public)
