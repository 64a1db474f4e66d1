"""Tables the CLI prints (``watch list``, ``history``, the crawl summary): whole values, always.

On a terminal a table is drawn with rich, columns sized to the window; a value too
long for its column is folded onto the next line, never cut.  Anywhere else (a
pipe, a file, a cron log) a table is tab-separated lines: the title (if any), a
header line (if the table has one), then one line per row, every value whole.
That reads in a log and splits with ``cut -f2`` or ``awk -F'\\t'`` (values such as
``every 6h`` hold spaces, so split on tabs, not on whitespace).  A tab or line
break inside a value becomes a space, so that a row is always one line.
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass, field
from typing import TextIO

_BREAKS = re.compile(r"[\t\r\n\v\f]+")


def plain(value: str) -> str:
    """A value as one tab-free line."""
    return _BREAKS.sub(" ", value)


@dataclass
class TextTable:
    """Rows of strings under column names, printed whole on a terminal and off one.

    ``columns`` name the columns; with ``show_header=False`` (a key/value table such
    as the crawl summary) they are not printed, and ``key_column`` makes the first
    column bold on a terminal.
    """

    columns: tuple[str, ...]
    title: str | None = None
    show_header: bool = True
    key_column: bool = False
    rows: list[tuple[str, ...]] = field(default_factory=list)

    def add_row(self, *values: str) -> None:
        if len(values) != len(self.columns):
            raise ValueError(f"{len(values)} values for {len(self.columns)} columns")
        self.rows.append(tuple(values))

    def print(self, file: TextIO | None = None) -> None:
        """Print to ``file`` (default: stdout): rich on a terminal, tab-separated lines elsewhere."""
        stream = file if file is not None else sys.stdout
        if _is_terminal(stream):
            self._print_rich(stream)
        else:
            stream.write(self.plain_text())
            stream.flush()

    def plain_text(self) -> str:
        lines = [plain(self.title)] if self.title else []
        if self.show_header:
            lines.append("\t".join(plain(c) for c in self.columns))
        lines += ["\t".join(plain(v) for v in row) for row in self.rows]
        return "".join(line + "\n" for line in lines)

    def _print_rich(self, stream: TextIO) -> None:
        from rich.console import Console
        from rich.markup import escape
        from rich.table import Table

        table = Table(title=escape(self.title) if self.title else None, title_justify="left",
                      show_header=self.show_header, box=None, pad_edge=False)
        for index, name in enumerate(self.columns):
            # fold, not the default ellipsis: a URL longer than its column wraps, it is not cut
            table.add_column(escape(name), overflow="fold", style="bold" if self.key_column and index == 0 else None)
        for row in self.rows:
            table.add_row(*(escape(v) for v in row))  # a "[" in a URL is text, not rich markup
        Console(file=stream).print(table)


def _is_terminal(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):  # a closed or unusual stream: write plain lines
        return False
