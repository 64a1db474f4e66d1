"""Imported by the extraction pool's forkserver: warms extraction up once, before any worker forks.

Its import has that side effect on purpose; nothing else imports it.  Workers forked
from a warm forkserver share its memory pages (copy-on-write), so two workers cost
little more than one, and each starts without the 1.2 s warm-up.
"""

import gc
import signal

from scraper.extract.worker import warm_up

# The forkserver's workers get back the SIGINT disposition it had when the preload ended: ignored,
# even if the forkserver was started without it ignored (multiprocessing restarts a dead one itself).
signal.signal(signal.SIGINT, signal.SIG_IGN)
warm_up()
# Copy-on-write shares a page only until a process writes to it, and the cyclic GC writes to every
# object it tracks (each collection of the oldest generation walks them all): the warm-up's hundreds
# of thousands of objects (trafilatura's, dateparser's and the models' tables) ended up copied into
# each worker.  Frozen, they are left out of every collection, in this process and in the workers
# forked from it.  The warm-up's garbage goes first, so that nothing dead is kept for good.
gc.collect()
gc.freeze()
