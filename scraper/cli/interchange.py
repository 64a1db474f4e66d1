"""``scraper index``, ``wacz`` and ``replay``: the archive in the formats pywb and ReplayWeb.page read."""

from __future__ import annotations

import ipaddress
import os
import signal
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import click
from click.core import ParameterSource

from scraper.cli._common import MB, ExitStatus, archive_option, fail, progress_bar, say
from scraper.cli._limits import max_body_option
from scraper.interchange import InterchangeError, Reading, UnknownCrawl, find_crawls, root_of_crawl_folders
from scraper.storage.layout import CRAWLS_DIR, CrawlLayout, OutsideRoot
from scraper.text import escape_controls

ROOT_HELP = "Archive root (the folder holding crawls/)."


def warn(message: str) -> None:
    say(f"warning: {message}")


@contextmanager
def user_errors() -> Iterator[None]:
    """Our errors as one line each: a crawl that is not there is a usage error, a link out of the archive root
    that would be written through is damage (3), the rest exit 1."""
    try:
        yield
    except UnknownCrawl as exc:
        fail(str(exc))
    except OutsideRoot as exc:
        fail(str(exc), ExitStatus.DAMAGED)
    except InterchangeError as exc:
        fail(str(exc), ExitStatus.PAGES_FAILED)


def archive_root(root: Path, names: tuple[str, ...]) -> Path:
    """The root given, or the one crawl folders named on the command line belong to (when no root is given)."""
    if click.get_current_context().get_parameter_source("root") is ParameterSource.DEFAULT and names:
        return root_of_crawl_folders(names) or root
    return root


def selected_crawls(root: Path, names: tuple[str, ...]) -> list[CrawlLayout]:
    try:
        return find_crawls(root, names)
    except UnknownCrawl as exc:
        fail(str(exc))


def relative(path: Path) -> str:
    """A path as the user would type it: relative to the current folder when under it."""
    try:
        return str(path.absolute().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


# -- index -------------------------------------------------------------------------------------------
@click.command("index")
@click.argument("names", nargs=-1, metavar="[CRAWL]...")
@archive_option(ROOT_HELP, "root")
def index_command(names: tuple[str, ...], root: Path) -> None:
    """Write sorted CDXJ indexes: one per crawl, and one merged for the whole archive.

    \b
    CRAWL is a crawl id or a crawl folder (ARCHIVE/crawls/<id>); without one, every
    crawl is indexed again.  Each crawl's index is ARCHIVE/crawls/<id>/index.cdxj, with
    file names relative to its folder; the archive's is ARCHIVE/index.cdxj, with file
    names relative to ARCHIVE.  Both are what `cdxj-indexer --sort --records
    response,revisit,resource` writes, so pywb can use either folder as its archive
    path.  Our metadata records are left out: their metadata:// URIs share the
    page's SURT key, so pywb would serve one as the page.  Up-to-date indexes of
    the other crawls are reused for the merged one.  WARC files still being written
    (*.warc.gz.open) are skipped with a warning.  A WARC file that cannot be read
    is left out with a warning, and so is a crawl folder that is a link out of
    ARCHIVE (nothing is written through it); the rest is indexed.  The paths written
    go to stdout.
    \b
    Exit status: 0 indexed; 1 nothing to index; 2 usage error (no such crawl or
    archive); 3 indexed, but something was left out (see the warnings).
    """
    from scraper.interchange.cdxj import crawl_index_path, update_indexes
    from scraper.interchange.replay import pywb_dir, sync_collection

    root = archive_root(root, names)
    crawls = selected_crawls(root, names)
    with user_errors(), progress_bar(False, "indexing", "MB") as progress:
        task = progress.add_task("WARC files", total=None)  # update_indexes says which files it reads
        reading = Reading(total=lambda size: progress.update(task, total=size / MB),
                          advance=lambda size: progress.advance(task, size / MB))
        report = update_indexes(root, rebuild=crawls, rebuild_all=not names, warn=warn, reading=reading)
        if pywb_dir(root).is_dir():
            try:
                sync_collection(root)  # a `scraper replay` running now serves the new crawls too
            except OutsideRoot as exc:
                report.skipped.add(str(exc.link), str(exc))
    for crawl in crawls:
        if crawl.crawl_id in report.empty:
            warn(f"crawl {crawl.crawl_id} has no finished WARC file: not indexed")
    for crawl_id, lines in report.indexed.items():
        path = crawl_index_path(CrawlLayout(root, crawl_id))
        click.echo(escape_controls(relative(path)))
        say(f"crawl {crawl_id}: {lines} CDXJ line(s)")
    assert report.archive_index is not None
    click.echo(escape_controls(relative(report.archive_index)))
    reused = f", {len(report.reused)} crawl index(es) reused" if report.reused else ""
    click.echo(f"scraper: archive index: {report.archive_lines} CDXJ line(s) from "
               f"{len(report.indexed) + len(report.reused)} crawl(s){reused}", err=True)
    if report.skipped:
        raise SystemExit(int(ExitStatus.DAMAGED))


# -- wacz --------------------------------------------------------------------------------------------
def check_output(output: Path) -> None:
    """Fail early, with one line, when the package could not be written where asked."""
    if output.suffix.lower() != ".wacz":
        fail(f"-o: {output} must end in .wacz (the WACZ format wants that extension)")
    if output.is_dir():
        fail(f"-o: {output} is a folder")
    folder = output.absolute().parent
    if not folder.is_dir():
        fail(f"-o: cannot write {output}: no folder {folder}")
    if not os.access(folder, os.W_OK | os.X_OK):
        fail(f"-o: cannot write {output}: folder {folder} is not writable")


@click.command("wacz")
@click.argument("names", nargs=-1, metavar="[CRAWL]...")
@click.option("--all", "all_crawls", is_flag=True, help="Package every crawl of the archive.")
@click.option("-o", "--output", type=click.Path(path_type=Path), required=True, metavar="FILE.wacz",
              help="The WACZ file to write (replaced if it exists).")
@archive_option("Archive root (the folder holding crawls/); -o names the package.", "root", old_names=False)
@click.option("--title", help="Title of the package, shown by ReplayWeb.page (default: the crawl ids).")
@click.option("--description", help="Description of the package (Markdown).")
@max_body_option("py-wacz, indexing, reads no more of one record's content (the WARC files go in whole)")
def wacz_command(names: tuple[str, ...], all_crawls: bool, output: Path, root: Path, title: str | None,
                 description: str | None, max_body_bytes: int) -> None:
    """Package crawls as a WACZ file for ReplayWeb.page, built with py-wacz.

    \b
    CRAWL is a crawl id or a crawl folder (ARCHIVE/crawls/<id>); --all packages
    every crawl.  The package holds the crawls' WARC files, a CDXJ index and a
    page list (pages/pages.jsonl) made from the crawls' page records: each final
    HTML page with its URL, capture time, title and extracted text, for
    ReplayWeb.page's page list and full-text search.  When a crawl holds revisit
    records (pages unchanged since an earlier crawl), the WARC files of the other
    crawls that hold their originals go in too, so the package replays on its
    own.  `wacz validate -f FILE.wacz` accepts it.  The file name goes to stdout.
    A WARC file that cannot be read is left out, with its pages, and so is a
    damaged line of a pages.jsonl: one warning each.
    \b
    Exit status: 0 written; 1 no finished WARC files, or py-wacz failed;
    2 usage error (no such crawl, -o not writable); 3 written, but something
    was left out (see the warnings).
    """
    from scraper.interchange import file_sizes
    from scraper.interchange.wacz import READS_OF_EACH_WARC, plan_package, write_wacz

    if all_crawls and names:
        fail("give crawl ids or --all, not both")
    if not all_crawls and not names:
        fail("which crawls? give crawl ids (or folders), or --all")
    check_output(output)
    root = archive_root(root, names)
    crawls = selected_crawls(root, names)
    with user_errors():
        if not crawls:
            raise InterchangeError(f"no crawls in {root / CRAWLS_DIR}")
        package = plan_package(root, crawls, warn=warn)
        ids = [c.crawl_id for c in crawls]
        default_title = ids[0] if len(ids) == 1 else f"{ids[0]} … {ids[-1]} ({len(ids)} crawls)"
        with progress_bar(False, "packaging", "MB") as progress:
            task = progress.add_task("WARC files", total=file_sizes(package.files) * READS_OF_EACH_WARC / MB)
            write_wacz(package, output, title or f"scraper: {default_title}", description, max_body_bytes,
                       lambda size: progress.advance(task, size / MB))
    originals = f" (+ {len(package.originals)} holding revisited originals)" if package.originals else ""
    click.echo(escape_controls(relative(output)))
    say(f"{output}: {len(package.warcs)} WARC file(s){originals}, {len(package.pages)} page(s), "
        f"{output.stat().st_size:,} bytes")
    if package.skipped:
        raise SystemExit(int(ExitStatus.DAMAGED))


# -- replay ------------------------------------------------------------------------------------------
def url_host(host: str) -> str:
    """How to write the listening address in a URL one can open."""
    if host in ("0.0.0.0", ""):
        return "127.0.0.1"
    if host == "::":
        return "[::1]"
    return f"[{host}]" if ":" in host else host


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@click.command("replay")
@archive_option(ROOT_HELP, "root")
@click.option("--host", metavar="ADDRESS", default="127.0.0.1", show_default=True,
              help="Address to listen on. Anything but loopback opens the archive to the network.")
@click.option("--port", metavar="PORT", type=click.IntRange(0, 65535), default=8080, show_default=True,
              help="Port to listen on; 0 picks a free one (the URLs printed say which).")
@click.option("--pywb-python", metavar="PATH",
              help="Python of the environment pywb is installed in (default: $SCRAPER_PYWB_PYTHON, else the "
                   "Python `wayback` runs with, else .venv-replay/bin/python).")
@click.option("-q", "--quiet", is_flag=True, help="No access log on stderr.")
def replay_command(root: Path, host: str, port: int, pywb_python: str | None, quiet: bool) -> None:
    """Browse the archive with pywb at http://HOST:PORT/archive/ until Ctrl-C.

    \b
    On start, the CDXJ indexes are brought up to date (as `scraper index` does) and
    the pywb collection in ARCHIVE/.pywb/ is synced with the archive: links to the WARC
    files, no copies.  pywb serves archived captures only; it never fetches the
    live web.  A WARC file that cannot be read is left out with a warning, and
    the rest is served.  The URLs to open go to stdout:
      http://HOST:PORT/archive/                         the collection: search by URL
      http://HOST:PORT/archive/<YYYYmmddHHMMSS>/<url>   a capture (the nearest in time)
    Crawls archived while it runs appear after `scraper index`.
    \b
    pywb runs in a Python environment of its own, as a child process: its
    brotlipy dependency replaces the brotli module Scrapy needs, so it is not
    installed with scraper.  `make replay` creates one in .venv-replay/ and runs
    this command with it (make replay ARGS="--port 8090").  Otherwise give
    --pywb-python, or set SCRAPER_PYWB_PYTHON, or put pywb's `wayback` on PATH.
    \b
    Exit status: 130 stopped with Ctrl-C; 1 nothing to replay, the port is taken,
    or pywb stopped on its own; 2 usage error, or no Python with pywb.
    """
    from scraper.interchange.cdxj import update_indexes
    from scraper.interchange.replay import (
        NoPywb,
        PywbServer,
        describe_exit,
        find_pywb_python,
        newest_page,
        replay_url,
        sync_collection,
    )

    if not (root / CRAWLS_DIR).is_dir():
        fail(f"no archive at {root} (no {CRAWLS_DIR}/ folder)")
    try:
        python = find_pywb_python(pywb_python)
    except NoPywb as exc:
        fail(str(exc))
    if not is_loopback(host):
        warn(f"listening on {host}: anyone who can reach this machine can browse the archive")

    server = PywbServer(python, root, host, port, quiet)
    stopped_by = signal.SIGINT

    def terminate(signum: int, _frame: object) -> None:
        nonlocal stopped_by
        stopped_by = signal.Signals(signum)
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, terminate)
    try:
        with user_errors():
            report = update_indexes(root, warn=warn)
            if report.indexed:
                click.echo(f"scraper: indexed {len(report.indexed)} crawl(s) new or changed since the last index",
                           err=True)
            sync_collection(root)
            page = newest_page(root)
            bound = server.start()
            base = f"http://{url_host(host)}:{bound}"
            click.echo(f"collection:  {base}/archive/")
            if page is not None:
                click.echo(f"newest page: {escape_controls(replay_url(base, *page))}")
            click.echo(f"any capture: {base}/archive/<YYYYmmddHHMMSS>/<url>")
            say(f"pywb is replaying {root} on {base}; Ctrl-C to stop")
            status = server.wait()
            last = f": {server.last_error}" if server.last_error else ""
            fail(f"pywb stopped on its own ({describe_exit(status)}){last}", ExitStatus.PAGES_FAILED)
    except KeyboardInterrupt:  # Ctrl-C (or SIGTERM): pass it on to pywb, and wait for it
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        server.stop(stopped_by)
    finally:
        server.stop(signal.SIGINT)  # never left running without us (a no-op when it has stopped)
        if signal.getsignal(signal.SIGTERM) is terminate:
            signal.signal(signal.SIGTERM, previous)
    click.echo("scraper: replay stopped", err=True)
    raise SystemExit(int(ExitStatus.INTERRUPTED) if stopped_by == signal.SIGINT else 128 + int(stopped_by))
