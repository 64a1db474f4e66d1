"""The links of a page, as written: pure, lxml only."""

from __future__ import annotations

from lxml import etree

# Scrapy's selector parses the same way (recovering, UTF-8 bytes); one parser object is reused.
_PARSER = etree.HTMLParser(recover=True, encoding="utf-8", remove_comments=True, remove_pis=True)


def anchor_hrefs(html: str) -> list[str]:
    """The ``href`` of every ``<a>``, in document order, stripped of surrounding white space.

    The tree is local and freed on return.  (A Scrapy selector keeps its tree, several times
    the page's size, for as long as the response lives: with hundreds of responses waiting
    for extraction, that was most of the crawl process's memory.)
    """
    try:
        root = etree.fromstring(html.encode("utf-8", "surrogatepass"), parser=_PARSER)
    except (etree.ParserError, ValueError):
        return []
    if root is None:  # an empty document
        return []
    return [str(href).strip() for href in root.xpath("//a/@href")]
