"""A page as text blocks, each described by numbers a model can weigh: the block model's inputs.

A *block* is a run of visible text between two block-level boundaries (a paragraph, a list item,
a heading, a table cell, a post's body): the unit the block model keeps or drops.  Its features
describe the text itself (words, links, punctuation), where it sits (its element, the ancestors'
tags, roles and class/id tokens, depth, position), its neighbours and its container (how much
text and how many links are around it, how often its shape repeats: a listing's cards, a forum's
posts), what trafilatura kept (the share of its words in trafilatura's body), and the page's type
as the page-type model sees it.  Pure: lxml and numpy, no trafilatura.

Everything here is general: no feature names a site.  The vocabulary of class/id tokens is the
one web authors use everywhere (``content``, ``comment``, ``nav``, ``sidebar``, ``price`` ...).
"""

from __future__ import annotations

import functools
import math
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
from lxml.html import HtmlElement

from scraper.article import PAGE_TYPES

# Never visible text.
SKIPPED_TAGS = frozenset({"script", "style", "template", "svg", "iframe", "object", "embed", "canvas",
                          "video", "audio", "map", "head", "title", "meta", "link", "select", "option", "textarea",
                          "input", "math"})
# Not skipped: <button>.  An unclosed one in a menu swallows the rest of the page in lxml's
# tree (browsers close it); its text is kept, and the blocks inside it are marked in_button.
BLOCK_TAGS = frozenset({"p", "div", "section", "article", "main", "header", "footer", "aside", "nav", "li", "ul",
                        "ol", "dl", "dt", "dd", "h1", "h2", "h3", "h4", "h5", "h6", "table", "tr", "td", "th",
                        "thead", "tbody", "tfoot", "caption", "blockquote", "pre", "figure", "figcaption", "form",
                        "fieldset", "address", "details", "summary", "hr", "body", "html", "center", "menu",
                        "hgroup", "legend", "br"})
HEADINGS = frozenset({"h1", "h2", "h3", "h4", "h5", "h6"})

OWN_TAGS = ("p", "div", "li", "td", "th", "h1", "h2", "h3", "h456", "dt", "dd", "blockquote", "pre", "figcaption",
            "section", "article", "span")
ANCESTOR_TAGS = ("article", "main", "nav", "header", "footer", "aside", "form", "table", "ul", "ol", "a",
                 "blockquote", "figure", "label", "details", "section", "li", "dl", "noscript", "button")
ROLES = ("main", "navigation", "complementary", "banner", "contentinfo", "article", "dialog", "menu", "search")
CLASS_TOKENS = (
    "content", "article", "post", "entry", "body", "text", "story", "main", "blog", "comment", "reply", "nav",
    "menu", "footer", "header", "sidebar", "widget", "share", "social", "related", "recommend", "ad", "ads",
    "advert", "sponsor", "promo", "banner", "breadcrumb", "cookie", "consent", "newsletter", "subscribe", "login",
    "meta", "byline", "author", "date", "time", "tag", "category", "caption", "product", "price", "description",
    "review", "rating", "forum", "thread", "message", "topic", "card", "item", "list", "grid", "title",
    "heading", "hidden", "modal", "popup", "toc", "doc", "summary", "teaser", "excerpt", "more", "pagination",
    "search", "form", "button", "btn", "icon", "logo", "copyright", "legal", "prose", "markdown", "col", "row",
    "container", "wrapper", "section", "page", "site", "detail", "info", "answer", "question", "signature",
    "user", "avatar", "quote", "footnote", "note", "spec", "feature", "tab", "accordion", "faq", "hero",
    "media", "image", "img", "video", "gallery", "slider", "carousel", "skip", "sr", "visually", "print",
)
_TOKEN_INDEX = {token: i for i, token in enumerate(CLASS_TOKENS)}
_NAME_SPLIT = re.compile(r"[^a-z0-9]+|(?<=[a-z])(?=[A-Z])")
_CAMEL = re.compile(r"(?<=[a-z])(?=[A-Z])")
_WORD = re.compile(r"\w+")
_PUNCT = re.compile(r"[.,;:!?…。、，！？]")
_SENTENCE_END = re.compile(r"[.!?。！？](?:\s|$)")
_HIDDEN_STYLE = re.compile(r"display\s*:\s*none|visibility\s*:\s*hidden", re.IGNORECASE)
_DATE_LIKE = re.compile(r"\b(?:\d{1,4}[-/.]\d{1,2}[-/.]\d{1,4}|\d{1,2}:\d{2})\b")
_INLINE_MARKS = {"b": "**", "strong": "**", "i": "*", "em": "*", "code": "`"}
_EMPTY_MARK = re.compile(r"\*\*\s*\*\*|`\s*`")  # an empty <b></b> or <code></code>
CLASS_DEPTH = 6  # how many ancestors' class/id tokens count (the nearest weigh most)


@dataclass(eq=False)
class Block:
    """One block: its text, and where it came from."""

    text: str
    tag: str  # the element that holds it (a heading, a paragraph, a list item, a cell ...)
    element: HtmlElement
    link_chars: int = 0
    index: int = 0
    words: int = 0
    tokens: list[str] = field(default_factory=list)
    markdown: str = ""  # the text with markdown's marks for emphasis and code
    shape: str = ""  # its element's _signature: blocks shaped alike share it


def _words(text: str) -> list[str]:
    return _WORD.findall(text.lower())


def segment(root: HtmlElement) -> list[Block]:
    """The visible text of ``root`` as blocks, in document order (raises RecursionError on absurd depth)."""
    blocks: list[Block] = []
    parts: list[str] = []
    marked: list[str] = []  # the same text with markdown's emphasis and code marks
    link_chars = [0]

    def flush(owner: HtmlElement) -> None:
        text = " ".join("".join(parts).split())
        markdown = _EMPTY_MARK.sub("", " ".join("".join(marked).split()))
        parts.clear()
        marked.clear()
        chars, link_chars[0] = link_chars[0], 0
        if text:
            tag = owner.tag if isinstance(owner.tag, str) else "div"
            blocks.append(Block(text=text, tag=tag, element=owner, link_chars=min(chars, len(text)),
                                markdown=markdown or text))

    def add(text: str, linked: bool) -> None:
        parts.append(text)
        marked.append(text)
        if linked:
            link_chars[0] += len(text.strip())

    def walk(node: HtmlElement, owner: HtmlElement, in_link: bool) -> None:
        tag = node.tag
        if not isinstance(tag, str):  # a comment or processing instruction: only its tail is text
            return
        if tag in SKIPPED_TAGS:
            return
        # Hidden text (a closed tab, a collapsed menu, a <noscript> fallback that holds a whole
        # forum thread) is kept as blocks: the features say it is hidden, the model decides.
        is_block = tag in BLOCK_TAGS or tag == "noscript" or _hidden(node)
        if is_block:
            flush(owner)
            owner = node
        linked = in_link or tag == "a"
        mark = None if is_block else _INLINE_MARKS.get(tag)
        if mark:
            marked.append(mark)
        if node.text:
            add(node.text, linked)
        for child in node:
            walk(child, owner, linked)
            if child.tail:
                add(child.tail, linked)
        if mark:
            marked.append(mark)
        if is_block:
            flush(owner)

    body = root.find(".//body")
    start = body if body is not None else root
    walk(start, start, False)
    flush(start)
    for index, block in enumerate(blocks):
        block.index = index
        block.tokens = _words(block.text)
        block.words = len(block.tokens)
        block.shape = _signature(block.element)
    return blocks


def _hidden(element: HtmlElement) -> bool:
    style = element.get("style")
    return (element.get("hidden") is not None or element.get("aria-hidden") == "true"
            or bool(style and _HIDDEN_STYLE.search(style)))


def _tokens_of_names(names: str) -> set[str]:
    if not names.strip():
        return set()
    names = _CAMEL.sub(" ", names).lower()
    return {token for token in _NAME_SPLIT.split(names) if token}


@functools.lru_cache(maxsize=8192)
def _name_slots(names: str) -> tuple[int, ...]:
    """The CLASS_TOKENS slots of an element's ``class`` and ``id`` (as one string): a page repeats a few
    hundred class strings over thousands of elements, so each is split and looked up once."""
    return tuple(_token_slots(_tokens_of_names(names)))


def _token_slots(tokens: set[str]) -> list[int]:
    slots = []
    for token in tokens:
        slot = _TOKEN_INDEX.get(token)
        if slot is None and len(token) > 4:
            # "comments", "navbar", "sidebar-left": a known token as the start of a longer one
            for size in (7, 6, 5, 4):
                slot = _TOKEN_INDEX.get(token[:size])
                if slot is not None and len(token[:size]) > 3:
                    break
                slot = None
        if slot is not None:
            slots.append(slot)
    return slots


def _signature(element: HtmlElement, levels: int = 3) -> str:
    """The tags and first class names of an element and its nearest ancestors: blocks shaped alike
    (a listing's cards, a thread's posts) share it."""
    parts = []
    node: HtmlElement | None = element
    for _ in range(levels):
        if node is None or not isinstance(node.tag, str):
            break
        cls = (node.get("class") or "").split()
        parts.append(f"{node.tag}.{cls[0] if cls else ''}")
        node = node.getparent()
    return "/".join(parts)


BASE_FEATURES = (
    "log_words", "log_chars", "link_share", "punct_per_char", "digit_share", "upper_share", "sentences_per_word",
    "mean_word_length", "date_like", "starts_upper", "ends_with_stop", "copyright", "pipe_share",
)
PAGE_FEATURES = ("page_log_words", "page_log_blocks", "page_link_share", "trafilatura_coverage",
                 *(f"page_type_{name}" for name in PAGE_TYPES))
CONTEXT_FEATURES = (
    "position", "char_position", "depth", "relative_depth", "after_h1", "blocks_from_h1", "is_heading",
    "prev_log_words", "prev_link_share", "next_log_words", "next_link_share", "prev_trafilatura", "next_trafilatura",
    "parent_log_words", "parent_link_share", "parent_blocks", "parent_page_share",
    "grand_log_words", "grand_link_share", "grand_page_share",
    "shape_count", "shape_page_share", "trafilatura_share", "trafilatura_contained", "window_trafilatura",
    "window_link_share", "inside_trafilatura_span", "blocks_to_trafilatura",
    "duplicates", "title_overlap", "words_of_largest",
)
FEATURE_NAMES: tuple[str, ...] = (
    *BASE_FEATURES, *PAGE_FEATURES, *CONTEXT_FEATURES,
    *(f"own_{tag}" for tag in OWN_TAGS),
    *(f"in_{tag}" for tag in ANCESTOR_TAGS),
    *(f"role_{role}" for role in ROLES),
    "hidden",
    *(f"class_{token}" for token in CLASS_TOKENS),
    *(f"own_class_{token}" for token in CLASS_TOKENS),
)
_COLUMN = {name: i for i, name in enumerate(FEATURE_NAMES)}


def _folded(text: str) -> str:
    return " ".join(_words(text))


@dataclass(frozen=True)
class BlockGroups:
    """Which blocks share a parent, a grandparent, a shape: the second stage averages over them."""

    parent: npt.NDArray[np.int64]
    grand: npt.NDArray[np.int64]
    great: npt.NDArray[np.int64]
    shape: npt.NDArray[np.int64]


def block_groups(blocks: Sequence[Block]) -> BlockGroups:
    ids: dict[object, int] = {}

    def group(key: object) -> int:
        return ids.setdefault(key, len(ids))

    parent, grand, great, shape = [], [], [], []
    for block in blocks:
        up = block.element.getparent()
        parent.append(group(("p", up if up is not None else block.element)))
        upper = up.getparent() if up is not None else None
        grand.append(group(("g", upper if upper is not None else up)))
        top = upper.getparent() if upper is not None else None
        great.append(group(("G", top if top is not None else upper)))
        shape.append(group(("s", block.shape)))
    return BlockGroups(*(np.array(ids, dtype=np.int64) for ids in (parent, grand, great, shape)))


SECOND_STAGE_FEATURES = ("first_stage", "prev_first_stage", "next_first_stage", "window2_first_stage",
                         "window5_first_stage", "parent_first_stage", "grand_first_stage", "shape_first_stage",
                         "page_mean_first_stage", "page_max_first_stage", "rank_first_stage",
                         "great_first_stage", "kept_share_first_stage")


def second_stage_features(first: npt.NDArray[np.float64], groups: BlockGroups,
                          words: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """The first stage's probabilities around each block: its neighbours', its containers' and its
    shape's (word-weighted means), and the page's.  Appended to :data:`FEATURE_NAMES` columns."""
    n = len(first)
    out = np.zeros((n, len(SECOND_STAGE_FEATURES)))
    if n == 0:
        return out
    out[:, 0] = first
    out[1:, 1] = first[:-1]
    out[:-1, 2] = first[1:]
    out[:, 3] = _window_mean(first, 2)
    out[:, 4] = _window_mean(first, 5)
    weight = np.maximum(words, 1.0)
    for column, ids in ((5, groups.parent), (6, groups.grand), (7, groups.shape)):
        sums = np.bincount(ids, weights=first * weight)
        totals = np.bincount(ids, weights=weight)  # every id in use has a total of 1 or more
        out[:, column] = sums[ids] / totals[ids]
    out[:, 8] = float(np.average(first, weights=weight))
    out[:, 9] = float(first.max())
    out[:, 10] = (np.argsort(np.argsort(-first)) / n) if n > 1 else 0.0
    sums = np.bincount(groups.great, weights=first * weight)
    totals = np.bincount(groups.great, weights=weight)
    out[:, 11] = sums[groups.great] / totals[groups.great]
    out[:, 12] = float(weight[first >= 0.5].sum() / weight.sum())  # the share of the page's words kept
    return out


_FLAG_COLUMNS = (*(f"in_{tag}" for tag in ANCESTOR_TAGS), *(f"role_{role}" for role in ROLES), "hidden")
_FLAG_INDEX = {name: i for i, name in enumerate(_FLAG_COLUMNS)}
_TAG_FLAG = {tag: _FLAG_INDEX[f"in_{tag}"] for tag in ANCESTOR_TAGS}  # a tag's bit, without a string per element
_ROLE_FLAG = {role: _FLAG_INDEX[f"role_{role}"] for role in ROLES}
_DIGIT = re.compile(r"\d")
_LETTER = re.compile(r"[^\W\d_]")
_UPPER = re.compile(r"[A-Z\u00C0-\u00DE\u0391-\u03A9\u0410-\u042F]")
CLASS_DECAY = 0.5  # an ancestor's class/id token weighs half its child's


class _ElementInfo:
    """What a block inherits from an element and its ancestors, worked out once per element."""

    __slots__ = ("classes", "depth", "flags", "own_classes")

    def __init__(self, depth: int, flags: int, classes: dict[int, float], own_classes: list[int]) -> None:
        self.depth = depth
        self.flags = flags  # bit i: _FLAG_COLUMNS[i] holds for the element itself or an ancestor
        self.classes = classes  # CLASS_TOKENS slot -> CLASS_DECAY ** distance to the nearest holder
        self.own_classes = own_classes


def _element_info(element: HtmlElement, cache: dict[HtmlElement, _ElementInfo]) -> _ElementInfo:
    chain = []
    node: HtmlElement | None = element
    while node is not None and node not in cache:
        chain.append(node)
        node = node.getparent()
    info = cache[node] if node is not None else None
    for current in reversed(chain):
        flags = info.flags if info is not None else 0
        tag = current.tag
        if isinstance(tag, str) and (slot := _TAG_FLAG.get(tag)) is not None:
            flags |= 1 << slot
        role = current.get("role")
        if role and (slot := _ROLE_FLAG.get(role)) is not None:
            flags |= 1 << slot
        if _hidden(current):
            flags |= 1 << _FLAG_INDEX["hidden"]
        own = list(_name_slots(f"{current.get('class') or ''} {current.get('id') or ''}"))
        classes = {slot: weight * CLASS_DECAY for slot, weight in info.classes.items()} if info is not None else {}
        for slot in own:
            classes[slot] = 1.0
        info = cache[current] = _ElementInfo(info.depth + 1 if info is not None else 1, flags, classes, own)
    assert info is not None
    return info


def _totals_under(blocks: Sequence[Block], cache: dict[HtmlElement, _ElementInfo]) -> dict[HtmlElement, list[float]]:
    """Per element: words, characters, link characters and blocks of every block inside it."""
    totals: dict[HtmlElement, list[float]] = {}
    by_depth: dict[int, list[HtmlElement]] = {}
    for block in blocks:
        element = block.element
        if element not in totals:
            totals[element] = [0.0, 0.0, 0.0, 0.0]
            by_depth.setdefault(cache[element].depth, []).append(element)
        total = totals[element]
        total[0] += block.words
        total[1] += len(block.text)
        total[2] += block.link_chars
        total[3] += 1
    for depth in range(max(by_depth, default=0), 1, -1):
        for element in by_depth.get(depth, ()):
            parent = element.getparent()
            if parent is None:
                continue
            if parent not in totals:
                totals[parent] = [0.0, 0.0, 0.0, 0.0]
                by_depth.setdefault(depth - 1, []).append(parent)
            into, add = totals[parent], totals[element]
            for k in range(4):
                into[k] += add[k]
    return totals


def page_title(root: HtmlElement) -> str:
    """The page's ``<title>`` and ``og:title``: what the page says it is about."""
    title = root.find(".//title")
    og = root.find(".//meta[@property='og:title']")
    return " ".join(t for t in ((title.text_content() if title is not None else ""),
                                (og.get("content") or "" if og is not None else "")) if t)


def block_features(blocks: Sequence[Block], trafilatura_text: str | None,
                   page_type_probabilities: Sequence[float] | None = None,
                   title: str | None = None) -> npt.NDArray[np.float64]:
    """One row of :data:`FEATURE_NAMES` per block (finite numbers); ``title``: :func:`page_title`."""
    n = len(blocks)
    rows = np.zeros((n, len(FEATURE_NAMES)))
    if n == 0:
        return rows
    # Text repeated on the page (an ad's disclaimer on every card, a menu twice), and the words of
    # its title and headings: a block that names what the page is about is more likely its content.
    folded_texts = [" ".join(b.tokens) for b in blocks]
    repeats = Counter(folded_texts)
    title_words = set(_words(title or "")) | {t for b in blocks if b.tag == "h1" for t in b.tokens}
    largest = max(b.words for b in blocks) or 1
    kept_counts = Counter(_words(trafilatura_text or ""))
    kept_folded = _folded(trafilatura_text or "")
    page_words = sum(b.words for b in blocks) or 1
    page_chars = sum(len(b.text) for b in blocks) or 1
    page_link_chars = sum(b.link_chars for b in blocks)

    # Page-wide columns, the same in every row.
    rows[:, _COLUMN["page_log_words"]] = math.log1p(page_words)
    rows[:, _COLUMN["page_log_blocks"]] = math.log1p(n)
    rows[:, _COLUMN["page_link_share"]] = page_link_chars / page_chars
    rows[:, _COLUMN["trafilatura_coverage"]] = sum(kept_counts.values()) / page_words
    for k, p in enumerate(page_type_probabilities or ()):
        rows[:, _COLUMN[f"page_type_{PAGE_TYPES[k]}"]] = p

    cache: dict[HtmlElement, _ElementInfo] = {}
    infos = [_element_info(block.element, cache) for block in blocks]
    totals = _totals_under(blocks, cache)
    max_depth = max(info.depth for info in infos) or 1
    shapes = [block.shape for block in blocks]
    shape_counts = Counter(shapes)
    shape_words: Counter[str] = Counter()
    for shape, block in zip(shapes, blocks, strict=True):
        shape_words[shape] += block.words
    first_h1 = next((b.index for b in blocks if b.tag == "h1"), None)

    trafilatura_share = np.zeros(n)
    link_share = np.zeros(n)
    log_words = np.zeros(n)
    flag_start = _COLUMN[_FLAG_COLUMNS[0]]
    class_start = _COLUMN[f"class_{CLASS_TOKENS[0]}"]
    own_class_start = _COLUMN[f"own_class_{CLASS_TOKENS[0]}"]
    tag_bits = (1 << len(ANCESTOR_TAGS)) - 1  # the in_<tag> flags: an ancestor's, not the element's own
    parent_columns = (_COLUMN["parent_log_words"], _COLUMN["parent_link_share"], _COLUMN["parent_page_share"])
    grand_columns = (_COLUMN["grand_log_words"], _COLUMN["grand_link_share"], _COLUMN["grand_page_share"])
    empty = [0.0, 0.0, 0.0, 0.0]
    chars_before = 0
    # Column numbers as locals: this loop runs once per block.
    c_after_h1 = _COLUMN["after_h1"]
    c_blocks_from_h1 = _COLUMN["blocks_from_h1"]
    c_char_position = _COLUMN["char_position"]
    c_depth = _COLUMN["depth"]
    c_duplicates = _COLUMN["duplicates"]
    c_is_heading = _COLUMN["is_heading"]
    c_parent_blocks = _COLUMN["parent_blocks"]
    c_position = _COLUMN["position"]
    c_relative_depth = _COLUMN["relative_depth"]
    c_shape_count = _COLUMN["shape_count"]
    c_shape_page_share = _COLUMN["shape_page_share"]
    c_title_overlap = _COLUMN["title_overlap"]
    c_trafilatura_contained = _COLUMN["trafilatura_contained"]
    c_trafilatura_share = _COLUMN["trafilatura_share"]
    c_words_of_largest = _COLUMN["words_of_largest"]
    for i, block in enumerate(blocks):
        row = rows[i]
        text = block.text
        chars = len(text) or 1
        words = block.words
        log_words[i] = math.log1p(words)
        link_share[i] = block.link_chars / chars
        if words:
            found = sum(min(c, kept_counts.get(t, 0)) for t, c in Counter(block.tokens).items())
            trafilatura_share[i] = found / words
        letters = len(_LETTER.findall(text))
        row[0] = log_words[i]
        row[1] = math.log1p(len(text))
        row[2] = link_share[i]
        row[3] = len(_PUNCT.findall(text)) / chars
        row[4] = len(_DIGIT.findall(text)) / chars
        row[5] = len(_UPPER.findall(text)) / letters if letters else 0.0
        row[6] = len(_SENTENCE_END.findall(text)) / words if words else 0.0
        row[7] = (sum(len(t) for t in block.tokens) / words) if words else 0.0
        row[8] = 1.0 if _DATE_LIKE.search(text) else 0.0
        row[9] = 1.0 if text[:1].isupper() else 0.0
        row[10] = 1.0 if text[-1:] in ".!?。！？:" else 0.0
        row[11] = 1.0 if "©" in text or "copyright" in text.lower() else 0.0
        row[12] = (text.count("|") + text.count("•") + text.count("·")) / (words or 1)

        info = infos[i]
        row[c_position] = i / n
        row[c_char_position] = chars_before / page_chars
        chars_before += len(text)
        row[c_depth] = info.depth
        row[c_relative_depth] = info.depth / max_depth
        if first_h1 is not None:
            row[c_after_h1] = 1.0 if i >= first_h1 else 0.0
            row[c_blocks_from_h1] = max(-50, min(50, i - first_h1)) / 50
        row[c_is_heading] = 1.0 if block.tag in HEADINGS else 0.0
        parent = block.element.getparent()
        grand = parent.getparent() if parent is not None else None
        for holder, columns in ((parent, parent_columns), (grand, grand_columns)):
            under = totals.get(holder, empty) if holder is not None else empty
            row[columns[0]] = math.log1p(under[0])
            row[columns[1]] = under[2] / (under[1] or 1)
            row[columns[2]] = under[0] / page_words
        row[c_parent_blocks] = math.log1p(totals.get(parent, empty)[3]) if parent is not None else 0.0
        row[c_shape_count] = math.log1p(shape_counts[shapes[i]])
        row[c_shape_page_share] = shape_words[shapes[i]] / page_words
        row[c_trafilatura_share] = trafilatura_share[i]
        folded = folded_texts[i]
        row[c_trafilatura_contained] = 1.0 if folded and folded in kept_folded else 0.0
        row[c_duplicates] = math.log(repeats[folded])
        if words:
            row[c_title_overlap] = sum(1 for t in block.tokens if t in title_words) / words
        row[c_words_of_largest] = words / largest

        tag = block.tag
        own = "h456" if tag in ("h4", "h5", "h6") else tag
        if (column := _COLUMN.get(f"own_{own}")) is not None:
            row[column] = 1.0
        # in_<tag>: an ancestor is one (the block's own element is not counted); roles and hidden: itself too.
        parent_info = cache.get(parent) if parent is not None else None
        flags = (info.flags & ~tag_bits) | ((parent_info.flags & tag_bits) if parent_info is not None else 0)
        while flags:
            bit = flags & -flags
            row[flag_start + bit.bit_length() - 1] = 1.0
            flags ^= bit
        for slot, weight in info.classes.items():
            row[class_start + slot] = weight
        for slot in info.own_classes:
            row[own_class_start + slot] = 1.0

    # Neighbours and a window of five blocks around each.
    rows[1:, _COLUMN["prev_log_words"]] = log_words[:-1]
    rows[:-1, _COLUMN["next_log_words"]] = log_words[1:]
    rows[1:, _COLUMN["prev_link_share"]] = link_share[:-1]
    rows[:-1, _COLUMN["next_link_share"]] = link_share[1:]
    rows[1:, _COLUMN["prev_trafilatura"]] = trafilatura_share[:-1]
    rows[:-1, _COLUMN["next_trafilatura"]] = trafilatura_share[1:]
    # Where trafilatura's text is: between its first and last block, and how far from the nearest.
    kept = np.flatnonzero(rows[:, _COLUMN["trafilatura_contained"]] > 0)
    if len(kept):
        positions = np.arange(n)
        rows[:, _COLUMN["inside_trafilatura_span"]] = (positions >= kept[0]) & (positions <= kept[-1])
        after = np.searchsorted(kept, positions)
        to_next = np.abs(kept[np.minimum(after, len(kept) - 1)] - positions)
        to_previous = np.abs(positions - kept[np.maximum(after - 1, 0)])
        rows[:, _COLUMN["blocks_to_trafilatura"]] = np.minimum(np.minimum(to_next, to_previous), 50) / 50
    else:
        rows[:, _COLUMN["blocks_to_trafilatura"]] = 1.0
    rows[:, _COLUMN["window_trafilatura"]] = _window_mean(trafilatura_share)
    rows[:, _COLUMN["window_link_share"]] = _window_mean(link_share)
    return rows


def _window_mean(values: npt.NDArray[np.float64], reach: int = 2) -> npt.NDArray[np.float64]:
    """The mean of each value and its ``reach`` neighbours on either side (fewer at the ends)."""
    padded = np.pad(values, reach, constant_values=0.0)
    counts = np.pad(np.ones_like(values), reach, constant_values=0.0)
    kernel = np.ones(2 * reach + 1)
    return np.convolve(padded, kernel, mode="valid") / np.convolve(counts, kernel, mode="valid")


def as_text(blocks: Sequence[Block]) -> str:
    return "\n".join(block.text for block in blocks)


def as_markdown(blocks: Sequence[Block]) -> str:
    """Headings as ``#``, list items as ``-``, a blank line between other blocks."""
    out: list[str] = []
    previous = None
    for block in blocks:
        line = block.markdown or block.text
        if block.tag in HEADINGS:
            line = "#" * int(block.tag[1]) + " " + line
        elif block.tag == "li":
            line = "- " + line
        if out:
            out.append("\n" if block.tag == previous == "li" else "\n\n")
        out.append(line)
        previous = block.tag
    return "".join(out)


__all__ = ["FEATURE_NAMES", "Block", "as_markdown", "as_text", "block_features", "segment"]
