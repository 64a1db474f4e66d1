"""The ``scraper`` command: parse flags, map them to settings, print, exit.

Data goes to stdout, progress and logs to stderr; errors are one line, not a
traceback.  Exit statuses are :class:`scraper.cli._common.ExitStatus`.

:mod:`.entry` holds the group and :func:`main`; each command group has a module of
its own (:mod:`.crawl`, :mod:`.show`, :mod:`.rearchive`, ...), loaded only when its
command runs; what several share is in :mod:`._common`, :mod:`._crawl_run`,
:mod:`._limits` and :mod:`._lock`.  Imports point down: entry -> commands ->
_crawl_run, _limits, _lock -> _common.  Nothing outside this package imports it but
the console script and ``python -m scraper``; this file stays light for them.
"""

from scraper.cli.entry import cli, main

__all__ = ["cli", "main"]
