"""Seeds: URLs given on the command line, in a file or on stdin, or read from sitemaps, feeds and robots.txt.

Pure: no Scrapy.  A seed list is one URL per line; ``#`` starts a comment,
blank lines are ignored, a UTF-8 BOM and CRLF line ends are tolerated.
The seed-source parsers take bytes someone else fetched; nothing here does I/O.
"""

from __future__ import annotations

import io
import re
import unicodedata
import zlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urljoin, urlsplit

import lxml.html
from lxml import etree
from protego import Protego

from scraper.dates import calendar_day, parse_date_or_time, parse_iso_date
from scraper.records import HTML_TYPES
from scraper.scope import url_key

SCHEMES = ("http", "https")
_INLINE_COMMENT = re.compile(r"\s+#")


class InvalidSeed(ValueError):
    """A seed that cannot be crawled; the message is one line for the user."""


def validate_url(raw: str) -> str:
    """Return the URL if it is an absolute http(s) URL with a host, else raise InvalidSeed."""
    return _validated(raw, raw)


def _validated(raw: str, typed: str) -> str:
    """:func:`validate_url` of ``raw``; messages quote ``typed``, what the person wrote."""
    url = raw.strip()
    if not url:
        raise InvalidSeed("empty URL")
    if any(ch.isspace() for ch in url):
        raise InvalidSeed(f"invalid URL {typed!r}: contains white space")
    if any(unicodedata.category(ch) == "Cc" for ch in url):  # urlsplit() would skip a leading one
        raise InvalidSeed(f"invalid URL {typed!r}: contains a control character")
    # Before urlsplit(), whose handling of misplaced brackets changed within 3.11 (3.11.2 lets some
    # pass and misreads others): the same URL gets the same error on every Python.
    if _misplaced_bracket(re.split(r"[/?#]", url.partition("://")[2], maxsplit=1)[0]):
        raise InvalidSeed(f"invalid URL {typed!r}: Invalid IPv6 URL")
    try:
        parts = urlsplit(url)
        port = parts.port  # raises ValueError on a bad port
    except ValueError as exc:
        raise InvalidSeed(f"invalid URL {typed!r}: {exc}") from None
    if parts.scheme.lower() not in SCHEMES:
        if not parts.scheme or "." in parts.scheme or not parts.netloc:
            raise InvalidSeed(f"invalid URL {typed!r}: give an absolute URL starting with http:// or https://")
        raise InvalidSeed(f"invalid URL {typed!r}: scheme {parts.scheme!r} is not supported (http, https)")
    if not parts.hostname:
        raise InvalidSeed(f"invalid URL {typed!r}: no host name")
    # w3lib (so Scrapy, and url_key) reads '\\' as '/', and IDNA maps some characters to a space ('¨' -> ' ̈').
    if "\\" in parts.netloc or any(ch.isspace() for ch in unicodedata.normalize("NFKC", parts.hostname)):
        raise InvalidSeed(f"invalid URL {typed!r}: invalid host name {parts.hostname!r}")
    if port == 0:
        raise InvalidSeed(f"invalid URL {typed!r}: port 0")
    return url


# "name:" at the start of a URL: a scheme, unless what follows the colon is a port ("localhost:8080/x").
_SCHEME_PREFIX = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:")
_HOST_AND_PORT = re.compile(r"[^/?#@\[\]:]+:\d+(?:[/?#]|$)")


def seed_url(raw: str) -> str:
    """A URL as a person types it: :func:`validate_url`, after taking one without a scheme as ``https://``.

    ``example.com/news/``, ``localhost:8080/x``, ``127.0.0.1/x``, ``[::1]:8080/`` and ``//a.test/`` get
    ``https://`` in front, quietly (the README says so): the scheme a browser's address bar would try
    first.  A URL with any other scheme (``ftp:``, ``mailto:``, ``javascript:``) is still refused.
    """
    text = raw.strip()
    if text.startswith("//"):
        text = "https:" + text
    elif text and (not _SCHEME_PREFIX.match(text) or _HOST_AND_PORT.match(text)):
        text = "https://" + text
    return _validated(text, raw)  # an error quotes what was typed, not our https:// guess


def _misplaced_bracket(netloc: str) -> bool:
    """'[' that does not open the host, or ']' followed by more than ':port' ("http://a.test[::1]/"),
    or a bracket in the user information ("http://[::1]u:p@a.test/", which RFC 3986 does not allow).

    Python 3.11's urlsplit() accepts them (CPython gh-105704); w3lib and so Scrapy and url_key() refuse them.
    """
    userinfo, _, hostport = netloc.rpartition("@")
    if "[" in userinfo or "]" in userinfo:
        return True
    before, bracket, rest = hostport.partition("[")
    return bool(bracket) and (bool(before) or re.fullmatch(r"[^\]]*\](:.*)?", rest) is None)


def parse_seed_lines(lines: Iterable[str]) -> list[str]:
    """URLs from the lines of a seed list, in order, without comments or blanks.

    Each URL is read by :func:`seed_url` (no scheme: ``https://``).  Raises InvalidSeed naming the
    line of the first URL that is not valid.
    """
    urls: list[str] = []
    for number, line in enumerate(lines, start=1):
        text = line.lstrip("\ufeff").strip()
        if not text or text.startswith("#"):
            continue
        # "URL  # note": a comment needs white space before it, since '#' also starts a fragment.
        text = _INLINE_COMMENT.split(text, maxsplit=1)[0]
        try:
            urls.append(seed_url(text))
        except InvalidSeed as exc:
            raise InvalidSeed(f"line {number}: {exc}") from None
    return urls


def dedupe_seeds(urls: Iterable[str]) -> list[str]:
    """Keep the first of seeds that canonicalise to the same URL, in order."""
    seen: set[str] = set()
    out: list[str] = []
    for url in urls:
        key = url_key(url)
        if key not in seen:
            seen.add(key)
            out.append(url)
    return out


# --- Seed sources: sitemaps, feeds, robots.txt, <link> discovery ----------------------------------------------------
#
# Everything below takes bytes that something else fetched and returns URLs; nothing here does I/O.


class SeedSourceError(ValueError):
    """A sitemap, feed or robots.txt that cannot be used; str(exc) is ONE line for the user's summary."""


@dataclass(frozen=True)
class SourceEntry:
    """One URL found in a sitemap or feed.

    ``date`` is ISO 8601: ``YYYY-MM-DD`` for a date, ``YYYY-MM-DDTHH:MM:SS[.ffffff][+HH:MM]`` for a date-time, the
    offset kept as the source gave it (not shifted to UTC) so that "published on day X" means the publisher's day.
    A date that is present but cannot be read is kept as given (stripped); :func:`is_since` treats it as undated.
    """

    url: str
    date: str | None
    title: str | None = None
    images: tuple[str, ...] = ()


@dataclass(frozen=True)
class Sitemap:
    """A parsed sitemap: ``kind`` is ``"urlset"`` (pages) or ``"sitemapindex"`` (``entries`` are child sitemaps)."""

    kind: str
    entries: list[SourceEntry]


@dataclass(frozen=True)
class DiscoveredSources:
    """Feeds and sitemaps a page advertises in its ``<link>`` elements, absolute, in document order."""

    feeds: list[str]
    sitemaps: list[str]


MAX_SOURCE_BYTES = 50 * 1024 * 1024  # sitemaps.org limit for an uncompressed sitemap

_GZIP_MAGIC = b"\x1f\x8b"
_INFLATE_CHUNK = 1024 * 1024
# A '&' that does not start an entity or character reference: common in hand-made sitemaps ("?a=1&b=2").  libxml2's
# recover mode silently DROPS such a '&' and the name after it ("?a=1=2"), so it is escaped before parsing instead.
_BARE_AMPERSAND = re.compile(rb"&(?!(?:[A-Za-z_][\w.-]*|#[0-9]+|#[xX][0-9A-Fa-f]+);)")
# Fatal libxml2 errors after which the tree is truncated: entity amplification ("billion laughs"), a huge text node.
_LIMIT_ERRORS = frozenset({"ERR_RESOURCE_LIMIT", "ERR_ENTITY_LOOP"})
_FEED_TYPES = frozenset({"application/rss+xml", "application/atom+xml"})
_XML_DECLARATION = re.compile(r"^\s*<\?xml[^>]*\?>")


def _one_line(text: object) -> str:
    """Collapse white space (including newlines) so an error message stays on one line."""
    return " ".join(str(text).split())


def _absolute_url(raw: str | None, base_url: str) -> str | None:
    """``raw`` resolved against ``base_url`` if the result is a crawlable http(s) URL (see validate_url), else None."""
    if raw is None:
        return None
    text = raw.strip()
    if not text:
        return None
    try:
        return validate_url(urljoin(base_url, text))
    except ValueError:  # InvalidSeed, or urljoin on a malformed IPv6 host
        return None


def _normalise_date(raw: str | None) -> str | None:
    """ISO 8601 text for a sitemap date; an unreadable one is kept as given (stripped), an empty one is None."""
    if raw is None or not raw.strip():
        return None
    parsed = parse_iso_date(raw)
    return parsed.isoformat() if parsed is not None else raw.strip()


def gunzip_limited(body: bytes, *, max_bytes: int = MAX_SOURCE_BYTES) -> bytes:
    """Decompress gzip data, refusing output beyond ``max_bytes``; bytes that are not gzip are returned unchanged.

    Inflated a bounded chunk at a time, so a decompression bomb (kilobytes that inflate to gigabytes) fails after at
    most ``max_bytes`` of output instead of exhausting memory.  Concatenated gzip members are joined, as gunzip does;
    bytes after the last member that are not another member are ignored (gunzip's "trailing garbage").
    """
    if not body.startswith(_GZIP_MAGIC):
        return body
    out = bytearray()
    data = body
    while True:
        inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
        pending = data
        try:
            while not inflater.eof:
                room = max_bytes - len(out) + 1  # one byte more than allowed, to notice going over
                chunk = inflater.decompress(pending, min(room, _INFLATE_CHUNK))
                progressed = bool(chunk) or len(inflater.unconsumed_tail) < len(pending)
                pending = inflater.unconsumed_tail
                out += chunk
                if len(out) > max_bytes:
                    raise SeedSourceError(f"larger than {max_bytes} bytes when decompressed")
                if not progressed:
                    raise SeedSourceError("corrupt gzip data: truncated")
        except zlib.error as exc:
            raise SeedSourceError(f"corrupt gzip data: {_one_line(exc)}") from None
        data = inflater.unused_data
        if not data.startswith(_GZIP_MAGIC):
            return bytes(out)


def _sniff(body: bytes) -> str:
    """What bytes that are not the expected kind of document look like, for an error message."""
    head = body[:4096].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if not head:
        return "it is empty"
    if head.startswith((b"{", b"[")):
        return "looks like JSON"
    if head.startswith(b"<!doctype html") or any(tag in head for tag in (b"<html", b"<head", b"<body")):
        return "looks like HTML"
    if b"<urlset" in head or b"<sitemapindex" in head:
        return "looks like a sitemap"
    if b"<rss" in head:
        return "looks like an RSS feed"
    if b"<rdf:rdf" in head:
        return "looks like RDF"
    if b"<feed" in head:
        return "looks like an Atom feed"
    if head.startswith(b"<"):
        return "looks like XML of another kind"
    return "looks like plain text or binary data, not XML"


def _local_name(element: etree._Element) -> str | None:
    """An element's name without namespace or prefix (recover mode keeps 'news:title' when xmlns:news is missing)."""
    tag = element.tag
    if not isinstance(tag, str):  # comment, processing instruction, entity reference
        return None
    return tag.rpartition("}")[2].rpartition(":")[2]


def _element_text(element: etree._Element | None) -> str | None:
    """Stripped text of an element, None if empty or if it holds an unexpanded entity (the text would be partial)."""
    if element is None or len(element):
        return None
    text = (element.text or "").strip()
    return text or None


def _child(element: etree._Element, name: str) -> etree._Element | None:
    return next((child for child in element if _local_name(child) == name), None)


def _sitemap_entry(item: etree._Element, base_url: str) -> SourceEntry | None:
    """A <url> (or <sitemap>) element as an entry, None when its <loc> is missing or not a crawlable URL."""
    url = _absolute_url(_element_text(_child(item, "loc")), base_url)
    if url is None:
        return None
    published: str | None = None
    title: str | None = None
    images: list[str] = []
    for child in item:
        name = _local_name(child)
        if name == "news":
            for node in child.iter():
                if _local_name(node) == "publication_date":
                    published = published or _element_text(node)
                elif _local_name(node) == "title" and title is None:
                    text = _element_text(node)
                    title = " ".join(text.split()) if text else None
        elif name == "image":
            image = _absolute_url(_element_text(_child(child, "loc")), base_url)
            if image is not None and image not in images:
                images.append(image)
    when = _normalise_date(published) or _normalise_date(_element_text(_child(item, "lastmod")))
    return SourceEntry(url=url, date=when, title=title, images=tuple(images))


def parse_sitemap(body: bytes, base_url: str, *, max_bytes: int = MAX_SOURCE_BYTES) -> Sitemap:
    """Parse a sitemap or sitemap index (gzip or not) fetched from ``base_url``.

    The XML parser is the hardened one Scrapy's sitemap parser uses: entities are not expanded, no network, libxml2's
    size limits on.  If libxml2 stops on one of those limits (an entity bomb, a huge text node) the tree it built is
    truncated, so the sitemap is refused rather than partly used.  A <loc> holding an entity reference is skipped.
    """
    where = _one_line(base_url)
    try:
        data = gunzip_limited(body, max_bytes=max_bytes)
    except SeedSourceError as exc:
        raise SeedSourceError(f"{where}: sitemap {exc}") from None
    if len(data) > max_bytes:
        raise SeedSourceError(f"{where}: sitemap is larger than {max_bytes} bytes")
    parser = etree.XMLParser(recover=True, remove_comments=True, resolve_entities=False, no_network=True,
                             huge_tree=False)
    try:
        root = etree.fromstring(_BARE_AMPERSAND.sub(b"&amp;", data), parser=parser)
    except etree.XMLSyntaxError:  # recover mode still gives up on an empty or all-binary document
        root = None
    for error in parser.error_log:
        if error.type_name in _LIMIT_ERRORS:
            raise SeedSourceError(f"{where}: sitemap exceeds the XML parser's safety limits, refused (an XML bomb?): "
                                  f"{_one_line(error.message)}")
    if root is None:
        raise SeedSourceError(f"{where} is not a sitemap ({_sniff(data)})")
    kind = _local_name(root)
    if kind not in ("urlset", "sitemapindex"):
        looks = {"html": "looks like HTML", "rss": "looks like an RSS feed", "RDF": "looks like an RSS 1.0 (RDF) feed",
                 "feed": "looks like an Atom feed"}.get(kind or "", f"XML with root element <{kind}>")
        raise SeedSourceError(f"{where} is not a sitemap ({looks})")
    item_name = "url" if kind == "urlset" else "sitemap"
    entries: list[SourceEntry] = []
    seen: set[str] = set()
    for item in root:
        if _local_name(item) != item_name:
            continue
        entry = _sitemap_entry(item, base_url)
        if entry is not None and entry.url not in seen:
            seen.add(entry.url)
            entries.append(entry)
    return Sitemap(kind=kind, entries=entries)


def _feed_date(entry: Any) -> str | None:
    """``published``, else ``updated``, as ISO 8601 in the feed's own offset.

    feedparser's ``*_parsed`` values are shifted to UTC, which would move a post written at 23:30 -05:00 to the next
    day, so the raw text is parsed here (ISO 8601, then RFC 822) and ``*_parsed`` is only the last resort.
    ``dict.get`` bypasses FeedParserDict's deprecated updated->published fallback (and its warning).
    """
    unread: str | None = None
    for key in ("published", "updated"):
        raw = dict.get(entry, key)
        if not isinstance(raw, str) or not raw.strip():
            continue
        iso = parse_iso_date(raw)
        if iso is not None:
            return iso.isoformat()
        try:
            return parsedate_to_datetime(raw.strip()).isoformat()
        except (TypeError, ValueError, IndexError):
            pass
        parsed = dict.get(entry, f"{key}_parsed")
        if parsed is not None:
            year, month, day, hour, minute, second = parsed[:6]
            return datetime(year, month, day, hour, minute, min(second, 59), tzinfo=UTC).isoformat()
        unread = unread or raw.strip()
    return unread


def _feed_title(entry: Any) -> str | None:
    """The entry title as plain text: feedparser keeps markup (escaped as HTML) for Atom type="html" titles."""
    title = dict.get(entry, "title")
    if not isinstance(title, str) or not title.strip():
        return None
    detail = dict.get(entry, "title_detail") or {}
    if detail.get("type") in HTML_TYPES:
        title = lxml.html.fragment_fromstring(title, create_parent="div").text_content()
    return " ".join(title.split()) or None


def _feed_link(entry: Any) -> str | None:
    """The rel=alternate link (an HTML one first), else feedparser's ``link`` (RSS <link> or a permalink <guid>)."""
    alternates = [link for link in dict.get(entry, "links") or []
                  if link.get("rel", "alternate") == "alternate" and link.get("href")]
    alternates.sort(key=lambda link: link.get("type", "text/html") not in HTML_TYPES)  # stable: keeps feed order
    if alternates:
        return str(alternates[0]["href"])
    link = dict.get(entry, "link")
    return link if isinstance(link, str) else None


def parse_feed(body: bytes, base_url: str) -> list[SourceEntry]:
    """Entries of an RSS 0.9x/1.0/2.0 or Atom feed fetched from ``base_url``, in feed order, one per URL.

    The bytes go to feedparser wrapped in BytesIO: given bytes or str directly, feedparser first tries them as a
    local FILE NAME (and a str as a URL to fetch).  Entries without a usable http(s) link are skipped.
    """
    import feedparser  # here: most commands and crawls read no feed, and it costs every process 35 ms to load

    where = _one_line(base_url)
    try:
        data = gunzip_limited(body)
    except SeedSourceError as exc:
        raise SeedSourceError(f"{where}: feed {exc}") from None
    result = feedparser.parse(io.BytesIO(data), response_headers={"content-location": base_url},
                              resolve_relative_uris=False)
    if not result.get("version") and not result.get("entries"):
        raise SeedSourceError(f"{where} is not an RSS or Atom feed ({_sniff(data)})")
    entries: list[SourceEntry] = []
    seen: set[str] = set()
    for item in result["entries"]:
        url = _absolute_url(_feed_link(item), base_url)
        if url is None or url in seen:
            continue
        seen.add(url)
        entries.append(SourceEntry(url=url, date=_feed_date(item), title=_feed_title(item)))
    return entries


def discover_sources(html: str | bytes, base_url: str) -> DiscoveredSources:
    """RSS/Atom feeds (``<link rel=alternate type=...rss+xml|atom+xml>``) and ``<link rel=sitemap>`` of a page.

    ``rel`` and ``type`` are matched case-insensitively, ``type`` parameters (``; charset=...``) ignored; JSON Feed
    is left out since :func:`parse_feed` cannot read it.  URLs are resolved against the first ``<base href>`` when
    it is http(s), else against ``base_url``.  Unparseable input gives nothing.
    """
    if isinstance(html, str):
        html = _XML_DECLARATION.sub("", html, count=1)  # lxml refuses str input with an encoding declaration
    try:
        document = lxml.html.document_fromstring(html)
    except (etree.ParserError, ValueError):
        return DiscoveredSources(feeds=[], sitemaps=[])
    base = base_url
    for element in document.iter("base"):
        href = element.get("href")
        if href is not None:
            base = _absolute_url(href, base_url) or base_url
            break
    feeds: list[str] = []
    sitemaps: list[str] = []
    for link in document.iter("link"):
        rels = (link.get("rel") or "").lower().split()
        mime = (link.get("type") or "").split(";")[0].strip().lower()
        url = _absolute_url(link.get("href"), base)
        if url is None:
            continue
        if "alternate" in rels and mime in _FEED_TYPES and url not in feeds:
            feeds.append(url)
        if "sitemap" in rels and url not in sitemaps:
            sitemaps.append(url)
    return DiscoveredSources(feeds=feeds, sitemaps=sitemaps)


def sitemaps_from_robots(robots_txt: str | bytes, base_url: str) -> list[str]:
    """Absolute URLs of the ``Sitemap:`` lines of a robots.txt fetched from ``base_url``, deduplicated, in order.

    Never raises: a robots.txt that is garbage (an HTML error page, binary) just names no sitemaps.
    """
    try:
        text = robots_txt.decode("utf-8", errors="replace") if isinstance(robots_txt, bytes) else robots_txt
        found = list(Protego.parse(text.lstrip("\ufeff")).sitemaps)
    except Exception:  # protego is lenient, but "never raise" is the contract the crawler relies on
        return []
    urls: list[str] = []
    for raw in found:
        url = _absolute_url(raw, base_url) if isinstance(raw, str) else None
        if url is not None and url not in urls:
            urls.append(url)
    return urls


def parse_since(text: str) -> date:
    """``crawl --since``: the calendar day it names; a date-time's own, in its offset (the entries kept are dated
    on or after that day: :func:`is_since`)."""
    return calendar_day(parse_date_or_time(text))


def is_since(entry_date: str | None, since: date) -> bool:
    """Whether an entry dated ``entry_date`` is on or after ``since``.

    The calendar date is read in the entry's own offset, not converted to UTC: '2024-03-01T23:30:00-05:00' is on
    March 1st where it was published.  Undated or unreadable dates give False; the caller counts those separately.
    """
    parsed = parse_iso_date(entry_date) if entry_date is not None else None
    if parsed is None:
        return False
    return calendar_day(parsed) >= since
