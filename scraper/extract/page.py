"""Article extraction: HTML in, :class:`Article` out.

Pure: imports trafilatura and lxml, never Scrapy.  trafilatura decides the body
and most metadata; this module normalises what it returns (author lists, ISO
dates with their own offsets, language codes, absolute URLs) and fills gaps from
the page's structured data (JSON-LD, ``<meta>``, ``<link rel=canonical>``).
First it tells an article from a listing or another page (:func:`classify_page`):
only an article gets the fields found by searching the page.
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
from copy import deepcopy
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from typing import Any
from urllib.parse import quote, urljoin, urlsplit

from htmldate import find_date
from lxml import etree
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
from scraper.extract.bylines import find_byline, read_author_markup
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


# -- page type ---------------------------------------------------------------------
# A small set of general rules, each one explainable (a learned classifier may replace them):
# what the page's structured data says it is, and the shape of its main content: how much
# of it is link text, how much is prose, and whether it is a run of similar teaser blocks.

# schema.org types (lower case).  One object of an article type describes the page's own
# article; several describe the teasers of a list, as several products make a product grid.
_ARTICLE_SCHEMA = frozenset({"article", "newsarticle", "blogposting", "reportagenewsarticle", "analysisnewsarticle",
                             "opinionnewsarticle", "backgroundnewsarticle", "reviewnewsarticle",
                             "askpublicnewsarticle", "techarticle", "scholarlyarticle", "medicalscholarlyarticle",
                             "liveblogposting", "satiricalarticle"})
_PRODUCT_SCHEMA = frozenset({"product", "productgroup"})
_LISTING_SCHEMA = frozenset({"collectionpage", "searchresultspage", "itemlist"})
_OTHER_SCHEMA = frozenset({"qapage", "discussionforumposting", "profilepage", "contactpage", "aboutpage",
                           "checkoutpage", "softwareapplication", "mobileapplication", "webapplication", "course",
                           "event", "jobposting", "realestatelisting"})
_OTHER_OG_TYPES = frozenset({"product", "profile"})

# Elements whose text is never visible, and the page's "chrome": navigation, banners,
# footers, sidebars, forms, consent and share boxes, pagination.
_NOT_TEXT = ("script", "style", "noscript", "template", "svg", "iframe", "object", "embed", "canvas", "video",
             "audio", "map", "select", "textarea", "button", "input", "head", "title")
_CHROME_TAGS = frozenset({"nav", "footer", "aside", "form", "dialog", "menu"})
_CHROME_ROLES = frozenset({"navigation", "banner", "contentinfo", "complementary", "search", "dialog",
                           "alertdialog", "menu", "menubar", "toolbar", "tablist"})
_CHROME_NAMES = frozenset({"nav", "navbar", "navigation", "menu", "breadcrumb", "breadcrumbs", "pagination", "pager",
                           "footer", "sidebar", "cookie", "cookies", "consent", "gdpr", "newsletter", "subscribe",
                           "signup", "share", "sharing", "social", "skip", "modal", "popup", "advert",
                           "advertisement", "ads", "ad", "masthead", "toolbar", "offcanvas", "drawer"})
_NAME_TOKEN = re.compile(r"[a-z0-9]+")
_HOLDS_HEADING = etree.XPath("boolean(.//h1|.//h2|.//h3|.//h4)")
_HOLDS_PAGE = etree.XPath("boolean(self::main|self::*[@role='main']|.//h1|.//main|.//*[@role='main'])")
# Two paragraphs of 200 characters or more: an article's body, whatever its wrapper's name
# ("post-content" with id "share-btn", "content-sidebar", a streamed <div hidden>).
_HOLDS_PROSE = etree.XPath("count(.//p[string-length(normalize-space()) >= 200]) >= 2")
# Block-level elements: a line of text ends at their boundaries.
_BLOCK_TAGS = frozenset({"p", "div", "section", "article", "main", "header", "footer", "aside", "nav", "li", "ul",
                         "ol", "dl", "dt", "dd", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "figure",
                         "figcaption", "table", "thead", "tbody", "tr", "td", "th", "caption", "pre", "br", "hr",
                         "address", "details", "summary", "hgroup", "form", "fieldset", "body"})
_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
LONG_BLOCK_WORDS = 30  # a block of this many words outside links is a paragraph of prose
TEASER_MAX_WORDS = 80  # a teaser: a headline link of 3 or more words, and a line or two
TEASER_LINK_WORDS = 3


def _count_words(text: str | None) -> int:
    """Words as spaces separate them; in Chinese and Japanese, about two characters make a word."""
    if not text:
        return 0
    count = len(text.split())
    if not text.isascii():
        count += len(_CJK.findall(text)) // 2
    return count


@functools.lru_cache(maxsize=4096)
def _chrome_name(names: str) -> bool:
    return not _CHROME_NAMES.isdisjoint(_NAME_TOKEN.findall(names.lower()))


def _is_chrome(element: HtmlElement) -> bool:
    """Navigation, banners, footers, sidebars, forms, pagination, hidden boxes: the site's, not the page's.

    An element that holds the page's ``<h1>`` or ``<main>`` is never chrome, whatever its
    class (``<div class="has-sidebar">``, an ASP.NET page's all-enclosing ``<form>``).
    """
    tag = element.tag
    attrib = element.attrib
    if tag == "header":  # the site's header; a header holding a heading is the page's or a teaser's own
        return not _HOLDS_HEADING(element)
    if tag not in _CHROME_TAGS and not attrib:
        return False
    if tag in _CHROME_TAGS or attrib.get("role") in _CHROME_ROLES:
        return not _HOLDS_PAGE(element)
    # What only a name or a hidden flag marks is chrome when it holds no prose either.
    names = f"{attrib.get('class') or ''} {attrib.get('id') or ''}"
    chrome = ("hidden" in attrib or attrib.get("aria-hidden") == "true"
              or "display:none" in (attrib.get("style") or "").replace(" ", "").lower()
              or (len(names) > 1 and _chrome_name(names)))
    return chrome and not _HOLDS_PAGE(element) and not _HOLDS_PROSE(element)


@dataclass
class _Shape:
    """Counts over a part of the page's visible text, chrome left out."""

    words: int = 0
    link_words: int = 0
    long_blocks: int = 0  # blocks with LONG_BLOCK_WORDS words or more outside links
    teaser_blocks: int = 0  # the largest run of sibling teasers (same tag and class)


def _measure(element: HtmlElement, in_link: bool, shapes: tuple[_Shape, ...],
             mains: list[tuple[HtmlElement, _Shape]]) -> tuple[int, int, int, int, int]:
    """Count one element's visible text into ``shapes``: one pass over the tree, nothing copied.

    Returns the element's words, its words inside links, the words of its longest link, and
    for an inline element, the words outside links of its first line (-1 when no ``<br>`` or
    block inside it ends one) and of its last.  A line ends at a block's edge and at a
    ``<br>``: text set with ``<br>``s in one ``<span>`` is as many paragraphs.  A ``<main>``
    (or ``role=main``) gets a shape of its own, added to ``mains``.
    """
    is_link = element.tag == "a" and not in_link
    in_link = in_link or is_link
    words = _count_words(element.text)
    link_words = words if in_link else 0
    line = words - link_words  # the words outside links of the line being read
    first = -1  # the words of this element's first line, once a break has ended it
    long_lines = 0
    longest = 0
    teasers: dict[tuple[str, str | None], int] = {}
    for child in element:
        tag = child.tag
        if isinstance(tag, str) and tag not in _NOT_TEXT and not _is_chrome(child):
            if tag == "main" or child.get("role") == "main":
                main = _Shape()
                n, n_link, n_longest, c_first, c_last = _measure(child, in_link, (*shapes, main), mains)
                main.words, main.link_words = n, n_link
                mains.append((child, main))
            else:
                n, n_link, n_longest, c_first, c_last = _measure(child, in_link, shapes, mains)
            words += n
            link_words += n_link
            longest = max(longest, n_longest)
            if tag in _BLOCK_TAGS or c_first >= 0:  # the line ends here: at a block, or at a break inside
                line += c_first if c_first > 0 else 0
                if first < 0:
                    first = line
                elif line >= LONG_BLOCK_WORDS:
                    long_lines += 1
                line = c_last
            else:
                line += c_last
            if n <= TEASER_MAX_WORDS and n_longest >= TEASER_LINK_WORDS:
                key = (tag, child.get("class"))
                teasers[key] = teasers.get(key, 0) + 1
        tail = _count_words(child.tail)
        words += tail
        if in_link:
            link_words += tail
        else:
            line += tail
    if element.tag in _BLOCK_TAGS:  # a block's first and last lines end with it
        long_lines += (first >= LONG_BLOCK_WORDS) + (line >= LONG_BLOCK_WORDS)
        first, line = -1, 0
    run = max(teasers.values(), default=0)
    for shape in shapes:
        shape.long_blocks += long_lines
        shape.teaser_blocks = max(shape.teaser_blocks, run)
    return words, link_words, words if is_link else longest, first, line


def _main_content(tree: HtmlElement) -> tuple[HtmlElement, _Shape]:
    """The page's main content and its shape: the ``<main>`` element, when it holds a third of
    the page's text or more, else the ``<body>``; chrome left out either way."""
    body = tree.find(".//body")
    if body is None:
        body = tree
    whole = _Shape()
    mains: list[tuple[HtmlElement, _Shape]] = []
    try:
        whole.words, whole.link_words, *_ = _measure(body, False, (whole,), mains)
    except RecursionError:  # a tree nested deeper than Python's stack: no shape to judge by
        return body, _Shape()
    if mains:
        element, main = max(mains, key=lambda pair: pair[1].words)
        if main.words * 3 >= whole.words:
            return element, main
    return body, whole


@dataclass(frozen=True)
class PageSignals:
    """What the page-type rules read: the page's own statements and the shape of its main content."""

    article_objects: int = 0  # JSON-LD objects of an article type (NewsArticle, BlogPosting ...)
    product_objects: int = 0  # JSON-LD Product / ProductGroup objects
    listing_object: bool = False  # JSON-LD CollectionPage, SearchResultsPage or ItemList
    other_object: bool = False  # JSON-LD of a page that is neither (QAPage, DiscussionForumPosting, Event ...)
    og_type: str | None = None
    dated: bool = False  # its <meta> states when it was published (article:published_time ...)
    article_headline: bool = False  # its one <h1> is inside an <article> element (not a list of them)
    words: int = 0  # of the main content's visible text
    link_words: int = 0
    long_blocks: int = 0  # paragraphs: blocks of LONG_BLOCK_WORDS words or more outside links
    teaser_blocks: int = 0  # the largest run of sibling blocks, each a headline link and a line or two

    @property
    def link_density(self) -> float:
        return self.link_words / self.words if self.words else 0.0


def _article_headline(tree: HtmlElement) -> bool:
    h1s = tree.findall(".//body//h1")
    if len(h1s) != 1:
        return False
    article = next((a for a in h1s[0].iterancestors() if a.tag == "article"), None)
    return article is not None and article.find(".//article") is None


def read_page_signals(tree: HtmlElement, hints: StructuredHints, ld_objects: list[dict[str, Any]],
                      shape: _Shape) -> PageSignals:
    kinds = [_schema_types(obj) for obj in ld_objects]
    return PageSignals(
        article_objects=sum(1 for k in kinds if k & _ARTICLE_SCHEMA),
        product_objects=sum(1 for k in kinds if k & _PRODUCT_SCHEMA),
        listing_object=any(k & _LISTING_SCHEMA for k in kinds),
        other_object=any(k & _OTHER_SCHEMA for k in kinds),
        og_type=hints.og_type, dated=hints.meta_published is not None,
        article_headline=_article_headline(tree),
        words=shape.words, link_words=shape.link_words, long_blocks=shape.long_blocks,
        teaser_blocks=shape.teaser_blocks)


def classify_page(signals: PageSignals) -> str:
    """``"article"``, ``"listing"`` or ``"other"``, by these rules, the first that applies:

    1. The page says twice that it is an article (two of: og:type article, one JSON-LD
       article object, a published date in its <meta>): article.
    2. JSON-LD for a page of another kind (a forum thread, a Q&A page, a profile, an event,
       an application), and none for an article: other.
    3. The main content is mostly links (half of its words or more), or a run of six or more
       sibling teasers (a headline link of three words or more, at most 80 words each) with
       hardly any prose (fewer than three paragraphs): listing.
    4. A product (og:type product or profile, or one JSON-LD Product) and no article: other.
    5. Prose, five paragraphs of 30 words or more with few links (under a quarter of the
       words), when the page says it is an article (one of the statements of rule 1, or its
       one <h1> inside an <article> element) or is long (ten such paragraphs): article.
    6. JSON-LD for a collection, search results or an item list, or for several products,
       or several articles when nothing else says the page is one, and little prose (fewer
       than five paragraphs): listing.
    7. The page says it is an article and has a paragraph of prose, or almost no text of
       its own to judge by (fewer than 50 words: a page its scripts fill): article.
    8. Anything else: other.
    """
    s = signals
    statements = (s.og_type == "article") + (s.article_objects == 1) + s.dated
    said_article = statements > 0 or s.article_headline
    if statements >= 2:
        return "article"
    if s.other_object and not s.article_objects:
        return "other"
    if (s.words >= 20 and s.link_density >= 0.5) or (s.teaser_blocks >= 6 and s.long_blocks < 3):
        return "listing"
    if (s.product_objects == 1 or s.og_type in _OTHER_OG_TYPES) and not s.article_objects:
        return "other"
    if s.long_blocks >= 5 and s.link_density < 0.25 and (said_article or s.long_blocks >= 10):
        return "article"
    several = (s.article_objects >= 2 and not said_article) or s.product_objects >= 2
    if (s.listing_object or several) and s.long_blocks < 5:
        return "listing"
    if said_article and (s.long_blocks >= 1 or s.words < 50):
        return "article"
    return "other"


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
            own = not _schema_types(obj) & item_kinds or (page_type != "listing" and items == 1)
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


# -- the text of a listing ------------------------------------------------------------
def _text_blocks(element: HtmlElement) -> list[tuple[str, str]]:
    """``(tag, line)`` for each line of text, a line ending at every block boundary."""
    blocks: list[tuple[str, str]] = []
    parts: list[str] = []

    def flush(tag: str) -> None:
        line = " ".join("".join(parts).split())
        parts.clear()
        if line and not (blocks and blocks[-1][1] == line):  # an image link's alt and its headline
            blocks.append((tag, line))

    def walk(node: HtmlElement, outer: str) -> None:
        is_block = node.tag in _BLOCK_TAGS
        if is_block:
            flush(outer)
        here = node.tag if is_block else outer
        parts.append(node.text or "")
        for child in node:
            walk(child, here)
            parts.append(child.tail or "")
        if is_block:
            flush(here)

    walk(element, "div")
    flush("div")
    return blocks


def listing_text(region: HtmlElement, min_size: int = 0) -> tuple[str, str] | None:
    """The text and markdown of a listing: its main content, chrome left out.

    That is the listing's heading and introduction, then each item as the page shows it:
    headline, teaser, byline and date lines; without the site's navigation, header,
    footer, sidebars, forms and pagination.  ``None`` when that is shorter than
    ``min_size`` characters (a list its scripts fill): the caller falls back to trafilatura.
    """
    root = deepcopy(region)
    etree.strip_elements(root, *_NOT_TEXT, etree.Comment, etree.ProcessingInstruction, with_tail=False)
    stack = list(root)
    while stack:
        element = stack.pop()
        if _is_chrome(element):
            element.drop_tree()  # its tail stays: text after it belongs to its parent
        else:
            stack.extend(element)
    try:
        blocks = _text_blocks(root)
    except RecursionError:
        return None
    text = "\n".join(line for _tag, line in blocks)
    if not text or len(text) < min_size:
        return None
    # Markdown: a blank line between blocks (a single newline would join them into one
    # paragraph), list items one under another.
    markdown = ""
    previous = None
    for tag, line in blocks:
        if tag in ("h1", "h2", "h3", "h4", "h5", "h6"):
            line = "#" * int(tag[1]) + " " + line
        elif tag == "li":
            line = "- " + line
        markdown += ("" if previous is None else "\n" if tag == previous == "li" else "\n\n") + line
        previous = tag
    return text, markdown


DEFAULT_OPTIONS = ExtractionOptions()


def extract_page(html: str | bytes, url: str, options: ExtractionOptions = DEFAULT_OPTIONS, *,
                 content_language: str | None = None) -> Article | None:
    """Extract the article of one page; ``None`` when the input is not parseable HTML.

    An Article whose ``text`` is ``None`` means the page parsed but held no main text.

    The page's type (:func:`classify_page`) decides what may be found by searching the page.
    An article gets trafilatura's and htmldate's finds: its date, bylines, category and tag
    links.  A listing or another page gets only what it states about itself
    (:func:`read_own_statements`), because on a section front the dates, bylines and tags
    in the page are those of the articles it links.  A listing's text is its main content,
    chrome left out (:func:`listing_text`): trafilatura keeps prose and drops the
    headline links that are a listing's content.
    """
    tree = load_html(html)
    if tree is None:
        return None
    ld_objects = _json_ld_objects(tree)
    hints = read_structured_hints(tree, ld_objects)
    region, shape = _main_content(tree)
    page_type = classify_page(read_page_signals(tree, hints, ld_objects, shape))
    is_article = page_type == "article"
    metadata = read_page_metadata(tree, url, article=is_article)
    if is_article and not metadata.author:
        # The author markup, read only when the structured data names nobody: the first
        # byline is trafilatura's pick, the marked-up names are the fallback and give the
        # names' own spelling.
        byline = find_byline(tree)
        metadata.author = normalize_authors(None, byline) if byline else None
        hints = replace(hints, bylines=(*read_author_markup(tree), *([byline] if byline else [])))
    listing = listing_text(region, options.min_extracted_size) if page_type == "listing" else None
    text: str | None
    markdown: str | None
    if listing is not None:
        text, markdown = listing
    else:
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
    # Issue 18: the metadata rankers choose the title, authors and date among the page's candidates.
    # Imported here: scraper.extract.metadata reads this module's helpers.
    from scraper.extract.metadata import choose_metadata

    return choose_metadata(tree, url, Article(
        page_type=page_type,
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
    ), hints=hints, ld_objects=ld_objects)
