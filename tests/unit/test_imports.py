"""imports: other tools' WARC records as page records (digests, the body limit).

Real WARC files written with warcio (tests/unit/helpers/response_warc.py)."""

from __future__ import annotations

import base64
import hashlib
from pathlib import Path

from scraper.imports import Importer, ImportOptions, normalize_digest, plan_import
from scraper.storage.catalog import Catalog
from scraper.storage.jsonl import iter_jsonl
from scraper.storage.layout import CrawlLayout, new_crawl_id
from tests.unit.helpers.response_warc import HTML, write_warc


def test_digests_as_page_records_carry_them() -> None:
    hex_digest = hashlib.sha1(b"the payload").hexdigest()  # some tools write sha1 in hex
    base32 = "sha1:" + base64.b32encode(bytes.fromhex(hex_digest)).decode()
    assert normalize_digest(f"sha1:{hex_digest}") == base32
    assert normalize_digest(base32.lower()) == base32
    assert normalize_digest("sha256:abc") is None and normalize_digest(None) is None


def test_an_imported_page_over_the_body_limit_is_recorded_truncated(tmp_path: Path) -> None:
    source = tmp_path / "big.warc.gz"
    write_warc(source, [("Content-Type", "text/html")], HTML)
    root = tmp_path / "archive"
    root.mkdir()
    layout = CrawlLayout(root, new_crawl_id())
    catalog = Catalog.open(root, None)
    try:
        importer, lock = Importer.create(layout, plan_import([source], link=False), catalog,
                                         ImportOptions(max_body_bytes=2000))
        importer.run()
        lock.close()
    finally:
        catalog.close()
    (record,) = iter_jsonl(layout.pages_path)
    assert record["truncated"] is True
    assert record["title"] == "Ferry timetable" and record["text"].count("winter timetable") < 40
