"""Browser benchmark (issue 20): pages rendered in Chromium, and what `--browser auto` costs where no page needs it.

Two measurements, each a ``scraper crawl`` in a subprocess, its whole process tree sampled (wall time, CPU of the
tree through RUSAGE_CHILDREN, peak PSS of the tree: crawl process, extraction workers, Playwright's driver and
every Chromium process):

1. **rendering**: the script-built site of the browser tests (``tests/js_site.py``: each article an empty shell
   filled from ``/api/article/N``, gzipped JSON) crawled with ``--browser always``, against the same crawl with
   ``--browser never`` (which archives the shells and extracts nothing from them);
2. **auto on a static site**: the generated news site of ``bench/crawl.py`` (``bench/sitegen.py``) crawled with
   ``--browser auto`` (the default) against ``--browser never``, alternately, ``--repeat`` times each.

Prints figures; asserts nothing; not part of the test run.

    .venv/bin/python bench/browser.py [--articles N] [--static-pages N] [--repeat K] [--json PATH]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import sys
import tempfile
import threading
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import sitegen
from crawl import (
    REPO_ROOT,
    UNLIMITED_DEPTH,
    Measurement,
    free_port,
    measure,
    pick_server,
    start_server,
)
from crawl_workers import BENCH_OVERRIDES
from tables import print_table

sys.path.insert(0, str(REPO_ROOT))
from tests.js_site import JsSiteServer  # the browser tests' site, served in this process


@dataclass(frozen=True)
class Run:
    name: str
    pages: int
    rendered: int
    measurement: Measurement

    @property
    def pages_per_s(self) -> float:
        return self.pages / self.measurement.wall_s if self.measurement.wall_s else 0.0

    @property
    def cpu_ms_per_page(self) -> float:
        return 1000 * self.measurement.cpu_s / self.pages if self.pages else 0.0


class InProcessServer:
    """What ``crawl.measure`` needs of a server (its processes, its CPU) for one served by threads here:
    no processes to leave out of the tree, and its CPU is this process's, outside RUSAGE_CHILDREN."""

    kind = "python (threads in the benchmark's process)"

    def __init__(self) -> None:
        self.pids: list[int] = []
        self.process = SimpleNamespace(pid=os.getpid())  # the one process not to reap

    def cpu_seconds(self) -> float:
        return 0.0


def scraper_crawl(start: str, run_dir: Path, browser: str, depth: int, server: Any, label: str = "") -> Run:
    overrides = [part for name, value in BENCH_OVERRIDES.items() for part in ("-s", f"{name}={value}")]
    command = [sys.executable, "-m", "scraper", "crawl", start, "--depth", str(depth), "--archive",
               str(run_dir / "archive"), "-q", "--browser", browser, *overrides]
    run_dir.mkdir(parents=True)
    measurement = measure(command, run_dir, server, REPO_ROOT)
    if measurement.returncode not in (0, 1):
        raise SystemExit(f"{' '.join(command)} exited {measurement.returncode}: "
                         f"{(run_dir / 'stderr.txt').read_text()[-2000:]}")
    (manifest_path,) = (run_dir / "archive" / "crawls").glob("*/manifest.json")
    counts = json.loads(manifest_path.read_text())["counts"]
    shutil.rmtree(run_dir / "archive")
    return Run(f"{label}--browser {browser}", int(counts["pages"]), int(counts["pages_rendered"]), measurement)


def row(run: Run) -> list[str]:
    m = run.measurement
    return [run.name, f"{run.pages:,}", f"{run.rendered:,}", f"{m.wall_s:.1f}", f"{run.pages_per_s:.1f}",
            f"{run.cpu_ms_per_page:.1f}", f"{m.tree_pss_mib:.0f}", f"{m.largest_mib:.0f} ({m.largest_name})",
            f"{m.processes}", f"{m.load_before:.1f}"]


HEADERS = ["crawl", "pages", "rendered", "wall s", "pages/s", "CPU ms/page", "peak tree PSS MiB",
           "largest process MiB", "processes", "load before"]


def rendering(articles: int, work: Path) -> list[Run]:
    """The same number of server-built articles (``/static/N``) without a browser and with one, then the
    script-built ones (``/article/N``) with one."""
    with JsSiteServer(static_pages=articles, articles=articles) as site:
        server = InProcessServer()
        # From an index of links to every article, so that pages are fetched and rendered side by side.
        return [scraper_crawl(site.url("/static/"), work / "static-never", "never", 1, server, "server-built, "),
                scraper_crawl(site.url("/static/"), work / "static-always", "always", 1, server, "server-built, "),
                scraper_crawl(site.url("/"), work / "js-always", "always", 1, server, "script-built, ")]


def auto_on_static(pages: int, repeat: int, work: Path) -> list[Run]:
    site_dir = work / "site"
    port = free_port()
    site = sitegen.generate(site_dir, f"http://127.0.0.1:{port}", pages)
    server = start_server(pick_server("auto"), site_dir, work, port)
    try:
        start = f"{site.base}/"
        runs = []
        for round_ in range(repeat):
            for mode in ("never", "auto"):  # alternately: a drift in the machine's load falls on both
                runs.append(scraper_crawl(start, work / f"static-{mode}-{round_}", mode, UNLIMITED_DEPTH, server))
        return runs
    finally:
        server.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--articles", type=int, default=200, help="script-built articles to render (default 200)")
    parser.add_argument("--static-pages", type=int, default=1000, help="articles of the static site (default 1000)")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each mode on the static site (default 3)")
    parser.add_argument("--only", choices=("rendering", "static"), help="one of the two measurements")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    print(f"# {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {platform.node()}, {os.cpu_count()} CPUs, "
          f"load {os.getloadavg()[0]:.1f}", flush=True)
    with tempfile.TemporaryDirectory(prefix="bench-browser-") as tmp:
        work = Path(tmp)
        rendered: list[Run] = []
        if args.only in (None, "rendering"):
            rendered = rendering(args.articles, work)
            print("\n## rendering: the browser tests' site")
            print_table(HEADERS, [row(run) for run in rendered])
            never, _static_always, always = rendered
            print(f"\nscript-built, --browser always: {always.pages_per_s:.1f} pages/s, {always.cpu_ms_per_page:.0f} "
                  f"ms CPU a page, peak tree PSS {always.measurement.tree_pss_mib:.0f} MiB; against the server-built "
                  f"articles without a browser: {never.pages_per_s / always.pages_per_s:.1f}x the wall time a page, "
                  f"{always.cpu_ms_per_page / never.cpu_ms_per_page:.1f}x the CPU")
        if args.only == "rendering":
            return
        static = auto_on_static(args.static_pages, args.repeat, work)
        print("\n## --browser auto on the static news site (no page needs a browser)")
        print_table(HEADERS, [row(run) for run in static])
        walls = {mode: [r.measurement.wall_s for r in static if r.name.endswith(mode)] for mode in ("never", "auto")}
        cpus = {mode: [r.measurement.cpu_s for r in static if r.name.endswith(mode)] for mode in ("never", "auto")}
        wall_ratio = statistics.median(walls["auto"]) / statistics.median(walls["never"])
        cpu_ratio = statistics.median(cpus["auto"]) / statistics.median(cpus["never"])
        print(f"\nauto over never, medians of {args.repeat}: wall {wall_ratio:.3f}x, CPU {cpu_ratio:.3f}x "
              f"(pages rendered by auto: {sum(r.rendered for r in static if r.name.endswith('auto'))})")
        if args.json:
            args.json.write_text(json.dumps({"rendering": [asdict(r) for r in rendered],
                                             "static": [asdict(r) for r in static],
                                             "auto_over_never": {"wall": wall_ratio, "cpu": cpu_ratio}}, indent=2))


if __name__ == "__main__":
    threading.current_thread().name = "bench"
    main()
