"""Where things live under the archive root.

    <root>/crawls/<crawl_id>/*.warc.gz
    <root>/crawls/<crawl_id>/pages.jsonl
    <root>/crawls/<crawl_id>/manifest.json
"""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

CRAWLS_DIR = "crawls"
PAGES_FILE = "pages.jsonl"
MANIFEST_FILE = "manifest.json"


class ArchiveRootError(OSError):
    """The archive root cannot be created or written."""


def new_crawl_id(now: datetime | None = None) -> str:
    """``YYYYmmddTHHMMSSZ-<6 hex>``: sorts by start time, unique across machines."""
    now = (now or datetime.now(UTC)).astimezone(UTC)
    return now.strftime("%Y%m%dT%H%M%SZ") + "-" + secrets.token_hex(3)


@dataclass(frozen=True)
class CrawlLayout:
    root: Path
    crawl_id: str

    @property
    def directory(self) -> Path:
        return self.root / CRAWLS_DIR / self.crawl_id

    @property
    def pages_path(self) -> Path:
        return self.directory / PAGES_FILE

    @property
    def manifest_path(self) -> Path:
        return self.directory / MANIFEST_FILE

    def create(self) -> None:
        try:
            self.directory.mkdir(parents=True, exist_ok=False)
        except FileExistsError as exc:
            raise ArchiveRootError(f"crawl folder already exists: {self.directory}") from exc
        except OSError as exc:
            raise ArchiveRootError(f"cannot create {self.directory}: {exc.strerror or exc}") from exc


def check_writable_root(root: Path) -> None:
    """Fail early, with one clear line, when the archive root is unusable."""
    try:
        root.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ArchiveRootError(f"cannot create archive root {root}: {exc.strerror or exc}") from exc
    if not root.is_dir():
        raise ArchiveRootError(f"archive root {root} is not a folder")
    if not os.access(root, os.W_OK | os.X_OK):
        raise ArchiveRootError(f"archive root {root} is not writable")


def write_json_atomically(path: Path, data: Any) -> None:
    """Write JSON through a temporary file and a rename: never half a file."""
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w", encoding="utf-8") as fh:
        json.dump(data, fh, indent=2, ensure_ascii=False, sort_keys=False)
        fh.write("\n")
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def iter_crawls(root: Path, newest_first: bool = True) -> Iterator[CrawlLayout]:
    crawls = root / CRAWLS_DIR
    if not crawls.is_dir():
        return
    names = sorted((p.name for p in crawls.iterdir() if p.is_dir()), reverse=newest_first)
    for name in names:
        yield CrawlLayout(root, name)
