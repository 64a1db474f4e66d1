"""``scraper catalog rebuild``: the catalog made again from the crawl folders' own files."""

from __future__ import annotations

from pathlib import Path

import click

from scraper.cli._common import MB, ExitStatus, archive_option, fail, progress_bar, say
from scraper.cli._lock import acquire_lock
from scraper.storage.layout import CRAWLS_DIR, ArchiveRootError, check_writable_root

SHOWN_PROBLEMS = 20  # lines of what could not be read; the rest are counted


@click.group()
def catalog() -> None:
    """The catalog (ARCHIVE/catalog.sqlite): URLs, captures, versions, watches."""


@catalog.command("rebuild")
@archive_option("Archive root: its crawls/ are read, its catalog.sqlite is rebuilt.")
@click.option("--db", metavar="URL",
              help="A SQLite catalog elsewhere, sqlite:///FILE (default: ARCHIVE/catalog.sqlite).")
@click.option("-q", "--quiet", is_flag=True, help="Only warnings and errors.")
def rebuild(out: Path, db: str | None, quiet: bool) -> None:
    """Rebuild the catalog from every crawl's page records (pages.jsonl, each worker's
    pages-WORKER.jsonl) and WARC files.

    \b
    Needed when another command says the catalog is damaged (exit 4), or that
    it is missing or empty while crawls on disk recorded pages (it was deleted,
    lost, or restored from a backup older than them).
    \b
    Captures, versions, histories and redirects come from the crawl folders:
    `history`, `show` and `diff` answer as they did. The old catalog, if any,
    is kept beside the new one as catalog.sqlite.damaged-N, untouched; its
    watches are copied when they can be read. Nothing under crawls/ changes.
    \b
    Exit status: 0 rebuilt; 1 rebuilt, but some files or lines could not be
    read (each is said); 2 usage error; 74 the catalog could not be written;
    75 a crawl, a rearchive or another rebuild is running.
    """
    from scraper.storage.rebuild import RebuildRefused, rebuild_catalog, sqlite_path, warc_bytes

    target = sqlite_path(out, db)
    if target is None:
        fail("--db: only a SQLite catalog (sqlite:///FILE) can be rebuilt")
    if not (out / CRAWLS_DIR).is_dir() and not target.exists():
        fail(f"no archive at {out} (no {CRAWLS_DIR}/ folder, no catalog)")
    try:
        check_writable_root(out)
    except ArchiveRootError as exc:
        fail(f"--archive: {exc}")
    lock = acquire_lock(out)  # rearchive runs and other rebuilds wait for this one
    if lock is None:
        raise SystemExit(int(ExitStatus.LOCKED))
    try:
        with progress_bar(quiet, "rebuilding", "MB") as bar:
            task = bar.add_task("the catalog", total=warc_bytes(out) / MB)
            done = rebuild_catalog(out, db, progress=(lambda _line: None) if quiet else
                                   (lambda line: say(f"catalog rebuild: {line}")),
                                   advance=lambda size: bar.advance(task, size / MB))
    except RebuildRefused as exc:
        fail(str(exc), ExitStatus.LOCKED)
    except OSError as exc:
        fail(f"cannot write the catalog {target}: {exc.strerror or exc}; make room, then try again",
             ExitStatus.WRITE_FAILED)
    finally:
        lock.close()
    for problem in done.problems[:SHOWN_PROBLEMS]:
        say(f"warning: {problem}")
    if len(done.problems) > SHOWN_PROBLEMS:
        say(f"warning: {len(done.problems) - SHOWN_PROBLEMS} more file(s) or line(s) could not be read")
    if done.watches_problem is not None:
        say(f"warning: the old catalog's watches could not all be read ({done.watches_problem}): {done.watches} "
            f"kept; add the others again (scraper watch add URL)")
    if not quiet:
        aside = f"; the old catalog is kept as {done.kept_aside}" if done.kept_aside else "; there was no old catalog"
        say(f"catalog {done.catalog} rebuilt from {done.crawls} crawl(s): {done.captures} capture(s) "
            f"({done.committed} readable), {done.watches} watch(es) kept{aside}")
    raise SystemExit(int(ExitStatus.PAGES_FAILED if done.problems or done.watches_problem else ExitStatus.OK))
