"""The reading side: `scraper verify`, `index`, `reextract` and `export` against the fastest tool for each job.

    .venv/bin/python bench/reading.py [--size-mb 1024] [--extract-mb 32] [--quick] [--repeat R] [--json PATH]

The archives are what `scraper crawl` writes: the generated news site (bench/sitegen.py) is served on
loopback and crawled once with `scraper crawl --no-extract` (WARC files with their metadata records,
pages.jsonl, the catalog), then kept under --cache keyed by the site's size and seed, so a second run
starts at once.  About 145 pages make a MB of gzipped WARC, so --size-mb 1024 is ~150,000 pages.

Each job is timed in a subprocess of its own, ours and the other tools alternated in the same run
(wall time, CPU = user+sys of the whole process tree from RUSAGE_CHILDREN, peak RSS of the tree sampled
every 50 ms):

- reading and verifying the full archive: `scraper verify` against `fastwarc check -p` (block and payload
  digests, one process per file) and `warcio check`;
- indexing it: `scraper index` against `cdxj-indexer --sort --records response,revisit,resource` on the same
  WARC files (and `fastwarc index`, unsorted and without SURT keys: not the same job, shown for scale);
- re-extraction, on a smaller archive (--extract-mb: extraction costs the same per page at any size):
  `scraper reextract` against trafilatura.bare_extraction(with_metadata=True) over a Pool of os.cpu_count()
  processes fed the same HTML payloads read from the WARC, and `scraper reextract --jobs 1` against the
  default when the command has --jobs;
- `scraper export --jobs 1` against the default, on the re-extracted small archive;
- memory: each of our commands again on an archive a quarter the size; peak RSS must not follow the size.

Nothing is asserted; the ratios are printed beside the issue's targets.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import resource
import shlex
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sitegen
from crawl import (
    UNLIMITED_DEPTH,
    become_subreaper,
    code_state,
    free_port,
    html_responses,
    machine,
    package_version,
    pick_server,
    reap_strays,
    sample_tree,
    start_server,
)
from tables import print_table

BENCH_DIR = Path(__file__).resolve().parent
REPO = BENCH_DIR.parent
BIN = Path(sys.executable).parent
CPUS = os.cpu_count() or 1
PAGES_PER_MB = 145  # articles per MB of gzipped WARC, measured on the generated site (~7 KB a page)
CAPTURES = "response,revisit,resource"  # what `scraper index` indexes, so what cdxj-indexer is asked for
TARGET_TOOL_RATIO = 1.5  # ours within 1.5x of the fastest tool's wall time
TARGET_CORES = 1.7  # reextract and export on every core against one process
HAS_FASTWARC = (BIN / "fastwarc").is_file()  # `make bench-reading` installs it (pyproject's "bench" extra)


def scraper(*args: str) -> list[str]:
    return [sys.executable, "-m", "scraper", *args]


# -- the archives -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Archive:
    root: Path
    articles: int
    pages: int  # page records in pages.jsonl
    warcs: tuple[Path, ...]
    build_s: float

    @property
    def mb(self) -> float:
        return sum(p.stat().st_size for p in self.warcs) / 1e6

    @property
    def page_files(self) -> list[Path]:
        return sorted(self.root.glob("crawls/*/pages.jsonl"))


def build_archive(cache: Path, articles: int, seed: int, server_choice: str) -> Archive:
    """The archive `scraper crawl --no-extract` writes of a generated site of ``articles`` articles, cached."""
    home = cache / f"site-{articles}-seed{seed}"
    root, stamp = home / "archive", home / "built.json"
    if not stamp.is_file():
        shutil.rmtree(home, ignore_errors=True)
        home.mkdir(parents=True)
        started = time.monotonic()
        port = free_port()
        progress(f"generating a site of {articles} articles and crawling it into {root} (once; cached)")
        site = sitegen.generate(home / "site", f"http://127.0.0.1:{port}", articles, seed)
        server = start_server(pick_server(server_choice), home / "site", home, port)
        try:
            crawled = subprocess.run(
                scraper("crawl", site.base + "/", "--depth", str(UNLIMITED_DEPTH), "--archive", str(root),
                        "--no-extract", "-q", "-s", "AUTOTHROTTLE_ENABLED=False",
                        "-s", "CONCURRENT_REQUESTS_PER_DOMAIN=16"),
                cwd=REPO, capture_output=True, text=True, check=False)
        finally:
            server.stop()
        if crawled.returncode != 0:
            raise SystemExit(f"bench/reading.py: the crawl failed ({crawled.returncode}): {crawled.stderr[-600:]}")
        shutil.rmtree(home / "site", ignore_errors=True)  # the crawl is what is kept; the site is ~15 KB a page
        stamp.write_text(json.dumps({"articles": articles, "seed": seed, "build_s": time.monotonic() - started}),
                         encoding="utf-8")
    built = json.loads(stamp.read_text(encoding="utf-8"))
    pages = sum(p.read_bytes().count(b"\n") for p in root.glob("crawls/*/pages.jsonl"))
    return Archive(root, articles, pages, tuple(sorted(root.glob("crawls/*/*.warc.gz"))), built["build_s"])


def as_crawled(archive: Archive) -> None:
    """Back to what the crawl wrote: the re-extractions and indexes of earlier runs removed."""
    for path in [*archive.root.glob("crawls/*/pages.reextract-*.jsonl"), *archive.root.glob("**/index.cdxj")]:
        path.unlink()


# -- measuring ----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Run:
    job: str
    tool: str
    mb: float
    pages: int
    wall_s: float
    cpu_s: float
    peak_rss_mib: float  # the largest sum of VmRSS over the command's process tree in one sample
    returncode: int
    ok: bool  # the exit status is one the tool gives after reading everything

    @property
    def mb_per_s(self) -> float:
        return self.mb / self.wall_s if self.wall_s else 0.0

    @property
    def pages_per_s(self) -> float:
        return self.pages / self.wall_s if self.wall_s else 0.0


def measure(job: str, tool: str, command: Sequence[str], archive: Archive, workdir: Path,
            ok_codes: Sequence[int] = (0,)) -> Run:
    """Run ``command`` to its end; CPU is RUSAGE_CHILDREN's delta (this process is a subreaper)."""
    progress(f"{job}: {tool} on {archive.mb:.0f} MB")
    log = workdir / f"{job}-{tool}".replace(" ", "_").replace("/", "_")
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    with (open(f"{log}.out", "wb") as out, open(f"{log}.err", "wb") as err,
          sample_tree(frozenset()) as (samples, main)):
        process = subprocess.Popen(command, cwd=REPO, stdout=out, stderr=err)
        main.append(process.pid)
        returncode = process.wait()
        wall = time.perf_counter() - started
        reap_strays(frozenset())
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if returncode not in ok_codes:
        tail = Path(f"{log}.err").read_text(encoding="utf-8", errors="replace")[-400:]
        progress(f"! {tool} exited {returncode}: {tail}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return Run(job, tool, archive.mb, archive.pages, wall, cpu, samples.tree_kib / 1024, returncode,
               returncode in ok_codes)


def best(runs: Sequence[Run]) -> Run:
    return min(runs, key=lambda run: run.wall_s)


def alternated(commands: dict[str, tuple[str, list[str], Sequence[int]]], archive: Archive, workdir: Path,
               repeat: int, before_each: Any = None) -> dict[str, Run]:
    """Each command ``repeat`` times, alternated (the machine is shared and its load moves); the best of each."""
    runs: dict[str, list[Run]] = {key: [] for key in commands}
    for _ in range(repeat):
        for key, (job, command, ok_codes) in commands.items():
            if before_each is not None and key.startswith("scraper"):  # the other tools write nothing there
                before_each()
            runs[key].append(measure(job, key, command, archive, workdir, ok_codes))
    return {key: best(found) for key, found in runs.items()}


def has_jobs(command: str) -> bool:
    done = subprocess.run(scraper(command, "--help"), cwd=REPO, capture_output=True, text=True, check=False)
    return "--jobs" in done.stdout


# -- the jobs -----------------------------------------------------------------------------------------
OK_OR_DAMAGED = (0, 3)  # verify and index exit 3 for damage; the archive is clean, but a finding is no crash


def verify_jobs(archive: Archive) -> dict[str, tuple[str, list[str], Sequence[int]]]:
    files = [str(p) for p in archive.warcs]
    # `fastwarc check` takes one file: one process per file, in sequence, as one job.
    fastwarc = " && ".join(shlex.join([str(BIN / "fastwarc"), "check", "-p", "-q", f]) for f in files)
    found = {
        "scraper verify": ("verify", scraper("verify", "--archive", str(archive.root)), OK_OR_DAMAGED),
        "warcio check": ("verify", [str(BIN / "warcio"), "check", *files], (0,)),
    }
    if not HAS_FASTWARC:
        return found
    return {
        **found,
        # 1: FastWARC 2.0 takes the block of every record with a WARC-Payload-Digest for an HTTP message, so
        # the payload digest of each of our metadata records (application/json; payload = block) "fails".
        "fastwarc check -p": ("verify", ["sh", "-c", fastwarc], (0, 1)),
    }


def index_jobs(archive: Archive, workdir: Path) -> dict[str, tuple[str, list[str], Sequence[int]]]:
    files = [str(p) for p in archive.warcs]
    found = {
        "scraper index": ("index", scraper("index", "--archive", str(archive.root)), (0,)),
        "cdxj-indexer --sort": ("index", [str(BIN / "cdxj-indexer"), "--sort", "--records", CAPTURES,
                                          "-o", str(workdir / "cdxj-indexer.cdxj"), *files], (0,)),
    }
    if not HAS_FASTWARC:
        return found
    return {
        **found,
        "fastwarc index": ("index", [str(BIN / "fastwarc"), "index", "-o", str(workdir / "fastwarc.cdxj"),
                                     "-f", "offset,length,filename,http:status,warc-target-uri,warc-payload-digest",
                                     *files], (0,)),
    }


def reextract_jobs(archive: Archive, jobs: bool) -> dict[str, tuple[str, list[str], Sequence[int]]]:
    found = {
        "scraper reextract": ("reextract", scraper("reextract", "--archive", str(archive.root), "-q"), (0,)),
        f"trafilatura x{CPUS} procs": ("reextract", [sys.executable, str(Path(__file__).resolve()), "trafilatura-pool",
                                                    *map(str, archive.warcs)], (0,)),
    }
    if jobs:
        found["scraper reextract --jobs 1"] = ("reextract", scraper("reextract", "--archive", str(archive.root),
                                                                    "-q", "--jobs", "1"), (0,))
    return found


def export_jobs(archive: Archive, workdir: Path, jobs: bool) -> dict[str, tuple[str, list[str], Sequence[int]]]:
    base = ["export", "--archive", str(archive.root), "-o", str(workdir / "export.jsonl"), "-q"]
    found = {"scraper export": ("export", scraper(*base), (0,))}
    if jobs:
        found["scraper export --jobs 1"] = ("export", scraper(*base, "--jobs", "1"), (0,))
    return found


# -- trafilatura over a pool, the re-extraction baseline (run as a subprocess of this script) -----------------
def html_payloads(warcs: Sequence[Path]) -> Iterator[tuple[bytes, str]]:
    """The HTML bodies of the 200 responses, decoded of their Content-Encoding (warcio's content_stream)."""
    for record in html_responses(warcs):
        yield record.content_stream().read(), record.rec_headers.get_header("WARC-Target-URI")


def _bare_extraction(item: tuple[bytes, str]) -> bool:
    import trafilatura

    html, url = item
    return trafilatura.bare_extraction(html, url=url, with_metadata=True) is not None


def trafilatura_pool(warcs: Sequence[Path]) -> int:
    # fork: the workers inherit trafilatura already imported, as scraper's forkserver workers do
    import trafilatura  # noqa: F401

    with multiprocessing.get_context("fork").Pool(CPUS) as pool:
        extracted = sum(pool.imap_unordered(_bare_extraction, html_payloads(warcs), chunksize=8))
    print(f"{extracted} pages extracted")
    return 0


# -- the report ----------------------------------------------------------------------------------------
def progress(message: str) -> None:
    print(f"[{datetime.now(UTC):%H:%M:%S}] {message}", file=sys.stderr, flush=True)


def row(run: Run) -> list[str]:
    return [run.job, run.tool, f"{run.mb:.0f}", str(run.pages), f"{run.wall_s:.1f}", f"{run.cpu_s:.1f}",
            f"{run.mb_per_s:.1f}", f"{run.pages_per_s:.0f}", f"{run.peak_rss_mib:.0f}", str(run.returncode)]


def verdict(a: Run | None, b: Run | None, goal: float, at_least: bool, missing: str = "n/a") -> str:
    """``a`` over ``b`` in wall time (what the target counts) and in CPU time (what a loaded machine
    leaves comparable: with the load above the cores, wall time measures the neighbours too)."""
    if a is None or b is None or not b.wall_s or not b.cpu_s:
        return missing
    wall, cpu = a.wall_s / b.wall_s, a.cpu_s / b.cpu_s
    met = wall >= goal if at_least else wall <= goal
    return (f"{wall:.2f}x wall, {cpu:.2f}x CPU  (target {'>=' if at_least else '<='} {goal} in wall time: "
            f"{'met' if met else 'NOT met'})")


def fastest(runs: dict[str, Run], *tools: str) -> Run | None:
    """The tool that needed the least CPU: its wall time moves with the neighbours' load, its CPU time less."""
    present = [runs[t] for t in tools if t in runs and runs[t].ok]
    return min(present, key=lambda r: r.cpu_s) if present else None


def report(runs: dict[str, Run], small: dict[str, Run], info: dict[str, Any]) -> None:
    m = info["machine"]
    print(f"machine: {m['platform']}; {m['cpu']}; {m['cpu_count']} CPUs; {m['python']}; warcio {m['warcio']}, "
          f"trafilatura {m['trafilatura']}; fastwarc {info['fastwarc']}, cdxj-indexer {info['cdxj_indexer']}")
    print(f"date:    {info['date']} to {info['end']}; load average (1 min) {info['load_start']:.2f} at start, "
          f"{info['load_end']:.2f} at end")
    print(f"code:    {info['code']}")
    for name, a in info["archives"].items():
        print(f"archive: {name}: {a['mb']:.0f} MB of WARC in {a['files']} file(s), {a['pages']} pages "
              f"({a['articles']} articles; crawled once in {a['build_s']:.0f} s, cached)")
    print("\nwall and CPU (user+sys of the process tree) in seconds; peak RSS of the tree, sampled every 50 ms\n")
    print_table(["job", "tool", "MB", "pages", "wall s", "CPU s", "MB/s", "pages/s", "peak RSS MiB", "exit"],
                [row(r) for r in [*runs.values(), *small.values()]])
    jobs_note = "n/a (no --jobs)"
    verifier = fastest(runs, "fastwarc check -p", "warcio check")
    lines = [
        (f"verify / {verifier.tool if verifier else 'fastest tool'}",
         verdict(runs.get("scraper verify"), verifier, TARGET_TOOL_RATIO, False)),
        ("index / cdxj-indexer --sort",
         verdict(runs.get("scraper index"), fastest(runs, "cdxj-indexer --sort"), TARGET_TOOL_RATIO, False)),
        (f"reextract / trafilatura x{CPUS} procs", verdict(runs.get("scraper reextract"),
                                                        fastest(runs, f"trafilatura x{CPUS} procs"),
                                                        TARGET_TOOL_RATIO, False)),
        ("reextract --jobs 1 / default (speed-up)", verdict(runs.get("scraper reextract --jobs 1"),
                                                            runs.get("scraper reextract"), TARGET_CORES, True,
                                                            jobs_note)),
        ("export --jobs 1 / default (speed-up)", verdict(runs.get("scraper export --jobs 1"),
                                                         runs.get("scraper export"), TARGET_CORES, True, jobs_note)),
    ]
    print()
    for label, figure in lines:
        print(f"{label + ':':<42} {figure}")
    print("\npeak RSS, full archive / quarter archive (flat memory: ~1.0x while the data grows 4x)")
    for key, quarter in small.items():
        full = runs.get(key.removesuffix(" (1/4)"))
        if full is not None:
            print(f"  {full.tool:<28} {full.peak_rss_mib:6.0f} MiB at {full.mb:5.0f} MB, {quarter.peak_rss_mib:6.0f} "
                  f"MiB at {quarter.mb:5.0f} MB: {full.peak_rss_mib / max(quarter.peak_rss_mib, 1):.2f}x")
    print(f"\ntotal run time {info['total_s']:.0f} s")


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size-mb", type=int, default=1024, help="WARC size of the archive read (default 1024)")
    parser.add_argument("--extract-mb", type=int, default=32,
                        help="WARC size of the archive re-extracted and exported (default 32, ~4,600 pages)")
    parser.add_argument("--quick", action="store_true", help="--size-mb 64 --extract-mb 8: a few minutes")
    parser.add_argument("--repeat", type=int, default=1, help="runs of each command, alternated; the best counts")
    parser.add_argument("--seed", type=int, default=sitegen.DEFAULT_SEED)
    parser.add_argument("--server", choices=["auto", "nginx", "python"], default="auto")
    parser.add_argument("--cache", type=Path, default=Path("/tmp/scraper-bench-reading"),
                        help="where the crawled archives are kept between runs (default /tmp/scraper-bench-reading)")
    parser.add_argument("--json", type=Path, help="also write the figures to this JSON file")
    args = parser.parse_args(argv)
    if args.quick:
        args.size_mb, args.extract_mb = 64, 8
    return args


def main(argv: Sequence[str] | None = None) -> int:
    if argv is None and sys.argv[1:2] == ["trafilatura-pool"]:
        return trafilatura_pool([Path(p) for p in sys.argv[2:]])
    args = parse_args(argv)
    started, load_start, code = time.perf_counter(), os.getloadavg()[0], code_state()
    date = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    become_subreaper()
    archives = {
        "full": build_archive(args.cache, args.size_mb * PAGES_PER_MB, args.seed, args.server),
        "quarter": build_archive(args.cache, args.size_mb * PAGES_PER_MB // 4, args.seed, args.server),
        "extract": build_archive(args.cache, args.extract_mb * PAGES_PER_MB, args.seed, args.server),
        "extract quarter": build_archive(args.cache, args.extract_mb * PAGES_PER_MB // 4, args.seed, args.server),
    }
    work = args.cache / f"run-{os.getpid()}"
    work.mkdir(parents=True)
    try:
        reextract_has_jobs, export_has_jobs = has_jobs("reextract"), has_jobs("export")
        full, quarter = archives["full"], archives["quarter"]
        extract, extract_quarter = archives["extract"], archives["extract quarter"]
        for archive in archives.values():
            as_crawled(archive)
        runs: dict[str, Run] = {}
        runs |= alternated(verify_jobs(full), full, work, args.repeat)
        runs |= alternated(index_jobs(full, work), full, work, args.repeat, lambda: as_crawled(full))
        runs |= alternated(reextract_jobs(extract, reextract_has_jobs), extract, work, args.repeat,
                           lambda: as_crawled(extract))
        # export reads the newest re-extraction of each page: the last `scraper reextract` left exactly one
        runs |= alternated(export_jobs(extract, work, export_has_jobs), extract, work, args.repeat)
        small: dict[str, Run] = {}
        for key, (job, command, codes) in verify_jobs(quarter).items():
            if key.startswith("scraper"):
                small[f"{key} (1/4)"] = measure(job, f"{key} (1/4)", command, quarter, work, codes)
        for key, (job, command, codes) in index_jobs(quarter, work).items():
            if key.startswith("scraper"):
                small[f"{key} (1/4)"] = measure(job, f"{key} (1/4)", command, quarter, work, codes)
        small["scraper reextract (1/4)"] = measure("reextract", "scraper reextract (1/4)", scraper(
            "reextract", "--archive", str(extract_quarter.root), "-q"), extract_quarter, work)
        small["scraper export (1/4)"] = measure("export", "scraper export (1/4)", scraper(
            "export", "--archive", str(extract_quarter.root), "-o", str(work / "export-quarter.jsonl"), "-q"),
            extract_quarter, work)
        info = {
            "machine": machine(),
            "fastwarc": package_version("fastwarc"), "cdxj_indexer": package_version("cdxj-indexer"),
            "date": date, "end": datetime.now(UTC).strftime("%H:%M UTC"),
            "load_start": load_start, "load_end": os.getloadavg()[0], "total_s": time.perf_counter() - started,
            "code": code if code_state() == code else f"{code} at start, {code_state()} at end",
            "archives": {name: {"mb": a.mb, "files": len(a.warcs), "pages": a.pages, "articles": a.articles,
                                "build_s": a.build_s} for name, a in archives.items()},
        }
        report(runs, small, info)
        if args.json:
            args.json.write_text(json.dumps({**info, "runs": [asdict(r) for r in [*runs.values(), *small.values()]]},
                                            indent=2), encoding="utf-8")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
