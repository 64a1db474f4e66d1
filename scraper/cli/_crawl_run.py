"""One crawl run in this process, as ``crawl``, ``rearchive`` and their ``--resume`` start it: the settings the
command line gives it, the folder a resume continues (``import --resume`` finds its own the same way), the
summary printed at its end and the exit status its manifest makes.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from scraper.cli._common import (
    ExitStatus,
    catalog_status,
    fail,
    ignore_stop_signals,
    parse_duration,
    require,
    say,
)
from scraper.storage.layout import ArchiveRootError, CrawlLayout, check_writable_root, is_crawl_locked, new_crawl_id


def parse_set_options(pairs: tuple[str, ...]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name.strip():
            fail(f"--set expects NAME=VALUE, got {pair!r}")
        out[name.strip()] = value
    return out


F = TypeVar("F", bound=Callable[..., Any])


def browser_options(command: F) -> F:
    """``--browser``, ``--screenshot`` and ``--browser-timeout``: crawl's and rearchive's."""
    command = click.option("--browser-timeout", metavar="DURATION",
                           help="Give a page this long to load and settle in the browser (default 30s); "
                                "then it is archived as far as it got.")(command)
    command = click.option("--screenshot", is_flag=True,
                           help="Keep a PNG of each rendered page's viewport (a WARC resource record).")(command)
    return click.option(
        "--browser", type=click.Choice(["never", "auto", "always"]), default="auto", show_default=True,
        help="Render pages in headless Chromium: auto, only a page whose HTML is an empty shell its scripts fill "
             "(little text found, scripts present); always, every HTML page; never. Every request a page makes "
             "is archived; its article comes from the rendered DOM when that holds more text.")(command)


def browser_overrides(browser: str, screenshot: bool, browser_timeout: str | None,
                      set_options: dict[str, Any], extract: bool) -> dict[str, Any]:
    """The settings of the browser flags; ``--browser always`` without a Chromium stops here, in one line."""
    from scraper.crawl.browser import find_chromium

    overrides: dict[str, Any] = {"BROWSER_MODE": browser, "BROWSER_SCREENSHOT": screenshot}
    if browser_timeout:
        try:
            overrides["BROWSER_TIMEOUT"] = parse_duration(browser_timeout)
        except click.BadParameter as exc:
            fail(f"--browser-timeout: {exc.message}")
    if browser == "always":
        if not extract:
            fail("--browser always renders pages to read them: drop --no-extract (or use --browser never)")
        executable = set_options.get("BROWSER_EXECUTABLE")
        if find_chromium(executable) is None:
            fail(f"--browser always: no Chromium {f'at {executable}' if executable else 'found'} (install Debian's "
                 f"chromium package, or -s BROWSER_EXECUTABLE=PATH)")
    return overrides


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
    from scraper.crawl.extensions import JOB_FILE

    require("--archive", lambda: check_writable_root(out), ArchiveRootError)
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
    from scraper.crawl.runner import ArchiveWriteError, build_settings, run_crawl  # Scrapy loads only for a crawl
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
    from scraper.crawl import counters as c  # the labels beside the counters' names; no Scrapy
    from scraper.tables import TextTable

    counts = manifest.get("counts", {})
    table = TextTable(("", ""), title=f"crawl {manifest['crawl_id']} ({manifest['finish_reason']})",
                      show_header=False, key_column=True)
    table.add_row(c.PAGES.label, f"{counts.get(c.PAGES.name, 0)} "
                                 f"({counts.get(c.PAGES_EXTRACTED.name, 0)} {c.PAGES_EXTRACTED.unit})")
    table.add_row(c.EXCHANGES_ARCHIVED.label, f"{counts.get(c.EXCHANGES_ARCHIVED.name, 0)} "
                                              f"({counts.get(c.WARC_RECORDS.name, 0)} {c.WARC_RECORDS.unit})")
    table.add_row(c.WARC_BYTES.label, f"{len(manifest.get('warc_files', []))} file(s), "
                                      f"{counts.get(c.WARC_BYTES.name, 0):,} {c.WARC_BYTES.unit}")
    table.add_row("records", str(directory / manifest.get("pages_file", "pages.jsonl"))
                  + (f" (+ {'stdout' if jsonl == '-' else jsonl})" if jsonl else ""))
    revisits = counts.get(c.REVISITS.name)
    if revisits:
        table.add_row(c.REVISITS.label, f"{sum(revisits.values())} {c.REVISITS.unit}: " + ", ".join(
            f"{profile} ×{n}" for profile, n in revisits.items()))
    for counter in c.LISTED:
        if counts.get(counter.name):
            table.add_row(counter.label, f"{counts[counter.name]} {counter.unit}")
    if counts.get(c.FILTERED.name):
        table.add_row(c.FILTERED.label, ", ".join(f"{rule} ×{n}" for rule, n in counts[c.FILTERED.name].items()))
    delays = counts.get(c.HOST_DELAY.name, {})
    if delays:
        crawl_delay = counts.get(c.CRAWL_DELAY.name, {})
        table.add_row(c.HOST_DELAY.label, ", ".join(
            f"{host} ≤{delay:g}s" + (f" (Crawl-delay {crawl_delay[host]:g}s)" if host in crawl_delay else "")
            for host, delay in list(delays.items())[:5]))
    if counts.get(c.RETRY_AFTER_WAITS.name):
        table.add_row(c.RETRY_AFTER_WAITS.label, f"{counts[c.RETRY_AFTER_WAITS.name]} {c.RETRY_AFTER_WAITS.unit}, "
                                                 f"{counts[c.RETRY_AFTER_SECONDS.name]:g}s in all; "
                                                 f"{counts.get(c.RETRIES.name, 0)} {c.RETRIES.unit}")
    if counts.get(c.PAGES_TRUNCATED.name):
        table.add_row(c.PAGES_TRUNCATED.label, f"{counts[c.PAGES_TRUNCATED.name]} {c.PAGES_TRUNCATED.unit}")
    errors = counts.get(c.ERRORS.name, {})
    table.add_row(c.ERRORS.label, ", ".join(f"{kind} ×{n}" for kind, n in errors.items()) if errors else "none")
    for warning in manifest.get("warnings", [])[:20]:
        table.add_row("warning", warning)
    table.print(sys.stderr)

