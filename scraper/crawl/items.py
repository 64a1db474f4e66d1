"""What the crawl hands from one component to the next: the capture middleware's
:class:`Archived` (in ``request.meta``) to the spider, the spider's :class:`PageItem` to the pipelines."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from scraper.access import AccessSignals
from scraper.article import Article
from scraper.records import Capture, TextFingerprint, WarcPointer
from scraper.storage.catalog import PreviousCapture


@dataclass(frozen=True, kw_only=True)
class Archived:
    """What the capture middleware learned writing one response to the WARC, and what the page's
    catalog row needs besides its record.  After redirects, the final response's."""

    warc: WarcPointer  # the response record, or the revisit record
    payload_digest: str
    fetched_at: datetime
    warc_date: str  # WARC-Date, as written
    truncated: bool  # WARC-Truncated: cut at the size limit, or the connection lost data
    revisit_profile: str | None  # identical-payload-digest | server-not-modified; None for a response record
    # A revisit's original response, as the page record's ``refers_to`` says it; None for a response record.
    refers_to: dict[str, Any] | None
    previous: PreviousCapture | None  # the URL's last good capture, which a revisit refers to
    access: AccessSignals  # X-Robots-Tag and meta robots
    etag: str | None  # validators for the next crawl's conditional request (the original's, after a 304)
    last_modified: str | None

    @property
    def record_kind(self) -> str:
        return "response" if self.revisit_profile is None else "revisit"

    def catalog_original(self, crawl_id: str, url: str, status: int) -> dict[str, Any]:
        """The response record that holds this capture's payload, as the catalog files it: a revisit's
        original, the response itself when it is a 2xx one (what a later revisit refers to), else none."""
        if self.refers_to is not None:
            return self.refers_to
        if 200 <= status < 300:
            return {"record_id": self.warc.record_id, "warc_date": self.warc_date, "target_uri": url,
                    "crawl_id": crawl_id, "file": self.warc.file, "offset": self.warc.offset,
                    "length": self.warc.length}
        return {}


def refers_to_of(previous: PreviousCapture) -> dict[str, Any]:
    """A revisit's ``refers_to``: the response record that holds the payload of the URL's last good capture,
    as :meth:`Archived.catalog_original` filed it."""
    return {"record_id": previous.original_record_id, "warc_date": previous.original_warc_date,
            "target_uri": previous.original_target_uri, **previous.original_warc}


@dataclass(kw_only=True)
class PageItem:
    """One page response, with what the pipelines need to describe and extract it."""

    capture: Capture
    archived: Archived  # the capture middleware's, for the catalog row and the previous version
    html: str | None = None  # decoded text of an HTML response worth extracting
    content_language: str | None = None
    # The response's headers, for a browser rendering the page (only kept when the crawl may render)
    response_headers: list[tuple[str, str]] = field(default_factory=list)
    article: Article | None = None
    fingerprint: TextFingerprint | None = None  # of article.text, computed by the extraction worker
    extraction_error: str | None = None

    @property
    def previous(self) -> dict[str, Any] | None:
        """The page record of the URL's last good capture."""
        previous = self.archived.previous
        return previous.record if previous is not None else None
