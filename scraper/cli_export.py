"""``scraper export`` and ``scraper reextract``: records out for downstream tools, and re-extraction from stored WARCs."""

from __future__ import annotations
