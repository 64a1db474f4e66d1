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
SKIPPED_TAGS = frozenset({"script", "style", "noscript", "template", "svg", "iframe", "object", "embed", "canvas",
                          "video", "audio", "map", "head", "title", "meta", "link", "select", "option", "textarea",
                          "button", "input", "math"})
BLOCK_TAGS = frozenset({"p", "div", "section", "article", "main", "header", "footer", "aside", "nav", "li", "ul",
                        "ol", "dl", "dt", "dd", "h1", "h2", "h3", "h4", "h5", "h6", "table", "tr", "td", "th",
                        "thead", "tbody", "tfoot", "caption", "blockquote", "pre", "figure", "figcaption", "form",
                        "fieldset", "address", "details", "summary", "hr", "body", "html", "center", "menu",
                        "hgroup", "legend", "br"})
HEADINGS = frozenset({"h1", "h2", "h3", "h4", "h5", "h6"})

OWN_TAGS = ("p", "div", "li", "td", "th", "h1", "h2", "h3", "h456", "dt", "dd", "blockquote", "pre", "figcaption",
            "section", "article", "span")
ANCESTOR_TAGS = ("article", "main", "nav", "header", "footer", "aside", "form", "table", "ul", "ol", "a",
                 "blockquote", "figure", "label", "details", "section", "li", "dl")
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


def _words(text: str) -> list[str]:
    return _WORD.findall(text.lower())


def segment(root: HtmlElement) -> list[Block]:
    """The visible text of ``root`` as blocks, in document order (raises RecursionError on absurd depth)."""
    blocks: list[Block] = []
    parts: list[str] = []
    link_chars = [0]

    def flush(owner: HtmlElement) -> None:
        text = " ".join("".join(parts).split())
        parts.clear()
        chars, link_chars[0] = link_chars[0], 0
        if text:
            tag = owner.tag if isinstance(owner.tag, str) else "div"
            blocks.append(Block(text=text, tag=tag, element=owner, link_chars=min(chars, len(text))))

    def walk(node: HtmlElement, owner: HtmlElement, in_link: bool) -> None:
        tag = node.tag
        if not isinstance(tag, str):  # a comment or processing instruction: only its tail is text
            return
        if tag in SKIPPED_TAGS or node.get("hidden") is not None or node.get("aria-hidden") == "true":
            return
        style = node.get("style")
        if style and _HIDDEN_STYLE.search(style):
            return
        is_block = tag in BLOCK_TAGS
        if is_block:
            flush(owner)
            owner = node
        linked = in_link or tag == "a"
        if node.text:
            parts.append(node.text)
            if linked:
                link_chars[0] += len(node.text.strip())
        for child in node:
            walk(child, owner, linked)
            if child.tail:
                parts.append(child.tail)
                if linked:
                    link_chars[0] += len(child.tail.strip())
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
    return blocks


def _name_tokens(element: HtmlElement) -> set[str]:
    names = f"{element.get('class') or ''} {element.get('id') or ''}"
    if not names.strip():
        return set()
    names = _CAMEL.sub(" ", names).lower()
    return {token for token in _NAME_SPLIT.split(names) if token}


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
    "window_link_share",
)
FEATURE_NAMES: tuple[str, ...] = (
    *BASE_FEATURES, *PAGE_FEATURES, *CONTEXT_FEATURES,
    *(f"own_{tag}" for tag in OWN_TAGS),
    *(f"in_{tag}" for tag in ANCESTOR_TAGS),
    *(f"role_{role}" for role in ROLES),
    *(f"class_{token}" for token in CLASS_TOKENS),
    *(f"own_class_{token}" for token in CLASS_TOKENS),
)
_COLUMN = {name: i for i, name in enumerate(FEATURE_NAMES)}


def _folded(text: str) -> str:
    return " ".join(_words(text))


def block_features(blocks: Sequence[Block], trafilatura_text: str | None,
                   page_type_probabilities: Sequence[float] | None = None) -> npt.NDArray[np.float64]:
    """One row of :data:`FEATURE_NAMES` per block (finite numbers)."""
    n = len(blocks)
    rows = np.zeros((n, len(FEATURE_NAMES)))
    if n == 0:
        return rows
    kept_counts = Counter(_words(trafilatura_text or ""))
    kept_folded = _folded(trafilatura_text or "")
    page_words = sum(b.words for b in blocks) or 1
    page_chars = sum(len(b.text) for b in blocks) or 1
    page_link_chars = sum(b.link_chars for b in blocks)
    probabilities = list(page_type_probabilities or [0.0] * len(PAGE_TYPES))

    # Per element: words and link characters of the blocks under it, and how many blocks.
    words_under: dict[HtmlElement, int] = {}
    links_under: dict[HtmlElement, float] = {}
    chars_under: dict[HtmlElement, int] = {}
    blocks_under: dict[HtmlElement, int] = {}
    ancestry: list[list[HtmlElement]] = []
    for block in blocks:
        chain = [block.element, *block.element.iterancestors()]
        ancestry.append(chain)
        for element in chain:
            words_under[element] = words_under.get(element, 0) + block.words
            chars_under[element] = chars_under.get(element, 0) + len(block.text)
            links_under[element] = links_under.get(element, 0) + block.link_chars
            blocks_under[element] = blocks_under.get(element, 0) + 1
    max_depth = max(len(chain) for chain in ancestry) or 1
    shapes = [_signature(block.element) for block in blocks]
    shape_counts = Counter(shapes)
    shape_words: Counter[str] = Counter()
    for shape, block in zip(shapes, blocks, strict=True):
        shape_words[shape] += block.words
    first_h1 = next((b.index for b in blocks if b.tag == "h1"), None)

    trafilatura_share = np.zeros(n)
    link_share = np.zeros(n)
    log_words = np.zeros(n)
    names_cache: dict[HtmlElement, list[int]] = {}
    chars_before = 0
    for i, block in enumerate(blocks):
        row = rows[i]
        text = block.text
        chars = len(text)
        words = block.words
        log_words[i] = math.log1p(words)
        link_share[i] = block.link_chars / chars if chars else 0.0
        if words:
            counts = Counter(block.tokens)
            found = sum(min(c, kept_counts.get(t, 0)) for t, c in counts.items())
            trafilatura_share[i] = found / words
        letters = sum(1 for c in text if c.isalpha())
        row[0] = log_words[i]
        row[1] = math.log1p(chars)
        row[2] = link_share[i]
        row[3] = len(_PUNCT.findall(text)) / chars if chars else 0.0
        row[4] = sum(1 for c in text if c.isdigit()) / chars if chars else 0.0
        row[5] = sum(1 for c in text if c.isupper()) / letters if letters else 0.0
        row[6] = len(_SENTENCE_END.findall(text)) / words if words else 0.0
        row[7] = (sum(len(t) for t in block.tokens) / words) if words else 0.0
        row[8] = 1.0 if _DATE_LIKE.search(text) else 0.0
        row[9] = 1.0 if text[:1].isupper() else 0.0
        row[10] = 1.0 if text[-1:] in ".!?。！？:" else 0.0
        row[11] = 1.0 if "©" in text or "copyright" in text.lower() else 0.0
        row[12] = (text.count("|") + text.count("•") + text.count("·")) / (words or 1)

        row[_COLUMN["page_log_words"]] = math.log1p(page_words)
        row[_COLUMN["page_log_blocks"]] = math.log1p(n)
        row[_COLUMN["page_link_share"]] = page_link_chars / page_chars
        row[_COLUMN["trafilatura_coverage"]] = sum(kept_counts.values()) / page_words
        for k, p in enumerate(probabilities):
            row[_COLUMN[f"page_type_{PAGE_TYPES[k]}"]] = p

        chain = ancestry[i]
        row[_COLUMN["position"]] = i / n
        row[_COLUMN["char_position"]] = chars_before / page_chars
        chars_before += chars
        row[_COLUMN["depth"]] = len(chain)
        row[_COLUMN["relative_depth"]] = len(chain) / max_depth
        if first_h1 is not None:
            row[_COLUMN["after_h1"]] = 1.0 if i >= first_h1 else 0.0
            row[_COLUMN["blocks_from_h1"]] = max(-50, min(50, i - first_h1)) / 50
        row[_COLUMN["is_heading"]] = 1.0 if block.tag in HEADINGS else 0.0
        for offset, (label, element) in enumerate((("parent", 1), ("grand", 2))):
            holder = chain[element] if len(chain) > element else chain[-1]
            under = words_under.get(holder, 0)
            row[_COLUMN[f"{label}_log_words"]] = math.log1p(under)
            row[_COLUMN[f"{label}_link_share"]] = links_under.get(holder, 0) / (chars_under.get(holder, 0) or 1)
            row[_COLUMN[f"{label}_page_share"]] = under / page_words
            if offset == 0:
                row[_COLUMN["parent_blocks"]] = math.log1p(blocks_under.get(holder, 0))
        row[_COLUMN["shape_count"]] = math.log1p(shape_counts[shapes[i]])
        row[_COLUMN["shape_page_share"]] = shape_words[shapes[i]] / page_words
        row[_COLUMN["trafilatura_share"]] = trafilatura_share[i]
        folded = _folded(text)
        row[_COLUMN["trafilatura_contained"]] = 1.0 if folded and folded in kept_folded else 0.0

        tag = block.tag
        own = "h456" if tag in ("h4", "h5", "h6") else tag
        if f"own_{own}" in _COLUMN:
            row[_COLUMN[f"own_{own}"]] = 1.0
        for distance, element in enumerate(chain):
            etag = element.tag
            if distance and isinstance(etag, str) and f"in_{etag}" in _COLUMN:
                row[_COLUMN[f"in_{etag}"]] = 1.0
            role = element.get("role")
            if role and f"role_{role}" in _COLUMN:
                row[_COLUMN[f"role_{role}"]] = 1.0
            if distance < CLASS_DEPTH:
                slots = names_cache.get(element)
                if slots is None:
                    slots = names_cache[element] = _token_slots(_name_tokens(element))
                weight = 1.0 / (1 + distance)
                for slot in slots:
                    column = _COLUMN[f"class_{CLASS_TOKENS[slot]}"]
                    row[column] = max(row[column], weight)
                    if distance == 0:
                        row[_COLUMN[f"own_class_{CLASS_TOKENS[slot]}"]] = 1.0

    # Neighbours and a window of five blocks around each.
    prev_w, next_w = _COLUMN["prev_log_words"], _COLUMN["next_log_words"]
    rows[1:, prev_w] = log_words[:-1]
    rows[:-1, next_w] = log_words[1:]
    rows[1:, _COLUMN["prev_link_share"]] = link_share[:-1]
    rows[:-1, _COLUMN["next_link_share"]] = link_share[1:]
    rows[1:, _COLUMN["prev_trafilatura"]] = trafilatura_share[:-1]
    rows[:-1, _COLUMN["next_trafilatura"]] = trafilatura_share[1:]
    kernel = np.ones(5) / 5
    rows[:, _COLUMN["window_trafilatura"]] = np.convolve(trafilatura_share, kernel, mode="same")
    rows[:, _COLUMN["window_link_share"]] = np.convolve(link_share, kernel, mode="same")
    return rows


def as_text(blocks: Sequence[Block]) -> str:
    return "\n".join(block.text for block in blocks)


def as_markdown(blocks: Sequence[Block]) -> str:
    """Headings as ``#``, list items as ``-``, a blank line between other blocks."""
    out: list[str] = []
    previous = None
    for block in blocks:
        line = block.text
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
