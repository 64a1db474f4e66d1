"""Bring an interrupted crawl's folder back to a consistent state, and say what is left to do.

Pure (no Scrapy).  A crawl killed at any moment leaves, in its folder:

- WARC files, the last one ``.open`` and perhaps with a torn last record;
- ``pages.jsonl``, perhaps with a torn last line;
- ``frontier.jsonl``, every request scheduled (journal.py);
- ``catalog-pending.jsonl``, the catalog rows still buffered in memory when it died;
- the catalog, with some of the crawl's captures (uncommitted).

Writes are ordered so that each later file only names what the earlier ones hold: WARC
records are flushed before the page record that points at them, and a page's catalog
journal line is written before its page record.  :func:`prepare_resume` repairs the torn
ends, drops any page record whose WARC records are not on disk, adds to the catalog the
captures it misses, and returns what was done and what is still to fetch.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from scraper.scope import url_key
from scraper.storage.catalog import Catalog, NewCapture
from scraper.storage.journal import CATALOG_PENDING_FILE, FrontierState, read_frontier, read_lines
from scraper.storage.jsonl import dumps_line, iter_jsonl
from scraper.storage.layout import PAGES_FILE
from scraper.storage.repair import repair_crawl_dir
from scraper.storage.verify import is_warc_name

_SERIAL = re.compile(r"-(\d{5,})-[^-]*\.warc(?:\.gz)?$")


class ResumeError(Exception):
    """The crawl cannot be resumed (no such crawl, already finished, damage repair cannot fix)."""


@dataclass
class ResumeState:
    done_keys: set[str]  # url_key of the requested URL of every page with a page record
    frontier: FrontierState
    warc_files: list[str]  # the crawl's closed WARC files, oldest first
    last_serial: int  # the highest serial number of its WARC files: new files number on from it
    pages: int  # page records kept
    notes: list[str] = field(default_factory=list)  # one line per repair or reconciliation


def _warc_serial(name: str) -> int:
    match = _SERIAL.search(name)
    return int(match.group(1)) if match else 0


def _record_on_disk(directory: Path, record: dict[str, Any], sizes: dict[str, int]) -> bool:
    """Whether the WARC bytes a page record points at exist (its file, up to offset + length)."""
    warc = record.get("warc") or {}
    name = str(warc.get("file") or "")
    if name not in sizes:
        path = directory / name
        sizes[name] = path.stat().st_size if name and path.is_file() else -1
    return sizes[name] >= 0 and int(warc.get("offset", 0)) + int(warc.get("length", 0)) <= sizes[name]


def _keep_records_on_disk(directory: Path, notes: list[str]) -> list[dict[str, Any]]:
    """Page records whose WARC records are on disk; the others move to a sidecar file."""
    pages = directory / PAGES_FILE
    records = list(iter_jsonl(pages)) if pages.exists() else []
    sizes: dict[str, int] = {}
    kept: list[dict[str, Any]] = []
    dropped: list[dict[str, Any]] = []
    for record in records:
        (kept if _record_on_disk(directory, record, sizes) else dropped).append(record)
    if dropped:
        sidecar = pages.with_name(f"{PAGES_FILE}.dropped-{len(records)}")
        with open(sidecar, "w", encoding="utf-8") as fh:
            fh.writelines(dumps_line(r) for r in dropped)
            fh.flush()
            os.fsync(fh.fileno())
        tmp = pages.with_name(PAGES_FILE + ".tmp")
        with open(tmp, "w", encoding="utf-8") as fh:
            fh.writelines(dumps_line(r) for r in kept)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, pages)
        notes.append(f"{pages}: {len(dropped)} page record(s) without their WARC records moved to {sidecar.name}")
    return kept


def _complete_catalog(directory: Path, crawl_id: str, catalog: Catalog, records: list[dict[str, Any]],
                      notes: list[str]) -> None:
    """Add the captures the catalog misses: the rows still buffered when the crawl died."""
    have = catalog.crawl_record_ids(crawl_id)
    pending = {str(line.get("record_id")): line for line in read_lines(directory / CATALOG_PENDING_FILE)}
    missing: list[NewCapture] = []
    for record in records:
        record_id = record["warc"]["record_id"]
        if record_id in have:
            continue
        line = pending.get(record_id, {})
        missing.append(NewCapture(
            str(line.get("url_key") or url_key(record["requested_url"])), record, etag=line.get("etag"),
            last_modified=line.get("last_modified"), warc_date=str(line.get("warc_date") or ""),
            original=line.get("original") or record.get("refers_to") or {}))
    if missing:
        catalog.add_captures(missing)
        notes.append(f"catalog: added {len(missing)} capture(s) of crawl {crawl_id} that were not yet written")
    (directory / CATALOG_PENDING_FILE).unlink(missing_ok=True)


def prepare_resume(directory: Path, crawl_id: str, catalog: Catalog) -> ResumeState:
    """Call with the crawl folder's lock held (:func:`~scraper.storage.layout.lock_crawl`)."""
    if not directory.is_dir():
        raise ResumeError(f"no crawl {crawl_id} in {directory.parent.parent} (no folder {directory})")
    repairs = repair_crawl_dir(directory, check_lock=False)
    refused = [repair for repair in repairs if repair.refused is not None]
    if refused:
        raise ResumeError(f"{refused[0].describe()} (scraper verify tells more)")
    notes = [repair.describe() for repair in repairs if repair.changed]
    records = _keep_records_on_disk(directory, notes)
    _complete_catalog(directory, crawl_id, catalog, records, notes)
    warc_files = sorted((p.name for p in directory.iterdir() if is_warc_name(p.name)), key=_warc_serial)
    return ResumeState(
        done_keys={url_key(r["requested_url"]) for r in records},
        frontier=read_frontier(directory),
        warc_files=warc_files,
        last_serial=max((_warc_serial(n) for n in warc_files), default=0),
        pages=len(records),
        notes=notes,
    )
