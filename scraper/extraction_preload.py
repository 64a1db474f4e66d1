"""Imported by the extraction pool's forkserver: warms extraction up once, before any worker forks.

Its import has that side effect on purpose; nothing else imports it.  Workers forked
from a warm forkserver share its memory pages (copy-on-write), so two workers cost
little more than one, and each starts without the 1.2 s warm-up.
"""

from scraper.extraction_worker import warm_up

warm_up()
