"""A deterministic news site for the crawl benchmark, and a plain Python server for it.

    .venv/bin/python bench/sitegen.py generate DIR --base http://127.0.0.1:8080 [--pages N] [--seed S]
    .venv/bin/python bench/sitegen.py serve DIR [--port P]     # prints the port, serves until killed

``generate`` writes N articles plus the pages that lead to them: a homepage, paginated section
pages, tag pages, a few static pages, ``sitemap.xml`` (every article) and ``robots.txt`` (allows
everything).  Every article is reachable from the homepage through the section pagination.  The
same seed and N give the same bytes (apart from ``--base``), so runs on different days crawl the
same site.

Articles come in three layouts (classic ``<article>``, a WordPress-like blog and a magazine page),
each with navigation, sidebars, a footer, JSON-LD ``NewsArticle`` (headline, author, dates) and
``<meta>`` dates, 500-1500 words of generated English, and about 80 links of which about 10 lead
to other articles.
"""

from __future__ import annotations

import argparse
import html
import json
import random
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

DEFAULT_PAGES = 2000
DEFAULT_SEED = 20261125
SITE_NAME = "The Loopback Courier"
SECTIONS = ("world", "politics", "business", "technology", "science", "health", "sport", "culture")
STATIC_PAGES = ("about", "contact", "privacy", "terms", "advertise", "careers", "newsletter")
SECTION_PAGE_SIZE = 20
TAG_PAGE_SIZE = 30
TAG_COUNT = 60
SITEMAP_LIMIT = 50_000  # URLs per sitemap file (sitemaps.org)
FIRST_DATE = datetime(2023, 1, 2, 6, 0, tzinfo=UTC)
LAYOUTS = ("classic", "blog", "magazine")
# A 1x1 GIF: figures look like figures, and no crawler is sent after an image that does not exist.
PIXEL = "data:image/gif;base64,R0lGODlhAQABAAAAACw="

# -- words ----------------------------------------------------------------------------------------
def wordlist(text: str) -> list[str]:
    return text.split()


NOUNS = wordlist("""government council committee minister economy market company report study researcher scientist
official city region country border election campaign voter budget tax policy plan proposal agreement deal
treaty court judge law bill vote parliament senate leader party coalition majority opposition protest strike
union worker employer factory industry sector bank investor price rate inflation growth forecast quarter
revenue profit loss share stock bond currency trade export import supplier customer product service network
platform device software system data model algorithm security breach attack threat risk crisis response
hospital doctor patient nurse vaccine treatment disease virus outbreak trial drug clinic school teacher student
university degree course exam team player coach match season league title goal victory defeat stadium fan
festival artist album film director novel exhibition museum gallery audience stage concert river coast storm
flood drought wildfire heatwave forecast climate emission target energy grid plant reactor turbine battery
village farmer harvest crop water supply road railway airport port bridge tunnel project contract""")
ADJECTIVES = wordlist("""new major local national regional global public private senior former current early late
strong weak rising falling higher lower sharp modest significant unexpected rapid slow key critical recent
annual quarterly independent official digital financial economic political social medical legal military
environmental international domestic urban rural young older small large long short final initial fresh
controversial popular successful difficult uncertain stable volatile cautious ambitious broad narrow""")
VERBS_PAST = wordlist("""announced reported confirmed rejected approved proposed launched warned argued claimed revealed
suggested denied accepted reached signed delayed extended reduced increased raised cut expanded opened closed
won lost faced criticised welcomed questioned described predicted estimated found showed examined reviewed
published released completed started ended blocked backed challenged defended""")
VERBS_PRESENT = wordlist("""expects plans aims hopes needs wants seeks intends promises considers believes argues says
suggests warns insists admits notes points""")
ADVERBS = wordlist("""quickly slowly sharply gradually finally initially recently reportedly publicly privately largely
widely openly clearly nearly almost already still again""")
PREPOSITIONS = wordlist("in on at over under after before during across against within without between among")
DETERMINERS = wordlist("the the the a this that every another its their")
CONNECTIVES = ("However,", "Meanwhile,", "In addition,", "Still,", "By contrast,", "As a result,", "Last week,",
               "On Monday,", "According to officials,", "For now,", "In a statement,", "Earlier this year,")
FIRST_NAMES = wordlist("""Anna Ben Clara David Elena Farid Grace Hugo Ines James Keiko Liam Maria Nadia Omar Priya
Quentin Rosa Samuel Tara Umar Vera William Yusuf Zoe Amir Beatrice Carlos Dana Erik""")
LAST_NAMES = wordlist("""Adams Brennan Castillo Dubois Eriksen Fischer Garcia Haddad Ito Jensen Kowalski Lindqvist
Moreau Nakamura Okafor Petrov Quinn Rossi Schmidt Tanaka Usman Varga Walsh Xu Yilmaz Zhang Novak Silva Murphy Bauer""")
PLACES = wordlist("""Lisbon Nairobi Oslo Manila Lima Accra Hanoi Quito Riga Tunis Perth Leeds Lyon Porto Graz Turin
Bergen Cork Malmo Gdansk Brno Seville Utrecht Aarhus Tartu Split Basel Ghent Bilbao Tampere""")


def words_unique(words: Sequence[str]) -> list[str]:
    return list(dict.fromkeys(words))


TAGS = words_unique(NOUNS)[:TAG_COUNT]


class Prose:
    """English-looking sentences from a handful of clause patterns: cheap, deterministic, varied."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng

    def pick(self, words: Sequence[str]) -> str:
        return self.rng.choice(words)

    def determined(self, words: str) -> str:
        determiner = self.pick(DETERMINERS)
        if determiner == "a" and words[0] in "aeiou":
            determiner = "an"
        return f"{determiner} {words}"

    def noun_phrase(self) -> str:
        roll = self.rng.random()
        if roll < 0.35:
            return self.determined(f"{self.pick(ADJECTIVES)} {self.pick(NOUNS)}")
        if roll < 0.55:
            return self.determined(f"{self.pick(NOUNS)} {self.pick(PREPOSITIONS)} {self.pick(PLACES)}")
        if roll < 0.65:
            return f"{self.pick(FIRST_NAMES)} {self.pick(LAST_NAMES)}"
        return self.determined(self.pick(NOUNS))

    def clause(self) -> str:
        roll = self.rng.random()
        if roll < 0.4:
            return f"{self.noun_phrase()} {self.pick(VERBS_PAST)} {self.noun_phrase()}"
        if roll < 0.6:
            return (f"{self.noun_phrase()} {self.pick(ADVERBS)} {self.pick(VERBS_PAST)} {self.noun_phrase()} "
                    f"{self.pick(PREPOSITIONS)} {self.noun_phrase()}")
        if roll < 0.75:
            return (f"{self.noun_phrase()} {self.pick(VERBS_PRESENT)} that {self.noun_phrase()} "
                    f"{self.pick(VERBS_PAST)} {self.noun_phrase()}")
        if roll < 0.88:
            number = self.rng.choice((f"{self.rng.randint(2, 98)} percent", f"{self.rng.randint(3, 900)} million",
                                      f"{self.rng.randint(2, 40)} years", f"{self.rng.randint(10, 5000):,} people"))
            return (f"{self.noun_phrase()} {self.pick(VERBS_PAST)} {number} {self.pick(PREPOSITIONS)} "
                    f"{self.noun_phrase()}")
        return (f"{self.noun_phrase()} {self.pick(VERBS_PAST)} {self.noun_phrase()} and {self.pick(VERBS_PAST)} "
                f"{self.noun_phrase()}")

    def sentence(self) -> str:
        roll = self.rng.random()
        if roll < 0.12:
            text = f"\u201c{capitalise(self.clause())},\u201d said {self.pick(FIRST_NAMES)} {self.pick(LAST_NAMES)}"
            return text + "."
        text = self.clause()
        if roll < 0.3:
            text = f"{self.pick(CONNECTIVES)} {text}"
        return capitalise(text) + "."

    def paragraph(self) -> str:
        return " ".join(self.sentence() for _ in range(self.rng.randint(2, 6)))

    def words(self, target: int) -> list[str]:
        """Paragraphs until about ``target`` words."""
        paragraphs, count = [], 0
        while count < target:
            paragraph = self.paragraph()
            paragraphs.append(paragraph)
            count += paragraph.count(" ") + 1
        return paragraphs

    def headline(self) -> str:
        return capitalise(f"{self.noun_phrase()} {self.pick(VERBS_PAST)} {self.noun_phrase()}")


def capitalise(text: str) -> str:
    return text[:1].upper() + text[1:]


# -- the site's plan ------------------------------------------------------------------------------
@dataclass(frozen=True)
class Article:
    index: int
    section: str
    title: str
    slug: str
    author: str
    published: datetime
    modified: datetime
    tags: tuple[str, ...]
    layout: str

    @property
    def path(self) -> str:
        day = self.published
        return f"/{self.section}/{day:%Y/%m/%d}/{self.slug}-{self.index}.html"


def plan_articles(count: int, seed: int) -> list[Article]:
    """Titles, sections, dates and tags of every article; oldest first, one every ~47 minutes."""
    rng = random.Random(seed)
    prose = Prose(rng)
    articles = []
    for index in range(count):
        title = prose.headline()
        slug = "-".join(word.lower().strip(".,\u201c\u201d") for word in title.split()[:7])
        published = FIRST_DATE + timedelta(minutes=47 * index + rng.randint(0, 40))
        articles.append(Article(
            index=index, section=rng.choice(SECTIONS), title=title, slug=slug,
            author=f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}", published=published,
            modified=published + timedelta(hours=rng.choice((0, 0, 1, 3, 20))),
            tags=tuple(rng.sample(TAGS, rng.randint(3, 5))), layout=rng.choice(LAYOUTS)))
    return articles


@dataclass(frozen=True)
class Site:
    base: str  # http://127.0.0.1:PORT, no trailing slash
    articles: list[Article]
    by_section: dict[str, list[Article]]  # newest first
    by_tag: dict[str, list[Article]]  # newest first
    position: dict[int, int]  # article index -> its place in by_section (a list.index() would be O(n))

    @classmethod
    def plan(cls, base: str, count: int, seed: int) -> Site:
        articles = plan_articles(count, seed)
        newest = articles[::-1]
        by_section = {name: [a for a in newest if a.section == name] for name in SECTIONS}
        by_tag = {tag: [a for a in newest if tag in a.tags] for tag in TAGS}
        position = {a.index: n for section in by_section.values() for n, a in enumerate(section)}
        return cls(base.rstrip("/"), articles, by_section, by_tag, position)

    def section_pages(self, section: str) -> int:
        return max(1, -(-len(self.by_section[section]) // SECTION_PAGE_SIZE))


def section_path(section: str, page: int = 1) -> str:
    return f"/section/{section}/" if page == 1 else f"/section/{section}/page/{page}/"


def tag_path(tag: str) -> str:
    return f"/tag/{tag}/"


def static_path(name: str) -> str:
    return f"/{name}/"


# -- HTML parts -------------------------------------------------------------------------------------
def esc(text: str) -> str:
    return html.escape(text, quote=True)


def link(href: str, text: str, cls: str = "") -> str:
    attribute = f' class="{cls}"' if cls else ""
    return f'<a href="{esc(href)}"{attribute}>{esc(text)}</a>'


def head(site: Site, title: str, path: str, extra: str = "") -> str:
    return (f'<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">\n'
            f"<title>{esc(title)} | {SITE_NAME}</title>\n"
            f'<link rel="canonical" href="{site.base}{path}">\n'
            f'<link rel="stylesheet" href="data:text/css,body%7Bmargin:0%7D">\n'
            f'<meta property="og:site_name" content="{SITE_NAME}">\n'
            f'<meta property="og:title" content="{esc(title)}">\n'
            f'<meta property="og:url" content="{site.base}{path}">\n{extra}</head>\n')


def masthead(current: str = "") -> str:
    items = "".join(f'<li{" class=active" if name == current else ""}>{link(section_path(name), name.title())}</li>'
                    for name in SECTIONS)
    return (f'<a class="skip" href="#main">Skip to content</a>\n<header class="site-header">'
            f'<div class="logo">{link("/", SITE_NAME)}</div>\n'
            f'<nav class="primary" aria-label="Sections"><ul><li>{link("/", "Home")}</li>{items}'
            f'<li>{link(static_path("newsletter"), "Newsletter")}</li></ul></nav>\n'
            '<ul class="utility">' + "".join(f"<li>{link(static_path(name), name.title())}</li>"
                                             for name in ("newsletter", "advertise", "about", "contact"))
            + "</ul>\n"
            '<form class="search" action="/search" method="get"><input name="q" type="search"></form>'
            "</header>\n")


def tag_cloud(rng: random.Random) -> str:
    chosen = rng.sample(TAGS, 24)
    return ('<div class="widget tag-cloud"><h3>Topics</h3><p>'
            + " ".join(link(tag_path(tag), tag) for tag in chosen) + "</p></div>\n")


def story_list(site: Site, articles: Sequence[Article], title: str, cls: str) -> str:
    items = "".join(f"<li>{link(a.path, a.title)}</li>" for a in articles)
    return f'<div class="widget {cls}"><h3>{esc(title)}</h3><ol>{items}</ol></div>\n'


def footer() -> str:
    sections = " ".join(link(section_path(name), name.title()) for name in SECTIONS)
    static = " ".join(link(static_path(name), name.title()) for name in STATIC_PAGES)
    social = " ".join(link(f"https://{name}.invalid/loopbackcourier", name.title())
                      for name in ("social", "video", "photos", "podcasts"))
    return (f'<footer class="site-footer"><nav class="footer-sections">{sections}</nav>\n'
            f'<nav class="footer-links">{static}</nav>\n<p class="follow">Follow us: {social}</p>\n'
            f"<p class=\"copyright\">&copy; 2026 {SITE_NAME}. All rights reserved. Registered in Loopback, "
            "company number 127001.</p></footer>\n</body>\n</html>\n")


def json_ld(site: Site, article: Article) -> str:
    data = {
        "@context": "https://schema.org", "@type": "NewsArticle", "headline": article.title,
        "author": [{"@type": "Person", "name": article.author}],
        "datePublished": article.published.isoformat(), "dateModified": article.modified.isoformat(),
        "mainEntityOfPage": site.base + article.path, "articleSection": article.section.title(),
        "keywords": list(article.tags),
        "publisher": {"@type": "Organization", "name": SITE_NAME},
    }
    return f'<script type="application/ld+json">{json.dumps(data)}</script>\n'


def article_head(site: Site, article: Article, standfirst: str) -> str:
    meta = (f'<meta name="description" content="{esc(standfirst)}">\n'
            f'<meta name="author" content="{esc(article.author)}">\n'
            '<meta property="og:type" content="article">\n'
            f'<meta property="article:published_time" content="{article.published.isoformat()}">\n'
            f'<meta property="article:modified_time" content="{article.modified.isoformat()}">\n'
            f'<meta property="article:section" content="{article.section.title()}">\n'
            + "".join(f'<meta property="article:tag" content="{tag}">\n' for tag in article.tags)
            + json_ld(site, article))
    return head(site, article.title, article.path, meta)


@dataclass(frozen=True)
class ArticleParts:
    """What every layout shows, drawn from the article's own random stream."""

    standfirst: str
    paragraphs: list[str]
    subheads: list[str]
    quote: str
    related: list[Article]  # 4 from the same section
    popular: list[Article]  # 4 from anywhere
    neighbours: list[Article]  # previous and next in the section
    cloud: str
    comments: list[tuple[str, str]]


def article_parts(site: Site, article: Article, seed: int) -> ArticleParts:
    rng = random.Random(seed * 1_000_003 + article.index)
    prose = Prose(rng)
    paragraphs = prose.words(rng.randint(500, 1500))
    section = site.by_section[article.section]
    position = site.position[article.index]
    nearby = section[max(0, position - 30):position + 30]
    candidates = [a for a in nearby if a is not article]
    related = rng.sample(candidates, min(4, len(candidates)))
    popular = rng.sample(site.articles, min(4, len(site.articles)))
    neighbours = [section[i] for i in (position - 1, position + 1) if 0 <= i < len(section)]
    comments = [(f"{rng.choice(FIRST_NAMES)}{rng.randint(1, 99)}", prose.paragraph()) for _ in range(rng.randint(0, 4))]
    return ArticleParts(standfirst=prose.sentence(), paragraphs=paragraphs,
                        subheads=[prose.headline() for _ in range(3)], quote=prose.sentence(), related=related,
                        popular=popular, neighbours=neighbours, cloud=tag_cloud(rng), comments=comments)


def body_html(parts: ArticleParts, every: int = 5) -> str:
    """Paragraphs with a subhead every few paragraphs and a quote in the middle."""
    out = []
    middle = len(parts.paragraphs) // 2
    for number, paragraph in enumerate(parts.paragraphs):
        if number and number % every == 0:
            out.append(f"<h2>{esc(parts.subheads[(number // every) % len(parts.subheads)])}</h2>\n")
        if number == middle:
            out.append(f"<blockquote><p>{esc(parts.quote)}</p></blockquote>\n")
        out.append(f"<p>{esc(paragraph)}</p>\n")
    return "".join(out)


def tag_links(article: Article) -> str:
    return " ".join(link(tag_path(tag), tag, "tag") for tag in article.tags)


def neighbour_links(parts: ArticleParts) -> str:
    return '<nav class="pager">' + " ".join(link(a.path, a.title) for a in parts.neighbours) + "</nav>\n"


def comments_html(parts: ArticleParts) -> str:
    items = "".join(f'<li class="comment"><p class="comment-author">{esc(who)}</p><p>{esc(text)}</p></li>'
                    for who, text in parts.comments)
    return (f'<section id="comments"><h3>{len(parts.comments)} comments</h3><ol>{items}</ol>'
            f'<p>{link(static_path("terms"), "Community guidelines")}</p></section>\n')


def share_links(site: Site, article: Article) -> str:
    target = site.base + article.path
    return '<div class="share">' + " ".join(link(f"https://{name}.invalid/share?u={target}", f"Share on {name}")
                                            for name in ("social", "mail")) + "</div>\n"


def classic_page(site: Site, article: Article, parts: ArticleParts) -> str:
    when = article.published
    return (article_head(site, article, parts.standfirst) + '<body class="layout-classic">\n'
            + masthead(article.section)
            + f'<div class="breadcrumbs">{link("/", "Home")} &rsaquo; '
              f'{link(section_path(article.section), article.section.title())}</div>\n'
            + '<main id="main"><article class="story">\n<header>'
            + f'<h1 class="story-title">{esc(article.title)}</h1>\n<p class="standfirst">{esc(parts.standfirst)}</p>\n'
            + f'<p class="byline">By <span class="author">{esc(article.author)}</span>, '
              f'<time datetime="{when.isoformat()}">{when:%d %B %Y, %H:%M} UTC</time></p>\n</header>\n'
            + f'<figure><img src="{PIXEL}" alt=""><figcaption>{esc(parts.quote)}</figcaption></figure>\n'
            + f'<div class="story-body">\n{body_html(parts)}</div>\n'
            + f'<footer class="story-tags">Topics: {tag_links(article)}</footer>\n'
            + share_links(site, article) + "</article>\n" + neighbour_links(parts) + "</main>\n"
            + '<aside class="sidebar">' + story_list(site, parts.related, "Related", "related")
            + story_list(site, parts.popular, "Most read", "most-read") + parts.cloud + "</aside>\n" + footer())


def blog_page(site: Site, article: Article, parts: ArticleParts) -> str:
    when = article.published
    return (article_head(site, article, parts.standfirst) + '<body class="single single-post">\n<div id="page">\n'
            + masthead(article.section) + '<div id="content" class="site-content"><div id="primary">\n'
            + f'<div id="main" class="post hentry category-{article.section}">\n'
            + f'<h2 class="entry-title">{esc(article.title)}</h2>\n'
            + f'<div class="entry-meta">Posted on <abbr class="published" title="{when.isoformat()}">'
              f'{when:%B %d, %Y}</abbr> by <span class="vcard author"><span class="fn">{esc(article.author)}'
              f'</span></span> in {link(section_path(article.section), article.section.title())}</div>\n'
            + f'<div class="entry-content">\n<p><strong>{esc(parts.standfirst)}</strong></p>\n{body_html(parts, 4)}'
            + "<ul>" + "".join(f"<li>{esc(s)}</li>" for s in parts.subheads) + "</ul>\n</div>\n"
            + f'<div class="entry-utility">Tagged {tag_links(article)}</div>\n' + share_links(site, article)
            + neighbour_links(parts) + comments_html(parts) + "</div></div>\n"
            + '<div id="secondary" class="widget-area">' + story_list(site, parts.popular, "Popular posts", "popular")
            + parts.cloud + story_list(site, parts.related, "More in " + article.section.title(), "related")
            + "</div>\n</div>\n</div>\n" + footer())


def magazine_page(site: Site, article: Article, parts: ArticleParts) -> str:
    when = article.published
    half = len(parts.paragraphs) // 2
    first = replace(parts, paragraphs=parts.paragraphs[:half])
    second = replace(parts, paragraphs=parts.paragraphs[half:])
    inline = "".join(f"<li>{link(a.path, a.title)}</li>" for a in parts.related[:2])
    return (article_head(site, article, parts.standfirst) + '<body class="magazine">\n' + masthead(article.section)
            + '<main id="main" class="article-page">\n<header class="hero">'
            + f'<p class="kicker">{link(section_path(article.section), article.section.title())}</p>\n'
            + f'<h1 class="headline">{esc(article.title)}</h1>\n<p class="dek">{esc(parts.standfirst)}</p>\n'
            + f'<div class="meta"><address class="byline">By {link(static_path("about"), article.author)}</address>'
              f' <time datetime="{when.isoformat()}">{when:%a %d %b %Y}</time></div></header>\n'
            + f'<section class="article-body" itemprop="articleBody">\n{body_html(first, 6)}'
            + f'<aside class="inline-related"><h4>Read more</h4><ul>{inline}</ul></aside>\n'
            + f'<aside class="pullquote">{esc(parts.quote)}</aside>\n{body_html(second, 6)}</section>\n'
            + f'<div class="topics">{tag_links(article)}</div>\n' + share_links(site, article)
            + neighbour_links(parts) + "</main>\n<aside class=\"rail\">"
            + story_list(site, parts.related[2:], "Related", "related")
            + story_list(site, parts.popular, "Trending", "trending") + parts.cloud + "</aside>\n"
            + comments_html(parts) + footer())


LAYOUT_PAGES = {"classic": classic_page, "blog": blog_page, "magazine": magazine_page}


def article_html(site: Site, article: Article, seed: int) -> str:
    return LAYOUT_PAGES[article.layout](site, article, article_parts(site, article, seed))


# -- listing and static pages ------------------------------------------------------------------------
def teaser(article: Article) -> str:
    return (f'<li class="teaser">{link(article.path, article.title)} <span class="when">'
            f"{article.published:%d %b %Y}</span> <span class=\"section\">{article.section.title()}</span></li>")


def listing_page(site: Site, path: str, title: str, articles: Sequence[Article], rng: random.Random,
                 pager: str = "", current: str = "") -> str:
    items = "".join(teaser(a) for a in articles)
    return (head(site, title, path) + '<body class="listing">\n' + masthead(current)
            + f'<main id="main"><h1>{esc(title)}</h1>\n<ul class="stories">{items}</ul>\n{pager}</main>\n'
            + f'<aside class="sidebar">{tag_cloud(rng)}</aside>\n' + footer())


def section_pager(section: str, page: int, pages: int) -> str:
    numbers = sorted({1, pages, *range(max(1, page - 3), min(pages, page + 3) + 1)})
    links = [link(section_path(section, n), str(n)) for n in numbers if n != page]
    if page < pages:
        links.append(link(section_path(section, page + 1), "Older stories", "next"))
    return '<nav class="pagination">' + " ".join(links) + "</nav>"


def homepage(site: Site, rng: random.Random) -> str:
    newest = site.articles[::-1]
    top = "".join(teaser(a) for a in newest[:30])
    blocks = "".join(f'<section class="front-section"><h2>{link(section_path(name), name.title())}</h2><ul>'
                     + "".join(teaser(a) for a in site.by_section[name][:5]) + "</ul></section>\n"
                     for name in SECTIONS)
    return (head(site, "News, analysis and opinion", "/") + '<body class="home">\n' + masthead()
            + f'<main id="main"><section class="top-stories"><h1>Top stories</h1><ul>{top}</ul></section>\n'
            + blocks + "</main>\n" + f'<aside class="sidebar">{tag_cloud(rng)}</aside>\n' + footer())


def static_page(site: Site, name: str, rng: random.Random) -> str:
    prose = Prose(rng)
    body = "".join(f"<p>{esc(p)}</p>\n" for p in prose.words(300))
    return (head(site, name.title(), static_path(name)) + '<body class="static">\n' + masthead()
            + f'<main id="main"><h1>{name.title()}</h1>\n{body}</main>\n' + footer())


def robots_txt(site: Site) -> str:
    return f"User-agent: *\nAllow: /\n\nSitemap: {site.base}/sitemap.xml\n"


def sitemap_files(site: Site) -> dict[str, str]:
    """``sitemap.xml``: every article (an index of parts above the 50,000-URL limit)."""
    entries = [f"<url><loc>{site.base}{a.path}</loc><lastmod>{a.modified:%Y-%m-%dT%H:%M:%SZ}</lastmod></url>"
               for a in site.articles]
    chunks = [entries[i:i + SITEMAP_LIMIT] for i in range(0, len(entries), SITEMAP_LIMIT)] or [[]]

    def urlset(chunk: list[str]) -> str:
        return ('<?xml version="1.0" encoding="UTF-8"?>\n'
                '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">\n' + "\n".join(chunk) + "\n</urlset>\n")

    if len(chunks) == 1:
        return {"sitemap.xml": urlset(chunks[0])}
    files = {f"sitemap-{n}.xml": urlset(chunk) for n, chunk in enumerate(chunks, 1)}
    index = "".join(f"<sitemap><loc>{site.base}/{name}</loc></sitemap>\n" for name in files)
    files["sitemap.xml"] = ('<?xml version="1.0" encoding="UTF-8"?>\n<sitemapindex '
                            f'xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">\n{index}</sitemapindex>\n')
    return files


# -- writing --------------------------------------------------------------------------------------------
def file_for(root: Path, path: str) -> Path:
    """Where nginx (and :func:`serve`) look for a URL path: ``/x/`` is ``x/index.html``."""
    relative = path.lstrip("/")
    return root / (relative + "index.html" if not relative or relative.endswith("/") else relative)


def html_pages(site: Site, seed: int) -> Iterator[tuple[str, str]]:
    """(URL path, HTML) of every page, generated one at a time."""
    rng = random.Random(seed + 1)
    yield "/", homepage(site, rng)
    for name in STATIC_PAGES:
        yield static_path(name), static_page(site, name, rng)
    for section in SECTIONS:
        pages = site.section_pages(section)
        for page in range(1, pages + 1):
            chunk = site.by_section[section][(page - 1) * SECTION_PAGE_SIZE:page * SECTION_PAGE_SIZE]
            title = f"{section.title()}" + (f" (page {page})" if page > 1 else "")
            yield section_path(section, page), listing_page(site, section_path(section, page), title, chunk, rng,
                                                            section_pager(section, page, pages), section)
    for tag in TAGS:
        yield tag_path(tag), listing_page(site, tag_path(tag), f"Topic: {tag}", site.by_tag[tag][:TAG_PAGE_SIZE], rng)
    for article in site.articles:
        yield article.path, article_html(site, article, seed)


@dataclass(frozen=True)
class GeneratedSite:
    root: Path
    base: str
    articles: int
    paths: list[str]  # URL path of every HTML page
    bytes: int  # of the HTML pages

    @property
    def urls(self) -> list[str]:
        return [self.base + path for path in self.paths]

    @property
    def article_paths(self) -> set[str]:
        return {p for p in self.paths if p.endswith(".html")}


def generate(root: Path, base: str, pages: int = DEFAULT_PAGES, seed: int = DEFAULT_SEED) -> GeneratedSite:
    """Write the site under ``root``; ``base`` is the URL it will be served at (for sitemap and canonicals)."""
    site = Site.plan(base, pages, seed)
    paths, total = [], 0
    for path, text in html_pages(site, seed):
        target = file_for(root, path)
        target.parent.mkdir(parents=True, exist_ok=True)
        data = text.encode("utf-8")
        target.write_bytes(data)
        paths.append(path)
        total += len(data)
    (root / "robots.txt").write_text(robots_txt(site), encoding="utf-8")
    for name, text in sitemap_files(site).items():
        (root / name).write_text(text, encoding="utf-8")
    return GeneratedSite(root=root, base=site.base, articles=pages, paths=paths, bytes=total)


# -- the Python server (when nginx is not installed) ----------------------------------------------------
CONTENT_TYPES = {".html": "text/html; charset=utf-8", ".xml": "application/xml", ".txt": "text/plain; charset=utf-8"}


def make_handler(root: Path) -> type[BaseHTTPRequestHandler]:
    resolved_root = root.resolve()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as nginx would

        def log_message(self, format: str, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            target = file_for(resolved_root, self.path.split("?", 1)[0].split("#", 1)[0])
            try:
                # Read per request rather than preloading: at 50,000 pages the site is ~1 GB, and
                # the page cache makes a read a few microseconds.
                body = target.read_bytes() if target.resolve().is_relative_to(resolved_root) else None
            except OSError:
                body = None
            status = 200 if body is not None else 404
            body = body if body is not None else b"not found\n"
            head = (f"HTTP/1.1 {status} {'OK' if status == 200 else 'Not Found'}\r\n"
                    f"Content-Type: {CONTENT_TYPES.get(target.suffix, 'text/plain') if status == 200 else 'text/plain'}"
                    f"\r\nContent-Length: {len(body)}\r\n\r\n")
            # One write for head and body: fewer syscalls than send_response/send_header.
            self.wfile.write(head.encode("latin-1") + body)

    return Handler


def serve(root: Path, port: int) -> None:
    server = ThreadingHTTPServer(("127.0.0.1", port), make_handler(root))
    server.daemon_threads = True
    print(server.server_address[1], flush=True)
    server.serve_forever()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    gen = commands.add_parser("generate", help="write the site into DIR")
    gen.add_argument("root", type=Path, metavar="DIR")
    gen.add_argument("--base", required=True, help="the URL the site will be served at, e.g. http://127.0.0.1:8080")
    gen.add_argument("--pages", type=int, default=DEFAULT_PAGES, help=f"articles (default {DEFAULT_PAGES})")
    gen.add_argument("--seed", type=int, default=DEFAULT_SEED)
    srv = commands.add_parser("serve", help="serve DIR on 127.0.0.1 and print the port")
    srv.add_argument("root", type=Path, metavar="DIR")
    srv.add_argument("--port", type=int, default=0)
    args = parser.parse_args(argv)
    if args.command == "generate":
        site = generate(args.root, args.base, args.pages, args.seed)
        print(f"{len(site.paths)} HTML pages ({site.articles} articles), {site.bytes / 2**20:.1f} MiB in {site.root}")
    else:
        serve(args.root, args.port)
    return 0


if __name__ == "__main__":
    sys.exit(main())
