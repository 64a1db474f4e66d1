"""``scraper verify``: reads our WARCs and reports damage, per file."""

from __future__ import annotations
