"""``scraper show``: one archived page record of a URL, as JSON, Markdown or text."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from scraper.cli._common import ExitStatus, archive_option, fail
from scraper.seeds import InvalidSeed, seed_url
from scraper.text import dumps_json, escape_controls


@click.command()
@click.argument("url")
@archive_option("Archive root to look in.")
@click.option("--db", metavar="URL", help="Catalog database URL (default: sqlite:///ARCHIVE/catalog.sqlite).")
@click.option("-f", "--format", "fmt", type=click.Choice(["json", "markdown", "text"]), default="json",
              show_default=True, help="json: the page record; markdown: a document (title, byline, a product's fields, "
                   "body, page type and confidence); text: title and body.")
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
