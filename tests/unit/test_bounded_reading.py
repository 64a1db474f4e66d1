"""Issue 15: reading hostile bytes costs a bounded amount, counted in bytes read and findings listed.

``scraper verify`` on bytes that are all gzip magic, or gzip members nested in each other's data,
reads each byte a bounded number of times (no longer once per candidate member, to the end of the
file); a file with a fault in every record lists the first hundred and counts the rest; and the one
decoder gives a gzip body with a bad CRC whole, as Python's gzip (and so the crawl's Scrapy) does.
"""

from __future__ import annotations

import gzip
import io
import struct
from pathlib import Path

import pytest

from scraper.storage.verify import (
    LISTED,
    RESYNC_FACTOR,
    RESYNC_SLACK,
    PayloadCodingError,
    http_payload_stream,
    iter_members,
    verify_warc,
)

NESTED = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff" + b"\x00" + struct.pack("<HH", 0xFFFF, 0x0000) + b"WARC/1.1\r\n"


class CountingFile(io.FileIO):
    """A file that counts the bytes read from it, and refuses to read past a budget (so a quadratic
    reader fails at once instead of running for minutes)."""

    def __init__(self, path: Path, budget: int) -> None:
        super().__init__(path, "rb")
        self.budget = budget
        self.read_bytes = 0

    def read(self, size: int = -1) -> bytes:
        data = super().read(size)
        self._count(len(data))
        return data

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        count = super().readinto(buffer) or 0
        self._count(count)
        return count

    def _count(self, count: int) -> None:
        self.read_bytes += count
        assert self.read_bytes <= self.budget, f"read {self.read_bytes:,} bytes of a {self.size:,}-byte file"

    @property
    def size(self) -> int:
        return Path(str(self.name)).stat().st_size


@pytest.mark.parametrize(("hostile", "faults"), [
    (b"garbage!" + b"\x1f\x8b\x08" * 20_000, 1),  # every candidate's "header" swallows the file: none is a member
    (b"garbage!" + NESTED.ljust(100, b"x") * 2_000, None),  # each candidate inflates 64 KiB, then fails
], ids=["gzip-magic-flood", "nested-members"])
def test_resyncing_reads_each_byte_a_bounded_number_of_times(tmp_path: Path, hostile: bytes,
                                                              faults: int | None) -> None:
    path = tmp_path / "hostile.warc.gz"
    path.write_bytes(hostile)
    # What verify may read: the resync windows once, damaged members up to its budget, a read step past it.
    # (Read a candidate at a time to the end of the file, as before, these take hundreds of megabytes.)
    budget = (RESYNC_FACTOR + 4) * len(hostile) + RESYNC_SLACK + (8 << 20)
    with CountingFile(path, budget) as fh:
        members = list(iter_members(fh))
        assert fh.read_bytes >= len(hostile)  # it was read, and counted
    assert all(not m.complete for m in members)
    assert members[0].offset == 0 and members[-1].next_offset == len(hostile)
    if faults is not None:
        assert len(members) == faults
    else:
        assert members[-1].gave_up and "bytes to the end not read" in members[-1].faults[0].message


def test_a_fault_in_every_record_lists_the_first_ones_and_counts_the_rest(tmp_path: Path) -> None:
    records = []
    for n in range(LISTED + 250):
        block = b"hi"
        head = (f"WARC/1.1\r\nWARC-Type: resource\r\nWARC-Record-ID: <urn:x:{n}>\r\nWARC-Date: 2026-13-45T00:00:00Z\r\n"
                f"WARC-Target-URI: http://example.org/{n}\r\nContent-Length: {len(block)}\r\n\r\n").encode()
        records.append(gzip.compress(head + block + b"\r\n\r\n"))
    path = tmp_path / "dates.warc.gz"
    path.write_bytes(b"".join(records))
    report = verify_warc(path)
    assert report.records == LISTED + 250 and not report.ok
    assert len(report.faults) == LISTED and report.faults_omitted == 250
    assert report.omitted() == f"... and 250 more fault(s), not listed (the first {LISTED} of each are)"
    assert report.as_dict()["faults_omitted"] == 250


def test_a_gzip_body_with_a_bad_crc_decodes_whole_before_the_error() -> None:
    """As Python's gzip reads it (and so Scrapy, and so the crawl): every byte of the body, then the CRC."""
    body = b"".join(b"line %d of a page that is longer than one step of the decoder\n" % n for n in range(6_000))
    damaged = bytearray(gzip.compress(body, mtime=0))
    damaged[-8] ^= 0xFF  # the CRC-32 in the trailer
    out = b""
    with pytest.raises(PayloadCodingError, match="incorrect data check"):
        for piece in http_payload_stream([("Content-Encoding", "gzip")], [bytes(damaged)], 1 << 30):
            out += piece
    assert out == body
