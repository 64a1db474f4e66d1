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
ends, drops any page record whose WARC records are not on disk, extracts the pages whose
extraction did not run, adds to the catalog the captures it misses, and returns what was
done and what is still to fetch.

A crawl whose last run went to its natural end (:func:`finished_crawl`) is not resumed:
there is nothing left to do.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from scraper import __version__, defaults
from scraper.article import ExtractionOptions
from scraper.records import PAGE_RECORD_CONTENT_TYPE
from scraper.scope import url_key
from scraper.storage.backends import CatalogBackend, Frontier
from scraper.storage.catalog import NewCapture
from scraper.storage.durable import AtomicFile, atomic_write
from scraper.storage.journal import CATALOG_PENDING_FILE, FrontierState, read_lines
from scraper.storage.jsonl import dumps_line, iter_jsonl, save_damaged_lines
from scraper.storage.layout import MANIFEST_FILE, OPEN_SUFFIX, PAGES_FILE, CrawlLayout, warc_files_in
from scraper.storage.repair import repair_crawl_dir
from scraper.storage.warc import WarcFileWriter, metadata_uri

_SERIAL = re.compile(r"-(\d{5,})-[^-]*\.warc(?:\.gz)?$")
JOB_FILE = "crawl.json"  # the settings the crawl was started with (written by the crawl's ArchiveRun)


class ResumeError(Exception):
    """The crawl cannot be resumed (no such crawl, already finished, damage repair cannot fix)."""


@dataclass(frozen=True)
class FinishedCrawl:
    """A crawl whose last run went to its natural end: resuming it has nothing to do."""

    crawl_id: str
    finished_at: str | None

    def describe(self) -> str:
        when = f" at {self.finished_at}" if self.finished_at else ""
        return f"crawl {self.crawl_id} already finished{when}: nothing to resume"


def finished_crawl(directory: Path) -> FinishedCrawl | None:
    """The crawl in ``directory`` if its last run finished (manifest ``finish_reason: finished``).

    Every other end is resumable: stopped by Ctrl-C or SIGTERM (``shutdown``), a full disk
    (``archive_write_error``), a limit of the run (``--max-time``, ``--max-bytes``), or killed:
    no manifest, or one left by an earlier run.  A later run always writes a WARC file before
    anything else, so a manifest that does not list every WARC file of the folder is older
    than the last run.
    """
    try:
        manifest = json.loads((directory / MANIFEST_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(manifest, dict) or manifest.get("finish_reason") != "finished":
        return None
    listed = set(manifest.get("warc_files") or [])
    on_disk = {p.name.removesuffix(OPEN_SUFFIX) for p in warc_files_in(directory).all()}
    if not on_disk <= listed:
        return None
    return FinishedCrawl(str(manifest.get("crawl_id") or directory.name), manifest.get("finished_at"))


def led_to(record: dict[str, Any]) -> set[str]:
    """The url_keys of every URL that led to a recorded page: requested, each redirect hop, final."""
    urls = [record.get("requested_url"), *(record.get("redirects") or []), record.get("url")]
    return {url_key(u) for u in urls if u}


@dataclass
class ResumeState:
    done_keys: set[str]  # url_key of every URL that led to a page with a page record (see led_to)
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


def _write_lines(path: Path, records: Iterable[dict[str, Any]]) -> None:
    with atomic_write(path) as fh:
        fh.writelines(dumps_line(r) for r in records)


def _rewrite_pages(pages: Path, records: list[dict[str, Any]]) -> None:
    """``pages.jsonl`` with these records, replaced at once (a temporary file, then a rename)."""
    out = AtomicFile(pages)
    try:
        out.handle.writelines(dumps_line(r) for r in records)
        save_damaged_lines(pages)  # the lines readers skip are not in ``records``: set aside, never dropped
        out.commit()
    finally:
        out.discard()  # after commit(): nothing left to drop


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
        _write_lines(sidecar, dropped)
        _rewrite_pages(pages, kept)
        notes.append(f"{pages}: {len(dropped)} page record(s) without their WARC records moved to {sidecar.name}")
    return kept


def _job_settings(directory: Path) -> dict[str, Any]:
    try:
        settings = json.loads((directory / JOB_FILE).read_text(encoding="utf-8")).get("settings")
    except (OSError, ValueError, AttributeError):
        return {}
    return settings if isinstance(settings, dict) else {}


def _setting_bool(settings: dict[str, Any], name: str) -> bool:
    """A boolean setting as Scrapy's ``getbool`` reads it (``-s NAME=0``, ``false``, ``False``)."""
    value = settings.get(name, getattr(defaults, name))
    if isinstance(value, str):
        return value.strip().lower() not in ("0", "false", "")
    return bool(value)


def _not_extracted(record: dict[str, Any]) -> bool:
    """An HTML 2xx response whose extraction did not run (the worker pool was broken, or old code).

    Extraction gives every HTML page it reads an ``extractor``, with or without text; a
    record with neither was never extracted.  Whether it is HTML is settled by its WARC record.
    """
    content_type = record.get("content_type")
    return (record.get("text") is None and record.get("extractor") is None
            and record.get("record_kind", "response") == "response"
            and 200 <= int(record.get("status") or 0) < 300
            and (content_type is None or "html" in str(content_type)))


def _extract_missing(directory: Path, crawl_id: str, catalog: CatalogBackend, records: list[dict[str, Any]],
                     last_serial: int, notes: list[str]) -> list[dict[str, Any]]:
    """Extract the pages whose extraction did not run, from their WARC response records.

    The corrected records go, in this order, into a new WARC file of their own (metadata
    records, as the crawl writes them: the WARC alone stays complete), into the catalog rows
    of this crawl, and into ``pages.jsonl``.  A resume killed half way finds the JSONL
    records still without text and does it again.
    """
    settings = _job_settings(directory)
    wanted = [i for i, record in enumerate(records) if _not_extracted(record)]
    if not wanted or not _setting_bool(settings, "EXTRACT_ENABLED"):
        return records
    from scraper.reextract import Reextractor  # loads trafilatura: only when there is something to extract

    options = ExtractionOptions(
        favor_precision=_setting_bool(settings, "EXTRACT_FAVOR_PRECISION"),
        favor_recall=_setting_bool(settings, "EXTRACT_FAVOR_RECALL"),
        min_extracted_size=int(settings.get("EXTRACT_MIN_TEXT_SIZE", defaults.EXTRACT_MIN_TEXT_SIZE)))
    layout = CrawlLayout(directory.parent.parent, crawl_id)
    reextractor = Reextractor(layout.root, catalog, options=options)
    fixed: dict[int, dict[str, Any]] = {}
    for i in wanted:
        record = reextractor.reextract(layout, records[i])
        if record is not None and record.get("extractor") is not None:
            fixed[i] = record
    if len(fixed) < len(wanted):
        notes.append(f"{len(wanted) - len(fixed)} page record(s) without extracted text could not be extracted "
                     f"from their WARC records (not HTML after all, or extraction failed); kept as they are")
    if not fixed:
        return records
    writer = WarcFileWriter(directory, prefix=str(settings.get("ARCHIVE_WARC_PREFIX") or defaults.ARCHIVE_WARC_PREFIX),
                            serial_start=last_serial,
                            info={"crawl-id": crawl_id, "software": f"scraper/{__version__}", "isPartOf": crawl_id,
                                  "description": "page records extracted again by a resume of the crawl: each "
                                                 "replaces the record of its response that had no extracted text"})
    now = datetime.now(UTC)
    for record in fixed.values():
        writer.write_metadata(metadata_uri(record["url"]), record["warc"]["record_id"],
                              dumps_line(record).rstrip("\n").encode("utf-8"), PAGE_RECORD_CONTENT_TYPE, now)
    writer.close()
    catalog.replace_records(crawl_id, list(fixed.values()))
    repaired = [fixed.get(i, record) for i, record in enumerate(records)]
    _rewrite_pages(directory / PAGES_FILE, repaired)
    notes.append(f"{len(fixed)} page record(s) whose extraction had not run extracted from their WARC records: "
                 f"replaced in {PAGES_FILE} and the catalog, and written to {writer.closed_files[0]}")
    return repaired


def _complete_catalog(directory: Path, crawl_id: str, catalog: CatalogBackend, records: list[dict[str, Any]],
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
            str(line.get("url_key") or url_key(record["url"])), record, etag=line.get("etag"),
            last_modified=line.get("last_modified"), warc_date=str(line.get("warc_date") or ""),
            original=line.get("original") or record.get("refers_to") or {}))
    if missing:
        catalog.add_captures(missing)
        notes.append(f"catalog: added {len(missing)} capture(s) of crawl {crawl_id} that were not yet written")
    (directory / CATALOG_PENDING_FILE).unlink(missing_ok=True)


def prepare_resume(directory: Path, crawl_id: str, catalog: CatalogBackend, frontier: Frontier) -> ResumeState:
    """Call with the crawl folder's lock held (:func:`~scraper.storage.layout.lock_crawl`); ``frontier`` is
    the crawl's, whose requests not yet done are what is left to fetch."""
    if not directory.is_dir():
        raise ResumeError(f"no crawl {crawl_id} in {directory.parent.parent} (no folder {directory})")
    finished = finished_crawl(directory)
    if finished is not None:
        raise ResumeError(finished.describe())
    repairs = repair_crawl_dir(directory, check_lock=False)
    refused = [repair for repair in repairs if repair.refused is not None]
    if refused:
        raise ResumeError(f"{refused[0].describe()} (scraper verify tells more)")
    notes = [repair.describe() for repair in repairs if repair.changed]
    records = _keep_records_on_disk(directory, notes)
    last_serial = max((_warc_serial(p.name) for p in warc_files_in(directory).closed), default=0)
    records = _extract_missing(directory, crawl_id, catalog, records, last_serial, notes)
    _complete_catalog(directory, crawl_id, catalog, records, notes)
    warc_files = sorted((p.name for p in warc_files_in(directory).closed), key=_warc_serial)
    done_keys: set[str] = set()
    for record in records:
        done_keys |= led_to(record)
    return ResumeState(
        done_keys=done_keys,
        frontier=frontier.read(),
        warc_files=warc_files,
        last_serial=max((_warc_serial(n) for n in warc_files), default=0),
        pages=len(records),
        notes=notes,
    )
