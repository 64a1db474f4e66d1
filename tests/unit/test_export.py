"""scraper.export (rows, columns, filters, re-extraction overlay) and the pure parts of scraper.reextract
(payload decoding, checked against Scrapy's own) and of scraper.records they share with the crawl."""

from __future__ import annotations

import csv
import gzip
import io
import json
import zlib
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import brotli
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
    reextract_files,
    select_crawls,
    selected_records,
    site_matcher,
    write_rows,
)
from scraper.extract.page import Article
from scraper.records import (
    Capture,
    WarcPointer,
    article_from_record,
    build_page_record,
    capture_from_record,
    record_for_capture,
)
from scraper.reextract import decode_content, page_html
from scraper.schema import page_record_schema
from scraper.storage.jsonl import dumps_line
from scraper.storage.warc import StoredRecord
from tests.conftest import assert_valid_records

# -- reading flat rows back, by the schema's types (independent of scraper.export's own walk) ------------------------
SCHEMA = page_record_schema()


def _alternatives(node: dict[str, Any]) -> list[dict[str, Any]]:
    if "$ref" in node:
        return _alternatives(SCHEMA["$defs"][node["$ref"].rsplit("/", 1)[-1]])
    if "oneOf" in node:
        return [alt for sub in node["oneOf"] for alt in _alternatives(sub)]
    return [node]


def _json_types(node: dict[str, Any]) -> set[str]:
    names = {"NoneType": "null", "str": "string", "int": "integer", "bool": "boolean"}
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


# -- sample records --------------------------------------------------------------------------------------------------
def _capture(n: int, url: str, fetched: datetime, **changes: Any) -> Capture:
    capture = Capture(requested_url=url, url=url, status=200, content_type="text/html; charset=utf-8",
                      fetched_at=fetched, payload_digest="sha1:" + "A" * 32,
                      warc=WarcPointer(file="scraper-20260101000000000-00001-h.warc.gz", offset=100 * n, length=90,
                                       record_id=f"<urn:uuid:00000000-0000-0000-0000-{n:012d}>"))
    return replace(capture, **changes)


ARTICLE = Article(text="First line, with a comma and \"quotes\".\nZoë — “second” line; a;b", markdown="# Hi\n\nBody",
                  title="A title, with commas", authors=["Doe, Jane", "O'Brien; Pat"], published="2024-03-01",
                  modified="2024-03-02T10:00:00+01:00", site_name="Site", description="About it", language="en",
                  canonical_url="https://example.com/a", image="https://example.com/a.png", tags=["x", "y"],
                  categories=["News"])


def sample_records(crawl_id: str = "20260101T000000Z-abcdef", base: int = 1,
                   day: int = 1) -> list[dict[str, Any]]:
    """A page, a PDF without article, and a revisit of the page with a version history."""
    moment = datetime(2026, 1, day, 12, 0, tzinfo=UTC)
    page = build_page_record(crawl_id, _capture(base, "https://www.example.com/a?b=1", moment), ARTICLE,
                             {"name": "trafilatura", "version": "2.0"})
    pdf = build_page_record(crawl_id, _capture(base + 1, "https://example.org/r.pdf", moment,
                                               content_type="application/pdf", redirects=[]), None, None)
    refers = {"record_id": page.warc.record_id, "warc_date": "2026-01-01T12:00:00.000000Z", "target_uri": page.url,
              "crawl_id": crawl_id, "file": page.warc.file, "offset": page.warc.offset, "length": 90}
    revisit = record_for_capture(crawl_id, _capture(base + 2, page.url, moment.replace(hour=13),
                                                    record_kind="revisit", revisit_profile="identical-payload-digest",
                                                    refers_to=refers, redirects=["https://www.example.com/old",
                                                                                 "https://www.example.com/a?b=1"]),
                                 None, {"name": "trafilatura", "version": "9.9"}, previous=page.to_dict())
    return [page.to_dict(), pdf.to_dict(), revisit.to_dict()]


def test_sample_records_are_valid_and_exercise_every_column(record_validator: Draft202012Validator) -> None:
    records = sample_records()
    assert_valid_records(record_validator, records)
    revisit = records[2]
    assert revisit["refers_to"] and revisit["previous"] and revisit["extractor"]["version"] == "2.0"
    assert records[1]["extractor"] is None and records[1]["previous"] is None


# -- records.py: what the crawl and reextract share ------------------------------------------------------------------
def test_capture_from_record_gives_back_the_capture_of_a_record() -> None:
    for record in sample_records():
        article = article_from_record(record) if record["extractor"] else None
        previous = {"crawl_id": "x", "fetched_at": "y", "version": record["version"] - (1 if record["changed_fields"]
                                                                                       else 0),
                    "warc": {"record_id": record["previous"]["record_id"]}} if record["previous"] else None
        rebuilt = build_page_record(record["crawl_id"], capture_from_record(record), article, record["extractor"],
                                    previous=previous).to_dict()
        same = ("previous", "changed_fields", "version")  # these depend on the previous record given here
        assert {k: v for k, v in rebuilt.items() if k not in same} == {
            k: v for k, v in record.items() if k not in same}


def test_a_revisit_takes_its_previous_content_unless_its_original_was_extracted() -> None:
    page, _pdf, revisit = sample_records()
    capture = capture_from_record(revisit)
    copied = record_for_capture(revisit["crawl_id"], capture, None, {"name": "t", "version": "new"}, previous=page)
    assert copied.text == page["text"] and copied.extractor == page["extractor"]
    fresh = Article(text="Extracted again from the original payload, with a better extractor.", title="New")
    again = record_for_capture(revisit["crawl_id"], capture, fresh, {"name": "t", "version": "new"}, previous=page)
    assert again.text == fresh.text and again.extractor == {"name": "t", "version": "new"}
    assert again.version == 2 and again.changed_fields == ["text", "title", "authors", "published", "modified"]


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


# -- reextract decodes pages as the crawl (Scrapy) did ---------------------------------------------------------------
HTML = "<!doctype html><html><head><title>Café</title></head><body><p>Zoë’s café — déjà vu</p></body></html>"
LATIN = HTML.replace("’", "'").replace("—", "-")
META_1252 = HTML.replace("<head>", "<head><meta charset='windows-1252'>")


def _cases() -> list[tuple[str, list[tuple[str, str]], bytes]]:
    utf8 = HTML.encode()
    return [
        ("/a", [("Content-Type", "text/html; charset=utf-8")], utf8),
        ("/a", [("Content-Type", "text/html")], META_1252.encode("cp1252")),
        ("/a", [("Content-Type", "text/html")], LATIN.encode("latin-1")),
        ("/a", [("Content-Type", "text/html; charset=iso-8859-1")], b"\xef\xbb\xbf" + utf8),
        ("/a", [("Content-Type", "text/html"), ("Content-Encoding", "gzip")], gzip.compress(utf8)),
        ("/a", [("Content-Type", "text/html"), ("Content-Encoding", "gzip")], gzip.compress(utf8)[:-30]),
        ("/a", [("Content-Type", "text/html"), ("Content-Encoding", "deflate")], zlib.compress(utf8)),
        ("/a", [("Content-Type", "text/html"), ("Content-Encoding", "deflate")], zlib.compress(utf8)[2:-4]),
        ("/a", [("Content-Type", "text/html"), ("Content-Encoding", "br")], brotli.compress(utf8)),
        ("/a", [("Content-Type", "text/html"), ("Content-Encoding", "gzip, br")],
         brotli.compress(gzip.compress(utf8))),
        ("/a.html", [("Content-Type", "text/html"), ("Content-Encoding", "compress")], gzip.compress(utf8)),
        ("/page.html", [("Content-Type", "application/octet-stream")], utf8),
        ("/a", [], utf8),
        ("/a", [("Content-Type", "application/xhtml+xml")], utf8),
        ("/a", [("Content-Type", "text/plain")], utf8),
        ("/a", [("Content-Type", "application/pdf")], b"%PDF-1.4\n\x01\x02"),
        ("/a", [("Content-Type", "application/x-unknown"), ("Content-Disposition", "inline; filename=x.htm")], utf8),
    ]


def _scrapy_text(url: str, headers: list[tuple[str, str]], body: bytes) -> str | None:
    from scrapy import Request
    from scrapy.downloadermiddlewares.httpcompression import HttpCompressionMiddleware
    from scrapy.http import Headers, HtmlResponse
    from scrapy.responsetypes import responsetypes
    from scrapy.utils.test import get_crawler

    scrapy_headers = Headers()
    for name, value in headers:
        scrapy_headers.appendlist(name, value)
    cls = responsetypes.from_args(headers=scrapy_headers, url=url, body=body)  # as the download handler does
    response = cls(url=url, status=200, headers=scrapy_headers, body=body)
    middleware = HttpCompressionMiddleware.from_crawler(get_crawler())
    decoded = middleware.process_response(Request(url), response)
    return decoded.text if isinstance(decoded, HtmlResponse) else None


@pytest.mark.parametrize("case", range(len(_cases())))
def test_page_html_is_what_scrapy_gave_the_crawl(case: int) -> None:
    path, headers, body = _cases()[case]
    url = "http://example.com" + path
    stored = StoredRecord(rec_type="response", record_id="<urn:uuid:0>", target_uri=url, date=None, offset=0,
                          length=1, warc_headers=[], http_status_line="HTTP/1.1 200 OK", http_headers=headers,
                          content=body)
    try:
        expected = _scrapy_text(url, headers, body)
    except AttributeError as exc:
        # This venv's `brotli` module is brotlipy's (pywb needs it), which lacks the Decompressor.process
        # that Scrapy calls: Scrapy cannot read br here; a working Scrapy gives the page's own text.
        assert "process" in str(exc) and "br" in dict(headers).get("Content-Encoding", "")
        expected = HTML
    assert page_html(stored, url)[0] == expected


def test_decode_content_stops_at_an_unknown_coding() -> None:
    inner = gzip.compress(b"<html></html>")
    assert decode_content(inner, ["compress, gzip"]) == (b"<html></html>", ["compress"])
    assert decode_content(b"plain", []) == (b"plain", [])
    decoders: list[Callable[[bytes], bytes]] = [gzip.compress, brotli.compress]
    body = b"x" * 1000
    for encode in decoders:
        body = encode(body)
    assert decode_content(body, ["gzip", "br"])[0] == b"x" * 1000
