"""ISO 8601 dates: read from the web (sitemaps, feeds) and typed by a person (``--since``, ``--at``).

One parser for what a person types, :func:`parse_date_or_time`, with one error wording, for every
option that takes a date.  What the date then means stays with the command: ``crawl --since`` keeps
the sitemap and feed entries dated on or after a calendar day (:func:`calendar_day`), ``export`` and
``reextract --since`` the captures made since a moment (:func:`utc_moment`).
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

# Named the same way in every option's help, and in the error.
DATE_FORMS = "YYYY-MM-DD or an ISO date-time such as 2024-03-01T12:00:00Z"
# A date first: fromisoformat() alone would also take 20240301 and 2024-W09, which nobody types for a date.
_TYPED = re.compile(r"\d{4}-\d{2}-\d{2}(?:[Tt ].+)?")
_SHOWN = 40  # characters of a rejected value the error repeats


def parse_iso_date(value: str) -> date | datetime | None:
    """A W3C/ISO 8601 date or date-time (offset kept), or None.  Reduced precision ('2024-03') is not a date."""
    text = value.strip().upper()  # fromisoformat() wants 'T' and 'Z', feeds sometimes write 't' and 'z'
    if not text[:4].isdigit():
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        pass
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        return None


def parse_date_or_time(text: str) -> date | datetime:
    """A date a person typed: ``YYYY-MM-DD`` (a date), or that followed by ``T``, ``t`` or a space and a
    time, the offset optional (a datetime, naive without an offset).  Anything else is a ValueError
    whose message is one line."""
    value = text.strip()
    parsed = parse_iso_date(value) if _TYPED.fullmatch(value) else None
    if parsed is None:
        shown = value if len(value) <= _SHOWN else value[:_SHOWN] + "…"
        raise ValueError(f"invalid date {shown!r}: give {DATE_FORMS}")  # !r: one line, controls escaped
    return parsed


def calendar_day(value: date | datetime) -> date:
    """The day on the calendar the value was written in: 2024-03-01T23:30-05:00 is March 1st."""
    return value.date() if isinstance(value, datetime) else value


def utc_moment(value: date | datetime) -> datetime:
    """The moment in UTC: a date from its midnight UTC, a date-time without an offset taken as UTC."""
    if not isinstance(value, datetime):  # a datetime is a date too: test it first
        return datetime(value.year, value.month, value.day, tzinfo=UTC)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
