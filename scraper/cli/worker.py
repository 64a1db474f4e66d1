"""``scraper worker`` and ``scraper status``: many workers on one crawl, through a shared PostgreSQL database."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from scraper.cli._common import ExitStatus, archive_option, fail, open_catalog, require, say
from scraper.cli._crawl_run import parse_set_options
from scraper.cli._shared import (
    DB_ENV,
    check_worker_name,
    is_shared_db,
    lease_settings,
    print_worker_summary,
    stop_status,
    work,
)
from scraper.scope import parse_resolve
from scraper.storage.layout import ArchiveRootError, check_writable_root


@click.command()
@archive_option("Archive root the worker writes its WARC and page files under (a shared file system, or its own "
                "disk): ARCHIVE/crawls/<crawl_id>/.")
@click.option("--db", required=True, envvar=DB_ENV, metavar="URL",
              help=f"The shared PostgreSQL database (postgresql://USER@HOST/DB); or ${DB_ENV}.")
@click.option("--name", metavar="NAME", help="This worker's name, in its file names and `scraper status` "
                                             "(default: HOSTNAME-PID). Two running workers never share one.")
@click.option("--forever", is_flag=True,
              help="Keep waiting for work (a service); SIGTERM stops it cleanly. Default: stop when no open crawl "
                   "has work left.")
@click.option("--lease", type=click.FloatRange(min=1), metavar="SECONDS",
              help="How long a lease lasts without renewal: a killed worker's work goes to others after it "
                   "[default: 60].")
@click.option("--rotate", type=click.FloatRange(min=0.1), metavar="SECONDS",
              help="Close the WARC file this often; its pages are done (and readable) only then [default: 60].")
@click.option("--resolve", "resolve", multiple=True, metavar="HOST:ADDRESS",
              help="Answer DNS for HOST with ADDRESS (repeatable), like curl --resolve, in every crawl it works on.")
@click.option("-s", "--set", "set_options", multiple=True, metavar="NAME=VALUE",
              help="Set a Scrapy or scraper setting in every crawl it works on (repeatable), over the crawl's own.")
@click.option("-q", "--quiet", is_flag=True, help="No summary.")
@click.option("-v", "--verbose", count=True, help="More log output on stderr (-v info, -vv debug).")
def worker(out: Path, db: str, name: str | None, forever: bool, lease: float | None, rotate: float | None,
           resolve: tuple[str, ...], set_options: tuple[str, ...], quiet: bool, verbose: int) -> None:
    """Work on the open crawls and due watches of a shared database: lease, fetch, archive, until none are left.

    \b
    Start as many as you like, on as many machines: each takes a fair share of the
    crawl's hosts (one host is never fetched by two workers at once), writes its own
    WARC files (its name in theirs) and page records (pages-NAME.jsonl), and renews
    its leases while alive. A killed worker's leases run out and others take its work.
    With nothing else to do it takes due watches (scraper watch add) into a re-archive
    crawl: each due watch is captured once per period, however many workers run.
    \b
    Exit status: 0 done; 1 some pages failed; 2 usage error, or a crawl it could not
    join; 130 interrupted (SIGINT); 143 terminated (SIGTERM): in-flight pages finished,
    the rest of its leases released.
    """
    from scraper.crawl.worker import default_worker_name

    if not is_shared_db(db):
        fail(f"--db: workers share a PostgreSQL database (postgresql://...), not {db.split(':', 1)[0]}: a SQLite "
             f"catalog is one machine's (scraper crawl uses it)")
    try:
        check_writable_root(out)
    except ArchiveRootError as exc:
        fail(f"--archive: {exc}")
    name = check_worker_name(name) if name else default_worker_name()
    open_catalog(out, db).close()  # a server that does not answer: one line, exit 2
    run_settings: dict[str, Any] = {"LOG_LEVEL": "DEBUG" if verbose > 1 else "INFO" if verbose else "WARNING",
                                    "LOG_FORMAT": "%(levelname)s %(name)s: %(message)s",
                                    **lease_settings(lease, rotate), **parse_set_options(set_options)}
    require("--resolve", lambda: parse_resolve(resolve))
    if resolve:
        run_settings["ARCHIVE_RESOLVE"] = list(resolve)
    result = work(out, db, name, run_settings, forever=forever)
    if not quiet:
        print_worker_summary(result, name)
        if not result.crawls:
            say(f"worker {name}: no open crawl has work")
    stopped = stop_status(result)
    if stopped is not None:
        raise SystemExit(int(stopped))
    if result.errors:
        raise SystemExit(int(ExitStatus.USAGE))
    failed = sum(m.get("counts", {}).get("pages_failed", 0) for m in result.manifests)
    raise SystemExit(int(ExitStatus.PAGES_FAILED if failed else ExitStatus.OK))


@click.command()
@archive_option("Archive root (crawls on one machine).")
@click.option("--db", envvar=DB_ENV, metavar="URL", help=f"A shared PostgreSQL database; or ${DB_ENV}.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object on stdout instead of tables.")
def status(out: Path, db: str | None, as_json: bool) -> None:
    """Each crawl's frontier (queued, leased, done, failed) and each worker's rate and last heartbeat.

    With a shared database (--db postgresql://...): its crawls and workers. Otherwise the
    crawls of the archive root: pages archived, requests scheduled, and whether a crawl
    is being written now.
    """
    report = _shared_status(out, db) if is_shared_db(db) else _local_status(out)
    if as_json:
        click.echo(json.dumps(report, indent=2, default=str))
        return
    from scraper.tables import TextTable

    crawls = TextTable(("crawl", "state", "queued", "leased", "done", "failed", "expired leases"),
                       title="crawls")
    for crawl in report["crawls"]:
        crawls.add_row(crawl["crawl_id"], crawl["state"], str(crawl["queued"]), str(crawl["leased"]),
                       str(crawl["done"]), str(crawl["failed"]), str(crawl["expired_leases"]))
    crawls.print(sys.stdout)
    if report.get("workers") is not None:
        table = TextTable(("worker", "state", "pages", "pages/s", "last heartbeat", "crawls"), title="workers")
        for row in report["workers"]:
            table.add_row(row["name"], row["state"], str(row["pages"]), f"{row['pages_per_second']:.2f}",
                          f"{row['heartbeat_age']:.0f}s ago", ", ".join(row["crawl_ids"]) or "-")
        table.print(sys.stdout)


def _shared_status(out: Path, db: str | None) -> dict[str, Any]:
    from scraper.storage.shared import SharedState

    catalog = open_catalog(out, db)
    try:
        state = SharedState(catalog.engine)
        crawls = []
        for crawl in state.list_crawls():
            counts = state.counts(crawl.crawl_id)
            crawls.append({"crawl_id": crawl.crawl_id, "state": crawl.state, "command": crawl.command,
                           "queued": counts.queued, "leased": counts.leased, "done": counts.done,
                           "failed": counts.failed, "expired_leases": counts.expired_leases})
        return {"database": "shared", "crawls": crawls, "workers": state.list_workers()}
    finally:
        catalog.close()


def _local_status(out: Path) -> dict[str, Any]:
    from scraper.storage.journal import read_frontier
    from scraper.storage.jsonl import ignore_damaged, iter_jsonl
    from scraper.storage.layout import is_crawl_locked, iter_crawls

    crawls = []
    for layout in iter_crawls(out, newest_first=False):
        scheduled = {request.url for request in read_frontier(layout.directory).scheduled}
        done = sum(1 for path in layout.page_files() for _ in iter_jsonl(path, ignore_damaged))
        finished = layout.manifest_path.is_file()
        running = is_crawl_locked(layout.directory)
        crawls.append({"crawl_id": layout.crawl_id,
                       "state": "running" if running else "finished" if finished else "interrupted",
                       "queued": max(0, len(scheduled) - done) if not finished else 0, "leased": 0, "done": done,
                       "failed": 0, "expired_leases": 0})
    return {"database": "local", "crawls": crawls, "workers": None}
