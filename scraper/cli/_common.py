"""What the command modules share: exit statuses, one-line errors, the archive root's option, sizes and
durations, seed files, the progress display, and how a process stopped by a signal exits.

Every command imports this module, so it stays cheap to load (no catalog, no Scrapy); and it imports
nothing else of ``scraper.cli``: imports in the package point down, to here.
"""

from __future__ import annotations

import os
import re
import signal
import sys
from collections.abc import Callable
from enum import IntEnum
from pathlib import Path
from typing import Any, NoReturn, TypeVar

import click
from click.core import ParameterSource

from scraper.seeds import InvalidSeed, parse_seed_lines
from scraper.text import escape_controls


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


F = TypeVar("F", bound=Callable[..., Any])

# The archive root's names before `--archive` (-o also names an output file, in export and wacz): they still work,
# hidden, for one release, each saying so in one line.  Remove them, and this, in the release after.
OLD_ARCHIVE_NAMES = ("-o", "--out")
_OLD_ARCHIVE_GIVEN = "scraper.old_archive_names"  # ctx.meta: [(name, value)] of the old names given


def archive_option(help_text: str = "Archive root.", dest: str = "out", *, old_names: bool = True) -> Callable[[F], F]:
    """``--archive DIR``, the archive root, spelt the same in every command (default ``archive``).

    ``dest`` is the command's parameter.  With ``old_names``, ``-o`` and ``--out`` are hidden aliases that
    warn; a command whose ``-o`` is its output file (export, wacz) takes none.
    """
    path_type = click.Path(file_okay=False, path_type=Path)

    def decorate(command: F) -> F:
        command = click.option("--archive", dest, type=path_type, default=Path("archive"), show_default=True,
                               metavar="DIR", help=help_text, callback=_archive_root)(command)
        if old_names:
            for name in reversed(OLD_ARCHIVE_NAMES):
                # eager: handled before --archive itself, whatever the order on the command line
                command = click.option(name, f"old_archive_name_{name.lstrip('-')}", type=path_type, hidden=True,
                                       is_eager=True, expose_value=False, callback=_old_archive_name)(command)
        return command

    return decorate


def _old_archive_name(ctx: click.Context, param: click.Parameter, value: Path | None) -> None:
    if value is None:
        return
    name = max(param.opts, key=len)
    say(f"warning: {name} is now --archive ({name} goes away in the next release)")
    ctx.meta.setdefault(_OLD_ARCHIVE_GIVEN, []).append((name, value))


def _archive_root(ctx: click.Context, param: click.Parameter, value: Path) -> Path:
    """The root ``--archive`` gives, or an old name of it; more than one of them is a usage error."""
    given: list[tuple[str, Path]] = ctx.meta.get(_OLD_ARCHIVE_GIVEN, [])
    if ctx.get_parameter_source(str(param.name)) == ParameterSource.COMMANDLINE:
        given = [("--archive", value), *given]
    if len(given) > 1:
        fail(f"give the archive root once ({' and '.join(name for name, _ in given)} both name it)")
    return given[0][1] if given else value


def usable_cpus() -> int:
    """The CPUs this process may run on (its affinity, as a container or ``taskset`` sets it)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def jobs_option(what: str, enough: str) -> Callable[[F], F]:
    """``--jobs N``: how many processes ``what``; by default one per usable CPU when there is ``enough`` work
    (:func:`default_jobs`), else 1: this process alone."""
    return click.option("--jobs", "-j", "jobs", type=click.IntRange(min=1), default=None, metavar="N",
                        help=f"Processes that {what} (default: one per usable CPU, here {usable_cpus()}, for "
                             f"{enough} or more; below that, and with 1, this process alone). The output is the "
                             "same whatever N.")


def default_jobs(jobs: int | None, work: float | None, enough: float) -> int:
    """``--jobs`` as given, else one process per usable CPU when ``work`` (None: not known) is at least ``enough``.

    Starting workers costs a process and its imports (about half a second of CPU, and a second's wait
    for extraction's warm-up): on a small archive that is more than the work itself.
    """
    if jobs is not None:
        return jobs
    return usable_cpus() if work is None or work >= enough else 1


_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmgt]?)i?b?\s*$", re.IGNORECASE)
_UNITS = {"": 1, "k": 1024, "m": 1024**2, "g": 1024**3, "t": 1024**4}


def parse_size(text: str) -> int:
    """``"1G"``, ``"500MB"``, ``"65536"`` -> bytes."""
    match = _SIZE.match(text)
    if not match:
        raise click.BadParameter(f"{text!r} is not a size (e.g. 500M, 1G)")
    return int(float(match.group(1)) * _UNITS[match.group(2).lower()])


def size_text(size: int) -> str:
    """``size`` in the largest binary unit that divides it, as :func:`parse_size` reads it back: 1073741824 -> "1G"."""
    for unit in "tgmk":
        if size and size % _UNITS[unit] == 0:
            return f"{size // _UNITS[unit]}{unit.upper()}"
    return str(size)


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


def open_catalog(root: Path, db: str | None) -> Any:
    """The catalog of ``root`` (or of ``--db``) for a command, made if there is none.

    What cannot be opened ends the command with one line: a full disk (exit 74), a bad ``--db`` URL,
    a missing driver or a server that does not answer (exit 2).  A damaged or locked catalog
    (CatalogError) goes up to the entry point, which gives it its own exit status.
    """
    from scraper.storage.catalog import Catalog, CatalogError
    from scraper.storage.failures import no_room

    try:
        return Catalog.open(root, db)
    except CatalogError:
        raise
    except Exception as exc:  # SQLAlchemy's and the drivers' errors have no common base
        reason = no_room(exc)  # SQLite cannot even set up its shared memory file on a full disk
        if reason is not None:
            fail(f"cannot open the catalog: {reason}; make room, then run it again", ExitStatus.WRITE_FAILED)
        # the driver's own first line ("connection to server at ... failed: Connection refused"), not
        # SQLAlchemy's wrapping of it with the driver's hints and a link
        said = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
        fail(f"--db: cannot open the catalog: {said}" if db else f"cannot open the catalog: {said}")


def open_catalog_if_present(root: Path, db: str | None) -> Any:
    """A reader's catalog: None where there is none (a reader never makes one), else :func:`open_catalog`."""
    from scraper.storage.catalog import CATALOG_FILE

    if not db and not (root / CATALOG_FILE).is_file():
        return None
    return open_catalog(root, db)


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


class _NoProgress:
    def __enter__(self) -> _NoProgress:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def add_task(self, description: str, total: int | None = None, **fields: Any) -> int:
        return 0

    def advance(self, task: int, advance: float = 1) -> None:
        return None

    def update(self, task: int, **fields: Any) -> None:
        return None

    def remove_task(self, task: int) -> None:
        return None


MB = 1_000_000  # a bar over the bytes of WARC files counts megabytes: "312/1024 ... 45.2 MB/s"


def progress_bar(quiet: bool, verb: str = "re-extracting", unit: str = "pages") -> Any:
    """A live bar per task on stderr, with its rate (``unit`` a second, or the task's own ``unit`` field) and
    the time left, when stderr is a terminal (``reextract``, ``export``, ``import``, ``index``, ``wacz`` and
    ``catalog rebuild``); else nothing, so piped or logged output stays whole."""
    if quiet or not sys.stderr.isatty():
        return _NoProgress()
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        ProgressColumn,
        Task,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )
    from rich.text import Text

    class RateColumn(ProgressColumn):
        """Pages (or what the task's ``unit`` counts) a second, over rich's recent window."""

        def render(self, task: Task) -> Text:
            speed = task.finished_speed or task.speed
            return Text(f"{'?' if speed is None else f'{speed:,.1f}'} {task.fields.get('unit', unit)}/s",
                        style="progress.data.speed")

    return Progress(TextColumn(verb + " {task.description}"), BarColumn(), MofNCompleteColumn(), RateColumn(),
                    TimeElapsedColumn(), TextColumn("eta"), TimeRemainingColumn(), console=Console(stderr=True),
                    transient=True)


def ignore_stop_signals() -> None:
    """Stopping by a signal, or stopped: another Ctrl-C or SIGTERM must not cut the exit short.

    Handled, it would raise KeyboardInterrupt anywhere in what is left (the summary, the clean-up
    at exit); and as Python exits it gives a handled signal back its default action, which kills
    (exit -2 or -15, not 130 or 143).  Ignored, it stays ignored to the end.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
