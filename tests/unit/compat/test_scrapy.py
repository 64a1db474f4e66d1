"""What scraper.crawl.settings and scraper.compat.scrapy assume of Scrapy: fails when an upgrade changes it."""

from __future__ import annotations

import inspect
import pathlib
import subprocess
import sys
import types
from collections import deque

import pytest
from scrapy.settings import default_settings
from tldextract import TLDExtract

from scraper.compat import scrapy as compat_scrapy
from scraper.crawl import settings
from tests.conftest import REPO

SWITCHED_OFF = {"scrapy.extensions.telnet.TelnetConsole", "scrapy.extensions.remote_control.RemoteControl"}


def test_extensions_base_is_scrapys_less_the_two_switched_off() -> None:
    theirs = {name: order for name, order in default_settings.EXTENSIONS_BASE.items() if name not in SWITCHED_OFF}
    assert theirs == settings.EXTENSIONS_BASE
    assert set(default_settings.EXTENSIONS_BASE) >= SWITCHED_OFF, "Scrapy renamed an extension we leave out"
    assert not settings.TELNETCONSOLE_ENABLED and not settings.REMOTE_CONTROL_ENABLED


def test_a_crawl_process_never_imports_the_extensions_left_out() -> None:
    """Scrapy imports each class its extension lists name, switched off or not: these are not named."""
    code = ("import sys\nfrom scrapy.settings import Settings\nfrom scraper.crawl import settings\n"
            "ours = Settings({k: v for k, v in vars(settings).items() if k.isupper()})\n"
            "from scrapy.utils.misc import load_object\n"
            "for name in ours.get_component_priority_dict_with_base('EXTENSIONS'):  # as ExtensionManager does\n"
            "    load_object(name)\n"
            "print(sorted(m for m in sys.modules if m.startswith(('aiohttp', 'twisted.conch', "
            "'scrapy.extensions.telnet', 'scrapy.extensions.remote_control'))))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, timeout=60)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip() == "[]"


def test_the_old_settings_module_gives_scrapy_the_same_settings() -> None:
    """Users' scrapy.cfg files say ``default = scraper.settings`` (until the next release): the same crawl."""
    from scrapy.settings import Settings

    old, new = Settings(), Settings()
    old.setmodule("scraper.settings")
    new.setmodule("scraper.crawl.settings")
    assert old.copy_to_dict() == new.copy_to_dict()
    assert old["ITEM_PIPELINES"] == settings.ITEM_PIPELINES and old["ARCHIVE_MAX_BODY_BYTES"] > 0


# -- scraper.compat.scrapy: the private parts it names, as the installed Scrapy has them ---------------------
def _parameters(function: object) -> list[str]:
    return list(inspect.signature(function).parameters)  # type: ignore[arg-type]


def _calls(function: object, name: str) -> bool:
    """Whether ``function``'s code, or a function defined in it, names ``name`` (a global or an attribute)."""
    codes = [inspect.unwrap(function).__code__]  # type: ignore[arg-type]
    while codes:
        code = codes.pop()
        if name in code.co_names:
            return True
        codes.extend(const for const in code.co_consts if isinstance(const, types.CodeType))
    return False


def test_schedule_coro_is_scrapys_and_takes_one_coroutine() -> None:
    from scrapy.utils import defer

    assert _parameters(defer._schedule_coro) == ["coro"]
    assert not inspect.iscoroutinefunction(defer._schedule_coro), "callable from synchronous code, not awaited"


def test_the_cookies_middleware_reads_the_bundled_suffix_list(monkeypatch: pytest.MonkeyPatch) -> None:
    import scrapy.downloadermiddlewares.cookies as cookies
    from scrapy import Request
    from scrapy.downloadermiddlewares.cookies import CookiesMiddleware
    from scrapy.http import Response

    monkeypatch.setattr(cookies, "_split_domain", None)  # restored after the test
    compat_scrapy.cookies_use_bundled_suffix_list()
    assert isinstance(cookies._split_domain, TLDExtract) and cookies._split_domain.suffix_list_urls == ()
    # Scrapy reads the module's global at each call, and its middleware asks it of every cookie's domain.
    assert _calls(cookies._is_public_domain, "_split_domain")
    assert _calls(CookiesMiddleware._process_cookies, "_is_public_domain")
    middleware = CookiesMiddleware()
    request = Request("https://blog.github.io/")
    for domain, kept in (("github.io", False), ("blog.github.io", True)):  # github.io: a private-domain suffix
        response = Response(request.url, headers={"Set-Cookie": f"k=v; Domain={domain}"}, request=request)
        middleware.jars.clear()
        middleware.process_response(request, response)
        assert bool(list(middleware.jars[None])) is kept, domain


def test_the_stop_signal_handlers_are_the_ones_scrapy_installs() -> None:
    from scrapy.crawler import CrawlerProcess

    assert _parameters(CrawlerProcess._signal_shutdown)[:2] == ["self", "signum"]
    assert len(_parameters(CrawlerProcess._signal_shutdown)) == 3  # (self, signum, frame): a signal handler
    assert len(_parameters(CrawlerProcess._signal_kill)) == 3
    # The first signal's handler installs the second's, by its name: SignalHookedProcess overrides both.
    assert _calls(CrawlerProcess._signal_shutdown, "_signal_kill")
    assert issubclass(compat_scrapy.SignalHookedProcess, CrawlerProcess)


def test_the_downloader_parts_the_gate_extends() -> None:
    from scrapy.core.downloader import Downloader, Slot

    assert inspect.iscoroutinefunction(Downloader._enqueue_request)
    assert _parameters(Downloader._enqueue_request) == ["self", "request"]
    assert inspect.iscoroutinefunction(Downloader._download)
    assert _parameters(Downloader._download) == ["self", "slot", "request"]
    assert _calls(Downloader.fetch, "_enqueue_request"), "fetch no longer goes through _enqueue_request"
    assert _calls(Downloader._wait_for_download, "_download"), "a queued request is no longer sent by _download"
    slot = Slot(concurrency=1, delay=0)
    assert isinstance(slot.queue, deque) and isinstance(slot.transferring, set)
    # GatedDownloader._process_queue replaces Scrapy's: the one it replaces is called where it was, and the
    # names it uses are still there.
    assert _parameters(Downloader._process_queue) == ["self", "slot"]
    assert _calls(Downloader._download, "_process_queue") and _calls(Downloader._latercall, "_process_queue")
    assert _parameters(Downloader._wait_for_download) == ["self", "slot", "request", "queue_dfd"]
    assert slot.latercall is None and slot.lastseen == 0 and callable(slot.download_delay)


def test_the_gated_downloader_drops_and_counts_through_the_slots() -> None:
    from scrapy import Request
    from scrapy.core.downloader import Slot
    from scrapy.http import Response
    from scrapy.utils.test import get_crawler
    from twisted.internet.defer import Deferred

    downloader = compat_scrapy.GatedDownloader(get_crawler())
    slot = Slot(concurrency=2, delay=0)
    downloader.slots["example.com"] = slot
    waiting: tuple[Request, Deferred[Response]] = (Request("https://example.com/a"), Deferred())
    slot.queue.append(waiting)
    slot.transferring.add(Request("https://example.com/b"))
    assert downloader.in_flight() == 1
    assert downloader.take_waiting() == [waiting] and not slot.queue
    downloader.close()


def test_closespider_closes_through_close_spider() -> None:
    from scrapy.extensions.closespider import CloseSpider

    assert _parameters(CloseSpider._close_spider) == ["self", "reason"]
    assert _calls(CloseSpider.spider_opened, "_close_spider"), "CLOSESPIDER_TIMEOUT no longer closes through it"


def test_the_robots_middleware_keeps_a_table_by_host() -> None:
    from scrapy.downloadermiddlewares.robotstxt import RobotsTxtMiddleware
    from scrapy.robotstxt import RobotParser
    from scrapy.utils.test import get_crawler
    from twisted.internet.defer import Deferred

    middleware = RobotsTxtMiddleware(get_crawler(settings_dict={"ROBOTSTXT_OBEY": True}))
    assert middleware._parsers == {}
    assert compat_scrapy.robots_parser_entry(middleware, "example.com") is None
    pending: Deferred[RobotParser | None] = Deferred()
    middleware._parsers["example.com"] = pending
    assert compat_scrapy.robots_parser_entry(middleware, "example.com") is pending
    assert _calls(RobotsTxtMiddleware.robot_parser, "_parsers")


def test_the_deprecated_tls_aliases_are_imported_without_reading_the_stack_sources() -> None:
    """compat.scrapy imports Scrapy's TLS modules with a stack that reads no source lines; what Scrapy makes of
    it (the aliases' module) is the same, and ``inspect`` is Scrapy's own again afterwards."""
    import subprocess
    import sys

    code = ("import inspect, linecache, sys\n"
            "import scraper.compat.scrapy\n"
            "import scrapy.utils.deprecate as d\n"
            "from scrapy.core.downloader.contextfactory import ScrapyClientContextFactory as A\n"
            "from scrapy.core.downloader.tls import ScrapyClientTLSOptions as B\n"
            "print(A.__module__, B.__module__, d.inspect is inspect)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out == ["scrapy.core.downloader.contextfactory", "scrapy.core.downloader.tls", "True"]
    from scrapy.utils import deprecate

    assert _calls(deprecate.create_deprecated_class, "stack"), "Scrapy no longer calls inspect.stack() there"


def test_the_disk_queue_pushes_the_dict_scrapy_would_and_pops_the_same_requests(tmp_path: pathlib.Path) -> None:
    """RequestDiskQueue makes Request.to_dict's dict itself (callback names from a cache): the same dict,
    and what Scrapy's own queue would give back; Scrapy's error for a callback that is no spider method."""
    from scrapy import Spider
    from scrapy.http import FormRequest, Request
    from scrapy.squeues import PickleLifoDiskQueue
    from scrapy.utils.test import get_crawler

    class Archive(Spider):
        name = "archive"

        def parse(self, response: object) -> None: ...

        def parse_page(self, response: object) -> None: ...

        def failed(self, failure: object) -> None: ...

    crawler = get_crawler(Archive)
    crawler.spider = spider = Archive()
    requests = [
        Request("http://127.0.0.1/a", callback=spider.parse_page, errback=spider.failed,
                meta={"depth": 2, "referrer": "http://127.0.0.1/"}, priority=-3, cb_kwargs={"k": 1}),
        Request("http://127.0.0.1/b", dont_filter=True),
        Request("http://127.0.0.1/c", callback=spider.parse, headers={"X-A": "1"}),
        FormRequest("http://127.0.0.1/d", formdata={"q": "x"}, callback=spider.parse_page),
        Request("http://127.0.0.1/e", callback=spider.parse_page, errback=spider.failed),  # the names cached
    ]
    ours = compat_scrapy.RequestDiskQueue(crawler, str(tmp_path / "ours"))
    theirs = PickleLifoDiskQueue(crawler, str(tmp_path / "theirs"))
    for request in requests:
        assert ours.request_dict(request) == request.to_dict(spider=spider)
        ours.push(request)
        theirs.push(request)
    for _ in requests:
        mine, scrapys = ours.pop(), theirs.pop()
        assert mine is not None and scrapys is not None
        assert mine.to_dict(spider=spider) == scrapys.to_dict(spider=spider)
    assert ours.pop() is None
    with pytest.raises(ValueError, match="is not an instance method"):
        ours.push(Request("http://127.0.0.1/f", callback=lambda response: None))
    ours.close()
    theirs.close()


def test_a_slot_configured_at_run_time_gets_its_delay_and_concurrency() -> None:
    """configure_download_slot writes what DOWNLOAD_SLOTS would have said, which Scrapy reads when it makes a slot."""
    from scrapy.core.downloader import Downloader
    from scrapy.utils.test import get_crawler

    crawler = get_crawler(settings_dict={"DOWNLOAD_SLOTS": {"other": {"delay": 3}}})
    downloader = compat_scrapy.GatedDownloader(crawler)
    compat_scrapy.configure_download_slot(downloader, "browser:example.com", delay=0.0, concurrency=4)
    compat_scrapy.configure_download_slot(downloader, "other", delay=0.0, concurrency=4)  # a user's entry stands
    assert downloader.per_slot_settings == {"browser:example.com": {"delay": 0.0, "concurrency": 4},
                                            "other": {"delay": 3}}
    assert _calls(Downloader._get_slot, "per_slot_settings"), "slots are no longer made from per_slot_settings"
    downloader.close()
