"""The ``scraper`` command: parse flags, map them to settings, print, exit.

Data goes to stdout, progress and logs to stderr; errors are one line, not a
traceback.  Exit statuses are :class:`ExitStatus`.
"""

from __future__ import annotations

import functools
import importlib
import json
import re
import signal
import sys
from collections.abc import Callable
from enum import IntEnum
from pathlib import Path
from types import FrameType
from typing import Any, ClassVar, NoReturn

import click

from scraper import __version__
from scraper.scope import parse_resolve
from scraper.seeds import InvalidSeed, dedupe_seeds, parse_seed_lines, parse_since, seed_url
from scraper.storage.layout import (
    ArchiveRootError,
    CrawlLayout,
    check_writable_root,
    is_crawl_locked,
    new_crawl_id,
)
from scraper.text import dumps_json, escape_controls


class ExitStatus(IntEnum):
    OK = 0
    PAGES_FAILED = 1  # the crawl ran, but some pages could not be archived (or none were)
    NOT_FOUND = 1  # show, history, diff, watch remove: a URL (or version, or time) the archive does not have
    USAGE = 2  # bad arguments or input: nothing was crawled
    DAMAGED = 3  # scraper verify found damage in a WARC file
    CATALOG_DAMAGED = 4  # the catalog is damaged, or missing while crawls need it: scraper catalog rebuild
    LOCKED = 75  # EX_TEMPFAIL: another rearchive run holds the lock, or another process the catalog's, too long
    INTERRUPTED = 130  # Ctrl-C / SIGINT
    WRITE_FAILED = 74  # EX_IOERR: the archive could not be written (a full disk); resumable
    TERMINATED = 143  # SIGTERM (128 + 15), as a shell reports a process it terminated


_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmgt]?)i?b?\s*$", re.IGNORECASE)
_UNITS = {"": 1, "k": 1024, "m": 1024**2, "g": 1024**3, "t": 1024**4}


def parse_size(text: str) -> int:
    """``"1G"``, ``"500MB"``, ``"65536"`` -> bytes."""
    match = _SIZE.match(text)
    if not match:
        raise click.BadParameter(f"{text!r} is not a size (e.g. 500M, 1G)")
    return int(float(match.group(1)) * _UNITS[match.group(2).lower()])


_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|sec|m|min|h|d)?\s*$", re.IGNORECASE)
_SECONDS = {"": 1, "s": 1, "sec": 1, "m": 60, "min": 60, "h": 3600, "d": 86400}


def parse_duration(text: str) -> float:
    """``"90s"``, ``"30m"``, ``"2h"``, ``"1d"``, ``"45"`` -> seconds."""
    match = _DURATION.match(text)
    if not match or float(match.group(1)) <= 0:
        raise click.BadParameter(f"{text!r} is not a duration (e.g. 90s, 30m, 2h)")
    return float(match.group(1)) * _SECONDS[(match.group(2) or "").lower()]


def fail(message: str, status: ExitStatus = ExitStatus.USAGE) -> NoReturn:
    say(f"error: {message}")
    raise SystemExit(int(status))


def say(message: str) -> None:
    """One line on stderr, ``scraper: MESSAGE``: control characters in it (a hostile file name) escaped."""
    click.echo(f"scraper: {escape_controls(message)}", err=True)


def require(option: str, check: Callable[[], object], errors: type[BaseException] | tuple[type[BaseException], ...]
            = ValueError, prefix: str = "") -> None:
    """Run a check of an option's value; its failure is one usage-error line naming the option."""
    try:
        check()
    except errors as exc:
        fail(f"{option}: {prefix}{exc}")


def catalog_status(exc: BaseException | None) -> ExitStatus | None:
    """The exit status of a catalog's one-line error (a CatalogError); None for anything else."""
    catalog = sys.modules.get("scraper.storage.catalog")  # not loaded: no catalog error can have happened
    if catalog is None or not isinstance(exc, catalog.CatalogError):
        return None
    if isinstance(exc, catalog.CatalogLocked):
        return ExitStatus.LOCKED
    if isinstance(exc, catalog.CatalogUnwritable):
        return ExitStatus.WRITE_FAILED
    return ExitStatus.CATALOG_DAMAGED


def open_catalog_or_raise(db: str) -> None:
    from scraper.storage.catalog import Catalog

    Catalog(db).close()


def parse_set_options(pairs: tuple[str, ...]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name.strip():
            fail(f"--set expects NAME=VALUE, got {pair!r}")
        out[name.strip()] = value
    return out


def read_seed_file(source: str) -> list[str]:
    try:
        if source == "-":
            return parse_seed_lines(sys.stdin)
        with open(source, encoding="utf-8-sig") as fh:
            return parse_seed_lines(fh)
    except FileNotFoundError:
        fail(f"seed file not found: {source}")
    except IsADirectoryError:
        fail(f"seed file is a folder: {source}")
    except UnicodeDecodeError:
        fail(f"seed file is not UTF-8 text: {source}")
    except InvalidSeed as exc:
        fail(f"{source}: {exc}")


class CommandsLoadedOnUse(click.Group):
    """The group whose other commands are imported when used: `scraper verify` need not load SQLAlchemy,
    nor `scraper show` the WARC verifier.  Each command's module registers it on :data:`cli` as it is
    imported; ``--help``, which lists them all, imports them all."""

    # command -> the module that defines it (tests/unit/test_architecture.py checks it against the modules)
    MODULES: ClassVar[dict[str, str]] = {
        "catalog": "scraper.cli.catalog",
        "crawls": "scraper.cli.crawls",
        "diff": "scraper.cli.rearchive",
        "export": "scraper.cli.export",
        "history": "scraper.cli.rearchive",
        "import": "scraper.cli.imports",
        "index": "scraper.cli.interchange",
        "rearchive": "scraper.cli.rearchive",
        "reextract": "scraper.cli.export",
        "replay": "scraper.cli.interchange",
        "verify": "scraper.cli.verify",
        "wacz": "scraper.cli.interchange",
        "watch": "scraper.cli.rearchive",
    }

    def list_commands(self, ctx: click.Context) -> list[str]:
        for module in sorted(set(self.MODULES.values())):
            importlib.import_module(module)
        return super().list_commands(ctx)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.commands and cmd_name in self.MODULES:
            importlib.import_module(self.MODULES[cmd_name])
        return super().get_command(ctx, cmd_name)


@click.group(cls=CommandsLoadedOnUse,
             context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="scraper")
def cli() -> None:
    """Crawl web pages politely, archive every HTTP exchange as WARC/1.1, and extract
    each article's text and metadata as normalised JSON.

    \b
    Examples:
      scraper crawl https://example.com/news/article-1
      scraper crawl -i urls.txt --depth 1 --out /data/archive
      scraper show https://example.com/news/article-1 --format markdown
    """


@cli.command()
@click.argument("urls", nargs=-1, metavar="[URL]...")
@click.option("-i", "--input", "input_file", metavar="FILE|-",
              help="Read seed URLs from FILE (or '-' for stdin): one per line, '#' comments.")
@click.option("-o", "--out", "out", type=click.Path(file_okay=False, path_type=Path), default=Path("archive"),
              show_default=True, help="Archive root; the crawl goes to OUT/crawls/<crawl_id>/.")
@click.option("--db", metavar="URL", help="Catalog database URL (default: sqlite:///OUT/catalog.sqlite).")
@click.option("--depth", type=click.IntRange(min=0), default=0, show_default=True,
              help="Follow links this many hops from the seeds, on the seeds' hosts. 0: the seeds only.")
@click.option("--max-pages", type=click.IntRange(min=0), default=0, show_default=True,
              help="Stop scheduling pages after this many (0: no limit).")
@click.option("--sitemap", "sitemaps", multiple=True, metavar="URL",
              help="Seed from a sitemap (repeatable): indexes, .xml.gz, news and image sitemaps.")
@click.option("--sitemap-from-robots", is_flag=True,
              help="Also seed from the Sitemap: lines of each seed host's robots.txt.")
@click.option("--feed", "feeds", multiple=True, metavar="URL", help="Seed from an RSS or Atom feed (repeatable).")
@click.option("--discover", "discover", multiple=True, metavar="URL",
              help="Find a page's feeds (link rel=alternate) and sitemaps and seed from them (repeatable).")
@click.option("--since", metavar="DATE", help="Only sitemap/feed entries dated on or after DATE (YYYY-MM-DD).")
@click.option("--scope", type=click.Choice(["page", "host", "domain", "prefix"]),
              help="Which links --depth follows: the seeds only, their hosts (default), their registered "
                   "domains, or URLs under the seeds' folders.")
@click.option("--allow", multiple=True, metavar="REGEX", help="Follow only links matching one of these (repeatable).")
@click.option("--deny", multiple=True, metavar="REGEX", help="Never follow links matching these (repeatable).")
@click.option("--max-bytes", metavar="SIZE", help="Stop after downloading SIZE (e.g. 500M).")
@click.option("--max-time", metavar="DURATION", help="Stop after DURATION (e.g. 90s, 30m, 2h).")
@click.option("--requisites", is_flag=True,
              help="Also archive what each page needs to render (images, CSS, JS, fonts), for replay.")
@click.option("--respect-noarchive", is_flag=True,
              help="Do not store pages whose X-Robots-Tag or meta robots says noarchive.")
@click.option("--allow-private", is_flag=True,
              help="Let discovered links reach loopback/private addresses (seed hosts always may).")
@click.option("--resolve", "resolve", multiple=True, metavar="HOST:ADDRESS",
              help="Answer DNS for HOST with ADDRESS (repeatable), like curl --resolve.")
@click.option("--jsonl", metavar="PATH|-", help="Also write the page records to PATH, or stream them to stdout (-).")
@click.option("--ignore-robots", is_flag=True, help="Do not fetch or obey robots.txt.")
@click.option("--contact", metavar="URL", help="Contact URL or e-mail to put in the User-Agent.")
@click.option("--user-agent", metavar="UA", help="Replace the User-Agent altogether.")
@click.option("--warc-max-size", metavar="SIZE", default="1G", show_default=True,
              help="Start a new WARC file when the current one reaches SIZE.")
@click.option("--no-extract", is_flag=True, help="Archive only; write records without extracted text.")
@click.option("-s", "--set", "set_options", multiple=True, metavar="NAME=VALUE",
              help="Set any Scrapy or scraper setting (repeatable), e.g. -s DOWNLOAD_DELAY=2.")
@click.option("--resume", "resume_id", metavar="CRAWL_ID",
              help="Continue the interrupted crawl OUT/crawls/CRAWL_ID/ with its own seeds and settings: "
                   "torn files are repaired, what it archived is not fetched again, what it scheduled is. "
                   "A crawl that ran to its end is left alone (exit 0); one stopped by --max-time or "
                   "--max-bytes continues, under the same limit again.")
@click.option("-q", "--quiet", is_flag=True, help="No progress display and no summary.")
@click.option("-v", "--verbose", count=True, help="More log output on stderr (-v info, -vv debug).")
def crawl(urls: tuple[str, ...], input_file: str | None, out: Path, depth: int, max_pages: int,
          sitemaps: tuple[str, ...], sitemap_from_robots: bool, feeds: tuple[str, ...], discover: tuple[str, ...],
          since: str | None, scope: str | None, allow: tuple[str, ...], deny: tuple[str, ...],
          max_bytes: str | None, max_time: str | None, requisites: bool, respect_noarchive: bool,
          allow_private: bool, resolve: tuple[str, ...], jsonl: str | None, ignore_robots: bool, contact: str | None,
          user_agent: str | None, warc_max_size: str, no_extract: bool, set_options: tuple[str, ...],
          resume_id: str | None, quiet: bool, verbose: int, db: str | None) -> None:
    """Crawl URLs and archive them into OUT (WARC files, pages.jsonl, manifest.json).

    \b
    Ctrl-C (or SIGTERM) stops gracefully: requests in flight finish, files
    are closed and the manifest is written; a second Ctrl-C stops at once.
    Either way, `scraper crawl --resume CRAWL_ID` continues the crawl.
    \b
    Exit status: 0 all pages archived; 1 some pages failed (network errors,
    HTTP 4xx/5xx) or none could be archived; 2 usage error; 4 the catalog is
    damaged, or missing while crawls need it (scraper catalog rebuild); 74 the
    archive could not be written (a full disk: make room, then --resume); 75
    the catalog is locked by another process; 130 interrupted (SIGINT); 143
    terminated (SIGTERM).
    """
    if resume_id is not None:
        given = [name for name, value in (("URL", urls), ("-i", input_file), ("--sitemap", sitemaps),
                                          ("--feed", feeds), ("--discover", discover)) if value]
        if given:
            fail(f"--resume continues a crawl with its own seeds: drop {', '.join(given)}")
        manifest, _settings = resume_crawl(resume_id, out, db, quiet, verbose, set_options)
        raise SystemExit(int(exit_status(manifest)))
    seeds: list[str] = []
    try:
        seeds = [seed_url(u) for u in urls]  # "example.com/news/" is https://example.com/news/
    except InvalidSeed as exc:
        fail(str(exc))
    if input_file:
        seeds += read_seed_file(input_file)
    seeds = dedupe_seeds(seeds)
    sources: dict[str, list[str]] = {}
    for option, values in (("--sitemap", sitemaps), ("--feed", feeds), ("--discover", discover)):
        try:
            sources[option] = dedupe_seeds(seed_url(u) for u in values)
        except InvalidSeed as exc:
            fail(f"{option}: {exc}")
    if not seeds and not any(sources.values()):
        fail("no URLs to crawl: give URLs as arguments, with -i FILE, or --sitemap/--feed/--discover")
    for option, patterns in (("--allow", allow), ("--deny", deny)):
        for pattern in patterns:
            require(option, functools.partial(re.compile, pattern), re.error,
                    f"{pattern!r} is not a regular expression: ")
    require("--resolve", lambda: parse_resolve(resolve))
    if since:
        require("--since", lambda: parse_since(since))
    require("--out", lambda: check_writable_root(out), ArchiveRootError)
    if db:
        # a bad URL, a missing driver, a server that does not answer
        require("--db", lambda: open_catalog_or_raise(db), Exception, "cannot open the catalog: ")
    if jsonl and jsonl != "-":
        try:
            Path(jsonl).open("a").close()
        except OSError as exc:
            fail(f"--jsonl: cannot write {jsonl}: {exc.strerror or exc}")

    overrides: dict[str, Any] = {
        **base_overrides(out, db, quiet, verbose),
        "ARCHIVE_SEEDS": seeds,
        "ARCHIVE_DEPTH": depth,
        "ARCHIVE_MAX_PAGES": max_pages,
        "ARCHIVE_JSONL": jsonl,
        "ARCHIVE_WARC_MAX_BYTES": parse_size(warc_max_size),
    }
    overrides.update({
        "ARCHIVE_SITEMAPS": sources["--sitemap"], "ARCHIVE_FEEDS": sources["--feed"],
        "ARCHIVE_DISCOVER": sources["--discover"], "ARCHIVE_SITEMAPS_FROM_ROBOTS": sitemap_from_robots,
        "ARCHIVE_SINCE": since, "ARCHIVE_SCOPE": scope, "ARCHIVE_ALLOW": list(allow), "ARCHIVE_DENY": list(deny),
        "ARCHIVE_REQUISITES": requisites, "ARCHIVE_RESPECT_NOARCHIVE": respect_noarchive,
        "ARCHIVE_ALLOW_PRIVATE": allow_private, "ARCHIVE_RESOLVE": list(resolve),
    })
    if max_bytes:
        overrides["ARCHIVE_MAX_BYTES"] = parse_size(max_bytes)
    if max_time:
        overrides["CLOSESPIDER_TIMEOUT"] = parse_duration(max_time)
    if ignore_robots:
        overrides["ROBOTSTXT_OBEY"] = False
    if no_extract:
        overrides["EXTRACT_ENABLED"] = False
    if user_agent:
        overrides["USER_AGENT"] = user_agent
    elif contact:
        overrides["USER_AGENT"] = f"scraper/{__version__} (web archiver; +{contact})"
        overrides["ARCHIVE_CONTACT"] = contact
    overrides.update(parse_set_options(set_options))
    manifest = execute_crawl(with_job(overrides), quiet=quiet, jsonl=jsonl)
    raise SystemExit(int(exit_status(manifest)))


# Settings that belong to one run of a crawl, not to the crawl: a resumed run sets its own.
PER_RUN_SETTINGS = frozenset({"ARCHIVE_ROOT", "ARCHIVE_DB", "ARCHIVE_CRAWL_ID", "ARCHIVE_PROGRESS", "LOG_LEVEL",
                              "LOG_FORMAT", "ARCHIVE_RESUME", "ARCHIVE_JOB"})


def with_job(overrides: dict[str, Any]) -> dict[str, Any]:
    """The overrides, plus what --resume needs to run the same crawl again (ARCHIVE_JOB, saved as
    crawl.json): every setting but where and how loudly."""
    return {**overrides, "ARCHIVE_JOB": {name: value for name, value in overrides.items()
                                         if name not in PER_RUN_SETTINGS}}


def resumable_folder(out: Path, name: str, running: str, kind: str = "crawl") -> CrawlLayout:
    """The interrupted crawl (or import: ``kind``) ``name`` under ``out``, for ``--resume``.

    Exits with one line when there is none, or when another process holds it (``running`` says which);
    exits 0, saying so, when it ran to its end: nothing to do is no error.
    """
    from scraper.interchange import UnknownCrawl, find_crawl
    from scraper.resume import finished_crawl

    try:
        layout = find_crawl(out, name)
    except UnknownCrawl as exc:
        fail(f"--resume: {exc}")
    if is_crawl_locked(layout.directory):
        fail(f"--resume: another process is writing {layout.directory} ({running})")
    finished = finished_crawl(layout.directory)
    if finished is not None:
        say(finished.describe().replace("crawl ", f"{kind} ", 1))
        raise SystemExit(int(ExitStatus.OK))
    return layout


def resume_crawl(name: str, out: Path, db: str | None, quiet: bool, verbose: int,
                 set_options: tuple[str, ...]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Run an interrupted crawl again in its own folder, with the settings it was started with.

    Returns its manifest and those settings.
    """
    from scraper.extensions import JOB_FILE

    require("--out", lambda: check_writable_root(out), ArchiveRootError)
    layout = resumable_folder(out, name, "a crawl or a resume of it is running")
    job_path = layout.directory / JOB_FILE
    try:
        job = json.loads(job_path.read_text(encoding="utf-8"))
        settings = dict(job["settings"])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        fail(f"--resume: cannot read {job_path} ({exc}); was the crawl made by scraper 0.1 or later?")
    overrides = {**settings, **base_overrides(out, db, quiet, verbose), "ARCHIVE_CRAWL_ID": layout.crawl_id,
                 "ARCHIVE_RESUME": True, "ARCHIVE_JOB": settings, **parse_set_options(set_options)}
    return execute_crawl(overrides, quiet=quiet, jsonl=settings.get("ARCHIVE_JSONL")), settings


def base_overrides(out: Path, db: str | None, quiet: bool, verbose: int) -> dict[str, Any]:
    """Settings every crawl gets from the command line."""
    return {
        "ARCHIVE_ROOT": str(out),
        "ARCHIVE_DB": db,
        "ARCHIVE_CRAWL_ID": new_crawl_id(),
        "ARCHIVE_PROGRESS": not quiet and sys.stderr.isatty(),
        "LOG_LEVEL": ("DEBUG" if verbose > 1 else "INFO" if verbose else "WARNING"),
        "LOG_FORMAT": "%(levelname)s %(name)s: %(message)s",
    }


def execute_crawl(overrides: dict[str, Any], *, quiet: bool, jsonl: str | None = None) -> dict[str, Any]:
    """Run one crawl in this process and print its summary; returns its manifest."""
    from scraper.runner import ArchiveWriteError, build_settings, run_crawl  # Scrapy loads only for a crawl
    from scraper.storage.rebuild import check_catalog

    # Before a crawl folder is made: a catalog that is damaged, or missing while crawls need it, stops here.
    resuming = overrides.get("ARCHIVE_CRAWL_ID") if overrides.get("ARCHIVE_RESUME") else None
    check_catalog(Path(overrides["ARCHIVE_ROOT"]), overrides.get("ARCHIVE_DB"), resuming)
    try:
        result = run_crawl(build_settings(overrides))
    except ArchiveWriteError as exc:
        fail(str(exc), catalog_status(exc.__cause__) or ExitStatus.WRITE_FAILED)
    except KeyboardInterrupt:  # before run_crawl handles signals itself: nothing was opened
        ignore_stop_signals()
        fail("interrupted", ExitStatus.INTERRUPTED)
    except ArchiveRootError as exc:
        fail(str(exc))
    if not quiet:
        print_summary(result.layout.directory, result.manifest, jsonl)
    return result.manifest


def exit_status(manifest: dict[str, Any]) -> ExitStatus:
    """0 when every page was archived; 1 when some failed, or nothing was archived for a reason."""
    counts = manifest.get("counts", {})
    if manifest.get("stopped_by") == "SIGTERM":
        return ExitStatus.TERMINATED
    if manifest.get("finish_reason") == "shutdown":
        return ExitStatus.INTERRUPTED
    if counts.get("pages_failed", 0):
        return ExitStatus.PAGES_FAILED
    nothing = not counts.get("pages", 0)
    if nothing and (counts.get("errors") or counts.get("robots_denied") or manifest.get("warnings")):
        return ExitStatus.PAGES_FAILED
    return ExitStatus.OK


def print_summary(directory: Path, manifest: dict[str, Any], jsonl: str | None) -> None:
    """The crawl's summary on stderr: a table on a terminal, ``label<TAB>value`` lines in a log."""
    from scraper.tables import TextTable

    counts = manifest.get("counts", {})
    table = TextTable(("", ""), title=f"crawl {manifest['crawl_id']} ({manifest['finish_reason']})",
                      show_header=False, key_column=True)
    table.add_row("pages archived", f"{counts.get('pages', 0)} ({counts.get('pages_extracted', 0)} extracted)")
    table.add_row("HTTP exchanges", f"{counts.get('exchanges_archived', 0)} "
                                    f"({counts.get('warc_records', 0)} WARC records)")
    table.add_row("WARC", f"{len(manifest.get('warc_files', []))} file(s), {counts.get('warc_bytes', 0):,} bytes")
    table.add_row("records", str(directory / manifest.get("pages_file", "pages.jsonl"))
                  + (f" (+ {'stdout' if jsonl == '-' else jsonl})" if jsonl else ""))
    if counts.get("revisits"):
        table.add_row("unchanged", f"{sum(counts['revisits'].values())} revisit record(s): " + ", ".join(
            f"{profile} ×{n}" for profile, n in counts["revisits"].items()))
    if counts.get("new_versions"):
        table.add_row("changed", f"{counts['new_versions']} page(s) with a new version")
    if counts.get("requisites"):
        table.add_row("requisites", f"{counts['requisites']} (images, styles, scripts, fonts)")
    if counts.get("seeds_from_sources"):
        table.add_row("from sources", f"{counts['seeds_from_sources']} page(s) seeded from sitemaps/feeds")
    if counts.get("robots_denied"):
        table.add_row("robots.txt", f"{counts['robots_denied']} page(s) not fetched (disallowed)")
    if counts.get("noarchive_skipped"):
        table.add_row("noarchive", f"{counts['noarchive_skipped']} page(s) not stored (--respect-noarchive)")
    if counts.get("guard_refused"):
        table.add_row("address guard", f"{counts['guard_refused']} link(s) to private addresses refused")
    if counts.get("skipped_max_pages"):
        table.add_row("--max-pages", f"{counts['skipped_max_pages']} link(s) not followed")
    if counts.get("filtered"):
        table.add_row("filtered", ", ".join(f"{rule} ×{n}" for rule, n in counts["filtered"].items()))
    delays = counts.get("host_delay", {})
    if delays:
        crawl_delay = counts.get("crawl_delay", {})
        table.add_row("per-host delay", ", ".join(
            f"{host} ≤{delay:g}s" + (f" (Crawl-delay {crawl_delay[host]:g}s)" if host in crawl_delay else "")
            for host, delay in list(delays.items())[:5]))
    if counts.get("retry_after_waits"):
        table.add_row("Retry-After", f"{counts['retry_after_waits']} wait(s), {counts['retry_after_seconds']:g}s "
                                     f"in all; {counts.get('retries', 0)} retries")
    if counts.get("pages_truncated"):
        table.add_row("truncated", f"{counts['pages_truncated']} page(s) over the size limit")
    errors = counts.get("errors", {})
    table.add_row("errors", ", ".join(f"{kind} ×{n}" for kind, n in errors.items()) if errors else "none")
    for warning in manifest.get("warnings", [])[:20]:
        table.add_row("warning", warning)
    table.print(sys.stderr)


@cli.command()
@click.argument("url")
@click.option("-o", "--out", type=click.Path(file_okay=False, path_type=Path), default=Path("archive"),
              show_default=True, help="Archive root to look in.")
@click.option("--db", metavar="URL", help="Catalog database URL (default: sqlite:///OUT/catalog.sqlite).")
@click.option("-f", "--format", "fmt", type=click.Choice(["json", "markdown", "text"]), default="json",
              show_default=True, help="json: the page record; markdown: an article document; text: title and body.")
@click.option("--at", metavar="TIME",
              help="The capture in effect at TIME: the latest made at or before it. TIME is an ISO date "
                   "(2024-03-01: the whole day, UTC) or date-time (2024-03-01T12:00:00Z; without an offset: UTC).")
@click.option("--version", "version", type=click.IntRange(min=1), metavar="N",
              help="The first capture of the page's version N (the versions are in `scraper history URL`).")
def show(url: str, out: Path, db: str | None, fmt: str, at: str | None, version: int | None) -> None:
    """Print the latest archived record of URL (final, requested or canonical URL).

    \b
    The latest record is the newest capture with content: a later capture that
    failed (a 404, a 500) does not hide the page. --at TIME picks the same way
    among the captures made at or before TIME; --version N picks the first
    capture of version N.
    \b
    Exit status: 0 printed; 1 no such capture in the archive; 2 usage error;
    4 the catalog is damaged (scraper catalog rebuild).
    """
    from scraper.records import render_markdown, render_text

    try:
        url = seed_url(url)
    except InvalidSeed as exc:
        fail(str(exc))
    if at is not None and version is not None:
        fail("give --at or --version, not both")
    until = None
    if at is not None:
        from scraper.export import parse_until

        try:
            until = parse_until(at)
        except ValueError as exc:
            fail(f"--at: {exc}")
    if not out.is_dir():
        fail(f"no archive at {out}")
    record = find_record(out, url, db, until, version)
    if fmt == "json":
        click.echo(dumps_json(record, indent=2))
    elif fmt == "markdown":
        click.echo(escape_controls(render_markdown(record), keep_lines=True), nl=False)
    else:
        click.echo(escape_controls(render_text(record), keep_lines=True), nl=False)


def find_record(out: Path, url: str, db: str | None, until: str | None, version: int | None) -> dict[str, Any]:
    """The record `show` prints: the latest, the one in effect at ``until``, or version ``version``'s first."""
    from scraper.storage.lookup import latest_record, record_in_effect, url_records

    if until is None and version is None:
        record = latest_record(out, url, db)
    else:
        records = url_records(out, url, db)
        if not records:
            record = None
        elif version is not None:
            record = next((r for r in records if r.get("version") == version), None)
            if record is None:
                versions = sorted({int(r["version"]) for r in records if r.get("version") is not None})
                fail(f"{url} has no version {version} " + (f"(versions: {', '.join(map(str, versions))})" if versions
                                                          else "(no capture of it has content)"),
                     ExitStatus.NOT_FOUND)
        else:
            assert until is not None
            record = record_in_effect([r for r in records if str(r.get("fetched_at") or "") <= until])
            if record is None:
                fail(f"no capture of {url} at or before {until} (the first is from {records[0]['fetched_at']})",
                     ExitStatus.NOT_FOUND)
    if record is None:
        fail(f"not in the archive: {url}", ExitStatus.NOT_FOUND)
    return record


class Interrupted(KeyboardInterrupt):
    """A Ctrl-C, as :func:`main` raises it: caught by every ``except KeyboardInterrupt``.

    Not KeyboardInterrupt itself: CPython remembers one that leaves code run by ``exec()`` of
    a string (a dataclass or named tuple being defined as a module is imported), even when it
    is caught afterwards, and then ends the process by SIGINT as it exits: exit -2, not 130.
    """


def raise_interrupted(signum: int, frame: FrameType | None) -> None:
    raise Interrupted


def main(argv: list[str] | None = None) -> int:
    if signal.getsignal(signal.SIGINT) is signal.default_int_handler:
        signal.signal(signal.SIGINT, raise_interrupted)  # (a crawl installs its own: scraper.runner.run_crawl)
    # Not click's standalone mode: it turns a Ctrl-C that interrupts a command into "Aborted!" and exit 1.
    try:
        status = cli.main(args=argv, prog_name="scraper", standalone_mode=False)
    except SystemExit as exc:
        status = int(exc.code or 0) if not isinstance(exc.code, str) else 1
    except click.ClickException as exc:
        exc.show()
        status = exc.exit_code
    except click.Abort as exc:  # what click makes of a KeyboardInterrupt, or of the end of input at a prompt
        if not isinstance(exc.__cause__, KeyboardInterrupt):
            click.echo("Aborted!", err=True)
            return 1
        status = interrupted()
    except KeyboardInterrupt:
        status = interrupted()
    except Exception as exc:  # a catalog damaged, locked or full, from any command: one line, its own status
        found = catalog_status(exc)
        if found is None:
            raise
        say(f"error: {exc}")
        status = int(found)
    if not isinstance(status, int):  # a command's return value (None): exit 0, as in click's standalone mode
        return 0
    if status in (ExitStatus.INTERRUPTED, ExitStatus.TERMINATED):
        ignore_stop_signals()
    return status


def interrupted() -> int:
    ignore_stop_signals()
    click.echo("scraper: interrupted", err=True)
    return int(ExitStatus.INTERRUPTED)


def ignore_stop_signals() -> None:
    """Stopping by a signal, or stopped: another Ctrl-C or SIGTERM must not cut the exit short.

    Handled, it would raise KeyboardInterrupt anywhere in what is left (the summary, the clean-up
    at exit); and as Python exits it gives a handled signal back its default action, which kills
    (exit -2 or -15, not 130 or 143).  Ignored, it stays ignored to the end.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
