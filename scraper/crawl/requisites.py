"""What an HTML page needs to render: images, stylesheets, scripts, fonts. Pure: no Scrapy."""

from __future__ import annotations

from urllib.parse import urljoin

import tinycss2
from lxml import html as lxml_html

# (tag, attribute) pairs that load a resource when the page renders.
_SRC_ATTRIBUTES = (
    ("img", "src"), ("script", "src"), ("iframe", "src"), ("embed", "src"), ("source", "src"),
    ("video", "src"), ("video", "poster"), ("audio", "src"), ("track", "src"), ("input", "src"),
    ("object", "data"),
)
_SRCSET_TAGS = ("img", "source")
_BLOCKS = ("() block", "[] block", "{} block")
_LINK_RELS = frozenset({"stylesheet", "icon", "shortcut", "apple-touch-icon", "preload", "manifest",
                        "mask-icon", "modulepreload"})


def _http(urls: list[str]) -> list[str]:
    seen: set[str] = set()
    out: list[str] = []
    for url in urls:
        url = url.split("#", 1)[0]
        if url.startswith(("http://", "https://")) and url not in seen:
            seen.add(url)
            out.append(url)
    return out


def srcset_urls(srcset: str) -> list[str]:
    """``"a.jpg 1x, b.jpg 2x"`` -> ``["a.jpg", "b.jpg"]`` (candidates are separated by commas)."""
    return [candidate.strip().split()[0] for candidate in srcset.split(",") if candidate.strip()]


def css_urls(css: str, base_url: str) -> list[str]:
    """``url(...)`` and ``@import`` references of a stylesheet or a style attribute, absolute."""
    found: list[str] = []

    def walk(tokens: list[tinycss2.ast.Node] | None) -> None:
        for token in tokens or []:
            if token.type == "url":
                found.append(token.value)
            elif token.type == "function" and token.lower_name == "url":
                found.extend(arg.value for arg in token.arguments if arg.type == "string")
            elif token.type == "at-rule" and token.lower_at_keyword == "import":
                found.extend(t.value for t in token.prelude if t.type in ("string", "url"))
                walk(token.prelude)
            has_block = token.type in ("qualified-rule", "at-rule") and token.content is not None
            if has_block or token.type in _BLOCKS:
                walk(token.content)
            elif token.type == "declaration":
                walk(token.value)

    walk(tinycss2.parse_stylesheet(css, skip_comments=True, skip_whitespace=True))
    if not found:  # a style attribute is a declaration list, not a stylesheet
        walk(tinycss2.parse_blocks_contents(css, skip_comments=True, skip_whitespace=True))
    return _http([urljoin(base_url, u.strip()) for u in found if u.strip() and not u.startswith("data:")])


def html_requisites(html: str | bytes, base_url: str) -> list[str]:
    """Absolute URLs of the resources a page loads, in document order, without duplicates."""
    try:
        tree = lxml_html.fromstring(html)
    except (ValueError, lxml_html.etree.ParserError):
        return []
    base = tree.find(".//base[@href]")
    base_url = urljoin(base_url, base.get("href", "")) if base is not None else base_url
    urls: list[str] = []
    for element in tree.iter():
        tag = element.tag if isinstance(element.tag, str) else ""
        for src_tag, attribute in _SRC_ATTRIBUTES:
            if tag == src_tag and element.get(attribute):
                urls.append(urljoin(base_url, element.get(attribute, "").strip()))
        if tag in _SRCSET_TAGS and element.get("srcset"):
            urls.extend(urljoin(base_url, u) for u in srcset_urls(element.get("srcset", "")))
        if tag == "link" and element.get("href"):
            rels = set(element.get("rel", "").lower().split())
            if rels & _LINK_RELS:
                urls.append(urljoin(base_url, element.get("href", "").strip()))
        if tag == "style" and element.text:
            urls.extend(css_urls(element.text, base_url))
        if element.get("style"):
            urls.extend(css_urls(element.get("style", ""), base_url))
    return _http(urls)
