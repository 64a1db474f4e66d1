"""The ``scraper`` group and :func:`main`, the console script's entry point.

The group imports a command's module only when that command runs; the command modules know nothing
of the group (they import :mod:`scraper.cli._common` and the layers below), so imports point one way.
"""

from __future__ import annotations

import importlib
import signal
from types import FrameType
from typing import ClassVar

import click

from scraper import __version__
from scraper.cli._common import ExitStatus, catalog_status, ignore_stop_signals, say
from scraper.text import escape_controls


class CommandsLoadedOnUse(click.Group):
    """The group whose commands are imported when used: `scraper verify` need not load SQLAlchemy, nor
    `scraper show` the WARC verifier.  The group finds each command in its module (:attr:`COMMANDS`) and
    adds it the first time it is asked for; ``--help``, which lists them all, imports them all."""

    # command -> "module:attribute" that defines it, as in an entry point; the modules never import the
    # group (tests/unit/test_architecture.py checks the map against the modules)
    COMMANDS: ClassVar[dict[str, str]] = {
        "catalog": "scraper.cli.catalog:catalog",
        "crawl": "scraper.cli.crawl:crawl",
        "crawls": "scraper.cli.crawls:crawls",
        "diff": "scraper.cli.rearchive:diff",
        "export": "scraper.cli.export:export",
        "history": "scraper.cli.rearchive:history",
        "import": "scraper.cli.imports:import_warcs",
        "index": "scraper.cli.interchange:index_command",
        "rearchive": "scraper.cli.rearchive:rearchive",
        "reextract": "scraper.cli.export:reextract",
        "replay": "scraper.cli.interchange:replay_command",
        "show": "scraper.cli.show:show",
        "status": "scraper.cli.worker:status",
        "verify": "scraper.cli.verify:verify",
        "wacz": "scraper.cli.interchange:wacz_command",
        "watch": "scraper.cli.rearchive:watch",
        "worker": "scraper.cli.worker:worker",
    }

    def list_commands(self, ctx: click.Context) -> list[str]:
        for name in self.COMMANDS:
            self.get_command(ctx, name)
        return super().list_commands(ctx)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.commands and cmd_name in self.COMMANDS:
            module, _, attribute = self.COMMANDS[cmd_name].partition(":")
            self.add_command(getattr(importlib.import_module(module), attribute), cmd_name)
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
      scraper crawl -i urls.txt --depth 1 --archive /data/archive
      scraper show https://example.com/news/article-1 --format markdown
    """


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
        signal.signal(signal.SIGINT, raise_interrupted)  # (a crawl installs its own: scraper.crawl.runner.run_crawl)
    # Not click's standalone mode: it turns a Ctrl-C that interrupts a command into "Aborted!" and exit 1.
    try:
        status = cli.main(args=argv, prog_name="scraper", standalone_mode=False)
    except SystemExit as exc:
        status = int(exc.code or 0) if not isinstance(exc.code, str) else 1
    except click.UsageError as exc:
        # One line, as every other error of ours, not click's three (usage, hint, blank, error).
        where = exc.ctx.command_path if exc.ctx is not None else "scraper"
        say(f"error: {escape_controls(exc.format_message())} (see '{where} --help')")
        status = exc.exit_code
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
