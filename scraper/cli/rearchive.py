"""``scraper watch``, ``rearchive``, ``history`` and ``diff``: re-archiving on a schedule.

``rearchive`` captures every watched URL that is due, once, then exits: made for
cron and systemd timers.  A lock keeps two runs from overlapping; a missed run
simply finds its URLs due and catches up once.
"""

from __future__ import annotations

import difflib
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click

from scraper.cli._common import ExitStatus, archive_option, fail, parse_duration, read_seed_file, say
from scraper.cli._common import open_catalog as open_common_catalog
from scraper.cli._crawl_run import (
    base_overrides,
    browser_options,
    browser_overrides,
    execute_crawl,
    exit_status,
    parse_set_options,
    resume_crawl,
    with_job,
)
from scraper.cli._lock import acquire_lock
from scraper.records import utc_timestamp
from scraper.scope import url_key
from scraper.seeds import InvalidSeed, dedupe_seeds, seed_url
from scraper.storage.backends import CatalogBackend
from scraper.storage.catalog import NEVER, ScheduleError, Watch, next_due
from scraper.storage.layout import ArchiveRootError, check_writable_root
from scraper.tables import TextTable
from scraper.text import dumps_json, escape_controls

RESUME_COMMAND = "ARCHIVE_RESUME_COMMAND"  # the setting: which command's --resume a stopped crawl advises

out_option = archive_option()
db_option = click.option("--db", metavar="URL", help="Catalog database URL (default: sqlite:///ARCHIVE/catalog.sqlite).")


def open_catalog(out: Path, db: str | None) -> CatalogBackend:
    """The catalog of ``out``; a catalog missing while crawls need it, damaged, locked or on a full disk
    ends the command with its one-line error (:class:`CatalogError`, exit 4, 75 or 74)."""
    from scraper.storage.rebuild import catalog_gap

    try:
        check_writable_root(out)
    except ArchiveRootError as exc:
        fail(f"--archive: {exc}")
    gap = catalog_gap(out, db)  # before opening it: opening makes a new, empty one
    if gap is not None:
        raise gap
    catalog: CatalogBackend = open_common_catalog(out, db)
    return catalog


def valid_urls(urls: tuple[str, ...] | list[str]) -> list[str]:
    try:
        return dedupe_seeds(seed_url(u) for u in urls)  # "example.com/x" is https://example.com/x
    except InvalidSeed as exc:
        fail(str(exc))


def _when(moment: datetime | None) -> str:
    """A time for people: the records' format (``2026-12-05T03:06:25Z``), or "never"."""
    return utc_timestamp(moment) if moment and moment < NEVER else "never"


def _json_time(moment: datetime | None) -> str | None:
    """A time in JSON: the records' format, or null (as in the records) when there is none."""
    return utc_timestamp(moment) if moment and moment < NEVER else None


def _schedule(watch: Watch) -> str:
    if watch.cron:
        return f"cron {watch.cron}"
    seconds = watch.every_seconds or 86400
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size and seconds % size == 0:
            return f"every {int(seconds // size)}{unit}"
    return f"every {seconds:g}s"


def schedule_options(every: str | None, cron: str | None) -> tuple[float | None, str | None]:
    if every and cron:
        fail("give --every or --cron, not both")
    if cron:
        from croniter import croniter

        if not croniter.is_valid(cron):
            fail(f"--cron: {cron!r} is not a cron expression (e.g. '0 * * * *')")
    every_seconds = None if cron else (parse_duration(every) if every else 86400.0)
    try:  # a schedule that never comes round again would be captured once and then, silently, never
        next_due(datetime.now(UTC), every_seconds, cron)
    except ScheduleError as exc:
        fail(f"--cron {cron!r}: {exc}" if cron else f"--every {every}: {exc}")
    return every_seconds, cron


# -- watch -----------------------------------------------------------------------------------------
@click.group()
def watch() -> None:
    """Watch URLs for `scraper rearchive` (add, list, remove, import)."""


@watch.command("add")
@click.argument("urls", nargs=-1, required=True, metavar="URL...")
@click.option("--every", metavar="DURATION", help="Re-archive this often (default 1d): 30m, 6h, 1d ...")
@click.option("--cron", metavar="EXPR", help='Re-archive on a cron schedule, e.g. "0 * * * *" (UTC).')
@out_option
@db_option
def watch_add(urls: tuple[str, ...], every: str | None, cron: str | None, out: Path, db: str | None) -> None:
    """Watch URLs; they are due at once, then on their schedule."""
    every_seconds, cron_expr = schedule_options(every, cron)
    _add_watches(valid_urls(urls), every_seconds, cron_expr, out, db)


def _add_watches(urls: list[str], every_seconds: float | None, cron: str | None, out: Path, db: str | None) -> None:
    catalog = open_catalog(out, db)
    added = sum(catalog.add_watch(url_key(u), u, every_seconds, cron) for u in urls)
    catalog.close()
    click.echo(f"{added} watch(es) added, {len(urls) - added} updated", err=True)


@watch.command("import")
@click.argument("file", metavar="FILE|-")
@click.option("--every", metavar="DURATION", help="Re-archive this often (default 1d).")
@click.option("--cron", metavar="EXPR", help="Re-archive on a cron schedule (UTC).")
@out_option
@db_option
def watch_import(file: str, every: str | None, cron: str | None, out: Path, db: str | None) -> None:
    """Watch every URL of a seed file (one per line, '#' comments)."""
    every_seconds, cron_expr = schedule_options(every, cron)
    _add_watches(dedupe_seeds(read_seed_file(file)), every_seconds, cron_expr, out, db)


@watch.command("list")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per watch, on stdout.")
@out_option
@db_option
def watch_list(as_json: bool, out: Path, db: str | None) -> None:
    """List watched URLs with their schedule and when they are next due."""
    catalog = open_catalog(out, db)
    watches = catalog.list_watches()
    catalog.close()
    if as_json:
        for w in watches:
            click.echo(dumps_json({"url": w.url, "every_seconds": w.every_seconds, "cron": w.cron,
                                   "last_captured_at": _json_time(w.last_captured_at),
                                   "next_due_at": _json_time(w.next_due_at)}, ensure_ascii=True))
        return
    if not watches:
        click.echo("scraper: no watched URLs (scraper watch add URL)", err=True)  # a note, not data
        return
    table = TextTable(("url", "schedule", "last captured", "next due"))
    for w in watches:
        table.add_row(w.url, _schedule(w), _when(w.last_captured_at), _when(w.next_due_at))
    table.print()


@watch.command("remove")
@click.argument("urls", nargs=-1, required=True, metavar="URL...")
@out_option
@db_option
def watch_remove(urls: tuple[str, ...], out: Path, db: str | None) -> None:
    """Stop watching URLs (their captures stay in the archive)."""
    catalog = open_catalog(out, db)
    removed = sum(catalog.remove_watch(url_key(u)) for u in valid_urls(urls))
    catalog.close()
    click.echo(f"{removed} watch(es) removed", err=True)
    if removed < len(urls):
        raise SystemExit(int(ExitStatus.NOT_FOUND))


# -- rearchive ----------------------------------------------------------------------------------------
def mark_watches(catalog: CatalogBackend, urls: list[str]) -> None:
    """Mark the watches of the URLs a run took; a watch whose schedule has no next time is said, in one line."""
    for unscheduled in catalog.mark_captured([url_key(u) for u in urls], datetime.now(UTC)):
        say(f"warning: {unscheduled.describe()}")


@click.command()
@click.argument("urls", nargs=-1, metavar="[URL]...")
@click.option("--all", "all_watches", is_flag=True, help="Every watched URL, due or not.")
@click.option("--loop", is_flag=True, help="Keep going in the foreground: one crawl process per due batch.")
@out_option
@db_option
@click.option("--ignore-robots", is_flag=True, help="Do not fetch or obey robots.txt.")
@browser_options
@click.option("-s", "--set", "set_options", multiple=True, metavar="NAME=VALUE", help="Any setting (repeatable).")
@click.option("--resume", "resume_id", metavar="CRAWL_ID",
              help="Finish the interrupted re-archive crawl ARCHIVE/crawls/CRAWL_ID/, then mark its URLs captured. "
                   "A crawl that ran to its end is left alone (exit 0).")
@click.option("-q", "--quiet", is_flag=True, help="No progress display and no summary.")
@click.option("-v", "--verbose", count=True, help="More log output on stderr.")
def rearchive(urls: tuple[str, ...], all_watches: bool, loop: bool, out: Path, db: str | None,
              ignore_robots: bool, set_options: tuple[str, ...], resume_id: str | None, quiet: bool,
              verbose: int, browser: str, screenshot: bool, browser_timeout: str | None) -> None:
    """Capture every watched URL that is due (or --all, or the URLs given), once, then exit.

    \b
    Unchanged pages are stored as WARC revisit records (304 Not Modified to a
    conditional request, or an identical payload); a page's version goes up only
    when its text or key metadata changes.
    \b
    Exit status: 0 done (or nothing due); 1 some pages failed; 2 usage error;
    4 the catalog is damaged, or missing while crawls need it (scraper
    catalog rebuild); 74 the archive could not be written (make room, then
    rearchive --resume); 75 another rearchive holds the lock, or another
    process the catalog's; 130 interrupted (SIGINT); 143 terminated (SIGTERM).
    """
    if resume_id is not None and (urls or all_watches or loop):
        fail("--resume finishes one interrupted crawl: drop the URLs, --all and --loop")
    if loop:
        run_loop(out, db, [a for a in sys.argv[2:] if a != "--loop"], quiet)
        return
    catalog = open_catalog(out, db)
    lock = acquire_lock(out)
    if lock is None:
        raise SystemExit(int(ExitStatus.LOCKED))
    try:
        if resume_id is not None:
            # Should this run stop too, its own advice is `rearchive --resume` again (crawls before this setting).
            manifest, settings = resume_crawl(resume_id, out, db, quiet, verbose,
                                              (f"{RESUME_COMMAND}=rearchive", *set_options))
            if manifest.get("finish_reason") != "shutdown":
                mark_watches(catalog, list(settings.get("ARCHIVE_SEEDS", [])))
            raise SystemExit(int(exit_status(manifest)))
        if urls:
            seeds = valid_urls(urls)
        elif all_watches:
            seeds = [w.url for w in catalog.list_watches()]
        else:
            seeds = [w.url for w in catalog.due_watches()]
        if not seeds:
            upcoming = catalog.list_watches()
            message = (f"nothing due; next: {upcoming[0].url} at {_when(upcoming[0].next_due_at)}" if upcoming
                       else "no watched URLs (scraper watch add URL)")
            say(message)
            return
        # A run stopped half way (a full disk) is finished by `rearchive --resume`, which marks the watches.
        overrides = {**base_overrides(out, db, quiet, verbose), "ARCHIVE_SEEDS": seeds, RESUME_COMMAND: "rearchive"}
        if ignore_robots:
            overrides["ROBOTSTXT_OBEY"] = False
        given = parse_set_options(set_options)
        overrides.update(browser_overrides(browser, screenshot, browser_timeout, given, extract=True))
        overrides.update(given)
        manifest = execute_crawl(with_job(overrides), quiet=quiet)
        if manifest.get("finish_reason") != "shutdown":
            # Every URL tried counts as captured, failures too: a gone page is not retried every minute.
            mark_watches(catalog, seeds)
        raise SystemExit(int(exit_status(manifest)))
    finally:
        catalog.close()
        lock.close()


def run_loop(out: Path, db: str | None, args: list[str], quiet: bool) -> None:
    """One crawl process per cycle (Twisted's reactor cannot restart), sleeping until the next due URL."""
    try:
        while True:
            run_cycle([sys.executable, "-m", "scraper", "rearchive", *args])
            catalog = open_catalog(out, db)
            upcoming = catalog.list_watches()
            catalog.close()
            wait = 60.0
            if upcoming:
                wait = max(1.0, min(wait, (upcoming[0].next_due_at - datetime.now(UTC)).total_seconds()))
            if not quiet:
                click.echo(f"scraper: next check in {wait:.0f}s", err=True)
            time.sleep(wait)
    except KeyboardInterrupt:
        raise SystemExit(int(ExitStatus.INTERRUPTED)) from None


def run_cycle(argv: list[str]) -> int:
    """Run one rearchive process; Ctrl-C reaches it once, as a graceful stop, and is waited for.

    The child has its own session, so a terminal's Ctrl-C (sent to the whole process group)
    does not arrive twice, which Scrapy would take as "stop at once".
    """
    child = subprocess.Popen(argv, start_new_session=True)
    try:
        return child.wait()
    except KeyboardInterrupt:
        child.send_signal(signal.SIGINT)
        child.wait()
        raise


# -- history and diff ----------------------------------------------------------------------------------
def _history(url: str, out: Path, db: str | None,
             missing: ExitStatus = ExitStatus.NOT_FOUND) -> list[dict[str, Any]]:
    catalog = open_catalog(out, db)
    records = catalog.history(url_key(valid_urls([url])[0]))
    catalog.close()
    if not records:
        fail(f"no captures of {url} in the catalog", missing)
    return records


@click.command()
@click.argument("url")
@click.option("--json", "as_json", is_flag=True, help="The page records, one per line, on stdout.")
@out_option
@db_option
def history(url: str, as_json: bool, out: Path, db: str | None) -> None:
    """List a URL's captures: when, status, record kind, version, what changed."""
    records = _history(url, out, db)
    if as_json:
        for record in records:
            click.echo(dumps_json(record))
        return
    table = TextTable(("fetched", "status", "record", "version", "changed", "words", "WARC"))
    for r in records:
        kind = r["record_kind"] + (f" ({r['revisit_profile']})" if r.get("revisit_profile") else "")
        changed = ", ".join(r["changed_fields"]) or "-"
        table.add_row(r["fetched_at"], str(r["status"]), kind, str(r["version"] or "-"), changed,
                      str(r["word_count"]), f"{r['crawl_id']}/{r['warc']['file']}")
    table.print()


# The metadata `diff` compares, in the order it shows them; then the text.
DIFF_FIELDS = ("title", "authors", "published", "modified", "description")


@dataclass(frozen=True)
class VersionDiff:
    """What changed between two versions of a page: what both formats of `scraper diff` print."""

    old: dict[str, Any]  # the page record of the first capture of each version
    new: dict[str, Any]
    fields: dict[str, tuple[Any, Any]]  # metadata that differs: name -> (old value, new value)
    text_diff: list[str]  # the text's unified diff: hunks ("@@", " ", "-", "+" lines), no file headers

    @property
    def changed(self) -> bool:
        return bool(self.fields or self.text_diff)

    @property
    def changed_fields(self) -> list[str]:
        return [*self.fields, *(["text"] if self.text_diff else [])]

    def to_json(self) -> dict[str, Any]:
        def side(record: dict[str, Any]) -> dict[str, Any]:
            return {"version": record.get("version"), "fetched_at": record.get("fetched_at"),
                    "crawl_id": record.get("crawl_id"), "record_id": (record.get("warc") or {}).get("record_id")}

        return {"url": self.new.get("url"), "from": side(self.old), "to": side(self.new), "changed": self.changed,
                "changed_fields": self.changed_fields,
                "fields": {name: {"from": old, "to": new} for name, (old, new) in self.fields.items()},
                "text_diff": self.text_diff}


def version_diff(old: dict[str, Any], new: dict[str, Any]) -> VersionDiff:
    fields = {name: (old.get(name), new.get(name)) for name in DIFF_FIELDS if old.get(name) != new.get(name)}
    lines = difflib.unified_diff((old.get("text") or "").splitlines(), (new.get("text") or "").splitlines(),
                                 "text", "text", lineterm="", n=1)
    return VersionDiff(old, new, fields, list(lines)[2:])  # [2:]: the "--- text", "+++ text" headers


@click.command()
@click.argument("url")
@click.option("--from", "from_version", type=click.IntRange(min=1), metavar="N",
              help="Older version (default: the one before --to).")
@click.option("--to", "to_version", type=click.IntRange(min=1), metavar="N",
              help="Newer version (default: the latest).")
@click.option("-f", "--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True,
              help="text: a unified diff with the metadata that changed; json: one JSON document with the "
                   "versions compared (version, fetched_at, crawl_id, record_id), changed (true/false), "
                   "changed_fields, fields (name -> {from, to}) and text_diff (the unified diff's lines).")
@out_option
@db_option
def diff(url: str, from_version: int | None, to_version: int | None, fmt: str, out: Path, db: str | None) -> None:
    """Show what changed in a URL's extracted text and metadata between two versions.

    \b
    Each version is its first capture. By default the latest version is
    compared with the one before it. A page with one version only has nothing
    to compare: one line says so (on stderr) and the exit status is 0, as
    diff(1) comparing a file with itself.
    \b
    Exit status, as diff(1): 0 nothing changed; 1 something changed; 2 trouble
    (no such URL or version in the catalog, a bad argument); and 4 the catalog
    is damaged, or missing while crawls need it (scraper catalog rebuild).
    """
    versions: dict[int, dict[str, Any]] = {}
    for record in _history(url, out, db, missing=ExitStatus.USAGE):
        if record.get("version") is not None:
            versions.setdefault(int(record["version"]), record)  # the first capture of each version
    if not versions:
        fail(f"{url} has no captured content (no capture of it has a version)")
    to_version = to_version or max(versions)
    only = from_version is None and not any(v < to_version for v in versions)
    from_version = from_version or max([v for v in versions if v < to_version], default=to_version)
    for wanted in (from_version, to_version):
        if wanted not in versions:
            fail(f"{url} has no version {wanted} (versions: {', '.join(map(str, sorted(versions)))})")
    result = version_diff(versions[from_version], versions[to_version])
    if only:
        first = versions[to_version]["fetched_at"]
        which = ("has one version only" if len(versions) == 1 else "has no version before") + f" (version {to_version}"
        say(f"{url} {which}, first captured {first}): nothing to compare")
    if fmt == "json":
        click.echo(dumps_json(result.to_json(), indent=2))
    elif result.changed:
        old, new = result.old, result.new
        click.echo(escape_controls(f"--- version {from_version} ({old['fetched_at']})"))
        click.echo(escape_controls(f"+++ version {to_version} ({new['fetched_at']})"))
        for name, (before, after) in result.fields.items():
            click.echo(f"{name}: {dumps_json(before)} -> {dumps_json(after)}")
        for line in result.text_diff:  # one line of text each: a control character in it is escaped
            click.echo(escape_controls(line))
    raise SystemExit(1 if result.changed else 0)  # diff(1)'s statuses, not ExitStatus's
