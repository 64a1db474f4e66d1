"""Article extraction: HTML in, :class:`Article` out.

Pure: imports trafilatura, lxml and numpy, never Scrapy.  Three learned models (trained by
``make train-extraction``, shipped in ``scraper/extract/models/``) decide: the page-type model
(:mod:`scraper.extract.pagetype`) tells the page's kind, one of seven; the block model
(:mod:`scraper.extract.selection`) chooses the main text block by block, with trafilatura's
body as one of its inputs.  This module normalises the metadata trafilatura returns (author
lists, ISO dates with their own offsets, language codes, absolute URLs) and fills gaps from the
page's structured data (JSON-LD, ``<meta>``, ``<link rel=canonical>``).  Only an article gets
the fields found by searching the page.
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

# The value types live in scraper.article, which the crawl process imports without trafilatura.
from scraper.article import EXTRACTOR_NAME, EXTRACTOR_VERSION, Article, ExtractionOptions
from scraper.compat.trafilatura import (
    Document,
    bare_extraction,
    examine_meta,
    extract_meta_json,
    extract_sitename,
    extract_title,
    extract_url,
    load_html,
    normalize_authors,
    set_date_params,
    use_config,
    xmltotxt,
)
from scraper.extract.blocks import as_markdown, as_text, page_title, segment
from scraper.extract.bylines import find_byline, read_author_markup
from scraper.extract.pagetype import classify_page_type
from scraper.extract.product import read_product
from scraper.extract.selection import select_blocks
from scraper.extract.taxonomy import find_categories, find_tags

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
    # What the page's <meta> alone says, for pages that are not articles (see read_own_statements).
    meta_published: str | None = None
    meta_modified: str | None = None
    meta_author_names: tuple[str, ...] = ()
    meta_sections: tuple[str, ...] = ()  # article:section
    og_type: str | None = None  # og:type, lower case


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


def _schema_types(obj: dict[str, Any]) -> frozenset[str]:
    """``{"@type": ["NewsArticle", "Article"]}`` -> ``{"newsarticle", "article"}``; full IRIs shortened."""
    kinds = obj.get("@type")
    return frozenset(kind.rsplit("/", 1)[-1].lower() for kind in (kinds if isinstance(kinds, list) else [kinds])
                     if isinstance(kind, str))


def read_page_metadata(tree: HtmlElement, url: str, *, article: bool = True) -> Document:
    """trafilatura's metadata steps, without its author search.

    ``trafilatura.metadata.extract_metadata`` copies and prunes the whole tree to look for
    a byline and runs EXSLT regular expressions for categories and tags (together a median
    15 ms a page, half the body extraction's cost); :mod:`scraper.extract.bylines` and
    :mod:`scraper.extract.taxonomy` find the same in a fifth of the time.

    ``article=False`` (a listing or another page that is not an article) leaves out what is
    found by searching the page rather than read from its own statements: htmldate's date
    (its extensive search reads dates out of the links' URLs and the teasers' <time>s), and
    category and tag links (on a listing, those of the teasers).  The date is then ``None``.
    """
    document = examine_meta(tree)
    if document.author and " " not in document.author:
        document.author = None  # a one-word meta author is a handle more often than a name
    with contextlib.suppress(Exception):  # trafilatura's JSON-LD reader raises on odd data
        document = extract_meta_json(tree, document)
    if not document.title:
        document.title = extract_title(tree)
    if not document.url:
        document.url = extract_url(tree, url)
    # trafilatura's defaults: the original (published) date, extensive search; max_date is today.
    document.date = find_date(tree, **{**set_date_params(True), "url": document.url or url}) if article else None
    if not document.sitename:
        document.sitename = extract_sitename(tree)
    if document.sitename:
        document.sitename = document.sitename.lstrip("@")
    if not article:
        document.categories = []  # JSON-LD articleSection, of the teasers' articles; the caller reads the meta
    elif not document.categories:
        document.categories = find_categories(tree)
    if article and not document.tags:
        document.tags = find_tags(tree)
    document.clean_and_trim()
    return document


def read_structured_hints(tree: HtmlElement, ld_objects: list[dict[str, Any]] | None = None) -> StructuredHints:
    """What the page states about itself, read before trafilatura prunes the tree.

    ``ld_objects``: the page's JSON-LD objects, when the caller has read them already.
    """
    metas: dict[str, str] = {}
    sections: list[str] = []
    for meta in tree.iterfind(".//meta"):
        key = (meta.get("property") or meta.get("name") or meta.get("itemprop") or meta.get("http-equiv") or "")
        content = meta.get("content")
        if key and content and key.lower() not in metas:
            metas[key.lower()] = content
        if key.lower() == "article:section" and content:
            sections.append(content)
    published = next((metas[k] for k in _PUBLISHED_META if k in metas), None)
    modified = next((metas[k] for k in _MODIFIED_META if k in metas), None)
    meta_published, meta_modified = published, modified
    site_names = [metas[k] for k in ("og:site_name", "application-name", "apple-mobile-web-app-title") if k in metas]
    author_names = [metas[k] for k in ("author", "article:author", "dc.creator", "parsely-author") if k in metas]
    meta_author_names = list(author_names)
    objects = _json_ld_objects(tree) if ld_objects is None else ld_objects
    for obj in objects:
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
                           author_names=tuple(n for n in (clean_field(x) for x in author_names) if n),
                           meta_published=meta_published, meta_modified=meta_modified,
                           meta_author_names=tuple(n for n in (clean_field(x) for x in meta_author_names) if n),
                           meta_sections=tuple(n for n in (clean_field(x) for x in sections) if n),
                           og_type=(clean_field(metas.get("og:type")) or "").lower() or None)


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
    from scraper.compat.langid import classify

    try:
        code, _score = classify(text[:5000])
    except OSError:  # an unreadable model file
        return None
    return code or None


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


# -- page types --------------------------------------------------------------------
# The page type is the page-type model's (scraper.extract.pagetype).  Here: which JSON-LD objects
# describe items a page lists rather than the page.  schema.org types (lower case).  One object of
# an article type describes the page's own article; several describe the teasers of a list, as
# several products make a product grid.
_ARTICLE_SCHEMA = frozenset({"article", "newsarticle", "blogposting", "reportagenewsarticle", "analysisnewsarticle",
                             "opinionnewsarticle", "backgroundnewsarticle", "reviewnewsarticle",
                             "askpublicnewsarticle", "techarticle", "scholarlyarticle", "medicalscholarlyarticle",
                             "liveblogposting", "satiricalarticle"})
_PRODUCT_SCHEMA = frozenset({"product", "productgroup"})
LISTS = frozenset({"listing", "collection"})  # page types whose JSON-LD articles and products are the items listed


# -- what a page that is not an article states about itself -----------------------
@dataclass(frozen=True)
class OwnStatements:
    """Dates and authors a page states about itself: its ``<meta>``, the JSON-LD objects that
    describe the page (not the articles or products it lists), and the ``<time>`` in the
    header around its ``<h1>``.  Never dates found in the page's links or teasers."""

    published: str | None = None
    modified: str | None = None
    author_names: tuple[str, ...] = ()


def _page_key(value: str, base: str) -> str | None:
    """One key for the forms of a page's URL: scheme, ``www.``, trailing slash and fragment aside."""
    absolute = _absolute(value, base)
    if absolute is None:
        return None
    parts = urlsplit(absolute)
    return f"{(parts.hostname or '').removeprefix('www.')}{parts.path.rstrip('/')}?{parts.query}"


def _names_page(obj: dict[str, Any], keys: set[str], base: str) -> bool | None:
    """Whether a JSON-LD object's ``url``, ``@id`` or ``mainEntityOfPage`` is this page; ``None``: it names none."""
    found = []
    for name in ("url", "@id", "mainEntityOfPage"):
        value = obj.get(name)
        if isinstance(value, dict):
            value = value.get("@id") or value.get("url")
        if isinstance(value, str) and value.strip() and (key := _page_key(value, base)):
            found.append(key)
    return any(key in keys for key in found) if found else None


def _ld_author_names(obj: dict[str, Any]) -> list[str]:
    authors = obj.get("author")
    names = []
    for person in authors if isinstance(authors, list) else [authors]:
        if isinstance(person, dict) and isinstance(person.get("name"), str):
            names.append(person["name"])
        elif isinstance(person, str):
            names.append(person)
    return names


def _header_dates(tree: HtmlElement) -> tuple[str | None, str | None]:
    """Published and modified from the ``<time datetime>``s in the ``<header>`` (or ``<hgroup>``)
    around the page's one ``<h1>``, leaving out those inside links (a teaser's)."""
    h1s = tree.findall(".//body//h1")
    if len(h1s) != 1:
        return None, None
    header = next((a for a in h1s[0].iterancestors() if a.tag in ("header", "hgroup")), None)
    if header is None:
        return None, None
    published = modified = None
    for time in header.iter("time"):
        parent, linked = time.getparent(), False
        while parent is not None and parent is not header and not linked:
            linked, parent = parent.tag == "a", parent.getparent()
        value = None if linked else normalise_date(time.get("datetime"))
        if value is None:
            continue
        names = f"{time.get('itemprop') or ''} {time.get('class') or ''}".lower()
        if "modified" in names or "updated" in names:
            modified = modified or value
        else:
            published = published or value
    return published, modified


def read_own_statements(tree: HtmlElement, ld_objects: list[dict[str, Any]], url: str, hints: StructuredHints,
                        page_type: str) -> OwnStatements:
    """What a listing or another page that is not an article says about itself (see OwnStatements).

    A JSON-LD object is the page's own when its URL (``url``, ``@id``, ``mainEntityOfPage``)
    is the page's or its canonical URL.  One that names no URL is the page's own too,
    unless it is an article or a product on a listing, or one of several: those are the
    items listed.
    """
    keys = {key for key in (_page_key(url, url), _page_key(hints.canonical or "", url)) if key}
    item_kinds = _ARTICLE_SCHEMA | _PRODUCT_SCHEMA
    items = sum(1 for obj in ld_objects if _schema_types(obj) & item_kinds)
    published, modified = hints.meta_published, hints.meta_modified
    # A one-word meta author is a handle more often than a name (as for articles).
    names = [name for name in hints.meta_author_names if " " in name]
    for obj in ld_objects:
        own = _names_page(obj, keys, url)
        if own is None:
            own = not _schema_types(obj) & item_kinds or (page_type not in LISTS and items == 1)
        if not own:
            continue
        if published is None and isinstance(obj.get("datePublished"), str):
            published = obj["datePublished"]
        if modified is None and isinstance(obj.get("dateModified"), str):
            modified = obj["dateModified"]
        names += _ld_author_names(obj)
    header_published, header_modified = _header_dates(tree)
    return OwnStatements(published=normalise_date(published) or header_published,
                         modified=normalise_date(modified) or header_modified,
                         author_names=tuple(n for n in (clean_field(x) for x in names) if n))


DEFAULT_OPTIONS = ExtractionOptions()


@dataclass(frozen=True)
class TrafilaturaBody:
    """trafilatura's main text of the page (``None``: it found none), and the body it came from."""

    text: str | None
    body: HtmlElement | None

    def markdown(self) -> str | None:
        """The body rendered as markdown: asked for only when the block model keeps nothing.

        Rendering it costs as much as the rest of trafilatura's work on a long page (escaping
        and math conversion, line by line), so it is not done for the pages that never show it.
        """
        if not self.text or self.body is None:
            return None
        return xmltotxt(self.body, True).strip() or None


def trafilatura_body(tree: HtmlElement, url: str, options: ExtractionOptions = DEFAULT_OPTIONS) -> TrafilaturaBody:
    """trafilatura's main text of the page, with its body kept for a markdown rendering."""
    document = bare_extraction(
        tree, url=url, with_metadata=False,
        # Not "python": that renders the body (and the comments) as text at once, and the
        # markdown is needed only when the block model keeps nothing (TrafilaturaBody.markdown).
        output_format="txt",
        include_comments=options.include_comments, include_tables=options.include_tables,
        include_formatting=True,  # keeps headings/emphasis for the markdown rendering
        favor_precision=options.favor_precision, favor_recall=options.favor_recall,
        deduplicate=False,  # trafilatura's dedup keeps state across pages
        config=_trafilatura_config(options.min_extracted_size),
    )
    body = getattr(document, "body", None) if document is not None else None
    text = clean_text(xmltotxt(body, False)) if body is not None else None
    return TrafilaturaBody(text=text, body=body)


def extract_page(html: str | bytes, url: str, options: ExtractionOptions = DEFAULT_OPTIONS, *,
                 content_language: str | None = None, rank_metadata: bool = True) -> Article | None:
    """Extract the article of one page; ``None`` when the input is not parseable HTML.

    An Article whose ``text`` is ``None`` means the page parsed but held no main text.

    The page's type (:func:`~scraper.extract.pagetype.classify_page_type`) decides what may be
    found by searching the page.  An article gets trafilatura's and htmldate's finds: its date,
    bylines, category and tag links.  Another page gets only what it states about itself
    (:func:`read_own_statements`), because on a section front the dates, bylines and tags in
    the page are those of the articles it links.  The text is the blocks the block model keeps
    (:func:`~scraper.extract.selection.select_blocks`): a forum's posts, a listing's every
    card, an article's paragraphs; trafilatura's alone when the model keeps nothing.  The
    metadata rankers then choose title, authors and date (``rank_metadata=False``: the rules'
    own picks, which the rankers' training reads as candidates).
    """
    tree = load_html(html)
    if tree is None:
        return None
    ld_objects = _json_ld_objects(tree)
    hints = read_structured_hints(tree, ld_objects)
    guess = classify_page_type(tree, url, ld_objects)
    page_type = guess.page_type
    is_article = page_type == "article"
    metadata = read_page_metadata(tree, url, article=is_article)
    if is_article and not metadata.author:
        # The author markup, read only when the structured data names nobody: the first
        # byline is trafilatura's pick, the marked-up names are the fallback and give the
        # names' own spelling.
        byline = find_byline(tree)
        metadata.author = normalize_authors(None, byline) if byline else None
        hints = replace(hints, bylines=(*read_author_markup(tree), *([byline] if byline else [])))
    try:
        blocks = segment(tree)
    except RecursionError:  # a tree nested deeper than Python's stack: trafilatura's text alone
        blocks = []
    trafilatura = trafilatura_body(tree, url, options)
    selection = select_blocks(blocks, trafilatura.text, guess.probabilities, page_title(tree))
    text: str | None
    markdown: str | None
    if selection.kept:
        text, markdown = clean_text(as_text(selection.kept)), as_markdown(selection.kept)
    else:
        text, markdown = trafilatura.text, trafilatura.markdown()

    def meta(name: str) -> Any:
        return getattr(metadata, name, None)

    if is_article:
        authors = pick_authors(clean_field(meta("author")), url, hints)
        published = merge_dates(clean_field(meta("date")), hints.published)
        modified = normalise_date(hints.modified)
        categories = clean_list(meta("categories"))
    else:
        own = read_own_statements(tree, ld_objects, url, hints, page_type)
        authors = clean_authors(list(own.author_names), url, hints)
        published, modified = own.published, own.modified
        categories = clean_list(list(hints.meta_sections))
    language = language_code(hints.html_lang) or language_code(content_language)
    if language is None and options.detect_language and text:
        language = detect_language(text)
    article = Article(
        page_type=page_type,
        page_type_confidence=round(guess.confidence, 3),
        text=text,
        markdown=markdown,
        title=pick_title(clean_field(meta("title")), url, hints),
        authors=authors,
        published=published,
        modified=modified,
        site_name=clean_field(meta("sitename")),
        description=clean_field(meta("description")),
        language=language,
        canonical_url=_absolute(hints.canonical, url),
        image=_absolute(clean_field(meta("image")), url),
        tags=clean_list(meta("tags")),  # for a page that is not an article: its meta keywords and tags only
        categories=categories,
        product=read_product(ld_objects) if page_type == "product" else None,
    )
    if not rank_metadata:
        return article
    # Imported here: scraper.extract.metadata builds on this module's helpers.
    from scraper.extract.metadata import choose_metadata

    return choose_metadata(tree, url, article, hints=hints, ld_objects=ld_objects)
