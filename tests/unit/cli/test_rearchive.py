"""cli.rearchive: the difference between two versions of a page (`diff`)."""

from __future__ import annotations

from dataclasses import replace

from scraper.cli.rearchive import version_diff
from scraper.records import build_page_record
from tests.unit.helpers.records import _capture
from tests.unit.helpers.revisits import ARTICLE, CRAWL_ID, EXTRACTOR, MOMENT, original


def test_version_diff_lists_what_changed() -> None:
    old = original()
    new = build_page_record(CRAWL_ID, replace(_capture(9, old["url"], MOMENT.replace(hour=20))),
                            replace(ARTICLE, title="Ferry timetable changed",
                                    text="The winter timetable starts on Tuesday."), EXTRACTOR,
                            previous=old).to_dict()
    changes = version_diff(old, new)
    assert changes.changed and changes.changed_fields == ["title", "text"]
    document = changes.to_json()
    assert document["from"] == {"version": 1, "fetched_at": old["fetched_at"], "crawl_id": CRAWL_ID,
                                "record_id": old["warc"]["record_id"]}
    assert document["to"]["version"] == 2 and document["changed"] is True
    assert document["fields"] == {"title": {"from": "Ferry timetable", "to": "Ferry timetable changed"}}
    assert document["text_diff"] == ["@@ -1 +1 @@", "-The winter timetable starts on Monday.",
                                     "+The winter timetable starts on Tuesday."]
    same = version_diff(old, old)
    assert not same.changed and same.to_json()["changed_fields"] == [] and same.to_json()["text_diff"] == []
