"""What scraper.compat.trafilatura assumes of trafilatura's internals: fails when an upgrade changes them."""

from __future__ import annotations

import inspect
from configparser import ConfigParser

from htmldate import find_date
from lxml import html as lxml_html

from scraper.compat import trafilatura as compat

PAGE = """<html lang="en"><head><title>Harbour budget passes | gazette.example</title>
<meta property="og:title" content="Harbour budget passes">
<meta property="og:site_name" content="@The Gazette">
<meta name="description" content="The council voted late on Tuesday.">
<link rel="canonical" href="https://news.example.com/2024/03/harbour-budget">
<script type="application/ld+json">{"@context": "https://schema.org", "@type": "NewsArticle",
 "headline": "Harbour budget passes", "author": {"@type": "Person", "name": "Jane Doe"},
 "datePublished": "2024-03-05T18:00:00Z"}</script></head>
<body><article><h1>Harbour budget passes</h1>
<p>The council voted on the harbour budget late on Tuesday evening, after a debate that ran for hours
and touched on dredging, the ferry terminal and the fish market's roof.</p>
<p>Councillors from every group spoke, and the final vote was twenty-one to nine, with two abstentions,
which the mayor called a fair result for a budget that pleased nobody entirely.</p>
<div class="tags"><a href="/tag/harbour/">Harbour</a><a href="/tag/budget/"><div>City</div><div>budget</div></a></div>
</article></body></html>"""


def tree() -> lxml_html.HtmlElement:
    parsed = compat.load_html(PAGE)
    assert parsed is not None
    return parsed


def test_the_metadata_steps_fill_a_document() -> None:
    document = compat.examine_meta(tree())
    assert isinstance(document, compat.Document)
    assert document.title == "Harbour budget passes" and document.description == "The council voted late on Tuesday."
    document = compat.extract_meta_json(tree(), document)
    assert document.author == "Jane Doe"
    assert compat.extract_title(tree()) == "Harbour budget passes"
    assert compat.extract_url(tree(), "https://fallback.example/") == "https://news.example.com/2024/03/harbour-budget"
    assert compat.extract_sitename(tree()) == "gazette.example"  # from the title, as a fallback
    assert document.sitename == "@The Gazette"  # og:site_name, read by examine_meta
    for name in ("title", "author", "url", "date", "sitename", "categories", "tags", "description", "body", "text"):
        assert name in compat.Document.__slots__, name


def test_date_parameters_are_htmldates() -> None:
    params = compat.set_date_params(True)
    assert params["extensive_search"] is True and params["original_date"] is True and "max_date" in params
    assert find_date(tree(), **{**params, "url": "https://news.example.com/2024/03/harbour-budget"}) == "2024-03-05"


def test_bylines_are_normalised_as_trafilatura_does() -> None:
    assert compat.normalize_authors(None, "By Jane Doe") == "Jane Doe"
    assert compat.normalize_authors(None, "Jane Doe and John Roe") == "Jane Doe; John Roe"


def test_bare_extraction_takes_our_keywords_and_its_body_reads_as_text() -> None:
    keywords = {"url", "with_metadata", "include_comments", "include_tables", "include_formatting",
                "favor_precision", "favor_recall", "deduplicate", "config"}
    assert keywords <= set(inspect.signature(compat.bare_extraction).parameters)
    config = compat.use_config()
    assert isinstance(config, ConfigParser) and config is not compat.use_config(), "a fresh copy each call"
    config.set("DEFAULT", "MIN_EXTRACTED_SIZE", "50")
    document = compat.bare_extraction(tree(), url="https://news.example.com/", with_metadata=False,
                                      include_comments=False, include_tables=True, include_formatting=True,
                                      favor_precision=False, favor_recall=False, deduplicate=False, config=config)
    assert isinstance(document, compat.Document) and document.body is not None
    text = compat.xmltotxt(document.body, False)
    assert "twenty-one to nine" in text and "**" not in text  # plain text, unlike the markdown in .text


def test_link_text_and_line_processing() -> None:
    (link,) = [a for a in tree().iter("a") if a.get("href") == "/tag/budget/"]
    assert compat.block_text(link).split() == ["City", "budget"]
    assert compat.line_processing("  City \u00a0 budget  ") == "City budget"
    assert compat.line_processing("   ") is None
