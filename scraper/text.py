"""Text for a person's terminal and for line-based readers: control characters shown, never obeyed.

What the CLI prints comes partly from the archive: URLs, titles, record ids, file names,
a manifest's seeds.  An archive may be hostile (a WARC from elsewhere, a file name chosen
by whoever made the folder), and a terminal obeys the control characters it is sent: an
escape sequence (``ESC ] 0 ; ... BEL``, or its one-byte C1 form ``\\x9d``) can retitle the
window, write a hyperlink or rewrite what is on the screen, and a line break inside a value
starts a new line, so a file named ``x\\nOK y.warc.gz`` prints an "OK" line of its own.

So every text printer passes what it prints through :func:`escape_controls`, which writes
each C0 control, DEL, each C1 control and the Unicode line and paragraph separators as a
Python-style escape (``\\n``, ``\\x1b``, ``\\u2028``), and :func:`dumps_json` writes JSON
whose strings hold none of them raw (``json.dumps`` leaves DEL, C1 and U+2028/9 raw
when it keeps non-ASCII text).  Backslashes are left alone: a path or a regex stays readable,
and an escape can only ever be read, not obeyed.
"""

from __future__ import annotations

import json
import re
from typing import Any

# C0 (U+0000-U+001F), DEL, C1 (U+0080-U+009F), and the Unicode line and paragraph separators,
# which str.splitlines(), JavaScript and some editors take as line breaks.
_CONTROLS = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")
# The same, but a line break or tab: for text that is lines by nature (an article's body).
_CONTROLS_IN_LINES = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029]")
# What json.dumps(ensure_ascii=False) leaves raw in a string: it escapes C0 only.
_RAW_IN_JSON = re.compile("[\x7f-\x9f\u2028\u2029]")
_SHORT = {"\t": "\\t", "\n": "\\n", "\r": "\\r"}


def _escape(match: re.Match[str]) -> str:
    char = match.group()
    if char in _SHORT:
        return _SHORT[char]
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def escape_controls(text: str, *, keep_lines: bool = False) -> str:
    """``text`` with every control character written as an escape, so that it prints as one line.

    With ``keep_lines``, line breaks (``\\n``) and tabs stay: for a document printed as lines
    (``show --format text``), whose other control characters are still escaped.
    """
    return (_CONTROLS_IN_LINES if keep_lines else _CONTROLS).sub(_escape, text)


def dumps_json(value: Any, **options: Any) -> str:
    """``json.dumps(value, ensure_ascii=False, **options)``, with DEL, C1 and U+2028/9 escaped too.

    Those characters can only occur inside JSON strings, where ``\\u`` escapes mean the same
    characters: the JSON decodes to the same value.
    """
    options.setdefault("ensure_ascii", False)
    return _RAW_IN_JSON.sub(lambda m: f"\\u{ord(m.group()):04x}", json.dumps(value, **options))
