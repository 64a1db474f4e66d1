"""crawl.politeness: reading Retry-After."""

from __future__ import annotations

from datetime import UTC, datetime

from scraper.crawl.politeness import parse_retry_after


def test_retry_after_seconds_or_http_date() -> None:
    now = datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC).timestamp()
    assert parse_retry_after("120", now) == 120
    assert parse_retry_after("Thu, 01 Jan 2026 12:00:30 GMT", now) == 30
    assert parse_retry_after("Thu, 01 Jan 2026 11:00:00 GMT", now) == 0
    assert parse_retry_after("soon", now) is None
