"""``--db postgresql://…``: the catalog on a real PostgreSQL server (tests/postgres.py), read and written by the CLI."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import FAST, crawl_dirs, read_jsonl, run_scraper
from tests.postgres import PostgresServer
from tests.site import Site


def test_crawls_share_a_postgresql_catalog_and_the_readers_find_it(site: Site, postgres: PostgresServer,
                                                                    tmp_path: Path) -> None:
    db = postgres.new_database().replace("postgresql+psycopg://", "postgresql://")  # as a person writes it
    url = site.url("/")
    for _ in range(2):
        proc = run_scraper("crawl", url, "--archive", str(tmp_path), "--db", db, "-q", *FAST)
        assert proc.returncode == 0, proc.stderr
    assert not (tmp_path / "catalog.sqlite").exists()  # the catalog is the server's, not a file beside the crawls
    first, second = crawl_dirs(tmp_path)
    again = read_jsonl(second / "pages.jsonl")[0]
    # The second crawl found the first capture in PostgreSQL: the unchanged page is a revisit of it.
    assert again["record_kind"] == "revisit", again
    assert again["refers_to"]["crawl_id"] == first.name
    history = run_scraper("history", url, "--json", "--archive", str(tmp_path), "--db", db)
    assert history.returncode == 0, history.stderr
    records = [json.loads(line) for line in history.stdout.splitlines()]
    assert [r["crawl_id"] for r in records] == [first.name, second.name]
    missing = run_scraper("history", url, "--archive", str(tmp_path), "--db", postgres.url("no_such_database"))
    assert missing.returncode == 2 and missing.stderr.count("\n") == 1, missing.stderr
    assert missing.stderr.startswith("scraper: error: --db: cannot open the catalog"), missing.stderr
