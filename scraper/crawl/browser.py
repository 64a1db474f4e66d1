"""One headless Chromium that renders pages whose HTML is an empty shell (Playwright; only here).

The browser never reaches the network itself.  Every request a page makes is intercepted
(Playwright's ``route``) and handed to ``fetch``, the crawl's own downloader: so the address
guard, robots.txt, the size and time limits and the WARC capture apply to it as to any
request of the crawl, and the WARC holds the bytes as they crossed the wire (Content-Encoding
and all), which a capture through the DevTools protocol cannot give (it hands out decoded
bodies).  To keep it so, Chromium is given a proxy that refuses every connection, loopback
included: what escapes interception (a preconnect, a WebSocket, WebRTC) goes nowhere.

The page's own document is not fetched again: the browser gets the response the crawl
already archived.  One browser, at most ``contexts`` pages at a time, each in a fresh
context (no cookies or storage carried between pages); it is started again after
``recycle_after`` pages, and when it crashes.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import shutil
import socket
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from playwright.async_api import Browser as PlaywrightBrowser
    from playwright.async_api import Page, Playwright, Route, WebSocketRoute

logger = logging.getLogger(__name__)

# Where Debian, Ubuntu and Google put it; BROWSER_EXECUTABLE (--browser-executable) names another.
CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "chrome")
# Switches for a browser that renders, and nothing else: no first-run, sync, component updates or
# background requests (they would fail on a closed network, many at a time); no GPU.
CHROMIUM_ARGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-default-apps", "--disable-extensions", "--disable-quic", "--dns-prefetch-disable",
    "--mute-audio", "--force-webrtc-ip-handling-policy=disable_non_proxied_udp",
    "--disable-features=MediaRouter,OptimizationHints,Translate,DialMediaRouteProvider",
)
# Headers Chromium's network stack manages itself: they describe the wire, not the body handed over.
_HOP_HEADERS = frozenset({"content-encoding", "content-length", "transfer-encoding", "connection", "keep-alive"})
VIEWPORT_WIDTH, VIEWPORT_HEIGHT = 1280, 1600


class ChromiumMissing(Exception):
    """No Chromium executable where the crawl looked, or one that does not start."""


class Refused(Exception):
    """``fetch`` will not make this request (the address guard, robots.txt): the page gets a network error."""


@dataclass(frozen=True)
class BrowserRequest:
    """A request the page made, as the browser would send it."""

    url: str
    method: str
    headers: list[tuple[str, str]]
    body: bytes
    resource_type: str  # document, script, stylesheet, image, font, fetch, xhr, ...


@dataclass(frozen=True)
class BrowserResponse:
    """What the browser is given for a request: the decoded body and the headers that describe it."""

    status: int
    headers: list[tuple[str, str]]
    body: bytes


Fetch = Callable[[BrowserRequest], Awaitable[BrowserResponse]]


@dataclass(frozen=True)
class RenderedPage:
    """What rendering one page gave."""

    url: str
    dom: str | None  # the serialised DOM; None when the page never let go of its main thread
    screenshot: bytes | None  # PNG of the viewport, when asked for
    settled: bool  # the network went quiet before the time limit (False: cut at BROWSER_TIMEOUT)
    requests: int  # requests the page made that were fetched
    refused: int  # requests refused (guard, robots.txt) or blocked (WebSockets, other navigations)
    navigations: list[str] = field(default_factory=list)  # where the page tried to go instead (location=...)
    problem: str | None = None  # why there is no DOM, or why the render stopped early


def find_chromium(configured: str | None = None) -> str | None:
    """The Chromium to run: the configured path or name, else the first of CHROMIUM_NAMES on PATH."""
    if configured:
        return shutil.which(configured)  # a name on PATH, or a path to an executable file
    for name in CHROMIUM_NAMES:
        path = shutil.which(name)
        if path is not None:
            return path
    return None


def _refusing_proxy() -> socket.socket:
    """A bound, never-listening socket on loopback: connections to its port are refused, and no other
    process can take the port while the browser runs."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    return sock


class Browser:
    """One Chromium, started when the first page needs it."""

    def __init__(self, executable: str, *, timeout: float = 30.0, contexts: int = 2, recycle_after: int = 100,
                 screenshot: bool = False, max_scrolls: int = 5, user_agent: str | None = None) -> None:
        self.executable = executable
        self.timeout = timeout
        self.recycle_after = recycle_after
        self.screenshot = screenshot
        self.max_scrolls = max_scrolls
        self.user_agent = user_agent
        self.slots = asyncio.Semaphore(contexts)
        self.marker = f"--scraper-browser={uuid.uuid4().hex}"  # finds its process (process_id)
        self.starts = 0  # how many times Chromium was started: 1 + recycles + restarts after a crash
        self.crashes = 0
        self.rendered = 0  # pages rendered by the running Chromium
        self._playwright: Playwright | None = None
        self._browser: PlaywrightBrowser | None = None
        self._starting: asyncio.Lock | None = None
        self._proxy: socket.socket | None = None
        self._open_contexts = 0
        self._idle = asyncio.Event()  # set whenever no page is open

    @property
    def due_for_recycling(self) -> bool:
        return self.recycle_after > 0 and self.rendered >= self.recycle_after

    @property
    def open_pages(self) -> int:
        return self._open_contexts

    # -- the process ----------------------------------------------------------------------------
    async def _running(self) -> PlaywrightBrowser:
        if self._starting is None:
            self._starting = asyncio.Lock()
        async with self._starting:
            browser = self._browser
            if browser is not None and browser.is_connected() and self.due_for_recycling:
                # No new page until the open ones are done (the lock holds the others back meanwhile).
                while self._open_contexts > 0 and browser.is_connected():
                    self._idle.clear()
                    await self._idle.wait()
            if browser is not None and (not browser.is_connected() or self.due_for_recycling):
                # Crashed, or old enough that its memory is worth giving back: a new one.
                self._browser = None
                if browser.is_connected():
                    await _quietly(browser.close(), 10)
                browser = None
            if browser is None:
                browser = await self._launch()
        return browser

    async def _launch(self) -> PlaywrightBrowser:
        from playwright.async_api import Error as PlaywrightError
        from playwright.async_api import async_playwright

        if self._playwright is None:
            self._playwright = await async_playwright().start()
        if self._proxy is None:
            self._proxy = _refusing_proxy()
        port = self._proxy.getsockname()[1]
        try:
            browser = await self._playwright.chromium.launch(
                executable_path=self.executable, headless=True, timeout=30_000,
                args=[*CHROMIUM_ARGS, self.marker],
                # Everything through a proxy that refuses: the browser cannot reach any address by itself.
                # "<-loopback>" takes away Chromium's implicit bypass of the proxy for localhost.
                proxy={"server": f"http://127.0.0.1:{port}", "bypass": "<-loopback>"})
        except PlaywrightError as exc:
            raise ChromiumMissing(f"{self.executable} did not start: {_first_line(exc)}") from exc
        browser.on("disconnected", self._disconnected)
        self._browser = browser
        self.starts += 1
        self.rendered = 0
        return browser

    def _disconnected(self, browser: PlaywrightBrowser) -> None:
        if browser is self._browser:  # not one closed on purpose
            self.crashes += 1
            self._browser = None
            logger.warning("Chromium exited unexpectedly; it is started again for the next page")

    def process_id(self) -> int | None:
        """The running Chromium's main process, found by the marker switch it was started with."""
        for proc in Path("/proc").iterdir():
            if not proc.name.isdigit():
                continue
            try:
                args = (proc / "cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            if self.marker.encode() in args and not any(a.startswith(b"--type=") for a in args):
                return int(proc.name)
        return None

    async def close(self) -> None:
        browser, self._browser = self._browser, None
        if browser is not None:
            await _quietly(browser.close(), 10)
        if self._playwright is not None:
            await _quietly(self._playwright.stop(), 10)
            self._playwright = None
        if self._proxy is not None:
            self._proxy.close()
            self._proxy = None

    # -- one page -------------------------------------------------------------------------------
    async def render(self, url: str, document: BrowserResponse, fetch: Fetch) -> RenderedPage:
        """Render ``url`` from its archived ``document``, the page's other requests through ``fetch``."""
        async with self.slots:
            browser = await self._running()
            self._open_contexts += 1
            try:
                return await self._render(browser, url, document, fetch)
            finally:
                self._open_contexts -= 1
                self.rendered += 1
                if self._open_contexts == 0:
                    self._idle.set()

    async def _render(self, browser: PlaywrightBrowser, url: str, document: BrowserResponse,
                      fetch: Fetch) -> RenderedPage:
        from playwright.async_api import Error as PlaywrightError

        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.timeout
        tally = _Tally()
        context = await browser.new_context(user_agent=self.user_agent, service_workers="block",
                                            viewport={"width": VIEWPORT_WIDTH, "height": VIEWPORT_HEIGHT},
                                            accept_downloads=False)
        try:
            served = False

            async def on_route(route: Route) -> None:
                nonlocal served
                request = route.request
                if request.is_navigation_request() and request.frame.parent_frame is None:
                    if not served:  # the first navigation is the page's own (Chromium may respell its URL)
                        served = True
                        await _settle_route(route.fulfill(status=document.status, headers=_browser_headers(document),
                                                          body=document.body))
                        return
                    tally.navigations.append(request.url)  # followed as a link, if in scope; not here
                    tally.refused += 1
                    await _settle_route(route.abort("blockedbyclient"))
                    return
                await self._fetch_for(route, fetch, tally)

            async def on_websocket(socket_route: WebSocketRoute) -> None:
                tally.refused += 1  # never connected to the server: nothing to archive
                await _settle_route(socket_route.close(code=1008, reason="not archived"))

            await context.route("**/*", on_route)
            await context.route_web_socket("**/*", on_websocket)
            page = await context.new_page()
            settled, problem = await self._load(page, url, deadline)
            dom = None
            remaining = max(deadline - loop.time(), 0.0) + 2.0  # the DOM is worth a little more time
            try:
                dom = await asyncio.wait_for(page.content(), remaining)
            except (TimeoutError, PlaywrightError):
                # A script spinning in a loop: nothing can be read of the page.
                problem = f"{problem or 'settled'}; no DOM: the page never let go of its main thread"
            screenshot = None
            if self.screenshot and dom is not None:
                with contextlib.suppress(TimeoutError, PlaywrightError):
                    screenshot = await asyncio.wait_for(page.screenshot(type="png", timeout=5_000), 6)
            return RenderedPage(url=url, dom=dom, screenshot=screenshot, settled=settled, requests=tally.requests,
                                refused=tally.refused, navigations=tally.navigations, problem=problem)
        finally:
            if not await _quietly(context.close(), 5) and browser.is_connected():
                # A renderer that will not close (a page spinning in a loop): this browser is done with.
                self._browser = None
                await _quietly(browser.close(), 10)

    async def _fetch_for(self, route: Route, fetch: Fetch, tally: _Tally) -> None:
        from playwright.async_api import Error as PlaywrightError

        request = route.request
        if not request.url.startswith(("http://", "https://")):
            await _settle_route(route.continue_())  # data:, blob: ... never reach the network
            return
        try:
            headers = await request.headers_array()
            asked = BrowserRequest(url=request.url, method=request.method,
                                   headers=[(h["name"], h["value"]) for h in headers],
                                   body=request.post_data_buffer or b"", resource_type=request.resource_type)
        except PlaywrightError:
            return  # the page is gone
        try:
            answer = await fetch(asked)
        except Refused:
            tally.refused += 1
            await _settle_route(route.abort("blockedbyclient"))
            return
        except Exception as exc:
            logger.debug("browser request %s failed: %s", request.url, exc)
            await _settle_route(route.abort("failed"))
            return
        tally.requests += 1
        await _settle_route(route.fulfill(status=answer.status, headers=_browser_headers(answer), body=answer.body))

    async def _load(self, page: Page, url: str, deadline: float) -> tuple[bool, str | None]:
        """Load, wait for the network to go quiet, scroll for what loads on view; by ``deadline``."""
        from playwright.async_api import Error as PlaywrightError
        from playwright.async_api import TimeoutError as PlaywrightTimeout

        loop = asyncio.get_running_loop()

        def left_ms() -> float:
            return max(deadline - loop.time(), 0.0) * 1000

        cut = f"cut at the {self.timeout:g} s limit"
        try:
            await page.goto(url, wait_until="load", timeout=max(left_ms(), 1))
        except PlaywrightTimeout:
            return False, f"{cut}: the page never finished loading"
        except PlaywrightError as exc:
            return False, f"the page did not load: {_first_line(exc)}"
        try:
            await page.wait_for_load_state("networkidle", timeout=max(left_ms(), 1))
        except PlaywrightError:
            return False, f"{cut}: its network never went quiet"
        # Lazy images and infinite scroll load what comes into view: scroll to the bottom until nothing new comes.
        for _ in range(self.max_scrolls):
            if left_ms() <= 0:
                return False, f"{cut} while scrolling"
            try:
                height = await asyncio.wait_for(page.evaluate(_SCROLL_TO_BOTTOM), left_ms() / 1000)
                await page.wait_for_load_state("networkidle", timeout=max(left_ms(), 1))
                await page.wait_for_timeout(min(150, left_ms()))  # a scroll handler's own timer
                await page.wait_for_load_state("networkidle", timeout=max(left_ms(), 1))
                grown = await asyncio.wait_for(page.evaluate("document.documentElement.scrollHeight"),
                                               max(left_ms(), 1) / 1000)
            except (TimeoutError, PlaywrightError):
                return False, f"{cut} while scrolling: the page or its network never went quiet"
            if grown <= height:
                break
        return True, None


_SCROLL_TO_BOTTOM = """() => {
  const height = document.documentElement.scrollHeight;
  window.scrollTo(0, height);
  return height;
}"""


@dataclass
class _Tally:
    requests: int = 0
    refused: int = 0
    navigations: list[str] = field(default_factory=list)


def _browser_headers(response: BrowserResponse) -> dict[str, str]:
    """The response's headers as the browser takes them: repeated ones joined (Set-Cookie by newlines,
    as Playwright wants), and none that describe a wire encoding the body no longer has."""
    joined: dict[str, str] = {}
    for name, value in response.headers:
        key = name.lower()
        if key in _HOP_HEADERS:
            continue
        separator = "\n" if key == "set-cookie" else ", "
        joined[key] = f"{joined[key]}{separator}{value}" if key in joined else value
    return joined


async def _settle_route(action: Awaitable[Any]) -> None:
    """Answer a route; the page may have closed meanwhile, which is no error of ours."""
    from playwright.async_api import Error as PlaywrightError

    with contextlib.suppress(PlaywrightError):
        await action


async def _quietly(action: Awaitable[Any], seconds: float) -> bool:
    """Await ``action`` for at most ``seconds``; whether it finished without an error."""
    try:
        await asyncio.wait_for(action, seconds)
    except Exception:
        return False
    return True


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else ""


def chromium_memory_kib(pid: int | None) -> int:
    """Proportional set size of a Chromium and every process under it, in KiB (0 when it is not running)."""
    if pid is None:
        return 0
    children: dict[int, list[int]] = {}
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            with contextlib.suppress(OSError, IndexError, ValueError):
                stat = (proc / "stat").read_text()
                parent = int(stat.rsplit(")", 1)[1].split()[1])
                children.setdefault(parent, []).append(int(proc.name))
    total, todo = 0, [pid]
    while todo:
        current = todo.pop()
        todo.extend(children.get(current, []))
        with contextlib.suppress(OSError, ValueError):
            for line in Path(f"/proc/{current}/smaps_rollup").read_text().splitlines():
                if line.startswith("Pss:"):
                    total += int(line.split()[1])
    return total


__all__ = ["Browser", "BrowserRequest", "BrowserResponse", "ChromiumMissing", "Fetch", "Refused", "RenderedPage",
           "chromium_memory_kib", "find_chromium"]
