"""A real HTTP/1.1 server on 127.0.0.1 serving pages that scripts build, for the browser tests.

* ``/article/N``: an empty shell (a header, ``<div id="root">``, a script); the article (title,
  paragraphs, a link to the next one) arrives from ``fetch('/api/article/N')`` as JSON, gzipped.
* ``/lazy``: a long page with images that load only when scrolled to (``loading="lazy"``), and an
  infinite scroll that fetches ``/api/more?page=K`` as the reader nears the bottom, three times.
* ``/probe``: a page whose script tries to reach another server on loopback (``private_url``):
  fetch, an image, a WebSocket, a preconnect and a navigation of an iframe; and asks this one for a
  path robots.txt disallows.
* ``/heavy``: asks for a body of 300,000 bytes (``/api/big``) and one that takes 6 s (``/api/slow``).
* ``/polling``: writes its article, then polls ``/api/poll`` forever: the network never goes quiet.
* ``/spinning``: writes a line, then spins in a loop that never ends: the page never lets go.
* ``/static/N``: plain server-built articles with a little script, which no browser is needed for.

``requests`` lists every path asked for, in order; the private server counts what reached it.
"""

from __future__ import annotations

import gzip
import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

PARAGRAPHS = [
    "The committee met on Tuesday to weigh the proposal for a new bridge across the river, a question that "
    "has divided the town for the better part of a decade.",
    "Engineers presented three designs, each with its own estimate of cost and time, and each drew questions "
    "from residents who crowded into the small hall to hear them.",
    "After four hours of debate the committee chose the middle design, a steel arch, and asked the engineers to "
    "return next month with a detailed schedule and a plan for traffic during the works.",
]
# A tiny valid PNG (1x1), for the lazy images.
PNG = bytes.fromhex("89504e470d0a1a0a0000000d4948445200000001000000010806000000"
                    "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082")

SHELL = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Loading…</title>
<link rel="stylesheet" href="/app.css"></head>
<body><header><a href="/">Town News</a></header><div id="root"></div>
<noscript>Please enable JavaScript to read this site.</noscript>
<script src="/app.js"></script>
<script>render({n});</script></body></html>"""

APP_JS = """
function render(n) {
  fetch('/api/article/' + n).then(r => r.json()).then(a => {
    document.title = a.title;
    const root = document.getElementById('root');
    const article = document.createElement('article');
    const h1 = document.createElement('h1'); h1.textContent = a.title; article.appendChild(h1);
    const by = document.createElement('p'); by.className = 'byline'; by.textContent = 'By ' + a.author;
    article.appendChild(by);
    for (const text of a.paragraphs) { const p = document.createElement('p'); p.textContent = text;
      article.appendChild(p); }
    if (a.next) { const next = document.createElement('a'); next.href = a.next; next.textContent = 'Next story';
      article.appendChild(next); }
    root.appendChild(article);
  });
}
"""

LAZY = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Photo stream</title></head>
<body><header><h1>Photo stream</h1></header><main id="app"><div id="feed"></div>
<div style="height: 4000px"></div>
<img loading="lazy" src="/images/lazy-1.png" width="10" height="10" alt="one">
<img loading="lazy" src="/images/lazy-2.png" width="10" height="10" alt="two">
<div id="more"></div></main>
<script>
let page = 0, loading = false;
function more() {
  if (loading || page >= 3) return;
  loading = true; page += 1;
  fetch('/api/more?page=' + page).then(r => r.json()).then(d => {
    const box = document.createElement('section');
    box.style.height = '3000px';
    box.textContent = d.text;
    document.getElementById('more').appendChild(box);
    loading = false;
  });
}
window.addEventListener('scroll', () => {
  if (window.innerHeight + window.scrollY >= document.documentElement.scrollHeight - 200) more();
});
</script></body></html>"""

PROBE = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Probe</title>
<link rel="preconnect" href="{private}"><link rel="dns-prefetch" href="{private}"></head>
<body><div id="root"></div>
<img src="{private}/image.png">
<iframe src="{private}/frame"></iframe>
<script>
fetch('{private}/fetch').catch(() => null);
fetch('/forbidden/data').catch(() => null);
try {{ new WebSocket('{private_ws}/socket'); }} catch (e) {{}}
fetch('/api/article/1').then(r => r.json()).then(a => {{
  document.getElementById('root').textContent = a.paragraphs.join(' ');
}});
</script></body></html>"""

POLLING = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Live blog</title></head>
<body><div id="root"></div><script>
document.getElementById('root').innerHTML = '<article><h1>Live blog</h1>' +
  {paragraphs}.map(t => '<p>' + t + '</p>').join('') + '</article>';
setInterval(() => fetch('/api/poll?t=' + Date.now()).catch(() => null), 100);
</script></body></html>"""

HEAVY = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Heavy</title></head>
<body><div id="root"></div><script>
Promise.allSettled([fetch('/api/big'), fetch('/api/slow')]).then(() => {
  document.getElementById('root').textContent = 'both asked for';
});
</script></body></html>"""

SPINNING = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Spinning</title></head>
<body><div id="root"></div><script>
document.getElementById('root').textContent = 'about to spin';
setTimeout(() => { while (true) {} }, 50);
</script></body></html>"""

STATIC = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Static story {n}</title>
<script>window.analytics = [];</script></head>
<body><header><a href="/static/1">Home</a></header><article><h1>Static story {n}</h1>
{paragraphs}<a href="/static/{next}">Next</a></article></body></html>"""


@dataclass
class JsSite:
    host: str
    port: int
    private_port: int = 0
    static_pages: int = 100
    articles: int = 3
    edition: int = 1  # what /api/article/N says changes with it; the pages' HTML does not
    requests: list[str] = field(default_factory=list)
    private_hits: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def base(self) -> str:
        return f"http://{self.host}:{self.port}"

    def url(self, path: str) -> str:
        return self.base + path

    @property
    def private_url(self) -> str:
        return f"http://127.0.0.1:{self.private_port}"

    def asked(self, path: str) -> int:
        with self.lock:
            return sum(1 for p in self.requests if p == path)


UPDATE = "Update: the committee has put the vote off until the engineers' schedule is ready."


def article_json(n: int, articles: int, edition: int = 1) -> dict[str, object]:
    paragraphs = [f"{text} (Part {n}.)" for text in PARAGRAPHS]
    if edition > 1:
        paragraphs.append(f"{UPDATE} (Edition {edition}.)")
    return {"title": f"Bridge vote, part {n}", "author": "Ada Reporter", "paragraphs": paragraphs,
            "next": f"/article/{n + 1}" if n < articles else None}


def _handler(site: JsSite) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: object) -> None:
            pass

        def _send(self, status: int, body: bytes, content_type: str, gzipped: bool = False) -> None:
            if gzipped:
                body = gzip.compress(body, mtime=0)
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            if gzipped:
                self.send_header("Content-Encoding", "gzip")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:
            parts = urlsplit(self.path)
            path = parts.path
            with site.lock:
                site.requests.append(self.path if parts.query and path == "/api/more" else path)
            html = "text/html; charset=utf-8"
            if path == "/":
                links = "".join(f'<li><a href="/article/{n}">Story {n}</a></li>' for n in range(1, site.articles + 1))
                self._send(200, f"<!doctype html><title>Town News</title><h1>Town News</h1><ul>{links}</ul>".encode(),
                           html)
            elif path == "/static/":
                links = "".join(f'<li><a href="/static/{n}">Story {n}</a></li>'
                                for n in range(1, site.static_pages + 1))
                self._send(200, f"<!doctype html><title>Stories</title><h1>Stories</h1><ul>{links}</ul>".encode(),
                           html)
            elif path == "/robots.txt":
                self._send(200, b"User-agent: *\nDisallow: /forbidden/\n", "text/plain")
            elif path.startswith("/article/") and path.removeprefix("/article/").isdigit():
                n = int(path.removeprefix("/article/"))
                self._send(200, SHELL.format(n=n).encode(), html) if n <= site.articles else self._send(
                    404, b"not found", "text/plain")
            elif path == "/app.js":
                self._send(200, APP_JS.encode(), "application/javascript", gzipped=True)
            elif path == "/app.css":
                self._send(200, b"body { font-family: serif; }", "text/css")
            elif path.startswith("/api/article/"):
                n = int(path.rsplit("/", 1)[1])
                self._send(200, json.dumps(article_json(n, site.articles, site.edition)).encode(), "application/json",
                           gzipped=True)
            elif path == "/lazy":
                self._send(200, LAZY.encode(), html)
            elif path.startswith("/images/"):
                self._send(200, PNG, "image/png")
            elif path == "/api/more":
                page = parse_qs(parts.query).get("page", ["0"])[0]
                self._send(200, json.dumps({"text": f"More photos, batch {page}."}).encode(), "application/json")
            elif path == "/probe":
                body = PROBE.format(private=site.private_url, private_ws=site.private_url.replace("http", "ws"))
                self._send(200, body.encode(), html)
            elif path == "/polling":
                self._send(200, POLLING.format(paragraphs=json.dumps(PARAGRAPHS)).encode(), html)
            elif path == "/api/big":
                self._send(200, b"x" * 300_000, "application/octet-stream")
            elif path == "/api/slow":
                time.sleep(6)
                self._send(200, b"late", "text/plain")
            elif path == "/api/poll":
                self._send(200, b"{}", "application/json")
            elif path == "/heavy":
                self._send(200, HEAVY.encode(), html)
            elif path == "/spinning":
                self._send(200, SPINNING.encode(), html)
            elif path.startswith("/static/") and path.removeprefix("/static/").isdigit():
                n = int(path.removeprefix("/static/"))
                paragraphs = "".join(f"<p>{text} (Story {n}.)</p>" for text in PARAGRAPHS)
                following = n + 1 if n < site.static_pages else 1
                self._send(200, STATIC.format(n=n, paragraphs=paragraphs, next=following).encode(), html)
            else:
                self._send(404, b"not found", "text/plain")

    return Handler


def _private_handler(site: JsSite) -> type[BaseHTTPRequestHandler]:
    class Private(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            with site.lock:
                site.private_hits.append(self.path)
            self.send_response(200)
            self.send_header("Content-Length", "6")
            self.end_headers()
            self.wfile.write(b"secret")

    return Private


class JsSiteServer:
    """The site and a second, "private" server beside it, each on a free port of 127.0.0.1."""

    def __init__(self, static_pages: int = 100, articles: int = 3) -> None:
        self.site = JsSite("127.0.0.1", 0, static_pages=static_pages, articles=articles)
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self.site))
        self.private = ThreadingHTTPServer(("127.0.0.1", 0), _private_handler(self.site))
        self.site.port = self.httpd.server_address[1]
        self.site.private_port = self.private.server_address[1]
        self.threads = [threading.Thread(target=server.serve_forever, daemon=True)
                        for server in (self.httpd, self.private)]

    def __enter__(self) -> JsSite:
        for thread in self.threads:
            thread.start()
        return self.site

    def __exit__(self, *exc: object) -> None:
        for server in (self.httpd, self.private):
            server.shutdown()
            server.server_close()
