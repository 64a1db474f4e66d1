"""``python -m scraper.extract.train [CORPUS_ROOT]`` (``make train-extraction``): train every model.

Reads the development splits under CORPUS_ROOT (default ``../shared/corpus``), trains the models
in order, and writes them to ``scraper/extract/models/``: each stage's inputs come from the
stages before, as they will at run time.  Fixed seeds: two runs write the same files.
"""

from __future__ import annotations

import argparse
import multiprocessing
import sys
import time
from pathlib import Path
from typing import Any

from scraper.extract import model as tree_model
from scraper.extract.train.blocks import (
    PageBlocks,
    cross_validate_blocks,
    cross_validation_report,
    page_blocks,
    train_block_models,
)
from scraper.extract.train.corpora import LabelledPage, read_corpora
from scraper.extract.train.metadata import train_metadata
from scraper.extract.train.pagetype import out_of_fold_page_types, train_page_type

MODELS_DIR = Path(__file__).resolve().parents[1] / "models"
DEFAULT_CORPUS = Path(__file__).resolve().parents[4] / "shared" / "corpus"


def _log(message: str, started: float) -> None:
    print(f"[{time.monotonic() - started:6.1f} s] {message}", file=sys.stderr, flush=True)


def _page_blocks(job: tuple[LabelledPage, tuple[float, ...] | None]) -> PageBlocks | None:
    return page_blocks(*job)


def write_model(name: str, model: dict[str, Any], models_dir: Path) -> Path:
    path = models_dir / f"{name}.json"
    path.write_text(tree_model.dumps(model), encoding="utf-8")
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m scraper.extract.train", description=__doc__.splitlines()[0])
    parser.add_argument("corpus_root", nargs="?", type=Path, default=DEFAULT_CORPUS,
                        help="the folder holding wcxb/, article-extraction/ and trafilatura-eval/")
    parser.add_argument("--models-dir", type=Path, default=MODELS_DIR, help="where the model files go")
    parser.add_argument("--processes", type=int, default=2,
                        help="processes that read the pages (the result is the same)")
    parser.add_argument("--cv", action="store_true",
                        help="also print the block model's site-grouped cross-validation against trafilatura "
                             "(5 folds, about 5 minutes more); the model files are the same")
    args = parser.parse_args(argv)
    started = time.monotonic()
    if not (args.corpus_root / "wcxb").is_dir():
        parser.error(f"no corpora under {args.corpus_root} (expected wcxb/, article-extraction/, trafilatura-eval/)")
    pages = read_corpora(args.corpus_root)
    _log(f"{len(pages)} development pages from {args.corpus_root}", started)

    args.models_dir.mkdir(parents=True, exist_ok=True)
    path = write_model("page-type", train_page_type(pages), args.models_dir)
    _log(f"wrote {path} ({path.stat().st_size // 1024} KiB)", started)
    # The block model learns from page types as the page-type model sees pages it never saw.
    page_type_probabilities = out_of_fold_page_types(pages)
    _log("page types out of fold", started)

    jobs = [(page, page_type_probabilities.get((page.corpus, page.page_id))) for page in pages]
    with multiprocessing.get_context("fork").Pool(args.processes) as pool:
        dataset = [p for p in pool.imap(_page_blocks, jobs, chunksize=8) if p is not None]
    _log(f"{sum(len(p.labels) for p in dataset)} blocks from {len(dataset)} pages", started)
    if args.cv:
        snippets = {(p.corpus, p.page_id): (p.with_snippets, p.without_snippets) for p in pages
                    if p.main_text is None}
        report = cross_validation_report(dataset, cross_validate_blocks(dataset), snippets)
        print("block model, 5-fold cross-validation by site:\n" + report, flush=True)
        _log("cross-validation done", started)
    first, second = train_block_models(dataset)
    for name, model in (("blocks-first", first), ("blocks-second", second)):
        path = write_model(name, model, args.models_dir)
        _log(f"wrote {path} ({path.stat().st_size // 1024} KiB)", started)
    # The metadata rankers choose among candidates that include extract_page's own picks, made
    # with the page-type and block models just written.
    for name, model in train_metadata(pages).items():
        path = write_model(name, model, args.models_dir)
        _log(f"wrote {path} ({path.stat().st_size // 1024} KiB)", started)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
