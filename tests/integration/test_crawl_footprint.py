"""What a crawl leaves outside its archive root: nothing."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import FAST, REPO, crawl_dirs
from tests.site import Site


def test_a_crawl_writes_nothing_in_the_users_home(site: Site, tmp_path: Path) -> None:
    """No job files, no control servers' state: Scrapy's RemoteControl (on by default) writes ~/.local/state."""
    home = tmp_path / "home"
    home.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("XDG_")}
    proc = subprocess.run([sys.executable, "-m", "scraper", "crawl", site.url("/"), "--out", str(tmp_path / "archive"),
                           "-q", *FAST], cwd=REPO, capture_output=True, text=True, timeout=180,
                          env={**env, "PYTHONPATH": str(REPO), "HOME": str(home)})
    assert proc.returncode == 0, proc.stderr
    assert len(crawl_dirs(tmp_path / "archive")) == 1
    assert sorted(str(p.relative_to(home)) for p in home.rglob("*")) == []
