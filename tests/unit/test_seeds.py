"""seeds: seed lists and URL validation (examples, then properties), and the seed sources: sitemaps, feeds,
robots.txt and <link> discovery, on real fixture files (tests/fixtures/sources)."""

from __future__ import annotations

import gzip
import io
import re
import string
import tracemalloc
import zlib
from datetime import date
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scraper.scope import (
    url_key,
)
from scraper.seeds import (
    MAX_SOURCE_BYTES,
    DiscoveredSources,
    InvalidSeed,
    SeedSourceError,
    Sitemap,
    SourceEntry,
    dedupe_seeds,
    discover_sources,
    gunzip_limited,
    is_since,
    parse_feed,
    parse_seed_lines,
    parse_since,
    parse_sitemap,
    seed_url,
    sitemaps_from_robots,
    validate_url,
)
from tests.unit.helpers.strategies import MID, URL_PROPS, Url, _validation_error, spell, spelled

SOURCES = Path(__file__).resolve().parents[1] / "fixtures" / "sources"
MIB = 1024 * 1024


def fixture(name: str) -> bytes:
    return (SOURCES / name).read_bytes()


def gzip_bomb(size: int) -> bytes:
    """gzip of ``size`` bytes of '<', compressed a MiB at a time so the test itself never holds them all."""
    packer = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    block = b"<" * MIB
    parts = [packer.compress(block) for _ in range(size // MIB)]
    return b"".join([*parts, packer.flush()])


# --- gunzip_limited --------------------------------------------------------------------------------------------------

def test_gunzip_passes_plain_bytes_through_and_inflates_gzip() -> None:
    plain = fixture("sitemap_urlset.xml")
    assert gunzip_limited(plain) == plain
    assert gunzip_limited(gzip.compress(plain)) == plain
    # concatenated members, as `cat a.gz b.gz` makes, are joined like gunzip does
    assert gunzip_limited(gzip.compress(b"<a/>") + gzip.compress(b"<b/>")) == b"<a/><b/>"


def test_gunzip_limit_is_inclusive() -> None:
    packed = gzip.compress(b"x" * 1000)
    assert gunzip_limited(packed, max_bytes=1000) == b"x" * 1000
    with pytest.raises(SeedSourceError, match="larger than 999 bytes when decompressed"):
        gunzip_limited(packed, max_bytes=999)


def test_gzip_bomb_is_refused_without_inflating_it() -> None:
    bomb = gzip_bomb(60 * MIB)
    assert len(bomb) < MIB  # 60 MiB of '<' compress to ~60 KiB
    tracemalloc.start()
    try:
        with pytest.raises(SeedSourceError, match=r"larger than 1048576 bytes when decompressed") as caught:
            gunzip_limited(bomb, max_bytes=MIB)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert "\n" not in str(caught.value)
    assert peak < 8 * MIB, f"inflated {peak} bytes for a 1 MiB limit"


@pytest.mark.parametrize("damage", ["flipped", "truncated"])
def test_corrupt_gzip_is_a_seed_source_error(damage: str) -> None:
    packed = bytearray(gzip.compress(fixture("sitemap_urlset.xml")))
    if damage == "flipped":
        packed[len(packed) // 2] ^= 0xFF
        packed[len(packed) // 2 + 1] ^= 0xFF
    else:
        del packed[len(packed) // 2:]
    with pytest.raises(SeedSourceError, match="corrupt gzip data"):
        gunzip_limited(bytes(packed))


# --- parse_sitemap ---------------------------------------------------------------------------------------------------

def test_sitemap_index_and_its_children_one_gzipped() -> None:
    index = parse_sitemap(fixture("sitemap_index.xml"), "https://www.example.com/sitemap_index.xml")
    assert index == Sitemap(kind="sitemapindex", entries=[
        SourceEntry("https://www.example.com/sitemap_urlset.xml", "2024-03-04T08:15:02+00:00"),
        SourceEntry("https://www.example.com/sitemap_images.xml.gz", "2024-02-28"),
    ])
    pages: list[str] = []
    for child in index.entries:
        name = child.url.rsplit("/", 1)[1]
        body = gzip.compress(fixture(name.removesuffix(".gz"))) if name.endswith(".gz") else fixture(name)
        sitemap = parse_sitemap(body, child.url)
        assert sitemap.kind == "urlset"
        pages += [entry.url for entry in sitemap.entries]
    assert "https://www.example.com/contact/" in pages  # from the plain child
    assert "https://www.example.com/gallery/winter.html" in pages  # from the gzipped child
    assert len(pages) == 9


def test_urlset_resolves_relative_drops_garbage_and_keeps_first_duplicate() -> None:
    sitemap = parse_sitemap(fixture("sitemap_urlset.xml"), "https://www.example.com/sitemap_urlset.xml")
    assert sitemap.kind == "urlset"
    assert [(e.url, e.date) for e in sitemap.entries] == [
        ("https://www.example.com/", "2024-03-04T08:15:02+00:00"),   # the later duplicate's 2020 date is not used
        ("https://www.example.com/2024/03/01/late-night-post/", "2024-03-01T23:30:00-05:00"),  # loc stripped
        ("https://www.example.com/2024/02/29/leap-day/", "2024-02-29"),
        ("https://www.example.com/about/", "2023-12-01T10:00:00+00:00"),  # relative loc; 'Z' and no seconds
        ("https://www.example.com/search?q=caf%C3%A9&page=2", "not a date"),  # unreadable date kept as given
        ("https://www.example.com/tag?id=5&sort=new", "2024-01-15"),  # bare '&' not eaten by recover mode
        ("https://www.example.com/contact/", None),
    ]
    assert all(e.title is None and e.images == () for e in sitemap.entries)


def test_news_sitemap_publication_date_wins_over_lastmod_and_keeps_its_offset() -> None:
    sitemap = parse_sitemap(fixture("sitemap_news.xml"), "https://news.example.de/news-sitemap.xml")
    assert sitemap.entries == [
        SourceEntry("https://news.example.de/politik/2024/03/01/wahl-ergebnis.html", "2024-03-01T23:45:00+02:00",
                    "Wahl: Ergebnis & Reaktionen"),
        SourceEntry("https://news.example.de/sport/2024/02/29/finale.html", "2024-02-29", "Finale"),
        SourceEntry("https://news.example.de/kultur/2024/02/28/ausstellung.html", "2024-02-28T12:00:00.250000+01:00"),
    ]


def test_image_sitemap_collects_absolute_image_urls_once() -> None:
    sitemap = parse_sitemap(fixture("sitemap_images.xml"), "https://www.example.com/sitemap_images.xml")
    assert sitemap.entries == [
        SourceEntry("https://www.example.com/gallery/spring.html", "2024-02-27",
                    images=("https://cdn.example.com/img/spring-1.jpg", "https://www.example.com/img/spring-2.png")),
        SourceEntry("https://www.example.com/gallery/winter.html", None),
    ]


def test_sitemap_without_or_with_undeclared_namespaces_still_parses() -> None:
    body = (b"<urlset><url><loc>http://a.test/1</loc><news:news><news:publication_date>2024-01-02"
            b"</news:publication_date><news:title>T</news:title></news:news></url></urlset>")
    assert parse_sitemap(body, "http://a.test/s.xml").entries == [SourceEntry("http://a.test/1", "2024-01-02", "T")]


def test_gzipped_sitemap_and_sitemap_gzip_bomb() -> None:
    body = gzip.compress(fixture("sitemap_news.xml"))
    assert len(parse_sitemap(body, "https://news.example.de/news.xml.gz").entries) == 3
    with pytest.raises(SeedSourceError, match=r"^https://x\.test/s\.xml\.gz: sitemap larger than 1048576 bytes"):
        parse_sitemap(gzip_bomb(60 * MIB), "https://x.test/s.xml.gz", max_bytes=MIB)


def test_plain_sitemap_over_the_limit_is_refused() -> None:
    body = fixture("sitemap_urlset.xml")
    with pytest.raises(SeedSourceError, match="larger than 100 bytes"):
        parse_sitemap(body, "https://www.example.com/s.xml", max_bytes=100)
    assert MAX_SOURCE_BYTES == 50 * MIB


def test_billion_laughs_sitemap_is_not_expanded() -> None:
    try:
        entries = parse_sitemap(fixture("bomb_sitemap.xml"), "https://bomb.example.com/sitemap.xml").entries
    except SeedSourceError as exc:  # libxml2 >= 2.11 stops on its entity amplification limit: refused as a whole
        assert "safety limits" in str(exc)
        assert "\n" not in str(exc)
    else:  # an older libxml2 leaves the reference unexpanded: that <loc> is skipped, the rest is kept
        assert [e.url for e in entries] == ["https://bomb.example.com/safe"]


def test_entity_references_and_external_entities_are_never_resolved() -> None:
    body = (b'<?xml version="1.0"?>\n<!DOCTYPE urlset [\n  <!ENTITY word "expanded">\n'
            b'  <!ENTITY xxe SYSTEM "file://' + str(SOURCES / "robots_good.txt").encode() + b'">\n]>\n'
            b'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">\n'
            b"<url><loc>https://a.test/&word;</loc></url>\n"
            b"<url><loc>https://a.test/&xxe;</loc></url>\n"
            b"<url><loc>https://a.test/plain</loc></url>\n</urlset>\n")
    sitemap = parse_sitemap(body, "https://a.test/sitemap.xml")
    assert [e.url for e in sitemap.entries] == ["https://a.test/plain"]


@pytest.mark.parametrize(("name", "looks"), [
    ("html_as_feed.html", "looks like HTML"),
    ("page_with_links.html", "looks like HTML"),
    ("feed_rss20.xml", "looks like an RSS feed"),
    ("feed_rss10.rdf", "looks like an RSS 1.0 (RDF) feed"),
    ("feed_atom10.xml", "looks like an Atom feed"),
])
def test_not_a_sitemap_says_what_it_looks_like(name: str, looks: str) -> None:
    with pytest.raises(SeedSourceError) as caught:
        parse_sitemap(fixture(name), "https://x.test/sitemap.xml")
    assert str(caught.value) == f"https://x.test/sitemap.xml is not a sitemap ({looks})"


@pytest.mark.parametrize(("body", "looks"), [
    (b"", "it is empty"),
    (b"\x00\x01\x02garbage\xff", "not XML"),
    (b"User-agent: *\nDisallow: /\n", "not XML"),
    (b'{"version": "https://jsonfeed.org/version/1.1", "items": []}', "looks like JSON"),
    (b"<?xml version='1.0'?><opml version='2.0'><body/></opml>", "root element <opml>"),
])
def test_garbage_is_not_a_sitemap(body: bytes, looks: str) -> None:
    with pytest.raises(SeedSourceError, match=r"^https://x\.test/s\.xml is not a sitemap \(.*" + looks):
        parse_sitemap(body, "https://x.test/s.xml")


# --- parse_feed ------------------------------------------------------------------------------------------------------

def test_rss20_dates_keep_their_offset_and_permalink_guid_is_the_link() -> None:
    entries = parse_feed(fixture("feed_rss20.xml"), "https://blog.example.org/feed/")
    assert entries == [
        SourceEntry("https://blog.example.org/2024/03/01/late-night/", "2024-03-01T23:30:00-05:00", "Late night post"),
        SourceEntry("https://blog.example.org/2024/02/29/leap-day/", "2024-02-29T08:00:00+00:00", "Permalink only"),
        SourceEntry("https://blog.example.org/2024/02/20/relative/", "2024-02-20T12:00:00+01:00", "Relative link"),
        SourceEntry("https://blog.example.org/undated/", None, "No date"),
    ]


def test_rss10_rdf_uses_dc_date() -> None:
    entries = parse_feed(fixture("feed_rss10.rdf"), "https://journal.example.net/index.rdf")
    assert entries == [
        SourceEntry("https://journal.example.net/entry/2024/03/03/tokyo", "2024-03-03T01:30:00+09:00",
                    "Evening in Tokyo"),
        SourceEntry("https://journal.example.net/entry/2024/02/01/day", "2024-02-01", "A day"),
    ]


def test_rss091_with_netscape_doctype_and_html_entities() -> None:
    entries = parse_feed(fixture("feed_rss091.xml"), "http://oldschool.example.com/rss.xml")
    assert entries == [
        SourceEntry("http://oldschool.example.com/news/cafe.html", None, "Café opens"),
        SourceEntry("http://oldschool.example.com/news/second.html", "2024-03-04T06:00:00-05:00", "Second story"),
    ]


def test_atom_uses_alternate_link_published_then_updated_and_plain_titles() -> None:
    entries = parse_feed(fixture("feed_atom10.xml"), "https://atom.example.com/blog/feed.atom")
    assert entries == [
        SourceEntry("https://atom.example.com/blog/2024/03/first", "2024-03-01T23:30:00-05:00", "First & foremost"),
        SourceEntry("https://atom.example.com/blog/2024/02/second", "2024-02-15T10:00:00+01:00",
                    "Only updated, relative link"),  # relative href resolved against xml:base
    ]


def test_gzipped_feed() -> None:
    entries = parse_feed(gzip.compress(fixture("feed_atom10.xml")), "https://atom.example.com/blog/feed.atom.gz")
    assert [e.url for e in entries] == ["https://atom.example.com/blog/2024/03/first",
                                        "https://atom.example.com/blog/2024/02/second"]


def test_html_served_as_a_feed_is_refused() -> None:
    with pytest.raises(SeedSourceError) as caught:
        parse_feed(fixture("html_as_feed.html"), "https://blog.example.org/feed/")
    assert str(caught.value) == "https://blog.example.org/feed/ is not an RSS or Atom feed (looks like HTML)"


@pytest.mark.parametrize(("name", "looks"), [("sitemap_urlset.xml", "looks like a sitemap"),
                                              ("robots_good.txt", "not XML")])
def test_other_documents_are_not_feeds(name: str, looks: str) -> None:
    with pytest.raises(SeedSourceError, match=looks):
        parse_feed(fixture(name), "https://x.test/feed")


def test_feed_bytes_are_never_taken_for_a_file_name() -> None:
    # feedparser.parse(b"/path/to/file") would read that file; the body must be parsed as data only
    with pytest.raises(SeedSourceError, match="not an RSS or Atom feed"):
        parse_feed(str(SOURCES / "feed_rss20.xml").encode(), "https://x.test/feed")


@pytest.mark.parametrize("body", [
    b'<?xml version="1.0"?><rss version="2.0"><channel><title>Quiet</title><link>https://q.test/</link>'
    b"<description>nothing yet</description></channel></rss>",
    b'<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom"><title>Quiet</title>'
    b"<id>urn:x</id><updated>2024-01-01T00:00:00Z</updated></feed>",
])
def test_valid_feed_without_entries_is_empty(body: bytes) -> None:
    assert parse_feed(body, "https://q.test/feed") == []


# --- discover_sources ------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("as_text", [False, True])
def test_discover_feeds_and_sitemap_links_against_base_href(as_text: bool) -> None:
    raw = fixture("page_with_links.html")
    html: str | bytes = raw.decode("utf-8") if as_text else raw
    found = discover_sources(html, "https://mirror.example.org/en/index.html")
    assert found == DiscoveredSources(
        feeds=["https://mag.example.com/en/feeds/all.rss",   # relative href resolved against <base href>
               "https://mag.example.com/feeds/all.atom",
               "https://other.example.net/comments.xml"],    # rel/type case-insensitive, '; charset' ignored
        sitemaps=["https://mag.example.com/sitemap.xml"],
    )


def test_discover_without_base_href_uses_page_url() -> None:
    html = ('<?xml version="1.0" encoding="utf-8"?><html><head>'
            '<link rel="alternate feed" type="application/atom+xml" href="../atom.xml">'
            '<link rel="sitemap" href="sitemap.xml.gz"></head><body></body></html>')
    assert discover_sources(html, "https://a.test/blog/post.html") == DiscoveredSources(
        feeds=["https://a.test/atom.xml"], sitemaps=["https://a.test/blog/sitemap.xml.gz"])


@pytest.mark.parametrize("html", ["", b"", b"\x00\xff\xfe", "just text, no links", fixture("robots_garbage.txt")])
def test_discover_in_garbage_finds_nothing(html: str | bytes) -> None:
    assert discover_sources(html, "https://a.test/") == DiscoveredSources(feeds=[], sitemaps=[])


# --- sitemaps_from_robots --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("as_text", [False, True])
def test_robots_sitemap_lines_become_absolute_urls(as_text: bool) -> None:
    raw = fixture("robots_good.txt")
    robots: str | bytes = "\ufeff" + raw.decode("utf-8") if as_text else raw
    assert sitemaps_from_robots(robots, "https://www.example.com/robots.txt") == [
        "https://www.example.com/sitemap_index.xml", "https://www.example.com/news-sitemap.xml"]


@pytest.mark.parametrize("robots", [fixture("robots_garbage.txt"), b"", "\x00" * 10, "Sitemap: javascript:x\n",
                                    fixture("html_as_feed.html")])
def test_garbage_robots_names_no_sitemaps(robots: str | bytes) -> None:
    assert sitemaps_from_robots(robots, "https://www.example.com/robots.txt") == []


# --- parse_since / is_since ------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "expected"), [
    ("2024-03-01", date(2024, 3, 1)),
    (" 2024-03-01\n", date(2024, 3, 1)),
    ("2024-03-01T23:30:00-05:00", date(2024, 3, 1)),
    ("2024-03-01T02:00:00Z", date(2024, 3, 1)),
])
def test_parse_since(text: str, expected: date) -> None:
    assert parse_since(text) == expected


@pytest.mark.parametrize("text", ["", "yesterday", "2024-3-1", "2024-13-01", "2024-02-30", "01/03/2024", "2024-03",
                                  "20240301", "2024-03-01T25:00", "2024-03-01\nrm -rf"])
def test_parse_since_rejects_other_text_in_one_line(text: str) -> None:
    with pytest.raises(ValueError, match="YYYY-MM-DD") as caught:
        parse_since(text)
    assert "\n" not in str(caught.value)


@pytest.mark.parametrize(("entry_date", "expected"), [
    ("2024-03-01T23:30:00-05:00", True),    # March 2nd in UTC, but published on March 1st where it was written
    ("2024-03-02T00:30:00+02:00", True),
    ("2024-03-01T00:30:00+02:00", True),    # still Feb 29th in UTC
    ("2024-02-29T23:59:59-12:00", False),   # already March 1st in UTC
    ("2024-03-01T00:00:00Z", True),
    ("2024-02-29T23:59:59Z", False),
    ("2024-03-01", True),
    ("2024-02-29", False),
    ("2024-03-01T10:00:00", True),          # no offset at all
    (None, False),
    ("", False),
    ("not a date", False),
    ("2024-03", False),                     # reduced precision: the day is unknown
])
def test_is_since_uses_the_entrys_own_calendar_day(entry_date: str | None, expected: bool) -> None:
    assert is_since(entry_date, date(2024, 3, 1)) is expected


def test_late_evening_with_negative_offset_is_not_the_next_day() -> None:
    assert not is_since("2024-03-01T23:30:00-05:00", date(2024, 3, 2))  # in UTC it would be 2024-03-02T04:30
    assert is_since("2024-03-01T23:30:00-05:00", date(2024, 3, 1))


def test_source_dates_feed_is_since() -> None:
    since = parse_since("2024-03-01")
    entries = parse_feed(fixture("feed_rss20.xml"), "https://blog.example.org/feed/")
    assert [e.url for e in entries if is_since(e.date, since)] == ["https://blog.example.org/2024/03/01/late-night/"]


def test_seed_lines_skip_comments_blanks_and_bom() -> None:
    lines = ["\ufeff# my seeds\r\n", "https://a.test/1\r\n", "\n", "   \n", "https://a.test/2#frag  # note\n",
             "  http://b.test/x?q=1  \n"]
    assert parse_seed_lines(lines) == ["https://a.test/1", "https://a.test/2#frag", "http://b.test/x?q=1"]


@pytest.mark.parametrize(("raw", "message"), [
    ("example.com/page", "http:// or https://"),
    ("ftp://example.com/file", "scheme 'ftp'"),
    ("javascript:alert(1)", "http:// or https://"),
    ("http://", "no host"),
    ("http://exa mple.com/", "white space"),
    ("http://example.com:99999/", "invalid URL"),
])
def test_invalid_urls_are_named(raw: str, message: str) -> None:
    with pytest.raises(InvalidSeed, match=message.replace("?", r"\?")):
        validate_url(raw)


def test_bad_line_is_reported_with_its_number() -> None:
    with pytest.raises(InvalidSeed, match="line 3"):
        parse_seed_lines(["https://a.test/", "# c", "not a url"])


def test_dedupe_keeps_first_spelling() -> None:
    assert dedupe_seeds(["http://a.test/p#x", "http://a.test/p", "http://a.test/q"]) == [
        "http://a.test/p#x", "http://a.test/q"]


@pytest.mark.parametrize(("typed", "url"), [
    ("example.com/news/", "https://example.com/news/"),
    ("  www.example.com  ", "https://www.example.com"),
    ("localhost:8080/x", "https://localhost:8080/x"),
    ("localhost:8080", "https://localhost:8080"),
    ("127.0.0.1/x?q=1", "https://127.0.0.1/x?q=1"),
    ("10.0.0.7:8443#top", "https://10.0.0.7:8443#top"),
    ("[::1]:8080/x", "https://[::1]:8080/x"),
    ("bücher.test/x", "https://bücher.test/x"),
    ("//example.com/x", "https://example.com/x"),  # scheme-relative
    ("http://example.com/x", "http://example.com/x"),  # a scheme given is kept
    ("HTTPS://example.com/x", "HTTPS://example.com/x"),
])
def test_a_url_without_a_scheme_is_taken_as_https(typed: str, url: str) -> None:
    assert seed_url(typed) == url


@pytest.mark.parametrize(("typed", "message"), [
    ("ftp://example.com/f", "scheme 'ftp' is not supported"),
    ("mailto:me@example.com", "http:// or https://"),
    ("javascript:alert(1)", "http:// or https://"),
    ("data:text/html,hi", "http:// or https://"),
    ("localhost:", "http:// or https://"),  # no port after the colon: a scheme, and not ours
    ("http:/x", "no host"),
    ("example.com:99999/", "Port out of range"),
    ("exa mple.com/", "white space"),
    ("", "empty URL"),
])
def test_what_is_not_a_web_address_is_still_refused(typed: str, message: str) -> None:
    with pytest.raises(InvalidSeed, match=message):
        seed_url(typed)


def test_validate_url_itself_still_wants_the_scheme() -> None:
    with pytest.raises(InvalidSeed, match="http:// or https://"):
        validate_url("example.com/news/")


def test_a_seed_file_takes_lines_without_a_scheme_as_https() -> None:
    lines = ["# seeds\n", "example.com/news/\n", "http://b.test/x  # note\n", "127.0.0.1:8080/y\n"]
    assert parse_seed_lines(lines) == ["https://example.com/news/", "http://b.test/x", "https://127.0.0.1:8080/y"]
    with pytest.raises(InvalidSeed, match=r"^line 2: .*scheme 'ftp'"):
        parse_seed_lines(["a.test/", "ftp://a.test/f"])


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=40))
def test_seed_url_gives_a_valid_url_or_one_line_invalid_seed(raw: str) -> None:
    """Whatever is typed: a URL validate_url accepts unchanged, or a one-line InvalidSeed; and a URL
    validate_url accepts as it is comes back unchanged."""
    try:
        url = seed_url(raw)
    except InvalidSeed as exc:
        assert len(str(exc).splitlines()) == 1
        return
    assert validate_url(url) == url
    try:
        strict = validate_url(raw)
    except InvalidSeed:
        assert url.startswith("https://")
        return
    assert url == strict


# ===========================================================================================
# Seeds
# ===========================================================================================

# Seed URLs as people write them (no '#': the fragment rules are url_key's business, not the file format's).
valid_seed_urls = st.builds(
    lambda scheme, host, path: f"{scheme}://{host}/{path}", st.sampled_from(["http", "https", "HTTPS"]),
    st.sampled_from(["a.test", "A.Test:443", "bücher.de", "xn--bcher-kva.de", "[2001:db8::1]", "127.0.0.1:8080",
                     "user:pw@a.test"]),
    st.text(alphabet=string.ascii_letters + string.digits + "-._~/%?=&;:@!$'()*+,\\éü€中", max_size=12))
SPACES = " \t\u00a0\u3000\x0b\x0c\u2003"
blanks = st.text(alphabet=SPACES, max_size=3)
comment_text = st.text(max_size=12).map(lambda t: t.replace("\r", "").replace("\n", ""))


def _read(data: bytes, encoding: str) -> list[str]:
    """As the CLI reads a seed file (utf-8-sig, universal newlines) or stdin (utf-8)."""
    return parse_seed_lines(io.TextIOWrapper(io.BytesIO(data), encoding=encoding))


@st.composite
def messy_lines(draw: st.DrawFn, urls_: list[str]) -> list[str]:
    """The lines of a hand-edited seed file holding ``urls_``: blank and comment lines, white space
    around URLs, inline comments (white space, then '#')."""
    lines: list[str] = []
    for url in urls_:
        for _ in range(draw(st.integers(0, 2))):
            lines.append(draw(st.one_of(blanks, st.builds(lambda a, b: a + "#" + b, blanks, comment_text))))
        line = draw(blanks) + url + draw(blanks)
        if draw(st.booleans()):
            line += draw(st.text(alphabet=SPACES, min_size=1, max_size=2)) + "#" + draw(comment_text)
        lines.append(line)
    return lines + draw(st.lists(st.one_of(blanks, st.builds(lambda a: "# " + a, comment_text)), max_size=2))


@st.composite
def seed_file(draw: st.DrawFn, lines: list[str]) -> bytes:
    """The bytes of a file holding ``lines``: a UTF-8 BOM or not, LF, CRLF or CR line ends."""
    text = ""
    for line in lines:
        # Each line its own line end; but "\r" then an empty line ended by "\n" would be one "\r\n".
        ends = ["\r\n", "\r"] if text.endswith("\r") and not line else ["\n", "\r\n", "\r"]
        text += line + draw(st.sampled_from(ends))
    if lines and not draw(st.booleans()):
        text = text.rstrip("\r\n")  # no line end after the last line
    return (b"\xef\xbb\xbf" if draw(st.booleans()) else b"") + text.encode("utf-8")


@URL_PROPS
@given(st.lists(valid_seed_urls, max_size=5), st.data())
def test_seed_file_noise_does_not_change_the_urls(urls_: list[str], data: st.DataObject) -> None:
    clean = ("\n".join(urls_) + "\n").encode("utf-8")
    assert _read(clean, "utf-8-sig") == urls_
    messy = data.draw(seed_file(data.draw(messy_lines(urls_))))
    assert _read(messy, "utf-8-sig") == urls_
    assert _read(messy, "utf-8") == urls_  # stdin: the BOM is not stripped by the decoder


garbage = st.one_of(
    st.sampled_from(["javascript:alert(1)", "data:text/html,hi", "ftp://a.test/f", "example.com/page", "http://",
                     "https:///path", "http://exa mple.com/", "http://a.test:99999/", "http://a.test:0/",
                     "mailto:me@a.test", "//a.test/", "http://[::1/", "www.a.test", "\x00", "http://a.test:x/"]),
    st.text(max_size=20),
).map(lambda t: t.replace("\r", "").replace("\n", "")).filter(
    lambda t: "#" not in t and "\ufeff" not in t and t.strip() != "" and _validation_error(t.strip()) is not None)


@URL_PROPS
@given(st.lists(valid_seed_urls, max_size=4), garbage, st.data())
def test_a_garbage_line_is_reported_with_its_line_number(urls_: list[str], bad: str, data: st.DataObject) -> None:
    lines = data.draw(messy_lines(urls_))
    index = data.draw(st.integers(0, len(lines)))
    lines.insert(index, bad)
    with pytest.raises(InvalidSeed) as raised:
        _read(data.draw(seed_file(lines)), "utf-8-sig")
    message = str(raised.value)
    assert message == f"line {index + 1}: {_validation_error(bad.strip())}"
    assert len(message.splitlines()) == 1


@MID
@given(st.lists(st.text(max_size=30), max_size=6))
def test_seed_parser_raises_only_invalid_seed(lines: list[str]) -> None:
    try:
        found = parse_seed_lines(lines)
    except InvalidSeed as exc:
        number = re.match(r"line (\d+): ", str(exc))
        assert number and 1 <= int(number.group(1)) <= len(lines)
        assert len(str(exc).splitlines()) == 1
        return
    assert all(validate_url(url) == url for url in found)


arbitrary_urlish = st.one_of(
    st.text(),
    st.builds(lambda prefix, rest: prefix + rest,
              st.sampled_from(["http://", "https://", "HTTPS://", "javascript:", "data:", "ftp://", "mailto:",
                               " http://", "http:// ", "\x00http://", "http://\x01", "file:///", "http:", "//"]),
              st.text(max_size=40)),
    st.builds(lambda n, c: "http://a.test/" + c * n, st.integers(0, 100_000), st.characters()),
)


@MID
@given(arbitrary_urlish)
def test_validate_url_returns_an_http_url_or_raises_invalid_seed(raw: str) -> None:
    try:
        url = validate_url(raw)
    except InvalidSeed as exc:
        assert len(str(exc).splitlines()) == 1
        assert str(exc) == "empty URL" or str(exc).startswith("invalid URL ")
        return
    assert url == raw.strip()
    assert re.match(r"(?i)https?://", url), url
    parts = urlsplit(url)
    assert parts.scheme in ("http", "https") and parts.hostname
    assert not any(ch.isspace() for ch in url)
    assert validate_url(url) == url


def test_validate_url_refuses_control_characters_and_misplaced_brackets() -> None:
    """Regressions: ``"\\x08http://a.test/"`` was returned as a valid http URL (urlsplit skips leading
    C0 controls), and ``"http://a.test[::1]/"`` was accepted though url_key() and Scrapy raise on it."""
    for raw in ("\x08http://a.test/", "http://a.test/\x07", "http://a\x1bb.test/", "http://a.test/\x7f"):
        with pytest.raises(InvalidSeed, match="control character"):
            validate_url(raw)
    for raw in ("http://a.test[::1]/", "http://[::1]x/", "http://u@a[::1]:80/", "http://[::1]user:pw@a.test"):
        with pytest.raises(InvalidSeed, match="Invalid IPv6 URL"):
            validate_url(raw)
    for raw in ("http://\\", "http://a.test\\evil.test/", "http://\u00a8/"):  # no host, or not the one url_key sees
        with pytest.raises(InvalidSeed, match="invalid host name"):
            validate_url(raw)
    assert validate_url("http://u@[::1]:80/p[1]?q=[2]") == "http://u@[::1]:80/p[1]?q=[2]"


@URL_PROPS
@given(st.lists(spelled(), max_size=4), st.data())
def test_dedupe_keeps_the_first_spelling_of_each_page(cases: list[tuple[Url, str]], data: st.DataObject) -> None:
    pool = [text for _url, text in cases]
    for _ in range(data.draw(st.integers(0, 3)) if cases else 0):  # other spellings of some of them, anywhere
        url = data.draw(st.sampled_from(cases))[0]
        pool.insert(data.draw(st.integers(0, len(pool))), data.draw(spell(url)))
    keys = [url_key(u) for u in pool]
    out = dedupe_seeds(pool)
    assert out == [u for i, u in enumerate(pool) if keys[i] not in keys[:i]]  # the first of each, in order
    assert len({url_key(u) for u in out}) == len(out) == len(set(keys))
    assert dedupe_seeds(out) == out
    assert dedupe_seeds(pool + pool) == out


@URL_PROPS
@given(spelled(), st.data())
def test_dedupe_of_spellings_of_one_page_is_the_first(case: tuple[Url, str], data: st.DataObject) -> None:
    url, first = case
    others = data.draw(st.lists(spell(url), max_size=4))
    assert dedupe_seeds([first, *others]) == [first]
