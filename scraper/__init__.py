"""scraper: crawl with Scrapy, archive as WARC/1.1, extract articles as JSON."""

__version__ = "0.1.0"
