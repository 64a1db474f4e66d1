"""extract.metadata: title, authors and date chosen among the page's candidates by the shipped rankers (issue 18)."""

from __future__ import annotations

import json

import pytest

from scraper.article import Article
from scraper.compat.trafilatura import load_html
from scraper.extract.metadata import AUTHOR_FEATURES, DATE_FEATURES, GENERATORS, TITLE_FEATURES, read_view
from scraper.extract.model import dumps, load_model
from scraper.extract.page import extract_page
from scraper.extract.train.corpora import WCXB, LabelledPage
from scraper.extract.train.metadata import right, train_metadata

PROSE = "".join(f"<p>Paragraph {n} of the story: the council met on Tuesday and talked for a long time about the "
                f"harbour, the ferries, the fishing boats and the money it would all cost the town.</p>"
                for n in range(8))


def page(head: str, body: str) -> str:
    return f"<!doctype html><html lang='en'><head><meta charset='utf-8'>{head}</head><body>{body}</body></html>"


def test_the_headline_not_the_site_name() -> None:
    html = page("<title>Council backs harbour plan | The Daily Example</title>",
                f"<nav><a href='/'>Home</a></nav><article><h1>Council backs harbour plan</h1>{PROSE}</article>")
    article = extract_page(html, "https://dailyexample.test/news/harbour")
    assert article is not None and article.title == "Council backs harbour plan"


def test_two_authors_from_json_ld() -> None:
    ld = {"@context": "https://schema.org", "@type": "NewsArticle", "headline": "Council backs harbour plan",
          "datePublished": "2024-03-05T09:00:00+01:00",
          "author": [{"@type": "Person", "name": "Jane Doe"}, {"@type": "Person", "name": "John Roe"}]}
    html = page(f"<title>Council backs harbour plan</title><script type='application/ld+json'>{json.dumps(ld)}"
                "</script>", f"<article><h1>Council backs harbour plan</h1>{PROSE}</article>")
    article = extract_page(html, "https://dailyexample.test/news/harbour")
    assert article is not None
    assert sorted(article.authors) == ["Jane Doe", "John Roe"]
    assert (article.published or "")[:10] == "2024-03-05"


def test_a_teasers_date_is_not_the_pages() -> None:
    teaser = ("<aside><h2>More news</h2><ul><li><a href='/news/2023/ferries'>Ferry timetable changes "
              "<time datetime='2023-11-02'>2 November</time></a></li></ul></aside>")
    html = page("<title>About the harbour | The Daily Example</title>",
                f"<main><h1>About the harbour</h1>{PROSE}</main>{teaser}")
    article = extract_page(html, "https://dailyexample.test/about/harbour")
    assert article is not None
    assert article.published is None


def test_a_sidebar_byline_is_not_the_pages_author() -> None:
    sidebar = ("<aside class='sidebar'><h2>Popular</h2><div class='teaser'><a href='/news/ferries'>Ferry timetable "
               "changes</a><span class='author'>By Mary Major</span></div></aside>")
    html = page("<title>Opening hours | The Daily Example</title>",
                f"<main><h1>Opening hours</h1><p>The office is open from nine to five.</p></main>{sidebar}")
    article = extract_page(html, "https://dailyexample.test/opening-hours")
    assert article is not None
    assert article.authors == []


def test_ranking_off_gives_the_rules_picks() -> None:
    """Training reads extract_page's own picks: with the rankers off, nothing else changes."""
    html = page("<title>Council backs harbour plan | The Daily Example</title>",
                f"<article><h1>Council backs harbour plan</h1>{PROSE}</article>")
    off = extract_page(html, "https://dailyexample.test/news/harbour", rank_metadata=False)
    on = extract_page(html, "https://dailyexample.test/news/harbour")
    assert off is not None and on is not None and off.text == on.text


def test_shipped_models_read_the_features_of_this_code() -> None:
    assert load_model("title").feature_names == TITLE_FEATURES
    assert load_model("author").feature_names == AUTHOR_FEATURES
    assert load_model("date").feature_names == DATE_FEATURES


def test_candidates_carry_their_sources() -> None:
    html = page("<title>Council backs harbour plan | The Daily Example</title>"
                "<meta property='og:title' content='Council backs harbour plan'>",
                "<article><h1>Council backs harbour plan</h1><p>By <a rel='author' href='/jane'>Jane Doe</a></p>"
                "</article>")
    tree = load_html(html)
    assert tree is not None
    view = read_view(tree, "https://dailyexample.test/news/harbour", Article(title="Council backs harbour plan"))
    titles = {c.value: c.sources for c in GENERATORS["title"][0](view)}
    assert {"pick", "og", "h1", "document_part"} <= titles[("Council backs harbour plan",)]
    assert "document" in titles[("Council backs harbour plan | The Daily Example",)]
    authors = {c.value: c.sources for c in GENERATORS["author"][0](view)}
    assert "rel_author" in authors[("Jane Doe",)] and "nobody" in authors[()]


@pytest.mark.parametrize(("corpus", "field", "truth", "got", "ok"), [
    (WCXB, "title", "Council Backs Harbour Plan", "council backs  harbour plan.", True),
    ("trafilatura-eval", "title", "Council Backs Harbour Plan", "council backs harbour plan", False),
    (WCXB, "author", "Jane Doe and John Roe", ("John Roe", "Jane Doe"), True),
    (WCXB, "author", "Jane Doe", ("Jane Doe", "John Roe"), False),
    (WCXB, "date", "2024-03-05", "2024-03-05T09:00:00+01:00", True),
    (WCXB, "date", "2024-03-05", None, False),
])
def test_the_benchmarks_comparison_rules(corpus: str, field: str, truth: str, got: str | tuple[str, ...] | None,
                                         ok: bool) -> None:
    assert right(corpus, field, truth, got) is ok


def test_training_twice_gives_the_same_models() -> None:
    pages = []
    for n in range(30):
        headline = f"Harbour story number {n} about the ferries"
        html = page(f"<title>{headline} | The Daily Example</title>"
                    f"<meta name='author' content='Writer Number{n}'>",
                    f"<nav><a href='/'>Home</a></nav><article><h1>{headline}</h1>"
                    f"<time datetime='2024-03-{n % 28 + 1:02d}'>March</time>{PROSE}</article>")
        pages.append(LabelledPage(corpus=WCXB, page_id=str(n), url=f"https://site{n % 5}.test/news/{n}",
                                  html=html.encode(), site=f"site{n % 5}.test", title=headline,
                                  author=f"Writer Number{n}", date=f"2024-03-{n % 28 + 1:02d}"))
    first, second = train_metadata(pages), train_metadata(pages)
    assert set(first) == {"title", "author", "date"}
    assert all(dumps(first[name]) == dumps(second[name]) for name in first)
