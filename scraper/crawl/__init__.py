"""The crawl: the only package that imports Scrapy or Twisted (settings, runner, spider, middlewares, pipelines,
the run's extension).  Imports nothing itself, so ``scraper.crawl.settings`` loads no Scrapy."""
