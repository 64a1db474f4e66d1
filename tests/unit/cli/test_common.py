"""cli._common: the values options take."""

from __future__ import annotations

import pytest

from scraper.cli._common import parse_duration, parse_size, size_text
from scraper.scope import parse_resolve


def test_cli_values() -> None:
    assert parse_size("1G") == 1024**3 and parse_size("500K") == 500 * 1024 and parse_size("12") == 12
    assert parse_duration("90s") == 90 and parse_duration("2h") == 7200 and parse_duration("3") == 3
    assert parse_resolve(["a.test:127.0.0.1", "B.test:[::1]"]) == {"a.test": "127.0.0.1", "b.test": "::1"}
    with pytest.raises(ValueError):
        parse_resolve(["nocolon"])


@pytest.mark.parametrize(("size", "text"), [(1024**3, "1G"), (3 * 1024**4, "3T"), (5 * 1024**2, "5M"), (1024, "1K"),
                                            (1536, "1536"), (10**9, "1000000000"), (1, "1"), (0, "0")])
def test_size_text_is_read_back_exactly(size: int, text: str) -> None:
    assert size_text(size) == text and parse_size(text) == size


def test_default_jobs_takes_every_cpu_only_for_enough_work() -> None:
    from scraper.cli._common import default_jobs, usable_cpus

    assert default_jobs(3, 1, 50) == 3  # as given, whatever the work
    assert default_jobs(1, 10_000, 50) == 1
    assert default_jobs(None, 49, 50) == 1  # a pool's start would cost more than it saves
    assert default_jobs(None, 50, 50) == usable_cpus()
    assert default_jobs(None, None, 50) == usable_cpus()  # the work is not known: assume it is large
