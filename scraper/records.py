"""PageRecord: the normalised JSON contract with downstream tools (schema v1).

Pure: no Scrapy, no I/O.  snake_case keys, ``null`` for unknown (never ``""``),
lists where there can be several, ISO 8601 dates, absolute URLs, and a pointer
into the WARC record that holds the page as it was received.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from scraper.extraction import Article
from scraper.scope import url_key

SCHEMA_VERSION = 1
SCHEMA_ID = "https://scraper.invalid/schema/page-record/v1.json"
_WORD = re.compile(r"\w+")


def utc_timestamp(moment: datetime) -> str:
    """``2026-11-25T02:33:38Z``: UTC, second precision, ``Z`` suffix."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def mime_type(content_type: str | None) -> str | None:
    """``"text/html; charset=UTF-8"`` -> ``"text/html"``."""
    if not content_type:
        return None
    value = content_type.split(";", 1)[0].strip().lower()
    return value or None


def word_count(text: str | None) -> int:
    return len(_WORD.findall(text)) if text else 0


def text_sha256(text: str | None) -> str | None:
    return "sha256:" + hashlib.sha256(text.encode("utf-8")).hexdigest() if text else None


@dataclass(frozen=True, kw_only=True)
class WarcPointer:
    file: str
    offset: int
    length: int
    record_id: str


@dataclass(frozen=True, kw_only=True)
class Capture:
    """What the crawler knows about one fetched page, apart from its content."""

    requested_url: str
    url: str
    status: int
    content_type: str | None
    fetched_at: datetime
    payload_digest: str | None
    warc: WarcPointer
    depth: int = 0
    referrer: str | None = None
    redirects: list[str] = field(default_factory=list)
    access: dict[str, list[str]] | None = None  # X-Robots-Tag and meta robots directives
    truncated: bool = False


@dataclass(frozen=True, kw_only=True)
class PageRecord:
    schema_version: int
    crawl_id: str
    requested_url: str
    url: str
    normalized_url: str
    canonical_url: str | None
    redirects: list[str]
    status: int
    content_type: str | None
    fetched_at: str
    truncated: bool
    access: dict[str, list[str]]
    depth: int
    referrer: str | None
    title: str | None
    authors: list[str]
    published: str | None
    modified: str | None
    site_name: str | None
    description: str | None
    language: str | None
    image: str | None
    tags: list[str]
    categories: list[str]
    text: str | None
    markdown: str | None
    word_count: int
    text_sha256: str | None
    payload_digest: str | None
    warc: WarcPointer
    extractor: dict[str, str] | None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def build_page_record(crawl_id: str, capture: Capture, article: Article | None,
                      extractor: dict[str, str] | None) -> PageRecord:
    """Combine a capture and (when the page was extracted) its article into one record."""
    art = article or Article()
    return PageRecord(
        schema_version=SCHEMA_VERSION,
        crawl_id=crawl_id,
        requested_url=capture.requested_url,
        url=capture.url,
        normalized_url=url_key(capture.url),
        canonical_url=art.canonical_url,
        redirects=list(capture.redirects),
        status=capture.status,
        content_type=mime_type(capture.content_type),
        fetched_at=utc_timestamp(capture.fetched_at),
        truncated=capture.truncated,
        access=capture.access or {"x_robots_tag": [], "meta_robots": []},
        depth=capture.depth,
        referrer=capture.referrer,
        title=art.title,
        authors=list(art.authors),
        published=art.published,
        modified=art.modified,
        site_name=art.site_name,
        description=art.description,
        language=art.language,
        image=art.image,
        tags=list(art.tags),
        categories=list(art.categories),
        text=art.text,
        markdown=art.markdown,
        word_count=word_count(art.text),
        text_sha256=text_sha256(art.text),
        payload_digest=capture.payload_digest,
        warc=capture.warc,
        extractor=extractor if article is not None else None,
    )


# -- rendering -------------------------------------------------------------------
def _join_names(names: list[str]) -> str:
    if len(names) <= 1:
        return "".join(names)
    return ", ".join(names[:-1]) + " and " + names[-1]


def render_markdown(record: dict[str, Any]) -> str:
    """An archived article document: title, byline, date, body, original URL."""
    lines: list[str] = [f"# {record.get('title') or record.get('url')}", ""]
    if record.get("authors"):
        lines += [f"By {_join_names(record['authors'])}", ""]
    if record.get("published"):
        lines += [f"Published {record['published']}", ""]
    if record.get("modified"):
        lines += [f"Updated {record['modified']}", ""]
    body = record.get("markdown") or record.get("text")
    if body:
        lines += [body.strip(), ""]
    lines += [f"Original url: {record.get('url')}"]
    return "\n".join(lines) + "\n"


def render_text(record: dict[str, Any]) -> str:
    parts = [record.get("title") or "", record.get("text") or ""]
    return "\n\n".join(p for p in parts if p).strip() + "\n"
