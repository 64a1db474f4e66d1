"""The page's kind, one of WCXB's seven (:data:`scraper.article.PAGE_TYPES`), by a learned model.

A gradient-boosted classifier (``scraper/extract/models/page-type.json``, trained by
:mod:`scraper.extract.train.pagetype` on the development splits only) reads features of three
sources, in the spirit of rs-trafilatura's page-type classifier:

- the URL: path tokens that name a kind (``/product/``, ``/forum/``, ``/docs/``, ``/tag/`` ...),
  its depth, numeric ids, dates, a query;
- what the page states: JSON-LD ``@type`` s (``@graph`` included), og:type, microdata itemtypes,
  the generator;
- the DOM's shape: element counts and shares, words, link density, paragraph lengths, the
  largest group of siblings sharing a tag and class (a listing's teasers, a shop's cards, a
  forum's posts), prices, class/id tokens and a few words in several languages ("add to
  cart", "reply", "table of contents").

Every feature is a count or a share, finite, and language-neutral where it can be: words are
matched in several languages, and most signals are markup.  The features are read in a few
passes that lxml runs in C (``iter``, XPath) and one Python loop over the elements.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import numpy as np
import numpy.typing as npt
from lxml.html import HtmlElement

from scraper.article import PAGE_TYPES
from scraper.extract.model import load_model

MODEL_NAME = "page-type"

# -- vocabularies: each group becomes one feature (a count) ----------------------------------
# Path tokens (a URL's path split at / - _ . and lower-cased) that name a kind of page.
_URL_GROUPS: dict[str, frozenset[str]] = {
    "product": frozenset({"product", "products", "p", "item", "items", "shop", "store", "dp", "sku", "buy",
                          "produkt", "produit", "producto", "prodotto", "artikel", "pd"}),
    "forum": frozenset({"forum", "forums", "thread", "threads", "topic", "topics", "t", "question", "questions",
                        "discussion", "discussions", "community", "board", "boards", "viewtopic", "showthread",
                        "comments", "r", "q", "answers", "posts", "members"}),
    "docs": frozenset({"docs", "doc", "documentation", "api", "reference", "guide", "guides", "manual", "help",
                       "kb", "wiki", "tutorial", "tutorials", "learn", "developer", "developers", "sdk", "man",
                       "latest", "stable", "en-us", "howto", "faq", "support", "library"}),
    "collection": frozenset({"category", "categories", "c", "collections", "collection", "cat", "department",
                             "brand", "brands", "catalog", "catalogue", "browse", "shop-all", "all", "kategorie",
                             "categorie", "categoria"}),
    "listing": frozenset({"tag", "tags", "search", "archive", "archives", "page", "list", "topics", "author",
                          "authors", "section", "index", "latest", "results", "events", "jobs"}),
    "article": frozenset({"blog", "news", "article", "articles", "post", "story", "stories", "press", "insights",
                          "magazine", "journal", "opinion", "review", "reviews", "html", "htm", "amp"}),
    "service": frozenset({"services", "service", "about", "contact", "pricing", "solutions", "features",
                          "company", "team", "careers", "plans", "consulting", "agency", "hire", "book",
                          "booking", "industries", "what-we-do", "us"}),
}
# JSON-LD @types and microdata itemtypes (lower case, IRIs shortened), grouped.
_SCHEMA_GROUPS: dict[str, frozenset[str]] = {
    "article": frozenset({"article", "newsarticle", "blogposting", "reportagenewsarticle", "analysisnewsarticle",
                          "opinionnewsarticle", "reviewnewsarticle", "scholarlyarticle", "report", "liveblogposting",
                          "backgroundnewsarticle", "socialmediaposting"}),
    "forum": frozenset({"discussionforumposting", "qapage", "question", "answer", "comment"}),
    "product": frozenset({"product", "productgroup", "offer", "aggregateoffer", "individualproduct",
                          "productmodel", "vehicle", "car", "book", "softwareapplication"}),
    "collection": frozenset({"collectionpage", "offercatalog", "searchresultspage", "itemlist"}),
    "docs": frozenset({"techarticle", "apireference", "howto", "faqpage", "softwaresourcecode", "course"}),
    "service": frozenset({"service", "localbusiness", "organization", "corporation", "professionalservice",
                          "contactpage", "aboutpage", "place", "event", "restaurant", "store", "hotel",
                          "medicalbusiness", "legalservice", "financialservice", "homeandconstructionbusiness"}),
    "page": frozenset({"webpage", "website", "breadcrumblist", "imageobject", "person", "searchaction"}),
    "review": frozenset({"review", "aggregaterating", "rating"}),
    "listitem": frozenset({"listitem"}),
}
# Class and id tokens (camelCase and kebab-case split), grouped.
_CLASS_GROUPS: dict[str, frozenset[str]] = {
    "post": frozenset({"post", "posts", "postbody", "entry", "message", "messages"}),
    "comment": frozenset({"comment", "comments", "reply", "replies", "respond", "answer", "answers"}),
    "thread": frozenset({"thread", "threads", "topic", "topics", "forum", "forums", "discussion", "bbcode",
                         "quote", "signature", "userinfo", "postbit", "vote", "votes", "upvote"}),
    "user": frozenset({"author", "user", "username", "avatar", "member", "profile", "poster", "byline"}),
    "product": frozenset({"product", "products", "sku", "variant", "variants", "swatch", "quantity", "qty",
                          "stock", "gallery", "shipping", "woocommerce", "shopify", "pdp"}),
    "price": frozenset({"price", "prices", "amount", "currency", "sale", "discount", "regular"}),
    "cart": frozenset({"cart", "basket", "checkout", "buy", "addtocart", "wishlist", "bag"}),
    "card": frozenset({"card", "cards", "tile", "tiles", "teaser", "teasers", "thumb", "thumbnail"}),
    "item": frozenset({"item", "items", "grid", "col", "row", "list", "listing", "results", "result"}),
    "docs": frozenset({"docs", "doc", "documentation", "toc", "api", "sphinx", "markdown", "highlight",
                       "syntax", "hljs", "language", "code", "admonition", "note", "warning", "headerlink",
                       "anchor", "prev", "next", "version", "rst", "md"}),
    "sidebar": frozenset({"sidebar", "aside", "widget", "widgets", "secondary"}),
    "nav": frozenset({"nav", "menu", "navbar", "navigation", "breadcrumb", "breadcrumbs", "dropdown"}),
    "paging": frozenset({"pagination", "pager", "paging", "page", "more", "load"}),
    "filter": frozenset({"filter", "filters", "facet", "facets", "sort", "sorting", "refine"}),
    "article": frozenset({"article", "story", "headline", "byline", "dateline", "published", "blog", "news"}),
    "service": frozenset({"hero", "cta", "banner", "service", "services", "feature", "features",
                          "testimonial", "testimonials", "pricing", "plan", "plans", "team", "contact", "section",
                          "btn", "button", "icon", "slider", "carousel"}),
    "review": frozenset({"rating", "ratings", "review", "reviews", "star", "stars"}),
    "tag": frozenset({"tag", "tags", "category", "categories", "label", "badge"}),
}
# Phrases in the page's lower-cased text (or its buttons), in several languages.  A word is
# looked up among the text's words; a phrase of several is counted as a substring when its first
# word is in the text; one in a script without spaces (Chinese, Japanese) when the text is not
# ASCII.  (A regex alternation of these cost 20 ms a page, a str.count of each 7 ms.)
_TEXT_PHRASES: dict[str, tuple[str, ...]] = {
    "cart": ("add to cart", "add to bag", "add to basket", "buy now", "in den warenkorb", "ajouter au panier",
             "añadir al carrito", "aggiungi al carrello", "in winkelwagen", "adicionar ao carrinho", "do koszyka",
             "lägg i varukorg", "в корзину", "カートに入れる", "加入购物车", "장바구니", "sepete ekle", "out of stock",
             "in stock", "auf lager", "en stock", "free shipping", "sku"),
    "reply": ("reply", "replies", "antworten", "répondre", "responder", "rispondi", "beantwoorden", "odpowiedz",
              "ответить", "回复", "返信", "답글", "quote", "zitieren", "citer", "citar", "joined", "posts",
              "member since", "registriert", "beiträge", "upvote", "thread"),
    "posted": ("posted", "wrote", "schrieb", "a écrit", "escribió", "ha scritto", "published", "veröffentlicht",
               "publié", "publicado", "pubblicato", "min read", "lesezeit", "updated"),
    "toc": ("table of contents", "on this page", "in this article", "inhaltsverzeichnis", "sommaire", "índice",
            "目录", "目次", "содержание", "parameters", "returns", "example", "deprecated", "syntax", "install"),
    "listing": ("read more", "weiterlesen", "lire la suite", "leer más", "leggi tutto", "lees meer", "show more",
                "load more", "next page", "results", "ergebnisse", "résultats", "resultados", "sort by", "filter",
                "items", "products"),
    "service": ("contact us", "get in touch", "book a", "book now", "free quote", "request a", "get started",
                "our services", "our team", "kontakt", "contactez", "contáctenos", "call us", "schedule",
                "pricing", "clients", "services"),
}
_SPACELESS = re.compile(r"[\u3040-\u30ff\u4e00-\u9fff]")
# A price: a currency sign before or after a digit, or a currency's code or name after one.
_PRICE = re.compile(r"[$€£¥₹₩₽]\s?\d|\d\s?(?:[€£₽₹円元]|(?:eur|usd|gbp|kr|sek|nok|dkk|zł|pln|chf|руб)\b)")
_DATE_IN_PATH = re.compile(r"/(?:19|20)\d\d(?:[/-](?:0?[1-9]|1[0-2]))?(?:[/-]|$)|\b(?:19|20)\d\d[01]\d[0-3]\d\b")
_NUMBER = re.compile(r"\d{3,}")
_PATH_SPLIT = re.compile(r"[/\-_.,;=+~]+")
# Class and id values to tokens: everything but letters to a space (camelCase stays one token).
_NOT_LETTERS = str.maketrans({c: " " for c in "-_0123456789:./[]()!@#%&*+=,;'\"<>?{}|~`^$\\"})
_GENERATORS: dict[str, tuple[str, ...]] = {
    "forum": ("discourse", "vbulletin", "xenforo", "phpbb", "invision", "mybb", "smf", "vanilla", "nodebb",
              "flarum", "discuz"),
    "docs": ("sphinx", "mkdocs", "docusaurus", "gitbook", "hugo", "jekyll", "docfx", "vitepress", "readthedocs",
             "mediawiki", "confluence", "antora", "javadoc", "doxygen"),
    "shop": ("shopify", "woocommerce", "magento", "prestashop", "shopware", "bigcommerce", "opencart"),
    "cms": ("wordpress", "drupal", "joomla", "wix", "squarespace", "webflow", "ghost", "typo3"),
}
_OG_TYPES = ("article", "product", "website", "profile", "book", "video")

# Element tags counted (each a count and a share of all elements).
_TAGS = ("article", "section", "form", "input", "button", "select", "textarea", "table", "tr", "pre", "code",
         "h1", "h2", "h3", "h4", "li", "ul", "ol", "dl", "time", "img", "nav", "aside", "a", "p", "blockquote",
         "header", "footer", "iframe", "video", "svg", "figure", "span", "div", "label", "option", "kbd", "dt",
         "main", "small", "strong", "em", "br", "hr", "picture", "source", "script", "meta", "link")
_SKIP_TEXT = ("script", "style", "noscript", "template", "svg")
_LONG_PARAGRAPH = 30  # words: a paragraph of prose, not a caption or a teaser's line


def _feature_names() -> tuple[str, ...]:
    names = [f"url_{g}" for g in _URL_GROUPS]
    names += [f"url_last_{g}" for g in _URL_GROUPS]
    names += ["url_depth", "url_last_length", "url_last_hyphens", "url_numeric", "url_date", "url_trailing_slash",
              "url_query", "url_query_page", "url_query_search", "url_extension", "url_root", "url_length"]
    names += [f"ld_{g}" for g in _SCHEMA_GROUPS]
    names += ["ld_objects", "ld_types", "ld_offers_price", "ld_article_body"]
    names += [f"og_{t}" for t in _OG_TYPES] + ["og_other", "og_missing", "meta_published", "meta_product",
                                                "meta_description_words"]
    names += [f"md_{g}" for g in _SCHEMA_GROUPS]
    names += ["itemprop_price", "itemprop_author", "itemprop_date", "itemprop_body", "itemprop_review",
              "itemprop_text", "itemprops"]
    names += [f"gen_{g}" for g in _GENERATORS]
    names += ["elements", "elements_per_word"]
    names += [f"n_{t}" for t in _TAGS] + [f"share_{t}" for t in _TAGS]
    names += [f"class_{g}" for g in _CLASS_GROUPS] + [f"class_share_{g}" for g in _CLASS_GROUPS]
    names += ["words", "link_words", "link_density", "paragraphs", "long_paragraphs", "paragraph_words_mean",
              "paragraph_words_max", "paragraph_words_median", "paragraph_word_share", "heading_words",
              "li_words_share", "table_words_share", "pre_words_share", "text_chars_per_word",
              "links", "links_per_word", "internal_link_share", "h1_words", "title_words", "headings_per_word"]
    names += [f"text_{g}" for g in _TEXT_PHRASES] + [f"text_per_kword_{g}" for g in _TEXT_PHRASES]
    names += ["prices", "prices_per_kword", "button_words_cart", "form_inputs_per_form"]
    names += ["group_size", "group_words_mean", "group_word_share", "group_link_density", "group_images",
              "group_prices", "group_has_heading", "group_is_li", "group_is_article",
              "wgroup_size", "wgroup_words_mean", "wgroup_word_share", "wgroup_link_density", "wgroup_prices",
              "wgroup_images", "groups_3plus", "time_in_groups"]
    return tuple(names)


PAGE_TYPE_FEATURES: tuple[str, ...] = _feature_names()
_INDEX = {name: i for i, name in enumerate(PAGE_TYPE_FEATURES)}


@dataclass(frozen=True)
class PageTypeGuess:
    """The model's pick, its probability, and every type's probability in PAGE_TYPES order."""

    page_type: str
    confidence: float
    probabilities: tuple[float, ...]


def classify_page_type(tree: HtmlElement, url: str, ld_objects: list[dict[str, Any]]) -> PageTypeGuess:
    """One of :data:`~scraper.article.PAGE_TYPES` for a parsed page, by the shipped model."""
    model = load_model(MODEL_NAME)
    if model.classes != PAGE_TYPES or model.feature_names != PAGE_TYPE_FEATURES:
        raise ValueError(f"model {MODEL_NAME!r} does not match this code's page types or features")
    probabilities = model.probabilities(page_type_features(tree, url, ld_objects)[None, :])[0]
    best = int(np.argmax(probabilities))
    return PageTypeGuess(page_type=PAGE_TYPES[best], confidence=float(probabilities[best]),
                         probabilities=tuple(float(p) for p in probabilities))


# -- the features ------------------------------------------------------------------------------
def page_type_features(tree: HtmlElement, url: str, ld_objects: list[dict[str, Any]]) -> npt.NDArray[np.float64]:
    """The values of :data:`PAGE_TYPE_FEATURES` for one page: finite, in that order."""
    values = np.zeros(len(PAGE_TYPE_FEATURES), dtype=np.float64)

    def put(name: str, value: float) -> None:
        values[_INDEX[name]] = value

    _url_features(url, put)
    _statement_features(tree, ld_objects, put)
    words, groups = _dom_features(tree, urlsplit(url).hostname or "", put)
    _group_features(groups, words, put)
    np.nan_to_num(values, copy=False, nan=0.0, posinf=0.0, neginf=0.0)
    return values


def _url_features(url: str, put: Any) -> None:
    parts = urlsplit(url)
    path = parts.path.lower()
    segments = [s for s in path.split("/") if s]
    tokens = [t for t in _PATH_SPLIT.split(path) if t]
    last = segments[-1] if segments else ""
    last_tokens = {t for t in _PATH_SPLIT.split(last) if t}
    for group, words in _URL_GROUPS.items():
        put(f"url_{group}", sum(1 for t in tokens if t in words) + sum(1 for s in segments if s in words))
        put(f"url_last_{group}", len(last_tokens & words))
    put("url_depth", len(segments))
    put("url_last_length", len(last))
    put("url_last_hyphens", last.count("-") + last.count("_"))
    put("url_numeric", len(_NUMBER.findall(path)))
    put("url_date", 1.0 if _DATE_IN_PATH.search(path) else 0.0)
    put("url_trailing_slash", 1.0 if path.endswith("/") and len(path) > 1 else 0.0)
    query = parts.query.lower()
    put("url_query", query.count("=") if query else 0.0)
    put("url_query_page", 1.0 if re.search(r"(?:^|&)(?:page|p|pg|start|offset)=", query) else 0.0)
    put("url_query_search", 1.0 if re.search(r"(?:^|&)(?:q|s|query|search|keyword|k)=", query) else 0.0)
    put("url_extension", 1.0 if re.search(r"\.(?:html?|php|aspx?|jsp|cfm)$", path) else 0.0)
    put("url_root", 1.0 if not segments else 0.0)
    put("url_length", len(parts.path) + len(parts.query))


def _schema_kinds(value: Any) -> Iterable[str]:
    for kind in value if isinstance(value, list) else [value]:
        if isinstance(kind, str):
            yield kind.rsplit("/", 1)[-1].rsplit("#", 1)[-1].lower()


def _group_counts(kinds: Iterable[str], groups: dict[str, frozenset[str]]) -> Counter[str]:
    counts: Counter[str] = Counter()
    for kind in kinds:
        for group, members in groups.items():
            if kind in members:
                counts[group] += 1
    return counts


def _statement_features(tree: HtmlElement, ld_objects: list[dict[str, Any]], put: Any) -> None:
    ld_kinds = [kind for obj in ld_objects for kind in _schema_kinds(obj.get("@type"))]
    # Nested objects (offers, itemListElement, mainEntity ...) count too: a Product's offers, a
    # QAPage's answers.  A bounded walk: a huge catalogue's JSON-LD must not cost seconds.
    nested: list[str] = []
    stack: list[Any] = [value for obj in ld_objects for key, value in obj.items() if key != "@graph"]
    has_price = has_body = 0
    steps = 0
    while stack and steps < 5000:
        steps += 1
        item = stack.pop()
        if isinstance(item, list):
            stack.extend(item)
        elif isinstance(item, dict):
            nested.extend(_schema_kinds(item.get("@type")))
            has_price |= "price" in item or "lowPrice" in item
            has_body |= "articleBody" in item or "text" in item
            stack.extend(item.values())
    counts = _group_counts([*ld_kinds, *nested], _SCHEMA_GROUPS)
    for group in _SCHEMA_GROUPS:
        put(f"ld_{group}", counts[group])
    put("ld_objects", len(ld_objects))
    put("ld_types", len(set(ld_kinds) | set(nested)))
    put("ld_offers_price", float(has_price))
    put("ld_article_body", float(has_body or any("articleBody" in obj for obj in ld_objects)))

    meta: dict[str, str] = {}
    for element in tree.iter("meta"):
        key = (element.get("property") or element.get("name") or "").lower()
        if key and key not in meta:
            meta[key] = (element.get("content") or "").lower()
    og_type = meta.get("og:type", "").strip()
    for kind in _OG_TYPES:
        put(f"og_{kind}", 1.0 if og_type.startswith(kind) else 0.0)
    put("og_other", 1.0 if og_type and not og_type.startswith(_OG_TYPES) else 0.0)
    put("og_missing", 0.0 if og_type else 1.0)
    put("meta_published", 1.0 if any(k in meta for k in ("article:published_time", "datepublished",
                                                          "pubdate", "publish-date", "date")) else 0.0)
    put("meta_product", float(sum(1 for k in meta if k.startswith(("product:", "og:price")))))
    put("meta_description_words", len(meta.get("description", "").split()))
    generator = meta.get("generator", "")
    for group, names in _GENERATORS.items():
        put(f"gen_{group}", 1.0 if any(name in generator for name in names) else 0.0)

    itemtypes = [kind for value in tree.xpath("//@itemtype") for kind in _schema_kinds(str(value).split())]
    md_counts = _group_counts(itemtypes, _SCHEMA_GROUPS)
    for group in _SCHEMA_GROUPS:
        put(f"md_{group}", md_counts[group])
    props = Counter(p for value in tree.xpath("//@itemprop") for p in str(value).lower().split())
    put("itemprop_price", props["price"] + props["lowprice"] + props["offers"])
    put("itemprop_author", props["author"] + props["creator"])
    put("itemprop_date", props["datepublished"] + props["datecreated"] + props["datemodified"])
    put("itemprop_body", props["articlebody"] + props["description"])
    put("itemprop_review", props["review"] + props["reviewrating"] + props["aggregaterating"])
    put("itemprop_text", props["text"] + props["suggestedanswer"] + props["acceptedanswer"] + props["comment"])
    put("itemprops", sum(props.values()))


def _words(texts: Iterable[Any]) -> int:
    return sum(len(str(text).split()) for text in texts)


def _count(text: str, words: Counter[str], phrases: tuple[str, ...], spaceless: bool) -> int:
    """How often ``phrases`` occur in ``text`` (lower case), whose words are ``words``;
    ``spaceless``: the text has Chinese or Japanese, written without spaces between words."""
    total = 0
    for phrase in phrases:
        parts = phrase.split(" ")
        if len(parts) > 1:
            if words[parts[0]] and words[parts[-1]]:  # cheap: most pages have neither word
                total += text.count(phrase)
        elif phrase in words:
            total += words[phrase]
        elif spaceless and not phrase.isascii():
            total += text.count(phrase)
    return total


def _words_of(text: str) -> tuple[Counter[str], bool]:
    # Words as split() leaves them: the interface's words ("Reply", "Add to cart") stand in
    # text nodes of their own, so punctuation seldom sticks to them.
    return Counter(text.split()), _SPACELESS.search(text) is not None


_SKIP_GROUP = frozenset({"script", "style", "option", "br", "meta", "link", "path", "source", "input", "td"})


def _dom_features(tree: HtmlElement, host: str, put: Any) -> tuple[int, list[list[HtmlElement]]]:
    """Counts of elements, class tokens, text, in one walk over the elements; returns the words of
    the visible text and the groups of three or more siblings sharing a tag and class."""
    tags: Counter[str] = Counter()
    texts: list[str] = []
    groups: list[list[HtmlElement]] = []
    for element in tree.iter():
        tag = element.tag
        if not isinstance(tag, str):  # a comment or processing instruction: only its tail is text
            if element.tail:
                texts.append(element.tail)
            continue
        tags[tag] += 1
        if element.text and tag not in _SKIP_TEXT:
            texts.append(element.text)
        if element.tail:
            texts.append(element.tail)
        if len(element) >= 3 and tag not in ("head", "select", "svg", "tr"):
            by_key: dict[tuple[str, str], list[HtmlElement]] = {}
            for child in element:
                child_tag = child.tag
                if isinstance(child_tag, str) and child_tag not in _SKIP_GROUP:
                    by_key.setdefault((child_tag, child.get("class") or ""), []).append(child)
            groups.extend(members for members in by_key.values() if len(members) >= 3)
    elements = max(1, sum(tags.values()))
    for tag in _TAGS:
        put(f"n_{tag}", tags[tag])
        put(f"share_{tag}", tags[tag] / elements)
    put("elements", elements)

    attributes = " ".join([*tree.xpath("//@class"), *tree.xpath("//@id")])  # no union: XPath would sort it
    class_tokens = Counter(attributes.lower().translate(_NOT_LETTERS).split())
    class_total = max(1, sum(class_tokens.values()))
    for group, members in _CLASS_GROUPS.items():
        count = sum(class_tokens[m] for m in members)
        put(f"class_{group}", count)
        put(f"class_share_{group}", count / class_total)

    body = tree.find("body") if tree.tag == "html" else tree
    if body is None:
        body = tree
    text = " ".join(texts)
    words = len(text.split())
    link_words = _words(body.xpath(".//a//text()"))
    heading_words = _words(body.xpath(".//h1//text() | .//h2//text() | .//h3//text() | .//h4//text()"))
    li_words = _words(body.xpath(".//li//text()"))
    table_words = _words(body.xpath(".//table//text()"))
    pre_words = _words(body.xpath(".//pre//text()"))
    per_word = 1.0 / max(1, words)
    put("words", words)
    put("link_words", link_words)
    put("link_density", min(1.0, link_words * per_word))
    put("heading_words", heading_words)
    put("li_words_share", min(1.0, li_words * per_word))
    put("table_words_share", min(1.0, table_words * per_word))
    put("pre_words_share", min(1.0, pre_words * per_word))
    put("text_chars_per_word", len(text) * per_word)
    put("elements_per_word", elements * per_word)
    put("headings_per_word", (tags["h1"] + tags["h2"] + tags["h3"] + tags["h4"]) * per_word)

    paragraphs = [len(p.text_content().split()) for p in body.iter("p")]
    paragraphs = [n for n in paragraphs if n]
    put("paragraphs", len(paragraphs))
    put("long_paragraphs", sum(1 for n in paragraphs if n >= _LONG_PARAGRAPH))
    put("paragraph_words_mean", sum(paragraphs) / len(paragraphs) if paragraphs else 0.0)
    put("paragraph_words_max", max(paragraphs, default=0))
    put("paragraph_words_median", float(np.median(paragraphs)) if paragraphs else 0.0)
    put("paragraph_word_share", min(1.0, sum(paragraphs) * per_word))

    hrefs = [str(h) for h in body.xpath(".//a/@href")]
    host = host.removeprefix("www.")
    internal = sum(1 for h in hrefs if h.startswith(("/", "#", "?")) or (host and host in h[:80])
                   or not h.startswith(("http:", "https:", "//")))
    put("links", len(hrefs))
    put("links_per_word", len(hrefs) * per_word)
    put("internal_link_share", internal / len(hrefs) if hrefs else 0.0)
    h1 = body.find(".//h1")
    put("h1_words", len(h1.text_content().split()) if h1 is not None else 0)
    title = tree.find(".//title")
    put("title_words", len((title.text or "").split()) if title is not None else 0)

    lowered = text.lower()
    lowered_words, spaceless = _words_of(lowered)
    kwords = max(1.0, words / 1000)
    for group, phrases in _TEXT_PHRASES.items():
        hits = _count(lowered, lowered_words, phrases, spaceless)
        put(f"text_{group}", hits)
        put(f"text_per_kword_{group}", hits / kwords)
    prices = len(_PRICE.findall(lowered))
    put("prices", prices)
    put("prices_per_kword", prices / kwords)
    buttons = " ".join(str(v) for v in body.xpath(
        ".//button//text() | .//input/@value | .//button/@name | .//input/@name | .//form/@action")).lower()
    button_words, button_spaceless = _words_of(buttons)
    put("button_words_cart", _count(buttons, button_words, (*_TEXT_PHRASES["cart"], "cart", "basket", "checkout"),
                                    button_spaceless))
    put("form_inputs_per_form", tags["input"] / tags["form"] if tags["form"] else 0.0)
    return words, groups


def _group_features(groups: list[list[HtmlElement]], words: int, put: Any) -> None:
    """The largest group of siblings that share a tag and class (count), and the wordiest group
    of three or more: a listing's teasers, a shop's cards, a forum's posts, a docs page's sections."""
    put("groups_3plus", len(groups))
    if not groups:
        return
    per_word = 1.0 / max(1, words)

    def stats(prefix: str, members: list[HtmlElement]) -> None:
        sample = members[:60]  # bounded: a 2,000-row table must not cost its full walk
        scale = len(members) / len(sample)
        texts = [m.text_content() for m in sample]
        total = sum(len(t.split()) for t in texts) * scale
        links = sum(_words(m.xpath(".//a//text()")) for m in sample) * scale
        put(f"{prefix}_size", len(members))
        put(f"{prefix}_words_mean", total / len(members))
        put(f"{prefix}_word_share", min(1.0, total * per_word))
        put(f"{prefix}_link_density", min(1.0, links / total) if total else 0.0)
        put(f"{prefix}_images", sum(len(m.xpath(".//img")) for m in sample) / len(sample))
        put(f"{prefix}_prices", sum(1 for t in texts if _PRICE.search(t.lower())) / len(sample))

    largest = max(groups, key=len)  # the first of the largest, in document order
    stats("group", largest)
    sample = largest[:60]
    put("group_has_heading", sum(1 for m in sample if m.xpath("boolean(.//h2 | .//h3 | .//h4)")) / len(sample))
    put("group_is_li", 1.0 if largest[0].tag == "li" else 0.0)
    put("group_is_article", 1.0 if largest[0].tag == "article" else 0.0)
    put("time_in_groups", sum(len(m.xpath(".//time")) for m in sample))

    # The wordiest group by the words it holds, each group sampled: text_content over every
    # group is the costly part (nested groups read the same text again).
    def group_words(members: list[HtmlElement]) -> float:
        sample = members[:10]
        return sum(len(m.text_content().split()) for m in sample) * len(members) / len(sample)

    stats("wgroup", max(groups, key=group_words))
