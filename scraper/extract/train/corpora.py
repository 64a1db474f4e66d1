"""The development splits of the three labelled corpora in ``../shared/corpus``, as one kind of page.

Each corpus's README describes its layout; held-out parts are never in that tree, and nothing
here reads anything else.  Pages are grouped by their site (registered domain) so that
cross-validation never scores a page of a site it trained on.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

WCXB = "wcxb"
ARTICLE_EXTRACTION = "article-extraction"
TRAFILATURA_EVAL = "trafilatura-eval"
CORPORA = (WCXB, ARTICLE_EXTRACTION, TRAFILATURA_EVAL)


@dataclass(frozen=True)
class LabelledPage:
    corpus: str
    page_id: str
    url: str
    html: bytes
    site: str  # the page's host without "www.": the group for cross-validation
    page_type: str | None = None  # WCXB's seven types; None where the corpus does not say
    main_text: str | None = None  # the whole main content (WCXB, article-extraction)
    with_snippets: tuple[str, ...] = ()  # must be in the main text (WCXB, trafilatura-eval)
    without_snippets: tuple[str, ...] = ()  # must not be
    title: str | None = None
    author: str | None = None
    date: str | None = None  # YYYY-MM-DD
    extra: dict[str, str] = field(default_factory=dict)


def site_of(url: str) -> str:
    return (urlsplit(url).hostname or "").removeprefix("www.")


def _text(value: object) -> str | None:
    return value.strip() or None if isinstance(value, str) else None


def read_wcxb(root: Path) -> Iterator[LabelledPage]:
    domains = {page_id: entry.get("domain") for page_id, entry in
               json.loads((root / "metadata.json").read_text(encoding="utf-8"))["files"].items()}
    for truth_file in sorted((root / "dev/ground-truth").glob("*.json")):
        data = json.loads(truth_file.read_text(encoding="utf-8"))
        truth = data["ground_truth"]
        page_id = truth_file.stem
        html = gzip.decompress((root / "dev/html" / f"{page_id}.html.gz").read_bytes())
        page_type = data["_internal"]["page_type"]["primary"]
        domain = domains.get(page_id) or ""
        url = data.get("url") or f"https://{domain}/"  # one page's annotation lacks its URL
        yield LabelledPage(
            corpus=WCXB, page_id=page_id, url=url, html=html, site=domain.removeprefix("www.") or site_of(url),
            page_type="collection" if page_type == "category" else page_type,
            main_text=truth.get("main_content") or "",
            with_snippets=tuple(truth.get("with") or ()), without_snippets=tuple(truth.get("without") or ()),
            title=_text(truth.get("title")), author=_text(truth.get("author")),
            date=(_text(truth.get("publish_date")) or "")[:10] or None)


def read_article_extraction(root: Path) -> Iterator[LabelledPage]:
    truth = json.loads((root / "ground-truth.json").read_text(encoding="utf-8"))
    for page_id in sorted(truth):
        entry = truth[page_id]
        html = gzip.decompress((root / "html" / f"{page_id}.html.gz").read_bytes())
        yield LabelledPage(corpus=ARTICLE_EXTRACTION, page_id=page_id, url=entry["url"], html=html,
                           site=site_of(entry["url"]), main_text=entry.get("articleBody") or "")


def read_trafilatura_eval(root: Path) -> Iterator[LabelledPage]:
    data = json.loads((root / "evaldata.json").read_text(encoding="utf-8"))
    for url in sorted(data):
        entry = data[url]
        html = gzip.decompress((root / "html" / entry["file"]).read_bytes())
        yield LabelledPage(
            corpus=TRAFILATURA_EVAL, page_id=entry["file"].removesuffix(".html.gz"), url=url, html=html,
            site=site_of(url), with_snippets=tuple(entry.get("with") or ()),
            without_snippets=tuple(entry.get("without") or ()),
            title=_text(entry.get("title")), author=_text(entry.get("author")),
            date=(_text(entry.get("date")) or "")[:10] or None)


READERS = {WCXB: read_wcxb, ARTICLE_EXTRACTION: read_article_extraction, TRAFILATURA_EVAL: read_trafilatura_eval}


def read_corpora(corpus_root: Path, corpora: tuple[str, ...] = CORPORA) -> list[LabelledPage]:
    """Every development page of ``corpora`` under ``corpus_root`` (``../shared/corpus``), in a fixed order."""
    pages: list[LabelledPage] = []
    for name in corpora:
        pages.extend(READERS[name](corpus_root / name))
    return pages
