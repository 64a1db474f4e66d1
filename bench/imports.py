"""`scraper import` against `scraper reextract` on the same WARC files.

    .venv/bin/python bench/imports.py [--pages N] [--server auto|nginx|python] [--repeat R] [--keep]

Generates the benchmark site (bench/sitegen.py), serves it on loopback, crawls it once with
`scraper crawl`, then times, in subprocesses, on the WARC files of that one crawl:

- `scraper reextract`: page records again from the crawl's own WARC files, in place;
- `scraper import CRAWL_FOLDER --archive OTHER_ROOT`: the same files copied into another archive root,
  read, every page extracted, recorded in pages.jsonl and the catalog.

Both extract every page with the same extractor. Wall-clock time of each (best of --repeat runs),
pages per second and the ratio are printed. Nothing is asserted.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import sitegen
from crawl import BENCH_DIR, free_port, pick_server, start_server
from tables import print_table

REPO = BENCH_DIR.parent


def scraper(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "scraper", *args], cwd=REPO, capture_output=True, text=True,
                          check=False)


def timed(*args: str) -> float:
    started = time.monotonic()
    proc = scraper(*args)
    elapsed = time.monotonic() - started
    if proc.returncode != 0:
        raise SystemExit(f"bench/imports.py: scraper {' '.join(args)} exited {proc.returncode}: {proc.stderr[-400:]}")
    return elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pages", type=int, default=1000, help="articles in the generated site (default 1000)")
    parser.add_argument("--server", choices=["auto", "nginx", "python"], default="auto")
    parser.add_argument("--repeat", type=int, default=3,
                        help="runs of each command, alternated; the best counts (default 3)")
    parser.add_argument("--keep", action="store_true", help="keep the temp dir and print where it is")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-imports-"))
    try:
        port = free_port()
        site = sitegen.generate(work / "site", f"http://127.0.0.1:{port}", args.pages)
        server = start_server(pick_server(args.server), work / "site", work, port)
        try:
            crawled = scraper("crawl", site.base + "/", "--depth", "1000000", "--archive", str(work / "crawled"), "-q",
                              "-s", "AUTOTHROTTLE_ENABLED=False", "-s", "CONCURRENT_REQUESTS_PER_DOMAIN=16")
        finally:
            server.stop()
        if crawled.returncode != 0:
            raise SystemExit(f"bench/imports.py: the crawl failed: {crawled.stderr[-400:]}")
        (crawl,) = (work / "crawled" / "crawls").iterdir()
        pages = (crawl / "pages.jsonl").read_bytes().count(b"\n")
        warc_bytes = sum(p.stat().st_size for p in crawl.glob("*.warc.gz"))
        # Alternated, best of each: the machine is shared, and its load changes from minute to minute.
        reextracts, imports = [], []
        for run in range(args.repeat):
            reextracts.append(timed("reextract", "--archive", str(work / "crawled"), "-q"))
            imports.append(timed("import", str(crawl), "--archive", str(work / f"imported-{run}"), "-q"))
            (imported,) = (work / f"imported-{run}" / "crawls").iterdir()
            counted = json.loads((imported / "manifest.json").read_text(encoding="utf-8"))["counts"]["pages"]
            if counted != pages:
                raise SystemExit(f"bench/imports.py: the import recorded {counted} pages, the crawl {pages}")
        best, reextract = min(imports), min(reextracts)
        print(f"{pages} pages, {warc_bytes / 1e6:.1f} MB of WARC, best of {args.repeat} run(s); "
              f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
        print_table(["command", "seconds", "pages/s"], [
            ["scraper reextract", f"{reextract:.1f}", f"{pages / reextract:.1f}"],
            ["scraper import", f"{best:.1f}", f"{pages / best:.1f}"],
        ])
        print(f"import / reextract throughput: {reextract / best:.2f}x")
    finally:
        if args.keep:
            print(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
