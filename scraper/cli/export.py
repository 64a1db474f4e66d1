"""``scraper export`` and ``scraper reextract``: records out for downstream tools; re-extraction from stored WARCs."""

from __future__ import annotations

import functools
import io
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from scraper.article import OLD_PAGE_TYPES, PAGE_TYPES  # the values of a record's page_type (null: not extracted)
from scraper.cli._common import (
    ExitStatus,
    archive_option,
    default_jobs,
    fail,
    jobs_option,
    open_catalog_if_present,
    progress_bar,
    say,
)
from scraper.cli._limits import max_body_option
from scraper.dates import DATE_FORMS
from scraper.storage.failures import no_room
from scraper.text import escape_controls

if TYPE_CHECKING:
    from scraper.export import Sink
    from scraper.storage.backends import CatalogBackend
    from scraper.storage.layout import CrawlLayout

T = TypeVar("T")

SINCE_HELP = (f"Only captures made on or after DATE (when they were fetched, not the page's own date): "
              f"{DATE_FORMS}; a date from midnight UTC, a date-time without an offset in UTC.")


def _since(since: str | None) -> str | None:
    from scraper.export import parse_since, since_key

    if since is None:
        return None
    try:
        return since_key(parse_since(since))
    except ValueError as exc:
        fail(f"--since: {exc}")


def _crawls(root: Path, names: tuple[str, ...], since: str | None) -> list[CrawlLayout]:
    """The crawls to read: named ones or all, minus those still being written (with a warning)."""
    from scraper.export import ArchiveError, being_written, finished_before, select_crawls

    try:
        crawls = select_crawls(root, names)
    except ArchiveError as exc:
        fail(str(exc))
    ready = []
    for crawl in crawls:
        if being_written(crawl):
            say(f"warning: crawl {crawl.crawl_id} is still being written (or did not finish); skipped")
        elif since is None or not finished_before(crawl, since):
            ready.append(crawl)
    return ready


# Below these, the default is one process (default_jobs): workers would cost more than they save.
REEXTRACT_POOL_MIN_PAGES = 50  # about a second of extraction, the price of a pool's start and warm-up
EXPORT_POOL_MIN_RECORDS = 2000  # about a second of decoding and encoding


# -- reextract ----------------------------------------------------------------------------------------------
def _total_pages(crawls: list[CrawlLayout]) -> int | None:
    """The pages of the crawls, as their manifests count them; None when one has no readable count."""
    counts = [_manifest_pages(crawl) for crawl in crawls]
    return None if None in counts else sum(c or 0 for c in counts)


def _manifest_pages(crawl: CrawlLayout) -> int | None:
    import json

    try:
        return int(json.loads(crawl.manifest_path.read_text(encoding="utf-8"))["counts"]["pages"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


@click.command()
@click.argument("crawls", nargs=-1, metavar="[CRAWL]...")
@click.option("--since", metavar="DATE", help=SINCE_HELP)
@archive_option()
@click.option("--db", metavar="URL",
              help="Catalog database URL (default: sqlite:///ARCHIVE/catalog.sqlite); read only.")
@click.option("-q", "--quiet", is_flag=True, help="No progress display and no summary.")
@max_body_option("a longer payload is read that far (the page recorded truncated), a body that inflates past it "
                 "is not extracted, a longer page record is skipped; each with a warning naming the record")
@jobs_option("extract the pages", f"{REEXTRACT_POOL_MIN_PAGES} pages")
def reextract(crawls: tuple[str, ...], since: str | None, out: Path, db: str | None, quiet: bool,
              max_body_bytes: int, jobs: int | None) -> None:
    """Extract the text and metadata of archived pages again, from the stored WARC files.

    Nothing is fetched. CRAWL is a crawl id (a folder in ARCHIVE/crawls); none: every
    crawl, oldest first. Each crawl gets a new file
    ARCHIVE/crawls/<crawl_id>/pages.reextract-<UTC time>.jsonl whose records carry the
    extractor's name and version; pages.jsonl, the WARC files and the catalog are
    never changed. `scraper export` reads the newest re-extraction of each page.

    \b
    Revisit records are extracted from the original response they refer to
    (WARC-Refers-To, found through the record's refers_to or the catalog); a
    revisit whose original is missing is skipped and counted. Versions are
    computed again against each URL's previous capture (re-extracted in the same
    run, else as the catalog holds it).

    A crawl folder that is a link out of ARCHIVE is skipped with a warning: nothing
    is written through it.

    With --jobs N over 1, N worker processes extract the pages, a few each ahead of
    the record being written: the file is byte for byte what --jobs 1 writes. A
    worker that dies (out of memory, killed) is replaced, with one warning, and its
    pages are extracted again; a page whose worker dies twice is recorded without
    text (exit 1).

    \b
    Exit status: 0 done; 1 some pages could not be re-extracted; 2 usage error;
    3 a crawl folder was skipped; 74 the records could not be written (a full
    disk: no partial file is left); 130 interrupted.
    """
    from scraper.reextract import Reextractor
    from scraper.storage.layout import OutsideRoot

    since_value = _since(since)
    selected = _crawls(out, crawls, since_value)
    catalog: CatalogBackend | None = open_catalog_if_present(out, db)
    runner = Reextractor(out, catalog, since=since_value, max_body_bytes=max_body_bytes,
                         warn=lambda message: say(f"warning: {message}"),
                         jobs=default_jobs(jobs, _total_pages(selected), REEXTRACT_POOL_MIN_PAGES))
    outside = 0  # crawl folders that are links out of the archive root: not written into
    try:
        with progress_bar(quiet) as progress:
            for crawl in selected:
                task = progress.add_task(escape_controls(crawl.crawl_id), total=_manifest_pages(crawl))
                try:
                    path = runner.run_crawl(crawl, functools.partial(progress.advance, task))
                except OutsideRoot as exc:
                    progress.remove_task(task)
                    say(f"warning: {exc}; skipped")
                    outside += 1
                    continue
                except OSError as exc:  # a full disk: its partial file is removed (Reextractor.run_crawl)
                    fail(f"cannot write re-extracted records into {crawl.directory}: {exc.strerror or exc}",
                         ExitStatus.WRITE_FAILED)
                progress.remove_task(task)
                if path is not None and not quiet:
                    say(f"crawl {crawl.crawl_id}: {path}")
    except KeyboardInterrupt:
        fail("interrupted", ExitStatus.INTERRUPTED)
    finally:
        runner.close()
        if catalog is not None:
            catalog.close()
    tally = runner.tally
    if not quiet:
        extractor = runner.extractor
        skipped = "; ".join(f"{reason} ×{n}" for reason, n in tally.skipped.items())
        say(f"re-extracted {tally.pages} page(s) of {len(selected)} crawl(s) with {extractor['name']} "
             f"{extractor['version']} (model {extractor['model']}, trafilatura {extractor['trafilatura']}): "
             f"{tally.changed} with changed text, {tally.revisits} revisit(s) read "
             f"from their originals, {sum(tally.skipped.values())} skipped" + (f" ({skipped})" if skipped else "")
             + (f", {tally.extraction_errors} extraction error(s)" if tally.extraction_errors else ""))
    if outside:
        raise SystemExit(int(ExitStatus.DAMAGED))
    raise SystemExit(int(ExitStatus.PAGES_FAILED if tally.problems else ExitStatus.OK))


# -- export ---------------------------------------------------------------------------------------------------
@click.command()
@click.argument("crawls", nargs=-1, metavar="[CRAWL]...")
@click.option("-f", "--format", "fmt", type=click.Choice(["jsonl", "csv", "parquet"]), default="jsonl",
              show_default=True, help="jsonl: one record per line; csv: flat columns, a header row; "
                                      "parquet: flat columns, lists as list columns.")
@click.option("--site", "sites", multiple=True, metavar="HOST",
              help="Only pages whose URL (after redirects) is on HOST or its subdomains (repeatable); "
                   "HOST:PORT matches the port too.")
@click.option("--since", metavar="DATE", help=SINCE_HELP)
# "other" stays a choice: records written before the seven kinds say it, and `export` reads old crawls.
@click.option("--page-type", "page_types", multiple=True, type=click.Choice((*PAGE_TYPES, *OLD_PAGE_TYPES)),
              metavar="TYPE",
              help=f"Only pages whose page_type is TYPE ({', '.join(PAGE_TYPES)}; or {', '.join(OLD_PAGE_TYPES)}, "
                   "which only records written before the seven kinds say; repeatable). Records without "
                   "a page_type (not extracted, or written before page types) are left out.")
@click.option("--kind", "record_kind", type=click.Choice(["response", "revisit"]),
              help="Only records of this record_kind: response (the page as sent) or revisit (unchanged since "
                   "an earlier capture); --kind response leaves the revisits out.")
@click.option("--status", "statuses", multiple=True, metavar="N|Nxx",
              help="Only records with this HTTP status (repeatable): 200, 404, or a class such as 2xx. A revisit "
                   "after a 304 Not Modified has its original's status.")
@click.option("--latest", is_flag=True,
              help="Only the newest record of each URL (by normalized_url) among those the other options keep.")
@click.option("--as-crawled", is_flag=True, help="The records as the crawls wrote them, ignoring re-extractions.")
@click.option("-o", "--output", metavar="FILE|-", default="-", show_default=True,
              help="Write to FILE (complete or not at all), or '-' for stdout; parquet needs a FILE.")
@archive_option("Archive root to read.", "archive", old_names=False)  # -o is the output file
@click.option("-q", "--quiet", is_flag=True, help="No progress display and no summary line.")
@jobs_option("decode and encode the records", f"{EXPORT_POOL_MIN_RECORDS} records")
def export(crawls: tuple[str, ...], fmt: str, sites: tuple[str, ...], since: str | None, page_types: tuple[str, ...],
           record_kind: str | None, statuses: tuple[str, ...], latest: bool, as_crawled: bool, output: str,
           archive: Path, quiet: bool, jobs: int | None) -> None:
    """Write the archived page records for downstream tools, crawl by crawl, oldest first.

    CRAWL is a crawl id (a folder in ARCHIVE/crawls); none: every crawl. Each page's
    newest re-extraction (`scraper reextract`) stands in for its record unless
    --as-crawled is given.

    \b
    Each row begins like an entry of a WACZ pages.jsonl (url, ts, title, text;
    ts is fetched_at), followed by every page-record field (see
    scraper/schema/page-record.schema.json). CSV and Parquet flatten nested
    objects into dotted columns (warc.file, refers_to.record_id, ...); lists are
    JSON arrays in CSV cells and list<string> columns in Parquet; an empty CSV
    cell is null.

    A damaged line of a pages.jsonl (not UTF-8, not JSON) is left out with a
    warning naming its file and line, and the rest is exported.

    With --jobs N over 1, N worker processes decode the records and encode the
    rows, a few chunks ahead of the one being written: the output is byte for
    byte what --jobs 1 writes.

    \b
    Exit status: 0 done; 2 usage error (unknown crawl, bad date, unwritable output);
    3 done, but damaged lines were left out; 74 the output could not be written
    (a full disk: no partial file is left); 130 interrupted.
    """
    from scraper.export import (
        Selection,
        encoded_records,
        export_pool,
        open_sink,
        selected_records,
        site_matcher,
        status_matcher,
        write_encoded,
        write_rows,
    )
    from scraper.interchange import Skipped

    if fmt == "parquet" and output == "-":
        fail("--format parquet needs -o FILE: Parquet cannot be streamed to stdout")
    try:
        match = site_matcher(sites) if sites else None
    except ValueError as exc:
        fail(f"--site: {exc}")
    try:
        status = status_matcher(statuses) if statuses else None
    except ValueError as exc:
        fail(f"--status: {exc}")
    since_value = _since(since)
    selection = Selection(since=since_value, site=match, latest=latest, as_crawled=as_crawled,
                          page_types=frozenset(page_types), record_kind=record_kind, status=status)
    skipped = Skipped(lambda message: say(f"warning: {message}"))  # damaged lines: said once, then exit 3
    selected = _crawls(archive, crawls, since_value)
    # No bar over records printed on the same terminal: only when they go to a file or a pipe.
    progress = progress_bar(quiet or (output == "-" and sys.stdout.isatty()), "exporting", "records")
    pages = [_manifest_pages(crawl) for crawl in selected]  # --latest reads every crawl twice
    task = progress.add_task("", total=None if None in pages else sum(p or 0 for p in pages) * (2 if latest else 1))
    advance = functools.partial(progress.advance, task)
    jobs = default_jobs(jobs, None if None in pages else sum(p or 0 for p in pages), EXPORT_POOL_MIN_RECORDS)
    # One process: records, written by the sink; more: rows the pool's workers encoded, written as they are.
    pool = None
    if jobs > 1:
        try:
            pool = export_pool(jobs)
        except OSError as exc:
            # No semaphore, pipe or socket for a pool (a file-size limit, a $TMPDIR too long for AF_UNIX): the
            # same rows from this process alone, as reextract does.
            say(f"warning: cannot start export workers ({exc.strerror or exc}): exporting in this process")
    write: Callable[[Sink], int]
    if pool is None:
        records = selected_records(selected, selection, skipped.line, advance)
        write = functools.partial(write_rows, records)
    else:
        rows = encoded_records(selected, selection, fmt, pool, jobs, skipped.line, advance)
        write = functools.partial(write_encoded, rows)
    count = 0
    try:
        with progress:
            if output == "-":
                stream = io.TextIOWrapper(sys.stdout.buffer, encoding="utf-8", newline="")
                count = write(_Output(lambda: open_sink(fmt, stream)))
                _writing(stream.detach)  # stdout stays open for click
            else:
                count = _export_to_file(Path(output), fmt, write)
    except BrokenPipeError:
        # The reader went away (`| head`): not an error; keep Python from complaining at exit.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        raise SystemExit(int(ExitStatus.OK)) from None
    except KeyboardInterrupt:
        fail("interrupted", ExitStatus.INTERRUPTED)
    except OutputFailed as exc:
        fail(f"cannot write to stdout: {exc}" if output == "-"
             else f"cannot write {output}: {exc}; nothing was written: make room, then export again",
             ExitStatus.WRITE_FAILED)
    except OSError as exc:
        fail(f"{exc.filename or output}: {exc.strerror or exc}")
    finally:
        if pool is not None:
            pool.shutdown(cancel_futures=True)
    if not quiet:
        say(f"exported {count} record(s) as {fmt} to {'stdout' if output == '-' else output}")
    if skipped:
        raise SystemExit(int(ExitStatus.DAMAGED))


def _export_to_file(target: Path, fmt: str, write: Callable[[Sink], int]) -> int:
    from scraper.export import open_sink
    from scraper.storage.durable import AtomicFile

    if target.is_dir():
        fail(f"-o: {target} is a folder")
    try:
        output = AtomicFile(target, binary=fmt == "parquet")
    except OSError as exc:
        # a place that cannot be written is a usage error; a disk with no room left is not
        fail(f"-o: cannot write {target}: {exc.strerror or exc}",
             ExitStatus.WRITE_FAILED if no_room(exc) else ExitStatus.USAGE)
    try:
        count = write(_Output(lambda: open_sink(fmt, output.handle)))
        _writing(output.commit)
    finally:
        output.discard()  # the temporary file, half written or not: never left behind
    return count


class OutputFailed(Exception):
    """A write to the export's output failed (a full disk, a quota): exit 74, not a usage error."""


def _writing(action: Callable[[], T]) -> T:
    """Run a write to the output: its OSError becomes :class:`OutputFailed`, told apart from a failure to
    read the archive (a BrokenPipeError stays itself: the reader went away)."""
    try:
        return action()
    except BrokenPipeError:
        raise
    except OSError as exc:
        raise OutputFailed(exc.strerror or str(exc)) from exc


class _Output:
    """A sink of the export's rows whose failures are the output's (:func:`_writing`)."""

    def __init__(self, make: Callable[[], Sink]) -> None:
        self.sink = _writing(make)  # a CSV header or a Parquet magic number is written at once

    def write(self, row: dict[str, Any]) -> None:
        _writing(lambda: self.sink.write(row))

    def write_encoded(self, item: Any) -> None:
        _writing(lambda: self.sink.write_encoded(item))

    def close(self) -> None:
        _writing(self.sink.close)
