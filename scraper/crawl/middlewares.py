"""WarcCaptureMiddleware: every HTTP exchange, as received, into the WARC.

Thin on purpose: it turns Scrapy's request and response into a storage-level
:class:`HttpExchange` and hands it to the run's WARC writer.
"""

from __future__ import annotations

from datetime import UTC, datetime
from http import HTTPStatus
from typing import TYPE_CHECKING, Any
from urllib.parse import urljoin, urlsplit

from scrapy.downloadermiddlewares.httpcompression import HttpCompressionMiddleware
from scrapy.downloadermiddlewares.robotstxt import RobotsTxtMiddleware
from scrapy.exceptions import IgnoreRequest
from scrapy.http import HtmlResponse
from scrapy.spidermiddlewares.urllength import UrlLengthMiddleware
from scrapy.utils.defer import maybe_deferred_to_future
from scrapy.utils.httpobj import urlparse_cached
from twisted.internet.defer import Deferred

from scraper.access import SNIFF_BYTES, AccessSignals, read_access_signals, robots_txt_problem
from scraper.compat.scrapy import cookies_use_bundled_suffix_list, robots_parser_entry
from scraper.crawl import counters
from scraper.crawl.extensions import archive_run
from scraper.crawl.items import Archived, refers_to_of
from scraper.scope import url_key
from scraper.storage.catalog import PreviousCapture
from scraper.storage.codings import decoded_start, header_codings
from scraper.storage.warc import (
    IDENTICAL_PAYLOAD,
    SERVER_NOT_MODIFIED,
    HttpExchange,
    RefersTo,
    metadata_uri,
    payload_digest,
    read_record_at,
)

# Scrapy's CookiesMiddleware asks tldextract for the Public Suffix List, which by
# default downloads it from the web on first use. An archiver must not make requests
# nobody asked for (nor reach outside loopback in tests): use the bundled snapshot.
cookies_use_bundled_suffix_list()

if TYPE_CHECKING:
    from scrapy import Request
    from scrapy.crawler import Crawler
    from scrapy.http import Headers, Response
    from scrapy.robotstxt import RobotParser

# Twisted has already removed the transfer coding: the stored body is de-chunked, so
# the header is kept under this name instead of contradicting the body.
REMOVED_TRANSFER_ENCODING = "X-Archive-Orig-Transfer-Encoding"
WARC_META = "warc_capture"  # an Archived, or None when the page asked not to be archived
PREVIOUS_META = "previous_capture"  # the URL's last good capture, set by the spider
MAXSIZE_LIFTED = "scraper_maxsize_lifted"  # set by politeness.BodySizeLimit
# Extension fields for the request record (name, value pairs), set by whoever made the request (crawl/rendering.py)
REQUEST_FIELDS_META = "warc_request_fields"


def header_pairs(headers: Headers) -> list[tuple[str, str]]:
    """Every header value, repeated ones (Set-Cookie) kept; bytes kept via latin-1."""
    pairs: list[tuple[str, str]] = []
    for name, values in headers.items():
        key = name.decode("latin-1") if isinstance(name, bytes) else str(name)
        for value in values:
            text = value.decode("latin-1") if isinstance(value, bytes) else str(value)
            pairs.append((key, text))
    return pairs


def reason_phrase(status: int) -> str:
    # Scrapy does not keep the phrase the server sent; the standard one stands in.
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return ""


def exchange_from(request: Request, response: Response, fetched_at: datetime) -> HttpExchange:
    request_headers = header_pairs(request.headers)
    if not any(name.lower() == "host" for name, _ in request_headers):
        netloc = urlsplit(request.url).netloc.rsplit("@", 1)[-1]
        request_headers.insert(0, ("Host", netloc))
    if request.body and not any(name.lower() == "content-length" for name, _ in request_headers):
        request_headers.append(("Content-Length", str(len(request.body))))
    response_headers = [
        (REMOVED_TRANSFER_ENCODING, value) if name.lower() == "transfer-encoding" else (name, value)
        for name, value in header_pairs(response.headers)
    ]
    # The body is incomplete: cut at the size limit, or the connection lost data.
    truncated = "length" if {"download_stopped", "dataloss"} & set(response.flags) else None
    return HttpExchange(
        url=response.url,
        method=request.method,
        request_headers=request_headers,
        request_body=request.body or b"",
        protocol=response.protocol or "HTTP/1.1",
        status=response.status,
        reason=reason_phrase(response.status),
        response_headers=response_headers,
        response_body=response.body,
        fetched_at=fetched_at,
        remote_ip=str(response.ip_address) if response.ip_address else None,
        truncated=truncated,
        request_fields=tuple(request.meta.get(REQUEST_FIELDS_META, ())),
    )


class WarcCaptureMiddleware:
    """Downloader middleware at order ~950: the response before any other component changes it."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.run = archive_run(crawler)
        self.respect_noarchive = crawler.settings.getbool("ARCHIVE_RESPECT_NOARCHIVE")

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> WarcCaptureMiddleware:
        return cls(crawler)

    def process_response(self, request: Request, response: Response) -> Response:
        fetched_at = datetime.now(UTC)
        if request.meta.pop(MAXSIZE_LIFTED, False):
            del request.meta["download_maxsize"]  # decompression is bounded by DOWNLOAD_MAXSIZE again
        is_html = isinstance(response, HtmlResponse)
        head = b""  # meta robots is only read in HTML: images, scripts and styles are not decoded for it
        if is_html:
            encodings = [("Content-Encoding", v.decode("latin-1"))
                         for v in response.headers.getlist(b"Content-Encoding")]
            head = decoded_start(response.body, header_codings(encodings, "content-encoding"), SNIFF_BYTES)
        access = read_access_signals((v.decode("latin-1") for v in response.headers.getlist(b"X-Robots-Tag")), head,
                                     is_html)
        stats = self.crawler.stats
        if request.url.endswith("/robots.txt") and response.status == 200:
            problem = robots_txt_problem(response.body, _header(response, b"Content-Type"))
            if problem is not None:
                self.run.warn(f"{response.url} is {problem}, not robots.txt rules; read as allowing everything")
        if self.respect_noarchive and access.forbids_archiving:
            # The page asks not to be archived: neither its bytes nor its record are kept.
            request.meta[WARC_META] = None
            if stats is not None:
                stats.inc_value(counters.NOARCHIVE_SKIPPED.stat)
            return response
        exchange = exchange_from(request, response, fetched_at)
        if "dataloss" in response.flags:
            self._data_lost(request, response)
        previous: PreviousCapture | None = request.meta.get(PREVIOUS_META)
        if previous is not None and previous.original_target_uri != response.url and (
                url_key(previous.original_target_uri) != url_key(response.url)):
            previous = None  # a redirect hop, or redirected elsewhere: not the capture the condition was about
        try:
            archived = self._write(exchange, response, previous, access)
        except OSError as exc:  # a full disk: the crawl stops, what was written stays
            self.run.write_failed(exc)
            raise IgnoreRequest(f"not archived: {exc.strerror or exc}") from exc
        # The last capture wins: after redirects, meta describes the final response.
        request.meta[WARC_META] = archived
        if stats is not None:
            stats.inc_value(counters.EXCHANGES_ARCHIVED.stat)
            stats.inc_value(counters.WARC_RECORDS.stat, 2)
        if response.status in REDIRECT_STATUSES and not request.meta.get("dont_redirect"):
            problem = unfollowable_redirect(response)
            if problem is not None:
                self.run.warn(f"{response.url}: {response.status} redirect {problem}; not followed")
        return response

    def _data_lost(self, request: Request, response: Response) -> None:
        """The connection closed before the body was complete (DOWNLOAD_FAIL_ON_DATALOSS off):
        what arrived is archived with WARC-Truncated: length, and a page counts as failed."""
        declared = _header(response, b"Content-Length")
        expected = f"of {int(declared):,} " if declared and declared.isdigit() else ""
        self.run.warn(f"{response.url}: the connection closed after {len(response.body):,} {expected}bytes; "
                      f"archived what arrived (WARC-Truncated: length)")
        if request.meta.get("kind", "page") == "page":
            self._stat(counters.PAGES_FAILED.stat)
            self._stat(counters.ERRORS.stat_of("dataloss"))


    def _write(self, exchange: HttpExchange, response: Response, previous: PreviousCapture | None,
               access: AccessSignals) -> Archived:
        """Write a response, or a revisit when the payload is one the archive already holds."""
        warc = self.run.warc
        truncated = exchange.truncated is not None  # cut at the size limit, or data lost on the way
        profile = None
        if previous is not None and previous.payload_digest and response.status == 304:
            profile = SERVER_NOT_MODIFIED
            status_line, headers = self._freshened_original(previous, exchange)
            location = warc.write_revisit(exchange, profile=profile, refers_to=_warc_refers_to(previous),
                                          http_status_line=status_line, http_headers=headers)
            # the 304 itself, byte for byte, beside the revisit that replays as the original
            warc.write_metadata(metadata_uri(exchange.url), location.response.record_id,
                                _http_head(exchange), "application/http; msgtype=response", exchange.fetched_at)
        elif (previous is not None and 200 <= response.status < 300 and not truncated
              and payload_digest(response.body) == previous.payload_digest):
            profile = IDENTICAL_PAYLOAD
            location = warc.write_revisit(exchange, profile=profile, refers_to=_warc_refers_to(previous))
        else:
            location = warc.write_exchange(exchange)
        if profile is not None:
            self._stat(counters.REVISITS.stat_of(profile.rsplit("/", 1)[-1]))
        return Archived(
            warc=location.response,
            payload_digest=location.payload_digest,
            fetched_at=exchange.fetched_at,
            warc_date=location.warc_date,
            # Why it was cut is not kept: the WARC says "length" for both, and the record's `truncated` is a yes or no.
            truncated=truncated,
            revisit_profile=profile.rsplit("/", 1)[-1] if profile else None,
            refers_to=refers_to_of(previous) if profile is not None and previous is not None else None,
            previous=previous,
            access=access,
            etag=_header(response, b"ETag") or (previous.etag if previous and response.status == 304 else None),
            last_modified=_header(response, b"Last-Modified")
            or (previous.last_modified if previous and response.status == 304 else None),
        )

    def _freshened_original(self, previous: PreviousCapture,
                            exchange: HttpExchange) -> tuple[str, list[tuple[str, str]]]:
        """The original's status line and headers, updated by the 304's (RFC 9111 §3.2), as a cache would."""
        where = previous.original_warc
        original = read_record_at(self.run.layout.root / "crawls" / str(where["crawl_id"]) / str(where["file"]),
                                  int(where["offset"]))
        status_line = (original.http_status_line or "HTTP/1.1 200 OK").split(" ", 1)[1]
        updates = {name.lower() for name, _ in exchange.response_headers} - NOT_FRESHENED
        headers = [(n, v) for n, v in original.http_headers if n.lower() not in updates]
        headers += [(n, v) for n, v in exchange.response_headers if n.lower() in updates]
        return status_line, headers

    def _stat(self, key: str) -> None:
        if self.crawler.stats is not None:
            self.crawler.stats.inc_value(key)


# Headers a 304 does not update: they describe the stored payload itself.
NOT_FRESHENED = frozenset({"content-length", "content-encoding", "content-type", "transfer-encoding",
                           "content-range", REMOVED_TRANSFER_ENCODING.lower()})


def _warc_refers_to(previous: PreviousCapture) -> RefersTo:
    return RefersTo(record_id=previous.original_record_id, target_uri=previous.original_target_uri,
                       warc_date=previous.original_warc_date, payload_digest=str(previous.payload_digest))


def _http_head(exchange: HttpExchange) -> bytes:
    lines = [f"{exchange.protocol} {exchange.status} {exchange.reason}".rstrip()]
    lines += [f"{name}: {value}" for name, value in exchange.response_headers]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1", "replace")


def _header(response: Response, name: bytes) -> str | None:
    value = response.headers.get(name)
    return value.decode("latin-1") if value else None


# -- what Scrapy does quietly, said in the summary ------------------------------------------------------
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})


def unfollowable_redirect(response: Response) -> str | None:
    """Why Scrapy's RedirectMiddleware will not follow this redirect, or None when it will.

    It drops a redirect to another scheme (``ftp:``, ``data:``) without a word and fails on a
    Location it cannot parse (``javascript:…``, ``http://[::1``) with a misleading one.
    """
    location = response.headers.get(b"Location")
    if not location:
        return "without a Location header"
    target = location.decode("latin-1").strip()
    shown = repr(target if len(target) <= 80 else target[:80] + "…")
    try:
        parts = urlsplit(urljoin(response.url, target))
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError as exc:
        return f"to {shown}, which is not a valid URL ({exc})"
    if parts.scheme not in ("http", "https"):
        return f"to {shown}, which is not an http(s) URL"
    if not parts.hostname:
        return f"to {shown}, which has no host"
    return None


class BodyNotDecoded(IgnoreRequest):
    """A body that does not decode as its Content-Encoding says, or decodes to more than the limit.

    The response is already in the WARC as received; only reading the page is given up.
    """


class BoundedHttpCompressionMiddleware(HttpCompressionMiddleware):
    """Scrapy's HttpCompressionMiddleware, bounded by the archive's body limit, failing in one clear line.

    Scrapy bounds decompression by DOWNLOAD_MAXSIZE, 1 GiB here so that big downloads can be
    archived truncated: a 1 MB gzip bomb would inflate to a gigabyte in memory, then be decoded
    as text and parsed.  The decoded body is only read (extraction, links), never stored, so it is
    bounded by ARCHIVE_MAX_BODY_BYTES (a sitemap's or feed's ``max_body_bytes``) as well.
    """

    def __init__(self, stats: Any = None, *, crawler: Crawler | None = None) -> None:
        super().__init__(stats, crawler=crawler)
        self.crawler = crawler
        self.decoded_limit = crawler.settings.getint("ARCHIVE_MAX_BODY_BYTES") if crawler is not None else 0

    def process_response(self, request: Request, response: Response,  # type: ignore[override]
                         spider: Any = None) -> Request | Response:
        codings = response.headers.getlist(b"Content-Encoding")
        if request.method == "HEAD" or not codings:
            return response
        limits = [request.meta.get("download_maxsize", self._max_size),
                  request.meta.get("max_body_bytes", self.decoded_limit)]
        limit = min((int(n) for n in limits if n), default=0)
        coding = b", ".join(codings).decode("latin-1")
        had_maxsize = "download_maxsize" in request.meta
        saved = request.meta.get("download_maxsize")
        request.meta["download_maxsize"] = limit  # read by the decoder, for this response only
        try:
            return super().process_response(request, response)
        except IgnoreRequest as exc:  # decoding went past the limit
            raise self._give_up(response, f"Content-Encoding: {coding} body of {len(response.body):,} bytes "
                                          f"inflates to over {limit:,} bytes (a decompression bomb?)") from exc
        except Exception as exc:  # whatever the decoder raises (OSError, zlib.error, ...): the page alone fails
            reason = " ".join(str(exc).split()) or type(exc).__name__
            raise self._give_up(response, f"body is not valid {coding} as its Content-Encoding says "
                                          f"({reason})") from exc
        finally:
            if had_maxsize:
                request.meta["download_maxsize"] = saved
            else:
                request.meta.pop("download_maxsize", None)

    def _give_up(self, response: Response, problem: str) -> BodyNotDecoded:
        message = f"{problem}; archived as received, not read"
        if self.crawler is not None:
            archive_run(self.crawler).warn(f"{response.url}: {message}")
        return BodyNotDecoded(message)


class RobotsTxtForEveryRequest(RobotsTxtMiddleware):
    """Scrapy's RobotsTxtMiddleware, checking every request, not only the first one to a host.

    In Scrapy 2.19 the requests that arrive while a host's robots.txt is being fetched all
    await one shared Deferred; awaiting a Deferred takes its result, so the first of them
    gets the parser and the others get None, which the middleware reads as "allow
    everything".  Here each waiter awaits a Deferred of its own, fired with the parser (or
    with None, as before, when robots.txt could not be had).  It reads the middleware's
    private ``_parsers`` table, through :mod:`scraper.compat.scrapy`.
    """

    async def robot_parser(self, request: Request) -> RobotParser | None:
        pending = robots_parser_entry(self, urlparse_cached(request).netloc)
        if not isinstance(pending, Deferred):
            return await super().robot_parser(request)  # known, or this request fetches robots.txt
        own: Deferred[RobotParser | None] = Deferred()

        def relay(parser: RobotParser | None) -> RobotParser | None:
            own.callback(parser)
            return parser  # passed on to the next waiter, not taken

        pending.addCallback(relay)
        return await maybe_deferred_to_future(own)


class UrlLengthLimit(UrlLengthMiddleware):
    """Scrapy's URLLENGTH_LIMIT, which drops a request with an INFO line nobody sees.

    A seed over the limit is reported (the crawl would otherwise end with nothing and exit 0);
    a discovered link over it is counted as filtered (``url_length``).
    """

    def get_processed_request(self, request: Request, response: Response | None) -> Request | None:
        processed = super().get_processed_request(request, response)
        if processed is None:
            if response is None:
                shown = request.url if len(request.url) <= 80 else request.url[:80] + "…"
                archive_run(self.crawler).warn(
                    f"{shown}: URL is {len(request.url):,} characters long, over URLLENGTH_LIMIT "
                    f"({self.maxlength:,}); not fetched (raise it with -s URLLENGTH_LIMIT=N)")
            elif self.crawler.stats is not None:
                self.crawler.stats.inc_value(counters.FILTERED.stat_of("url_length"))
        return processed
