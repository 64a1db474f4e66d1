"""``scraper verify``: reads our WARCs and reports damage, per file."""

from __future__ import annotations

import json
from pathlib import Path

import click

from scraper.cli import ExitStatus, cli, fail
from scraper.storage.verify import FileReport, find_warcs, is_open_warc_name, is_warc_name, verify_files


def collect_files(paths: tuple[Path, ...], out: Path) -> list[Path]:
    """The WARC files to verify: those named, and those under each folder named (default: the archive root).

    ``.open`` files under a folder are skipped with a warning: a crawl may be writing them.
    Named explicitly, they are verified like any other.
    """
    if not paths:
        if not out.is_dir():
            fail(f"no archive at {out}")
        paths = (out,)
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            closed, still_open = find_warcs(path)
            for skipped in still_open:
                click.echo(f"scraper: warning: skipped {skipped} (still being written, or left by a crash; "
                           f"name it to verify it)", err=True)
            if not closed:
                fail(f"no WARC files under {path}")
            files += closed
        elif path.is_file():
            if not (is_warc_name(path.name) or is_open_warc_name(path.name)):
                fail(f"not a WARC file (.warc.gz or .warc): {path}")
            files.append(path)
        else:
            fail(f"no such file or folder: {path}")
    return list(dict.fromkeys(files))  # a file named twice, or inside a folder also named, is verified once


def print_report(report: FileReport) -> None:
    status = "OK" if report.ok else "DAMAGED"
    click.echo(f"{status} {report.path} ({report.records} records)")
    for fault in report.faults:
        click.echo(f"  {fault.describe()}")


@cli.command()
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path), metavar="[PATH]...")
@click.option("-o", "--out", type=click.Path(file_okay=False, path_type=Path), default=Path("archive"),
              show_default=True, help="Archive root, verified when no PATH is given.")
@click.option("--quick", is_flag=True,
              help="Only gzip members, record framing and duplicate record ids (what every crawl runs at its end).")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per file, on stdout.")
def verify(paths: tuple[Path, ...], out: Path, quick: bool, as_json: bool) -> None:
    """Check WARC files for damage and report each fault with its offset.

    \b
    PATH: WARC files, crawl folders, or an archive root (default: OUT).
    Checks: gzip members (damaged or torn), WARC framing (Content-Length,
    CRLF CRLF), block and payload digests, duplicate record ids, broken
    WARC-Concurrent-To / Warcinfo-ID / Refers-To links, and HTTP headers the
    body contradicts (Content-Encoding, Content-Length). A revisit's
    Refers-To is looked up in every WARC of the file's archive; for a file
    outside an archive (ROOT/crawls/<crawl_id>/) it is only a warning.
    Files still being written (.open) are skipped unless named.
    \b
    Exit status: 0 no damage; 2 usage error; 3 damage found.
    """
    reports = verify_files(collect_files(paths, out), deep=not quick)
    for report in reports:
        if as_json:
            click.echo(json.dumps(report.as_dict(), ensure_ascii=False))
        else:
            print_report(report)
    damaged = [r for r in reports if not r.ok]
    records = sum(r.records for r in reports)
    verdict = f"{len(damaged)} damaged" if damaged else "no damage"
    click.echo(f"scraper: verified {len(reports)} file(s), {records} records: {verdict}", err=True)
    if damaged:
        raise SystemExit(int(ExitStatus.DAMAGED))
