"""``scraper import``: WARC files written by other tools into the archive, as a crawl of their own."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from scraper.cli._common import ExitStatus, archive_option, fail, open_catalog, progress_bar, say
from scraper.cli._crawl_run import resumable_folder
from scraper.cli._limits import max_body_option

if TYPE_CHECKING:  # scraper.imports loads extraction: only when the command runs
    from scraper.imports import FileError


class _Display:
    """The run's progress as a bar on stderr (on a terminal), its errors and notes as lines above it."""

    def __init__(self, bar: Any, quiet: bool) -> None:
        self.bar = bar
        self.quiet = quiet
        self.task: int | None = None

    def start(self, what: str, total: int | None) -> None:
        if self.task is not None:
            self.bar.remove_task(self.task)
        self.task = self.bar.add_task(what, total=total, unit=what.split()[-1])  # "reading files": files/s

    def advance(self) -> None:
        if self.task is not None:
            self.bar.advance(self.task)

    def error(self, error: FileError) -> None:
        # Said with -q too: the exit status says something failed, this line says what.
        say(f"error: {error.describe()}")

    def note(self, message: str) -> None:
        if not self.quiet:
            say(message)

    def warning(self, message: str) -> None:
        say(f"warning: {message}")  # with -q too: it names a record that was not read whole


def _workers() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


@click.command("import")
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path), metavar="PATH...")
@archive_option("Archive root to import into.")
@click.option("--db", metavar="URL", help="Catalog database URL (default: sqlite:///ARCHIVE/catalog.sqlite).")
@click.option("--link", is_flag=True,
              help="Hard-link the WARC files into the archive instead of copying them (a copy when the "
                   "archive is on another file system, or for a WACZ's WARCs).")
@click.option("--resume", "resume_id", metavar="CRAWL_ID", help="Finish an import that was interrupted.")
@click.option("-q", "--quiet", is_flag=True, help="No progress display, no summary (errors are still said).")
@max_body_option("a longer payload is read that far (the page recorded truncated), a body that inflates past it "
                 "is not extracted; each with a warning naming the record")
def import_warcs(paths: tuple[Path, ...], out: Path, db: str | None, link: bool, resume_id: str | None,
                 quiet: bool, max_body_bytes: int) -> None:
    """Bring WARC files written by other tools (wget, Heritrix, Browsertrix, warcprox, pywb ...)
    into the archive as a crawl of their own, with page records extracted from their HTML pages.

    PATH is a WARC file (.warc, .warc.gz), a WACZ (its WARC files are imported), or a folder
    searched for both. The files are copied (or hard-linked with --link) into a new folder
    ARCHIVE/crawls/<crawl_id>, never changed; their captures go into the catalog, so show, history,
    diff, export, index, wacz and replay work on them.

    \b
    A file that cannot be read to its end (not a WARC, damaged) is not imported: one line says
    why, and the others are. A killed import is finished by `scraper import --resume CRAWL_ID`.

    \b
    Exit status: 0 every file imported; 1 some could not be; 2 usage error; 130 interrupted.
    """
    from scraper.imports import Importer, ImportFailed, ImportOptions, plan_import
    from scraper.storage.layout import ArchiveRootError, CrawlLayout, check_writable_root, new_crawl_id

    if resume_id and paths:
        fail("--resume takes no PATH: the import's own list of files is in its crawl.json")
    if not resume_id and not paths:
        fail("give the WARC or WACZ files (or folders) to import, or --resume CRAWL_ID")
    try:
        check_writable_root(out)
    except ArchiveRootError as exc:
        fail(f"--archive: {exc}")
    if paths:
        try:
            plan = plan_import(paths, link)
        except FileNotFoundError as exc:
            fail(f"{exc.filename}: no such file or folder")
        layout = CrawlLayout(out, new_crawl_id())
    else:
        assert resume_id is not None
        layout = resumable_folder(out, resume_id, "the import is running", kind="import")
        try:
            plan = Importer.read_plan(layout)
        except ImportFailed as exc:
            fail(f"--resume: {exc}")
    catalog = open_catalog(out, db)
    options = ImportOptions(workers=_workers(), max_body_bytes=max_body_bytes)
    try:
        with progress_bar(quiet, "import:") as bar:
            display = _Display(bar, quiet)
            if resume_id:
                from scraper.storage.layout import lock_crawl

                lock = lock_crawl(layout.directory)
                importer = Importer(layout, plan, catalog, options, display)
            else:
                importer, lock = Importer.create(layout, plan, catalog, options, display)
            if not quiet:
                say(f"{'resuming the import of' if resume_id else 'importing'} {len(plan.files)} WARC file(s) "
                     f"into crawl {layout.crawl_id} ({layout.directory})")
            try:
                manifest = importer.run()
            finally:
                lock.close()
    except KeyboardInterrupt:
        fail(f"interrupted; `scraper import --resume {layout.crawl_id}` finishes the import", ExitStatus.INTERRUPTED)
    except ArchiveRootError as exc:
        fail(str(exc))
    except OSError as exc:
        fail(f"cannot write the archive in {layout.directory}: {exc.strerror or exc}", ExitStatus.WRITE_FAILED)
    finally:
        catalog.close()
    tally = importer.tally
    if not quiet:
        counts = manifest["counts"]
        errors = len(tally.errors)
        say(f"imported {counts['files']} file(s), {counts['warc_records']:,} WARC record(s), into crawl "
             f"{layout.crawl_id}: {counts['pages']:,} page(s) ({counts['pages_extracted']:,} extracted"
             + (f", {tally.pages_before:,} recorded before the resume" if tally.pages_before else "")
             + f"), {counts['revisits_resolved']:,} revisit(s) resolved"
             + (f", {counts['revisits_unresolved']:,} without their original" if counts["revisits_unresolved"] else "")
             + (f", {counts['pages_truncated']:,} truncated" if counts["pages_truncated"] else "")
             + (f", {counts['extraction_errors']:,} extraction error(s)" if counts["extraction_errors"] else "")
             + f"; {errors} file(s) not imported")
    raise SystemExit(int(ExitStatus.PAGES_FAILED if tally.errors else ExitStatus.OK))


