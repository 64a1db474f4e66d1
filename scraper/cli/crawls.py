"""``scraper crawls``: the crawls in an archive root, finished, stopped, running or interrupted."""

from __future__ import annotations

import json
import re
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import click

from scraper.cli._common import archive_option, fail
from scraper.storage.layout import CrawlLayout, is_crawl_locked, iter_crawls
from scraper.text import dumps_json, escape_controls

# What a crawl's state column says: the manifest's finish reason is beside it.
FINISHED, STOPPED, RUNNING, INTERRUPTED = "finished", "stopped", "running", "interrupted"
_CRAWL_ID_TIME = re.compile(r"^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z-")
# Seeds (and sources) shown per crawl in the table on a terminal, then "(+N more)"; elsewhere all of them.
SEEDS_ON_TERMINAL = 1


@dataclass(frozen=True)
class CrawlSummary:
    """One crawl as `scraper crawls` lists it (and its --json writes it)."""

    crawl_id: str
    state: str  # finished | stopped | running | interrupted
    finish_reason: str | None  # the manifest's, for a finished or stopped crawl
    started_at: str | None  # when the crawl was started (its id's time), UTC
    finished_at: str | None  # when its last run ended, for a finished or stopped crawl
    pages: int  # page records in its page files (pages.jsonl, each worker's pages-<worker>.jsonl)
    warc_bytes: int  # the size of its WARC files on disk
    seeds: list[str]
    sitemaps: list[str] = field(default_factory=list)
    feeds: list[str] = field(default_factory=list)
    discover: list[str] = field(default_factory=list)

    @property
    def state_text(self) -> str:
        return f"{self.state} ({self.finish_reason})" if self.state == STOPPED and self.finish_reason else self.state

    def starting_points(self) -> list[str]:
        """The seeds, then the sitemaps, feeds and pages it discovered seeds from, marked as such."""
        return [*self.seeds, *(f"sitemap:{u}" for u in self.sitemaps), *(f"feed:{u}" for u in self.feeds),
                *(f"discover:{u}" for u in self.discover)]


def _read_json(path: Path) -> dict[str, Any] | None:
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return value if isinstance(value, dict) else None


def _count_lines(path: Path) -> int:
    """Complete lines: a torn last line (a crawl killed while writing it) is not a record."""
    count = 0
    try:
        with open(path, "rb") as fh:
            while chunk := fh.read(1 << 20):
                count += chunk.count(b"\n")
    except OSError:
        return 0
    return count


def _strings(value: Any) -> list[str]:
    return [str(v) for v in value] if isinstance(value, list) else []


def summarise_crawl(layout: CrawlLayout) -> CrawlSummary:
    """What the crawl folder says about the crawl, whatever state it was left in.

    A crawl holding its folder's lock is running.  Without the lock, a manifest says how its
    last run ended, unless a WARC file is still ``.open``: then a later run (a resume) died
    without closing it, and the manifest is an earlier run's.  No manifest and no lock: the
    crawl was killed (or the machine stopped); ``scraper crawl --resume`` continues it.
    """
    from scraper.crawl.extensions import JOB_FILE  # the crawl's own settings, which --resume runs again

    warcs = layout.warc_paths()
    manifest = _read_json(layout.manifest_path)
    job = _read_json(layout.directory / JOB_FILE) or {}
    given = job.get("settings")
    settings: dict[str, Any] = given if isinstance(given, dict) else {}
    reason = str(manifest.get("finish_reason")) if manifest and manifest.get("finish_reason") else None
    left_open = bool(layout.warc_files().in_progress)
    if is_crawl_locked(layout.directory):
        state = RUNNING
    elif manifest is not None and reason and (not left_open or reason == "archive_write_error"):
        # a full disk leaves its WARC .open on purpose (for --resume) and says so in the manifest
        state = FINISHED if reason == "finished" else STOPPED
    else:
        state = INTERRUPTED
    settled = state in (FINISHED, STOPPED) and manifest is not None
    page_files = layout.page_files()
    pages = None
    # A manifest counts the pages of the run that wrote it; a crawl shared by workers (a page file each) has
    # pages no one run counted: its files are counted instead.
    if settled and all(path == layout.pages_path for path in page_files):
        assert manifest is not None
        counts, resumed = manifest.get("counts") or {}, manifest.get("resumed") or {}
        try:
            # the manifest counts its own run; a resumed crawl's earlier runs kept pages_before
            pages = int(counts.get("pages", 0)) + int(resumed.get("pages_before", 0) or 0)
        except (TypeError, ValueError, AttributeError):
            pages = None
    if pages is None:
        pages = sum(_count_lines(path) for path in page_files)
    match = _CRAWL_ID_TIME.match(layout.crawl_id)
    started = ("{}-{}-{}T{}:{}:{}Z".format(*match.groups()) if match
               else (str(manifest["started_at"]) if manifest and manifest.get("started_at") else None))
    seeds = _strings(settings.get("ARCHIVE_SEEDS")) or _strings((manifest or {}).get("seeds"))
    return CrawlSummary(
        crawl_id=layout.crawl_id, state=state, finish_reason=reason if settled else None, started_at=started,
        finished_at=str(manifest.get("finished_at")) if settled and manifest and manifest.get("finished_at") else None,
        pages=pages, warc_bytes=sum(_size(p) for p in warcs), seeds=seeds,
        sitemaps=_strings(settings.get("ARCHIVE_SITEMAPS")), feeds=_strings(settings.get("ARCHIVE_FEEDS")),
        discover=_strings(settings.get("ARCHIVE_DISCOVER")))


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:  # closed and renamed meanwhile
        return 0


@click.command()
@click.option("--json", "as_json", is_flag=True,
              help="JSON Lines on stdout: one object per crawl (crawl_id, state, finish_reason, started_at, "
                   "finished_at, pages, warc_bytes, seeds, sitemaps, feeds, discover).")
@archive_option()
def crawls(as_json: bool, out: Path) -> None:
    """List the crawls in the archive, oldest first: id, state, start, end, pages, WARC bytes, seeds.

    \b
    state is one of:
      finished      the crawl ran to its end
      stopped (R)   it ended early, for the reason R its manifest gives
                    (e.g. shutdown: Ctrl-C or SIGTERM; archive_write_error: a full disk)
      running       a process is writing it (a crawl or a resume holds its lock)
      interrupted   it was killed (or the machine stopped) before it could say
                    how it ended; `scraper crawl --resume CRAWL_ID` continues it
    \b
    On a terminal the list is a table (the first seed of each crawl); in a pipe
    or a file, tab-separated lines with every value whole: the seeds separated
    by spaces, sitemaps, feeds and --discover pages as sitemap:URL, feed:URL,
    discover:URL. --json writes JSON Lines for programs.
    """
    if not out.is_dir():
        fail(f"no archive at {out}")
    summaries = [summarise_crawl(layout) for layout in iter_crawls(out, newest_first=False)]
    if as_json:
        for summary in summaries:
            click.echo(dumps_json(asdict(summary)))
        return
    if not summaries:
        click.echo(f"scraper: no crawls in {escape_controls(str(out))}", err=True)  # a note, not data
        return
    from scraper.tables import TextTable

    on_terminal = sys.stdout.isatty()
    table = TextTable(("crawl", "state", "started", "finished", "pages", "WARC bytes", "seeds"))
    for summary in summaries:
        points = summary.starting_points()
        if on_terminal and len(points) > SEEDS_ON_TERMINAL:
            points = [*points[:SEEDS_ON_TERMINAL], f"(+{len(points) - SEEDS_ON_TERMINAL} more)"]
        shown = tuple(points) or "-"  # lines on a terminal, space-separated elsewhere
        table.add_row(summary.crawl_id, summary.state_text, summary.started_at or "-", summary.finished_at or "-",
                      str(summary.pages), str(summary.warc_bytes), shown)
    table.print()
