"""Imported by the extraction pool's forkserver: warms extraction up once, before any worker forks.

Its import has that side effect on purpose; nothing else imports it.  Workers forked
from a warm forkserver share its memory pages (copy-on-write), so two workers cost
little more than one, and each starts without the 1.2 s warm-up.
"""

import signal

from scraper.extract.worker import warm_up

# The forkserver's workers get back the SIGINT disposition it had when the preload ended: ignored,
# even if the forkserver was started without it ignored (multiprocessing restarts a dead one itself).
signal.signal(signal.SIGINT, signal.SIG_IGN)
warm_up()
