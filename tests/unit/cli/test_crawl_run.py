"""cli._crawl_run: a crawl's exit status."""

from __future__ import annotations

from scraper.cli._common import ExitStatus
from scraper.cli._crawl_run import exit_status


def test_exit_status() -> None:
    assert exit_status({"finish_reason": "finished", "counts": {"pages": 3, "errors": {}}}) == ExitStatus.OK
    assert exit_status({"finish_reason": "finished", "counts": {"pages": 3, "pages_failed": 1}}) == 1
    assert exit_status({"finish_reason": "shutdown", "counts": {"pages": 3}}) == 130
    # nothing archived because nothing was new since --since: not a failure
    assert exit_status({"finish_reason": "finished", "counts": {"pages": 0, "errors": {}}, "warnings": []}) == 0
    assert exit_status({"finish_reason": "finished", "counts": {"pages": 0, "robots_denied": 1}}) == 1
