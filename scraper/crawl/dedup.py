"""Deduplication in 64-bit hashes: the spider's sets of URLs and Scrapy's duplicate filter.

A crawl remembers every URL it asked for (and every link spelling it settled, every key it
refused) for as long as it runs.  Kept as strings, that was about 2 KiB a URL: the crawl
process grew by 100 MiB every 50,000 pages.  Kept as 64-bit hashes, as Heritrix's
``BdbUriUniqFilter`` and its fingerprint sets keep them, it is 8 bytes of table a hash.

The price is a false "seen" when two different URLs have the same hash: that URL is not
fetched.  By the birthday bound, the chance that any two of n URLs share a 64-bit hash is
about n² / 2⁶⁵: 2.7e-6 at 10 million URLs (once in 370,000 crawls of that size), 6.8e-11 at
50,000.  A URL whose hash collides with none of the n already kept is never refused: no
false negative, whatever the table's state.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Self

import numpy as np
from scrapy.dupefilters import BaseDupeFilter
from scrapy.utils.job import job_dir

if TYPE_CHECKING:
    from scrapy import Request, Spider
    from scrapy.crawler import Crawler
    from scrapy.utils.request import RequestFingerprinterProtocol

logger = logging.getLogger(__name__)

_MASK64 = (1 << 64) - 1
_EMPTY = 0  # a free slot; the hash 0 is kept as 1 (one more collision in 2⁶⁴)


def _slot_value(value: int) -> int:
    value &= _MASK64
    return value or 1


class Hash64Set:
    """A set of 64-bit integers in one numpy array: open addressing, linear probing.

    Memory: 8 bytes a slot, and the table doubles when it is three-quarters full, so between
    10.7 and 21.3 bytes a member (16 on average over a crawl's growth).  While it doubles, for
    well under a second at a million members, the old table, the new one and the re-placement's
    numpy temporaries (about 56 bytes a member) exist together.  A Python ``set`` of ints costs
    about 78 bytes a member, one of Scrapy's 20-byte fingerprints 95 (measured with tracemalloc).

    Speed: a lookup reads the table through a ``memoryview`` (a plain Python int per slot,
    no numpy scalar): about 0.3 µs, against a ``set``'s 0.05.  Growth re-places every member
    with numpy in one pass (sorted by home slot, each member's slot is the running maximum of
    ``home - rank`` plus its rank), not one Python step per member.

    The members are hashes already (uniform bits): the low bits of a member are its home slot.
    """

    MIN_SLOTS = 1 << 10
    MAX_LOAD_NUM, MAX_LOAD_DEN = 3, 4  # grow when more than 3/4 of the slots are taken

    def __init__(self, values: Iterable[int] = ()) -> None:
        self._table = np.zeros(self.MIN_SLOTS, dtype=np.uint64)
        self._slots = self._table.data  # a memoryview: its items are plain ints
        self._mask = self.MIN_SLOTS - 1
        self._count = 0
        self.update(values)

    def __len__(self) -> int:
        return self._count

    @property
    def nbytes(self) -> int:
        """The table's size in bytes: what the set costs beyond its object."""
        return int(self._table.nbytes)

    def __contains__(self, value: int) -> bool:
        value = value & _MASK64 or 1  # _slot_value, inlined: the crawl asks this for every link of every page
        slots, mask = self._slots, self._mask
        index = value & mask
        while True:
            held = slots[index]
            if held == value:
                return True
            if held == _EMPTY:
                return False
            index = (index + 1) & mask

    def add(self, value: int) -> bool:
        """Adds ``value``; True if it was not there before."""
        value = value & _MASK64 or 1
        slots, mask = self._slots, self._mask
        index = value & mask
        while True:
            held = slots[index]
            if held == value:
                return False
            if held == _EMPTY:
                break
            index = (index + 1) & mask
        slots[index] = value
        self._count += 1
        if self._count * self.MAX_LOAD_DEN > len(slots) * self.MAX_LOAD_NUM:
            self._grow()
        return True

    def update(self, values: Iterable[int]) -> None:
        for value in values:
            self.add(value)

    def discard(self, value: int) -> None:
        """Removes ``value`` if it is there, moving back the members of its run that probed past it.

        Backward-shift deletion (Knuth, TAOCP vol. 3, algorithm 6.4R): no tombstones, so a
        set that members leave does not fill up with them.
        """
        value = _slot_value(value)
        slots, mask = self._slots, self._mask
        hole = value & mask
        while True:
            held = slots[hole]
            if held == _EMPTY:
                return
            if held == value:
                break
            hole = (hole + 1) & mask
        index = hole
        while True:
            index = (index + 1) & mask
            held = slots[index]
            if held == _EMPTY:
                break
            home = held & mask
            # The member at `index` may move back into the hole unless its home lies
            # (cyclically) after the hole and at or before `index`.
            if (home - hole - 1) & mask < (index - hole) & mask:
                continue
            slots[hole] = held
            hole = index
        slots[hole] = _EMPTY
        self._count -= 1

    def _grow(self) -> None:
        members = self._table[self._table != _EMPTY]
        size = 2 * len(self._table)
        mask = np.uint64(size - 1)
        homes = (members & mask).astype(np.int64)
        order = np.argsort(homes, kind="stable")
        members, homes = members[order], homes[order]
        ranks = np.arange(len(homes), dtype=np.int64)
        # Inserted in the order of their homes, member k lands at max(home k, slot of k-1 + 1),
        # which is k + the running maximum of (home j - j) over j <= k: linear probing without a loop.
        places = ranks + np.maximum.accumulate(homes - ranks)
        fits = places < size
        table = np.zeros(size, dtype=np.uint64)
        table[places[fits]] = members[fits]
        self._table, self._slots, self._mask = table, table.data, size - 1
        # The last few ran past the end: they wrap around to the first free slots, one by one.
        self._count = int(np.count_nonzero(fits))
        for value in members[~fits].tolist():
            self.add(value)

    def to_array(self) -> np.ndarray:
        """The members, in no particular order (a copy)."""
        return self._table[self._table != _EMPTY].copy()


class KeySet:
    """A set of strings (URL keys, link spellings) kept as their 64-bit hashes in a :class:`Hash64Set`.

    The hash is Python's own ``hash(str)``: SipHash-1-3 under a key drawn at random for each
    process (unless PYTHONHASHSEED fixes it), so no page can craft URLs that collide, and a
    string caches its hash, so asking twice costs nothing more.  Not stable across processes:
    this set is never written anywhere (a resumed crawl rebuilds it from its journal).
    It answers ``in``, ``add``, ``update``, ``discard`` and ``len`` as a ``set`` would, but
    cannot list its members.
    """

    def __init__(self, keys: Iterable[str] = ()) -> None:
        self._hashes = Hash64Set(hash(key) for key in keys)

    def __contains__(self, key: str) -> bool:
        return hash(key) in self._hashes

    def __len__(self) -> int:
        return len(self._hashes)

    def add(self, key: str) -> None:
        self._hashes.add(hash(key))

    def update(self, keys: Iterable[str]) -> None:
        self._hashes.update(hash(key) for key in keys)

    def discard(self, key: str) -> None:
        self._hashes.discard(hash(key))

    @property
    def nbytes(self) -> int:
        return self._hashes.nbytes


SEEN_FILE = "requests.seen64"  # in JOBDIR: the filter's hashes, 8 bytes each, little-endian


class HashDupeFilter(BaseDupeFilter):
    """Scrapy's duplicate filter (RFPDupeFilter's fingerprints: URL canonicalised, method, body),
    keeping the first 8 bytes of each 20-byte SHA-1 fingerprint in a :class:`Hash64Set`.

    RFPDupeFilter keeps each fingerprint as a ``bytes`` object in a ``set``: about 100 bytes a
    request.  With a JOBDIR, the hashes are appended to ``requests.seen64`` there and read back
    when the filter opens again, as RFPDupeFilter does with its ``requests.seen``.  (A crawl's
    ``--resume`` removes Scrapy's JOBDIR and starts the filter empty: the frontier journal
    says what is done, see ``ArchiveSpider._resume_requests``.)

    Only Scrapy's public names are used: ``BaseDupeFilter``, ``crawler.request_fingerprinter``,
    ``job_dir``.
    """

    def __init__(self, fingerprinter: RequestFingerprinterProtocol, path: str | None = None,
                 debug: bool = False) -> None:
        self.fingerprinter = fingerprinter
        self.debug = debug
        self.logdupes = True
        self.hashes = Hash64Set()
        self.file = None
        if path:
            seen = Path(path, SEEN_FILE)
            if seen.exists():
                data = seen.read_bytes()
                # A file cut by a kill mid-write loses its last, partial hash (that request may repeat).
                stored = np.frombuffer(data, dtype="<u8", count=len(data) // 8)
                self.hashes.update(stored.tolist())
            self.file = seen.open("ab")

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        return cls(crawler.request_fingerprinter, job_dir(crawler.settings),
                   crawler.settings.getbool("DUPEFILTER_DEBUG"))

    def request_seen(self, request: Request) -> bool:
        value = int.from_bytes(self.fingerprinter.fingerprint(request)[:8], "little")
        if not self.hashes.add(value):
            return True
        if self.file is not None:
            self.file.write(_slot_value(value).to_bytes(8, "little"))
        return False

    def close(self, reason: str) -> None:
        if self.file is not None:
            self.file.close()

    def log(self, request: Request, spider: Spider) -> None:
        """As RFPDupeFilter logs: the first duplicate (or every one with DUPEFILTER_DEBUG), and a count."""
        if self.debug:
            logger.debug("Filtered duplicate request: %(request)s", {"request": request}, extra={"spider": spider})
        elif self.logdupes:
            logger.debug("Filtered duplicate request: %(request)s - no more duplicates will be shown"
                         " (see DUPEFILTER_DEBUG to show all duplicates)", {"request": request},
                         extra={"spider": spider})
            self.logdupes = False
        if spider.crawler.stats is not None:
            spider.crawler.stats.inc_value("dupefilter/filtered")
