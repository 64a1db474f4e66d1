"""The real pages under tests/fixtures/pages."""

from __future__ import annotations

from pathlib import Path

PAGES = Path(__file__).resolve().parents[2] / "fixtures" / "pages"
