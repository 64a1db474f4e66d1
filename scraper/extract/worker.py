"""What an extraction worker process runs, and how its process is prepared.

Pure (no Scrapy): the crawl process hands a page's HTML to a pool of these workers
and gets back the article with its text fingerprint, so the SimHash and word count,
like trafilatura, cost the crawl process nothing.

:mod:`scraper.extract.page` is imported inside the functions: the crawl process imports
this module to name its functions to the pool, and loads trafilatura only when it extracts
a page itself (a crawl of no more than EXTRACT_IN_PROCESS_PAGES requests starts no pool).
"""

from __future__ import annotations

import contextlib
import signal
from dataclasses import dataclass

from scraper.article import Article, ExtractionOptions
from scraper.records import TextFingerprint, fingerprint_text

_WARM_UP_PAGE = ("<html><head><title>Warm-up</title><meta name='author' content='A B'></head><body><article>"
                 + "<p>Loading the language model, date parser and stop lists takes a second.</p>" * 8
                 + "</article></body></html>")


@dataclass(frozen=True)
class ExtractedPage:
    article: Article | None
    fingerprint: TextFingerprint | None


def warm_up() -> None:
    """Load what extraction loads on first use: py3langid's model, dateparser's tables, jusText's lists.

    About 1.2 s and 75 MiB.  The pool's forkserver does it once (see
    :mod:`scraper.extract.preload`), so each worker forked from it shares those pages
    and starts warm.
    """
    from scraper.extract.page import extract_page

    # Only a head start: a failure here (a full disk under the language model's temporary
    # file) must not break the pool, whose workers run this as their initializer.
    with contextlib.suppress(Exception):
        extract_page(_WARM_UP_PAGE, "https://warm-up.invalid/", ExtractionOptions(min_extracted_size=10))


def init_worker() -> None:
    """A pool worker's initializer: SIGINT ignored, then warm (at once, when forked from the warm forkserver).

    A terminal's Ctrl-C reaches the workers too; the crawl process alone decides how to
    stop, and a worker that died of it would break the pool.  Workers are born ignoring
    SIGINT already (see ``scraper.crawl.pipelines.sigint_ignored``): this is the second line.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    warm_up()


def extract_for_record(html: str | bytes, url: str, options: ExtractionOptions,
                       content_language: str | None = None) -> ExtractedPage:
    from scraper.extract.page import extract_page

    article = extract_page(html, url, options, content_language=content_language)
    return ExtractedPage(article, fingerprint_text(article.text) if article is not None else None)
