"""trafilatura's internal functions that ``scraper.extract`` calls, in one place.

Imported by ``scraper.extract`` only (an import-linter contract says so): trafilatura belongs there (the
crawl process loads it with the first page it extracts, not at start-up).
``tests/unit/compat/test_trafilatura.py`` fails loudly when an upgrade moves one of them, changes its
signature or what it answers; pyproject.toml bounds trafilatura (``<2.4``) so
that an untested version is not installed.

Public (``trafilatura.__all__``, or its documented ``settings.use_config``): ``bare_extraction``,
``load_html``, ``use_config``; re-exported here so that ``scraper.extract`` reads trafilatura in one place.

Internal, and why each is used:

* ``trafilatura.metadata.examine_meta``, ``extract_meta_json``, ``extract_title``, ``extract_url``,
  ``extract_sitename``: the steps of its ``extract_metadata`` without its costly author, category and
  tag searches, which ``scraper.extract.bylines`` and ``taxonomy`` do in a fifth of the time.
* ``trafilatura.settings.Document``: the type those steps fill in.
* ``trafilatura.settings.set_date_params``: the htmldate options trafilatura itself passes.
* ``trafilatura.json_metadata.normalize_authors``: a byline cleaned as trafilatura cleans its own.
* ``trafilatura.xml.xmltotxt``: the plain text of the body ``bare_extraction`` returns (its own ``.text``
  is the markdown rendering when formatting is kept).
* ``trafilatura.baseline.block_text`` and ``trafilatura.utils.line_processing``: a link's text with
  spaces at block boundaries, and one line normalised, as trafilatura's category and tag search does.

Nothing of ours is imported here: this module sits at the bottom of the layers.
"""

from __future__ import annotations

from trafilatura import bare_extraction, load_html
from trafilatura.baseline import block_text
from trafilatura.json_metadata import normalize_authors
from trafilatura.metadata import examine_meta, extract_meta_json, extract_sitename, extract_title, extract_url
from trafilatura.settings import Document, set_date_params, use_config
from trafilatura.utils import line_processing
from trafilatura.xml import xmltotxt

__all__ = [
    "Document",
    "bare_extraction",
    "block_text",
    "examine_meta",
    "extract_meta_json",
    "extract_sitename",
    "extract_title",
    "extract_url",
    "line_processing",
    "load_html",
    "normalize_authors",
    "set_date_params",
    "use_config",
    "xmltotxt",
]
