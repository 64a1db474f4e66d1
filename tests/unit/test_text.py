"""text: what escaping keeps out of a terminal line or a JSON line, and what it keeps."""

from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from tests.conftest import RAW_CONTROL


@given(st.text(alphabet=st.characters(codec="utf-8", categories=["Cc", "Zl", "Zp", "Ll", "Nd", "Po", "Zs"])))
@settings(max_examples=300, deadline=None)
def test_escaped_text_holds_no_control_characters_and_json_decodes_to_the_same(text: str) -> None:
    from scraper.text import dumps_json, escape_controls

    assert not RAW_CONTROL.search(escape_controls(text)) and "\n" not in escape_controls(text)
    assert "\t" not in escape_controls(text)
    kept = escape_controls(text, keep_lines=True)
    assert not RAW_CONTROL.search(kept) and kept.count("\n") == text.count("\n")
    assert escape_controls("".join(c for c in text if not RAW_CONTROL.match(c) and c not in "\t\n")) == \
        "".join(c for c in text if not RAW_CONTROL.match(c) and c not in "\t\n")  # the rest is left as it is
    for options in ({}, {"indent": 2}, {"ensure_ascii": True}):
        line = dumps_json({"value": text}, **options)
        assert not RAW_CONTROL.search(line) and json.loads(line) == {"value": text}
