"""Title, authors and published date chosen among the page's candidates by learned rankers.

Pure: lxml, numpy, htmldate and :mod:`scraper.extract.model`.  A page states its title, its
authors and its date in several places (JSON-LD, Open Graph, ``<title>``, ``<h1>``, bylines,
``<time>``, the URL), and they disagree: a ``<title>`` carries the site's name, a sidebar
has bylines of other articles, a teaser link has a ``<time>``.  :func:`candidates` lists
every value a place gives (one candidate per distinct value, with every place that gives it),
:func:`features` describes each by general properties only (which kinds of place give it, how
many agree, its length, where it sits in the page, whether it is inside a link), never by a
site or a page; a LightGBM binary model per field (``scraper/extract/models/{title,author,date}.json``,
trained by :mod:`scraper.extract.train.metadata` on the development annotations) scores
each candidate, and the best one wins.  ``"nobody"`` and ``"none"`` are candidates too: a
page may name no author or date.

The current pick (``extract_page``'s rules) is one of the candidates, so the ranker learns
when to keep it.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any

import numpy as np
from lxml import etree
from lxml.html import HtmlElement

from scraper.article import Article
from scraper.extract.bylines import MAX_BYLINE_CHARS, _excluded
from scraper.extract.model import TreeEnsemble, load_model
from scraper.extract.page import (
    _ARTICLE_SCHEMA,
    _FOLD,
    _MODIFIED_META,
    _PUBLISHED_META,
    _TITLE_SEPARATOR,
    StructuredHints,
    _json_ld_objects,
    _schema_types,
    _squash,
    clean_authors,
    clean_field,
    clean_title,
    normalise_date,
    read_structured_hints,
    site_matcher,
    split_authors,
)

FIELDS = ("title", "author", "date")

# -- the places a candidate comes from (one feature each) -------------------------------------------
TITLE_SOURCES = ("pick", "og", "twitter", "ld_headline", "ld_name", "itemprop", "document", "document_part",
                 "document_cut", "document_clean", "og_part", "h1", "h1_part", "h2")
AUTHOR_SOURCES = ("pick", "ld", "ld_article", "meta", "markup", "markup_all", "rel_author",
                  "itemprop", "nobody")
# Author markup, one XPath (lxml runs it in C): rel=author, itemprop=author, and elements whose class or
# id says author or byline; their text is read only for the first few.
_AUTHOR_ELEMENTS = etree.XPath(
    "//body//*[contains(@class, 'uthor') or contains(@class, 'yline') or contains(@id, 'uthor')"
    " or @rel='author' or contains(@itemprop, 'author')][not(self::script or self::style or self::meta)]")
_ITEMPROP_NAME = etree.XPath(".//*[@itemprop='name']")
_SPACED_TEXT = etree.XPath("normalize-space()")  # in C: a whole page's container is measured cheaply
MAX_AUTHOR_ELEMENTS = 8
DATE_SOURCES = ("pick", "ld_published", "ld_created", "ld_modified", "meta_published", "meta_modified", "meta_date",
                "time", "time_header", "url", "none")

_DATE_META = ("date", "dc.date", "dcterms.date", "dcterms.issued", "sailthru.date", "parsely-pub-date",
              "citation_publication_date", "citation_date", "publishdate", "publish_date", "article.published",
              "og:article:published_time", "datecreated", "created")
_AUTHOR_META = ("author", "article:author", "dc.creator", "dcterms.creator", "parsely-author", "sailthru.author",
                "citation_author", "byl", "twitter:creator")
_URL_DATE = re.compile(r"/((?:19|20)\d{2})[/_-]?(0[1-9]|1[0-2])[/_-]?(0[1-9]|[12]\d|3[01])(?=[/_.-]|$)")
_TRAILING = re.compile(r"[\s\W_]+$")
_WORD = re.compile(r"\w+")
MAX_TIMES = 12  # <time> elements looked at, in document order
MAX_H1 = 3


# -- candidates ------------------------------------------------------------------------------------------
@dataclass
class Candidate:
    """One distinct value for a field, with every place that gives it.

    ``value``: the title (one string), the author names, or the date (``YYYY-MM-DD``, and the
    page's full timestamp in ``full`` when a place gives one); ``()`` for "nobody" / "none".
    """

    value: tuple[str, ...]
    key: Any  # the folded value: candidates with one key are one candidate
    sources: set[str] = field(default_factory=set)
    position: float = -1.0  # where the first element giving it sits in the page (0 top, 1 end); -1: no element
    in_link: bool = False  # every element that gives it is inside a link
    in_header: bool = False  # an element giving it sits in the <header>/<article> around the page's <h1>
    in_aside: bool = False  # every element giving it sits in an <aside>, <nav>, <footer> or a sidebar/teaser box
    from_h1: float = 2.0  # the first element's distance from the page's first <h1>, in page lengths (signed)
    marked: str = ""  # "published" / "modified" when an element's itemprop or class says so
    full: str | None = None  # the date with its time, as the page gives it


@dataclass(frozen=True)
class PageView:
    """What every candidate's features read about the page, computed once."""

    tree: HtmlElement
    url: str
    article: Article
    hints: StructuredHints
    ld_objects: list[dict[str, Any]]
    metas: dict[str, list[str]]
    h1s: list[HtmlElement]
    last_line: int  # the source line of the page's last element: positions are relative to it
    article_objects: int  # JSON-LD objects of an article type


def fold_title(text: str) -> str:
    """Case, white space, typographic quotes and trailing punctuation aside (the benchmarks' rule, a little wider)."""
    return _TRAILING.sub("", " ".join(text.translate(_FOLD).casefold().split()))


def _name_key(name: str) -> str:
    return " ".join(_WORD.findall(name.translate(_FOLD).casefold()))


def fold_authors(names: Iterable[str]) -> frozenset[str]:
    return frozenset(key for key in (_name_key(n) for n in names) if key)


def _day(value: str | None) -> str | None:
    full = normalise_date(value) if value else None
    if full is None:
        return None
    day = full[:10]
    try:
        date.fromisoformat(day)
    except ValueError:
        return None
    return day if "1990-01-01" <= day <= "2100-01-01" else None


def _text(element: HtmlElement) -> str:
    return " ".join(" ".join(element.itertext()).split())


def _inside_link(element: HtmlElement) -> bool:
    return any(a.tag == "a" for a in element.iterancestors())


_ASIDE_TAGS = frozenset({"aside", "nav", "footer"})
_ASIDE_NAMES = re.compile(r"sidebar|related|teaser|widget|recommend|popular|more-|trending", re.IGNORECASE)


def _inside_aside(element: HtmlElement) -> bool:
    for node in element.iterancestors():
        if node.tag in _ASIDE_TAGS or _ASIDE_NAMES.search(f"{node.get('class') or ''} {node.get('id') or ''}"):
            return True
    return False


def _marked(element: HtmlElement) -> str:
    names = f"{element.get('itemprop') or ''} {element.get('class') or ''} {element.get('id') or ''}".lower()
    if "modif" in names or "updat" in names:
        return "modified"
    if "publish" in names or "created" in names or "pubdate" in names or "posted" in names:
        return "published"
    return ""


def read_view(tree: HtmlElement, url: str, article: Article, *, hints: StructuredHints | None = None,
              ld_objects: list[dict[str, Any]] | None = None) -> PageView:
    """``hints`` and ``ld_objects``: extract_page's, read already (its ``bylines`` are not used: only
    some pages have them)."""
    if ld_objects is None:
        ld_objects = _json_ld_objects(tree)
    metas: dict[str, list[str]] = {}
    for meta in tree.iterfind(".//meta"):
        key = (meta.get("property") or meta.get("name") or meta.get("itemprop") or "").lower()
        content = meta.get("content")
        if key and content and content.strip():
            metas.setdefault(key, []).append(content.strip())
    last = tree.xpath("(//*)[last()]")
    last_line = max(1, (last[0].sourceline or 1) if last else 1)
    return PageView(tree=tree, url=url, article=article, hints=hints or read_structured_hints(tree, ld_objects),
                    ld_objects=ld_objects, metas=metas, h1s=tree.findall(".//body//h1")[:MAX_H1],
                    last_line=last_line,
                    article_objects=sum(1 for obj in ld_objects if _schema_types(obj) & _ARTICLE_SCHEMA))


class _Pool:
    """Candidates by key, in the order first seen."""

    def __init__(self) -> None:
        self.by_key: dict[Any, Candidate] = {}

    def add(self, key: Any, value: tuple[str, ...], source: str, view: PageView,
            element: HtmlElement | None = None, *, in_header: bool = False, full: str | None = None) -> None:
        candidate = self.by_key.get(key)
        if candidate is None:
            candidate = self.by_key[key] = Candidate(value=value, key=key, in_link=element is not None,
                                                     in_aside=element is not None)
        candidate.sources.add(source)
        if element is not None:
            if candidate.position < 0 and element.sourceline:
                candidate.position = min(1.0, element.sourceline / view.last_line)
                if view.h1s and view.h1s[0].sourceline:
                    candidate.from_h1 = (element.sourceline - view.h1s[0].sourceline) / view.last_line
            candidate.in_link = candidate.in_link and _inside_link(element)
            candidate.in_aside = candidate.in_aside and _inside_aside(element)
            candidate.marked = candidate.marked or _marked(element)
        else:
            candidate.in_link = candidate.in_aside = False
        candidate.in_header = candidate.in_header or in_header
        if full and candidate.full is None:
            candidate.full = full

    def __iter__(self) -> Iterator[Candidate]:
        return iter(self.by_key.values())


def title_candidates(view: PageView) -> list[Candidate]:
    pool = _Pool()

    def add(text: str | None, source: str, element: HtmlElement | None = None) -> None:
        text = clean_field(text)
        if text and len(text) <= 400 and (key := fold_title(text)):
            pool.add(key, (text,), source, view, element)

    add(view.article.title, "pick")
    for text in view.metas.get("og:title", [])[:1]:
        add(text, "og")
        for part in _TITLE_SEPARATOR.split(text):
            add(part, "og_part")
    for text in view.metas.get("twitter:title", [])[:1]:
        add(text, "twitter")
    for obj in view.ld_objects:
        for name, source in (("headline", "ld_headline"), ("name", "ld_name")):
            if isinstance(obj.get(name), str) and (source == "ld_headline" or _schema_types(obj) & _ARTICLE_SCHEMA):
                add(obj[name], source)
    for element in view.tree.xpath("//body//*[@itemprop='headline'][1]"):
        add(_text(element), "itemprop", element)
    document = view.hints.document_title
    if document:
        add(document, "document")
        add(clean_title(document, view.url, view.hints), "document_clean")
        pieces = _TITLE_SEPARATOR.split(document)
        separators = _TITLE_SEPARATOR.findall(document)
        if len(pieces) > 1:
            for piece in pieces:
                add(piece, "document_part")
            # The title without its last or its first piece: "Headline: a subtitle | Site".
            add("".join(p + s for p, s in zip(pieces[:-2], separators[:-1], strict=False)) + pieces[-2],
                "document_cut")
            add("".join(p + s for p, s in zip(pieces[1:-1], separators[1:], strict=False)) + pieces[-1],
                "document_cut")
    for h1 in view.h1s:
        text = _text(h1)
        add(text, "h1", h1)
        parts = [" ".join(line.split()) for line in re.split(r"\s*\n\s*", "".join(h1.itertext()))]
        if len([p for p in parts if p]) > 1:
            for part in parts:
                add(part, "h1_part", h1)
    if not view.h1s:
        for h2 in view.tree.xpath("//body//h2[1]")[:1]:
            add(_text(h2), "h2", h2)
    return list(pool)


def _names(text: str | None, view: PageView) -> tuple[str, ...]:
    return tuple(clean_authors(split_authors(clean_field(text)), view.url, view.hints))


def author_candidates(view: PageView) -> list[Candidate]:
    pool = _Pool()

    def add(names: Iterable[str], source: str, element: HtmlElement | None = None) -> None:
        cleaned = tuple(clean_authors([n for n in names if n], view.url, view.hints))
        if cleaned and len(cleaned) <= 8:
            pool.add(fold_authors(cleaned), cleaned, source, view, element)

    add(view.article.authors, "pick")
    for obj in view.ld_objects if view.article.page_type == "article" else ():  # as for dates
        people = obj.get("author")
        found: list[str] = []
        for person in people if isinstance(people, list) else [people]:
            if isinstance(person, dict) and isinstance(person.get("name"), str):
                found.extend(split_authors(person["name"]))
            elif isinstance(person, str):
                found.extend(split_authors(person))
        add(found, "ld_article" if _schema_types(obj) & _ARTICLE_SCHEMA else "ld")
    for key in _AUTHOR_META:
        for text in view.metas.get(key, [])[:2]:
            if "://" not in text:
                add(_names(text, view), "meta")
    every: list[str] = []
    for element in itertools.islice(_AUTHOR_ELEMENTS(view.tree), MAX_AUTHOR_ELEMENTS):
        if any(_excluded(node) for node in element.iterancestors()):
            continue
        inner = _ITEMPROP_NAME(element) if "author" in (element.get("itemprop") or "") else []
        text = str(_SPACED_TEXT(inner[0] if inner else element))
        if not 2 < len(text) < MAX_BYLINE_CHARS:
            continue  # a whole section whose class says "author", or nothing to read
        names = _names(text, view)
        kind = ("rel_author" if element.get("rel") == "author" else
                "itemprop" if "author" in (element.get("itemprop") or "") else "markup")
        add(names, kind, element)
        every.extend(n for n in names if n not in every)
    add(every, "markup_all")
    pool.add(frozenset(), (), "nobody", view)
    return list(pool)


def _header_of_h1(view: PageView) -> HtmlElement | None:
    """The <header>, <hgroup> or <article> around the page's one <h1>: where its own date is."""
    if len(view.h1s) != 1:
        return None
    return next((a for a in view.h1s[0].iterancestors() if a.tag in ("header", "hgroup", "article")), None)


def date_candidates(view: PageView) -> list[Candidate]:
    pool = _Pool()

    def add(text: str | None, source: str, element: HtmlElement | None = None, *, in_header: bool = False) -> None:
        day = _day(text)
        if day:
            full = normalise_date(text)
            pool.add(day, (day,), source, view, element, in_header=in_header,
                     full=full if full and len(full) > 10 else None)

    add(view.article.published, "pick")
    article = view.article.page_type == "article"
    # A listing's or another page's JSON-LD dates are mostly its items' (extract_page's read_own_statements
    # picks the page's own): there the pick stands for them.
    for obj in view.ld_objects if article else ():
        for name, source in (("datePublished", "ld_published"), ("dateCreated", "ld_created"),
                             ("dateModified", "ld_modified")):
            if isinstance(obj.get(name), str):
                add(obj[name], source)
    for keys, source in ((_PUBLISHED_META, "meta_published"), (_MODIFIED_META, "meta_modified"),
                         (_DATE_META, "meta_date")):
        for key in keys:
            for text in view.metas.get(key, [])[:1]:
                add(text, source)
    header = _header_of_h1(view)
    for time in itertools.islice(view.tree.iterfind(".//body//time"), MAX_TIMES):
        if _inside_link(time) and _inside_aside(time):
            continue  # a teaser's date, in a sidebar or a related-stories box: 2 of 147 right on the dev pages
        near = header is not None and any(a is header for a in time.iterancestors())
        if not near and not article:
            continue  # on a listing or another page, the <time>s outside its header are its items' (see extract_page)
        value = time.get("datetime") or time.text
        add(value, "time_header" if near else "time", time, in_header=near)
    match = _URL_DATE.search(view.url)
    if match:
        add("-".join(match.groups()), "url")
    pool.add("", (), "none", view)
    return list(pool)


# -- features ------------------------------------------------------------------------------------------------
def _tokens(text: str | None) -> frozenset[str]:
    return frozenset(_WORD.findall(text.casefold())) if text else frozenset()


def _overlap(a: frozenset[str], b: frozenset[str]) -> float:
    return len(a & b) / len(a | b) if a and b else -1.0


def _page_features(view: PageView) -> list[float]:
    article = view.article
    return [float(article.page_type == "article"), float(article.page_type == "listing"),
            float(view.article_objects), float((view.metas.get("og:type") or [""])[0].lower() == "article"),
            float(len(view.h1s))]


PAGE_FEATURES = ("page_article", "page_listing", "ld_article_objects", "og_type_article", "h1_count")
COMMON = ("sources", "position", "in_link", "in_header", "in_aside", "from_h1")


def _common(candidate: Candidate, sources: tuple[str, ...]) -> list[float]:
    return [*(float(s in candidate.sources) for s in sources), float(len(candidate.sources)), candidate.position,
            float(candidate.in_link), float(candidate.in_header), float(candidate.in_aside), candidate.from_h1]


TITLE_FEATURES = (*(f"src_{s}" for s in TITLE_SOURCES), *COMMON, *PAGE_FEATURES, "chars", "words", "site_like",
                  "separators", "upper_share", "overlap_document", "overlap_h1", "overlap_og", "in_document",
                  "contains_h1", "in_h1", "candidates", "starts_document", "ends_document", "document_pieces",
                  "odd_characters", "longest_shared")


def title_features(view: PageView, candidates: list[Candidate]) -> list[list[float]]:
    site_like = site_matcher(view.url, view.hints)
    document = view.hints.document_title or ""
    h1 = view.hints.headings[0] if view.hints.headings else ""
    og = (view.metas.get("og:title") or [""])[0]
    tokens_document, tokens_h1, tokens_og = _tokens(document), _tokens(h1), _tokens(og)
    page = _page_features(view)
    folded_document = fold_title(document)
    pieces = float(len(_TITLE_SEPARATOR.split(document))) if document else 0.0
    # The longest candidate that another place gives too: a headline is stated twice, a label once.
    shared = max((len(c.value[0]) for c in candidates if len(c.sources) > 1), default=0)
    rows = []
    for candidate in candidates:
        text = candidate.value[0]
        folded = candidate.key
        tokens = _tokens(text)
        letters = [c for c in text if c.isalpha()]
        squashed = _squash(text)
        rows.append([*_common(candidate, TITLE_SOURCES), *page, float(len(text)), float(len(text.split())),
                     float(site_like(text)), float(len(_TITLE_SEPARATOR.findall(text))),
                     sum(c.isupper() for c in letters) / len(letters) if letters else -1.0,
                     _overlap(tokens, tokens_document), _overlap(tokens, tokens_h1), _overlap(tokens, tokens_og),
                     float(bool(squashed) and squashed in _squash(document)),
                     float(bool(h1) and _squash(h1) in squashed), float(bool(squashed) and squashed in _squash(h1)),
                     float(len(candidates)), float(bool(folded_document) and folded_document.startswith(folded)),
                     float(bool(folded_document) and folded_document.endswith(folded)), pieces,
                     float(sum(text.count(c) for c in "*{}[]<>_#")), float(len(text) == shared)])
    return rows


AUTHOR_FEATURES = (*(f"src_{s}" for s in AUTHOR_SOURCES), *COMMON, *PAGE_FEATURES, "names", "max_words",
                   "min_words", "chars", "site_like", "in_title", "upper_share", "agree_names", "candidates")


def author_features(view: PageView, candidates: list[Candidate]) -> list[list[float]]:
    site_like = site_matcher(view.url, view.hints)
    title = _squash(view.hints.document_title or "")
    # How many other candidates share a name with this one: a name several places give is likelier.
    page = _page_features(view)
    rows = []
    for candidate in candidates:
        names = candidate.value
        words = [len(n.split()) for n in names] or [0]
        letters = [c for n in names for c in n if c.isalpha()]
        shared = sum(1 for other in candidates if other is not candidate and other.key & candidate.key)
        rows.append([*_common(candidate, AUTHOR_SOURCES), *page, float(len(names)), float(max(words)),
                     float(min(words)), float(sum(len(n) for n in names)),
                     float(any(site_like(n) for n in names)),
                     float(any(_squash(n) and _squash(n) in title for n in names)),
                     sum(c.isupper() for c in letters) / len(letters) if letters else -1.0,
                     float(shared), float(len(candidates))])
    return rows


DATE_FEATURES = (*(f"src_{s}" for s in DATE_SOURCES), *COMMON, *PAGE_FEATURES, "marked_published",
                 "marked_modified", "has_time", "rank_oldest", "rank_newest", "days_to_oldest", "days_to_newest",
                 "days_to_url", "year", "candidates")


def date_features(view: PageView, candidates: list[Candidate]) -> list[list[float]]:
    days = sorted({c.key for c in candidates if c.key})
    ordinals = {d: date.fromisoformat(d).toordinal() for d in days}
    url_day = next((c.key for c in candidates if "url" in c.sources), None)
    page = _page_features(view)
    rows = []
    for candidate in candidates:
        day = candidate.key
        if day:
            here = ordinals[day]
            oldest, newest = here - ordinals[days[0]], ordinals[days[-1]] - here
            to_url = float(abs(here - ordinals[url_day])) if url_day else -1.0
            year = float(day[:4])
            rank_old, rank_new = float(days.index(day)), float(len(days) - 1 - days.index(day))
        else:
            oldest = newest = -1
            to_url, year, rank_old, rank_new = -1.0, -1.0, -1.0, -1.0
        rows.append([*_common(candidate, DATE_SOURCES), *page, float(candidate.marked == "published"),
                     float(candidate.marked == "modified"), float(candidate.full is not None), rank_old, rank_new,
                     float(oldest), float(newest), to_url, year, float(len(candidates))])
    return rows


GENERATORS = {"title": (title_candidates, title_features, TITLE_FEATURES),
              "author": (author_candidates, author_features, AUTHOR_FEATURES),
              "date": (date_candidates, date_features, DATE_FEATURES)}


def field_rows(view: PageView, name: str) -> tuple[list[Candidate], np.ndarray]:
    """The candidates for one field and their feature rows (candidates x features)."""
    generate, describe, names = GENERATORS[name]
    candidates = generate(view)
    rows = np.asarray(describe(view, candidates), dtype=np.float64).reshape(len(candidates), len(names))
    return candidates, rows


# -- choosing ----------------------------------------------------------------------------------------------------
def _model(name: str) -> TreeEnsemble:
    model = load_model(name)
    if model.feature_names != GENERATORS[name][2]:  # a model file older than this code: retrain, never guess
        raise ValueError(f"the {name} model's features are not the code's: run make train-extraction")
    return model


def best(model: TreeEnsemble, candidates: list[Candidate], rows: np.ndarray) -> Candidate:
    scores = model.raw_scores(rows)[:, 0]
    return candidates[int(np.argmax(scores))]  # the first of equal scores: the current pick comes first


def choose_metadata(tree: HtmlElement, url: str, article: Article, *, hints: StructuredHints | None = None,
                    ld_objects: list[dict[str, Any]] | None = None) -> Article:
    """``article`` with its title, authors and published date as the rankers choose them.

    ``hints`` and ``ld_objects``: what extract_page read already, to save reading it again.
    """
    view = read_view(tree, url, article, hints=hints, ld_objects=ld_objects)
    changes: dict[str, Any] = {}
    candidates, rows = field_rows(view, "title")
    if candidates:
        changes["title"] = best(_model("title"), candidates, rows).value[0]
    candidates, rows = field_rows(view, "author")
    changes["authors"] = list(best(_model("author"), candidates, rows).value)
    candidates, rows = field_rows(view, "date")
    chosen = best(_model("date"), candidates, rows)
    if not chosen.value:
        changes["published"] = None
    elif (article.published or "")[:10] == chosen.key:
        changes["published"] = article.published  # the pick's own form, with its time
    else:
        changes["published"] = chosen.full or chosen.key
    return replace(article, **changes)
