"""One crawl run in this process, as ``crawl``, ``rearchive`` and their ``--resume`` start it: the settings the
command line gives it, the folder a resume continues (``import --resume`` finds its own the same way), the
summary printed at its end and the exit status its manifest makes.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from scraper.cli._common import ExitStatus, catalog_status, fail, ignore_stop_signals, require, say
from scraper.storage.layout import ArchiveRootError, CrawlLayout, check_writable_root, is_crawl_locked, new_crawl_id


def parse_set_options(pairs: tuple[str, ...]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name.strip():
            fail(f"--set expects NAME=VALUE, got {pair!r}")
        out[name.strip()] = value
    return out


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


# Summary rows shown only when their manifest count is not zero: (count, label, what the number counts).
_COUNTED_ROWS = (
    ("new_versions", "changed", "page(s) with a new version"),
    ("requisites", "requisites", "(images, styles, scripts, fonts)"),
    ("seeds_from_sources", "from sources", "page(s) seeded from sitemaps/feeds"),
    ("robots_denied", "robots.txt", "page(s) not fetched (disallowed)"),
    ("noarchive_skipped", "noarchive", "page(s) not stored (--respect-noarchive)"),
    ("guard_refused", "address guard", "link(s) to private addresses refused"),
    ("skipped_max_pages", "--max-pages", "link(s) not followed"),
)


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
    for key, label, what in _COUNTED_ROWS:
        if counts.get(key):
            table.add_row(label, f"{counts[key]} {what}")
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

