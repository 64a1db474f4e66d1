"""storage.layout, the crawl's page files: `pages.jsonl` of a crawl run on one machine, and one
`pages-<worker>.jsonl` per worker of a crawl shared by several (issue 17), whose names are checked."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from scraper.storage.layout import CrawlLayout, check_worker_name, is_page_file_name, worker_pages_name

CRAWL_ID = "20261205T154500Z-0a1b2c"


@pytest.mark.parametrize("name", ["w1", "W-2", "crawler_07", "host.example.org", "a", "a-b-c", "x" * 40, "w1."])
def test_a_worker_name_that_can_name_files_is_accepted(name: str) -> None:
    assert check_worker_name(name) == name
    assert worker_pages_name(name) == f"pages-{name}.jsonl"


@pytest.mark.parametrize(("name", "why"), [
    ("", "empty"), ("x" * 41, "at most 40"), (".hidden", "start with '.'"), ("..", "start with '.'"),
    ("-w1", "not first or last"), ("w1-", "not first or last"), ("a/b", "not first or last"),
    ("../w1", "start with '.'"), ("w 1", "not first or last"), ("w\n1", "not first or last"),
    ("w\x001", "not first or last"), ("zoë", "not first or last"), ("w1\n", "not first or last"),
])
def test_a_worker_name_that_cannot_name_files_is_refused_in_one_line(name: str, why: str) -> None:
    with pytest.raises(ValueError, match=why) as raised:
        check_worker_name(name)
    assert "\n" not in str(raised.value)
    with pytest.raises(ValueError):
        worker_pages_name(name)


@given(st.text(max_size=45))
def test_an_accepted_name_is_one_page_file_in_the_crawl_folder(name: str) -> None:
    try:
        check_worker_name(name)
    except ValueError:
        assert not is_page_file_name(f"pages-{name}.jsonl")
        return
    layout = CrawlLayout(Path("/archive"), CRAWL_ID)
    path = layout.worker_pages_path(name)
    assert path.parent == layout.directory  # nothing below it, nothing beside it
    assert is_page_file_name(path.name)


def write(path: Path, *records: dict[str, object], tail: bytes = b"") -> None:
    path.write_bytes(b"".join(json.dumps(r).encode() + b"\n" for r in records) + tail)


def test_page_files_are_pages_jsonl_then_each_workers_by_name(tmp_path: Path) -> None:
    layout = CrawlLayout(tmp_path, CRAWL_ID)
    layout.directory.mkdir(parents=True)
    for name in ["pages-w2.jsonl", "pages-w10.jsonl", "pages.jsonl", "pages-a.jsonl"]:
        write(layout.directory / name, {"url": name})
    # Not page files: a re-extraction, temporaries, set-aside tails, names no worker can have, a folder
    for name in ["pages.reextract-20261205T160000Z.jsonl", ".pages-w1.jsonl.123.tmp", "pages-w1.jsonl.torn-5",
                 "pages.jsonl.damaged-0", "pages-.jsonl", "pages--w1.jsonl", "pages-w 1.jsonl", "pages-w1.json",
                 "frontier.jsonl", "Pages-w1.jsonl"]:
        write(layout.directory / name, {"url": name})
    (layout.directory / "pages-dir.jsonl").mkdir()
    assert [p.name for p in layout.page_files()] == ["pages.jsonl", "pages-a.jsonl", "pages-w10.jsonl",
                                                     "pages-w2.jsonl"]


def test_a_crawl_of_workers_may_have_no_pages_jsonl(tmp_path: Path) -> None:
    layout = CrawlLayout(tmp_path, CRAWL_ID)
    assert layout.page_files() == []  # no folder at all
    layout.directory.mkdir(parents=True)
    assert layout.page_files() == []
    write(layout.worker_pages_path("w1"), {"url": "a"})
    assert layout.page_files() == [layout.directory / "pages-w1.jsonl"]


def test_page_records_are_read_file_by_file_and_torn_lines_skipped(tmp_path: Path) -> None:
    layout = CrawlLayout(tmp_path, CRAWL_ID)
    layout.directory.mkdir(parents=True)
    write(layout.worker_pages_path("w2"), {"url": "c"}, tail=b'{"url": "torn')  # a worker killed mid-line
    write(layout.worker_pages_path("w1"), {"url": "a"}, {"url": "b"}, tail=b'{"url"')
    write(layout.pages_path, {"url": "first"})
    assert [r["url"] for r in layout.iter_page_records()] == ["first", "a", "b", "c"]
