"""Extraction: the only package that imports trafilatura (a page's HTML -> Article, bylines, taxonomy, and the
worker pool's entry points).  Imports nothing itself: the crawl process loads only ``worker``, which defers
trafilatura to the call."""
