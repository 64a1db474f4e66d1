"""storage.verify: our own WARCs pass; copies damaged byte by byte are reported with the right fault."""

from __future__ import annotations

import base64
import gzip
import io
import random
import re
import shutil
import struct
import zlib
from collections.abc import Callable
from pathlib import Path

import pytest

from scraper.storage.verify import (
    LISTED,
    MEMBER_BUFFER,
    RESYNC_FACTOR,
    RESYNC_SLACK,
    FileReport,
    PayloadCodingError,
    _is_base32_of,
    http_payload_stream,
    iter_members,
    summarise,
    verify_files,
    verify_warc,
)
from scraper.storage.warc import (
    IDENTICAL_PAYLOAD,
    RefersTo,
    WarcFileWriter,
    iter_records,
    metadata_uri,
)
from tests.unit.storage.helpers import (
    HTML,
    MOMENT,
    Warc,
    edit_record,
    exchange,
    member_of,
    members,
    replace_member,
    set_header,
    sha1_b32,
    write_warc,
)


def kinds(report: FileReport) -> list[str]:
    """The kinds of every finding, faults and warnings, in file order."""
    return [finding.kind for finding in report.findings()]


@pytest.fixture
def warc(tmp_path: Path) -> Warc:
    return write_warc(tmp_path / "crawl")


# -- clean files ----------------------------------------------------------------------------------------
def test_our_own_warc_passes_every_check(warc: Warc) -> None:
    for deep in (True, False):
        report = verify_warc(warc.path, deep=deep)
        assert report.faults == [] and report.warnings == [] and report.ok
        assert report.records == warc.records == 1 + 2 * 6 + 1


def test_plain_uncompressed_warc_passes_and_its_framing_is_checked(warc: Warc, tmp_path: Path) -> None:
    plain = tmp_path / "copy.warc"
    plain.write_bytes(gzip.decompress(warc.path.read_bytes()))
    (report,) = verify_files([plain])
    assert report.ok and report.findings() == [] and report.records == warc.records
    data = plain.read_bytes()
    second = data.index(b"WARC/1.1\r\n", 1)  # the first request
    length = re.compile(rb"Content-Length: (\d+)\r\n").search(data, second)
    assert length is not None
    damaged = tmp_path / "damaged.warc"
    damaged.write_bytes(data[:length.start(1)] + str(int(length.group(1)) + 1).encode() + data[length.end(1):])
    (report,) = verify_files([damaged])
    assert kinds(report) == ["framing"] and report.faults[0].offset == second
    assert report.records == 2  # the warcinfo, the request: a plain file cannot be read on past a framing fault


# -- gzip members -----------------------------------------------------------------------------------------
def test_flipped_byte_inside_a_member_is_a_damaged_member_and_reading_resumes(warc: Warc, tmp_path: Path) -> None:
    offset, member = members(warc.path)[4]
    data = bytearray(warc.path.read_bytes())
    data[offset + len(member) // 2] ^= 0xFF
    copy = tmp_path / "flipped.warc.gz"
    copy.write_bytes(bytes(data))
    (report,) = verify_files([copy])
    assert not report.ok
    gzip_faults = [f for f in report.faults if f.kind == "gzip-member"]
    assert [f.offset for f in gzip_faults] == [offset]
    assert "damaged gzip member" in gzip_faults[0].message
    assert report.records == warc.records - 1  # every other member was read
    # the lost record was a response: its request's Concurrent-To now points nowhere
    assert "broken-link" in kinds(report)


def test_truncated_last_member_is_reported_as_torn(warc: Warc, tmp_path: Path) -> None:
    last_offset, _ = members(warc.path)[-1]
    copy = tmp_path / "torn.warc.gz"
    copy.write_bytes(warc.path.read_bytes()[:-25])
    (quick,) = verify_files([copy], deep=False)
    assert kinds(quick) == ["gzip-member"] and quick.faults[0].offset == last_offset
    assert "ends inside this gzip member" in quick.faults[0].message
    assert quick.records == warc.records - 1
    (deep,) = verify_files([copy])
    # the lost record is the revisit, which its request names
    assert kinds(deep) == ["broken-link", "gzip-member"] and deep.faults[1] == quick.faults[0]


def test_garbage_between_members_is_reported_once(warc: Warc, tmp_path: Path) -> None:
    parts = members(warc.path)
    copy = tmp_path / "garbage.warc.gz"
    copy.write_bytes(b"".join(m for _, m in parts[:3]) + b"\x00" * 5000 + b"".join(m for _, m in parts[3:]))
    (report,) = verify_files([copy])
    assert kinds(report) == ["gzip-member"] and report.faults[0].offset == parts[3][0]
    assert "no gzip member starts here" in report.faults[0].message and "5000 bytes skipped" in report.faults[0].message
    assert report.records == warc.records


# -- framing ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("delta", [-1, 1, 500])
def test_wrong_content_length_is_a_framing_error(warc: Warc, tmp_path: Path, delta: int) -> None:
    offset = warc.responses[0].offset
    index = member_of(warc.path, offset)
    length = len(gzip.decompress(members(warc.path)[index][1]).partition(b"\r\n\r\n")[2]) - 4
    damaged = edit_record(members(warc.path)[index][1], fix_length=False, fix_digests=False,
                          head=lambda h: set_header(h, "Content-Length", str(length + delta)))
    for deep in (True, False):
        (report,) = verify_files([replace_member(warc.path, index, damaged, tmp_path / "length.warc.gz")], deep=deep)
        assert kinds(report) == ["framing"], report.faults
        assert report.faults[0].offset == offset and report.faults[0].record_id == warc.responses[0].record_id
        message = report.faults[0].message
        assert f"Content-Length {length + delta} does not match" in message or "the block ends after" in message


def test_record_without_an_id_is_reported(warc: Warc, tmp_path: Path) -> None:
    index = member_of(warc.path, warc.responses[1].offset)
    damaged = edit_record(members(warc.path)[index][1], head=lambda h: h.replace(b"WARC-Record-ID", b"X-Record-ID"))
    (report,) = verify_files([replace_member(warc.path, index, damaged, tmp_path / "noid.warc.gz")])
    (fault,) = [f for f in report.faults if f.kind == "warc-header"]
    assert fault.offset == warc.responses[1].offset and "no WARC-Record-ID" in fault.message
    assert "broken-link" in kinds(report)  # its request's Concurrent-To has nothing to point at now


# -- digests ----------------------------------------------------------------------------------------------
def test_altered_body_byte_fails_both_digests_but_not_the_quick_check(warc: Warc, tmp_path: Path) -> None:
    offset = warc.responses[0].offset
    index = member_of(warc.path, offset)
    damaged = edit_record(members(warc.path)[index][1], fix_digests=False,
                          block=lambda b: b.replace(b"Words.", b"W0rds.", 1))
    copy = replace_member(warc.path, index, damaged, tmp_path / "body.warc.gz")
    (report,) = verify_files([copy])
    assert kinds(report) == ["block-digest", "payload-digest"]
    assert {f.offset for f in report.faults} == {offset}
    assert all(f.record_id == warc.responses[0].record_id for f in report.faults)
    (quick,) = verify_files([copy], deep=False)
    assert quick.ok and quick.faults == []


def test_wrong_payload_digest_alone(warc: Warc, tmp_path: Path) -> None:
    index = member_of(warc.path, warc.responses[1].offset)
    damaged = edit_record(members(warc.path)[index][1],
                          head=lambda h: set_header(h, "WARC-Payload-Digest", sha1_b32(b"something else")))
    (report,) = verify_files([replace_member(warc.path, index, damaged, tmp_path / "payload.warc.gz")])
    assert kinds(report) == ["payload-digest"] and "does not match the payload" in report.faults[0].message


@pytest.mark.parametrize(("written", "ok"), [
    (lambda d: d.lower(), True),  # base32 is read in either case, as before
    (lambda d: d + "====", True),  # and with its padding
    (lambda d: d[:-1] + ("A" if d[-1] != "A" else "B"), False),  # the last character differs
    (lambda d: d[:-1], False),  # a character short
    (lambda d: d[:4] + "_" + d[5:], False),  # int(text, 32) would read "_" and " ": the alphabet is checked first
    (lambda d: d[:4] + " " + d[5:], False),
])
def test_base32_digests_are_read_as_before(warc: Warc, tmp_path: Path, written: Callable[[str], str],
                                           ok: bool) -> None:
    index = member_of(warc.path, warc.responses[0].offset)
    record = gzip.decompress(members(warc.path)[index][1])
    block = record.partition(b"\r\n\r\n")[2][:-4]
    digest = sha1_b32(block).partition(":")[2]
    damaged = edit_record(members(warc.path)[index][1], fix_digests=False,
                          head=lambda h: set_header(h, "WARC-Block-Digest", "sha1:" + written(digest)))
    (report,) = verify_files([replace_member(warc.path, index, damaged, tmp_path / "digest.warc.gz")])
    assert kinds(report) == ([] if ok else ["block-digest"])


def test_base32_comparison_agrees_with_the_encoder_at_every_length() -> None:
    # Lengths whose bits do not fill the last character (1-4 bytes past a multiple of 5) end in zero bits.
    rng = random.Random(19)
    for length in range(0, 41):
        raw = rng.randbytes(length)
        text = base64.b32encode(raw).decode().rstrip("=")
        assert _is_base32_of(text, raw)
        for position in range(len(text)):
            for other in "A7Z2=a0_ ":
                changed = text[:position] + other + text[position + 1:]
                assert _is_base32_of(changed, raw) == (changed == text), (length, changed)
        assert not _is_base32_of(text + "A", raw)
        assert not text or not _is_base32_of(text[:-1], raw)


def test_records_larger_than_the_member_buffer_are_digested_whole(tmp_path: Path) -> None:
    # Bodies of several times MEMBER_BUFFER, in one record: read through the buffer and around it.
    writer = WarcFileWriter(tmp_path, host="test")
    rng = random.Random(7)
    bodies = [rng.randbytes(3 * MEMBER_BUFFER + 17), HTML * (4 * MEMBER_BUFFER // len(HTML) + 1)]
    for number, body in enumerate(bodies):
        writer.write_exchange(exchange(f"http://example.test/{number}", body,
                                       [("Content-Type", "application/octet-stream")]))
    writer.close()
    path = tmp_path / writer.closed_files[0]
    (report,) = verify_files([path])
    assert report.findings() == [] and report.records == 1 + 2 * len(bodies)
    index = member_of(path, [offset for offset, _ in members(path)][2])  # the first response
    damaged = edit_record(members(path)[index][1], fix_digests=False,
                          block=lambda b: b[:-MEMBER_BUFFER] + bytes([b[-MEMBER_BUFFER] ^ 1]) + b[1 - MEMBER_BUFFER:])
    (report,) = verify_files([replace_member(path, index, damaged, tmp_path / "big.warc.gz")])
    assert kinds(report) == ["block-digest", "payload-digest"]


# -- record ids and links -----------------------------------------------------------------------------------
def test_duplicated_record_is_a_duplicate_id(warc: Warc, tmp_path: Path) -> None:
    parts = members(warc.path)
    index = member_of(warc.path, warc.responses[2].offset)
    copy = tmp_path / "dup.warc.gz"
    copy.write_bytes(b"".join(m for _, m in parts) + parts[index][1])
    for deep in (True, False):
        (report,) = verify_files([copy], deep=deep)
        assert kinds(report) == ["duplicate-id"]
        fault = report.faults[0]
        assert fault.offset == warc.path.stat().st_size and fault.record_id == warc.responses[2].record_id
        assert f"offset {warc.responses[2].offset}" in fault.message


def test_duplicate_ids_across_files(warc: Warc, tmp_path: Path) -> None:
    other = tmp_path / "other"
    other.mkdir()
    copy = Path(shutil.copy(warc.path, other / "copy.warc.gz"))
    first, second = verify_files([warc.path, copy], deep=False)
    assert first.ok and not second.ok
    assert set(kinds(second)) == {"duplicate-id"} and len(second.faults) == warc.records
    assert warc.path.name in second.faults[0].message


def test_concurrent_to_a_missing_record_is_a_broken_link(warc: Warc, tmp_path: Path) -> None:
    index = member_of(warc.path, warc.responses[0].offset) - 1  # its request
    missing = "<urn:uuid:00000000-0000-0000-0000-000000000000>"
    damaged = edit_record(members(warc.path)[index][1], head=lambda h: set_header(h, "WARC-Concurrent-To", missing))
    copy = replace_member(warc.path, index, damaged, tmp_path / "crawl" / "link.warc.gz")
    (report,) = verify_files([copy])  # beside the intact original: the folder does not hide a broken link
    assert kinds(report) == ["broken-link"] and missing in report.faults[0].message
    assert report.faults[0].offset == members(warc.path)[index][0]
    assert verify_files([copy], deep=False)[0].ok  # links are not part of the quick check


def test_metadata_in_the_next_file_resolves_against_its_crawl_folder(tmp_path: Path) -> None:
    writer = WarcFileWriter(tmp_path / "crawl", host="test", max_bytes=1)  # every record pair gets its own file
    response = writer.write_exchange(exchange("http://example.test/a")).response
    writer.write_metadata(metadata_uri("http://example.test/a"), response.record_id, b"{}", "application/json", MOMENT)
    writer.close()
    second = tmp_path / "crawl" / writer.closed_files[1]
    assert verify_files([second])[0].findings() == []
    loose = Path(shutil.copy(second, tmp_path / "loose.warc.gz"))
    assert kinds(verify_files([loose])[0]) == ["broken-link"]


def test_cross_file_findings_come_exact_from_the_compact_tables(warc: Warc, tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """A file read leaves only fingerprints for the checks across files (16 bytes an id, 17 a link to another
    file), yet their findings name the exact ids and targets: read again where a finding needs them, from a
    plain file and from a gzip member of many records; and ids that share a fingerprint are not duplicates."""
    originals = list(iter_records(warc.path))
    index = member_of(warc.path, warc.responses[0].offset) - 1  # its request
    missing = "<urn:uuid:00000000-0000-0000-0000-000000000000>"
    parts = [member for _, member in members(warc.path)]
    parts[index] = edit_record(parts[index], head=lambda h: set_header(h, "WARC-Concurrent-To", missing))
    one_member = tmp_path / "crawl" / "one-member.warc.gz"  # every record again, in one gzip member
    one_member.write_bytes(gzip.compress(b"".join(gzip.decompress(part) for part in parts)))
    plain = tmp_path / "plain.warc"  # every record again, uncompressed
    plain.write_bytes(gzip.decompress(warc.path.read_bytes()))

    alone = verify_warc(one_member)
    assert alone.ids == {} and alone.links == []  # the exact strings are gone with the file
    assert len(alone.known.hashes) == len(alone.known.offsets) == warc.records
    assert len(alone.unresolved.targets) == 1  # the one link to no record of the file

    first, joined, uncompressed = verify_files([warc.path, one_member, plain])
    assert first.findings() == []
    assert sorted(kinds(joined)) == ["broken-link", *["duplicate-id"] * warc.records, "multi-record-member"]
    (broken,) = [f for f in joined.faults if f.kind == "broken-link"]
    assert broken.offset == 0 and broken.record_id == originals[index].record_id and missing in broken.message
    duplicates = [f for f in joined.faults if f.kind == "duplicate-id"]
    assert [(f.offset, f.record_id) for f in duplicates] == [(0, r.record_id) for r in originals]
    assert [f.message for f in duplicates] == [f"WARC-Record-ID already used in {warc.path.name} at offset "
                                               f"{r.offset}" for r in originals]
    assert [(f.kind, f.offset, f.record_id) for f in uncompressed.findings()] == [
        ("duplicate-id", r.offset, r.record_id) for r in iter_records(plain)]

    # Every id with the same fingerprint: the duplicates are still exactly those, and distinct ids none.
    monkeypatch.setattr("scraper.storage.verify.id_hash", lambda text: 7)
    other = write_warc(tmp_path / "other")
    assert [r.findings() for r in verify_files([warc.path, other.path])] == [[], []]
    assert verify_files([warc.path, plain])[1].findings() == uncompressed.findings()


def test_workers_report_what_one_process_reports_and_tell_every_byte_read(warc: Warc, tmp_path: Path) -> None:
    offset, member = members(warc.path)[4]
    flipped = bytearray(warc.path.read_bytes())
    flipped[offset + len(member) // 2] ^= 0xFF
    damaged = tmp_path / "crawl" / "flipped.warc.gz"
    damaged.write_bytes(bytes(flipped))
    copy = Path(shutil.copy(warc.path, tmp_path / "crawl" / "zcopy.warc.gz"))  # every id a duplicate across files
    files = [warc.path, damaged, copy]
    told: dict[int, list[int]] = {1: [], 2: []}
    one, many = (verify_files(files, jobs=jobs, progress=told[jobs].append) for jobs in (1, 2))
    assert [(r.path, r.records, r.findings()) for r in many] == [(r.path, r.records, r.findings()) for r in one]
    assert {"gzip-member", "duplicate-id"} <= {f.kind for r in one for f in r.faults}
    assert sum(told[1]) == sum(told[2]) == sum(path.stat().st_size for path in files)


def revisit_crawls(root: Path) -> tuple[Path, Path]:
    """Two crawls in an archive root: the second one's revisit refers to the first one's response."""
    old = write_warc(root / "crawls" / "20240101T000000Z-aaaaaa")
    writer = WarcFileWriter(root / "crawls" / "20240102T000000Z-bbbbbb", host="test")
    writer.write_revisit(exchange("http://example.test/plain"), profile=IDENTICAL_PAYLOAD, refers_to=RefersTo(
        old.responses[0].record_id, "http://example.test/plain", "2024-03-01T12:30:45.123456Z", sha1_b32(HTML)))
    writer.close()
    return old.path, root / "crawls" / "20240102T000000Z-bbbbbb" / writer.closed_files[0]


def test_refers_to_resolves_in_older_crawls_of_the_archive(tmp_path: Path) -> None:
    old, new = revisit_crawls(tmp_path / "archive")
    assert verify_files([new])[0].findings() == []
    old.unlink()
    (report,) = verify_files([new])
    assert kinds(report) == ["broken-link"] and "WARC-Refers-To" in report.faults[0].message


def test_refers_to_outside_an_archive_is_only_a_warning(tmp_path: Path) -> None:
    _, new = revisit_crawls(tmp_path / "archive")
    loose = Path(shutil.copy(new, tmp_path / "loose.warc.gz"))
    (report,) = verify_files([loose])
    assert kinds(report) == ["unresolved-link"] and report.warnings[0].severity == "warning" and report.ok


# -- HTTP headers against the body ---------------------------------------------------------------------------
def add_http_header(line: bytes) -> Callable[[bytes], bytes]:
    return lambda block: block.replace(b"\r\n", b"\r\n" + line + b"\r\n", 1)


@pytest.mark.parametrize("coding", ["gzip", "br", "deflate", "zstd"])
def test_content_encoding_on_a_plain_body_is_reported(warc: Warc, tmp_path: Path, coding: str) -> None:
    index = member_of(warc.path, warc.responses[0].offset)
    damaged = edit_record(members(warc.path)[index][1], block=add_http_header(f"Content-Encoding: {coding}".encode()))
    (report,) = verify_files([replace_member(warc.path, index, damaged, tmp_path / "ce.warc.gz")])
    # the payload digest still matches: only the header lies, a warning
    assert kinds(report) == ["content-encoding-mismatch"] and report.ok
    assert f"Content-Encoding: {coding}" in report.warnings[0].message and "<!doctype" in report.warnings[0].message


def test_genuine_deflate_bodies_pass(tmp_path: Path) -> None:
    writer = WarcFileWriter(tmp_path, host="test")
    for name, body in (("zlib", zlib.compress(HTML)), ("raw", zlib.compress(HTML, wbits=-15))):
        writer.write_exchange(exchange(f"http://example.test/{name}", body, [("Content-Encoding", "deflate")]))
    writer.close()
    assert verify_files([tmp_path / writer.closed_files[0]])[0].findings() == []


def test_http_content_length_disagreeing_with_the_body(warc: Warc, tmp_path: Path) -> None:
    index = member_of(warc.path, warc.responses[0].offset)
    damaged = edit_record(members(warc.path)[index][1],
                          block=lambda b: b.replace(f"Content-Length: {len(HTML)}".encode(), b"Content-Length: 99", 1))
    (report,) = verify_files([replace_member(warc.path, index, damaged, tmp_path / "cl.warc.gz")])
    assert kinds(report) == ["content-length-mismatch"] and report.ok
    assert f"Content-Length is 99 but the stored body has {len(HTML)} bytes" in report.warnings[0].message


def test_truncated_records_are_not_held_to_their_headers(warc: Warc, tmp_path: Path) -> None:
    # The "cut" exchange claims gzip and 99999 bytes; marked WARC-Truncated, it passes (see the clean test).
    index = member_of(warc.path, warc.responses[4].offset)
    damaged = edit_record(members(warc.path)[index][1], head=lambda h: h.replace(b"WARC-Truncated", b"X-Truncated"))
    (report,) = verify_files([replace_member(warc.path, index, damaged, tmp_path / "cut.warc.gz")])
    assert sorted(kinds(report)) == ["content-encoding-mismatch", "content-length-mismatch"]


# -- the manifest's summary -----------------------------------------------------------------------------------
def test_summary_for_the_manifest(warc: Warc, tmp_path: Path) -> None:
    clean = summarise(verify_files([warc.path], deep=False))
    assert clean == {"files": 1, "records": warc.records, "faults": [], "warnings": [], "ok": True}
    parts = members(warc.path)
    copy = tmp_path / "dups.warc.gz"
    copy.write_bytes(b"".join(m for _, m in parts) * 3)
    summary = summarise(verify_files([warc.path, copy], deep=False))
    assert summary["ok"] is False and summary["files"] == 2 and summary["records"] == warc.records * 4
    assert len(summary["faults"]) == 20
    assert summary["faults"][0]["file"] == "dups.warc.gz" and summary["faults"][0]["kind"] == "duplicate-id"


def test_unreadable_and_empty_files(tmp_path: Path) -> None:
    empty = tmp_path / "empty.warc.gz"
    empty.touch()
    assert kinds(verify_warc(empty)) == ["framing"]
    gone = verify_warc(tmp_path / "gone.warc.gz")
    assert kinds(gone) == ["unreadable"] and not gone.ok


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
