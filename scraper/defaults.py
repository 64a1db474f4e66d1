"""The crawl's defaults that the archive's readers share: ``reextract``, ``wacz``, ``resume`` and ``--max-body-bytes``
read what is stored under the bounds and options a crawl writes it with.

Here, at the bottom, so that reading an archive imports nothing of the crawl; ``scraper.crawl.settings`` takes
them from here (Scrapy reads every upper-case name of that module, imported ones too).
"""

ARCHIVE_WARC_PREFIX = "scraper"
ARCHIVE_MAX_BODY_BYTES = 100 * 1024 * 1024  # keep at most this much of one response
EXTRACT_ENABLED = True
EXTRACT_MIN_TEXT_SIZE = 250
EXTRACT_FAVOR_PRECISION = False
EXTRACT_FAVOR_RECALL = False
