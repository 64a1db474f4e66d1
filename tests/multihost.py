"""A real HTTP/1.1 server on 127.0.0.1, port 0, serving many small news sites under made-up host names.

For the tests and benches of several workers sharing one crawl (issue 17): ``h00.test`` …
``h19.test`` are told apart by the Host header (a crawl reaches them all with
``--resolve hNN.test:127.0.0.1``), each with a home page, numbered articles that link to
each other and to other hosts, and a robots.txt.  The server counts, per host, the requests
in flight and the most ever in flight at once, so a test can tell whether the crawl as a
whole kept to one worker's politeness; and when each request started and ended, for the
delay between requests.

Pages are rendered once, when the server starts: serving them costs a dictionary lookup,
so the server's CPU stays out of a benchmark's figures.  Their text is seeded by host and
page number: the same every run.
"""

from __future__ import annotations

import itertools
import math
import random
import threading
import time
from collections import Counter, defaultdict, deque
from collections.abc import Mapping
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

ADDRESS = "127.0.0.1"
ROBOTS_PATH = "/robots.txt"
HOLD_LIMIT_S = 120.0  # a held answer goes out after this even if the test never releases it

WORDS = ("archive", "council", "harbour", "budget", "vote", "station", "winter", "market", "bridge", "school",
         "museum", "ferry", "garden", "library", "tunnel", "festival", "court", "railway", "river", "mayor",
         "election", "storm", "hospital", "stadium", "bakery", "orchestra", "factory", "airport", "village",
         "harvest", "teacher", "strike", "parliament", "forest", "coast", "newspaper", "district", "tram")


@dataclass(frozen=True)
class Interval:
    """One request as the server saw it: when it arrived and when its answer was ready to go
    (``time.monotonic()``), and its path."""

    start: float
    end: float
    path: str


def host_name(index: int) -> str:
    return f"h{index:02d}.test"


def article_path(number: int) -> str:
    return f"/p/{number}.html"


def _article_number(path: str) -> int:
    return int(path.removeprefix("/p/").removesuffix(".html"))


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    # Three workers open dozens of connections at once; the default backlog of 5 drops SYNs, and a
    # dropped SYN is retried a second later: a stall a benchmark would measure as the crawler's.
    request_queue_size = 256

    def handle_error(self, request: object, client_address: object) -> None:
        pass  # a SIGKILLed worker resets its connections: expected, not worth a traceback


class MultiHostSite:
    """``with MultiHostSite(hosts=20, pages_per_host=30, delay=0.1) as site:``; it stops when the block ends.

    Each host serves ``/`` (links to its first ``home_links`` articles, all by default),
    ``/p/0.html`` … ``/p/{pages_per_host - 1}.html`` and ``/robots.txt``; anything else,
    or a Host header naming no host of the site, is a 404.  Article ``n`` links to the next
    ``links_per_page`` articles of its host (wrapping round, so every article is reachable
    from the home page) and to ``cross_host_links`` articles of the hosts after its own.

    ``delay`` (seconds, settable while running) is slept before every answer, robots.txt's
    too.  Between :meth:`hold` and :meth:`release` answers wait instead (counted in flight
    meanwhile): a test that needs requests overlapping gets them without timing anything.
    ``crawl_delay`` puts a ``Crawl-delay`` into robots.txt: one value for every host, or a
    value per host name (hosts left out get none).
    """

    def __init__(self, hosts: int = 20, pages_per_host: int = 30, delay: float = 0.0, links_per_page: int = 3,
                 cross_host_links: int = 2, home_links: int | None = None,
                 crawl_delay: float | Mapping[str, float] | None = None) -> None:
        if hosts < 1 or pages_per_host < 1:
            raise ValueError("a site needs at least one host and one page per host")
        self.hosts: list[str] = [host_name(i) for i in range(hosts)]
        self.pages_per_host = pages_per_host
        self.delay = delay
        self.links_per_page = min(links_per_page, pages_per_host - 1)
        self.cross_host_links = min(cross_host_links, hosts - 1)
        self.home_links = pages_per_host if home_links is None else min(home_links, pages_per_host)
        self._crawl_delay = crawl_delay
        self._lock = threading.Lock()
        self._in_flight: Counter[str] = Counter()
        self._max_in_flight: Counter[str] = Counter()
        self._requests: Counter[tuple[str, str]] = Counter()
        self._intervals: defaultdict[str, list[Interval]] = defaultdict(list)
        self._released = threading.Event()
        self._released.set()
        self._server = _Server((ADDRESS, 0), _make_handler(self))
        self.port: int = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, name="multihost-site", daemon=True)
        self._started = False
        # Rendered once: (host, path) -> body.  Links are absolute only across hosts, so they need the port.
        self._bodies: dict[tuple[str, str], tuple[bytes, str]] = {}
        for host in self.hosts:
            self._bodies[host, "/"] = (self._home(host), "text/html; charset=utf-8")
            self._bodies[host, ROBOTS_PATH] = (self._robots(host), "text/plain")
            for number in range(pages_per_host):
                self._bodies[host, article_path(number)] = (self._article(host, number), "text/html; charset=utf-8")

    # -- addresses ------------------------------------------------------------------------------------
    def url(self, host: str, path: str = "/") -> str:
        return f"http://{host}:{self.port}{path}"

    def seed_urls(self) -> list[str]:
        """Every host's home page, in host order."""
        return [self.url(host) for host in self.hosts]

    def page_urls(self, host: str) -> list[str]:
        """``host``'s home page and articles: what a crawl of it records (robots.txt is not a page)."""
        return [self.url(host)] + [self.url(host, article_path(n)) for n in range(self.pages_per_host)]

    def all_page_urls(self) -> list[str]:
        """Every in-scope page of every host: the home pages and the articles."""
        return [url for host in self.hosts for url in self.page_urls(host)]

    def resolve_args(self) -> list[str]:
        """``--resolve hNN.test:127.0.0.1`` for every host, as arguments for ``scraper crawl``."""
        return [arg for host in self.hosts for arg in ("--resolve", f"{host}:{ADDRESS}")]

    def links(self, host: str, path: str) -> list[str]:
        """The URLs the page at ``path`` of ``host`` links to, in page order."""
        if path == "/":
            return [self.url(host, article_path(n)) for n in range(self.home_links)]
        return [self.url(host), *self._related(host, _article_number(path))]

    def _related(self, host: str, number: int) -> list[str]:
        """Article ``number``'s links to other articles: the next ones of its host, then some of the next hosts."""
        index = self.hosts.index(host)
        same = [self.url(host, article_path((number + k) % self.pages_per_host))
                for k in range(1, self.links_per_page + 1)]
        other = [self.url(self.hosts[(index + k) % len(self.hosts)],
                          article_path((number * 7 + k) % self.pages_per_host))
                 for k in range(1, self.cross_host_links + 1)]
        return same + other

    def depth_needed(self) -> int:
        """The ``--depth`` at which a crawl from :meth:`seed_urls` reaches every page (breadth first)."""
        depth = {url: 0 for url in self.seed_urls()}
        queue = deque(depth)
        while queue:
            url = queue.popleft()
            parts = urlsplit(url)
            for link in self.links(parts.hostname or "", parts.path):
                if link not in depth:
                    depth[link] = depth[url] + 1
                    queue.append(link)
        missing = set(self.all_page_urls()) - set(depth)
        if missing:
            raise ValueError(f"{len(missing)} page(s) are linked from nowhere (home_links=0?)")
        return max(depth.values())

    # -- what the server saw --------------------------------------------------------------------------
    def in_flight(self) -> dict[str, int]:
        """Per host, the requests being answered right now."""
        with self._lock:
            return {host: count for host, count in self._in_flight.items() if count}

    def max_in_flight(self) -> dict[str, int]:
        """Per host that was asked anything, the most requests it was answering at once (robots.txt counts)."""
        with self._lock:
            return dict(self._max_in_flight)

    def requests(self) -> Counter[tuple[str, str]]:
        """How often each (host, path) was asked for, robots.txt and 404s included."""
        with self._lock:
            return Counter(self._requests)

    def page_requests(self) -> Counter[tuple[str, str]]:
        """:meth:`requests` without robots.txt."""
        return Counter({key: n for key, n in self.requests().items() if key[1] != ROBOTS_PATH})

    def robots_requests(self) -> Counter[str]:
        """How often each host's robots.txt was asked for."""
        return Counter({host: n for (host, path), n in self.requests().items() if path == ROBOTS_PATH})

    def intervals(self, host: str) -> list[Interval]:
        """``host``'s answered requests, in the order they started (one still being answered is not there)."""
        with self._lock:
            return sorted(self._intervals.get(host, []), key=lambda i: i.start)

    def min_gap(self, host: str, include_robots: bool = True) -> float:
        """The shortest time, in seconds, between the starts of two consecutive requests to ``host``.

        ``math.inf`` when it had fewer than two.  A crawler that keeps a delay of D between
        requests to a host gives a min_gap of D or more (less the clock's and the network's jitter).
        """
        starts = [i.start for i in self.intervals(host) if include_robots or i.path != ROBOTS_PATH]
        return min((b - a for a, b in itertools.pairwise(starts)), default=math.inf)

    def total_requests(self) -> int:
        with self._lock:
            return sum(self._requests.values())

    def reset(self) -> None:
        """Forget what was seen so far (between the runs of a benchmark); requests in flight stay counted."""
        with self._lock:
            self._max_in_flight = Counter({host: n for host, n in self._in_flight.items() if n})
            self._requests.clear()
            self._intervals.clear()

    def hold(self) -> None:
        """Answers wait from now on, until :meth:`release` (or HOLD_LIMIT_S, should a failed test never release)."""
        self._released.clear()

    def release(self) -> None:
        self._released.set()

    # -- running ----------------------------------------------------------------------------------------
    def start(self) -> MultiHostSite:
        self._thread.start()
        self._started = True
        return self

    def stop(self) -> None:
        self.release()
        if self._started:
            self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> MultiHostSite:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- the handler's side ---------------------------------------------------------------------------
    def _begin(self, host: str, path: str) -> float:
        with self._lock:
            self._requests[host, path] += 1
            self._in_flight[host] += 1
            self._max_in_flight[host] = max(self._max_in_flight[host], self._in_flight[host])
        return time.monotonic()

    def _end(self, host: str, path: str, start: float) -> None:
        end = time.monotonic()
        with self._lock:
            self._in_flight[host] -= 1
            self._intervals[host].append(Interval(start, end, path))

    # -- content ----------------------------------------------------------------------------------------
    def _robots(self, host: str) -> bytes:
        value = self._crawl_delay.get(host) if isinstance(self._crawl_delay, Mapping) else self._crawl_delay
        lines = ["User-agent: *", "Allow: /"] + ([f"Crawl-delay: {value:g}"] if value is not None else [])
        return ("\n".join(lines) + "\n").encode()

    def _home(self, host: str) -> bytes:
        items = "".join(f"<li><a href='{article_path(n)}'>{_headline(host, n)}</a></li>"
                        for n in range(self.home_links))
        return (f"<!doctype html><html lang='en'><head><meta charset='utf-8'><title>{host} news</title></head>"
                f"<body><header><h1>{host} news</h1></header><main><ul>{items}</ul></main>"
                f"<footer>Copyright {host}</footer></body></html>").encode()

    def _article(self, host: str, number: int) -> bytes:
        rng = random.Random(f"{host}/{number}")  # a str seed is hashed with SHA-512: the same in every process
        title = _headline(host, number)
        paragraphs = "".join(f"<p>{_sentences(rng, 4)}</p>" for _ in range(4))
        day = f"2024-{number % 12 + 1:02d}-{number % 28 + 1:02d}"
        related = []
        for link in self._related(host, number):
            target = urlsplit(link)
            label = _headline(target.hostname or "", _article_number(target.path))
            href = target.path if target.hostname == host else link  # relative within a host, as sites link
            related.append(f"<li><a href='{href}'>{label}</a></li>")
        return (f"<!doctype html><html lang='en'><head><meta charset='utf-8'><title>{title}</title>"
                f"<meta property='article:published_time' content='{day}T08:00:00Z'>"
                f"<meta name='author' content='Desk {host}'></head><body><nav><a href='/'>Home</a></nav>"
                f"<article><h1>{title}</h1><p class='byline'>By Desk {host}, <time datetime='{day}'>{day}</time></p>"
                f"{paragraphs}</article><aside><h2>Related</h2><ul>{''.join(related)}</ul></aside>"
                f"<footer>Copyright {host}</footer></body></html>").encode()


def _headline(host: str, number: int) -> str:
    rng = random.Random(f"headline {host}/{number}")
    return f"{' '.join(rng.choice(WORDS) for _ in range(5)).capitalize()} ({host} story {number})"


def _sentences(rng: random.Random, count: int) -> str:
    return " ".join(" ".join(rng.choice(WORDS) for _ in range(rng.randint(10, 18))).capitalize() + "."
                    for _ in range(count))


def _host_of(header: str | None) -> str:
    """The host name of a Host header, port dropped, lower case ("" when there is none)."""
    return (urlsplit(f"//{header}").hostname or "") if header else ""


def _make_handler(site: MultiHostSite) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "MultiHostSite/1.0"

        def log_message(self, format: str, *args: object) -> None:  # quiet
            pass

        def do_GET(self) -> None:
            host, path = _host_of(self.headers.get("Host")), urlsplit(self.path).path
            start = site._begin(host, path)
            try:
                site._released.wait(HOLD_LIMIT_S)
                if site.delay > 0:
                    time.sleep(site.delay)
                found = site._bodies.get((host, path))
            finally:
                # Before the answer goes out: a client that has it may send its next request before this
                # thread runs again, and the two would count as in flight together.  Counted from the
                # request's arrival to here, a request is in flight only while its client waits for it.
                site._end(host, path, start)
            status, (body, content_type) = (200, found) if found else (404, _not_found())
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    return Handler


def _not_found() -> tuple[bytes, str]:
    return (b"<!doctype html><html><head><title>Not found</title></head><body><p>No such page.</p></body></html>",
            "text/html; charset=utf-8")


if __name__ == "__main__":  # serve by hand: python -m tests.multihost
    with MultiHostSite() as running:
        print(running.port, " ".join(running.resolve_args()), flush=True)
        threading.Event().wait()
