"""crawl.resolver: IP literals and IDN names answered without DNS (behind tests/integration/test_hostile.py)."""

from __future__ import annotations

import pytest

from scraper.crawl.resolver import StaticHostsResolver, ip_literal
from scraper.scope import ascii_host


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
