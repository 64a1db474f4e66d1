"""scraper.dates: the one parser of the dates a person types (``--since``, ``--at``), and their two meanings."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from scraper import export, seeds
from scraper.dates import calendar_day, parse_date_or_time, parse_iso_date, utc_moment

PLUS_2 = timezone(timedelta(hours=2))
MINUS_5 = timezone(timedelta(hours=-5))


@pytest.mark.parametrize(("text", "expected"), [
    ("2024-03-01", date(2024, 3, 1)),
    (" 2024-03-01\n", date(2024, 3, 1)),
    ("2024-03-01T12:30:00Z", datetime(2024, 3, 1, 12, 30, tzinfo=UTC)),
    ("2024-03-01T12:30:00+02:00", datetime(2024, 3, 1, 12, 30, tzinfo=PLUS_2)),
    ("2024-03-01T12:30:00+0200", datetime(2024, 3, 1, 12, 30, tzinfo=PLUS_2)),
    ("2024-03-01T23:30-05:00", datetime(2024, 3, 1, 23, 30, tzinfo=MINUS_5)),
    ("2024-03-01T12:30", datetime(2024, 3, 1, 12, 30)),  # no offset: naive; each meaning says what that is
    ("2024-03-01 12:30:00", datetime(2024, 3, 1, 12, 30)),
    ("2024-03-01t12:30z", datetime(2024, 3, 1, 12, 30, tzinfo=UTC)),  # as feeds write it: crawl took it, export not
    ("2024-03-01T12", datetime(2024, 3, 1, 12)),
    ("2024-03-01T12:30:00.250Z", datetime(2024, 3, 1, 12, 30, 0, 250_000, tzinfo=UTC)),
])
def test_the_forms_either_option_took_before_are_taken(text: str, expected: date) -> None:
    parsed = parse_date_or_time(text)
    assert parsed == expected and type(parsed) is type(expected)


@pytest.mark.parametrize("text", ["", "yesterday", "2024-3-1", "2024-13-01", "2024-02-30", "01/03/2024", "01.03.2024",
                                  "2024-03", "20240301", "2024-W09-5", "2024-03-01T25:00", "2024-03-01T",
                                  "2024-03-01\nrm -rf", "2024-03-01\u2028x"])
def test_anything_else_is_one_error_line_naming_the_forms(text: str) -> None:
    with pytest.raises(ValueError) as caught:
        parse_date_or_time(text)
    message = str(caught.value)
    assert message.startswith("invalid date '") and message.endswith(
        "': give YYYY-MM-DD or an ISO date-time such as 2024-03-01T12:00:00Z")
    assert message.isprintable()  # no line break, no control character: one line on a terminal


def test_a_long_value_is_cut_in_the_message() -> None:
    with pytest.raises(ValueError, match=r"^invalid date '2024-03-01x{30}…': give YYYY-MM-DD"):
        parse_date_or_time("2024-03-01" + "x" * 500)


def test_crawl_and_export_say_the_same_about_a_bad_date() -> None:
    """The two --since options had two parsers: 'give YYYY-MM-DD' from one, a longer line from the other."""
    messages = set()
    for parse in (seeds.parse_since, export.parse_since, export.parse_until):
        with pytest.raises(ValueError) as caught:
            parse("2024-3-1")
        messages.add(str(caught.value))
    assert messages == {"invalid date '2024-3-1': give YYYY-MM-DD or an ISO date-time such as 2024-03-01T12:00:00Z"}


def test_each_command_keeps_its_meaning() -> None:
    # crawl: the day on the entry's own calendar; export: the moment in UTC
    assert seeds.parse_since("2024-03-01T23:30-05:00") == date(2024, 3, 1)
    assert export.parse_since("2024-03-01T23:30-05:00") == datetime(2024, 3, 2, 4, 30, tzinfo=UTC)
    assert seeds.parse_since("2024-03-01") == date(2024, 3, 1)
    assert export.parse_since("2024-03-01") == datetime(2024, 3, 1, tzinfo=UTC)
    # forms the crawl took and export refused
    assert export.parse_since("2024-03-01t12:30z") == datetime(2024, 3, 1, 12, 30, tzinfo=UTC)
    assert export.parse_until("2024-03-01T12") == "2024-03-01T12:00:00Z"
    assert export.parse_until("2024-03-01") == "2024-03-01T23:59:59Z"  # --at DATE: the whole day


@pytest.mark.parametrize(("value", "day", "moment"), [
    (date(2024, 3, 1), date(2024, 3, 1), datetime(2024, 3, 1, tzinfo=UTC)),
    (datetime(2024, 3, 1, 23, 30, tzinfo=MINUS_5), date(2024, 3, 1), datetime(2024, 3, 2, 4, 30, tzinfo=UTC)),
    (datetime(2024, 3, 1, 0, 30, tzinfo=PLUS_2), date(2024, 3, 1), datetime(2024, 2, 29, 22, 30, tzinfo=UTC)),
    (datetime(2024, 3, 1, 12, 30), date(2024, 3, 1), datetime(2024, 3, 1, 12, 30, tzinfo=UTC)),
])
def test_calendar_day_and_utc_moment(value: date, day: date, moment: datetime) -> None:
    assert calendar_day(value) == day and type(calendar_day(value)) is date
    assert utc_moment(value) == moment and utc_moment(value).tzinfo is UTC


@pytest.mark.parametrize(("text", "expected"), [
    ("2024-03-01", date(2024, 3, 1)),
    ("20240301", date(2024, 3, 1)),  # a sitemap may write the basic form: read, though nobody types it
    ("2024-03-01t10:00:00z", datetime(2024, 3, 1, 10, tzinfo=UTC)),
    ("2024-03", None),
    ("not a date", None),
    ("", None),
])
def test_dates_read_from_the_web_are_read_leniently(text: str, expected: date | None) -> None:
    assert parse_iso_date(text) == expected
