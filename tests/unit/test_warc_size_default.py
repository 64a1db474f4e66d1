"""One default for the size at which WARC files rotate (issue 16, item 5): 1 GiB from ``scraper crawl``, through
``scrapy crawl`` (the setting), and for a writer told none (a resume writes its re-extracted records so)."""

from __future__ import annotations

from pathlib import Path

import pytest

from scraper import settings
from scraper.cli._common import parse_size, size_text
from scraper.cli.crawl import crawl
from scraper.storage.warc import DEFAULT_MAX_BYTES, WarcFileWriter


def test_the_cli_the_setting_and_the_writer_share_one_default(tmp_path: Path) -> None:
    (option,) = [p for p in crawl.params if p.name == "warc_max_size"]
    assert parse_size(str(option.default)) == settings.ARCHIVE_WARC_MAX_BYTES == DEFAULT_MAX_BYTES == 1024**3
    assert WarcFileWriter(tmp_path).max_bytes == DEFAULT_MAX_BYTES  # it was 1 GB, 10**9


@pytest.mark.parametrize(("size", "text"), [(1024**3, "1G"), (3 * 1024**4, "3T"), (5 * 1024**2, "5M"), (1024, "1K"),
                                            (1536, "1536"), (10**9, "1000000000"), (1, "1"), (0, "0")])
def test_size_text_is_read_back_exactly(size: int, text: str) -> None:
    assert size_text(size) == text and parse_size(text) == size
