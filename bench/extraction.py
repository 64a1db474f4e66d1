"""Article-extraction benchmark: quality and speed of the scraper against plain trafilatura.

One run, three systems, the same pages:

* ``scraper crawl (end to end)``: the real CLI in a subprocess crawls the corpus pages from a
  loopback HTTP server; the ``text`` of each record in ``pages.jsonl`` is scored.
* ``scraper extract_page (in-process)``: :func:`scraper.extraction.extract_page`, timed per page.
* ``trafilatura.extract``: the benchmark's own call, ``trafilatura.extract(html, include_comments=False)``.

The corpus is the development part of the Zyte/ScrapingHub article-extraction benchmark; its
README.md describes the layout and the scoring method that :func:`score` implements.
This prints figures; it asserts nothing and is not part of the test run.

    .venv/bin/python bench/extraction.py [--limit N] [--json PATH] [--corpus DIR]
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
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import trafilatura

from scraper.extraction import extract_page
from scraper.storage.jsonl import iter_jsonl

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_CORPUS = Path(__file__).resolve().parents[2] / "shared/corpus/article-extraction"

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
    return [sys.executable, "-m", "scraper", "crawl", "-i", str(seed_file), "--out", str(out), "-q",
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


# -- printing -----------------------------------------------------------------------------------------
def fmt(value: float | None, spec: str = ".3f") -> str:
    return "—" if value is None else format(value, spec)


def print_table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
    """First column left-aligned, the others right-aligned."""
    widths = [max(len(str(cell)) for cell in column) for column in zip(headers, *rows, strict=True)]

    def line(cells: Sequence[str]) -> str:
        first, *rest = cells
        return "  ".join([first.ljust(widths[0]), *(c.rjust(w) for c, w in zip(rest, widths[1:], strict=True))])

    print(line(headers))
    print("  ".join("-" * w for w in widths))
    for row in rows:
        print(line(row))


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


# -- main --------------------------------------------------------------------------------------------
def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS, metavar="DIR",
                        help=f"article-extraction corpus (default: {DEFAULT_CORPUS})")
    parser.add_argument("--limit", type=int, metavar="N", help="use the first N ids of ids.txt only")
    parser.add_argument("--json", type=Path, metavar="PATH", help="also write the figures as JSON to PATH")
    args = parser.parse_args(argv)
    if args.limit is not None and args.limit < 1:
        parser.error("--limit must be at least 1")
    if not (args.corpus / "ground-truth.json").is_file():
        parser.error(f"no corpus at {args.corpus} (ground-truth.json not found); give it with --corpus DIR")
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
    corpus = args.corpus.resolve()
    pages = load_corpus(corpus, args.limit)
    figures = run_benchmark(pages, corpus)
    print_report(figures)
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return 0 if figures["systems"][CRAWL]["returncode"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
