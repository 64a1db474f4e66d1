"""``scraper verify``: reads WARC files (ours and other tools') and reports damage and warnings, per file."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import click

from scraper.cli._common import ExitStatus, archive_option, default_jobs, fail, jobs_option, progress_bar, say
from scraper.storage.jsonl import scan_jsonl
from scraper.storage.layout import is_crawl_locked, is_open_warc_name, is_page_file_name, is_warc_name
from scraper.storage.repair import Repair, WarcRepair, repair_jsonl, repair_warc
from scraper.storage.verify import FileReport, find_warcs, verify_files
from scraper.text import dumps_json, escape_controls


def collect_files(paths: tuple[Path, ...], out: Path, include_open: bool = False) -> list[Path]:
    """The WARC files to verify: those named, and those under each folder named (default: the archive root).

    ``.open`` files under a folder are skipped with a warning: a crawl may be writing them.
    Named explicitly, or with ``include_open`` (``--repair``, which closes them), they are
    collected like any other.
    """
    if not paths:
        if not out.is_dir():
            fail(f"no archive at {out}")
        paths = (out,)
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            closed, still_open = find_warcs(path)
            if include_open:
                closed, still_open = closed + still_open, []
            for skipped in still_open:
                say(f"warning: skipped {skipped} (still being written, or left by a crash; name it to verify it)")
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


def repair_files(files: list[Path], paths: tuple[Path, ...], echo: Callable[[str], None]) -> tuple[list[Path], int]:
    """Repair the ``.open`` WARCs among ``files`` and the page files (``pages.jsonl``, each worker's
    ``pages-<worker>.jsonl``) of the crawl folders named (or holding
    a file named); ``echo`` each repair.  The files to verify afterwards (under their new names), and how many
    repairs were refused.

    Closed WARCs are verified, never cut: the writer fsyncs a file before closing it, so a torn
    closed file is a damaged copy, whose fix is the original.
    """
    pages: list[Path] = []
    for path in paths:
        pages += _page_files_under(path) if path.is_dir() else _page_files_under(path.parent, deep=False)
    jobs: list[tuple[Path, Callable[[Path], Repair]]] = [(f, repair_warc) for f in files if is_open_warc_name(f.name)]
    jobs += [(page, repair_jsonl) for page in dict.fromkeys(pages) if page.is_file()]
    renamed: dict[Path, Path | None] = {}
    refused = 0
    for target, repair in jobs:
        try:
            result = repair(target)
        except OSError as exc:
            echo(f"cannot repair {target}: {exc.strerror or exc}")
            refused += 1
            continue
        refused += result.refused is not None
        if result.changed or result.refused is not None:  # a file with nothing to repair goes unmentioned
            echo(result.describe())
        if isinstance(result, WarcRepair):
            renamed[target] = result.new_path
    after = [renamed.get(f, f) for f in files]
    return [f for f in after if f is not None], refused


def _page_files_under(folder: Path, deep: bool = True) -> list[Path]:
    """The page files (``pages.jsonl``, ``pages-<worker>.jsonl``) in ``folder``, and below it when ``deep``."""
    if not folder.is_dir():
        return []
    found = folder.rglob("*.jsonl") if deep else folder.glob("*.jsonl")
    return sorted(p for p in found if is_page_file_name(p.name) and p.is_file())


def page_record_files(paths: tuple[Path, ...]) -> list[Path]:
    """The JSONL files of page records under the folders named: each crawl's page files (``pages.jsonl``, each
    worker's ``pages-<worker>.jsonl``) and re-extractions."""
    from scraper.export import is_reextract_name

    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            found += sorted(p for p in path.rglob("*.jsonl")
                            if (is_page_file_name(p.name) or is_reextract_name(p.name)) and p.is_file())
    return list(dict.fromkeys(found))


def verify_jsonl(path: Path) -> FileReport:
    """A JSONL file of page records, read as every reader reads it (:func:`scan_jsonl`).

    A damaged line is a fault: readers skip it, so a record is lost to them, and a crash does not
    leave one before the last line.  A last line that is torn (no newline, or not a record) is what
    a crash leaves: a warning, which ``--repair`` mends; none while a crawl holds the folder's lock,
    since it may be writing that line now.
    """
    report = FileReport(path)
    last: tuple[int, int, str] | None = None  # the latest line, if it is not a record: (number, offset, why)
    try:
        for line in scan_jsonl(path):
            if last is not None:  # not the last line after all: damage
                report.add("jsonl-line", last[1], None, f"line {last[0]}: {last[2]}; readers skip it")
            last = (None if line.damage is None and not line.torn else
                    (line.number, line.offset, line.damage.reason if line.damage else "no newline at its end"))
            report.records += line.record is not None
    except OSError as exc:
        report.add("unreadable", None, None, f"cannot read {path}: {exc.strerror or exc}")
        return report
    if last is not None and not is_crawl_locked(path.parent):
        report.add("torn-line", last[1], None, f"line {last[0]}, the last, is torn ({last[2]}): a crash while it "
                                               f"was written; `scraper verify --repair` moves it aside")
    return report


# Below this the default is one process (default_jobs): a worker's start costs more than it saves.
POOL_MIN_MB = 32  # about a second of verifying


def _size(path: Path) -> int:
    """The bytes of a file to verify, for the bar's total (one that cannot be read adds none, and is reported)."""
    try:
        return path.stat().st_size
    except OSError:
        return 0


def print_report(report: FileReport) -> None:
    """A line per file, then one per finding: a file name or a record id holding a line break or an escape
    sequence is printed escaped, so it can neither add a line ("OK ...") nor drive the terminal."""
    status = "OK" if report.ok else "DAMAGED"
    click.echo(f"{status} {escape_controls(str(report.path))} ({report.records} records)")
    for finding in report.findings():  # faults and warnings ("warning KIND ..."), in file order
        click.echo(f"  {escape_controls(finding.describe())}")
    if report.omitted():
        click.echo(f"  {report.omitted()}")


@click.command()
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path), metavar="[PATH]...")
@archive_option("Archive root, verified when no PATH is given.")
@click.option("--quick", is_flag=True,
              help="Only gzip members, record framing and WARC headers (mandatory fields, dates, duplicate record "
                   "ids): no digests, HTTP or links. What every crawl runs at its end.")
@click.option("--json", "as_json", is_flag=True,
              help="One JSON object per file, on stdout, its faults and its warnings apart.")
@jobs_option("verify WARC files, a file each at a time", f"{POOL_MIN_MB} MB of WARC files")
@click.option("--repair", is_flag=True,
              help="First cut the torn tail left by a killed crawl off .open WARCs and pages.jsonl (the cut bytes "
                   "are saved beside them as NAME.torn-OFFSET), close the .open WARCs, then verify.")
def verify(paths: tuple[Path, ...], out: Path, quick: bool, as_json: bool, jobs: int | None, repair: bool) -> None:
    """Check WARC files for damage and report each fault and warning with its offset.

    \b
    PATH: WARC files, crawl folders, or an archive root (default: ARCHIVE).
    Faults (damage, exit 3) are what warcio or FastWARC find too, or what
    the WARC standard names: damaged or torn gzip members, more than one
    record in a gzip member, WARC framing (Content-Length, CRLF CRLF),
    missing mandatory fields, malformed WARC-Date, duplicate record ids,
    block and payload digests. Warnings change no exit status: HTTP headers
    the body contradicts (Transfer-Encoding, Content-Encoding,
    Content-Length: a server's lie, archived as told), no warcinfo record
    first, links that name a record of no file verified. In a WARC scraper
    wrote, a link that names no record of its crawl (a revisit's: of its
    archive) is a fault: a record or file of the archive is lost.
    Files still being written (.open) are skipped unless named.

    \b
    --repair first mends what a killed crawl leaves, then verifies: each
    .open WARC (named, or under a PATH) loses its torn last record, if any,
    and gets its final name (an existing file is never replaced); the
    pages.jsonl (and each worker's pages-WORKER.jsonl) of each crawl folder
    loses its torn last line. The bytes cut
    are moved to NAME.torn-OFFSET beside the file; all before them stays
    byte for byte. Damage other than a torn tail is left as it is, and
    reported. One line per repair (on stderr with --json). Never use it
    while a crawl is writing: its .open file looks torn.

    \b
    The page records under the folders (pages.jsonl, pages-WORKER.jsonl,
    pages.reextract-*.jsonl) are read too, and reported when a line is not a record: damage
    (jsonl-line), or a warning for a torn last line (torn-line), which
    --repair cuts.

    \b
    Exit status: 0 no damage; 2 usage error; 3 damage found (or, with
    --repair, left unrepaired).
    """
    files = collect_files(paths, out, include_open=repair)
    refused = 0
    if repair:
        files, refused = repair_files(files, paths or (out,),
                                      lambda line: click.echo(escape_controls(line), err=as_json))
    # A bar on a terminal only (progress_bar): piped or logged, stderr keeps its one summary line.
    with progress_bar(False, "verifying", "MB") as progress:
        task = progress.add_task(f"{len(files)} WARC file(s)", total=sum(_size(f) for f in files) / 1e6)
        reports = verify_files(files, deep=not quick, progress=lambda read: progress.advance(task, read / 1e6),
                               jobs=default_jobs(jobs, sum(_size(f) for f in files) / 1e6, POOL_MIN_MB),
                               warn=lambda message: say(f"warning: {message}"))
    # The page records too, but only those with something to say: a clean pages.jsonl is not a WARC
    # file verified, and the counts and lines of the WARC files stay what they were.
    records_said = [r for r in map(verify_jsonl, page_record_files(paths or (out,))) if r.faults or r.warnings]
    for report in reports + records_said:
        if as_json:
            click.echo(dumps_json(report.as_dict()))
        else:
            print_report(report)
    damaged = [r for r in reports + records_said if not r.ok]
    records = sum(r.records for r in reports)
    warnings = sum(len(r.warnings) for r in reports + records_said)
    verdict = f"{len(damaged)} damaged" if damaged else "no damage"
    verdict += f"; {refused} repair(s) refused" if refused else ""
    verdict += f"; {warnings} warning(s)" if warnings else ""
    click.echo(f"scraper: verified {len(reports)} file(s), {records} records: {verdict}", err=True)
    if damaged or refused:
        raise SystemExit(int(ExitStatus.DAMAGED))
