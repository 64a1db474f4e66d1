"""Tables the CLI prints (``watch list``, ``history``, the crawl summary): whole values, always.

On a terminal a table is drawn with rich, columns sized to the window; a value too
long for its column is folded onto the next line, never cut.  Anywhere else (a
pipe, a file, a cron log) a table is tab-separated lines: the title (if any), a
header line (if the table has one), then one line per row, every value whole.
That reads in a log and splits with ``cut -f2`` or ``awk -F'\\t'`` (values such as
``every 6h`` hold spaces, so split on tabs, not on whitespace).  A tab, a line break
or any other control character inside a value is written as an escape (``\\t``,
``\\n``, ``\\x1b``: :func:`scraper.text.escape_controls`), on a terminal too, so that a
row is always one line and a value from the archive cannot forge a row or drive the
terminal.  A cell of several lines (a tuple of strings) is drawn one under another on a
terminal and space-separated elsewhere.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from typing import TextIO

from scraper.text import escape_controls

# A cell: one value, or the lines of one (a crawl's seeds): on a terminal one under another.
Cell = str | tuple[str, ...]


def plain(value: Cell) -> str:
    """A cell as one line without tabs or control characters."""
    return " ".join(map(escape_controls, value)) if isinstance(value, tuple) else escape_controls(value)


def _lines(value: Cell) -> str:
    """A cell as the lines a terminal shows, each without control characters."""
    return "\n".join(map(escape_controls, value)) if isinstance(value, tuple) else escape_controls(value)


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
    rows: list[tuple[Cell, ...]] = field(default_factory=list)

    def add_row(self, *values: Cell) -> None:
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

        table = Table(title=escape(plain(self.title)) if self.title else None, title_justify="left",
                      show_header=self.show_header, box=None, pad_edge=False)
        for index, name in enumerate(self.columns):
            # fold, not the default ellipsis: a URL longer than its column wraps, it is not cut
            table.add_column(escape(plain(name)), overflow="fold",
                             style="bold" if self.key_column and index == 0 else None)
        for row in self.rows:
            table.add_row(*(escape(_lines(v)) for v in row))  # a "[" in a URL is text, not rich markup
        Console(file=stream).print(table)


def _is_terminal(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):  # a closed or unusual stream: write plain lines
        return False
