"""scraper.storage.layout: the one place that tells a WARC file by its name and lists a crawl's."""

from __future__ import annotations

from pathlib import Path

from scraper.storage.layout import CrawlLayout, is_open_warc_name, is_warc_name, warc_files_in


def test_closed_and_open_warc_names() -> None:
    assert is_warc_name("rec-20240305120000000-00001-example.com.warc.gz") and is_warc_name("wget.warc")
    assert not is_warc_name("rec.warc.gz.open") and is_open_warc_name("rec.warc.gz.open")
    assert is_open_warc_name("plain.warc.open")
    for other in ("pages.jsonl", "rec.warc.gz.torn-1234", "notes.open", "rec.WARC.GZ", "archive.wacz"):
        assert not is_warc_name(other) and not is_open_warc_name(other), other


def test_a_crawls_warc_files_by_name_closed_apart_from_open(tmp_path: Path) -> None:
    layout = CrawlLayout(tmp_path, "20240305T120000Z-abcdef")
    assert layout.warc_files().closed == [] and layout.warc_paths() == []  # no folder yet
    folder = layout.directory
    folder.mkdir(parents=True)
    for name in ("b-00002.warc.gz", "a-00001.warc.gz", "imported.warc", "c-00003.warc.gz.open", "pages.jsonl",
                 "a-00001.warc.gz.torn-99", "manifest.json"):
        (folder / name).write_bytes(b"")
    (folder / "folder.warc.gz").mkdir()  # not a file: not a WARC file
    files = layout.warc_files()
    assert [p.name for p in files.closed] == ["a-00001.warc.gz", "b-00002.warc.gz", "imported.warc"]
    assert [p.name for p in files.in_progress] == ["c-00003.warc.gz.open"]
    assert [p.name for p in layout.warc_paths()] == ["a-00001.warc.gz", "b-00002.warc.gz", "c-00003.warc.gz.open",
                                                     "imported.warc"]
    assert warc_files_in(folder) == files
