"""Published JSON Schemas (Draft 2020-12) of the JSON that scraper emits."""

from __future__ import annotations

import json
from functools import cache
from importlib.resources import files
from typing import Any


@cache
def page_record_schema() -> dict[str, Any]:
    return json.loads((files(__package__) / "page-record.schema.json").read_text(encoding="utf-8"))
