"""The small pieces behind tests/integration/test_hostile.py: IDN hosts, IP literals, unfollowable redirects."""

from __future__ import annotations

import pytest
from scrapy.http import Response

from scraper.crawl.middlewares import unfollowable_redirect
from scraper.crawl.resolver import StaticHostsResolver, ip_literal
from scraper.scope import Scope, ascii_host


def test_ascii_host_is_what_requests_send() -> None:
    assert ascii_host("Bücher.TEST") == "xn--bcher-kva.test"
    assert ascii_host("www.Example.com") == "www.example.com"
    assert ascii_host("xn--bcher-kva.test") == "xn--bcher-kva.test"


def test_an_idn_seed_keeps_its_own_links_in_scope() -> None:
    scope = Scope.for_seeds(["http://bücher.test/a"], max_depth=1)
    assert scope.verdict("http://xn--bcher-kva.test/b", 1) is None  # joined to the punycode URL fetched
    assert scope.verdict("http://bücher.test/c", 1) is None
    assert scope.verdict("http://other.test/", 1) == "scope:host"


@pytest.mark.parametrize(("name", "address"), [("::1", "::1"), ("[::1]", "::1"), ("127.0.0.1", "127.0.0.1"),
                                               ("example.com", None), ("1", None)])
def test_ip_literal(name: str, address: str | None) -> None:
    assert ip_literal(name) == address


def test_resolver_answers_ip_literals_and_idn_names_without_dns() -> None:
    resolver = StaticHostsResolver(reactor=None, cache_size=10, timeout=1.0,
                                   hosts={ascii_host("bücher.test"): "127.0.0.2"})
    answers: list[str] = []
    resolver.getHostByName("::1").addCallback(answers.append)
    resolver.getHostByName("xn--bcher-kva.test").addCallback(answers.append)
    assert answers == ["::1", "127.0.0.2"]


@pytest.mark.parametrize(("location", "problem"), [
    (None, "without a Location header"),
    ("javascript:alert(1)", "to 'javascript:alert(1)', which is not an http(s) URL"),
    ("ftp://host/file", "to 'ftp://host/file', which is not an http(s) URL"),
    ("http://[::1/x", "to 'http://[::1/x', which is not a valid URL (Invalid IPv6 URL)"),
    ("http://host:99999/", "to 'http://host:99999/', which is not a valid URL (Port out of range 0-65535)"),
    ("/next", None),
    ("//cdn.example.com/x", None),
    ("https://example.com/", None),
])
def test_unfollowable_redirect(location: str | None, problem: str | None) -> None:
    headers = {"Location": location} if location is not None else {}
    response = Response("http://example.com/a", status=302, headers=headers)
    assert unfollowable_redirect(response) == problem
