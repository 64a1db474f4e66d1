"""export: rows, columns, flat formats, filters, the selection of records, the re-extraction overlay."""

from __future__ import annotations

import csv
import io
import json
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from jsonschema import Draft202012Validator

from scraper.export import (
    CsvSink,
    JsonlSink,
    ParquetSink,
    Selection,
    columns,
    crawl_records,
    export_row,
    parse_since,
    parse_until,
    reextract_files,
    select_crawls,
    selected_records,
    site_matcher,
    status_matcher,
    write_rows,
)
from scraper.records import (
    build_page_record,
)
from scraper.schema import page_record_schema
from scraper.storage.jsonl import dumps_line
from tests.conftest import assert_valid_records
from tests.unit.helpers.records import _capture, sample_records
from tests.unit.helpers.revisits import ARTICLE, CRAWL_ID, EXTRACTOR, MOMENT, not_modified, original

# -- reading flat rows back, by the schema's types (independent of scraper.export's own walk) ------------------------
SCHEMA = page_record_schema()


def _alternatives(node: dict[str, Any]) -> list[dict[str, Any]]:
    if "$ref" in node:
        return _alternatives(SCHEMA["$defs"][node["$ref"].rsplit("/", 1)[-1]])
    if "oneOf" in node:
        return [alt for sub in node["oneOf"] for alt in _alternatives(sub)]
    return [node]


def _json_types(node: dict[str, Any]) -> set[str]:
    names = {"NoneType": "null", "str": "string", "int": "integer", "bool": "boolean", "float": "number"}
    found: set[str] = set()
    for alt in _alternatives(node):
        if "type" in alt:
            found.add(alt["type"])
        for value in ([alt["const"]] if "const" in alt else []) + list(alt.get("enum", [])):
            found.add(names[type(value).__name__])
    return found


def _csv_value(node: dict[str, Any], cell: str, in_nullable: bool) -> Any:
    types = _json_types(node)
    if "array" in types:
        return json.loads(cell)
    if cell == "":
        assert "null" in types or in_nullable, f"empty cell for a field that cannot be null: {node}"
        return None
    if "integer" in types:
        return int(cell)
    if "number" in types:
        return float(cell)
    if "boolean" in types:
        return {"true": True, "false": False}[cell]
    return cell


def flat_columns() -> set[str]:
    """Every column a flat export must have: ts, and each leaf of the schema (objects dotted)."""
    names = {"ts"}
    for name, node in SCHEMA["properties"].items():
        objects = [alt for alt in _alternatives(node) if alt.get("type") == "object"]
        names |= {f"{name}.{sub}" for sub in objects[0]["properties"]} if objects else {name}
    return names


def record_from_flat(row: dict[str, Any], from_csv: bool) -> dict[str, Any]:
    """A page record rebuilt from a flat CSV or Parquet row, typed by the schema; ``ts`` is checked and dropped."""
    assert set(row) == flat_columns()

    def value(name: str, node: dict[str, Any], in_nullable: bool = False) -> Any:
        return _csv_value(node, row[name], in_nullable) if from_csv else row[name]

    record: dict[str, Any] = {}
    for name, node in SCHEMA["properties"].items():
        alternatives = _alternatives(node)
        objects = [alt for alt in alternatives if alt.get("type") == "object"]
        if objects:
            nullable = any(alt.get("type") == "null" for alt in alternatives)
            sub = {key: value(f"{name}.{key}", subnode, nullable) for key, subnode in objects[0]["properties"].items()}
            record[name] = None if nullable and all(v is None for v in sub.values()) else sub
        else:
            record[name] = value(name, node)
    assert row["ts"] == record["fetched_at"]
    return record


def test_sample_records_are_valid_and_exercise_every_column(record_validator: Draft202012Validator) -> None:
    records = sample_records()
    assert_valid_records(record_validator, records)
    revisit = records[2]
    assert revisit["refers_to"] and revisit["previous"] and revisit["extractor"]["version"] == "2.0"
    assert records[1]["extractor"] is None and records[1]["previous"] is None


# -- rows and flat formats -------------------------------------------------------------------------------------------
def test_rows_start_like_a_wacz_page_entry() -> None:
    record = sample_records()[0]
    row = export_row(record)
    assert list(row)[:4] == ["url", "ts", "title", "text"]
    assert row["ts"] == record["fetched_at"] and {k: v for k, v in row.items() if k != "ts"} == record
    assert [c.name for c in columns()][:4] == ["url", "ts", "title", "text"]
    assert {c.name for c in columns()} == flat_columns()


def test_csv_reads_back_into_the_same_records(record_validator: Draft202012Validator) -> None:
    records = sample_records()
    stream = io.StringIO(newline="")
    assert write_rows(iter(records), CsvSink(stream)) == 3
    rows = list(csv.DictReader(io.StringIO(stream.getvalue(), newline="")))
    back = [record_from_flat(row, from_csv=True) for row in rows]
    assert back == records
    assert_valid_records(record_validator, back)
    assert rows[0]["authors"] == '["Doe, Jane", "O\'Brien; Pat"]' and rows[1]["title"] == ""
    assert rows[0]["truncated"] == "false" and rows[2]["refers_to.offset"] == str(records[0]["warc"]["offset"])


def test_parquet_is_written_in_row_groups_and_reads_back(tmp_path: Path) -> None:
    records = sample_records() + sample_records(crawl_id="20260102T000000Z-abcdef", base=10, day=2)
    path = tmp_path / "out.parquet"
    with open(path, "wb") as fh:
        write_rows(iter(records), ParquetSink(fh, batch_rows=2))
    parquet = pq.ParquetFile(path)
    assert parquet.metadata.num_row_groups == 3  # 2 + 2 + 2: rows were written as they came
    table = parquet.read()
    authors = table.schema.field("authors").type
    assert pa.types.is_list(authors) and pa.types.is_string(authors.value_type)
    assert pa.types.is_int64(table.schema.field("warc.offset").type)
    assert pa.types.is_boolean(table.schema.field("truncated").type)
    assert [record_from_flat(row, from_csv=False) for row in table.to_pylist()] == records


def test_jsonl_rows_are_the_records_plus_ts() -> None:
    stream = io.StringIO()
    write_rows(iter(sample_records()), JsonlSink(stream))
    rows = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert [{k: v for k, v in r.items() if k != "ts"} for r in rows] == sample_records()


# -- filters ---------------------------------------------------------------------------------------------------------
def test_site_matches_host_and_subdomains_and_port() -> None:
    match = site_matcher(["example.com"])
    assert match("https://example.com/x") and match("http://www.example.com:8080/x")
    assert not match("https://badexample.com/") and not match("https://example.com.evil.net/")
    ported = site_matcher(["127.0.0.1:8080"])
    assert ported("http://127.0.0.1:8080/a") and not ported("http://127.0.0.1:8081/a")
    assert site_matcher(["HTTPS://Example.COM/"])("https://example.com/")
    assert site_matcher(["bücher.de"])("https://xn--bcher-kva.de/")
    for bad in ("", "a b", "example.com/path", "http://"):
        with pytest.raises(ValueError, match="not a host name"):
            site_matcher([bad])


def test_since_is_a_day_in_utc_or_a_moment() -> None:
    assert parse_since("2024-03-01") == datetime(2024, 3, 1, tzinfo=UTC)
    assert parse_since("2024-03-01T12:30:00Z") == datetime(2024, 3, 1, 12, 30, tzinfo=UTC)
    assert parse_since("2024-03-01T12:30:00+02:00") == datetime(2024, 3, 1, 10, 30, tzinfo=UTC)
    assert parse_since("2024-03-01T12:30") == datetime(2024, 3, 1, 12, 30, tzinfo=UTC)
    for bad in ("yesterday", "2024-13-01", "2024-03-01T25:00", "01.03.2024", "2024-03-01\nx"):
        with pytest.raises(ValueError, match="invalid date") as caught:
            parse_since(bad)
        assert "\n" not in str(caught.value)


# -- crawls and their re-extractions ---------------------------------------------------------------------------------
def _write_jsonl(path: Path, records: list[dict[str, Any]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(dumps_line(r) for r in records), encoding="utf-8")


def _retext(record: dict[str, Any], text: str) -> dict[str, Any]:
    return {**record, "text": text}


def test_newest_re_extraction_stands_in_for_each_record(tmp_path: Path) -> None:
    crawl_id = "20260101T000000Z-abcdef"
    page, pdf, revisit = sample_records(crawl_id)
    folder = tmp_path / "crawls" / crawl_id
    _write_jsonl(folder / "pages.jsonl", [page, pdf])
    _write_jsonl(folder / "pages.reextract-20260101T000000Z.jsonl", [_retext(page, "older"), revisit])
    _write_jsonl(folder / "pages.reextract-20260101T000000Z-1.jsonl", [_retext(page, "newer")])
    _write_jsonl(folder / "pages.reextract-20251231T235959Z.jsonl", [_retext(page, "oldest")])
    (folder / ".pages.reextract-20260102T000000Z.jsonl.tmp").write_text(dumps_line(_retext(page, "unfinished")))
    assert [p.name for p in reextract_files(folder)] == [
        "pages.reextract-20251231T235959Z.jsonl", "pages.reextract-20260101T000000Z.jsonl",
        "pages.reextract-20260101T000000Z-1.jsonl"]
    (crawl,) = select_crawls(tmp_path)
    assert [r.get("text") for r in crawl_records(crawl)] == ["newer", None, revisit["text"]]
    assert list(crawl_records(crawl, as_crawled=True)) == [page, pdf]
    (folder / "pages.jsonl").unlink()  # the re-extractions alone still give every record they hold
    assert [r.get("text") for r in crawl_records(crawl)] == ["newer", revisit["text"]]


def test_latest_keeps_the_newest_record_of_each_url(tmp_path: Path) -> None:
    older = sample_records("20260101T000000Z-aaaaaa", base=1, day=1)
    newer = sample_records("20260102T000000Z-bbbbbb", base=10, day=2)[:1]  # the page again, a day later
    _write_jsonl(tmp_path / "crawls" / "20260101T000000Z-aaaaaa" / "pages.jsonl", older)
    _write_jsonl(tmp_path / "crawls" / "20260102T000000Z-bbbbbb" / "pages.jsonl", newer)
    crawls = select_crawls(tmp_path)
    everything = list(selected_records(crawls, Selection()))
    assert everything == older + newer
    latest = list(selected_records(crawls, Selection(latest=True)))
    assert latest == [older[1], newer[0]]  # the page's two older captures give way to the newest
    since = list(selected_records(crawls, Selection(since="2026-01-01T13:00:00Z")))
    assert since == [older[2], newer[0]]
    site = list(selected_records(crawls, Selection(site=site_matcher(["example.org"]))))
    assert site == [older[1]]
    assert select_crawls(tmp_path, ["20260102T000000Z-bbbbbb/"]) == crawls[1:]


# -- export's filters -------------------------------------------------------------------------------------------------
def test_status_matches_numbers_and_classes() -> None:
    match = status_matcher(["404", "2xx", " 3XX "])
    assert [s for s in (200, 204, 299, 301, 304, 400, 404, 410, 500) if match(s)] == [200, 204, 299, 301, 304, 404]
    for bad in ["2x", "600", "6xx", "20", "abc", "", "2xx0"]:
        with pytest.raises(ValueError, match="is not an HTTP status"):
            status_matcher([bad])


def test_export_filters_by_kind_status_and_page_type(tmp_path: Path) -> None:
    page = original()
    revisit = not_modified(page)
    gone = build_page_record(CRAWL_ID, _capture(7, "https://example.com/gone", MOMENT, status=404), None,
                             None).to_dict()
    # page_type: "article", "listing", "other", null when not extracted, absent in records written before it
    listing = build_page_record(CRAWL_ID, _capture(8, "https://example.com/news/", MOMENT),
                                replace(ARTICLE, page_type="listing"), EXTRACTOR).to_dict()
    older = {name: value for name, value in page.items() if name != "page_type"}
    assert (page["page_type"], revisit["page_type"], gone["page_type"]) == ("article", "article", None)
    records = [page, revisit, gone, listing, older]
    folder = tmp_path / "crawls" / CRAWL_ID
    folder.mkdir(parents=True)
    (folder / "pages.jsonl").write_text("".join(dumps_line(r) for r in records), encoding="utf-8")
    crawls = select_crawls(tmp_path)

    def picked(**filters: Any) -> list[int]:
        return [records.index(r) for r in selected_records(crawls, Selection(**filters))]

    assert picked() == [0, 1, 2, 3, 4]
    assert picked(record_kind="response") == [0, 2, 3, 4]  # no revisits
    assert picked(record_kind="revisit") == [1]
    assert picked(status=status_matcher(["200"])) == [0, 1, 3, 4]  # the 304's revisit is its original's 200
    assert picked(status=status_matcher(["4xx"])) == [2]
    assert picked(page_types=frozenset({"article"})) == [0, 1]
    assert picked(page_types=frozenset({"article", "listing"}), record_kind="response") == [0, 3]
    # --latest picks among the records the filters keep: the newest response of the page, not its revisit
    def newest(**filters: Any) -> list[dict[str, Any]]:
        return list(selected_records(crawls, Selection(latest=True, status=status_matcher(["2xx"]), **filters)))

    assert [r["record_kind"] for r in newest() if r["url"] == page["url"]] == ["revisit"]
    assert [r["warc"]["record_id"] for r in newest(record_kind="response")] == [
        listing["warc"]["record_id"], page["warc"]["record_id"]]


# -- show --at, diff --------------------------------------------------------------------------------------------------
def test_at_a_date_means_the_whole_day_and_a_time_that_moment() -> None:
    assert parse_until("2026-03-01") == "2026-03-01T23:59:59Z"
    assert parse_until("2026-03-01T12:30:00Z") == "2026-03-01T12:30:00Z"
    assert parse_until("2026-03-01T12:30") == "2026-03-01T12:30:00Z"  # no offset: UTC
    assert parse_until("2026-03-01T00:30:00+02:00") == "2026-02-28T22:30:00Z"
    with pytest.raises(ValueError, match="invalid date"):
        parse_until("yesterday")
