"""Moved to scraper.crawl.settings; kept for scrapy.cfg files that name scraper.settings.  Goes in the next release."""
# Scrapy reads every upper-case name of its settings module: all of them, re-exported.
from scraper.crawl.settings import *  # noqa: F403
