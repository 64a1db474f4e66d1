# Imports stay inside the guard: multiprocessing's forkserver and spawn children import
# this module again as "__mp_main__", and the extraction workers must not load the CLI,
# Scrapy and Twisted (about 120 MiB per worker) only to run trafilatura.
if __name__ == "__main__":
    from scraper.cli import main

    raise SystemExit(main())
