"""``scraper index``, ``scraper wacz`` and ``scraper replay``: the archive in the formats pywb and ReplayWeb.page read."""

from __future__ import annotations
