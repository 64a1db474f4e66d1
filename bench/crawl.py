"""Crawl benchmark: scraper crawl against its parts and against other crawlers, on a generated news site.

One run:

1. generates a deterministic news site (``bench/sitegen.py``; ``--pages`` articles) in a temp dir;
2. serves it on 127.0.0.1 with nginx when the binary is installed, else with a Python server;
3. runs each pipeline in a subprocess of its own and measures wall time, CPU time of the whole
   process tree (RUSAGE_CHILDREN), peak memory of the tree (/proc, every 50 ms) and the server's
   CPU time, and counts the pages each pipeline fetched from its own output;
4. prints a table and the ratios between scraper and the limit its parts imply.

This prints figures; it asserts nothing and is not part of the test run.

    .venv/bin/python bench/crawl.py [--pages N] [--only NAME,...] [--server auto|nginx|python] [--json PATH]
"""

from __future__ import annotations

import argparse
import configparser
import ctypes
import importlib.util
import json
import os
import platform
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import sitegen
from crawl_workers import BENCH_OVERRIDES, EXTRACT_OPTIONS
from tables import print_table

BENCH_DIR = Path(__file__).resolve().parent
REPO_ROOT = BENCH_DIR.parent
WORKERS = BENCH_DIR / "crawl_workers.py"
CPUS = os.cpu_count() or 1
SAMPLE_S = 0.05
FEW_PAGES = 0.95  # a pipeline that fetched less than this share of the site's pages is flagged
UNLIMITED_DEPTH = 1_000_000  # scraper's --depth has no "unlimited"; the site is far shallower than this
CLK_TCK = os.sysconf("SC_CLK_TCK")
PR_SET_CHILD_SUBREAPER = 36


# -- processes and /proc ----------------------------------------------------------------------------
def children(pid: int) -> list[int]:
    found: list[int] = []
    for listing in Path(f"/proc/{pid}/task").glob("*/children"):
        with suppress(OSError, ValueError):
            found.extend(int(child) for child in listing.read_text().split())
    return found


def descendants(pid: int, skip: frozenset[int] = frozenset()) -> list[int]:
    """The live descendants of ``pid`` (not ``pid``), leaving out the subtrees of ``skip``."""
    tree, stack = [], [p for p in children(pid) if p not in skip]
    while stack:
        current = stack.pop()
        tree.append(current)
        stack.extend(p for p in children(current) if p not in skip)
    return tree


def status_kib(pid: int) -> dict[str, int]:
    """VmRSS and VmHWM of a live process (empty for a zombie or a process gone)."""
    figures = {}
    with suppress(OSError, ValueError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(("VmRSS:", "VmHWM:")):
                figures[line[:5]] = int(line.split()[1])
    return figures


PSS_EVERY = 10  # samples: PSS is read every 500 ms


def pss_kib(pid: int) -> int:
    """Proportional set size: each page shared by n processes counts 1/n in each (0 when gone).

    Summed over a tree, it counts every page once: the memory the tree occupies.  A sum of
    VmRSS counts a page shared by a forkserver and its workers once per process.
    """
    with suppress(OSError, ValueError):
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1])
    return 0


def cpu_seconds(pid: int) -> float:
    """utime + stime of a live process, from /proc/<pid>/stat (0 when gone)."""
    with suppress(OSError, ValueError, IndexError):
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / CLK_TCK
    return 0.0


def command_name(pid: int) -> str:
    with suppress(OSError):
        return Path(f"/proc/{pid}/comm").read_text().strip()
    return "?"


def become_subreaper() -> bool:
    """Orphaned descendants (forkserver, resource tracker) are re-parented to this process.

    Their CPU time then reaches RUSAGE_CHILDREN when this process reaps them; otherwise init would
    reap them and their time would be lost.
    """
    with suppress(OSError, AttributeError):
        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0
    return False


def reap_strays(keep: frozenset[int], timeout_s: float = 60.0) -> list[str]:
    """Wait for this process's children other than ``keep``; kill those still alive after ``timeout_s``."""
    deadline, killed = time.monotonic() + timeout_s, []
    while strays := [pid for pid in children(os.getpid()) if pid not in keep]:
        for pid in strays:
            with suppress(ChildProcessError):
                os.waitpid(pid, os.WNOHANG)
            if time.monotonic() > deadline:
                killed.append(command_name(pid))
                with suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
        time.sleep(0.02)
    return killed


@dataclass
class TreeSamples:
    """What the 50 ms samples of a pipeline's process tree saw."""

    tree_kib: int = 0  # the largest sum of VmRSS over the tree in one sample
    tree_pss_kib: int = 0  # the largest sum of PSS over the tree in one sample (every PSS_EVERY-th)
    samples: int = 0
    process_kib: dict[int, int] = field(default_factory=dict)  # pid -> VmHWM
    names: dict[int, str] = field(default_factory=dict)  # pid -> "main" (the pipeline's own process) or "child"
    cpu_s: dict[int, float] = field(default_factory=dict)  # pid -> utime+stime when last seen

    def sample(self, pids: Sequence[int], main: int | None) -> None:
        # PSS walks each process's page tables (smaps_rollup): at every 50 ms sample that cost
        # the benchmark 15 % of a core on a 50,000-page crawl, so it is read every 10th sample.
        self.samples += 1
        with_pss = self.samples % PSS_EVERY == 1
        total = pss = 0
        for pid in pids:
            figures = status_kib(pid)
            total += figures.get("VmRSS", 0)
            pss += pss_kib(pid) if with_pss else 0
            if "VmHWM" in figures:
                self.process_kib[pid] = max(self.process_kib.get(pid, 0), figures["VmHWM"])
                self.cpu_s[pid] = cpu_seconds(pid)
                if pid not in self.names:
                    self.names[pid] = "main" if pid == main else "child"
        self.tree_kib = max(self.tree_kib, total)
        if with_pss:
            self.tree_pss_kib = max(self.tree_pss_kib, pss)

    def largest(self) -> tuple[int, str]:
        if not self.process_kib:
            return 0, "—"
        pid = max(self.process_kib, key=self.process_kib.__getitem__)
        return self.process_kib[pid], self.names.get(pid, "?")


@contextmanager
def sample_tree(skip: frozenset[int]) -> Iterator[tuple[TreeSamples, list[int]]]:
    """Every 50 ms, all of this process's descendants except the server's tree.

    The caller puts the pipeline's own pid into the yielded list, so that it can be told apart.
    """
    samples, main, stop = TreeSamples(), [], threading.Event()

    def run() -> None:
        while not stop.wait(SAMPLE_S):
            samples.sample(descendants(os.getpid(), skip), main[0] if main else None)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    try:
        yield samples, main
    finally:
        stop.set()
        thread.join()


# -- the server ------------------------------------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


NGINX_CONF = """\
worker_processes 1;
daemon off;
pid {dir}/nginx.pid;
error_log {dir}/nginx-error.log warn;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    sendfile on;
    tcp_nopush on;
    keepalive_requests 100000;
    types {{ text/html html; application/xml xml; text/plain txt; }}
    default_type application/octet-stream;
    charset utf-8;
    client_body_temp_path {dir}/client_body;
    proxy_temp_path {dir}/proxy;
    fastcgi_temp_path {dir}/fastcgi;
    uwsgi_temp_path {dir}/uwsgi;
    scgi_temp_path {dir}/scgi;
    server {{
        listen 127.0.0.1:{port};
        root {root};
        index index.html;
    }}
}}
"""


@dataclass
class Server:
    kind: str  # "nginx" or "python"
    process: subprocess.Popen[bytes]

    @property
    def pids(self) -> list[int]:
        return [self.process.pid, *descendants(self.process.pid)]

    def cpu_seconds(self) -> float:
        return sum(cpu_seconds(pid) for pid in self.pids)

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def start_server(kind: str, root: Path, workdir: Path, port: int) -> Server:
    if kind == "nginx":
        conf_dir = workdir / "nginx"
        conf_dir.mkdir()
        conf = conf_dir / "nginx.conf"
        conf.write_text(NGINX_CONF.format(dir=conf_dir, port=port, root=root), encoding="utf-8")
        command = [str(shutil.which("nginx")), "-p", str(conf_dir), "-c", str(conf), "-e", str(conf_dir / "error.log")]
    else:
        command = [sys.executable, str(BENCH_DIR / "sitegen.py"), "serve", str(root), "--port", str(port)]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_for_port(port, process)
    return Server(kind, process)


def wait_for_port(port: int, process: subprocess.Popen[bytes], timeout_s: float = 15.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server exited with status {process.returncode} before listening")
        with suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
            return
        time.sleep(0.05)
    raise RuntimeError(f"nothing listens on 127.0.0.1:{port} after {timeout_s:.0f} s")


def pick_server(choice: str) -> str:
    if choice == "auto":
        return "nginx" if shutil.which("nginx") else "python"
    if choice == "nginx" and not shutil.which("nginx"):
        raise SystemExit("bench/crawl.py: --server nginx, but no nginx binary on PATH")
    return choice


# -- measuring one pipeline --------------------------------------------------------------------------------
@dataclass
class Measurement:
    wall_s: float
    user_s: float
    sys_s: float
    tree_peak_mib: float
    tree_pss_mib: float
    largest_mib: float
    largest_name: str
    processes: int
    server_cpu_s: float
    load_before: float
    returncode: int
    killed: list[str]  # processes still alive 60 s after the pipeline's own exited
    process_peaks_mib: list[float]  # VmHWM of each process seen, largest first
    # utime+stime of each process when last sampled, summed: a lower bound, to cross-check RUSAGE_CHILDREN
    sampled_cpu_s: float
    process_cpu_s: list[list[Any]]  # [name, utime+stime when last sampled] per process, largest first

    @property
    def cpu_s(self) -> float:
        return self.user_s + self.sys_s


def measure(command: Sequence[str], run_dir: Path, server: Server, cwd: Path) -> Measurement:
    """Run ``command`` to the end; the CPU time is RUSAGE_CHILDREN's delta, which covers the whole tree.

    Every process of the tree is reaped by its parent or, once orphaned, by this process (a
    subreaper), so each one's CPU time reaches RUSAGE_CHILDREN.
    """
    skip = frozenset(server.pids)
    keep = frozenset([server.process.pid])
    load_before = os.getloadavg()[0]
    server_before = server.cpu_seconds()
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    with (open(run_dir / "stdout.txt", "wb") as out, open(run_dir / "stderr.txt", "wb") as err,
          sample_tree(skip) as (peaks, main)):
        process = subprocess.Popen(command, cwd=cwd, stdout=out, stderr=err)
        main.append(process.pid)
        returncode = process.wait()
        wall_s = time.perf_counter() - start
        killed = reap_strays(keep)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    largest_kib, largest_name = peaks.largest()
    return Measurement(
        wall_s=wall_s, user_s=after.ru_utime - before.ru_utime, sys_s=after.ru_stime - before.ru_stime,
        tree_peak_mib=peaks.tree_kib / 1024, tree_pss_mib=peaks.tree_pss_kib / 1024,
        largest_mib=largest_kib / 1024, largest_name=largest_name,
        processes=len(peaks.process_kib), server_cpu_s=server.cpu_seconds() - server_before,
        process_peaks_mib=sorted((kib / 1024 for kib in peaks.process_kib.values()), reverse=True),
        sampled_cpu_s=sum(peaks.cpu_s.values()),
        process_cpu_s=sorted(([peaks.names.get(pid, "?"), cpu] for pid, cpu in peaks.cpu_s.items()),
                             key=lambda item: -item[1]),
        load_before=load_before, returncode=returncode, killed=killed)


# -- counting what each pipeline fetched ------------------------------------------------------------------
@dataclass(frozen=True)
class Count:
    pages: int  # HTML pages fetched (200), or files extracted
    extracted: int | None = None  # pages with extracted text, for pipelines that extract
    note: str = ""


def html_responses(paths: Sequence[Path]) -> Iterator[Any]:
    """warcio's response records of HTML pages with status 200, read in order (each valid until the next)."""
    from warcio.archiveiterator import ArchiveIterator

    for path in paths:
        with open(path, "rb") as fh:
            for record in ArchiveIterator(fh):
                if record.rec_type != "response" or record.http_headers is None:
                    continue
                content_type = record.http_headers.get_header("Content-Type") or ""
                if record.http_headers.get_statuscode() == "200" and content_type.startswith("text/html"):
                    yield record


def count_warc(paths: Sequence[Path]) -> int:
    """Response records of HTML pages with status 200."""
    return sum(1 for _ in html_responses(paths))


def read_result(run_dir: Path) -> dict[str, Any]:
    path = run_dir / "result.json"
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}


def count_spider(run_dir: Path) -> Count:
    result = read_result(run_dir)
    warcs = sorted(run_dir.glob("*.warc.gz"))
    note = f"WARC: {count_warc(warcs)} HTML responses" if warcs else ""
    return Count(result.get("pages", 0), result.get("extracted"), note)


def count_extract(run_dir: Path) -> Count:
    result = read_result(run_dir)
    return Count(result.get("pages", 0), result.get("extracted"))


def count_wget(run_dir: Path) -> Count:
    return Count(count_warc(sorted(run_dir.glob("*.warc.gz"))))


def count_trafilatura_cli(run_dir: Path, urls: int) -> Count:
    """Pages = URLs it did not report as failed downloads; extracted = files it wrote."""
    failed = (run_dir / "stderr.txt").read_text(encoding="utf-8", errors="replace").count("No result for URL")
    written = sum(1 for path in (run_dir / "out").rglob("*") if path.is_file())
    return Count(urls - failed, written, f"{failed} download(s) reported failed")


def count_scraper(run_dir: Path) -> Count:
    pages = extracted = 0
    for jsonl in (run_dir / "archive").glob("crawls/*/pages.jsonl"):
        with open(jsonl, encoding="utf-8") as fh:
            for line in fh:
                record = json.loads(line)
                if record.get("status") == 200 and str(record.get("content_type") or "").startswith("text/html"):
                    pages += 1
                    extracted += bool(record.get("text"))
    manifests = list((run_dir / "archive").glob("crawls/*/manifest.json"))
    counts = json.loads(manifests[0].read_text(encoding="utf-8")).get("counts", {}) if manifests else {}
    warcs = sorted((run_dir / "archive").glob("crawls/*/*.warc.gz"))
    note = (f"manifest: {counts.get('pages', '?')} pages, {counts.get('pages_failed', '?')} failed; "
            f"WARC: {count_warc(warcs)} HTML responses")
    return Count(pages, extracted, note)


# -- the pipelines ------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Context:
    site: sitegen.GeneratedSite
    workdir: Path
    start: str  # the homepage URL

    @property
    def python(self) -> str:
        return sys.executable


@dataclass(frozen=True)
class Pipeline:
    key: str
    label: str
    command: Callable[[Context, Path], list[str] | None]  # None: the tool is not installed
    count: Callable[[Context, Path], Count]
    uses_server: bool = True
    in_repo: bool = False  # run from the repository root (scraper), else from its own directory


def spider_command(variant: str) -> Callable[[Context, Path], list[str]]:
    def command(ctx: Context, run_dir: Path) -> list[str]:
        return [ctx.python, str(WORKERS), "scrapy", "--variant", variant, "--start", ctx.start, "--out", str(run_dir),
                "--result", str(run_dir / "result.json")]
    return command


def extract_command(procs: int, extractor: str = "trafilatura") -> Callable[[Context, Path], list[str]]:
    def command(ctx: Context, run_dir: Path) -> list[str]:
        listing = run_dir / "files.txt"
        listing.write_text("".join(f"{sitegen.file_for(ctx.site.root, path)}\t{ctx.site.base}{path}\n"
                                   for path in ctx.site.paths), encoding="utf-8")
        return [ctx.python, str(WORKERS), "extract", "--list", str(listing), "--procs", str(procs),
                "--extractor", extractor, "--result", str(run_dir / "result.json")]
    return command


def wget_command(ctx: Context, run_dir: Path) -> list[str] | None:
    wget = shutil.which("wget")
    if wget is None:
        return None
    return [wget, "-r", "-l", "inf", "--no-parent", "-e", "robots=on", "--no-verbose", "--delete-after",
            "-P", str(run_dir / "files"), f"--warc-file={run_dir / 'wget'}", ctx.start]


def trafilatura_config(path: Path) -> Path:
    """trafilatura's own settings.cfg with two changes a loopback crawl needs.

    SLEEP_TIME 5 s -> 0: it waits that long between two downloads from one host, which on a
    one-host site would make 2,000 pages take almost 3 hours.  SSRF_PROTECTION off: it refuses
    127.0.0.1 otherwise.
    """
    spec = importlib.util.find_spec("trafilatura")
    assert spec is not None and spec.origin is not None
    config = configparser.ConfigParser()
    config.read(Path(spec.origin).parent / "settings.cfg", encoding="utf-8")
    config["DEFAULT"]["SLEEP_TIME"] = "0"
    config["DEFAULT"]["SSRF_PROTECTION"] = "off"
    with open(path, "w", encoding="utf-8") as fh:
        config.write(fh)
    return path


def trafilatura_cli_command(ctx: Context, run_dir: Path) -> list[str] | None:
    cli = Path(sys.executable).parent / "trafilatura"
    if not cli.exists():
        return None
    urls = run_dir / "urls.txt"
    urls.write_text("".join(f"{url}\n" for url in ctx.site.urls), encoding="utf-8")
    return [str(cli), "-i", str(urls), "-o", str(run_dir / "out"), "--parallel", str(CPUS), "--with-metadata",
            "--config-file", str(trafilatura_config(run_dir / "trafilatura.cfg"))]


def scraper_command(ctx: Context, run_dir: Path, *extra: str) -> list[str]:
    overrides = [part for name, value in BENCH_OVERRIDES.items() for part in ("-s", f"{name}={value}")]
    return [ctx.python, "-m", "scraper", "crawl", ctx.start, "--depth", str(UNLIMITED_DEPTH),
            "--archive", str(run_dir / "archive"), "-q", *extra, *overrides]


def archive_only_command(ctx: Context, run_dir: Path) -> list[str]:
    return scraper_command(ctx, run_dir, "--no-extract")


PIPELINES = (
    Pipeline("bare", "scrapy (bare)", spider_command("bare"), lambda ctx, d: count_spider(d)),
    Pipeline("warcio", "scrapy + warcio", spider_command("warcio"), lambda ctx, d: count_spider(d)),
    Pipeline("trafilatura-1", "trafilatura.extract, 1 process (files)", extract_command(1),
             lambda ctx, d: count_extract(d), uses_server=False),
    Pipeline("trafilatura-n", f"trafilatura.extract, {CPUS} processes (files)", extract_command(CPUS),
             lambda ctx, d: count_extract(d), uses_server=False),
    Pipeline("extract-1", "scraper's extraction, 1 process (files)", extract_command(1, "scraper"),
             lambda ctx, d: count_extract(d), uses_server=False, in_repo=True),
    Pipeline("naive", "naive: scrapy + warcio + extract in parse", spider_command("naive"),
             lambda ctx, d: count_spider(d)),
    Pipeline("wget", "wget --warc-file", wget_command, lambda ctx, d: count_wget(d)),
    Pipeline("trafilatura-cli", "trafilatura CLI (-i urls.txt)", trafilatura_cli_command,
             lambda ctx, d: count_trafilatura_cli(d, len(ctx.site.paths))),
    Pipeline("archive", "scraper crawl --no-extract", archive_only_command, lambda ctx, d: count_scraper(d),
             in_repo=True),
    Pipeline("scraper", "scraper crawl", scraper_command, lambda ctx, d: count_scraper(d), in_repo=True),
)
PIPELINE_KEYS = tuple(p.key for p in PIPELINES)


def progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def stderr_tail(run_dir: Path, lines: int = 15) -> str:
    text = (run_dir / "stderr.txt").read_text(encoding="utf-8", errors="replace").strip()
    return "\n".join(text.splitlines()[-lines:])


def run_pipeline(pipeline: Pipeline, ctx: Context, server: Server) -> dict[str, Any] | None:
    run_dir = ctx.workdir / "runs" / pipeline.key
    run_dir.mkdir(parents=True)
    command = pipeline.command(ctx, run_dir)
    if command is None:
        progress(f"{pipeline.key}: not installed, skipped")
        return None
    progress(f"{pipeline.key}: {' '.join(command)}")
    figures = measure(command, run_dir, server, REPO_ROOT if pipeline.in_repo else run_dir)
    count = pipeline.count(ctx, run_dir)
    row = {"key": pipeline.key, "label": pipeline.label, "command": command, **asdict(figures),
           "cpu_s": figures.cpu_s, **asdict(count), "expected_pages": len(ctx.site.paths)}
    row["pages_per_s"] = count.pages / figures.wall_s if count.pages and figures.wall_s else 0.0
    row["cpu_ms_per_page"] = 1000 * figures.cpu_s / count.pages if count.pages else None
    served = pipeline.uses_server and count.pages
    row["server_cpu_ms_per_page"] = 1000 * figures.server_cpu_s / count.pages if served else None
    row["few_pages"] = count.pages < FEW_PAGES * len(ctx.site.paths)
    if figures.returncode != 0 or row["few_pages"]:
        row["stderr_tail"] = stderr_tail(run_dir)
        progress(f"{pipeline.key}: exit status {figures.returncode}, {count.pages} pages; stderr ends:\n"
                 f"{row['stderr_tail']}")
    progress(f"{pipeline.key}: {count.pages} pages in {figures.wall_s:.1f} s")
    return row


# -- figures -----------------------------------------------------------------------------------------------------
def package_version(name: str) -> str:
    try:
        return version(name)
    except PackageNotFoundError:
        return "not installed"


def tool_version(command: Sequence[str]) -> str:
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return "not installed"
    lines = (done.stdout or done.stderr).strip().splitlines()
    return lines[0] if lines else "?"


def cpu_model() -> str:
    with suppress(OSError), open("/proc/cpuinfo", encoding="utf-8") as fh:
        for line in fh:
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine()


def machine() -> dict[str, Any]:
    return {
        "platform": platform.platform(), "cpu": cpu_model(), "cpu_count": CPUS,
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        **{name: package_version(name) for name in ("scrapy", "twisted", "warcio", "trafilatura", "lxml")},
        "nginx": tool_version(["nginx", "-v"]) if shutil.which("nginx") else "not installed",
        "wget": tool_version(["wget", "--version"]) if shutil.which("wget") else "not installed",
    }


def code_state() -> str:
    """The commit under test, and whether scraper/ has uncommitted changes (others edit it during runs)."""
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO_ROOT, capture_output=True,
                              text=True, timeout=10, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "scraper"], cwd=REPO_ROOT,
                               capture_output=True, text=True, timeout=10, check=True).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown (no git)"
    return head + (" + uncommitted changes in scraper/" if dirty else "")


def ratios(rows: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """The issue's ratios; a figure is None when a pipeline it needs did not run."""

    def get(key: str, name: str) -> float | None:
        row = rows.get(key)
        return row.get(name) if row else None

    warc_ms, extract_ms = get("warcio", "cpu_ms_per_page"), get("trafilatura-1", "cpu_ms_per_page")
    parts_ms = warc_ms + extract_ms if warc_ms and extract_ms else None
    limit = CPUS * 1000 / parts_ms if parts_ms else None
    speed, scraper_ms = get("scraper", "pages_per_s"), get("scraper", "cpu_ms_per_page")

    def over(a: float | None, b: float | None) -> float | None:
        return a / b if a and b else None

    bare_ms = get("bare", "cpu_ms_per_page")
    # The parts with scraper's own extraction in trafilatura's place: what the crawl's mechanism
    # (the reactor, the pool, the hand-offs) adds over the work it must do, whatever the extractor costs.
    own_extract_ms = get("extract-1", "cpu_ms_per_page")
    own_parts_ms = warc_ms + own_extract_ms if warc_ms and own_extract_ms else None
    own_limit = CPUS * 1000 / own_parts_ms if own_parts_ms else None
    return {
        "parts_ms": {"scrapy_bare": bare_ms, "warcio_minus_bare": warc_ms - bare_ms if warc_ms and bare_ms else None,
                     "scrapy_warcio": warc_ms, "trafilatura_1proc": extract_ms, "sum": parts_ms,
                     "scraper_extract_1proc": own_extract_ms, "own_sum": own_parts_ms},
        "limit_pages_per_s": limit,
        "scraper_over_limit": over(speed, limit),
        "scraper_over_naive": over(speed, get("naive", "pages_per_s")),
        "scraper_over_trafilatura_cli": over(speed, get("trafilatura-cli", "pages_per_s")),
        "scraper_cpu_over_parts": over(scraper_ms, parts_ms),
        "own_limit_pages_per_s": own_limit,
        "scraper_over_own_limit": over(speed, own_limit),
        "scraper_cpu_over_own_parts": over(scraper_ms, own_parts_ms),
        "extraction_over_trafilatura": over(own_extract_ms, extract_ms),
        "archive_over_wget": over(get("archive", "pages_per_s"), get("wget", "pages_per_s")),
        "archive_cpu_over_scrapy_warcio": over(get("archive", "cpu_ms_per_page"), warc_ms),
    }


# -- printing -------------------------------------------------------------------------------------------------------
def fmt(value: float | None, spec: str = ".1f") -> str:
    return "—" if value is None else format(value, spec)


def table_row(row: dict[str, Any]) -> list[str]:
    pages = f"{row['pages']}{' !' if row['few_pages'] else ''}"
    return [row["label"], pages, fmt(row["extracted"], "d") if row["extracted"] is not None else "—",
            fmt(row["wall_s"]), fmt(row["pages_per_s"]), fmt(row["cpu_ms_per_page"], ".2f"),
            fmt(row["server_cpu_ms_per_page"], ".3f"), fmt(row["tree_peak_mib"], ".0f"),
            fmt(row["tree_pss_mib"], ".0f"),
            f"{row['largest_mib']:.0f} ({row['largest_name']})", str(row["processes"]), fmt(row["load_before"], ".2f"),
            str(row["returncode"])]


def print_tree_notes(rows: dict[str, dict[str, Any]]) -> None:
    """Each process's peak for multi-process pipelines; CPU from RUSAGE_CHILDREN against the /proc samples."""
    trees = [row for row in rows.values() if row["processes"] > 1]
    if trees:
        print("multi-process pipelines, each process's peak (VmHWM) and CPU time (last /proc sample), largest first:")
        for row in trees:
            peaks = row["process_peaks_mib"]
            cpu = ", ".join(f"{name} {seconds:.1f}" for name, seconds in row["process_cpu_s"])
            print(f"  {row['key']}: {', '.join(f'{mib:.0f}' for mib in peaks)} MiB (sum {sum(peaks):.0f}); "
                  f"CPU s: {cpu}")
    print("CPU s, RUSAGE_CHILDREN / sum of the 50 ms /proc samples (a lower bound): "
          + ", ".join(f"{row['key']} {row['cpu_s']:.1f}/{row['sampled_cpu_s']:.1f}" for row in rows.values()))
    for row in rows.values():
        if row["killed"]:
            print(f"! {row['key']}: killed {', '.join(row['killed'])}, still running 60 s after the pipeline exited")


def target(value: float | None, goal: float, at_least: bool) -> str:
    if value is None:
        return "—"
    met = value >= goal if at_least else value <= goal
    return f"{value:.2f}  (target {'>=' if at_least else '<='} {goal}: {'met' if met else 'not met'})"


def print_report(figures: dict[str, Any]) -> None:
    m, site = figures["machine"], figures["site"]
    print(f"machine: {m['platform']}; {m['cpu']}; {m['cpu_count']} CPUs; {m['python']}; scrapy {m['scrapy']}, "
          f"twisted {m['twisted']}, warcio {m['warcio']}, trafilatura {m['trafilatura']}, lxml {m['lxml']}; "
          f"{m['nginx']}; {m['wget']}")
    print(f"date:    {figures['date']} to {figures['end']}; load average (1 min) {figures['load_start']:.2f} at "
          f"start, {figures['load_end']:.2f} at end")
    code = figures["code_start"]
    if figures["code_end"] != code:
        code += f" at start, {figures['code_end']} at end: the code changed during the run"
    print(f"code:    {code}")
    print(f"site:    {site['articles']} articles, {site['html_pages']} HTML pages, {site['mib']:.1f} MiB of HTML "
          f"(seed {site['seed']}, generated in {site['generate_s']:.1f} s); served by {figures['server']}\n")
    rows = figures["pipelines"]
    print("Per pipeline (CPU = user+sys of the whole process tree; server CPU is separate; "
          "RSS and PSS sampled every 50 ms)")
    print_table(["pipeline", "pages", "extracted", "wall s", "pages/s", "CPU ms/page", "server CPU ms/page",
                 "peak RSS MiB (tree)", "peak PSS MiB (tree)", "largest process MiB", "procs", "load", "exit"],
                [table_row(row) for row in rows.values()])
    flagged = [row for row in rows.values() if row["few_pages"]]
    if flagged:
        print(f"! fetched fewer than {FEW_PAGES:.0%} of the site's {site['html_pages']} HTML pages: "
              + ", ".join(row["key"] for row in flagged))
    notes = [f"  {row['key']}: {row['note']}" for row in rows.values() if row["note"]]
    if notes:
        print("counts cross-checked:\n" + "\n".join(notes))
    print_tree_notes(rows)
    r = figures["ratios"]
    if all(value is None for key, value in r.items() if key != "parts_ms"):
        print("\nratios: not computed (the parts need warcio and trafilatura-1 or extract-1, the crawls scraper, "
              "and archive against wget)")
        print(f"\ntotal run time {figures['total_s']:.0f} s")
        return
    parts = r["parts_ms"]
    shown = {key: fmt(value, ".2f") for key, value in parts.items()}
    print(f"\nParts, CPU ms/page: scrapy bare {shown['scrapy_bare']} + warcio {shown['warcio_minus_bare']} "
          f"= scrapy+warcio {shown['scrapy_warcio']}; trafilatura 1 process {shown['trafilatura_1proc']}; "
          f"sum {shown['sum']}")
    print(f"limit = {CPUS} CPUs x 1000 / sum = {fmt(r['limit_pages_per_s'])} pages/s")
    print(f"scraper pages/s / limit:             {target(r['scraper_over_limit'], 0.85, True)}")
    print(f"scraper CPU ms/page / sum of parts:  {target(r['scraper_cpu_over_parts'], 1.15, False)}")
    print(f"scraper pages/s / naive pages/s:     {fmt(r['scraper_over_naive'], '.2f')}  (no target: withdrawn)")
    print(f"scraper pages/s / trafilatura CLI:   {fmt(r['scraper_over_trafilatura_cli'], '.2f')}  "
          "(no target: withdrawn)")
    print(f"\nThe same with scraper's own extraction as the extraction part: scrapy+warcio {shown['scrapy_warcio']} + "
          f"scraper's extraction 1 process {shown['scraper_extract_1proc']} = {shown['own_sum']}; "
          f"limit {fmt(r['own_limit_pages_per_s'])} pages/s")
    print(f"scraper's extraction / trafilatura:  {fmt(r['extraction_over_trafilatura'], '.2f')}  (CPU per page)")
    print(f"scraper pages/s / own limit:         {target(r['scraper_over_own_limit'], 0.85, True)}")
    print(f"scraper CPU ms/page / own parts:     {target(r['scraper_cpu_over_own_parts'], 1.15, False)}")
    print(f"\narchive only (--no-extract) pages/s / wget pages/s: {target(r['archive_over_wget'], 0.5, True)}")
    print(f"archive only CPU ms/page / scrapy+warcio:          {fmt(r['archive_cpu_over_scrapy_warcio'], '.2f')}")
    print(f"\ntotal run time {figures['total_s']:.0f} s")


# -- main --------------------------------------------------------------------------------------------------------------
def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pages", type=int, default=sitegen.DEFAULT_PAGES, metavar="N",
                        help=f"articles in the generated site (default {sitegen.DEFAULT_PAGES})")
    parser.add_argument("--seed", type=int, default=sitegen.DEFAULT_SEED, help="the site generator's seed")
    parser.add_argument("--only", metavar="NAME,...",
                        help=f"run only these pipelines, of: {', '.join(PIPELINE_KEYS)}")
    parser.add_argument("--server", choices=("auto", "nginx", "python"), default="auto",
                        help="nginx when installed (auto), or the Python server")
    parser.add_argument("--json", type=Path, metavar="PATH", help="also write the figures as JSON to PATH")
    parser.add_argument("--keep", action="store_true", help="keep the temp dir (site, WARCs, outputs) and print it")
    args = parser.parse_args(argv)
    if args.pages < 1:
        parser.error("--pages must be at least 1")
    args.pipelines = PIPELINE_KEYS
    if args.only:
        args.pipelines = tuple(name.strip() for name in args.only.split(",") if name.strip())
        unknown = sorted(set(args.pipelines) - set(PIPELINE_KEYS))
        if unknown:
            parser.error(f"--only: unknown pipeline(s) {', '.join(unknown)}; known: {', '.join(PIPELINE_KEYS)}")
    return args


def run_benchmark(args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    started, load_start = time.perf_counter(), os.getloadavg()[0]
    date, code_start = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"), code_state()
    port = free_port()
    root = workdir / "site"
    progress(f"generating {args.pages} articles into {root} ...")
    site = sitegen.generate(root, f"http://127.0.0.1:{port}", args.pages, args.seed)
    generate_s = time.perf_counter() - started
    server = start_server(pick_server(args.server), root, workdir, port)
    progress(f"{len(site.paths)} HTML pages in {generate_s:.1f} s; serving with {server.kind} on port {port}")
    ctx = Context(site=site, workdir=workdir, start=f"{site.base}/")
    rows: dict[str, dict[str, Any]] = {}
    try:
        for pipeline in PIPELINES:
            if pipeline.key in args.pipelines:
                row = run_pipeline(pipeline, ctx, server)
                if row is not None:
                    rows[pipeline.key] = row
    finally:
        server.stop()
    return {
        "machine": machine(), "date": date, "end": datetime.now(UTC).strftime("%H:%M UTC"),
        "code_start": code_start, "code_end": code_state(),
        "load_start": load_start, "load_end": os.getloadavg()[0], "server": server.kind,
        "site": {"articles": site.articles, "html_pages": len(site.paths), "mib": site.bytes / 2**20,
                 "seed": args.seed, "generate_s": generate_s},
        "scrapy_overrides": BENCH_OVERRIDES, "extract_options": EXTRACT_OPTIONS,
        "pipelines": rows, "ratios": ratios(rows), "total_s": time.perf_counter() - started,
    }


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    # A SIGTERM unwinds like Ctrl-C, so the server and the temp dir are cleaned up.
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
    if not become_subreaper():
        progress("could not become a child subreaper: CPU time of orphaned processes may be missing")
    workdir = Path(tempfile.mkdtemp(prefix="bench-crawl-"))
    workdir.chmod(0o755)  # nginx's worker runs as nobody and must reach the site
    try:
        figures = run_benchmark(args, workdir)
    finally:
        if args.keep:
            progress(f"kept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    print_report(figures)
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
