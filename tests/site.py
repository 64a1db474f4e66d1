"""A real HTTP/1.1 server on 127.0.0.1, port 0, serving a small site for crawl tests.

Real pages come from ``tests/fixtures/pages``; the rest are the awkward cases an
archiver must store faithfully: gzip bodies, redirects, errors, repeated
headers, query strings, a PDF, chunked transfer coding and a robots.txt rule.
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

ROBOTS = "User-agent: *\nDisallow: /private/\n"


@dataclass
class Site:
    """The running server; ``requests`` logs every request line it answered."""

    host: str
    port: int
    requests: list[str] = field(default_factory=list)
    error_hits: int = 0

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
            if path == "/robots.txt":
                self.send(200, ROBOTS.encode(), "text/plain")
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
            else:
                self.send(404, SMALL_PAGE.format(title="Not found", body="No such page.").encode())

    return Handler


class SiteServer:
    """Start with ``with SiteServer() as site:``; it stops when the block ends."""

    def __init__(self) -> None:
        self.site = Site("127.0.0.1", 0)
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), make_handler(self.site))
        self.server.daemon_threads = True
        self.site.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> Site:
        self.thread.start()
        return self.site

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


if __name__ == "__main__":  # serve by hand: python tests/site.py
    with SiteServer() as running:
        print(running.base, flush=True)
        threading.Event().wait()
