"""What a crawl leaves outside its archive root: only the unpacked language model, in the user's cache."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import FAST, REPO, crawl_dirs
from tests.site import LivePage, Site, live_article


def test_a_crawl_writes_nothing_in_the_users_home_but_its_cache(site: Site, tmp_path: Path) -> None:
    """No job files, no control servers' state: Scrapy's RemoteControl (on by default) writes ~/.local/state.

    The one thing kept is py3langid's model, unpacked once into ~/.cache/scraper (scraper.compat.langid)
    by the first page whose language is not declared.
    """
    page = live_article("Footprint", ["A story told without saying which language it is told in. " * 8], [])
    site.live["footprint"] = LivePage(body=page.replace(b" lang='en'", b""))
    home = tmp_path / "home"
    home.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("XDG_") and k != "SCRAPER_CACHE_DIR"}
    env = {**env, "PYTHONPATH": str(REPO), "HOME": str(home)}

    def crawl(out: str) -> None:
        proc = subprocess.run([sys.executable, "-m", "scraper", "crawl", site.url("/live/footprint"),
                               "--archive", str(tmp_path / out), "-q", *FAST],
                              cwd=REPO, capture_output=True, text=True, timeout=180, env=env)
        assert proc.returncode == 0, proc.stderr
        assert len(crawl_dirs(tmp_path / out)) == 1

    crawl("archive")
    written = sorted(str(p.relative_to(home)) for p in home.rglob("*") if p.is_file())
    assert written and all(p.startswith(".cache/scraper/py3langid-") for p in written), written
    (model,) = (home / ".cache" / "scraper").iterdir()
    assert (model / "complete").is_file()
    before = {p: p.stat().st_mtime_ns for p in home.rglob("*")}
    crawl("again")  # the second crawl maps the copy: nothing written
    assert {p: p.stat().st_mtime_ns for p in home.rglob("*")} == before
