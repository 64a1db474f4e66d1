"""Training the extraction models (``make train-extraction``): development splits only, fixed seeds.

The only package that imports LightGBM (import-linter's forbidden contract); nothing the crawl or
the readers run imports this package.  The models it writes are read at run time by
:mod:`scraper.extract.model`, without LightGBM.
"""
