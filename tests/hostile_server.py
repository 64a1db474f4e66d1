"""A hostile HTTP server on 127.0.0.1 (and ::1), port 0, for the hostile-input crawl tests.

Raw sockets, so that it can lie: a Content-Length too long or too short, a charset that
is not the body's, ``Content-Encoding: gzip`` on a body that is not gzip, a gzip bomb,
bodies far over any size limit, an endless chunked stream, a byte a second, garbage
instead of a status line, redirect loops and chains, binary bodies under ``text/html``,
and paths that would escape a folder if anyone used them as file names.

Every connection gets one response and is then closed (``Connection: close``).
"""

from __future__ import annotations

import base64
import gzip
import random
import socket
import socketserver
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from urllib.parse import unquote, urlsplit

from tests.site import PNG_1PX, make_pdf

MAX_HEAD = 1 << 20  # request heads longer than this are answered 431
STREAM_SECONDS = 30.0  # an endless stream gives up after this long even if nobody hangs up

GOOD_PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{title}</title></head>
<body><article><h1>{title}</h1><p>{body}</p><p>{body}</p><p>{body}</p></article></body></html>"""
LOREM = ("The committee met on Tuesday to discuss the harbour project, and after a long debate it agreed "
         "to publish the full budget before the end of the month, with every line item explained.")


def page(title: str, body: str = LOREM) -> bytes:
    return GOOD_PAGE.format(title=title, body=body).encode()


@cache
def gzip_bomb() -> bytes:
    """1 GiB of zeros as ~1 MB of gzip: one 8 MiB member, repeated 128 times (gunzip joins members)."""
    member = gzip.compress(bytes(8 * 1024 * 1024), compresslevel=9, mtime=0)
    return member * 128


BOMB_INFLATED = 1024**3


@cache
def huge_html() -> bytes:
    """About 3 MB of HTML: megabytes of inline script, style and a data: image around a short article."""
    script = "var data = [" + ",".join(str(i * 7919 % 100_003) for i in range(300_000)) + "];"
    style = "".join(f".c{i} {{ color: #{i % 0xFFFFFF:06x}; margin: {i % 17}px }}\n" for i in range(12_000))
    image = base64.b64encode(random.Random(3).randbytes(400_000)).decode()
    paragraphs = "".join(f"<p>Paragraph {i}. {LOREM}</p>\n" for i in range(60))
    nav = "".join(f"<li><a href='/nowhere/{i}'>link {i}</a></li>" for i in range(3_000))
    return (f"<!doctype html><html><head><meta charset='utf-8'><title>Huge page</title><script>{script}</script>"
            f"<style>{style}</style></head><body><nav><ul>{nav}</ul></nav><article><h1>Huge page</h1>"
            f"<img src='data:image/png;base64,{image}' alt=''>{paragraphs}</article></body></html>").encode()


def malformed_html() -> bytes:
    """Everything an HTML parser can be handed: NULs, bad nesting, broken attributes and entities."""
    return (b"\xef\xbb\xbf<!doctype html><html><head><title>Malformed <b>title</title><meta charset=utf-8 "
            b"<meta name=robots content=><script>document.write('<p>'</script></head>"
            b"<body><p>Unclosed <b>bold <i>italic</p></b> text &#xD800; &#0; &bogus; &amp &lt;&gt;\x00NUL\x00"
            b"<table><tr><td>cell<div>div in a cell</table></div><a href=\"unterminated>link</a>"
            b"<a href='javascript:alert(1)'>js</a><a href='data:text/html,hi'>data</a><a href='http://[::1'>v6</a>"
            b"<a href='http://a b.test/'>space</a><a href='//'>empty</a><a href=''>nothing</a><a>no href</a>"
            b"<![CDATA[ cdata ]]><!-- unterminated comment <p>after the comment" + LOREM.encode() * 3
            + b"<svg><foreignObject><p>in svg</svg><form><form><input value=\"\xff\xfe\">"
            + b"\x81\x8d\x8f\x90\x9d lone C1 bytes, invalid UTF-8 \xc3\x28 \xe2\x82"
            + b"</body></html></html><body>after the end")


def deep_html(depth: int = 20_000) -> bytes:
    return (b"<!doctype html><html><head><title>Deep</title></head><body>" + b"<div>" * depth
            + LOREM.encode() + b"</div>" * depth + b"</body></html>")


def binary_noise(size: int = 64 * 1024) -> bytes:
    return random.Random(7).randbytes(size)


# Paths that would leave a folder if a crawler used them as file names.
ESCAPING_PATHS = ["/../../etc/passwd", "/%2e%2e/%2e%2e/x", "/..%2f..%2fetc%2fshadow", "/con", "/aux.txt",
                  "/nul", "/a%00b", "/%2fetc%2fpasswd", "/.%2e/.%2e/root", "/dir/..\\..\\windows.ini",
                  "/" + "x" * 300, "/" + "/".join(["d"] * 200)]


@dataclass
class Hostile:
    """The running server: ``requests`` is every request target it was sent, in order."""

    host: str
    port: int
    port6: int | None = None
    requests: list[str] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)

    @property
    def base(self) -> str:
        return f"http://{self.host}:{self.port}"

    def url(self, path: str) -> str:
        return self.base + path

    def url6(self, path: str) -> str:
        return f"http://[::1]:{self.port6}{path}"


class Conn:
    """One accepted connection: the request, and helpers to write anything back."""

    def __init__(self, sock: socket.socket, server: Hostile, method: str, target: str,
                 headers: dict[str, str]) -> None:
        self.sock = sock
        self.server = server
        self.method = method
        self.target = target
        self.headers = headers

    def raw(self, data: bytes) -> None:
        self.sock.sendall(data)

    def head(self, status: str, headers: list[tuple[str, str]]) -> None:
        lines = [f"HTTP/1.1 {status}", *(f"{k}: {v}" for k, v in headers), "Connection: close"]
        self.raw(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))

    def send(self, body: bytes, content_type: str = "text/html; charset=utf-8", status: str = "200 OK",
             headers: list[tuple[str, str]] | None = None, content_length: int | None = None) -> None:
        length = len(body) if content_length is None else content_length
        self.head(status, [("Content-Type", content_type), *(headers or []), ("Content-Length", str(length))])
        if self.method != "HEAD":
            self.raw(body)

    def redirect(self, location: str, status: str = "302 Found") -> None:
        self.send(b"", status=status, headers=[("Location", location)])

    def stream(self, chunk: bytes, pause: float = 0.0) -> None:
        """Write ``chunk`` again and again until the client hangs up (or STREAM_SECONDS pass)."""
        deadline = time.monotonic() + STREAM_SECONDS
        while not self.server.stop.is_set() and time.monotonic() < deadline:
            self.raw(chunk)
            if pause:
                time.sleep(pause)


Route = Callable[[Conn], None]


def _chain(conn: Conn) -> None:
    hop = int(conn.target.rsplit("/", 1)[-1])
    if hop < 30:
        conn.redirect(f"/chain/{hop + 1}")
    else:
        conn.send(page("End of the chain"))


def _endless_chunked(conn: Conn) -> None:
    conn.head("200 OK", [("Content-Type", "text/html; charset=utf-8"), ("Transfer-Encoding", "chunked")])
    conn.raw(b"%x\r\n%s\r\n" % (len(b"<html><body>"), b"<html><body>"))
    chunk = b"<p>" + LOREM.encode() + b"</p>\n"
    conn.stream(b"%x\r\n%s\r\n" % (len(chunk), chunk) * 64)


def _announce_huge(conn: Conn) -> None:
    conn.head("200 OK", [("Content-Type", "text/html; charset=utf-8"), ("Content-Length", str(8 * 1024**3))])
    conn.raw(b"<html><body>")
    conn.stream((b"<p>" + LOREM.encode() + b"</p>\n") * 256)


def _over_limit(conn: Conn) -> None:
    body = b"<html><body>" + (b"<p>" + LOREM.encode() + b"</p>\n") * 30_000 + b"</body></html>"  # ~5.7 MB
    conn.send(body)


def _trickle(conn: Conn) -> None:
    conn.head("200 OK", [("Content-Type", "text/html; charset=utf-8"), ("Content-Length", "100000")])
    conn.stream(b"x", pause=1.0)


def _long_body_short_length(conn: Conn) -> None:
    # Says 100 bytes, sends the whole page: the client must stop at 100.
    conn.send(page("Content-Length too short"), content_length=100)


def _short_body_long_length(conn: Conn) -> None:
    # Says 5000 bytes, sends ~500 and hangs up: data lost on the way.
    conn.send(page("Content-Length too long"), content_length=5000)


def cp1251_page() -> bytes:
    """Russian text in windows-1251, without a meta charset: served as UTF-8, it is not."""
    text = "Комитет собрался во вторник, чтобы обсудить проект гавани. " * 8
    html = GOOD_PAGE.replace('<meta charset="utf-8">', "").format(title="Неверная кодировка", body=text)
    return html.encode("cp1251")


def _cp1251_as_utf8(conn: Conn) -> None:
    conn.send(cp1251_page(), "text/html; charset=utf-8")


def _utf8_as_utf16(conn: Conn) -> None:
    conn.send(page("Déclaré UTF-16, envoyé en UTF-8", "Le comité s’est réuni mardi. " * 10),
              "text/html; charset=utf-16")


def _bogus_charset(conn: Conn) -> None:
    conn.send(page("Bogus charset"), "text/html; charset=x-no-such-charset-42")


def _fake_gzip(conn: Conn) -> None:
    conn.send(page("Not gzip at all"), headers=[("Content-Encoding", "gzip")])


def _truncated_gzip(conn: Conn) -> None:
    body = gzip.compress(page("Half a gzip stream", LOREM * 20), mtime=0)
    conn.send(body[: len(body) // 2], headers=[("Content-Encoding", "gzip")])


def _bomb(conn: Conn) -> None:
    conn.send(gzip_bomb(), headers=[("Content-Encoding", "gzip")])


ROUTES: dict[str, Route] = {
    "/robots.txt": lambda c: c.send(b"User-agent: *\nAllow: /\n", "text/plain"),
    "/idn": lambda c: c.send(b"<!doctype html><html><head><title>IDN</title></head><body><h1>IDN</h1>"
                             b"<a href='/idn/next'>next</a> <a href='http://elsewhere.test/'>elsewhere</a>"
                             b"</body></html>"),
    "/good": lambda c: c.send(page("A good page")),
    "/good2": lambda c: c.send(page("Another good page")),
    # responses that lie
    "/cl-too-short": _long_body_short_length,
    "/cl-too-long": _short_body_long_length,
    "/charset/cp1251-as-utf8": _cp1251_as_utf8,
    "/charset/utf8-as-utf16": _utf8_as_utf16,
    "/charset/bogus": _bogus_charset,
    "/gzip/fake": _fake_gzip,
    "/gzip/truncated": _truncated_gzip,
    "/gzip/bomb": _bomb,
    "/over-limit": _over_limit,
    "/announce-huge": _announce_huge,
    "/endless-chunked": _endless_chunked,
    "/trickle": _trickle,
    "/garbage-status": lambda c: c.raw(b"SPEAK FRIEND AND ENTER\r\n\r\n" + binary_noise(512)),
    "/close-at-once": lambda c: None,
    "/status-999": lambda c: c.send(page("Status 999"), status="999 Made Up"),
    "/huge-header": lambda c: c.send(page("Huge header"), headers=[("X-Padding", "p" * 200_000)]),
    "/bad-header-bytes": lambda c: c.raw(b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nX-Name: caf\xc3\xa9 \xff\r\n"
                                         b"Content-Length: 12\r\nConnection: close\r\n\r\n<p>hello</p>"),
    # HTML, malformed and huge
    "/malformed": lambda c: c.send(malformed_html()),
    "/deep": lambda c: c.send(deep_html()),
    "/huge-html": lambda c: c.send(huge_html()),
    "/empty-html": lambda c: c.send(b""),
    # non-HTML under an HTML content type
    "/pdf-as-html": lambda c: c.send(make_pdf("Annual report"), "text/html; charset=utf-8"),
    "/png-as-html": lambda c: c.send(PNG_1PX, "text/html"),
    "/noise-as-html": lambda c: c.send(binary_noise(), "text/html; charset=utf-8"),
    # redirects
    "/loop/a": lambda c: c.redirect("/loop/b"),
    "/loop/b": lambda c: c.redirect("/loop/a"),
    "/self-redirect": lambda c: c.redirect("/self-redirect", "301 Moved Permanently"),
    "/redirect/javascript": lambda c: c.redirect("javascript:alert(document.cookie)"),
    "/redirect/data": lambda c: c.redirect("data:text/html,<script>alert(1)</script>"),
    "/redirect/ftp": lambda c: c.redirect("ftp://127.0.0.1/pub/file"),
    "/redirect/bad-ipv6": lambda c: c.redirect("http://[::1/x"),
    "/redirect/private": lambda c: c.redirect("http://10.255.255.1/admin"),
    "/redirect/no-location": lambda c: c.send(page("Moved, but not saying where"), status="302 Found"),
    # links to paths that would escape the archive root as file names
    "/escape-links": lambda c: c.send(
        ("<!doctype html><html><head><title>Escape links</title></head><body><ul>"
         + "".join(f"<li><a href='{p}'>{p[:40]}</a></li>" for p in ESCAPING_PATHS)
         + "</ul></body></html>").encode()),
}


def route(target: str) -> Route:
    path = urlsplit(target).path
    if path in ROUTES:
        return ROUTES[path]
    if path.startswith("/chain/"):
        return _chain
    if path.startswith("/long/"):
        return lambda c: c.send(page("A long URL", f"Its path is {len(path)} characters long."))
    if path in ESCAPING_PATHS or unquote(path) in {unquote(p) for p in ESCAPING_PATHS} or "etc" in path:
        return lambda c: c.send(page("Escaping " + path[:60].replace("<", "")))
    return lambda c: c.send(page("Anything", f"The page at {path[:60]}."))


class _Handler(socketserver.BaseRequestHandler):
    server: _Server

    def handle(self) -> None:
        sock: socket.socket = self.request
        sock.settimeout(STREAM_SECONDS)
        data = b""
        try:
            while b"\r\n\r\n" not in data and len(data) < MAX_HEAD:
                chunk = sock.recv(65536)
                if not chunk:
                    return
                data += chunk
            head = data.split(b"\r\n\r\n", 1)[0].decode("latin-1")
            request_line, *header_lines = head.split("\r\n")
            method, target, _ = [*request_line.split(" "), "", ""][:3]
            self.server.hostile.requests.append(target)
            if len(data) >= MAX_HEAD:
                Conn(sock, self.server.hostile, method, target, {}).send(b"", status="431 Too Large")
                return
            headers = {}
            for line in header_lines:
                name, _, value = line.partition(":")
                headers[name.strip().lower()] = value.strip()
            route(target)(Conn(sock, self.server.hostile, method, target, headers))
        except (BrokenPipeError, ConnectionResetError, TimeoutError, OSError):
            pass  # the client hung up: what hostile servers are for


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True
    block_on_close = False

    def __init__(self, address: tuple[str, int], hostile: Hostile, family: int = socket.AF_INET) -> None:
        self.address_family = family
        self.hostile = hostile
        super().__init__(address, _Handler)


class HostileServer:
    """``with HostileServer() as hostile:``; also listens on [::1] when the machine has IPv6."""

    def __init__(self) -> None:
        self.hostile = Hostile("127.0.0.1", 0)
        self.servers = [_Server(("127.0.0.1", 0), self.hostile)]
        self.hostile.port = self.servers[0].server_address[1]
        try:
            v6 = _Server(("::1", 0), self.hostile, socket.AF_INET6)
        except OSError:
            pass
        else:
            self.servers.append(v6)
            self.hostile.port6 = v6.server_address[1]
        self.threads = [threading.Thread(target=s.serve_forever, daemon=True) for s in self.servers]

    def __enter__(self) -> Hostile:
        for thread in self.threads:
            thread.start()
        return self.hostile

    def __exit__(self, *exc: object) -> None:
        self.hostile.stop.set()
        for server in self.servers:
            server.shutdown()
            server.server_close()


if __name__ == "__main__":  # serve by hand: python -m tests.hostile_server
    with HostileServer() as running:
        print(running.base, running.port6, flush=True)
        threading.Event().wait()
