"""What ``scraper crawl --db postgresql://...``, ``scraper worker`` and ``scraper status`` share: the shared
database's URL, a worker in this process, its summary, and registering a crawl for workers."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from scraper.cli._common import ExitStatus, fail, open_catalog, say
from scraper.storage.layout import ArchiveRootError, CrawlLayout

DB_ENV = "SCRAPER_DB"  # the database URL, for services that keep it out of their command lines


def is_shared_db(db: str | None) -> bool:
    """A database several machines can share: PostgreSQL (SQLite is one machine's)."""
    return bool(db) and str(db).split(":", 1)[0].split("+", 1)[0] in ("postgresql", "postgres")


def check_worker_name(name: str) -> str:
    from scraper.storage.layout import check_worker_name as valid

    try:
        return valid(name)
    except ValueError as exc:
        fail(f"--name: {exc} (it goes into file names)")


def lease_settings(lease: float | None, rotate: float | None) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if lease is not None:
        out["ARCHIVE_LEASE_SECONDS"] = lease
    if rotate is not None:
        out["ARCHIVE_WARC_ROTATE_SECONDS"] = rotate
    return out


def work(root: Path, db: str, name: str, run_settings: dict[str, Any], *, forever: bool = False,
         only_crawl: str | None = None) -> Any:
    """Run a worker in this process (Scrapy loads only here); a stop by signal exits 130 or 143."""
    from scraper.crawl.worker import WorkerOptions, run_worker

    return run_worker(WorkerOptions(name=name, root=root, db=db, run_settings=run_settings, forever=forever,
                                    only_crawl=only_crawl))


def stop_status(result: Any) -> ExitStatus | None:
    import signal

    if result.stop_signal == signal.SIGTERM:
        return ExitStatus.TERMINATED
    if result.stop_signal is not None:
        return ExitStatus.INTERRUPTED
    return None


def print_worker_summary(result: Any, name: str) -> None:
    for manifest in result.manifests:
        counts = manifest.get("counts", {})
        leases = manifest.get("leases", {})
        errors = sum(counts.get("errors", {}).values())
        say(f"worker {name}: crawl {manifest['crawl_id']}: {counts.get('pages', 0)} pages archived, "
            f"{errors} errors, {len(manifest.get('warc_files', []))} WARC file(s) in the crawl; leases: "
            f"{leases.get('taken', 0)} taken, {leases.get('refetched', 0)} refetched after an expired lease, "
            f"{leases.get('lost', 0)} lost")
    for crawl_id in result.finished:
        say(f"crawl {crawl_id} finished (manifest.json written by worker {name})")
    for error in result.errors:
        say(f"error: {error}")


def shared_crawl(overrides: dict[str, Any], *, register_only: bool, quiet: bool) -> int:
    """``scraper crawl --db postgresql://``: register the crawl (settings, seeds), then work on it to its end."""
    from scraper.crawl.worker import default_worker_name, register_crawl
    from scraper.resume import JOB_FILE
    from scraper.storage.shared import SharedState

    root, db, crawl_id = Path(overrides["ARCHIVE_ROOT"]), str(overrides["ARCHIVE_DB"]), overrides["ARCHIVE_CRAWL_ID"]
    job = dict(overrides["ARCHIVE_JOB"])
    catalog = open_catalog(root, db)
    name = default_worker_name()
    try:
        CrawlLayout(root, crawl_id).create({JOB_FILE: {"crawl_id": crawl_id, "settings": job}})
        added = register_crawl(SharedState(catalog.engine), crawl_id, "crawl", job, created_by=name)
    except ArchiveRootError as exc:
        fail(str(exc))
    finally:
        catalog.close()
    if register_only:
        click.echo(crawl_id)
        if not quiet:
            say(f"crawl {crawl_id} registered with {added} request(s); workers (scraper worker --db ...) do the work")
        return int(ExitStatus.OK)
    run_settings: dict[str, Any] = {key: overrides[key] for key in ("LOG_LEVEL", "LOG_FORMAT") if key in overrides}
    result = work(root, db, name, run_settings, only_crawl=crawl_id)
    if not quiet:
        print_worker_summary(result, name)
    stopped = stop_status(result)
    if stopped is not None:
        return int(stopped)
    if result.errors:
        return int(ExitStatus.USAGE)
    failed = sum(m.get("counts", {}).get("pages_failed", 0) for m in result.manifests)
    return int(ExitStatus.PAGES_FAILED if failed else ExitStatus.OK)


