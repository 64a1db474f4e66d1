"""Article-extraction benchmark: quality and speed of the scraper against plain trafilatura.

``--corpus DIR`` takes either of two corpus layouts, told apart by the files present:

* ``article-extraction`` (``ground-truth.json`` and ``ids.txt``): the development part of the
  Zyte/ScrapingHub article-extraction benchmark, scored on the main text by 4-token shingles
  (:func:`score`).  One run, three systems, the same pages:

  * ``scraper crawl (end to end)``: the real CLI in a subprocess crawls the corpus pages from a
    loopback HTTP server; the ``text`` of each record in ``pages.jsonl`` is scored.
  * ``scraper extract_page (in-process)``: :func:`scraper.extract.page.extract_page`, timed per page.
  * ``trafilatura.extract``: the benchmark's own call, ``trafilatura.extract(html, include_comments=False)``.

* ``trafilatura-eval`` (``evaldata.json`` and ``html/``): trafilatura's own evaluation pages, with
  snippets the main text must or must not contain and metadata expectations (title, author, date,
  ...).  No crawl: ``extract_page``, ``trafilatura.extract`` (the body) and
  ``trafilatura.bare_extraction`` (the metadata) each run in-process on the raw bytes.

Each corpus README.md describes the layout and the scoring method restated here.
This prints figures; it asserts nothing and is not part of the test run.

    .venv/bin/python bench/extraction.py [--corpus DIR] [--limit N] [--json PATH] [--misses FIELD]
    .venv/bin/python bench/extraction.py --replay PATH [--misses FIELD]
"""

from __future__ import annotations

import argparse
import gzip
import json
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
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import trafilatura
from tables import print_table

from scraper.extract.page import extract_page
from scraper.storage.jsonl import iter_jsonl

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_CORPUS = Path(__file__).resolve().parents[2] / "shared/corpus/article-extraction"

ARTICLE_LAYOUT = "article-extraction"
CRAWL = "scraper crawl (end to end)"
EXTRACT_PAGE = "scraper extract_page (in-process)"
TRAFILATURA = "trafilatura.extract"

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


Extractor = Callable[[str, str], str | None]  # (html, url) -> text


def plain_trafilatura(html: str, url: str) -> str | None:
    return trafilatura.extract(html, include_comments=False)


def scraper_extract_page(html: str, url: str) -> str | None:
    article = extract_page(html, url)
    return article.text if article is not None else None


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


@dataclass(frozen=True)
class TimedRun:
    texts: Texts
    ms: list[float]
    warm_up_ms: float  # the untimed warm-up calls, together


def elapsed_ms(start: float) -> float:
    return (time.perf_counter() - start) * 1000


def time_extractor(extract: Extractor, pages: Sequence[Page], urls: dict[str, str]) -> TimedRun:
    """Run ``extract`` on each page (decoded as UTF-8 beforehand), timing each call on its own."""
    html = {page.id: page.body.decode("utf-8") for page in pages}
    start = time.perf_counter()
    for warm_up_html in WARM_UP_PAGES:
        extract(warm_up_html, WARM_UP_URL)
    warm_up_ms = elapsed_ms(start)
    texts: Texts = {}
    ms: list[float] = []
    for page in pages:
        start = time.perf_counter()
        texts[page.id] = extract(html[page.id], urls[page.id])
        ms.append(elapsed_ms(start))
    return TimedRun(texts, ms, warm_up_ms)


# -- figures -------------------------------------------------------------------------------------------
def quality(pages: Sequence[Page], texts: Texts) -> dict[str, float]:
    """Score every corpus page; a page missing from ``texts`` counts as an empty extraction."""
    return score((page.truth, texts.get(page.id)) for page in pages)


def timing(run: TimedRun) -> dict[str, float]:
    """Per-call figures; wall_s and pages/s are over the timed calls only."""
    total_s = sum(run.ms) / 1000
    return {"ms_mean": statistics.fmean(run.ms), "ms_median": statistics.median(run.ms),
            "warm_up_ms": run.warm_up_ms, "wall_s": total_s,
            "pages_per_s": len(run.ms) / total_s if total_s else 0.0}


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
TRAFILATURA_BARE = "trafilatura.bare_extraction"
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
    """``article-extraction`` (ground-truth.json), ``trafilatura-eval`` (evaldata.json), or ``None``."""
    if (corpus / "ground-truth.json").is_file() and (corpus / "ids.txt").is_file():
        return ARTICLE_LAYOUT
    if (corpus / "evaldata.json").is_file() and (corpus / "html").is_dir():
        return EVAL_LAYOUT
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


# -- the systems, on raw bytes ----------------------------------------------------------------------------
@dataclass(frozen=True)
class Extraction:
    text: str | None = None
    meta: dict[str, Any] = field(default_factory=dict)  # META_FIELDS -> value as the system gives it
    error: str | None = None  # the exception, if the call raised (the page then counts as empty)


def scraper_eval(page: EvalPage) -> Extraction:
    article = extract_page(page.body, page.url)
    if article is None:
        return Extraction()
    return Extraction(text=article.text, meta={
        "title": article.title, "author": article.authors, "date": article.published,
        "description": article.description, "sitename": article.site_name,
        "categories": article.categories, "tags": article.tags})


def trafilatura_body(page: EvalPage) -> Extraction:
    """The README's body call; the metadata comes from :func:`trafilatura_metadata`."""
    return Extraction(text=trafilatura.extract(page.body, include_comments=False))


def trafilatura_metadata(page: EvalPage) -> Extraction:
    document = trafilatura.bare_extraction(page.body, url=page.url, include_comments=False, with_metadata=True)
    if document is None:
        return Extraction()
    return Extraction(text=getattr(document, "text", None),
                      meta={name: getattr(document, name, None) for name in META_FIELDS})


EVAL_EXTRACTORS: dict[str, Callable[[EvalPage], Extraction]] = {
    TRAFILATURA: trafilatura_body, TRAFILATURA_BARE: trafilatura_metadata, EXTRACT_PAGE: scraper_eval}
CACHED_PACKAGES = ("trafilatura", "htmldate", "courlan", "justext", "dateparser")


def clear_page_caches() -> int:
    """Empty the size-bounded ``lru_cache``s of the extraction libraries; returns how many.

    They hold per-page results keyed by string (htmldate's date parsing above all), so the system
    timed second would otherwise find the first one's work done.  Unbounded caches hold one-off
    set-up (parsers, tables) and are kept.
    """
    cleared = 0
    for name, module in list(sys.modules.items()):
        if module is None or name.split(".")[0] not in CACHED_PACKAGES:
            continue
        for value in list(vars(module).values()):
            parameters = getattr(value, "cache_parameters", None)
            if callable(parameters) and parameters().get("maxsize") is not None:
                value.cache_clear()
                cleared += 1
    return cleared


@dataclass(frozen=True)
class EvalRun:
    results: dict[str, Extraction]  # url -> extraction
    ms_by_url: dict[str, float]
    warm_up_ms: float

    @property
    def ms(self) -> list[float]:
        return list(self.ms_by_url.values())


def time_eval(extract: Callable[[EvalPage], Extraction], pages: Sequence[EvalPage]) -> EvalRun:
    """Clear the per-page caches, warm up untimed, then time each call on its own; an exception is recorded."""
    clear_page_caches()
    start = time.perf_counter()
    for html in WARM_UP_PAGES:
        extract(EvalPage(url=WARM_UP_URL, file="", body=html.encode("utf-8"), with_snippets=(),
                         without_snippets=(), expected={}))
    warm_up_ms = elapsed_ms(start)
    results: dict[str, Extraction] = {}
    ms: dict[str, float] = {}
    for page in pages:
        start = time.perf_counter()
        try:
            results[page.url] = extract(page)
        except Exception as error:  # a crash counts as an empty extraction, as upstream does
            results[page.url] = Extraction(error=f"{type(error).__name__}: {error}")
        ms[page.url] = elapsed_ms(start)
    return EvalRun(results, ms, warm_up_ms)


def jsonable(value: Any) -> Any:
    return list(value) if isinstance(value, tuple | set | frozenset) else value


def page_record(page: EvalPage, runs: dict[str, EvalRun]) -> dict[str, Any]:
    """One page: the annotation and, per system, its snippet counts, metadata values and time."""
    systems: dict[str, Any] = {}
    for name, run in runs.items():
        result = run.results[page.url]
        entry: dict[str, Any] = {"meta": {k: jsonable(v) for k, v in result.meta.items()},
                                 "ms": run.ms_by_url[page.url]}
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
    runs: dict[str, EvalRun] = {}
    for name, extract in EVAL_EXTRACTORS.items():
        progress(f"timing {name} on {len(pages)} pages ...")
        runs[name] = time_eval(extract, pages)
    records = [page_record(page, runs) for page in pages]
    systems: dict[str, dict[str, Any]] = {}
    for name in EVAL_SYSTEMS:
        run = runs[name]
        row: dict[str, Any] = {"pages": len(pages), **timing(TimedRun({}, run.ms, run.warm_up_ms)),
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
    print("\nSpeed (in-process: per call; crawl: wall time of the whole CLI run, start-up included)")
    print_table(["system", "pages", "ms/page mean", "ms/page median", "warm-up ms", "pages/s", "wall s",
                 "peak RSS MiB"],
                [[name, str(s["pages"]), fmt(s.get("ms_mean"), ".1f"), fmt(s.get("ms_median"), ".1f"),
                  fmt(s.get("warm_up_ms"), ".0f"), fmt(s["pages_per_s"], ".1f"), fmt(s["wall_s"], ".2f"),
                  fmt(s.get("peak_rss_mib"), ".0f")]
                 for name, s in systems.items()])
    peaks = systems[CRAWL]["process_peaks_mib"]
    print("peak RSS MiB: ru_maxrss of RUSAGE_CHILDREN, the largest process that the crawl's waits reached")
    print(f"crawl process tree, VmHWM sampled every 50 ms: {len(peaks)} processes peaked at "
          f"{', '.join(f'{mib:.0f}' for mib in peaks) or '—'} MiB (sum {sum(peaks):.0f})")
    print(f"\nmedian ms ratio, extract_page / trafilatura.extract: {figures['median_ratio']:.2f}x")
    for diff in figures["differences"]:
        print(f"\n{diff['b']} vs {diff['a']}: {len(diff['pages'])} page(s) with different tokens"
              + (f"; page figures are {diff['a']} -> {diff['b']}" if diff["pages"] else ""))
        for row in diff["pages"]:
            a, b = row["a"], row["b"]
            print(f"  {row['id'][:12]}  P {fmt(a['precision'])} -> {fmt(b['precision'])}  "
                  f"R {fmt(a['recall'])} -> {fmt(b['recall'])}  tokens {a['tokens']} -> {b['tokens']}  {row['url']}")


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

    print("\nSpeed (per call, after an untimed warm-up; the libraries' per-page caches are emptied before each "
          "system)")
    print_table(["system", "pages", "ms/page mean", "ms/page median", "warm-up ms", "pages/s", "total s"],
                [[name, str(s["pages"]), fmt(s["ms_mean"], ".1f"), fmt(s["ms_median"], ".1f"),
                  fmt(s["warm_up_ms"], ".0f"), fmt(s["pages_per_s"], ".1f"), fmt(s["wall_s"], ".2f")]
                 for name, s in systems.items()])
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


# -- main --------------------------------------------------------------------------------------------
def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS, metavar="DIR",
                        help=f"an article-extraction or trafilatura-eval corpus, told apart by its files "
                             f"(default: {DEFAULT_CORPUS})")
    parser.add_argument("--limit", type=int, metavar="N",
                        help="use the first N pages only (article-extraction: of ids.txt; trafilatura-eval: in "
                             "evaldata.json's order)")
    parser.add_argument("--json", type=Path, metavar="PATH", help="also write the figures as JSON to PATH")
    parser.add_argument("--misses", action="append", choices=MISS_FIELDS, default=[], metavar="FIELD",
                        help=f"trafilatura-eval only: after the figures, list the pages where extract_page is "
                             f"wrong on FIELD, with the expected value and both systems' values; FIELD is one of "
                             f"{', '.join(MISS_FIELDS)}; may be repeated")
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
    args.layout = detect_layout(args.corpus)
    if args.layout is None:
        parser.error(f"no corpus at {args.corpus} (neither ground-truth.json and ids.txt nor evaldata.json and "
                     "html/ found); give it with --corpus DIR")
    if args.misses and args.layout != EVAL_LAYOUT:
        parser.error("--misses needs a trafilatura-eval corpus")
    return args


def progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def run_benchmark(pages: Sequence[Page], corpus: Path) -> dict[str, Any]:
    with serve(pages) as base, tempfile.TemporaryDirectory(prefix="bench-extraction-") as workdir:
        urls = {page.id: base + page.path for page in pages}  # in-process calls see the crawl's URLs
        # The crawl first, while this process is small: a child's ru_maxrss starts from its parent's peak.
        progress(f"crawling {len(pages)} pages from {base} ...")
        crawl = run_crawl(urls, Path(workdir))
        progress(f"timing trafilatura.extract on {len(pages)} pages ...")
        plain = time_extractor(plain_trafilatura, pages, urls)
        progress(f"timing extract_page on {len(pages)} pages ...")
        in_process = time_extractor(scraper_extract_page, pages, urls)
    if crawl.returncode != 0 or crawl.stderr.strip():
        progress(f"crawl exited with status {crawl.returncode}; its stderr:\n{crawl.stderr.strip()[-4000:]}")
    systems: dict[str, dict[str, Any]] = {
        CRAWL: {"pages": crawl.records, **quality(pages, crawl.texts), "wall_s": crawl.wall_s,
                "pages_per_s": crawl.records / crawl.wall_s, "peak_rss_mib": crawl.peak_rss_mib,
                "process_peaks_mib": crawl.process_peaks_mib, "returncode": crawl.returncode},
        EXTRACT_PAGE: {"pages": len(pages), **quality(pages, in_process.texts), **timing(in_process)},
        TRAFILATURA: {"pages": len(pages), **quality(pages, plain.texts), **timing(plain)},
    }
    return {
        "machine": machine(),
        "corpus": str(corpus),
        "pages": len(pages),
        "systems": systems,
        "median_ratio": systems[EXTRACT_PAGE]["ms_median"] / systems[TRAFILATURA]["ms_median"],
        "differences": [  # pages where system b's tokens differ from system a's
            {"a": EXTRACT_PAGE, "b": CRAWL, "pages": differing_pages(pages, in_process.texts, crawl.texts)},
            {"a": TRAFILATURA, "b": EXTRACT_PAGE, "pages": differing_pages(pages, plain.texts, in_process.texts)},
        ],
    }


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if args.replay is not None:
        figures = json.loads(args.replay.read_text(encoding="utf-8"))
    elif args.layout == EVAL_LAYOUT:
        corpus = args.corpus.resolve()
        figures = run_eval_benchmark(load_eval_corpus(corpus, args.limit), corpus)
    else:
        corpus = args.corpus.resolve()
        pages = load_corpus(corpus, args.limit)
        figures = run_benchmark(pages, corpus)
    if figures.get("layout") == EVAL_LAYOUT:
        print_eval_report(figures)
        for key in args.misses:
            print_misses(figures, key)
    elif args.misses:
        progress("--misses needs figures from a trafilatura-eval corpus")
        return 2
    else:
        print_report(figures)
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    if figures.get("layout") == EVAL_LAYOUT:
        return 0
    return 0 if figures["systems"][CRAWL]["returncode"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
