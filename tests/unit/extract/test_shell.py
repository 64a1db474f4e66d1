"""The signs that a page's HTML is an empty shell its scripts fill (scraper.extract.shell)."""

from __future__ import annotations

import pytest

from scraper.extract.shell import THIN_TEXT_CHARS, is_thin, shell_signals
from tests.js_site import LAZY, SHELL, STATIC
from tests.site import golden_pages

ARTICLE = "<p>" + "A sentence of an article that the server wrote into its page. " * 40 + "</p>"


@pytest.mark.parametrize("html", [
    SHELL.format(n=1),  # an app root, an external script, a <noscript> asking for JavaScript
    '<html><body><div id="__next"></div><script src="/_next/main.js"></script></body></html>',
    "<html><body><nav>Home About</nav><main class='content'></main><script>" + "x();" * 60 + "</script></body></html>",
    '<html><body><app-root ng-version="17"></app-root><script src="main.js"></script></body></html>',
    LAZY,
])
def test_script_built_pages(html: str) -> None:
    assert shell_signals(html).script_built


@pytest.mark.parametrize("html", [
    STATIC.format(n=1, paragraphs=ARTICLE, next=2),  # a short inline script: no app
    f"<html><body><article>{ARTICLE}</article><script src='/analytics.js'></script></body></html>",
    "<html><body><p>No scripts at all.</p></body></html>",
    # short, with a script, but nothing left for it to fill: a stub, not an app
    "<html><body><h1>Photo</h1><img src=a.png><p>A caption.</p><script src='/app.js'></script></body></html>",
    '<html><body><script type="application/ld+json">' + "{}" * 200 + "</script><div id=root></div></body></html>",
    "", "<!doctype html>",
])
def test_server_built_pages(html: str) -> None:
    assert not shell_signals(html).script_built


def test_text_in_an_app_root_is_no_empty_mount() -> None:
    page = f'<html><body><div id="root">{ARTICLE}</div><script src="/app.js"></script></body></html>'
    signals = shell_signals(page)
    assert not signals.empty_mount and not signals.script_built
    assert signals.visible_chars > 1500 and signals.scripts == 1


def test_the_golden_pages_are_not_shells() -> None:
    """Real pages from news sites, all server-built: auto would render none of them."""
    pages = golden_pages()
    assert pages
    for name, folder in pages.items():
        html = (folder / "page.html").read_text(encoding="utf-8", errors="replace")
        signals = shell_signals(html)
        assert not (signals.script_built and signals.visible_chars < 500), name


def test_thin() -> None:
    assert is_thin(None) and is_thin("") and is_thin("  Loading…  ")
    assert is_thin("x" * (THIN_TEXT_CHARS - 1)) and not is_thin("x" * THIN_TEXT_CHARS)


def test_a_page_with_no_script_that_may_run_is_not_parsed() -> None:
    """Most server-built pages: decided by one search, not a parse (the cost of --browser auto on them)."""
    for html in ("<html><body><p>Short.</p></body></html>",
                 '<html><body><script type="application/ld+json">{"@type": "NewsArticle"}</script></body></html>',
                 "<html><body><SCRIPT TYPE='application/json'>{}</SCRIPT><div id=root></div></body></html>"):
        assert shell_signals(html).visible_chars == -1 and not shell_signals(html).script_built
    assert shell_signals("<html><body><script type=module src=a.js></script><div id=root></div></body></html>"
                         ).script_built
