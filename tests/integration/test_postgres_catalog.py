"""``--db postgresql://…``: the catalog on a real PostgreSQL server (tests/postgres.py), read and written by the CLI."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

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
    # A crawl on a shared database is worked by workers: this one by the crawl command's own, in its own file.
    (own_file,) = second.glob("pages-*.jsonl")
    assert not (second / "pages.jsonl").exists()
    again = read_jsonl(own_file)[0]
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


def _file_captures(db: str, crawl_id: str, keys: int, ready: Any, go: Any) -> None:
    """One writer: a batch of captures of the same new URLs as the other writers, filed at the same moment."""
    from scraper.scope import url_key
    from scraper.storage.catalog import Catalog, NewCapture

    catalog = Catalog.open(Path("."), db)
    entries = []
    for n in range(keys):
        url = f"http://shared.test/page/{n}"
        record = {"crawl_id": crawl_id, "requested_url": url, "url": url, "status": 200,
                  "fetched_at": "2026-03-01T12:00:00Z", "record_kind": "response", "revisit_profile": None,
                  "payload_digest": f"sha1:{n}", "text_sha256": None, "version": 1, "changed_fields": [],
                  "content_type": "text/html", "redirects": [f"http://shared.test/old/{n}"],
                  "warc": {"file": f"{crawl_id}.warc.gz", "offset": n, "length": 1,
                           "record_id": f"<urn:{crawl_id}:{n}>"}}
        entries.append(NewCapture(url_key(url), record, etag=None, last_modified=None, warc_date="", original={}))
    ready.wait()
    go.wait()
    catalog.add_captures(entries)
    catalog.close()


def test_writers_filing_the_same_new_urls_at_once_all_succeed(postgres: PostgresServer) -> None:
    """Workers sharing a catalog meet the same new URLs: each files its captures, each URL has one row."""
    import multiprocessing

    import sqlalchemy as sa

    db, writers, keys = postgres.new_database(), 4, 300
    from scraper.storage.catalog import Catalog

    Catalog.open(Path("."), db).close()  # the schema, made once (its migrations are another matter)
    context = multiprocessing.get_context("spawn")
    ready, go = context.Barrier(writers + 1), context.Event()
    processes = [context.Process(target=_file_captures, args=(db, f"crawl-{i}", keys, ready, go))
                 for i in range(writers)]
    for process in processes:
        process.start()
    ready.wait()  # every writer has its batch ready: they file it together
    go.set()
    for process in processes:
        process.join(120)
    assert [p.exitcode for p in processes] == [0] * writers
    engine = sa.create_engine(db)
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM urls")).scalar() == keys
        assert conn.execute(sa.text("SELECT count(*) FROM captures")).scalar() == keys * writers
        assert conn.execute(sa.text("SELECT count(*) FROM redirects")).scalar() == keys
    engine.dispose()


def _open_catalog(db: str, ready: Any) -> None:
    from scraper.storage.catalog import Catalog

    ready.wait()
    Catalog.open(Path("."), db).close()


def test_workers_opening_a_new_database_at_once_all_find_one_schema(postgres: PostgresServer) -> None:
    """Workers started together on an empty database: one makes the tables, the others find them."""
    import multiprocessing

    import sqlalchemy as sa

    db, writers = postgres.new_database(), 6
    context = multiprocessing.get_context("spawn")
    ready = context.Barrier(writers)
    processes = [context.Process(target=_open_catalog, args=(db, ready)) for _ in range(writers)]
    for process in processes:
        process.start()
    for process in processes:
        process.join(120)
    assert [p.exitcode for p in processes] == [0] * writers
    engine = sa.create_engine(db)
    assert {"urls", "captures", "redirects", "watches", "migrations"} <= set(sa.inspect(engine).get_table_names())
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM migrations")).scalar() == 1  # applied once
    engine.dispose()
