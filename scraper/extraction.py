"""Article extraction: HTML in, :class:`Article` out.

Pure: imports trafilatura and lxml, never Scrapy.  trafilatura decides the body
and most metadata; this module normalises what it returns (author lists, ISO
dates with their own offsets, language codes, absolute URLs) and fills gaps from
the page's structured data (JSON-LD, ``<meta>``, ``<link rel=canonical>``).
"""

from __future__ import annotations

import contextlib
import functools
import itertools
import json
import re
import unicodedata
from collections.abc import Callable
from configparser import ConfigParser
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from typing import Any
from urllib.parse import quote, urljoin, urlsplit

from htmldate import find_date
from lxml.html import HtmlElement
from trafilatura import metadata as trafilatura_metadata
from trafilatura.core import bare_extraction
from trafilatura.json_metadata import normalize_authors
from trafilatura.settings import Document, set_date_params, use_config
from trafilatura.utils import load_html
from trafilatura.xml import xmltotxt

# The value types live in scraper.article, which the crawl process imports without trafilatura.
from scraper.article import EXTRACTOR_NAME, EXTRACTOR_VERSION, Article, ExtractionOptions
from scraper.bylines import find_byline, read_author_markup
from scraper.taxonomy import find_categories, find_tags

__all__ = ["EXTRACTOR_NAME", "EXTRACTOR_VERSION", "Article", "ExtractionOptions", "extract_page"]


@functools.lru_cache(maxsize=8)
def _trafilatura_config(min_extracted_size: int) -> ConfigParser:
    # A private copy: mutating trafilatura's DEFAULT_CONFIG would leak into every caller.
    config = use_config()
    config.set("DEFAULT", "MIN_EXTRACTED_SIZE", str(min_extracted_size))
    return config


# -- small normalisers -----------------------------------------------------------
_SPACES = re.compile(r"[ \t\u00a0]+")
_BYLINE_PREFIX = re.compile(r"^\s*(?:by|von|par|por|di|door|av|af)\s*[:\-]?\s+", re.IGNORECASE)
_AUTHOR_SPLIT = re.compile(r"\s*(?:;|\||\s+and\s+|\s+&\s+|\s+und\s+)\s*", re.IGNORECASE)


def clean_text(value: str | None) -> str | None:
    """Collapse runs of spaces, strip each line, drop blank-line runs; ``None`` if empty."""
    if value is None:
        return None
    lines = [_SPACES.sub(" ", line).strip() for line in value.splitlines()]
    text = "\n".join(line for line in lines if line)
    return text or None


def clean_field(value: Any) -> str | None:
    if value is None:
        return None
    text = _SPACES.sub(" ", str(value)).strip()
    return text if text and text.lower() not in {"none", "null", "undefined"} else None


def split_authors(value: str | None) -> list[str]:
    """``"By Jane Doe; John Roe"`` -> ``["Jane Doe", "John Roe"]``."""
    if not value:
        return []
    names: list[str] = []
    for part in _AUTHOR_SPLIT.split(value):
        name = _BYLINE_PREFIX.sub("", part).strip(" ,.:-–—\t")
        if name and name.lower() not in {n.lower() for n in names}:
            names.append(name)
    return names


def clean_list(values: Any) -> list[str]:
    if not values:
        return []
    if isinstance(values, str):
        values = values.split(",")
    out: list[str] = []
    for value in values:
        item = clean_field(value)
        if item and item not in out:
            out.append(item)
    return out


def language_code(value: str | None) -> str | None:
    """``"en-US"`` / ``"en_GB"`` -> ``"en"``: the primary subtag, lower case."""
    if not value:
        return None
    primary = re.split(r"[-_]", value.strip())[0].lower()
    return primary if re.fullmatch(r"[a-z]{2,3}", primary) else None


def normalise_date(value: str | None) -> str | None:
    """ISO 8601, keeping the page's own offset; a date-only value stays date-only.

    A publication time is not shifted to UTC: that can move it to another day.
    """
    if not value:
        return None
    value = value.strip()
    with contextlib.suppress(ValueError):
        return date.fromisoformat(value).isoformat()  # any ISO form of a date: 2024-03-01, 20240301, 2024-W09-5
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    offset = parsed.utcoffset()
    if offset is not None and offset % timedelta(minutes=1):
        return None  # an offset in seconds ("+05:30:15") has no ISO 8601 form
    return parsed.isoformat()


def merge_dates(day: str | None, timestamp: str | None) -> str | None:
    """Prefer a full timestamp from structured data when it agrees with trafilatura's day."""
    full = normalise_date(timestamp)
    if day is None:
        return full
    if full is not None and full[:10] == day:
        return full
    return normalise_date(day)


# -- structured data ---------------------------------------------------------------
_PUBLISHED_META = ("article:published_time", "datepublished", "og:published_time", "dc.date.issued",
                   "publish-date", "pubdate", "dcterms.created")
_MODIFIED_META = ("article:modified_time", "datemodified", "og:updated_time", "dcterms.modified",
                  "last-modified")


@dataclass(frozen=True)
class StructuredHints:
    html_lang: str | None = None
    canonical: str | None = None
    published: str | None = None
    modified: str | None = None
    site_names: tuple[str, ...] = ()  # og:site_name, application-name, JSON-LD publisher/WebSite names
    headings: tuple[str, ...] = ()  # the page's first <h1> texts
    titles: tuple[str, ...] = ()  # title strings as the page writes them: og:title, twitter:title, <title>
    document_title: str | None = None  # the <title> element
    heading_parts: tuple[tuple[str, ...], ...] = ()  # each <h1>'s text pieces (kicker, headline, subtitle)
    bylines: tuple[str, ...] = ()  # texts of author markup: rel=author, itemprop=author, .byline, /author/ links
    author_names: tuple[str, ...] = ()  # names as written: meta author, article:author, JSON-LD author


def _json_ld_objects(tree: HtmlElement) -> list[dict[str, Any]]:
    objects: list[dict[str, Any]] = []
    for script in tree.iterfind(".//script[@type='application/ld+json']"):
        try:
            data = json.loads(script.text or "")
        except (ValueError, TypeError):
            continue
        stack = [data]
        while stack:
            item = stack.pop()
            if isinstance(item, list):
                stack.extend(item)
            elif isinstance(item, dict):
                objects.append(item)
                if isinstance(item.get("@graph"), list):
                    stack.extend(item["@graph"])
    return objects


def read_page_metadata(tree: HtmlElement, url: str) -> Document:
    """trafilatura's metadata steps, without its author search.

    ``trafilatura.metadata.extract_metadata`` copies and prunes the whole tree to look for
    a byline and runs EXSLT regular expressions for categories and tags (together a median
    15 ms a page, half the body extraction's cost); :mod:`scraper.bylines` and
    :mod:`scraper.taxonomy` find the same in a fifth of the time.
    """
    document = trafilatura_metadata.examine_meta(tree)
    if document.author and " " not in document.author:
        document.author = None  # a one-word meta author is a handle more often than a name
    with contextlib.suppress(Exception):  # trafilatura's JSON-LD reader raises on odd data
        document = trafilatura_metadata.extract_meta_json(tree, document)
    if not document.title:
        document.title = trafilatura_metadata.extract_title(tree)
    if not document.url:
        document.url = trafilatura_metadata.extract_url(tree, url)
    # trafilatura's defaults: the original (published) date, extensive search; max_date is today.
    document.date = find_date(tree, **{**set_date_params(True), "url": document.url or url})
    if not document.sitename:
        document.sitename = trafilatura_metadata.extract_sitename(tree)
    if document.sitename:
        document.sitename = document.sitename.lstrip("@")
    if not document.categories:
        document.categories = find_categories(tree)
    if not document.tags:
        document.tags = find_tags(tree)
    document.clean_and_trim()
    return document


def read_structured_hints(tree: HtmlElement) -> StructuredHints:
    """What the page states about itself, read before trafilatura prunes the tree."""
    metas: dict[str, str] = {}
    for meta in tree.iterfind(".//meta"):
        key = (meta.get("property") or meta.get("name") or meta.get("itemprop") or meta.get("http-equiv") or "")
        content = meta.get("content")
        if key and content and key.lower() not in metas:
            metas[key.lower()] = content
    published = next((metas[k] for k in _PUBLISHED_META if k in metas), None)
    modified = next((metas[k] for k in _MODIFIED_META if k in metas), None)
    site_names = [metas[k] for k in ("og:site_name", "application-name", "apple-mobile-web-app-title") if k in metas]
    author_names = [metas[k] for k in ("author", "article:author", "dc.creator", "parsely-author") if k in metas]
    for obj in _json_ld_objects(tree):
        if published is None and isinstance(obj.get("datePublished"), str):
            published = obj["datePublished"]
        if modified is None and isinstance(obj.get("dateModified"), str):
            modified = obj["dateModified"]
        kind = obj.get("@type")
        if kind in ("WebSite", "Organization", "NewsMediaOrganization") and isinstance(obj.get("name"), str):
            site_names.append(obj["name"])
        authors_ld = obj.get("author")
        for person in authors_ld if isinstance(authors_ld, list) else [authors_ld]:
            if isinstance(person, dict) and isinstance(person.get("name"), str):
                author_names.append(person["name"])
            elif isinstance(person, str):
                author_names.append(person)
        publisher = obj.get("publisher")
        if isinstance(publisher, dict) and isinstance(publisher.get("name"), str):
            site_names.append(publisher["name"])
    # itertext joined by spaces: "<span>Kicker</span><span>Headline</span>" must not run together.
    # Pieces of an <h1> are the lines of its text: a kicker or subtitle sits on a line of its own,
    # inline markup ("Hot <em>and</em> Fresh") does not break a line.
    h1s = [[part for line in re.split(r"\s*\n\s*", "".join(h1.itertext())) if (part := " ".join(line.split()))]
           for h1 in itertools.islice(tree.iterfind(".//h1"), 3)]
    headings = tuple(" ".join(parts) for parts in h1s if parts)
    heading_parts = tuple(tuple(parts) for parts in h1s if parts)
    canonical = None
    for link in tree.iterfind(".//link[@rel]"):
        if "canonical" in link.get("rel", "").lower().split() and link.get("href"):
            canonical = link.get("href", "").strip()
            break
    canonical = canonical or metas.get("og:url")
    html_lang = tree.get("lang") or tree.get("xml:lang") or metas.get("content-language")
    title_element = tree.find(".//title")
    raw_titles = [metas.get("og:title"), metas.get("twitter:title"),
                  title_element.text_content() if title_element is not None else None]
    return StructuredHints(html_lang=html_lang, canonical=canonical, published=published, modified=modified,
                           site_names=tuple(n for n in (clean_field(x) for x in site_names) if n),
                           headings=headings, titles=tuple(t for t in (clean_field(x) for x in raw_titles) if t),
                           heading_parts=heading_parts,
                           document_title=clean_field(title_element.text_content()) if title_element is not None
                           else None,
                           author_names=tuple(n for n in (clean_field(x) for x in author_names) if n))


# trafilatura turns typographic quotes and dashes into ASCII; fold both sides to compare,
# then give back the page's own characters.
_FOLD = str.maketrans({"’": "'", "‘": "'", "‚": "'", "“": '"', "”": '"', "„": '"', "«": '"', "»": '"',
                       "–": "-", "—": "-", "\u00a0": " "})


def _restore_characters(text: str, sources: tuple[str, ...]) -> str:
    folded = text.translate(_FOLD).lower()
    for source in sources:
        index = source.translate(_FOLD).lower().find(folded)
        if index >= 0 and len(source.lower()) == len(source):
            return source[index:index + len(text)]
    return text


# Separators between a title and the site's name: "Story | Site", "Site - Story", "Story :: Site".
_TITLE_SEPARATOR = re.compile(r"\s+[|\-–—·»/:]{1,2}\s+|\s*[|]\s*|\s+::\s*|(?<=\w):\s+")


def _squash(text: str) -> str:
    return re.sub(r"[\W_]+", "", text.lower())


def site_matcher(url: str, hints: StructuredHints) -> Callable[[str], bool]:
    """A test for "this text is the site's name": og:site_name, the publisher, or the host,
    also near matches of the host name ("Herr Pfleger" on herrpfleger.de)."""
    host = (urlsplit(url).hostname or "").lower().removeprefix("www.")
    labels = [_squash(label) for label in host.split(".") if len(label) > 3]
    names = {_squash(n) for n in hints.site_names} | {_squash(host)}

    def site_like(segment: str) -> bool:
        squashed = _squash(segment)
        if not squashed:
            return True
        if squashed in names:
            return True
        return any(squashed == label or (len(squashed) > 4 and squashed in label)
                             or (len(label) > 4 and label in squashed and len(squashed) < len(label) + 8)
                             for label in labels)

    return site_like


_AUTHOR_LABEL = re.compile(r"^(?:(?:view|see)\s+all\s+posts\s+by|all\s+posts\s+by|posted\s+by|written\s+by|"
                           r"autor(?:in)?|author|text|redaktion|editor|von|by)\s*[:：]?\s+", re.IGNORECASE)
_NOT_NAMES = frozenset({"name", "admin", "administrator", "wordpressadmin", "human", "user", "guest", "no author",
                        "webmaster"})


def _ascii_key(text: str) -> str:
    """"Guido Beyß" and "Guido Beyss", "Gàbor" and "Gabor", "Herr_Rein" and "Herr Rein": one key."""
    decomposed = unicodedata.normalize("NFKD", text.replace("ß", "ss"))
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return " ".join(re.findall(r"[^\W_]+", stripped.lower()))


def _as_written(name: str, hints: StructuredHints) -> str:
    """trafilatura flattens accents and punctuation in names; the page's own spelling wins."""
    key = _ascii_key(name)
    for source in (*hints.author_names, *hints.bylines):
        for candidate in re.split(r"\s*(?:[,;|&]|\band\b|\bund\b)\s*", source):
            candidate = _AUTHOR_LABEL.sub("", candidate).strip()
            if candidate and _ascii_key(candidate) == key:
                return candidate
    return name


def clean_authors(names: list[str], url: str, hints: StructuredHints) -> list[str]:
    """Byline names: labels ("Posted by", "责任编辑：") cut, placeholders ("Name", "admin") and sentences dropped."""
    out: list[str] = []
    for name in names:
        name = _AUTHOR_LABEL.sub("", name).strip()
        _label, sep, rest = name.partition("：")
        if sep and rest.strip():
            name = rest.strip()
        words = name.split()
        # Organisations and newsrooms ("Redaktion", "Reuters") are bylines too: they stay.
        if (not words or len(words) > 4 or name.lower() in _NOT_NAMES
                or any(ch.isdigit() for ch in name) or "@" in name or "http" in name.lower()):
            continue
        name = _as_written(name, hints)
        if name.lower() not in {n.lower() for n in out}:
            out.append(name)
    return out


def pick_authors(found: str | None, url: str, hints: StructuredHints) -> list[str]:
    """trafilatura's authors, else the page's author markup (rel=author, itemprop, .byline)."""
    return (clean_authors(split_authors(found), url, hints)
            or clean_authors([next(iter(hints.bylines), "")], url, hints))


def _headline_of(parts: tuple[str, ...], *witnesses: str | None) -> str:
    """The headline among an <h1>'s pieces ("Kicker", "Headline", "Subtitle"): the piece the
    page's titles also carry, else the longest one."""
    pieces = [p for p in parts if len(p.split()) >= 2] or list(parts)
    if len(pieces) == 1:
        return pieces[0]
    for piece in pieces:
        if any(w and _squash(piece) in _squash(w) for w in witnesses):
            return piece
    return max(pieces, key=len)


def pick_title(found: str | None, url: str, hints: StructuredHints) -> str | None:
    """trafilatura's title, unless the page's <title> and <h1>s both disagree with it.

    trafilatura sometimes takes a navigation label ("Hauptmenü") for the headline; the
    document's own <title>, cleaned of the site name, is then the better witness.
    """
    site_like = site_matcher(url, hints)
    if found and len(hints.headings) == 1:
        parts = hints.heading_parts[0] if hints.heading_parts else (hints.headings[0],)
        heading = _headline_of(parts, found, hints.document_title)
        # One <h1> that reads like a headline: what the reader sees above the article.
        if len(heading.split()) >= 3 and not site_like(heading) and _squash(heading) != _squash(found):
            return heading
    page_title = hints.document_title
    if found and page_title and _squash(found) not in _squash(page_title) and not any(
            _squash(found) == _squash(h) for h in hints.headings):
        cleaned = clean_title(page_title, url, hints)
        if cleaned and not site_matcher(url, hints)(cleaned):
            return cleaned
    return clean_title(found, url, hints)


def clean_title(title: str | None, url: str, hints: StructuredHints) -> str | None:
    """The article's title without the site name that pages add to <title>.

    A segment at either end counts as the site's name when it matches og:site_name or
    the publisher's name, or the host name (``"Herr Pfleger"`` on herrpfleger.de).
    A title that is only the site's name gives way to the page's <h1>.
    """
    if not title:
        return None
    site_like = site_matcher(url, hints)

    if site_like(title) and hints.headings:
        return hints.headings[0]
    title = _restore_characters(title, (*hints.headings, *hints.titles))
    pieces = _TITLE_SEPARATOR.split(title)
    for heading in hints.headings:
        # "Kicker: Heading | Site": the page's own <h1> is the headline when it is one or
        # more whole segments of the title.
        wanted = _squash(heading)
        runs = (_squash("".join(pieces[i:j])) for i in range(len(pieces)) for j in range(i + 1, len(pieces) + 1))
        if heading != title and not site_like(heading) and wanted in runs:
            return heading
    separators = _TITLE_SEPARATOR.findall(title)
    if len(pieces) < 2:
        return title
    start, end = 0, len(pieces)
    while end - start > 1 and site_like(pieces[end - 1]):
        end -= 1
    while end - start > 1 and site_like(pieces[start]):
        start += 1
    if (start, end) == (0, len(pieces)):
        return title
    kept = pieces[start]
    for index in range(start + 1, end):
        kept += separators[index - 1] + pieces[index]
    return kept.strip() or title


def detect_language(text: str) -> str | None:
    """py3langid ships its model inside the package: no download at run time."""
    try:
        import py3langid
    except ImportError:  # optional: without it the language stays unknown
        return None
    try:
        code, _score = py3langid.classify(text[:5000])
    except OSError:  # its model is unpacked into a temporary file first: a full disk stops that
        return None
    return str(code) if code else None


def _absolute(url: str | None, base: str) -> str | None:
    if not url:
        return None
    # As browsers do: tabs and newlines dropped, other white space percent-encoded ("my page.html").
    text = re.sub(r"\s", lambda m: quote(m.group()), re.sub(r"[\t\n\r]", "", url.strip()))
    try:
        absolute = urljoin(base, text)
        host = urlsplit(absolute).hostname
    except ValueError:  # a malformed IPv6 host: "http://[::1"
        return None
    return absolute if host and absolute.startswith(("http://", "https://")) else None


DEFAULT_OPTIONS = ExtractionOptions()


def extract_page(html: str | bytes, url: str, options: ExtractionOptions = DEFAULT_OPTIONS, *,
                 content_language: str | None = None) -> Article | None:
    """Extract the article of one page; ``None`` when the input is not parseable HTML.

    An Article whose ``text`` is ``None`` means the page parsed but held no main text.
    """
    tree = load_html(html)
    if tree is None:
        return None
    hints = read_structured_hints(tree)
    metadata = read_page_metadata(tree, url)
    if not metadata.author:
        # The author markup, read only when the structured data names nobody: the first
        # byline is trafilatura's pick, the marked-up names are the fallback and give the
        # names' own spelling.
        byline = find_byline(tree)
        metadata.author = normalize_authors(None, byline) if byline else None
        hints = replace(hints, bylines=(*read_author_markup(tree), *([byline] if byline else [])))
    document = bare_extraction(
        tree, url=url, with_metadata=False,
        include_comments=options.include_comments, include_tables=options.include_tables,
        include_formatting=True,  # keeps headings/emphasis for the markdown rendering
        favor_precision=options.favor_precision, favor_recall=options.favor_recall,
        deduplicate=False,  # trafilatura's dedup keeps state across pages
        config=_trafilatura_config(options.min_extracted_size),
    )
    body = getattr(document, "body", None) if document is not None else None
    # With formatting on, trafilatura's own .text is the markdown rendering of the body.
    text = clean_text(xmltotxt(body, False)) if body is not None else None
    markdown = (str(getattr(document, "text", None) or "").strip() or None) if text else None

    def meta(name: str) -> Any:
        return getattr(metadata, name, None)

    language = language_code(hints.html_lang) or language_code(content_language)
    if language is None and options.detect_language and text:
        language = detect_language(text)
    return Article(
        text=text,
        markdown=markdown,
        title=pick_title(clean_field(meta("title")), url, hints),
        authors=pick_authors(clean_field(meta("author")), url, hints),
        published=merge_dates(clean_field(meta("date")), hints.published),
        modified=normalise_date(hints.modified),
        site_name=clean_field(meta("sitename")),
        description=clean_field(meta("description")),
        language=language,
        canonical_url=_absolute(hints.canonical, url),
        image=_absolute(clean_field(meta("image")), url),
        tags=clean_list(meta("tags")),
        categories=clean_list(meta("categories")),
    )
