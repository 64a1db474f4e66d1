"""What scraper.crawl.settings assumes of Scrapy: fails when an upgrade changes it underneath."""

from __future__ import annotations

import subprocess
import sys

from scrapy.settings import default_settings

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
