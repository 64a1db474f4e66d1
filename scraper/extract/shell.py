"""Whether a page's HTML is an empty shell that its scripts fill: the case for rendering it in a browser.

Pure, and cheap enough to run on every page whose static extraction came out thin.  Imports
nothing of extraction's models, so the crawl process can ask without loading them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from lxml import etree
from lxml import html as lxml_html

# Below this many characters of main text, static extraction found no article (a title and a byline are ~100).
THIN_TEXT_CHARS = 200
# An inline script this long does work (a framework, a fetch); shorter ones set a variable or two.
WORKING_SCRIPT_CHARS = 200
# The ids front-end frameworks mount their page on, empty until a script renders into it.
_MOUNT_IDS = frozenset({"root", "app", "__next", "__nuxt", "main-app", "app-root", "svelte", "application"})
_MOUNT_ATTRIBUTES = ("data-reactroot", "ng-app", "ng-version", "data-server-rendered", "data-v-app")
_CONTAINERS = frozenset({"div", "main", "section", "article"})
_NOT_VISIBLE = ("script", "style", "noscript", "template", "head")
_ASKS_FOR_SCRIPT = re.compile(
    r"enable\s+javascript|javascript\s+(is\s+)?(required|disabled|needed)|requires\s+javascript", re.IGNORECASE)
_DATA_SCRIPT_TYPES = ("application/ld+json", "application/json", "text/template", "text/x-template", "importmap")


@dataclass(frozen=True)
class ShellSignals:
    """What the HTML says about how its content arrives."""

    scripts: int  # external scripts, and inline ones long enough to do work
    visible_chars: int  # text outside scripts, styles, templates and <noscript>
    empty_mount: bool  # an element frameworks render into, with no text in it
    asks_for_script: bool  # a <noscript> that says the page needs JavaScript

    @property
    def script_built(self) -> bool:
        """Scripts, and a place they fill or a plea to run them: a thin page that is merely short (a photo,
        a stub) has neither, and is not worth a browser."""
        return self.scripts > 0 and (self.empty_mount or self.asks_for_script)


# A <script> that may run: any but a data block (JSON-LD, JSON). Without one, nothing is parsed.
_MAY_RUN = re.compile(r"<script\b(?![^>]*\btype\s*=\s*[\"']?application/(?:ld\+)?json)", re.IGNORECASE)
_NO_SCRIPTS = ShellSignals(scripts=0, visible_chars=-1, empty_mount=False, asks_for_script=False)


def shell_signals(html: str) -> ShellSignals:
    """What the page says about how its content arrives; a page without a script that may run is not
    parsed at all (``visible_chars`` is then -1: not counted)."""
    if _MAY_RUN.search(html) is None:
        return _NO_SCRIPTS
    try:
        root = lxml_html.document_fromstring(html)
    except (etree.ParserError, ValueError):  # empty, or nothing but a declaration
        return ShellSignals(scripts=0, visible_chars=0, empty_mount=False, asks_for_script=False)
    scripts = 0
    for script in root.iter("script"):
        kind = (script.get("type") or "").strip().lower()
        if kind in _DATA_SCRIPT_TYPES:
            continue
        if script.get("src") or len(script.text or "") >= WORKING_SCRIPT_CHARS:
            scripts += 1
    asks = any(_ASKS_FOR_SCRIPT.search(noscript.text_content() or "") for noscript in root.iter("noscript"))
    body = root.find("body")
    empty_mount = any(_is_mount(element, body) and not (element.text_content() or "").strip()
                      for element in root.iter() if isinstance(element.tag, str))
    visible = 0
    if body is not None:
        for element in list(body.iter(*_NOT_VISIBLE)):
            element.drop_tree()  # its tail, the text after it, stays
        visible = len(" ".join((body.text_content() or "").split()))
    return ShellSignals(scripts=scripts, visible_chars=visible, empty_mount=empty_mount, asks_for_script=asks)


def _is_mount(element: lxml_html.HtmlElement, body: lxml_html.HtmlElement | None) -> bool:
    """An element a front-end framework renders into: by its id or attributes, a custom element
    (``<app-root>``), or a named container straight under ``<body>``."""
    tag = element.tag
    if element.get("id") in _MOUNT_IDS or any(a in element.attrib for a in _MOUNT_ATTRIBUTES) or "-" in tag:
        return True
    return (body is not None and element.getparent() is body and tag in _CONTAINERS
            and bool(element.get("id") or element.get("class")))


def is_thin(text: str | None) -> bool:
    """Whether extraction found no article in the page: no main text, or hardly any."""
    return text is None or len(text.strip()) < THIN_TEXT_CHARS
