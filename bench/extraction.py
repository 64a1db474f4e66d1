"""Extraction benchmark: quality, speed and memory of the scraper against plain trafilatura.

``--corpus DIR`` takes any of three corpus layouts, told apart by the files present; ``--corpus all``
runs the three under ``../shared/corpus`` one after the other and ends with one summary table
(corpus × metric × {scraper, trafilatura}).

* ``article-extraction`` (``ground-truth.json`` and ``ids.txt``): the development part of the
  Zyte/ScrapingHub article-extraction benchmark, scored on the main text by 4-token shingles
  (:func:`score`).  One run, three systems, the same pages:

  * ``scraper crawl (end to end)``: the real CLI in a subprocess crawls the corpus pages from a
    loopback HTTP server; the ``text`` of each record in ``pages.jsonl`` is scored.  ``--corpus all``
    leaves the crawl out unless ``--crawl`` is given; ``--no-crawl`` leaves it out of a one-corpus run.
  * ``scraper extract_page (in-process)``: :func:`scraper_extract`, timed per page.
  * ``trafilatura.extract``: the benchmark's own call, ``trafilatura.extract(html, include_comments=False)``.

* ``trafilatura-eval`` (``evaldata.json`` and ``html/``): trafilatura's own evaluation pages, with
  snippets the main text must or must not contain and metadata expectations (title, author, date,
  ...).  No crawl: ``extract_page``, ``trafilatura.extract`` (the body) and
  ``trafilatura.bare_extraction`` (the metadata) each run on the raw bytes.

* ``wcxb`` (``metadata.json`` and ``dev/ground-truth/``): the WCXB development split, 7 page types.
  ``extract_page`` against ``trafilatura.bare_extraction(html, url=url, with_metadata=True)`` with its
  default options.  Body: word-level bag-of-words precision, recall and F1 per page
  (:func:`word_score`), averaged over pages, overall and per page type (``--page-types`` prints the
  table); snippets: the share of ``with`` and of ``without`` snippets found per page, averaged over the
  pages that have such snippets; title, author, date: the share right of the pages whose annotation is
  neither null nor empty (:func:`wcxb_field_correct`).

The in-process systems of a corpus run side by side (:func:`run_side_by_side`): each in a fresh worker
process of its own, fed the same pages in turn, so machine load falls on all of them alike; each worker
times its own calls and reports its peak resident memory growth over the run.  The scraper side always
calls :func:`scraper_extract`, which calls ``extract_page``: a new extractor behind it is measured as is.

Each corpus README.md describes the layout and the scoring method restated here.
This prints figures; it asserts nothing and is not part of the test run.

    .venv/bin/python bench/extraction.py [--corpus DIR|all] [--limit N] [--json PATH] [--misses FIELD]
                                         [--page-types] [--crawl|--no-crawl]
    .venv/bin/python bench/extraction.py --replay PATH [--misses FIELD] [--page-types]
"""

from __future__ import annotations

import argparse
import gzip
import json
import multiprocessing
import os
import platform
import random
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib.metadata import PackageNotFoundError, version
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import trafilatura
from tables import print_table

# The scraper of the checkout this script sits in (as the crawl's `python -m scraper` in REPO_ROOT gets), not
# the one the virtualenv's editable install points at, which for a git worktree is another checkout.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from scraper.article import Article
from scraper.extract.page import extract_page
from scraper.storage.jsonl import iter_jsonl

REPO_ROOT = Path(__file__).resolve().parents[1]
CORPORA = Path(__file__).resolve().parents[2] / "shared/corpus"
DEFAULT_CORPUS = CORPORA / "article-extraction"
ALL = "all"  # --corpus all: the three corpora under CORPORA, one summary

ARTICLE_LAYOUT = "article-extraction"
CRAWL = "scraper crawl (end to end)"
EXTRACT_PAGE = "scraper extract_page (in-process)"
TRAFILATURA = "trafilatura.extract"
TRAFILATURA_BARE = "trafilatura.bare_extraction"  # trafilatura-eval: include_comments=False
TRAFILATURA_DEFAULT = "trafilatura.bare_extraction (default options)"  # WCXB
ARTICLE_SYSTEMS = (EXTRACT_PAGE, TRAFILATURA)  # in-process, side by side

# -- scoring (the corpus README's method, restated from the upstream evaluate.py) ----------------
TOKEN = re.compile(r"\w+")
SHINGLE_SIZE = 4
BOOTSTRAP_ROUNDS = 1000
METRICS = ("f1", "precision", "recall", "accuracy")

Shingles = Counter[tuple[str, ...]]


def tokenize(text: str | None) -> list[str]:
    """Maximal runs of word characters; punctuation and white space dropped, case kept."""
    return TOKEN.findall(text or "")


def shingles(tokens: Sequence[str], size: int = SHINGLE_SIZE) -> Shingles:
    """Overlapping ``size``-token shingles as a multiset; a short text is one shingle, an empty one none."""
    if not tokens:
        return Counter()
    if len(tokens) < size:
        return Counter([tuple(tokens)])
    return Counter(tuple(tokens[i:i + size]) for i in range(len(tokens) - size + 1))


@dataclass(frozen=True)
class PageScore:
    """Shingle counts normalised by tp+fp+fn, so every page weighs the same."""

    tp: float
    fp: float
    fn: float
    exact: bool  # the token sequences are equal

    @property
    def precision(self) -> float | None:
        """``None``: nothing was predicted, so the page is left out of the precision average."""
        return self.tp / (self.tp + self.fp) if self.tp + self.fp > 0 else None

    @property
    def recall(self) -> float | None:
        """``None``: the truth is empty, so the page is left out of the recall average."""
        return self.tp / (self.tp + self.fn) if self.tp + self.fn > 0 else None


def score_page(truth: str, prediction: str | None) -> PageScore:
    true_tokens, pred_tokens = tokenize(truth), tokenize(prediction)
    true_shingles, pred_shingles = shingles(true_tokens), shingles(pred_tokens)
    tp = sum((true_shingles & pred_shingles).values())
    fp = sum((pred_shingles - true_shingles).values())
    fn = sum((true_shingles - pred_shingles).values())
    total = tp + fp + fn or 1
    return PageScore(tp / total, fp / total, fn / total, exact=true_tokens == pred_tokens)


def _mean(values: Sequence[float]) -> float:
    return statistics.fmean(values) if values else 0.0  # no page qualifies: report 0, not an error


def aggregate(pages: Sequence[PageScore]) -> dict[str, float]:
    """Macro averages over pages; F1 is the harmonic mean of the averaged precision and recall."""
    precision = _mean([p.precision for p in pages if p.precision is not None])
    recall = _mean([p.recall for p in pages if p.recall is not None])
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"f1": f1, "precision": precision, "recall": recall, "accuracy": _mean([float(p.exact) for p in pages])}


def bootstrap_std(pages: Sequence[PageScore], rounds: int = BOOTSTRAP_ROUNDS, seed: int = 0) -> dict[str, float]:
    """Standard deviation of each metric over ``rounds`` resamplings of the pages (fixed seed)."""
    if len(pages) < 2:
        return dict.fromkeys(METRICS, 0.0)
    rng = random.Random(seed)
    samples = [aggregate(rng.choices(pages, k=len(pages))) for _ in range(rounds)]
    return {metric: statistics.stdev(s[metric] for s in samples) for metric in METRICS}


def score(pairs: Iterable[tuple[str, str | None]]) -> dict[str, float]:
    """Score ``(truth, prediction)`` pairs: F1, precision, recall, accuracy and their bootstrap ``*_std``."""
    pages = [score_page(truth, prediction) for truth, prediction in pairs]
    figures = aggregate(pages)
    figures.update({f"{metric}_std": std for metric, std in bootstrap_std(pages).items()})
    return figures


# -- corpus ------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Page:
    id: str
    body: bytes  # the stored HTML, decompressed: what the server sends
    truth: str  # articleBody
    original_url: str

    @property
    def path(self) -> str:
        return f"/{self.id}.html"


def load_corpus(corpus: Path, limit: int | None = None) -> list[Page]:
    truth = json.loads((corpus / "ground-truth.json").read_text(encoding="utf-8"))
    ids = (corpus / "ids.txt").read_text(encoding="ascii").split()[:limit]
    return [Page(id=page_id, body=gzip.decompress((corpus / "html" / f"{page_id}.html.gz").read_bytes()),
                 truth=truth[page_id]["articleBody"], original_url=truth[page_id]["url"])
            for page_id in ids]


# -- loopback server -----------------------------------------------------------------------------------
ROBOTS_TXT = b"User-agent: *\nAllow: /\n"
HTML_TYPE = "text/html; charset=utf-8"


def make_handler(bodies: dict[str, bytes]) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as a real server would

        def log_message(self, format: str, *args: object) -> None:
            pass

        def reply(self, status: int, body: bytes, content_type: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:
            path = self.path.split("?", 1)[0]
            if path == "/robots.txt":
                self.reply(200, ROBOTS_TXT, "text/plain; charset=utf-8")
            elif path in bodies:
                self.reply(200, bodies[path], HTML_TYPE)
            else:
                self.reply(404, b"not found\n", "text/plain; charset=utf-8")

    return Handler


@contextmanager
def serve(pages: Sequence[Page]) -> Iterator[str]:
    """Serve ``/<id>.html`` and ``/robots.txt`` on 127.0.0.1 (any free port); yields the base URL."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), make_handler({p.path: p.body for p in pages}))
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


# -- the systems -------------------------------------------------------------------------------------
Texts = dict[str, str | None]  # page id -> extracted text


@dataclass(frozen=True)
class Crawl:
    texts: Texts
    records: int  # records in pages.jsonl that map to a corpus page
    wall_s: float
    peak_rss_mib: float  # ru_maxrss of RUSAGE_CHILDREN
    process_peaks_mib: list[float]  # VmHWM of each process in the crawl's tree, sampled; largest first
    returncode: int
    stderr: str


def peak_child_rss_mib() -> float:
    """ru_maxrss of the largest waited-for descendant (not a sum): KiB on Linux, bytes on macOS.

    A child's figure starts from this process's own peak at the time it was spawned (Linux carries
    the high-water mark across fork and exec), and descendants that no one waited for are missing.
    """
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return peak / 1024 / (1024 if sys.platform == "darwin" else 1)


def process_tree(pid: int) -> list[int]:
    """``pid`` and its live descendants (Linux /proc; just ``pid`` elsewhere)."""
    tree, stack = [], [pid]
    while stack:
        current = stack.pop()
        tree.append(current)
        for children in Path(f"/proc/{current}/task").glob("*/children"):
            with suppress(OSError, ValueError):
                stack.extend(int(child) for child in children.read_text().split())
    return tree


def vm_hwm_kib(pid: int) -> int:
    """Peak resident set size of a live process, from /proc/<pid>/status (0 when unknown)."""
    with suppress(OSError, ValueError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return 0


@contextmanager
def sample_tree_memory(pid: int, interval_s: float = 0.05) -> Iterator[dict[int, int]]:
    """Yield ``{pid: peak KiB}`` for the process tree of ``pid``, filled in by a thread until the block ends.

    Unlike RUSAGE_CHILDREN this sees the extraction workers, which the crawl process never waits for.
    """
    peaks: dict[int, int] = {}
    stop = threading.Event()

    def sample() -> None:
        while not stop.wait(interval_s):
            for member in process_tree(pid):
                peaks[member] = max(peaks.get(member, 0), vm_hwm_kib(member))

    thread = threading.Thread(target=sample, daemon=True)
    thread.start()
    try:
        yield peaks
    finally:
        stop.set()
        thread.join()


def crawl_command(seed_file: Path, out: Path) -> list[str]:
    return [sys.executable, "-m", "scraper", "crawl", "-i", str(seed_file), "--archive", str(out), "-q",
            "-s", "AUTOTHROTTLE_ENABLED=False", "-s", "CONCURRENT_REQUESTS_PER_DOMAIN=8"]


def run_crawl(urls: dict[str, str], workdir: Path) -> Crawl:
    """Crawl ``urls`` (id -> URL) with the CLI and map each page record back to its id by URL."""
    seed_file, out = workdir / "seeds.txt", workdir / "archive"
    seed_file.write_text("".join(f"{url}\n" for url in urls.values()), encoding="utf-8")
    start = time.perf_counter()
    process = subprocess.Popen(crawl_command(seed_file, out), cwd=REPO_ROOT, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    with sample_tree_memory(process.pid) as peaks:
        _, stderr = process.communicate()
    wall_s = time.perf_counter() - start
    ids_by_url = {url: page_id for page_id, url in urls.items()}
    texts: Texts = {}
    for pages_file in sorted(out.glob("crawls/*/pages.jsonl")):
        for record in iter_jsonl(pages_file):
            page_id = ids_by_url.get(record.get("url") or "") or ids_by_url.get(record.get("requested_url") or "")
            if page_id is not None:
                texts[page_id] = record.get("text")  # None for a failed page (status >= 400)
    return Crawl(texts=texts, records=len(texts), wall_s=wall_s, peak_rss_mib=peak_child_rss_mib(),
                 process_peaks_mib=sorted((kib / 1024 for kib in peaks.values() if kib), reverse=True),
                 returncode=process.returncode, stderr=stderr)


def scraper_extract(html: str | bytes, url: str) -> Article | None:
    """The scraper side of every comparison: whatever ``extract_page`` does now, models included."""
    return extract_page(html, url)


@dataclass(frozen=True)
class Extraction:
    text: str | None = None
    meta: dict[str, Any] = field(default_factory=dict)  # META_FIELDS -> value as the system gives it
    error: str | None = None  # the exception, if the call raised (the page then counts as empty)


def scraper_record(html: str | bytes, url: str) -> Extraction:
    article = scraper_extract(html, url)
    if article is None:
        return Extraction()
    return Extraction(text=article.text, meta={
        "title": article.title, "author": article.authors, "date": article.published,
        "description": article.description, "sitename": article.site_name,
        "categories": article.categories, "tags": article.tags})


def trafilatura_body(html: str | bytes, url: str) -> Extraction:
    """The article-extraction benchmark's own call (and the trafilatura-eval README's body call)."""
    return Extraction(text=trafilatura.extract(html, include_comments=False))


def document_record(document: Any) -> Extraction:
    if document is None:
        return Extraction()
    return Extraction(text=getattr(document, "text", None),
                      meta={name: getattr(document, name, None) for name in META_FIELDS})


def trafilatura_metadata(html: str | bytes, url: str) -> Extraction:
    """trafilatura-eval's metadata call."""
    return document_record(trafilatura.bare_extraction(html, url=url, include_comments=False, with_metadata=True))


def trafilatura_default(html: str | bytes, url: str) -> Extraction:
    """WCXB's plain trafilatura: ``bare_extraction`` with its default options (comments included)."""
    return document_record(trafilatura.bare_extraction(html, url=url, with_metadata=True))


# Synthetic pages for untimed warm-up calls: one-off set-up stays out of the per-page figures, and no
# corpus page is run twice (htmldate and trafilatura cache results by string).  Libraries load data on
# first use: py3langid its model (a page without a lang attribute), tld the public suffix list (a
# canonical URL on a short domain name), justext its stop lists (a page too thin for the main extractor),
# dateparser its time zones and month names (date-like strings that htmldate's own rules cannot parse).
_PROSE = ("<p>This paragraph is plain English prose, long enough to count as the main text of the page, "
          "so that every step of the extraction runs once before any page is timed.</p>")
WARM_UP_PAGES = (
    "<!doctype html><html><head><meta charset='utf-8'><title>Warm-up article</title>"
    "<link rel='canonical' href='https://www.abc.example/news/warm-up'></head><body>"
    "<nav><a href='/'>Home</a></nav><article><h1>Warm-up article</h1><p class='date'>November 20 15:23 2019</p>"
    + _PROSE * 4 + "</article><footer>Footer</footer></body></html>",
    "<!doctype html><html><head><meta charset='utf-8'><title>Новости (14 дней) - до 10</title></head><body>"
    "<div class='menu'><a href='/'>Home</a></div><div><span>A short note.</span></div>"
    "<div>Only a few words here, then nothing else.</div></body></html>",
)
WARM_UP_URL = "http://127.0.0.1/warm-up.html"


def elapsed_ms(start: float) -> float:
    return (time.perf_counter() - start) * 1000


# -- side by side: one worker process per system, pages interleaved --------------------------------
# Each system runs in a fresh process of its own (spawned: nothing inherited from this one), so its
# memory growth is its own and no library cache is shared between systems.  The parent hands every
# page to each worker in turn (the order alternating from page to page) and waits for the answer, so
# a change in machine load during the run falls on both systems alike.  Workers time their own calls.
Job = tuple[str, str | bytes, str]  # (page key, html, url)


@dataclass(frozen=True)
class Memory:
    """Resident memory of one worker (MiB): after its imports, and the peak growth above that."""

    imported_mib: float  # VmRSS when the worker starts, its imports done
    warm_up_growth_mib: float  # peak over the untimed warm-up calls, above imported_mib
    peak_growth_mib: float  # peak over warm-up and every page, above imported_mib
    method: str  # how the peak was read


@dataclass(frozen=True)
class SystemRun:
    results: dict[str, Extraction]  # page key -> extraction
    ms_by_key: dict[str, float]  # wall time of each call
    cpu_ms_by_key: dict[str, float]  # the worker's CPU time over each call: what other processes' load leaves alone
    warm_up_ms: float  # the untimed warm-up calls, together
    memory: Memory

    @property
    def ms(self) -> list[float]:
        return list(self.ms_by_key.values())

    @property
    def cpu_ms(self) -> list[float]:
        return list(self.cpu_ms_by_key.values())


def proc_status_kib(field_name: str) -> int | None:
    """A ``kB`` line of /proc/self/status (Linux), e.g. VmRSS or VmHWM."""
    with suppress(OSError, ValueError):
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field_name + ":"):
                return int(line.split()[1])
    return None


def reset_peak_rss() -> bool:
    """Set VmHWM to the current VmRSS (Linux >= 4.0, writing 5 to clear_refs); False where unsupported."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True


def peak_rss_kib() -> int:
    """VmHWM where readable, else ru_maxrss (KiB on Linux, bytes on macOS)."""
    hwm = proc_status_kib("VmHWM")
    if hwm is not None:
        return hwm
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak // 1024 if sys.platform == "darwin" else peak


def worker_main(system: str, conn: Connection) -> None:
    """A worker's loop: warm up, report ready, extract each (html, url) received until ``None``, report memory."""
    extract = SYSTEM_CALLS[system]
    imported_kib = proc_status_kib("VmRSS") or peak_rss_kib()
    method = "VmHWM reset after imports" if reset_peak_rss() else "ru_maxrss (includes the imports' peak)"
    start = time.perf_counter()
    for warm_up_html in WARM_UP_PAGES:
        extract(warm_up_html, WARM_UP_URL)
    conn.send(elapsed_ms(start))
    warm_up_kib = peak_rss_kib()
    while (job := conn.recv()) is not None:
        html, url = job
        start, cpu_start = time.perf_counter(), time.process_time()
        try:
            result = extract(html, url)
        except Exception as error:  # a crash counts as an empty extraction, as upstream does
            result = Extraction(error=f"{type(error).__name__}: {error}")
        conn.send((result, elapsed_ms(start), (time.process_time() - cpu_start) * 1000))
    conn.send(Memory(imported_mib=imported_kib / 1024, warm_up_growth_mib=(warm_up_kib - imported_kib) / 1024,
                     peak_growth_mib=(peak_rss_kib() - imported_kib) / 1024, method=method))
    conn.close()


def run_side_by_side(systems: Sequence[str], jobs: Iterable[Job], label: str) -> dict[str, SystemRun]:
    """Run every job through each system's worker, interleaved; the workers start and warm up first."""
    context = multiprocessing.get_context("spawn")
    workers = {}
    for name in systems:
        parent, child = context.Pipe()
        process = context.Process(target=worker_main, args=(name, child), name=f"bench {name}", daemon=True)
        process.start()
        child.close()
        workers[name] = (process, parent)
    try:
        warm_up_ms = {name: conn.recv() for name, (_, conn) in workers.items()}
        results: dict[str, dict[str, Extraction]] = {name: {} for name in systems}
        ms: dict[str, dict[str, float]] = {name: {} for name in systems}
        cpu_ms: dict[str, dict[str, float]] = {name: {} for name in systems}
        for number, (key, html, url) in enumerate(jobs):
            if number and number % 250 == 0:
                progress(f"  {label}: {number} pages ...")
            for name in systems if number % 2 == 0 else reversed(systems):
                conn = workers[name][1]
                conn.send((html, url))
                results[name][key], ms[name][key], cpu_ms[name][key] = conn.recv()
        memory = {}
        for name, (_, conn) in workers.items():
            conn.send(None)
            memory[name] = conn.recv()
    finally:
        for process, conn in workers.values():
            conn.close()
            process.join(timeout=10)
            if process.is_alive():
                process.kill()
    return {name: SystemRun(results[name], ms[name], cpu_ms[name], warm_up_ms[name], memory[name])
            for name in systems}


# -- figures -------------------------------------------------------------------------------------------
def quality(pages: Sequence[Page], texts: Texts) -> dict[str, float]:
    """Score every corpus page; a page missing from ``texts`` counts as an empty extraction."""
    return score((page.truth, texts.get(page.id)) for page in pages)


def timing(run: SystemRun) -> dict[str, Any]:
    """Per-call figures and the worker's memory; wall_s and pages/s are over the timed calls only."""
    total_s = sum(run.ms) / 1000
    return {"ms_mean": statistics.fmean(run.ms), "ms_median": statistics.median(run.ms),
            "cpu_ms_mean": statistics.fmean(run.cpu_ms), "cpu_ms_median": statistics.median(run.cpu_ms),
            "warm_up_ms": run.warm_up_ms, "wall_s": total_s,
            "pages_per_s": len(run.ms) / total_s if total_s else 0.0,
            "imported_mib": run.memory.imported_mib, "warm_up_growth_mib": run.memory.warm_up_growth_mib,
            "peak_growth_mib": run.memory.peak_growth_mib, "memory_method": run.memory.method}


def page_figures(page: Page, text: str | None) -> dict[str, Any]:
    page_score = score_page(page.truth, text)
    return {"precision": page_score.precision, "recall": page_score.recall, "tokens": len(tokenize(text))}


def differing_pages(pages: Sequence[Page], a: Texts, b: Texts) -> list[dict[str, Any]]:
    """Pages whose two extractions tokenise differently, with each side's page precision and recall."""
    return [{"id": page.id, "url": page.original_url,
             "a": page_figures(page, a.get(page.id)), "b": page_figures(page, b.get(page.id))}
            for page in pages if tokenize(a.get(page.id)) != tokenize(b.get(page.id))]


def package_version(name: str) -> str:
    try:
        return version(name)
    except PackageNotFoundError:
        return "not installed"


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine() -> dict[str, Any]:
    return {
        "platform": platform.platform(),
        "cpu": cpu_model(),
        "cpu_count": os.cpu_count(),
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "trafilatura": trafilatura.__version__,
        "lxml": package_version("lxml"),
        "scrapy": package_version("scrapy"),
    }


# == the trafilatura-eval layout =======================================================================
# evaldata.json maps each page's URL to snippets that the main text must contain (``with``) or must not
# (``without``) and to optional metadata expectations; the corpus README defines the scoring restated here.
# No crawl: the pages are not all UTF-8, and the loopback server above labels every page as UTF-8.
EVAL_LAYOUT = "trafilatura-eval"
EVAL_SYSTEMS = (EXTRACT_PAGE, TRAFILATURA, TRAFILATURA_BARE)
SNIPPET_METRICS = ("f1", "precision", "recall", "accuracy")
# Fields scored per page, in report order: the first three are the main figures, the rest are extra lines.
META_FIELDS = ("title", "author", "date", "description", "sitename", "categories", "tags")
MISS_FIELDS = (*META_FIELDS, "text")
TITLE_CASELESS = "title, case-insensitive"  # an extra line, not the README's rule: see bench/README.md
_WHITESPACE = re.compile(r"\s+")
# An author annotation is one string or a list; either may hold several names.  Both sides are cut the same way.
_NAME_SEPARATORS = re.compile(r"\s*(?:[;,&|]|\band\b|\bund\b)\s*", re.IGNORECASE)


def collapse(text: str) -> str:
    """Runs of white space to one space, ends stripped (the upstream ``norm``)."""
    return _WHITESPACE.sub(" ", text).strip()


@dataclass(frozen=True)
class EvalPage:
    url: str  # the key in evaldata.json; also given to the extractors
    file: str  # under html/
    body: bytes  # raw bytes as captured, decompressed; not always UTF-8
    with_snippets: tuple[str, ...]
    without_snippets: tuple[str, ...]
    expected: dict[str, Any]  # the metadata fields the page annotates, as annotated (empty values included)


def detect_layout(corpus: Path) -> str | None:
    """``article-extraction`` (ground-truth.json), ``trafilatura-eval`` (evaldata.json), ``wcxb``, or ``None``."""
    if (corpus / "ground-truth.json").is_file() and (corpus / "ids.txt").is_file():
        return ARTICLE_LAYOUT
    if (corpus / "evaldata.json").is_file() and (corpus / "html").is_dir():
        return EVAL_LAYOUT
    if (corpus / "metadata.json").is_file() and (corpus / "dev" / "ground-truth").is_dir():
        return WCXB_LAYOUT
    return None


def load_eval_corpus(corpus: Path, limit: int | None = None) -> list[EvalPage]:
    """The pages in evaldata.json's own order; ``limit`` keeps the first N."""
    data = json.loads((corpus / "evaldata.json").read_text(encoding="utf-8"))
    return [EvalPage(url=url, file=item["file"], body=gzip.decompress((corpus / "html" / item["file"]).read_bytes()),
                     with_snippets=tuple(item["with"]), without_snippets=tuple(item["without"]),
                     expected={name: item[name] for name in META_FIELDS if name in item})
            for url, item in list(data.items())[:limit]]


# -- snippet scoring (main text) -------------------------------------------------------------------------
@dataclass(frozen=True)
class SnippetCounts:
    tp: int  # ``with`` snippets found
    fp: int  # ``without`` snippets found
    fn: int  # ``with`` snippets missing
    tn: int  # ``without`` snippets missing
    missed: tuple[str, ...] = ()  # the ``with`` snippets not found
    unwanted: tuple[str, ...] = ()  # the ``without`` snippets found

    def __add__(self, other: SnippetCounts) -> SnippetCounts:
        return SnippetCounts(self.tp + other.tp, self.fp + other.fp, self.fn + other.fn, self.tn + other.tn)


def count_snippets(page: EvalPage, text: str | None) -> SnippetCounts:
    """Whitespace-collapsed substring tests; no text finds nothing."""
    found = collapse(text) if text else None

    def present(snippet: str) -> bool:
        return found is not None and collapse(snippet) in found

    missed = tuple(s for s in page.with_snippets if not present(s))
    unwanted = tuple(s for s in page.without_snippets if present(s))
    return SnippetCounts(tp=len(page.with_snippets) - len(missed), fp=len(unwanted), fn=len(missed),
                         tn=len(page.without_snippets) - len(unwanted), missed=missed, unwanted=unwanted)


def snippet_metrics(counts: Iterable[SnippetCounts]) -> dict[str, float]:
    """Micro figures over all snippets of all pages; 0.0 for an empty denominator."""
    total = sum(counts, SnippetCounts(0, 0, 0, 0))
    precision = total.tp / (total.tp + total.fp) if total.tp + total.fp else 0.0
    recall = total.tp / (total.tp + total.fn) if total.tp + total.fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    everything = total.tp + total.fp + total.fn + total.tn
    return {"f1": f1, "precision": precision, "recall": recall,
            "accuracy": (total.tp + total.tn) / everything if everything else 0.0,
            "tp": total.tp, "fp": total.fp, "fn": total.fn, "tn": total.tn}


def score_snippets(counts: Sequence[SnippetCounts], rounds: int = BOOTSTRAP_ROUNDS, seed: int = 0) -> dict[str, float]:
    """:func:`snippet_metrics` plus ``*_std``: bootstrap over pages (their snippets stay together)."""
    figures = snippet_metrics(counts)
    rng = random.Random(seed)
    samples = [snippet_metrics(rng.choices(counts, k=len(counts))) for _ in range(rounds)] if len(counts) > 1 else []
    for metric in SNIPPET_METRICS:
        figures[f"{metric}_std"] = statistics.stdev(s[metric] for s in samples) if samples else 0.0
    return figures


# -- metadata scoring ----------------------------------------------------------------------------------------
def author_names(value: Any) -> frozenset[str]:
    """A set of lower-cased names: each string is cut at ``;`` ``,`` ``&`` ``|`` ``and`` ``und``."""
    items = [value] if isinstance(value, str) else list(value or [])
    return frozenset(name.casefold() for item in items for name in _NAME_SEPARATORS.split(collapse(str(item)))
                     if name)


def term_set(value: Any) -> frozenset[str]:
    """Categories and tags: a set of whitespace-collapsed items; a string is taken as comma-separated."""
    items = value.split(",") if isinstance(value, str) else list(value or [])
    return frozenset(collapse(str(item)) for item in items if collapse(str(item)))


def is_empty(value: Any) -> bool:
    """No value: ``None``, an empty or blank string, an empty list."""
    if isinstance(value, str):
        return not value.strip()
    return not value


def field_correct(key: str, expected: Any, got: Any) -> bool:
    """Does ``got`` (one system's value) match a page's non-empty annotation ``expected``?"""
    if is_empty(got):
        return False
    if key == "author":
        return author_names(got) == author_names(expected)
    if key in ("categories", "tags"):
        return term_set(got) == term_set(expected)
    if key == "date":  # ours may carry a time: compare the day
        return collapse(str(got))[:10] == collapse(str(expected))
    if key == TITLE_CASELESS:
        return collapse(str(got)).casefold() == collapse(str(expected)).casefold()
    return collapse(str(got)) == collapse(str(expected))


def field_source(key: str) -> str:
    """The stored field a scored line reads (the case-insensitive title line reads ``title``)."""
    return "title" if key == TITLE_CASELESS else key


def bootstrap_share(hits: Sequence[bool], rounds: int = BOOTSTRAP_ROUNDS, seed: int = 0) -> float:
    if len(hits) < 2:
        return 0.0
    rng = random.Random(seed)
    return statistics.stdev(statistics.fmean(rng.choices(hits, k=len(hits))) for _ in range(rounds))


def score_metadata(records: Sequence[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Per field: the share of pages with a non-empty annotation that each system gets right.

    Pages annotated with an empty value are counted apart (``empty_pages``), with how often each
    system gives nothing there too; they are left out of the share.
    """
    figures: dict[str, dict[str, Any]] = {}
    systems = (EXTRACT_PAGE, TRAFILATURA_BARE)
    for key in (*META_FIELDS[:1], TITLE_CASELESS, *META_FIELDS[1:]):
        source = field_source(key)
        annotated = [r for r in records if source in r["expected"] and not is_empty(r["expected"][source])]
        empty = [r for r in records if source in r["expected"] and is_empty(r["expected"][source])]
        hits = {name: [field_correct(key, r["expected"][source], r["systems"][name]["meta"].get(source))
                       for r in annotated] for name in systems}
        row: dict[str, Any] = {"pages": len(annotated), "empty_pages": len(empty)}
        for name in systems:
            row[name] = statistics.fmean(hits[name]) if annotated else 0.0
            row[f"{name}_std"] = bootstrap_share(hits[name])
            row[f"{name}_none_on_empty"] = sum(is_empty(r["systems"][name]["meta"].get(source)) for r in empty)
        row["only_scraper"] = sum(a and not b for a, b in zip(*hits.values(), strict=True))
        row["only_trafilatura"] = sum(b and not a for a, b in zip(*hits.values(), strict=True))
        figures[key] = row
    return figures


SYSTEM_CALLS: dict[str, Callable[[str | bytes, str], Extraction]] = {
    EXTRACT_PAGE: scraper_record, TRAFILATURA: trafilatura_body, TRAFILATURA_BARE: trafilatura_metadata,
    TRAFILATURA_DEFAULT: trafilatura_default}


def jsonable(value: Any) -> Any:
    return list(value) if isinstance(value, tuple | set | frozenset) else value


def page_record(page: EvalPage, runs: dict[str, SystemRun]) -> dict[str, Any]:
    """One page: the annotation and, per system, its snippet counts, metadata values and time."""
    systems: dict[str, Any] = {}
    for name, run in runs.items():
        result = run.results[page.url]
        entry: dict[str, Any] = {"meta": {k: jsonable(v) for k, v in result.meta.items()},
                                 "ms": run.ms_by_key[page.url]}
        if name != TRAFILATURA_BARE:  # the body of plain trafilatura is scored from extract()
            counts = count_snippets(page, result.text)
            entry["snippets"] = {"tp": counts.tp, "fp": counts.fp, "fn": counts.fn, "tn": counts.tn,
                                 "missed": list(counts.missed), "unwanted": list(counts.unwanted)}
        if result.error:
            entry["error"] = result.error
        systems[name] = entry
    return {"url": page.url, "file": page.file, "expected": page.expected,
            "with": list(page.with_snippets), "without": list(page.without_snippets), "systems": systems}


def run_eval_benchmark(pages: Sequence[EvalPage], corpus: Path) -> dict[str, Any]:
    progress(f"trafilatura-eval: {', '.join(EVAL_SYSTEMS)} side by side on {len(pages)} pages ...")
    # Raw bytes, as captured: the pages are not all UTF-8, and each system detects the encoding itself.
    runs = run_side_by_side(EVAL_SYSTEMS, ((page.url, page.body, page.url) for page in pages), EVAL_LAYOUT)
    records = [page_record(page, runs) for page in pages]
    systems: dict[str, dict[str, Any]] = {}
    for name in EVAL_SYSTEMS:
        run = runs[name]
        row: dict[str, Any] = {"pages": len(pages), **timing(run),
                               "errors": sum(1 for r in run.results.values() if r.error)}
        if name != TRAFILATURA_BARE:
            row.update(score_snippets([count_snippets(p, run.results[p.url].text) for p in pages]))
        systems[name] = row
    bare_texts = {url: r.text for url, r in runs[TRAFILATURA_BARE].results.items()}
    body_texts = {url: r.text for url, r in runs[TRAFILATURA].results.items()}
    return {
        "layout": EVAL_LAYOUT,
        "machine": machine(),
        "corpus": str(corpus),
        "pages": len(pages),
        "snippets": {"with": sum(len(p.with_snippets) for p in pages),
                     "without": sum(len(p.without_snippets) for p in pages)},
        "systems": systems,
        "metadata": score_metadata(records),
        "median_ratio": {name: systems[EXTRACT_PAGE]["ms_median"] / systems[name]["ms_median"]
                         for name in (TRAFILATURA, TRAFILATURA_BARE)},
        "bare_text": {  # how far bare_extraction().text is from extract(): why the body is scored from extract()
            "pages_differing": sum(collapse(bare_texts[p.url] or "") != collapse(body_texts[p.url] or "")
                                   for p in pages),
            **snippet_metrics(count_snippets(p, bare_texts[p.url]) for p in pages)},
        "page_records": records,
    }


# == the WCXB layout ===================================================================================
# dev/html/NNNN.html.gz and dev/ground-truth/NNNN.json (the reference text, snippets, title, author,
# publish date and page type).  Scored as the corpus README says (upstream evaluate.py for the body and the
# snippets, the README's own folding rules for the metadata); no crawl.
WCXB_LAYOUT = "wcxb"
WCXB_SYSTEMS = (EXTRACT_PAGE, TRAFILATURA_DEFAULT)
PAGE_TYPES = ("article", "forum", "product", "collection", "listing", "documentation", "service")
WCXB_META_FIELDS = ("title", "author", "date")  # the annotation's publish_date is scored as date
WCXB_METRICS = ("f1", "precision", "recall")
# Author names are cut at , ; & and the word "and"; trafilatura joins several with "; ".
_WCXB_NAME_SEPARATORS = re.compile(r"\s*(?:[,;&]|\band\b)\s*", re.IGNORECASE)


def word_tokens(text: str | None) -> list[str]:
    """WCXB's tokens: maximal runs of word characters of the lower-cased text."""
    return TOKEN.findall((text or "").lower())


@dataclass(frozen=True)
class WordScore:
    precision: float
    recall: float
    f1: float


def word_score(reference: str | None, prediction: str | None) -> WordScore:
    """Bag-of-words overlap of one page; an empty reference scores 1 only for an empty prediction."""
    ref, pred = word_tokens(reference), word_tokens(prediction)
    if not ref:
        return WordScore(1.0, 1.0, 1.0) if not pred else WordScore(0.0, 0.0, 0.0)
    if not pred:
        return WordScore(0.0, 0.0, 0.0)
    overlap = sum((Counter(ref) & Counter(pred)).values())
    precision, recall = overlap / len(pred), overlap / len(ref)
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return WordScore(precision, recall, f1)


def snippet_share(text: str | None, snippets: Sequence[str]) -> float | None:
    """The share of ``snippets`` found in ``text`` (case-insensitive substring); ``None`` when there are none."""
    if not snippets:
        return None
    found = (text or "").lower()
    return sum(snippet.lower() in found for snippet in snippets) / len(snippets)


def fold_title(value: Any) -> str:
    """Case and white space folded, trailing punctuation (any Unicode punctuation) and spaces dropped."""
    folded = collapse(str(value)).casefold()
    end = len(folded)
    while end and (folded[end - 1].isspace() or unicodedata.category(folded[end - 1]).startswith("P")):
        end -= 1
    return folded[:end]


def wcxb_author_names(value: Any) -> frozenset[str]:
    """A set of case-folded names; a string or each item of a list is cut at , ; & and "and"."""
    items = [value] if isinstance(value, str) else list(value or [])
    return frozenset(name.casefold() for item in items for name in _WCXB_NAME_SEPARATORS.split(collapse(str(item)))
                     if name)


def wcxb_field_correct(key: str, expected: Any, got: Any) -> bool:
    """Does ``got`` match the non-empty annotation ``expected`` of WCXB field ``key`` (title, author, date)?"""
    if is_empty(got):
        return False
    if key == "title":
        return fold_title(got) == fold_title(expected)
    if key == "author":
        return wcxb_author_names(got) == wcxb_author_names(expected)
    if key == "date":
        return collapse(str(got))[:10] == collapse(str(expected))[:10]
    raise ValueError(f"not a WCXB field: {key}")


@dataclass(frozen=True)
class WcxbPage:
    id: str  # the file id, NNNN
    url: str
    page_type: str  # one of PAGE_TYPES
    html_path: Path  # read when the page's turn comes, so the corpus is never all in memory
    main_content: str
    with_snippets: tuple[str, ...]
    without_snippets: tuple[str, ...]
    expected: dict[str, Any]  # WCXB_META_FIELDS -> the annotation, None where it is null

    def html(self) -> str:
        return gzip.decompress(self.html_path.read_bytes()).decode("utf-8", errors="replace")


def wcxb_page_type(data: dict[str, Any]) -> str:
    """``_internal.page_type.primary``; "category" counts as collection (as upstream)."""
    page_type = ((data.get("_internal") or {}).get("page_type") or {})
    primary = page_type.get("primary", "article") if isinstance(page_type, dict) else str(page_type)
    return "collection" if primary == "category" else primary


def load_wcxb_corpus(corpus: Path, limit: int | None = None) -> list[WcxbPage]:
    """The development pages in file-id order; a page whose ground_truth is not an object is left out."""
    pages = []
    for path in sorted((corpus / "dev" / "ground-truth").glob("*.json")):
        data = json.loads(path.read_text(encoding="utf-8"))
        truth = data.get("ground_truth")
        if not isinstance(truth, dict):
            continue
        pages.append(WcxbPage(
            id=path.stem, url=data.get("url") or "", page_type=wcxb_page_type(data),
            html_path=corpus / "dev" / "html" / f"{path.stem}.html.gz", main_content=truth.get("main_content") or "",
            with_snippets=tuple(truth.get("with") or ()), without_snippets=tuple(truth.get("without") or ()),
            expected={"title": truth.get("title"), "author": truth.get("author"), "date": truth.get("publish_date")}))
        if limit is not None and len(pages) == limit:
            break
    return pages


def wcxb_page_record(page: WcxbPage, runs: dict[str, SystemRun]) -> dict[str, Any]:
    """One page: per system, its word scores, snippet shares, metadata values and whether each is right."""
    systems: dict[str, Any] = {}
    for name, run in runs.items():
        result = run.results[page.id]
        words = word_score(page.main_content, result.text)
        meta = {key: jsonable(result.meta.get(key)) for key in WCXB_META_FIELDS}
        entry: dict[str, Any] = {
            "precision": words.precision, "recall": words.recall, "f1": words.f1,
            "tokens": len(word_tokens(result.text)),
            "with": snippet_share(result.text, page.with_snippets),
            "without": snippet_share(result.text, page.without_snippets),
            "meta": meta,
            # None: the annotation is null or empty, and the page does not count for that field
            "right": {key: None if is_empty(page.expected[key]) else wcxb_field_correct(key, page.expected[key],
                                                                                         meta[key])
                      for key in WCXB_META_FIELDS},
            "ms": run.ms_by_key[page.id]}
        if result.error:
            entry["error"] = result.error
        systems[name] = entry
    return {"id": page.id, "url": page.url, "page_type": page.page_type, "expected": page.expected,
            "reference_tokens": len(word_tokens(page.main_content)), "systems": systems}


def wcxb_quality(records: Sequence[dict[str, Any]], system: str) -> dict[str, Any]:
    """Means over pages: word F1, precision, recall (F1 with a bootstrap std); snippet shares; metadata shares."""
    entries = [r["systems"][system] for r in records]
    figures: dict[str, Any] = {"pages": len(entries)}
    for metric in WCXB_METRICS:
        figures[metric] = _mean([e[metric] for e in entries])
    f1s = [e["f1"] for e in entries]
    rng = random.Random(0)
    figures["f1_std"] = (statistics.stdev(statistics.fmean(rng.choices(f1s, k=len(f1s)))
                                          for _ in range(BOOTSTRAP_ROUNDS)) if len(f1s) > 1 else 0.0)
    for kind in ("with", "without"):  # pages without snippets of the kind are left out
        shares = [e[kind] for e in entries if e[kind] is not None]
        figures[f"{kind}_share"], figures[f"{kind}_pages"] = _mean(shares), len(shares)
    for key in WCXB_META_FIELDS:
        hits = [e["right"][key] for e in entries if e["right"][key] is not None]
        figures[key], figures[f"{key}_pages"] = _mean([float(hit) for hit in hits]), len(hits)
    figures["errors"] = sum(1 for e in entries if "error" in e)
    return figures


def wcxb_page_types(records: Sequence[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Per page type (PAGE_TYPES order, then any other): pages and, per system, F1, precision, recall."""
    by_type: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for record in records:
        by_type[record["page_type"]].append(record)
    order = [t for t in PAGE_TYPES if t in by_type] + sorted(set(by_type) - set(PAGE_TYPES))
    return {page_type: {"pages": len(by_type[page_type]),
                        **{name: {metric: _mean([r["systems"][name][metric] for r in by_type[page_type]])
                                  for metric in WCXB_METRICS}
                           for name in WCXB_SYSTEMS}}
            for page_type in order}


def run_wcxb_benchmark(pages: Sequence[WcxbPage], corpus: Path) -> dict[str, Any]:
    progress(f"wcxb: {', '.join(WCXB_SYSTEMS)} side by side on {len(pages)} pages ...")
    runs = run_side_by_side(WCXB_SYSTEMS, ((page.id, page.html(), page.url) for page in pages), WCXB_LAYOUT)
    records = [wcxb_page_record(page, runs) for page in pages]
    systems = {name: {**wcxb_quality(records, name), **timing(runs[name])} for name in WCXB_SYSTEMS}
    return {
        "layout": WCXB_LAYOUT,
        "machine": machine(),
        "corpus": str(corpus),
        "pages": len(pages),
        "systems": systems,
        "page_types": wcxb_page_types(records),
        "median_ratio": systems[EXTRACT_PAGE]["ms_median"] / systems[TRAFILATURA_DEFAULT]["ms_median"],
        "page_records": records,
    }


# -- printing -----------------------------------------------------------------------------------------
def fmt(value: float | None, spec: str = ".3f") -> str:
    return "—" if value is None else format(value, spec)


def print_report(figures: dict[str, Any]) -> None:
    m = figures["machine"]
    print(f"machine: {m['platform']}; {m['cpu']}; {m['cpu_count']} CPUs; {m['python']}; "
          f"trafilatura {m['trafilatura']}, lxml {m['lxml']}, scrapy {m['scrapy']}")
    print(f"corpus:  {figures['corpus']} ({figures['pages']} pages)\n")
    systems = figures["systems"]
    print("Quality (± = bootstrap standard deviation, 1000 resamplings of the pages)")
    print_table(["system", "pages", "F1", "precision", "recall", "accuracy"],
                [[name, str(s["pages"]), *(f"{fmt(s[k])} ± {fmt(s[k + '_std'])}" for k in METRICS)]
                 for name, s in systems.items()])
    print(f"\nSpeed (in-process: per call, {SIDE_BY_SIDE}; crawl: wall time of the whole CLI run, start-up "
          "included)")
    print_table(["system", "pages", "ms/page mean", "ms/page median", "CPU ms mean", "CPU ms median", "warm-up ms",
                 "pages/s", "wall s", "peak RSS MiB", "RSS growth MiB"],
                [[name, str(s["pages"]), fmt(s.get("ms_mean"), ".1f"), fmt(s.get("ms_median"), ".1f"),
                  fmt(s.get("cpu_ms_mean"), ".1f"), fmt(s.get("cpu_ms_median"), ".1f"),
                  fmt(s.get("warm_up_ms"), ".0f"), fmt(s["pages_per_s"], ".1f"), fmt(s["wall_s"], ".2f"),
                  fmt(s.get("peak_rss_mib"), ".0f"), fmt(s.get("peak_growth_mib"), ".1f")]
                 for name, s in systems.items()])
    if CRAWL in systems:
        peaks = systems[CRAWL]["process_peaks_mib"]
        print("peak RSS MiB: ru_maxrss of RUSAGE_CHILDREN, the largest process that the crawl's waits reached")
        print(f"crawl process tree, VmHWM sampled every 50 ms: {len(peaks)} processes peaked at "
              f"{', '.join(f'{mib:.0f}' for mib in peaks) or '—'} MiB (sum {sum(peaks):.0f})")
    else:
        print(f"{CRAWL}: skipped (--corpus all leaves it out; --crawl includes it)")
    print(MEMORY_NOTE)
    print(f"\nmedian ms ratio, extract_page / trafilatura.extract: {figures['median_ratio']:.2f}x")
    for diff in figures["differences"]:
        print(f"\n{diff['b']} vs {diff['a']}: {len(diff['pages'])} page(s) with different tokens"
              + (f"; page figures are {diff['a']} -> {diff['b']}" if diff["pages"] else ""))
        for row in diff["pages"]:
            a, b = row["a"], row["b"]
            print(f"  {row['id'][:12]}  P {fmt(a['precision'])} -> {fmt(b['precision'])}  "
                  f"R {fmt(a['recall'])} -> {fmt(b['recall'])}  tokens {a['tokens']} -> {b['tokens']}  {row['url']}")


SIDE_BY_SIDE = "each system in a fresh worker process of its own, the pages interleaved, after an untimed warm-up"
MEMORY_NOTE = ("ms: wall time of a call; CPU ms: the worker's own CPU time over it, which the load of other "
               "processes on the machine leaves alone.\n"
               "RSS growth MiB: a worker's peak resident memory over warm-up and pages, above its resident memory "
               "once its imports are done (VmHWM, reset after the imports); warm-up growth: the same peak after the "
               "warm-up calls only (lazily loaded data: language model, date parsers, ...)")


def print_speed(systems: dict[str, dict[str, Any]]) -> None:
    print(f"\nSpeed and memory (per call, {SIDE_BY_SIDE})")
    print_table(["system", "pages", "ms/page mean", "ms/page median", "CPU ms mean", "CPU ms median", "warm-up ms",
                 "pages/s", "total s", "imported MiB", "warm-up growth MiB", "RSS growth MiB"],
                [[name, str(s["pages"]), fmt(s["ms_mean"], ".1f"), fmt(s["ms_median"], ".1f"),
                  fmt(s.get("cpu_ms_mean"), ".1f"), fmt(s.get("cpu_ms_median"), ".1f"),
                  fmt(s["warm_up_ms"], ".0f"), fmt(s["pages_per_s"], ".1f"), fmt(s["wall_s"], ".2f"),
                  fmt(s.get("imported_mib"), ".0f"), fmt(s.get("warm_up_growth_mib"), ".1f"),
                  fmt(s.get("peak_growth_mib"), ".1f")]
                 for name, s in systems.items()])
    print(MEMORY_NOTE)


# -- printing: the trafilatura-eval layout ------------------------------------------------------------------
def print_eval_report(figures: dict[str, Any]) -> None:
    m = figures["machine"]
    print(f"machine: {m['platform']}; {m['cpu']}; {m['cpu_count']} CPUs; {m['python']}; "
          f"trafilatura {m['trafilatura']}, lxml {m['lxml']}, scrapy {m['scrapy']}")
    snippets = figures["snippets"]
    print(f"corpus:  {figures['corpus']} ({figures['pages']} pages; {snippets['with']} 'with' and "
          f"{snippets['without']} 'without' snippets)\n")
    systems = figures["systems"]
    scored = [name for name in EVAL_SYSTEMS if "f1" in systems[name]]
    print("Main text: snippets found in the whitespace-collapsed text, summed over all pages "
          "(± = bootstrap standard deviation, 1000 resamplings of the pages)")
    print_table(["system", "pages", "F1", "precision", "recall", "accuracy", "TP", "FP", "FN", "TN", "errors"],
                [[name, str(systems[name]["pages"]),
                  *(f"{fmt(systems[name][k])} ± {fmt(systems[name][k + '_std'])}" for k in SNIPPET_METRICS),
                  *(str(systems[name][k]) for k in ("tp", "fp", "fn", "tn")), str(systems[name]["errors"])]
                 for name in scored])
    bare = figures["bare_text"]
    print(f"the body of plain trafilatura is scored from trafilatura.extract(); {TRAFILATURA_BARE}().text differs "
          f"from it on {bare['pages_differing']} page(s) after collapsing white space (its snippet F1 "
          f"{fmt(bare['f1'])})")

    print("\nMetadata: share of the pages with a non-empty annotation that are right (± = bootstrap standard "
          "deviation); title, author, date are the main figures, the rest are extra lines")
    metadata = figures["metadata"]
    print_table(["field", "pages", EXTRACT_PAGE, TRAFILATURA_BARE, "only scraper right", "only trafilatura right",
                 "annotated empty", "none given there (scraper / trafilatura)"],
                [[name, str(row["pages"]), share(row, EXTRACT_PAGE), share(row, TRAFILATURA_BARE),
                  str(row["only_scraper"]), str(row["only_trafilatura"]), str(row["empty_pages"]),
                  f"{row[EXTRACT_PAGE + '_none_on_empty']} / {row[TRAFILATURA_BARE + '_none_on_empty']}"]
                 for name, row in metadata.items()])
    print("title and the extra fields: equal after collapsing white space; title, case-insensitive: the same, "
          "ignoring case; author: the same set of names, case-insensitive, cut at ; , & | and und; date: the "
          "first 10 characters; categories, tags: the same set of items")

    print_speed(systems)
    ratio = figures["median_ratio"]
    print(f"\nmedian ms ratio, extract_page / {TRAFILATURA_BARE} (both extract metadata): "
          f"{ratio[TRAFILATURA_BARE]:.2f}x")
    print(f"median ms ratio, extract_page / {TRAFILATURA} (body only, as on article-extraction): "
          f"{ratio[TRAFILATURA]:.2f}x")

    differing = [r for r in figures["page_records"]
                 if snippet_signature(r, EXTRACT_PAGE) != snippet_signature(r, TRAFILATURA)]
    print(f"\n{EXTRACT_PAGE} vs {TRAFILATURA}: {len(differing)} page(s) where they find different snippets"
          + (f"; 'with' found and 'without' found, {TRAFILATURA} -> extract_page" if differing else ""))
    for record in differing:
        a, b = record["systems"][TRAFILATURA]["snippets"], record["systems"][EXTRACT_PAGE]["snippets"]
        print(f"  with {a['tp']} -> {b['tp']} of {a['tp'] + a['fn']}  without {a['fp']} -> {b['fp']} of "
              f"{a['fp'] + a['tn']}  {record['url']}")


def share(row: dict[str, Any], system: str) -> str:
    return f"{fmt(row[system])} ± {fmt(row[system + '_std'])}" if row["pages"] else "—"


def snippet_signature(record: dict[str, Any], system: str) -> tuple[list[str], list[str]]:
    snippets = record["systems"][system]["snippets"]
    return snippets["missed"], snippets["unwanted"]


def shown(value: Any) -> str:
    return "—" if is_empty(value) else repr(value)


def eval_misses(figures: dict[str, Any], key: str) -> list[dict[str, Any]]:
    """The pages where extract_page's ``key`` is wrong; those where plain trafilatura is right come first."""
    rows = []
    for record in figures["page_records"]:
        ours, theirs = record["systems"][EXTRACT_PAGE], record["systems"][TRAFILATURA_BARE]
        if key == "text":
            mine = snippet_signature(record, EXTRACT_PAGE)
            if mine == ([], []):
                continue
            rows.append({"url": record["url"], "expected": mine, "ours": ours["snippets"],
                         "trafilatura": record["systems"][TRAFILATURA]["snippets"],
                         "trafilatura_right": snippet_signature(record, TRAFILATURA) == ([], [])})
            continue
        expected = record["expected"].get(key)
        if is_empty(expected) or field_correct(key, expected, ours["meta"].get(key)):
            continue
        rows.append({"url": record["url"], "expected": expected, "ours": ours["meta"].get(key),
                     "trafilatura": theirs["meta"].get(key),
                     "trafilatura_right": field_correct(key, expected, theirs["meta"].get(key))})
    return sorted(rows, key=lambda row: not row["trafilatura_right"])  # stable: corpus order within each part


def print_misses(figures: dict[str, Any], key: str) -> None:
    rows = eval_misses(figures, key)
    if key == "text":
        total = figures["pages"]
        print(f"\nmisses, text: {EXTRACT_PAGE} misses a 'with' snippet or keeps a 'without' one on {len(rows)} of "
              f"{total} pages; {TRAFILATURA} gets all of them right on {sum(r['trafilatura_right'] for r in rows)} "
              "(listed first)")
        for row in rows:
            ours, theirs = row["ours"], row["trafilatura"]
            print(f"  {row['url']}")
            print(f"    missing 'with':    {' | '.join(map(repr, ours['missed'])) or '—'}")
            print(f"    found 'without':   {' | '.join(map(repr, ours['unwanted'])) or '—'}")
            print(f"    trafilatura:       missing {len(theirs['missed'])}, found {len(theirs['unwanted'])}"
                  + ("  [right]" if row["trafilatura_right"] else ""))
        return
    total = figures["metadata"][key]["pages"]
    print(f"\nmisses, {key}: {EXTRACT_PAGE} is wrong on {len(rows)} of {total} annotated pages; "
          f"{TRAFILATURA_BARE} is right on {sum(r['trafilatura_right'] for r in rows)} of them (listed first)")
    for row in rows:
        print(f"  {row['url']}")
        print(f"    expected:     {shown(row['expected'])}")
        print(f"    scraper:      {shown(row['ours'])}")
        print(f"    trafilatura:  {shown(row['trafilatura'])}" + ("  [right]" if row["trafilatura_right"] else ""))


# -- printing: the WCXB layout and the summary of --corpus all ----------------------------------------------
def print_machine(m: dict[str, Any]) -> None:
    print(f"machine: {m['platform']}; {m['cpu']}; {m['cpu_count']} CPUs; {m['python']}; "
          f"trafilatura {m['trafilatura']}, lxml {m['lxml']}, scrapy {m['scrapy']}")


def print_wcxb_report(figures: dict[str, Any], page_types: bool = False) -> None:
    print_machine(figures["machine"])
    print(f"corpus:  {figures['corpus']} ({figures['pages']} pages)\n")
    systems = figures["systems"]
    print("Main text: word-level bag-of-words scores per page, averaged over pages (± = bootstrap standard "
          "deviation of F1); snippets: the share found per page, averaged over the pages that have such snippets")
    print_table(["system", "pages", "F1", "precision", "recall", "'with' found", "'without' found", "errors"],
                [[name, str(s["pages"]), f"{fmt(s['f1'])} ± {fmt(s['f1_std'])}", fmt(s["precision"]),
                  fmt(s["recall"]), fmt(s["with_share"]), fmt(s["without_share"]), str(s["errors"])]
                 for name, s in systems.items()])
    print("\nMetadata: share right of the pages whose annotation is neither null nor empty")
    print_table(["field", "pages", *systems],
                [[key, str(next(iter(systems.values()))[f"{key}_pages"]), *(fmt(s[key]) for s in systems.values())]
                 for key in WCXB_META_FIELDS])
    print("title: equal after folding case and white space and dropping trailing punctuation; author: the same "
          "set of names, cut at , ; & and 'and'; date: the first 10 characters")
    if page_types:
        print_page_types(figures)
    print_speed(systems)
    print(f"\nmedian ms ratio, extract_page / {TRAFILATURA_DEFAULT}: {figures['median_ratio']:.2f}x")


def print_page_types(figures: dict[str, Any]) -> None:
    print("\nPer page type (word F1, precision, recall; means over the pages of the type)")
    names = list(figures["systems"])
    short = {EXTRACT_PAGE: "scraper", TRAFILATURA_DEFAULT: "trafilatura"}
    print_table(["page type", "pages", *(f"{metric} {short.get(name, name)}" for metric in WCXB_METRICS
                                         for name in names)],
                [[page_type, str(row["pages"]), *(fmt(row[name][metric]) for metric in WCXB_METRICS
                                                   for name in names)]
                 for page_type, row in figures["page_types"].items()])


@dataclass(frozen=True)
class SummaryRow:
    corpus: str
    metric: str
    scraper: float | None
    trafilatura: float | None
    spec: str = ".3f"


def speed_rows(corpus: str, scraper: dict[str, Any], theirs: dict[str, Any]) -> list[SummaryRow]:
    return [SummaryRow(corpus, "ms/page median", scraper["ms_median"], theirs["ms_median"], ".1f"),
            SummaryRow(corpus, "ms/page mean", scraper["ms_mean"], theirs["ms_mean"], ".1f"),
            SummaryRow(corpus, "median ms ratio, scraper / trafilatura",
                       scraper["ms_median"] / theirs["ms_median"], None, ".2f"),
            SummaryRow(corpus, "CPU ms/page median", scraper.get("cpu_ms_median"), theirs.get("cpu_ms_median"), ".1f"),
            SummaryRow(corpus, "median CPU ms ratio, scraper / trafilatura",
                       scraper["cpu_ms_median"] / theirs["cpu_ms_median"] if "cpu_ms_median" in scraper else None,
                       None, ".2f"),
            SummaryRow(corpus, "worker RSS growth MiB", scraper.get("peak_growth_mib"),
                       theirs.get("peak_growth_mib"), ".1f")]


def share_or_none(share: float, pages: int) -> float | None:
    """No page counts for the field: no share (printed as —), rather than 0."""
    return share if pages else None


def summary_rows(corpora: dict[str, dict[str, Any]]) -> list[SummaryRow]:
    """corpus × metric × {scraper, trafilatura}; which trafilatura call each corpus uses is printed below."""
    rows: list[SummaryRow] = []
    if ARTICLE_LAYOUT in corpora:
        systems = corpora[ARTICLE_LAYOUT]["systems"]
        ours, theirs = systems[EXTRACT_PAGE], systems[TRAFILATURA]
        rows += [SummaryRow(ARTICLE_LAYOUT, f"body {metric}", ours[metric], theirs[metric]) for metric in METRICS]
        if CRAWL in systems:
            rows.append(SummaryRow(ARTICLE_LAYOUT, "body f1, scraper crawl (end to end)", systems[CRAWL]["f1"], None))
        rows += speed_rows(ARTICLE_LAYOUT, ours, theirs)
    if EVAL_LAYOUT in corpora:
        figures = corpora[EVAL_LAYOUT]
        systems, metadata = figures["systems"], figures["metadata"]
        rows += [SummaryRow(EVAL_LAYOUT, f"snippet {metric}", systems[EXTRACT_PAGE][metric],
                            systems[TRAFILATURA][metric]) for metric in ("f1", "precision", "recall")]
        rows += [SummaryRow(EVAL_LAYOUT, f"{key} share right ({metadata[key]['pages']})",
                            share_or_none(metadata[key][EXTRACT_PAGE], metadata[key]["pages"]),
                            share_or_none(metadata[key][TRAFILATURA_BARE], metadata[key]["pages"]))
                 for key in ("title", "author", "date")]
        rows += speed_rows(EVAL_LAYOUT, systems[EXTRACT_PAGE], systems[TRAFILATURA_BARE])
    if WCXB_LAYOUT in corpora:
        figures = corpora[WCXB_LAYOUT]
        ours, theirs = figures["systems"][EXTRACT_PAGE], figures["systems"][TRAFILATURA_DEFAULT]
        rows += [SummaryRow(WCXB_LAYOUT, f"word {metric}", ours[metric], theirs[metric]) for metric in WCXB_METRICS]
        rows += [SummaryRow(WCXB_LAYOUT, f"word f1, {page_type} ({row['pages']})", row[EXTRACT_PAGE]["f1"],
                            row[TRAFILATURA_DEFAULT]["f1"]) for page_type, row in figures["page_types"].items()]
        rows += [SummaryRow(WCXB_LAYOUT, "'with' snippets found", ours["with_share"], theirs["with_share"]),
                 SummaryRow(WCXB_LAYOUT, "'without' snippets found (lower is better)", ours["without_share"],
                            theirs["without_share"])]
        rows += [SummaryRow(WCXB_LAYOUT, f"{key} share right ({ours[key + '_pages']})",
                            share_or_none(ours[key], ours[f"{key}_pages"]),
                            share_or_none(theirs[key], theirs[f"{key}_pages"]))
                 for key in WCXB_META_FIELDS]
        rows += speed_rows(WCXB_LAYOUT, ours, theirs)
    return rows


def print_summary(corpora: dict[str, dict[str, Any]]) -> None:
    print("\n" + "=" * 100 + "\nSummary: scraper (extract_page, in-process) and plain trafilatura, the same pages, "
          + SIDE_BY_SIDE)
    print_table(["corpus", "metric", "scraper", "trafilatura"],
                [[row.corpus, row.metric, fmt(row.scraper, row.spec), fmt(row.trafilatura, row.spec)]
                 for row in summary_rows(corpora)])
    print(f"trafilatura: {ARTICLE_LAYOUT} {TRAFILATURA}(html, include_comments=False); {EVAL_LAYOUT} body "
          f"{TRAFILATURA}(), metadata, speed and memory {TRAFILATURA_BARE}(include_comments=False, "
          f"with_metadata=True); {WCXB_LAYOUT} {TRAFILATURA_BARE}(url=url, with_metadata=True), its other options "
          "left at their defaults")
    article = corpora.get(ARTICLE_LAYOUT)
    if article is not None and article.get("crawl") == "skipped":
        print(f"{CRAWL}: skipped (--crawl includes it)")


def print_figures(figures: dict[str, Any], misses: Sequence[str] = (), page_types: bool = False) -> None:
    """Print one corpus's figures (its layout's report), or every corpus and the summary for --corpus all."""
    layout = figures.get("layout", ARTICLE_LAYOUT)  # figures written before the layouts were named
    if layout == ALL:
        for name, corpus_figures in figures["corpora"].items():
            print(f"\n{'=' * 100}\n{name}\n")
            print_figures(corpus_figures, misses, page_types)
        print_summary(figures["corpora"])
    elif layout == EVAL_LAYOUT:
        print_eval_report(figures)
        for key in misses:
            print_misses(figures, key)
    elif layout == WCXB_LAYOUT:
        print_wcxb_report(figures, page_types)
    else:
        print_report(figures)


# -- main --------------------------------------------------------------------------------------------
def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", default=str(DEFAULT_CORPUS), metavar="DIR",
                        help=f"an article-extraction, trafilatura-eval or WCXB corpus, told apart by its files, or "
                             f"'{ALL}' for the three under {CORPORA} and a summary (default: {DEFAULT_CORPUS})")
    parser.add_argument("--limit", type=int, metavar="N",
                        help="use the first N pages only (article-extraction: of ids.txt; trafilatura-eval: in "
                             "evaldata.json's order; WCXB: in file-id order); with --corpus all, of each corpus")
    parser.add_argument("--json", type=Path, metavar="PATH", help="also write the figures as JSON to PATH")
    parser.add_argument("--misses", action="append", choices=MISS_FIELDS, default=[], metavar="FIELD",
                        help=f"trafilatura-eval only: after the figures, list the pages where extract_page is "
                             f"wrong on FIELD, with the expected value and both systems' values; FIELD is one of "
                             f"{', '.join(MISS_FIELDS)}; may be repeated")
    parser.add_argument("--page-types", action="store_true",
                        help="WCXB: also print word F1, precision and recall per page type for both systems")
    parser.add_argument("--crawl", action=argparse.BooleanOptionalAction, default=None,
                        help="article-extraction: also crawl the pages end to end with the CLI (default: yes for "
                             f"one corpus, no for --corpus {ALL})")
    parser.add_argument("--replay", type=Path, metavar="PATH",
                        help="do not extract: print the figures (and --misses) from a JSON file that --json wrote")
    args = parser.parse_args(argv)
    if args.limit is not None and args.limit < 1:
        parser.error("--limit must be at least 1")
    if args.replay is not None:
        if args.limit is not None or args.json is not None:
            parser.error("--replay takes no --limit or --json")
        if not args.replay.is_file():
            parser.error(f"no such file: {args.replay}")
        return args
    if args.corpus == ALL:
        args.layout = ALL
        missing = [name for name in CORPUS_LAYOUTS if detect_layout(CORPORA / name) != name]
        if missing:
            parser.error(f"--corpus {ALL}: no {', '.join(missing)} corpus under {CORPORA}")
    else:
        args.corpus = Path(args.corpus)
        args.layout = detect_layout(args.corpus)
    if args.layout is None:
        parser.error(f"no corpus at {args.corpus} (neither ground-truth.json and ids.txt, nor evaldata.json and "
                     f"html/, nor metadata.json and dev/ground-truth/ found); give it with --corpus DIR or {ALL}")
    if args.misses and args.layout not in (EVAL_LAYOUT, ALL):
        parser.error("--misses needs a trafilatura-eval corpus (or --corpus all)")
    if args.page_types and args.layout not in (WCXB_LAYOUT, ALL):
        parser.error("--page-types needs a WCXB corpus (or --corpus all)")
    if args.crawl and args.layout not in (ARTICLE_LAYOUT, ALL):
        parser.error("--crawl needs an article-extraction corpus (or --corpus all)")
    return args


def progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def texts_of(run: SystemRun) -> Texts:
    return {key: result.text for key, result in run.results.items()}


def run_benchmark(pages: Sequence[Page], corpus: Path, crawl_pages: bool = True) -> dict[str, Any]:
    """The article-extraction layout; ``crawl_pages=False`` leaves out the end-to-end crawl."""
    crawl: Crawl | None = None
    with serve(pages) as base, tempfile.TemporaryDirectory(prefix="bench-extraction-") as workdir:
        urls = {page.id: base + page.path for page in pages}  # in-process calls see the crawl's URLs
        if crawl_pages:
            # The crawl first, while this process is small: a child's ru_maxrss starts from its parent's peak.
            progress(f"crawling {len(pages)} pages from {base} ...")
            crawl = run_crawl(urls, Path(workdir))
        progress(f"article-extraction: {', '.join(ARTICLE_SYSTEMS)} side by side on {len(pages)} pages ...")
        runs = run_side_by_side(ARTICLE_SYSTEMS, ((page.id, page.body.decode("utf-8"), urls[page.id])
                                                  for page in pages), ARTICLE_LAYOUT)
    in_process, plain = texts_of(runs[EXTRACT_PAGE]), texts_of(runs[TRAFILATURA])
    systems: dict[str, dict[str, Any]] = {}
    differences = []  # pages where system b's tokens differ from system a's
    if crawl is not None:
        if crawl.returncode != 0 or crawl.stderr.strip():
            progress(f"crawl exited with status {crawl.returncode}; its stderr:\n{crawl.stderr.strip()[-4000:]}")
        systems[CRAWL] = {"pages": crawl.records, **quality(pages, crawl.texts), "wall_s": crawl.wall_s,
                          "pages_per_s": crawl.records / crawl.wall_s, "peak_rss_mib": crawl.peak_rss_mib,
                          "process_peaks_mib": crawl.process_peaks_mib, "returncode": crawl.returncode}
        differences.append({"a": EXTRACT_PAGE, "b": CRAWL, "pages": differing_pages(pages, in_process, crawl.texts)})
    systems[EXTRACT_PAGE] = {"pages": len(pages), **quality(pages, in_process), **timing(runs[EXTRACT_PAGE])}
    systems[TRAFILATURA] = {"pages": len(pages), **quality(pages, plain), **timing(runs[TRAFILATURA])}
    differences.append({"a": TRAFILATURA, "b": EXTRACT_PAGE, "pages": differing_pages(pages, plain, in_process)})
    return {
        "layout": ARTICLE_LAYOUT,
        "machine": machine(),
        "corpus": str(corpus),
        "pages": len(pages),
        "crawl": "run" if crawl is not None else "skipped",
        "systems": systems,
        "median_ratio": systems[EXTRACT_PAGE]["ms_median"] / systems[TRAFILATURA]["ms_median"],
        "differences": differences,
    }


# The corpora of --corpus all, in run order, each under CORPORA by its layout's name.
CORPUS_LAYOUTS = (ARTICLE_LAYOUT, EVAL_LAYOUT, WCXB_LAYOUT)


def run_corpus(layout: str, corpus: Path, limit: int | None, crawl_pages: bool) -> dict[str, Any]:
    corpus = corpus.resolve()
    if layout == EVAL_LAYOUT:
        return run_eval_benchmark(load_eval_corpus(corpus, limit), corpus)
    if layout == WCXB_LAYOUT:
        return run_wcxb_benchmark(load_wcxb_corpus(corpus, limit), corpus)
    return run_benchmark(load_corpus(corpus, limit), corpus, crawl_pages=crawl_pages)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if args.replay is not None:
        figures = json.loads(args.replay.read_text(encoding="utf-8"))
    elif args.layout == ALL:
        start = time.perf_counter()
        # The crawl takes the longest and adds nothing to the side-by-side figures: left out unless asked.
        corpora = {layout: run_corpus(layout, CORPORA / layout, args.limit, crawl_pages=bool(args.crawl))
                   for layout in CORPUS_LAYOUTS}
        figures = {"layout": ALL, "machine": machine(), "corpora": corpora, "wall_s": time.perf_counter() - start,
                   "summary": [vars(row) for row in summary_rows(corpora)]}
    else:
        figures = run_corpus(args.layout, args.corpus, args.limit, crawl_pages=args.crawl is not False)
    layout = figures.get("layout", ARTICLE_LAYOUT)
    if args.misses and EVAL_LAYOUT not in (layout, *figures.get("corpora", {})):
        progress("--misses needs figures from a trafilatura-eval corpus")
        return 2
    print_figures(figures, args.misses, args.page_types)
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    article = figures if layout == ARTICLE_LAYOUT else figures.get("corpora", {}).get(ARTICLE_LAYOUT, {})
    crawl = article.get("systems", {}).get(CRAWL)
    return 0 if crawl is None or crawl["returncode"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
