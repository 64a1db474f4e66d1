"""What the command modules share: exit statuses, one-line errors, sizes and durations, seed files,
the progress display, and how a process stopped by a signal exits.

Every command imports this module, so it stays cheap to load (no catalog, no Scrapy); and it imports
nothing else of ``scraper.cli``: imports in the package point down, to here.
"""

from __future__ import annotations

import re
import signal
import sys
from collections.abc import Callable
from enum import IntEnum
from typing import Any, NoReturn

import click

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

    def add_task(self, description: str, total: int | None = None) -> int:
        return 0

    def advance(self, task: int) -> None:
        return None

    def remove_task(self, task: int) -> None:
        return None


def progress_bar(quiet: bool, verb: str = "re-extracting") -> Any:
    """A live bar per task on stderr, when stderr is a terminal (``reextract`` and ``import``); else nothing."""
    if quiet or not sys.stderr.isatty():
        return _NoProgress()
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    return Progress(TextColumn(verb + " {task.description}"), BarColumn(), MofNCompleteColumn(),
                    TimeElapsedColumn(), console=Console(stderr=True), transient=True)


def ignore_stop_signals() -> None:
    """Stopping by a signal, or stopped: another Ctrl-C or SIGTERM must not cut the exit short.

    Handled, it would raise KeyboardInterrupt anywhere in what is left (the summary, the clean-up
    at exit); and as Python exits it gives a handled signal back its default action, which kills
    (exit -2 or -15, not 130 or 143).  Ignored, it stays ignored to the end.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
