"""A real HTTP/1.1 server on 127.0.0.1, port 0, serving a small site for crawl tests.

Real pages come from ``tests/fixtures/pages``; the rest are the awkward cases an
archiver must store faithfully: gzip bodies, redirects, errors, repeated
headers, query strings, a PDF, chunked transfer coding (plain, and over gzip),
an HTTP/1.0 answer without Content-Length, and a robots.txt rule.
"""

from __future__ import annotations

import gzip
import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

PAGES_DIR = Path(__file__).parent / "fixtures" / "pages"


def golden_pages() -> dict[str, Path]:
    return {p.name: p for p in sorted(PAGES_DIR.iterdir()) if (p / "page.html").is_file()}


def expected_for(name: str) -> dict:
    return json.loads((PAGES_DIR / name / "expected.json").read_text(encoding="utf-8"))


def make_pdf(text: str) -> bytes:
    """A minimal, valid one-page PDF (correct xref offsets)."""
    stream = f"BT /F1 12 Tf 72 720 Td ({text}) Tj ET".encode()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    for offset in offsets:
        out += b"%010d 00000 n \n" % offset
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


SMALL_PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{title}</title></head>
<body><h1>{title}</h1><p>{body}</p></body></html>"""

ROBOTS = "User-agent: *\nDisallow: /private/\nSitemap: /sitemap_index.xml\n"


@dataclass
class LivePage:
    """A page whose answer a test sets: status, body, headers, and validators for 304s."""

    body: bytes = b""
    status: int = 200
    headers: list[tuple[str, str]] = field(default_factory=list)
    etag: str | None = None
    last_modified: str | None = None


def live_article(title: str, paragraphs: list[str], most_read: list[str]) -> bytes:
    """A news article page: the article, plus a "most read" box that changes on its own."""
    body = "".join(f"<p>{p}</p>" for p in paragraphs)
    box = "".join(f"<li><a href='/live/x{i}'>{item}</a></li>" for i, item in enumerate(most_read))
    return (f"<!doctype html><html lang='en'><head><meta charset='utf-8'><title>{title}</title>"
            f"<meta name='author' content='Ann Writer'></head><body><nav><a href='/'>Home</a></nav>"
            f"<article><h1>{title}</h1>{body}</article><aside><h2>Most read</h2><ul>{box}</ul></aside>"
            f"<footer>Copyright Test News</footer></body></html>").encode()


@dataclass
class Site:
    """The running server; ``requests`` logs every request line it answered."""

    host: str
    port: int
    requests: list[str] = field(default_factory=list)
    times: list[tuple[float, str]] = field(default_factory=list)  # (monotonic time, path) of each request
    error_hits: int = 0
    robots: str = ROBOTS
    hits: dict[str, int] = field(default_factory=dict)
    live: dict[str, LivePage] = field(default_factory=dict)  # /live/<name>: pages a test changes
    conditional: list[tuple[str, str]] = field(default_factory=list)  # (path, If-None-Match/-Modified-Since)

    @property
    def base(self) -> str:
        return f"http://{self.host}:{self.port}"

    def url(self, path: str) -> str:
        return self.base + path

    def paths_requested(self) -> list[str]:
        return [line.split(" ")[1] for line in self.requests]


def index_html(site_pages: list[str]) -> str:
    links = [f'<li><a href="/articles/{name}.html">{name}</a></li>' for name in site_pages]
    links += [
        '<li><a href="/gzip/article.html">gzip</a></li>',
        '<li><a href="/redirect/1">redirect chain</a></li>',
        '<li><a href="/missing">missing</a></li>',
        '<li><a href="/error">server error</a></li>',
        '<li><a href="/cookies">cookies</a></li>',
        '<li><a href="/search?q=warc&amp;page=2">search</a></li>',
        '<li><a href="/report.pdf">report</a></li>',
        '<li><a href="/chunked">chunked</a></li>',
        '<li><a href="/styled.html">styled page</a></li>',
        '<li><a href="/private/secret.html">private</a></li>',
        '<li><a href="https://elsewhere.invalid/offsite">offsite</a></li>',
        '<li><a href="/articles/' + site_pages[0] + '.html#comments">same page, fragment</a></li>',
    ]
    return ("<!doctype html><html lang='en'><head><meta charset='utf-8'><title>Test site</title></head>"
            "<body><h1>Test site</h1><ul>" + "".join(links) + "</ul></body></html>")


def make_handler(site: Site) -> type[BaseHTTPRequestHandler]:
    pages = golden_pages()
    names = list(pages)
    gzip_source = pages[names[0]] / "page.html"
    chunked_gzip_source = pages[names[1]] / "page.html"
    http10_source = pages[names[4]] / "page.html"

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "TestSite/1.0"

        def log_message(self, format: str, *args: object) -> None:  # quiet
            pass

        def send(self, status: int, body: bytes, content_type: str = "text/html; charset=utf-8",
                 headers: list[tuple[str, str]] | None = None) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            for name, value in headers or []:
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

        def do_GET(self) -> None:
            site.requests.append(self.requestline)
            parts = urlsplit(self.path)
            path = parts.path
            site.times.append((time.monotonic(), path))
            site.hits[path] = site.hits.get(path, 0) + 1
            if path == "/robots.txt":
                self.send(200, site.robots.encode("latin-1"), "text/plain")
            elif path.startswith("/live/"):
                self.send_live(path, site.live.get(path.removeprefix("/live/")))
            elif path in SOURCES:
                body, content_type = SOURCES[path](site, names)
                self.send(200, body, content_type)
            elif path in STATIC:
                self.send(200, *STATIC[path])
            elif path == "/sitemaps/huge.xml":
                self.send_huge()
            elif path == "/limited":
                if site.hits[path] == 1:
                    self.send(429, b"slow down", "text/plain", headers=[("Retry-After", "1")])
                else:
                    self.send(200, SMALL_PAGE.format(title="Limited", body="Served after waiting.").encode())
            elif path == "/loop/a":
                self.send(302, b"", headers=[("Location", "/loop/b")])
            elif path == "/loop/b":
                self.send(302, b"", headers=[("Location", "/loop/a")])
            elif path == "/noarchive-header":
                self.send(200, SMALL_PAGE.format(title="No archive (header)", body="Please do not archive.").encode(),
                          headers=[("X-Robots-Tag", "noarchive, noai"), ("X-Robots-Tag", "otherbot: noindex")])
            elif path == "/noarchive-meta":
                body = SMALL_PAGE.replace("<meta charset=\"utf-8\">",
                                          "<meta charset=\"utf-8\"><meta name=\"robots\" content=\"noarchive\">")
                self.send(200, body.format(title="No archive (meta)", body="Please do not archive.").encode())
            elif path == "/link-to":
                target = parse_qs(parts.query)["url"][0]
                body = (f"<!doctype html><html><head><title>Links out</title></head><body><h1>Links out</h1>"
                        f"<p><a href='{target}'>a link</a><img src='{target}' alt=''></p></body></html>")
                self.send(200, body.encode())
            elif path == "/":
                self.send(200, index_html(names).encode())
            elif path.startswith("/articles/") and path.removeprefix("/articles/").removesuffix(".html") in pages:
                name = path.removeprefix("/articles/").removesuffix(".html")
                self.send(200, (pages[name] / "page.html").read_bytes())
            elif path == "/gzip/article.html":
                body = gzip.compress(gzip_source.read_bytes(), mtime=0)
                self.send(200, body, headers=[("Content-Encoding", "gzip"), ("Vary", "Accept-Encoding")])
            elif path == "/redirect/1":
                self.send(301, b"", headers=[("Location", "/redirect/2")])
            elif path == "/redirect/2":
                self.send(302, b"", headers=[("Location", f"/articles/{names[1]}.html")])
            elif path == "/error":
                site.error_hits += 1
                self.send(500, SMALL_PAGE.format(title="Error", body="Something broke.").encode())
            elif path == "/cookies":
                self.send(200, SMALL_PAGE.format(title="Cookies", body="Two cookies were set.").encode(),
                          headers=[("Set-Cookie", "session=abc123; Path=/"), ("Set-Cookie", "theme=dark; Path=/")])
            elif path == "/search":
                query = parse_qs(parts.query)
                body = SMALL_PAGE.format(title="Search", body=f"Results for {query.get('q', [''])[0]}, "
                                                               f"page {query.get('page', ['1'])[0]}.")
                self.send(200, body.encode())
            elif path.startswith("/slow/"):
                time.sleep(0.4)  # lets a test interrupt a crawl in the middle
                self.send(200, SMALL_PAGE.format(title="Slow " + path, body="This page took its time.").encode())
            elif path == "/report.pdf":
                self.send(200, make_pdf("Annual report"), "application/pdf")
            elif path == "/chunked":
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                body = SMALL_PAGE.format(title="Chunked", body="Sent in chunks.").encode()
                for start in range(0, len(body), 50):
                    chunk = body[start:start + 50]
                    self.wfile.write(b"%x\r\n" % len(chunk) + chunk + b"\r\n")
                self.wfile.write(b"0\r\n\r\n")
            elif path == "/chunked-gzip/article.html":  # both codings: gzip, then chunked on the wire
                self.send_chunked(gzip.compress(chunked_gzip_source.read_bytes(), mtime=0),
                                  [("Content-Encoding", "gzip"), ("Vary", "Accept-Encoding")])
            elif path == "/http10/article.html":  # HTTP/1.0 without Content-Length: the close ends the body
                self.wfile.write(b"HTTP/1.0 200 OK\r\nServer: TestSite/1.0\r\nDate: %s\r\n"
                                 b"Content-Type: text/html; charset=utf-8\r\n\r\n" % self.date_time_string().encode())
                self.wfile.write(http10_source.read_bytes())
                self.close_connection = True
            else:
                self.send(404, SMALL_PAGE.format(title="Not found", body="No such page.").encode())

        def send_chunked(self, body: bytes, headers: list[tuple[str, str]]) -> None:
            """``body`` in chunks of 4000 bytes (the last one shorter), as a streaming server sends it."""
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            for name, value in headers:
                self.send_header(name, value)
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for start in range(0, len(body), 4000):
                chunk = body[start:start + 4000]
                self.wfile.write(b"%x\r\n" % len(chunk) + chunk + b"\r\n")
            self.wfile.write(b"0\r\n\r\n")

        def send_live(self, path: str, page: LivePage | None) -> None:
            if page is None:
                self.send(404, SMALL_PAGE.format(title="Not found", body="No such page.").encode())
                return
            validators = [("ETag", page.etag)] if page.etag else []
            validators += [("Last-Modified", page.last_modified)] if page.last_modified else []
            condition = self.headers.get("If-None-Match") or self.headers.get("If-Modified-Since")
            if condition:
                site.conditional.append((path, condition))
            etag_matches = page.etag and self.headers.get("If-None-Match") == page.etag
            date_matches = (page.last_modified and not page.etag
                            and self.headers.get("If-Modified-Since") == page.last_modified)
            if etag_matches or date_matches:
                self.send_response(304)
                for name, value in validators:
                    self.send_header(name, value)
                self.send_header("Date", self.date_time_string())
                self.end_headers()
                return
            self.send(page.status, page.body, headers=[*page.headers, *validators])

        def send_huge(self) -> None:
            """A "2 GB sitemap": announces 2 GiB and streams until the client stops reading."""
            self.send_response(200)
            self.send_header("Content-Type", "application/xml")
            self.send_header("Content-Length", str(2 * 1024**3))
            self.end_headers()
            self.wfile.write(b'<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">')
            entry = f"<url><loc>{site.base}/search?q=huge</loc></url>".encode() * 200
            try:
                for _ in range(2 * 1024**3 // len(entry)):
                    self.wfile.write(entry)
            except (BrokenPipeError, ConnectionResetError):
                pass
            self.close_connection = True

    return Handler


# -- seed sources and page requisites served by the site --------------------------------------------
def _sitemap_index(site: Site, names: list[str]) -> tuple[bytes, str]:
    return (f"""<?xml version="1.0" encoding="UTF-8"?>
<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
  <sitemap><loc>{site.base}/sitemaps/pages.xml</loc><lastmod>2020-01-16</lastmod></sitemap>
  <sitemap><loc>{site.base}/sitemaps/news.xml.gz</loc><lastmod>2020-02-04T00:01:00+00:00</lastmod></sitemap>
</sitemapindex>""".encode(), "application/xml")


def _sitemap_pages(site: Site, names: list[str]) -> tuple[bytes, str]:
    return (f"""<?xml version="1.0" encoding="UTF-8"?>
<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
  <url><loc>{site.base}/articles/{names[0]}.html</loc><lastmod>2020-01-16</lastmod></url>
  <url><loc>{site.base}/articles/{names[1]}.html</loc><lastmod>2019-11-19T10:00:00+00:00</lastmod></url>
</urlset>""".encode(), "application/xml")


def _sitemap_news(site: Site, names: list[str]) -> tuple[bytes, str]:
    xml = f"""<?xml version="1.0" encoding="UTF-8"?>
<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"
        xmlns:news="http://www.google.com/schemas/sitemap-news/0.9">
  <url><loc>{site.base}/articles/{names[2]}.html</loc>
    <news:news><news:publication><news:name>Test</news:name><news:language>en</news:language></news:publication>
    <news:publication_date>2020-02-04T00:01:00+00:00</news:publication_date><news:title>Dezuka</news:title></news:news>
  </url>
  <url><loc>{site.base}/articles/{names[3]}.html</loc>
    <news:news><news:publication><news:name>Test</news:name><news:language>en</news:language></news:publication>
    <news:publication_date>2020-01-19T23:30:00-05:00</news:publication_date><news:title>AI</news:title></news:news>
  </url>
</urlset>"""
    return gzip.compress(xml.encode(), mtime=0), "application/gzip"


def _feed_rss(site: Site, names: list[str]) -> tuple[bytes, str]:
    return (f"""<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0"><channel><title>Test feed</title><link>{site.base}/</link><description>d</description>
  <item><title>Cookies</title><link>{site.base}/cookies</link><pubDate>Mon, 04 Mar 2024 10:00:00 +0000</pubDate></item>
  <item><title>Search</title><link>{site.base}/search?q=rss</link>
    <pubDate>Sun, 01 Jan 2023 10:00:00 +0000</pubDate></item>
</channel></rss>""".encode(), "application/rss+xml")


def _feed_atom(site: Site, names: list[str]) -> tuple[bytes, str]:
    return (f"""<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom"><title>Test atom</title><id>urn:test</id>
  <updated>2024-03-01T00:00:00Z</updated>
  <entry><title>Chunked</title><id>urn:1</id><link rel="alternate" href="{site.base}/chunked"/>
    <updated>2024-03-01T00:00:00Z</updated></entry>
  <entry><title>Article</title><id>urn:2</id><link rel="alternate" href="{site.base}/articles/{names[4]}.html"/>
    <updated>2024-02-01T00:00:00Z</updated></entry>
</feed>""".encode(), "application/atom+xml")


def _news_front(site: Site, names: list[str]) -> tuple[bytes, str]:
    return (b"""<!doctype html><html><head><title>News</title>
<link rel="alternate" type="application/rss+xml" href="/feed.rss">
<link rel="alternate" type="application/atom+xml" href="/feed.atom">
<link rel="sitemap" type="application/xml" href="/sitemaps/pages.xml">
</head><body><h1>News front page</h1></body></html>""", "text/html; charset=utf-8")


def _bomb(site: Site, names: list[str]) -> tuple[bytes, str]:
    entities = '<!ENTITY a "ha">' + "".join(f'<!ENTITY {chr(98 + i)} "{("&" + chr(97 + i) + ";") * 10}">'
                                             for i in range(9))
    return (f"""<?xml version="1.0"?><!DOCTYPE urlset [{entities}]>
<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
<url><loc>{site.base}/bomb?&j;</loc></url></urlset>""".encode(),
            "application/xml")


def _html_feed(site: Site, names: list[str]) -> tuple[bytes, str]:
    return SMALL_PAGE.format(title="Not a feed", body="This is a web page.").encode(), "application/rss+xml"


def _scoped(site: Site, names: list[str]) -> tuple[bytes, str]:
    port = site.port
    links = ["/scoped/a.html", "/scoped/sub/b.html", "/other/c.html", "/scoped/skip-me.html",
             f"http://news.example.com:{port}/scoped/news.html", f"http://other.example.net:{port}/scoped/net.html"]
    body = "".join(f"<li><a href='{link}'>{link}</a></li>" for link in links)
    return (f"<!doctype html><html><head><title>Scoped</title></head><body><ul>{body}</ul></body></html>".encode(),
            "text/html; charset=utf-8")


def _styled(site: Site, names: list[str]) -> tuple[bytes, str]:
    return (b"""<!doctype html><html><head><title>Styled page</title>
<link rel="stylesheet" href="/static/site.css"><link rel="icon" href="/static/logo.png">
<style>.hero { background-image: url("/static/inline.png"); }</style>
<script src="/static/app.js"></script></head>
<body><h1 class="hero">Styled page</h1>
<img src="/static/logo.png" srcset="/static/logo.png 1x, /static/logo@2x.png 2x" alt="logo">
<p style="background: url('/static/bg.png')">A page that needs its assets to look right.</p>
<a href="/cookies">a link, not a requisite</a></body></html>""", "text/html; charset=utf-8")


SOURCES = {
    "/sitemap_index.xml": _sitemap_index, "/sitemaps/pages.xml": _sitemap_pages,
    "/sitemaps/news.xml.gz": _sitemap_news, "/feed.rss": _feed_rss, "/feed.atom": _feed_atom,
    "/news/": _news_front, "/sitemaps/bomb.xml": _bomb, "/feeds/html-feed": _html_feed, "/scoped/": _scoped,
    "/styled.html": _styled,
}

PNG_1PX = bytes.fromhex("89504e470d0a1a0a0000000d4948445200000001000000010806000000"
                        "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082")
STATIC = {
    "/static/site.css": (b'@import url("/static/print.css");\n'
                         b'@font-face { font-family: T; src: url(/static/font.woff2) format("woff2"); }\n'
                         b'body { background: url(bg.png) }\n', "text/css"),
    "/static/print.css": (b"@media print { body { color: black } }\n", "text/css"),
    "/static/app.js": (b"document.documentElement.className += ' js';\n", "application/javascript"),
    "/static/font.woff2": (b"wOF2\x00\x01\x00\x00" + bytes(64), "font/woff2"),
    "/static/logo.png": (PNG_1PX, "image/png"),
    "/static/logo@2x.png": (PNG_1PX, "image/png"),
    "/static/bg.png": (PNG_1PX, "image/png"),
    "/static/inline.png": (PNG_1PX, "image/png"),
}


class SiteServer:
    """Start with ``with SiteServer() as site:``; it stops when the block ends."""

    def __init__(self, host: str = "127.0.0.1", robots: str = ROBOTS) -> None:
        self.site = Site(host, 0, robots=robots)
        self.server = ThreadingHTTPServer((host, 0), make_handler(self.site))
        self.server.daemon_threads = True
        self.site.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> Site:
        self.thread.start()
        return self.site

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


HOLD_LIMIT_S = 120.0  # a held answer goes out after this even if the test never releases it (a failed test)


def numbered_article(path: str) -> bytes:
    """An article page with enough text to extract (four paragraphs of 60 words), the same for a path every time."""
    import random

    rng = random.Random(path)
    words = ["archive", "crawl", "river", "harbour", "council", "budget", "vote", "station", "winter", "market",
             "bridge", "school", "museum", "ferry", "garden", "library", "tunnel", "festival", "court", "railway"]
    paragraphs = "".join("<p>" + " ".join(rng.choice(words) for _ in range(60)).capitalize() + ".</p>"
                         for _ in range(4))
    return (f"<!doctype html><html lang='en'><head><meta charset='utf-8'><title>Story {path}</title></head>"
            f"<body><nav><a href='/'>Home</a></nav><article><h1>Story {path}</h1>{paragraphs}</article>"
            f"</body></html>").encode()


@dataclass
class HoldingSite:
    """A news site whose answers a test can hold, to stop a crawl at a known point without timing it.

    ``/`` links to ``/a/0`` … ``/a/{pages - 1}``; every other path but ``/robots.txt`` is an
    article.  ``requests`` lists each request's path in the order it arrived.  After
    :meth:`hold_pages_after` ``n``, the answer to every page request after the n-th waits
    until :meth:`release`: the crawl has exactly that request on the wire meanwhile.
    """

    host: str
    port: int
    pages: int
    robots: str
    requests: list[str] = field(default_factory=list)
    hold_after: int | None = None
    held: int = 0
    changed: threading.Condition = field(default_factory=threading.Condition)
    released: threading.Event = field(default_factory=threading.Event)

    def url(self, path: str) -> str:
        return f"http://{self.host}:{self.port}{path}"

    def count(self) -> int:
        with self.changed:
            return len(self.requests)

    def hold_pages_after(self, count: int) -> None:
        """Hold every page request after the ``count``-th until :meth:`release`.

        Called again, it lets the requests held so far go on, and holds those after the new
        ``count``-th until the next :meth:`release`.
        """
        with self.changed:
            earlier, self.released = self.released, threading.Event()
            self.hold_after, self.held = count, 0
        earlier.set()

    def release(self) -> None:
        self.released.set()

    def wait_until_held(self, timeout: float = 60) -> bool:
        """True once a page answer is being held (False after ``timeout`` seconds: the test fails on it)."""
        with self.changed:
            return self.changed.wait_for(lambda: self.held > 0, timeout)


def make_holding_handler(site: HoldingSite) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: object) -> None:  # quiet
            pass

        def do_GET(self) -> None:
            path = urlsplit(self.path).path
            with site.changed:
                site.requests.append(path)
                pages_asked = sum(1 for p in site.requests if p != "/robots.txt")
                hold = path != "/robots.txt" and site.hold_after is not None and pages_asked > site.hold_after
                if hold:
                    site.held += 1
                gate = site.released
                site.changed.notify_all()
            if hold:
                gate.wait(HOLD_LIMIT_S)
            if path == "/robots.txt":
                body, content_type = site.robots.encode("latin-1"), "text/plain"
            elif path == "/":
                links = "".join(f"<li><a href='/a/{n}'>Story {n}</a></li>" for n in range(site.pages))
                body = (f"<!doctype html><html><head><title>Front page</title></head><body><h1>Front page</h1>"
                        f"<ul>{links}</ul></body></html>").encode()
                content_type = "text/html; charset=utf-8"
            else:
                body, content_type = numbered_article(path), "text/html; charset=utf-8"
            self.send_response(200)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    return Handler


class HoldingServer:
    """``with HoldingServer(pages=20, robots=...) as site:``; at the end of the block it releases and stops."""

    def __init__(self, pages: int = 20, robots: str = "User-agent: *\nAllow: /\n") -> None:
        self.site = HoldingSite("127.0.0.1", 0, pages, robots)
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), make_holding_handler(self.site))
        self.server.daemon_threads = True
        # A crawler stopped at once resets the connections it had: expected, not worth a traceback.
        self.server.handle_error = lambda request, client_address: None  # type: ignore[method-assign]
        self.site.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> HoldingSite:
        self.thread.start()
        return self.site

    def __exit__(self, *exc: object) -> None:
        self.site.release()
        self.server.shutdown()
        self.server.server_close()


if __name__ == "__main__":  # serve by hand: python tests/site.py
    with SiteServer() as running:
        print(running.base, flush=True)
        threading.Event().wait()
