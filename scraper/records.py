"""PageRecord: the normalised JSON contract with downstream tools (schema v1).

Pure: no Scrapy, no I/O (the extractor's model digest is read once, by :mod:`scraper.article`).
snake_case keys, ``null`` for unknown (never ``""``),
lists where there can be several, ISO 8601 dates, absolute URLs, and a pointer
into the WARC record that holds the page as it was received.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from scraper.article import (
    EXTRACTOR_NAME,
    EXTRACTOR_VERSION,
    TRAFILATURA_VERSION,
    Article,
    Product,
    model_digest,
)
from scraper.scope import url_key

# schema_version counts breaking changes only: a field removed or renamed, a type or meaning changed, a value
# once allowed refused.  An additive change (a new optional field, a new enum value, a new key in an object)
# keeps it: every record written under an earlier form of v1 still validates against the current schema, and
# readers treat an absent new field as unknown.  (Issue 18 added page_type's seven kinds,
# page_type_confidence, product and the extractor's model and trafilatura keys as such a change.)
SCHEMA_VERSION = 1
SCHEMA_ID = "https://scraper.invalid/schema/page-record/v1.json"
# The Content-Type of the WARC metadata record that holds a page's record, next to its response.
PAGE_RECORD_CONTENT_TYPE = "application/json"
_WORD = re.compile(r"\w+")
_MEDIA_TYPE = re.compile(r"[a-z0-9!#$&^_.+-]+/[a-z0-9!#$&^_.+-]+")  # RFC 6838 names, as the schema has them


def utc_timestamp(moment: datetime) -> str:
    """``2026-11-25T02:33:38Z``: UTC, second precision, ``Z`` suffix."""
    # isoformat(), not strftime("%Y"): that gives "999", not "0999", for a year before 1000.
    return moment.astimezone(UTC).replace(microsecond=0, tzinfo=None).isoformat() + "Z"


# The media types of an HTML page: those Scrapy makes an HtmlResponse of (scrapy.responsetypes), so the
# ones the crawl extracts. Every reader that asks "is this an HTML page?" uses this one set.
HTML_TYPES = frozenset({"text/html", "application/xhtml+xml", "application/vnd.wap.xhtml+xml"})


def mime_type(content_type: str | None) -> str | None:
    """``"text/html; charset=UTF-8"`` -> ``"text/html"``."""
    if not content_type:
        return None
    value = content_type.split(";", 1)[0].strip().lower()
    return value if _MEDIA_TYPE.fullmatch(value) else None  # "text/html charset=utf-8", "html": unknown


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
    record_kind: str = "response"  # or "revisit"
    revisit_profile: str | None = None  # identical-payload-digest | server-not-modified
    refers_to: dict[str, Any] | None = None  # the original response of a revisit
    rendered: bool = False  # the article was extracted from the DOM a browser rendered, not the HTML received
    rendered_dom: WarcPointer | None = None  # the WARC resource record of that DOM, whenever the page was rendered


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
    page_type: str | None  # one of article.PAGE_TYPES; None when not extracted (absent from older records)
    page_type_confidence: float | None  # the page-type model's probability; None without one (absent from older)
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
    product: dict[str, Any] | None  # a product page's item (asdict of article.Product); None on other pages
    text: str | None
    markdown: str | None
    word_count: int
    text_sha256: str | None
    payload_digest: str | None
    warc: WarcPointer
    record_kind: str
    revisit_profile: str | None
    refers_to: dict[str, Any] | None
    version: int | None
    previous: dict[str, Any] | None
    changed_fields: list[str]
    text_simhash: str | None
    extractor: dict[str, str] | None
    rendered: bool  # absent from records written before issue 20: read as false
    rendered_dom: WarcPointer | None

    def to_dict(self) -> dict[str, Any]:
        # Shallow: asdict's recursive deep copy cost 2 % of the crawl process's CPU, and the
        # dict is serialised at once.  Its lists and dicts are the record's own.
        values = dict(self.__dict__)
        values["warc"] = asdict(self.warc)
        if self.rendered_dom is not None:
            values["rendered_dom"] = asdict(self.rendered_dom)
        return values


KEY_FIELDS = ("text", "title", "authors", "published", "modified")
# The revisit_profile of a capture the server answered with 304 Not Modified.
NOT_MODIFIED = "server-not-modified"
# The revisit_profile of a capture whose payload was byte for byte an earlier one's.
IDENTICAL_PAYLOAD = "identical-payload-digest"


def simhash(text: str | None) -> str | None:
    """A 64-bit SimHash of the text's word 3-grams: near-identical texts get near-identical hashes.

    Bit b of the result is set when more than half of the grams' 64-bit hashes have bit b set.
    The hashes are laid out as one string of '0'/'1' characters, 64 per gram, so counting a
    bit position over all grams is one C-level ``str.count`` on a strided slice: a loop over
    64 bits per gram in Python cost a quarter of the crawl process's CPU.
    """
    if not text:
        return None
    # str.lower() writes a capital sigma as 'ς' or 'σ' depending on what follows it, so that
    # "ΟΔΟΣ ΚΑΙ" and "ΟΔΟΣ.ΚΑΙ" had different words: one sigma makes case and punctuation not count.
    words = _WORD.findall(text.lower().replace("ς", "σ"))
    grams = [" ".join(words[i:i + 3]) for i in range(max(1, len(words) - 2))]
    digests = b"".join(hashlib.blake2b(gram.encode("utf-8"), digest_size=8).digest() for gram in grams)
    bits = format(int.from_bytes(digests, "big"), f"0{len(digests) * 8}b")
    # Character j of a gram's 64 is bit 63 - j of its hash (most significant first).
    majority = sum(1 << (63 - j) for j in range(64) if 2 * bits[j::64].count("1") > len(grams))
    return f"{majority:016x}"


@dataclass(frozen=True)
class TextFingerprint:
    """What a record says about its text besides the text: computed where the text is made.

    The crawl computes it in the extraction worker, next to trafilatura: the SimHash of a
    page costs as much CPU as the rest of the crawl process's work on it.
    """

    word_count: int
    sha256: str | None
    simhash: str | None


def fingerprint_text(text: str | None) -> TextFingerprint:
    return TextFingerprint(word_count(text), text_sha256(text), simhash(text))


def product_from_record(value: Any) -> Product | None:
    """The ``product`` of a record as a Product (absent from records written before it existed)."""
    if not isinstance(value, dict):
        return None
    return Product(**{name: value.get(name) for name in Product.__dataclass_fields__})


def article_from_record(record: dict[str, Any]) -> Article:
    """The article fields of an earlier record (a revisit's content is its original's)."""
    # page_type, page_type_confidence and product are absent from records written before they existed
    return Article(page_type=record.get("page_type"), page_type_confidence=record.get("page_type_confidence"),
                   product=product_from_record(record.get("product")),
                   text=record.get("text"), markdown=record.get("markdown"), title=record.get("title"),
                   authors=list(record.get("authors") or []), published=record.get("published"),
                   modified=record.get("modified"), site_name=record.get("site_name"),
                   description=record.get("description"), language=record.get("language"),
                   canonical_url=record.get("canonical_url"), image=record.get("image"),
                   tags=list(record.get("tags") or []), categories=list(record.get("categories") or []))


def next_version(previous: dict[str, Any] | None, article: Article | None, status: int) -> tuple[int | None, list[str]]:
    """A page's version goes up only when its text or key metadata changes.

    Boilerplate churn changes the payload but not the extracted text, so it makes
    no version.  A capture without content (404, 500, not extracted) has none.
    """
    has_content = article is not None and (article.text is not None or article.title is not None)
    if not has_content:
        return None, (["status"] if previous is not None and previous.get("status") != status else [])
    assert article is not None
    if previous is None or previous.get("version") is None:
        return 1, []
    current = {"text": text_sha256(article.text), "title": article.title, "authors": list(article.authors),
               "published": article.published, "modified": article.modified}
    before = {"text": previous.get("text_sha256"), "title": previous.get("title"),
              "authors": list(previous.get("authors") or []), "published": previous.get("published"),
              "modified": previous.get("modified")}
    changed = [name for name in KEY_FIELDS if current[name] != before[name]]
    return int(previous["version"]) + (1 if changed else 0), changed


def build_page_record(crawl_id: str, capture: Capture, article: Article | None,
                      extractor: dict[str, str] | None, previous: dict[str, Any] | None = None,
                      fingerprint: TextFingerprint | None = None) -> PageRecord:
    """Combine a capture and (when the page was extracted) its article into one record.

    ``previous`` is the page record of the URL's last good capture, if any.  ``fingerprint``
    is ``fingerprint_text(article.text)`` when the caller has it already.
    """
    art = article or Article()
    if fingerprint is None:
        fingerprint = fingerprint_text(art.text)
    version, changed = next_version(previous, article, capture.status)
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
        page_type=art.page_type,
        page_type_confidence=art.page_type_confidence,
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
        product=asdict(art.product) if art.product is not None else None,
        text=art.text,
        markdown=art.markdown,
        word_count=fingerprint.word_count,
        text_sha256=fingerprint.sha256,
        payload_digest=capture.payload_digest,
        warc=capture.warc,
        record_kind=capture.record_kind,
        revisit_profile=capture.revisit_profile,
        refers_to=capture.refers_to,
        version=version,
        previous=({"crawl_id": previous.get("crawl_id"), "fetched_at": previous.get("fetched_at"),
                   "version": previous.get("version"), "record_id": previous.get("warc", {}).get("record_id")}
                  if previous is not None else None),
        changed_fields=changed,
        text_simhash=fingerprint.simhash,
        extractor=extractor if article is not None else None,
        rendered=capture.rendered,
        rendered_dom=capture.rendered_dom,
    )


def current_extractor() -> dict[str, str]:
    """The ``extractor`` of a record extracted now: scraper's version, its models' digest, trafilatura's version.

    Records written before the learned extractor say ``{"name": "trafilatura", "version": ...}``.
    """
    return {"name": EXTRACTOR_NAME, "version": EXTRACTOR_VERSION, "model": model_digest(),
            "trafilatura": TRAFILATURA_VERSION}


def record_for_capture(crawl_id: str, capture: Capture, article: Article | None, extractor: dict[str, str] | None,
                       previous: dict[str, Any] | None = None,
                       fingerprint: TextFingerprint | None = None) -> PageRecord:
    """The page record of a capture, as the crawl and ``scraper reextract`` both build it.

    A revisit has no payload of its own: unless its original's payload was extracted
    (``article``), its content is that of ``previous``, as extracted then.  A revisit of a
    304 also reports the status and content type of ``previous`` (the original's).
    """
    if capture.record_kind == "revisit" and article is None and previous is not None:
        article = article_from_record(previous)
        extractor = previous.get("extractor") or extractor
        fingerprint = None  # it described no text; the previous record's text is used
    if capture.revisit_profile == NOT_MODIFIED and previous is not None and previous.get("status"):
        # A 304 says "what you have is still current": the page is the original, and so are its
        # status and media type, which is also what the WARC revisit's HTTP block says (the
        # original's status line and headers; the 304 itself is kept beside it in a metadata
        # record).  record_kind and revisit_profile say it was a revisit.  A 304 carries no
        # Content-Type of its own: left as it came, filters for 200 or text/html lost the page.
        capture = replace(capture, status=int(previous["status"]), content_type=previous.get("content_type"))
    return build_page_record(crawl_id, capture, article, extractor, previous=previous, fingerprint=fingerprint)


def capture_from_record(record: dict[str, Any]) -> Capture:
    """The capture a page record describes: what re-extraction keeps while it replaces the article."""
    return Capture(
        requested_url=record["requested_url"], url=record["url"], status=int(record["status"]),
        content_type=record.get("content_type"),
        fetched_at=datetime.fromisoformat(str(record["fetched_at"]).replace("Z", "+00:00")),
        payload_digest=record.get("payload_digest"), warc=WarcPointer(**record["warc"]),
        depth=int(record.get("depth") or 0), referrer=record.get("referrer"),
        redirects=list(record.get("redirects") or []), access=record.get("access"),
        truncated=bool(record.get("truncated")), record_kind=record.get("record_kind", "response"),
        revisit_profile=record.get("revisit_profile"), refers_to=record.get("refers_to"),
        rendered=bool(record.get("rendered")),
        rendered_dom=WarcPointer(**record["rendered_dom"]) if record.get("rendered_dom") else None,
    )


# -- rendering -------------------------------------------------------------------
def _join_names(names: list[str]) -> str:
    if len(names) <= 1:
        return "".join(names)
    return ", ".join(names[:-1]) + " and " + names[-1]


def _same_words(a: str, b: str) -> bool:
    return " ".join(a.split()).casefold() == " ".join(b.split()).casefold()


def body_without_headline(body: str, title: str | None) -> str:
    """The body without its first line when that line is the title.

    The main text usually starts with the page's ``<h1>`` (as a line of text, or a ``#``
    heading in Markdown), and the document shows the title already.  A body that starts
    with anything else is left whole.
    """
    body = body.strip()
    first, _, rest = body.partition("\n")
    if title and _same_words(first.strip().lstrip("#"), title):
        return rest.strip()
    return body


def page_type_line(record: dict[str, Any]) -> str | None:
    """``Page type: product (confidence 0.93)``; None for a record without a page type."""
    page_type = record.get("page_type")
    if not page_type:
        return None
    confidence = record.get("page_type_confidence")
    return f"Page type: {page_type}" + (f" (confidence {confidence:.2f})" if confidence is not None else "")


def product_lines(product: dict[str, Any] | None) -> list[str]:
    """A product's fields as a Markdown list, those the page states: what a reader of a shop page looks for."""
    if not product:
        return []
    price = " ".join(str(product[name]) for name in ("price", "currency") if product.get(name) is not None)
    rating = product.get("rating")
    if rating is not None and product.get("review_count") is not None:
        rating = f"{rating} ({product['review_count']} reviews)"
    fields = [("Product", product.get("name")), ("Brand", product.get("brand")), ("SKU", product.get("sku")),
              ("Price", price or None), ("Availability", product.get("availability")), ("Rating", rating)]
    return [f"- {label}: {value}" for label, value in fields if value is not None]


def render_markdown(record: dict[str, Any]) -> str:
    """An archived page document: title, byline, date, a product's fields, body, page type, original URL."""
    lines: list[str] = [f"# {record.get('title') or record.get('url')}", ""]
    if record.get("authors"):
        lines += [f"By {_join_names(record['authors'])}", ""]
    if record.get("published"):
        lines += [f"Published {record['published']}", ""]
    if record.get("modified"):
        lines += [f"Updated {record['modified']}", ""]
    fields = product_lines(record.get("product"))
    if fields:
        lines += [*fields, ""]
    body = body_without_headline(record.get("markdown") or record.get("text") or "", record.get("title"))
    if body:
        lines += [body, ""]
    kind = page_type_line(record)
    if kind:
        lines += [kind]
    lines += [f"Original url: {record.get('url')}"]
    return "\n".join(lines) + "\n"


def render_text(record: dict[str, Any]) -> str:
    """The title, a blank line, then the body text (without the title again)."""
    title = record.get("title")
    parts = [title or "", body_without_headline(record.get("text") or "", title)]
    return "\n\n".join(p for p in parts if p).strip() + "\n"


def page_record_from_json(data: bytes) -> dict[str, Any] | None:
    """A page record kept as JSON (a WARC metadata record's block), or None when the bytes are not one."""
    try:
        value = json.loads(data)
    except ValueError:
        return None
    if isinstance(value, dict) and value.get("schema_version") and isinstance(value.get("warc"), dict):
        return value
    return None
