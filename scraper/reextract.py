"""Re-extraction: new page records from the stored WARC files, with the extractor installed now.

Pure: no Scrapy; WARC files are read only through :mod:`scraper.storage.warc`.  Nothing
is fetched and nothing archived changes: each crawl gets a new file
``pages.reextract-<UTC stamp>.jsonl`` (written as a temporary file, then renamed), and
its page files (``pages.jsonl``, the workers' ``pages-<worker>.jsonl``), the WARC files and the
catalog stay as they are.

* Pages are found through the metadata records (``application/json``) the crawl wrote
  beside each page's response: they hold what a response alone cannot tell (requested
  URL, redirects, depth, referrer, access signals).  Responses without one (robots.txt,
  sitemaps, requisites, redirect hops) are not pages.  So a crawl whose pages.jsonl is
  gone re-extracts all the same.
* The article is extracted again from the response payload, decoded as the crawl decoded
  it (Scrapy's HttpCompressionMiddleware, response classes and TextResponse.text, see
  :func:`page_html`), with the default EXTRACT_* settings; the record is then built by
  :func:`scraper.records.record_for_capture`, as the crawl builds it.
* A revisit's payload is its original's: the original is found through the revisit's
  WARC-Refers-To, at the place the page record's ``refers_to`` names (checked against the
  record id), else at the place the catalog knows for that record id.  A revisit whose
  original cannot be found is skipped and counted.
* Versions are computed again, by the same rule, against the URL's previous capture as
  re-extracted in this run (crawls go oldest first), else as the catalog holds it.  Without
  either (no catalog) a record keeps the version fields the crawl gave it.  After an
  extractor upgrade, re-extract every crawl in one run for versions that agree throughout.
* The catalog does not learn about re-extracted records (yet): ``scraper show``,
  ``history`` and ``diff`` still read the records as crawled; ``scraper export`` reads
  each capture's newest re-extraction.
"""

from __future__ import annotations

import contextlib
import json
import mimetypes
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from w3lib.encoding import (
    html_body_declared_encoding,
    html_to_unicode,
    http_content_type_encoding,
    read_bom,
    resolve_encoding,
)

from scraper import defaults
from scraper.export import REEXTRACT_PREFIX, REEXTRACT_SUFFIX, is_reextract_name
from scraper.extract.page import ExtractionOptions
from scraper.extract.worker import ExtractedPage, extract_for_record, init_worker
from scraper.records import (
    HTML_TYPES,
    PAGE_RECORD_CONTENT_TYPE,
    Capture,
    WarcPointer,
    capture_from_record,
    current_extractor,
    record_for_capture,
)
from scraper.scope import url_key
from scraper.storage.backends import CatalogBackend
from scraper.storage.catalog import CatalogCapture
from scraper.storage.codings import BodyTooLarge, decode_body
from scraper.storage.durable import AtomicFile, remove_stale_temporaries
from scraper.storage.jsonl import dumps_line
from scraper.storage.layout import (
    CRAWLS_DIR,
    CrawlLayout,
    check_inside_root,
)
from scraper.storage.warc import PayloadRecord, StoredRecord, read_payload_at, scan_records

Headers = Sequence[tuple[str, str]]


def header(headers: Headers, name: str) -> str | None:
    """The last value of a header, as Scrapy's ``Headers.get`` gives it."""
    values = header_values(headers, name)
    return values[-1] if values else None


def header_values(headers: Headers, name: str) -> list[str]:
    wanted = name.lower()
    return [value for key, value in headers if key.lower() == wanted]


# -- the payload as the crawl read it ----------------------------------------------------------------
# A decoded body is bounded as the crawl bounds it (BoundedHttpCompressionMiddleware): a body that
# inflates past ARCHIVE_MAX_BODY_BYTES is a decompression bomb, not a page to read.  The decoder is the
# storage layer's (scraper.storage.codings), the one every reader of the archive uses.
MAX_BODY_BYTES = int(defaults.ARCHIVE_MAX_BODY_BYTES)
DecodedTooLarge = BodyTooLarge  # a body that inflates past the limit


def decode_content(body: bytes, content_encodings: Sequence[str],
                   limit: int = MAX_BODY_BYTES) -> tuple[bytes, list[str]]:
    """Undo Content-Encoding as Scrapy's HttpCompressionMiddleware does: the last coding first,
    stopping at one it cannot undo.  Returns the body and the codings left on it.

    Raises DecodedTooLarge when a coding inflates the body past ``limit``.
    """
    decoded = decode_body(body, [coding for value in content_encodings for coding in value.split(",")], limit)
    return decoded.body, decoded.codings_left


def payload_codings(headers: Headers) -> list[str]:
    """The codings on a payload read with its chunked transfer coding undone (:mod:`scraper.storage.warc`),
    in the order they were applied: the content codings, then any transfer coding but chunked.

    Our crawl stores bodies de-chunked and without Transfer-Encoding; other tools (wget, Heritrix,
    warcprox) store the message as received, often chunked and gzipped.
    """
    transfer = [coding.strip().lower() for value in header_values(headers, "Transfer-Encoding")
                for coding in value.split(",") if coding.strip()]
    if transfer and transfer[-1] == "chunked":
        transfer.pop()
    return [*header_values(headers, "Content-Encoding"), *transfer]


# Scrapy's response classes by media type (scrapy.responsetypes): HtmlResponse (records.HTML_TYPES),
# or another text class.
OTHER_TEXT_TYPES = frozenset({"application/atom+xml", "application/rdf+xml", "application/rss+xml",
                              "application/xml", "application/json", "application/x-json",
                              "application/json-amazonui-streaming", "application/javascript",
                              "application/x-javascript", "text/xml"})
_MIME = mimetypes.MimeTypes()  # the built-in table only: not this machine's /etc/mime.types
_CONTROL = frozenset(range(32)) - {0, 9, 10, 13}  # what makes scrapy's binary_is_text say "binary"


def _typed(mime: str | None) -> bool | None:
    """True: Scrapy makes an HtmlResponse; False: another text response; None: a plain Response."""
    if not mime:
        return None
    if mime in HTML_TYPES:
        return True
    if mime in OTHER_TEXT_TYPES or mime.startswith("text/"):
        return False
    return None


def _from_filename(name: str) -> bool | None:
    mime, encoding = _MIME.guess_type(name)
    return _typed(mime) if mime and not encoding else None


def _from_headers(headers: Headers, codings_left: Sequence[str]) -> bool | None:
    content_type = header(headers, "Content-Type")
    verdict = None
    if content_type is not None and not codings_left:
        verdict = _typed(content_type.split(";", 1)[0].strip().lower())
    disposition = header(headers, "Content-Disposition")
    if verdict is None and disposition:
        with contextlib.suppress(IndexError):  # no filename= in it
            verdict = _from_filename(disposition.split(";")[1].split("=")[1].strip("\"'"))
    return verdict


def _from_body(body: bytes) -> bool | None:
    chunk = body[:5000]
    if any(byte in _CONTROL for byte in chunk):
        return None
    lower = chunk.lower()
    if b"<html>" in lower:
        return True
    if b"<?xml" in lower:
        return False
    return b"<!doctype html>" in lower


def is_html_response(headers: Headers, url: str, body: bytes, codings_left: Sequence[str] = ()) -> bool:
    """Whether Scrapy would have made an HtmlResponse of it: by Content-Type, file name, URL, then body."""
    for clue in (lambda: _from_headers(headers, codings_left), lambda: _from_filename(url),
                 lambda: _from_body(body)):
        verdict = clue()
        if verdict is not None:
            return verdict
    return False


def _guess_encoding(text: bytes) -> str | None:
    # TextResponse._auto_detect_fun: ascii, utf-8, then charset-normalizer's best guess.
    for encoding in ("ascii", "utf-8"):
        try:
            text.decode(encoding)
        except UnicodeError:
            continue
        return resolve_encoding(encoding)
    try:
        from charset_normalizer import from_bytes
    except ImportError:
        return None
    match = from_bytes(text).best()
    return resolve_encoding(match.encoding) if match else None


def decode_html(body: bytes, content_type: str | None) -> str:
    """The text of a body as Scrapy's ``TextResponse.text`` gives it: by the BOM, the header's charset or
    ``<meta charset>``; else the text of Scrapy's guessing pass itself (not decoded again)."""
    declared = read_bom(body)[0] or http_content_type_encoding(content_type or "") or html_body_declared_encoding(body)
    if declared is None:
        return html_to_unicode(content_type or "", body, auto_detect_fun=_guess_encoding, default_encoding="ascii")[1]
    return html_to_unicode(f"charset={declared}", body)[1]


def page_html(stored: StoredRecord, url: str, limit: int = MAX_BODY_BYTES) -> tuple[str | None, str | None]:
    """The HTML text of a stored response and its Content-Language, as the crawl handed them to extraction;
    no text when it is not an HTML page.

    ``stored.content`` is the payload with chunked transfer coding undone (:func:`read_response`).
    Raises DecodedTooLarge (a decompression bomb) and the decoders' errors (a body that is not
    what its Content-Encoding says): the crawl reads no page from such a body either.
    """
    headers = stored.http_headers
    body, left = decode_content(stored.content, payload_codings(headers), limit)
    if not is_html_response(headers, url, body, left):
        return None, None
    return decode_html(body, header(headers, "Content-Type")), header(headers, "Content-Language")


def read_response(path: Path, offset: int, limit: int = MAX_BODY_BYTES) -> PayloadRecord | None:
    """The record at ``offset`` of a WARC file with at most ``limit`` bytes of its payload; None when
    it cannot be read (a missing file, a bad offset, a damaged member)."""
    try:
        return read_payload_at(path, offset, limit)
    except Exception:
        return None


def default_options() -> ExtractionOptions:
    """The crawl's extraction options under its default EXTRACT_* settings."""
    return ExtractionOptions(favor_precision=bool(defaults.EXTRACT_FAVOR_PRECISION),
                             favor_recall=bool(defaults.EXTRACT_FAVOR_RECALL),
                             min_extracted_size=int(defaults.EXTRACT_MIN_TEXT_SIZE))


# -- the crawl's page records, from its WARC files ----------------------------------------------------------
def no_warning(message: str) -> None:
    """Where a warning goes when nobody listens."""


def record_place(path: Path, stored: StoredRecord) -> str:
    """A record as a warning names it: its file, offset and id."""
    return f"{path} at offset {stored.offset} ({stored.record_id})"


def _is_page_record(head: StoredRecord) -> bool:
    return head.rec_type == "metadata" and header(head.warc_headers, "Content-Type") == PAGE_RECORD_CONTENT_TYPE


def stored_page_records(path: Path, limit: int = MAX_BODY_BYTES,
                        warn: Callable[[str], None] = no_warning) -> Iterator[dict[str, Any]]:
    """The page records a crawl put into one WARC file (metadata records beside the responses).

    Streamed: only page records are read, each to at most ``limit`` bytes; one that is longer is no
    record the crawl wrote (its pages are bounded by that much), so it is skipped with a ``warn``ing.
    Raises :class:`~scraper.storage.warc.DamagedWarc` where the file cannot be read on.
    """
    for read in scan_records(path, lambda head: limit if _is_page_record(head) else 0):
        if not _is_page_record(read.stored):
            continue
        if read.cut:
            warn(f"{record_place(path, read.stored)}: a page record over {limit:,} bytes; skipped")
            continue
        yield json.loads(read.stored.content)


@dataclass
class Tally:
    """What a run did, for its summary."""

    pages: int = 0  # records written
    changed: int = 0  # ... whose text differs from the crawl's record
    revisits: int = 0  # ... of revisits whose original was found and read
    skipped: dict[str, int] = field(default_factory=dict)  # pages not written, by reason
    extraction_errors: int = 0  # extraction raised: written without an article, as a crawl does
    pools_replaced: int = 0  # an extraction worker died: its pages were extracted again by new workers
    files: list[Path] = field(default_factory=list)

    def skip(self, reason: str) -> None:
        self.skipped[reason] = self.skipped.get(reason, 0) + 1

    @property
    def problems(self) -> int:
        return sum(self.skipped.values()) + self.extraction_errors


KEEP_RECORDED = object()  # the previous capture is not known: keep the crawl's version fields
AHEAD_PER_JOB = 4  # pages read and handed to the workers ahead of the record being written, per worker


@dataclass(frozen=True)
class PreparedPage:
    """One page between reading and recording: what :meth:`Reextractor.finish` needs, and the HTML a worker
    extracts."""

    stored: dict[str, Any]  # the page record as the crawl wrote it
    capture: Capture  # ... as re-extraction keeps it (truncated when its payload was cut)
    skip: str | None = None  # why no record is written (counted in the tally)
    read_payload: bool = False  # a payload (a revisit's: its original's) was found and read
    html: str | None = None  # what extraction gets; None: not an HTML page, or not readable
    content_language: str | None = None


class Reextractor:
    """Re-extracts crawls of one archive; remembers each URL's latest record for the next crawl's versions."""

    def __init__(self, root: Path, catalog: CatalogBackend | None = None, *, since: str | None = None,
                 options: ExtractionOptions | None = None, max_body_bytes: int = MAX_BODY_BYTES,
                 warn: Callable[[str], None] = no_warning, jobs: int = 1) -> None:
        self.root = root
        self.catalog = catalog
        self.since = since
        self.options = options or default_options()
        self.max_body_bytes = max_body_bytes  # ARCHIVE_MAX_BODY_BYTES: of a payload read, of a body decoded
        self.warn = warn  # one line per record that is too large, naming it
        self.extractor = current_extractor()
        self.tally = Tally()
        # url_key(requested_url) -> the latest good record of this run, without its texts
        self.latest: dict[str, dict[str, Any]] = {}
        self.jobs = jobs  # extraction processes; 1: in this process
        self._pool: ProcessPoolExecutor | None = None
        self._in_flight: dict[Future[ExtractedPage], tuple[ProcessPoolExecutor, bool]] = {}  # -> pool, a retry

    # -- one crawl --------------------------------------------------------------------------------------
    def output_path(self, crawl: CrawlLayout, now: datetime | None = None) -> Path:
        stamp = (now or datetime.now(UTC)).astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
        path, serial = crawl.directory / f"{REEXTRACT_PREFIX}{stamp}{REEXTRACT_SUFFIX}", 1
        while path.exists():  # a second run within the same second
            path, serial = crawl.directory / f"{REEXTRACT_PREFIX}{stamp}-{serial}{REEXTRACT_SUFFIX}", serial + 1
        return path

    def run_crawl(self, crawl: CrawlLayout, advance: Callable[[], None] = lambda: None) -> Path | None:
        """Write the crawl's re-extracted records; returns the new file, or None when no page was selected.

        With ``jobs`` over 1 the pages are extracted in a pool of worker processes, at most
        :data:`AHEAD_PER_JOB` per worker ahead of the record being written: memory is bounded by that window,
        not by the crawl.  Records are written in the order the pages come, each versioned against the one
        before it, as with one process: the file is the same byte for byte.

        Raises OSError when the crawl folder cannot be written (:class:`OutsideRoot` when it is a link out
        of the archive root: nothing is written through it).
        """
        check_inside_root(crawl.directory, crawl.root)
        remove_stale_temporaries(crawl.directory, is_reextract_name)  # left by a run that was killed
        target = self.output_path(crawl)
        out = AtomicFile(target)
        written = 0
        window: deque[tuple[PreparedPage, Future[ExtractedPage] | ExtractedPage | None]] = deque()

        def write_next() -> None:
            nonlocal written
            prepared, pending = window.popleft()
            record = self.finish(crawl, prepared, self._result(prepared, pending))
            advance()
            if record is not None:
                out.handle.write(dumps_line(record))
                written += 1

        try:
            for stored in self._page_records(crawl):
                if self.since is not None and str(stored.get("fetched_at", "")) < self.since:
                    continue
                prepared = self.prepare(crawl, stored)
                window.append((prepared, self._submit(prepared)))
                if len(window) >= self.jobs * AHEAD_PER_JOB:
                    write_next()
            while window:
                write_next()
            if written:
                out.commit()
                self.tally.files.append(target)
        finally:
            out.discard()  # after commit(): nothing left to drop
        return target if written else None

    def close(self) -> None:
        """Stop the extraction workers (the pages they still had are not needed: the run is over)."""
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None

    def __enter__(self) -> Reextractor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _page_records(self, crawl: CrawlLayout) -> Iterator[dict[str, Any]]:
        # A resume that extracted a page whose extraction had not run wrote a second page record
        # for the same response (scraper.resume): the page is re-extracted once.
        responses: set[str] = set()
        for path in crawl.warc_files().closed:  # in the order written: their names carry the time and serial
            try:
                for stored in stored_page_records(path, self.max_body_bytes, self._skip_too_large):
                    response = str((stored.get("warc") or {}).get("record_id"))
                    if response not in responses:
                        responses.add(response)
                        yield stored
            except Exception:  # a damaged file: what came before the damage is kept
                self.tally.skip(f"unreadable WARC file {path.name} (run `scraper verify`)")
        # Then the records only the page files have (pages.jsonl, each worker's pages-<worker>.jsonl): an
        # import (scraper.imports) never writes into the files it brings, so its page records are not in its
        # WARC files.
        for stored in crawl.iter_page_records():
            response = str((stored.get("warc") or {}).get("record_id"))
            if response not in responses:
                responses.add(response)
                yield stored

    def _skip_too_large(self, message: str) -> None:
        self.warn(message)
        self.tally.skip("page record over the body limit")

    # -- one page ----------------------------------------------------------------------------------------
    def reextract(self, crawl: CrawlLayout, stored: dict[str, Any]) -> dict[str, Any] | None:
        """The record of one page, extracted again in this process; None when it cannot be (counted in the
        tally)."""
        prepared = self.prepare(crawl, stored)
        return self.finish(crawl, prepared, self._extract_here(prepared))

    def prepare(self, crawl: CrawlLayout, stored: dict[str, Any]) -> PreparedPage:
        """What extraction needs of one page: its payload read and decoded (the cheap part, done here, in
        order), and the record's capture."""
        capture = capture_from_record(stored)
        found: tuple[Path, PayloadRecord] | None = None
        if capture.record_kind == "revisit":
            found = self.original_of(crawl, stored)
            if found is None:
                return PreparedPage(stored, capture, skip="revisit whose original is not in the archive")
        elif 200 <= capture.status < 300:
            path = crawl.directory / capture.warc.file
            read = self._read(path, capture.warc.offset)
            if read is None or read.stored.record_id != capture.warc.record_id:
                return PreparedPage(stored, capture, skip="response not where its record points")
            found = path, read
        if found is None:
            return PreparedPage(stored, capture)
        path, read = found
        place = record_place(path, read.stored)
        if read.cut:  # read that far, as a crawl keeps that much of a body: the page is cut there
            self.warn(f"{place}: a payload over {self.max_body_bytes:,} bytes; read that far, and the page "
                      f"recorded truncated")
            capture = replace(capture, truncated=True)
        html, content_language = self.html_of(read.stored, capture.url, place)
        if capture.rendered and capture.rendered_dom is not None:
            # The crawl took this page's article from the DOM a browser rendered: so does re-extraction.
            dom = self._rendered_dom(crawl, capture.rendered_dom)
            if dom is None:
                self.warn(f"{place}: the rendered DOM its record points at is not there; extracted from the HTML "
                          f"received")
                capture = replace(capture, rendered=False)
            else:
                html = dom
        return PreparedPage(stored, capture, read_payload=True, html=html, content_language=content_language)

    def _rendered_dom(self, crawl: CrawlLayout, pointer: WarcPointer) -> str | None:
        read = self._read(crawl.directory / pointer.file, pointer.offset)
        if read is None or read.stored.record_id != pointer.record_id or read.stored.rec_type != "resource":
            return None
        return read.stored.content.decode("utf-8", "replace")

    def finish(self, crawl: CrawlLayout, prepared: PreparedPage,
               extracted: ExtractedPage | None) -> dict[str, Any] | None:
        """The record of a prepared page, given its extraction; versions are computed here, in order."""
        stored, capture = prepared.stored, prepared.capture
        if prepared.skip is not None:
            self.tally.skip(prepared.skip)
            return None
        if prepared.read_payload and capture.record_kind == "revisit":
            self.tally.revisits += 1
        article = extracted.article if extracted is not None else None
        previous = self.previous_of(stored)
        record = record_for_capture(str(stored.get("crawl_id") or crawl.crawl_id), capture, article,
                                    self.extractor, previous=None if previous is KEEP_RECORDED else previous,
                                    fingerprint=extracted.fingerprint if extracted is not None else None,
                                    ).to_dict()
        if previous is KEEP_RECORDED:
            record.update(version=stored.get("version"), previous=stored.get("previous"),
                          changed_fields=list(stored.get("changed_fields") or []))
        self.remember(record)
        self.tally.pages += 1
        self.tally.changed += record["text_sha256"] != stored.get("text_sha256")
        return record

    def html_of(self, response: StoredRecord, url: str, place: str = "") -> tuple[str | None, str | None]:
        """The page's HTML and Content-Language as the crawl handed them to extraction; none when it is not
        an HTML page, or its body cannot be decoded (counted as an extraction error, as the crawl fails it)."""
        try:
            return page_html(response, url, self.max_body_bytes)
        except BodyTooLarge as exc:  # a decompression bomb: as the crawl, the page is not read (and fails)
            self.warn(f"{place or response.record_id}: {exc}; not extracted")
            self.tally.extraction_errors += 1
        except Exception:  # a body that is not what its Content-Encoding says: not read
            self.tally.extraction_errors += 1
        return None, None

    def _extract_here(self, prepared: PreparedPage) -> ExtractedPage | None:
        if prepared.html is None:
            return None
        try:
            return extract_for_record(prepared.html, prepared.capture.url, self.options, prepared.content_language)
        except Exception:  # one bad page must not stop the run; the crawl records such a page without article
            self.tally.extraction_errors += 1
            return None

    # -- the worker processes --------------------------------------------------------------------------------
    def _submit(self, prepared: PreparedPage, retry: bool = False) -> Future[ExtractedPage] | ExtractedPage | None:
        """The page's extraction: under way in the pool, or (one job) done here."""
        if prepared.html is None or self.jobs <= 1:
            return self._extract_here(prepared)
        try:
            pool = self._executor()
            future = pool.submit(extract_for_record, prepared.html, prepared.capture.url, self.options,
                                 prepared.content_language)
        except OSError as exc:
            # The workers cannot start (the forkserver's socket under a $TMPDIR too long for AF_UNIX, no
            # processes left): the same records, from this process alone.
            self.warn(f"cannot start extraction workers ({exc.strerror or exc}): extracting in this process")
            self.jobs = 1
            return self._extract_here(prepared)
        self._in_flight[future] = (pool, retry)  # bounded by the window: dropped as its result is taken
        return future

    def _executor(self) -> ProcessPoolExecutor:
        if self._pool is None:
            import multiprocessing

            # The crawl's pool (scraper.crawl.pipelines): workers fork from a forkserver that loaded and warmed
            # extraction once (scraper.extract.preload), so they share its pages and start warm.
            context = multiprocessing.get_context("forkserver")
            context.set_forkserver_preload(["scraper.extract.preload"])
            self._pool = ProcessPoolExecutor(max_workers=self.jobs, initializer=init_worker, mp_context=context)
        return self._pool

    def _result(self, prepared: PreparedPage,
                pending: Future[ExtractedPage] | ExtractedPage | None) -> ExtractedPage | None:
        if not isinstance(pending, Future):
            return pending
        pool, retried = self._in_flight.pop(pending)
        try:
            return pending.result()
        except BrokenProcessPool:
            # A worker died (the OOM killer, a kill -9): every page the pool had is lost with it.  The first
            # page to find it so starts new workers and says so once; each page is tried once more there, and
            # a page that kills those too is recorded without an article (an extraction error: exit 1).
            if retried:
                self.tally.extraction_errors += 1
                self.warn(f"{prepared.capture.url}: its extraction worker died twice; recorded without text")
                return None
            if pool is self._pool:
                self.warn("an extraction worker died (out of memory? killed?): new workers took over, and the "
                          "pages it had are extracted again")
                self.tally.pools_replaced += 1
                pool.shutdown(wait=False, cancel_futures=True)
                self._pool = None
            return self._result(prepared, self._submit(prepared, retry=True))
        except Exception:  # extraction raised: recorded without an article, as the crawl does
            self.tally.extraction_errors += 1
            return None

    def _read(self, path: Path, offset: int, limit: int | None = None) -> PayloadRecord | None:
        """The record at ``offset`` with at most ``limit`` (default: the body limit) bytes of its payload."""
        return read_response(path, offset, self.max_body_bytes if limit is None else limit)

    def original_of(self, crawl: CrawlLayout, stored: dict[str, Any]) -> tuple[Path, PayloadRecord] | None:
        """The response a revisit refers to (WARC-Refers-To), and its file: where its record says, else where
        the catalog says."""
        revisit = self._read(crawl.directory / stored["warc"]["file"], int(stored["warc"]["offset"]), 0)
        if revisit is None:
            return None
        refers_to = header(revisit.stored.warc_headers, "WARC-Refers-To")
        pointer = stored.get("refers_to") or {}
        places = []
        if pointer.get("crawl_id") and pointer.get("file") and pointer.get("offset") is not None:
            places.append((str(pointer["crawl_id"]), str(pointer["file"]), int(pointer["offset"])))
        if refers_to and self.catalog is not None:
            places += self._catalog_places(refers_to, pointer.get("crawl_id"))
        for crawl_id, file, offset in places:
            path = self.root / CRAWLS_DIR / crawl_id / file
            original = self._read(path, offset)
            if original is not None and original.stored.record_id == refers_to and \
                    original.stored.rec_type == "response":
                return path, original
        return None

    # -- versions -----------------------------------------------------------------------------------------
    def previous_of(self, stored: dict[str, Any]) -> Any:
        """The record a capture's version is computed against: the previous capture it followed at crawl time."""
        pointer = stored.get("previous")
        if not pointer:
            return None
        candidate = self.latest.get(url_key(stored["requested_url"]))
        if candidate is not None and candidate["warc"]["record_id"] == pointer.get("record_id"):
            return candidate
        recorded = self._catalog_record(str(pointer.get("record_id")), pointer.get("crawl_id"))
        return recorded if recorded is not None else KEEP_RECORDED

    def remember(self, record: dict[str, Any]) -> None:
        # What the catalog's previous_capture would give the next crawl: the latest 2xx capture of the URL.
        if 200 <= int(record["status"]) < 300:
            kept = {name: value for name, value in record.items() if name not in ("text", "markdown")}
            self.latest[url_key(record["requested_url"])] = kept

    # -- the catalog, read only -------------------------------------------------------------------------
    def _catalog_places(self, record_id: str, crawl_id: Any) -> list[tuple[str, str, int]]:
        if self.catalog is None:
            return []
        return [(row.crawl_id, row.warc_file, int(row.warc_offset))
                for row in catalog_captures(self.catalog, record_id, crawl_id)]

    def _catalog_record(self, record_id: str, crawl_id: Any) -> dict[str, Any] | None:
        if self.catalog is None:
            return None
        rows = self.catalog.captures_of_record(record_id, str(crawl_id) if crawl_id else None)
        return json.loads(rows[0].record_json) if rows else None


def catalog_captures(catalog: CatalogBackend, record_id: str, crawl_id: Any = None) -> list[CatalogCapture]:
    """Where the catalog has the WARC record ``record_id``: in ``crawl_id`` if it is there, else in any crawl."""
    rows = catalog.captures_of_record(record_id, str(crawl_id) if crawl_id else None)
    return rows or (catalog.captures_of_record(record_id) if crawl_id else [])
