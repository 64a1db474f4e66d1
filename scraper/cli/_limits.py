"""``--max-body-bytes``: how much of one record the readers of the archive hold, as the crawl bounds it.

The crawl keeps at most ARCHIVE_MAX_BODY_BYTES of a response and decodes no further than that;
``reextract``, ``import`` and ``wacz`` read what is stored under the same bound, by default the
crawl's default.  An archive may hold records a crawl never wrote (another tool's WARC, a hostile
one): a payload of gigabytes, or kilobytes that inflate to gigabytes.
"""

from __future__ import annotations

from typing import Any

import click

from scraper import defaults
from scraper.cli._common import parse_size

DEFAULT_MAX_BODY = f"{int(defaults.ARCHIVE_MAX_BODY_BYTES) // 2**20}M"


def _positive_size(ctx: click.Context, param: click.Parameter, value: str) -> int:
    size = parse_size(value)
    if size <= 0:
        raise click.BadParameter(f"{value!r}: give a size above 0 (e.g. 100M)")
    return size


def max_body_option(what: str) -> Any:
    """The option, its help saying ``what`` happens to a record over the bound."""
    return click.option("--max-body-bytes", "max_body_bytes", metavar="SIZE", default=DEFAULT_MAX_BODY,
                        show_default=True, callback=_positive_size,
                        help=f"Hold or decode at most SIZE of one record (the crawl's ARCHIVE_MAX_BODY_BYTES): {what}.")
