"""The catalog's ``follows_id``: each capture names the capture of the same page its record follows
(the record's ``previous``), whichever command filed it: a crawl, a rearchive, a rebuild of the catalog."""

from __future__ import annotations

import shutil
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import FAST, run_scraper
from tests.integration.test_rearchive import PARAGRAPHS
from tests.site import LivePage, Site, SiteServer, live_article

CATALOG = "catalog.sqlite"


def follows(path: Path) -> list[tuple[str, str, str | None]]:
    """Each capture, in the order filed: its URL, its WARC record id, and the WARC record id of the capture
    its follows_id names (None: NULL), read with sqlite3 from a copy of the file alone (no log beside it)."""
    scratch = path.with_name("alone")
    scratch.mkdir()
    try:
        shutil.copyfile(path, scratch / CATALOG)
        connection = sqlite3.connect(scratch / CATALOG)
        try:
            rows = connection.execute("SELECT c.url, c.warc_record_id, f.warc_record_id FROM captures c "
                                      "LEFT JOIN captures f ON f.id = c.follows_id ORDER BY c.fetched_at, c.id")
            return [(str(url), str(record_id), followed) for url, record_id, followed in rows]
        finally:
            connection.close()
    finally:
        shutil.rmtree(scratch)


@pytest.fixture(scope="module")
def archived(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Site, Path]]:
    """A changing page and a page that answers 304, crawled, then re-archived after the first one changed."""
    root = tmp_path_factory.mktemp("follows")
    with SiteServer() as site:
        site.live["edited"] = LivePage(live_article("Council backs harbour plan", PARAGRAPHS, ["Storm warning"]))
        site.live["etag"] = LivePage(live_article("Ferry timetable", PARAGRAPHS[:4], ["a"]), etag='"v1"')
        urls = [site.url("/live/edited"), site.url("/live/etag")]
        first = run_scraper("crawl", *urls, "--archive", str(root), *FAST)
        assert first.returncode == 0, first.stderr
        site.live["edited"] = LivePage(live_article("Council backs harbour plan", [*PARAGRAPHS[:5], "Correction."],
                                                    ["Storm warning"]))
        assert run_scraper("watch", "add", *urls, "--every", "1h", "--archive", str(root)).returncode == 0
        second = run_scraper("rearchive", "--all", "--archive", str(root), *FAST)
        assert second.returncode == 0, second.stderr
        yield site, root


def test_each_capture_follows_the_pages_previous_capture(archived: tuple[Site, Path]) -> None:
    site, root = archived
    rows = follows(root / CATALOG)
    for name in ("edited", "etag"):  # a new version, and a revisit of a 304
        captured = [(record_id, followed) for url, record_id, followed in rows if url == site.url(f"/live/{name}")]
        assert len(captured) == 2, rows
        (first, first_follows), (_, second_follows) = captured
        assert first_follows is None  # a first capture follows none
        assert second_follows == first


def test_a_rebuilt_catalog_has_the_same_follows(archived: tuple[Site, Path]) -> None:
    _, root = archived
    before = follows(root / CATALOG)
    assert [followed for _, _, followed in before].count(None) < len(before)
    rebuilt = run_scraper("catalog", "rebuild", "--archive", str(root))
    assert rebuilt.returncode == 0, rebuilt.stderr
    assert follows(root / CATALOG) == before
