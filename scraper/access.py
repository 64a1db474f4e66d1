"""Access signals a page sends about itself: X-Robots-Tag and meta robots. Pure: no Scrapy."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from lxml import html as lxml_html

# Meta tags that speak to all robots, or to us by our product token.
ROBOTS_META_NAMES = ("robots", "scraper")
# Directives that ask not to be archived ("none" = noindex, nofollow, and by common reading noarchive).
NOARCHIVE = frozenset({"noarchive", "none"})
SNIFF_BYTES = 256 * 1024  # meta robots sits in <head>: no need to decode the whole body


@dataclass(frozen=True)
class AccessSignals:
    x_robots_tag: list[str] = field(default_factory=list)
    meta_robots: list[str] = field(default_factory=list)

    @property
    def directives(self) -> frozenset[str]:
        return frozenset(self.x_robots_tag) | frozenset(self.meta_robots)

    @property
    def forbids_archiving(self) -> bool:
        return bool(self.directives & NOARCHIVE)

    def as_dict(self) -> dict[str, list[str]]:
        return {"x_robots_tag": list(self.x_robots_tag), "meta_robots": list(self.meta_robots)}


def _directives(text: str) -> list[str]:
    out: list[str] = []
    for part in text.split(","):
        directive = part.strip().lower()
        if directive and directive not in out:
            out.append(directive)
    return out


def parse_x_robots_tag(values: Iterable[str], product_token: str = "scraper") -> list[str]:
    """Directives of X-Robots-Tag header values that apply to every robot or to us.

    ``"noindex, nofollow"`` applies to all; ``"googlebot: noarchive"`` only to that robot.
    Values such as ``unavailable_after: <date>`` keep their argument.
    """
    out: list[str] = []
    for value in values:
        head, sep, rest = value.partition(":")
        agent = head.strip().lower()
        if sep and agent and " " not in agent and "," not in agent and agent not in {"unavailable_after", "max-snippet",
                                                                                    "max-image-preview",
                                                                                    "max-video-preview"}:
            if agent not in (product_token.lower(), "*"):
                continue
            value = rest
        for directive in _directives(value):
            if directive not in out:
                out.append(directive)
    return out


def parse_meta_robots(html: bytes | str) -> list[str]:
    """Directives of ``<meta name="robots">`` (and ``name="scraper"``) in a page."""
    if not html:
        return []
    head = html[:SNIFF_BYTES]
    if not _may_name_robots(head):
        return []
    try:
        tree = lxml_html.fromstring(head)
    except (ValueError, lxml_html.etree.ParserError):
        return []
    out: list[str] = []
    for meta in tree.iterfind(".//meta[@name]"):
        if meta.get("name", "").strip().lower() in ROBOTS_META_NAMES:
            for directive in _directives(meta.get("content", "")):
                if directive not in out:
                    out.append(directive)
    return out


def _may_name_robots(head: bytes | str) -> bool:
    """False only when no ``<meta>`` in ``head`` can be named one of ROBOTS_META_NAMES: no parse needed.

    Parsing the page costs more than the rest of what the crawl does with it, and most pages have
    no such meta.  A name can be spelled with character references (``&#114;obots``), and in
    UTF-16 or UTF-32 (which lxml detects) every ASCII letter carries NUL bytes: both are parsed.
    """
    if isinstance(head, str):
        lowered_text = head.lower()
        return "&#" in head or any(name in lowered_text for name in ROBOTS_META_NAMES)
    lowered = head.lower()
    return b"&#" in head or b"\x00" in head or any(name.encode() in lowered for name in ROBOTS_META_NAMES)


def read_access_signals(x_robots_values: Iterable[str], head: bytes, is_html: bool) -> AccessSignals:
    """``head``: the start of the page, decoded (``storage.codings.decoded_start``, SNIFF_BYTES of it)."""
    return AccessSignals(
        x_robots_tag=parse_x_robots_tag(x_robots_values),
        meta_robots=parse_meta_robots(head) if is_html else [],
    )


def robots_txt_problem(body: bytes, content_type: str | None) -> str | None:
    """Why a robots.txt body is not a robots.txt file, or None when it looks like one.

    Protego reads anything leniently (garbage means "allow all"), which is right, but
    the person should hear that the site's rules could not be read.
    """
    head = body[:2048]
    if b"\x00" in head:
        return "binary data"
    lowered = head.lower()
    if b"<html" in lowered or b"<!doctype html" in lowered or "html" in (content_type or "").lower():
        return "an HTML page"
    try:
        text = body[:65536].decode("utf-8")
    except UnicodeDecodeError:
        return "not UTF-8 text"
    lines = [line.split("#", 1)[0].strip() for line in text.splitlines()]
    lines = [line for line in lines if line]
    if lines and not any(":" in line for line in lines):
        return "no 'field: value' lines"
    return None
