"""Pages parsed as trafilatura parses them, for the bylines and taxonomy tests."""

from __future__ import annotations

import gzip
from pathlib import Path

from lxml.html import HtmlElement
from trafilatura.utils import load_html

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
PAGES = sorted([*FIXTURES.glob("pages/*/page.html"), *FIXTURES.glob("metadata/*/page.html.gz")])


def parse(path: Path) -> HtmlElement:
    raw = path.read_bytes()
    tree = load_html(gzip.decompress(raw) if path.suffix == ".gz" else raw)
    assert tree is not None
    return tree


def page(body: str) -> HtmlElement:
    tree = load_html(f"<html><head><title>t</title></head><body>{body}</body></html>")
    assert tree is not None
    return tree
