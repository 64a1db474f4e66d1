"""storage.repair: a WARC or pages.jsonl torn anywhere by a killed crawl is cut back to what was whole, and
nothing else is ever cut."""

from __future__ import annotations

import json
import os
import struct
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from warcio.archiveiterator import ArchiveIterator

from scraper.storage.jsonl import iter_jsonl
from scraper.storage.layout import OPEN_SUFFIX
from scraper.storage.repair import JsonlRepair, WarcRepair, repair_crawl_dir, repair_jsonl, repair_warc
from scraper.storage.verify import verify_files
from scraper.storage.warc import WarcFileWriter, iter_records, metadata_uri
from tests.unit.storage.helpers import MOMENT, edit_record, exchange, members, replace_member, write_warc

REPO = Path(__file__).resolve().parents[3]
GZIP_HEADER = 10  # magic, method, flags, mtime, xfl, os: what zlib writes
GZIP_TRAILER = 8  # CRC32 and ISIZE


@dataclass(frozen=True)
class Original:
    """A WARC as our writer closes it, and what a crash could have left of it."""

    name: str  # NAME.warc.gz
    data: bytes
    starts: list[int]  # offsets of its gzip members (one record each)
    ids: list[str]  # record ids, in file order
    types: list[str]

    def end_of(self, index: int) -> int:
        return self.starts[index + 1] if index + 1 < len(self.starts) else len(self.data)

    def kept_at(self, cut: int) -> tuple[int, int, int]:
        """What a repair of a copy cut at ``cut`` keeps: (records, their end, requests cut for their lost response).

        The writer writes a request, then its response: a request whose response is not whole is cut too.
        """
        whole = sum(1 for index in range(len(self.starts)) if self.end_of(index) <= cut)
        unlinked = 1 if whole and self.types[whole - 1] == "request" else 0
        kept = whole - unlinked
        return kept, self.starts[kept] if kept < len(self.starts) else len(self.data), unlinked

    def at_boundary(self, cut: int) -> bool:
        return cut in self.starts or cut == len(self.data)

    def torn_copy(self, folder: Path, cut: int) -> Path:
        """The file a crawl killed after writing ``cut`` bytes leaves: still ``.open``."""
        folder.mkdir(parents=True)
        path = folder / (self.name + OPEN_SUFFIX)
        path.write_bytes(self.data[:cut])
        return path


@pytest.fixture(scope="module")
def original(tmp_path_factory: pytest.TempPathFactory) -> Original:
    warc = write_warc(tmp_path_factory.mktemp("original"))
    starts = [offset for offset, _ in members(warc.path)]
    records = list(iter_records(warc.path))
    assert len(starts) == len(records) == warc.records > 3
    assert [r.rec_type for r in records][-2:] == ["request", "revisit"]
    return Original(warc.path.name, warc.path.read_bytes(), starts, [r.record_id for r in records],
                    [r.rec_type for r in records])


def warcio_ids(path: Path) -> list[str]:
    """Record ids as warcio reads them, every block read through and its digests checked."""
    ids = []
    with open(path, "rb") as fh:
        for record in ArchiveIterator(fh, check_digests="raise"):
            record.raw_stream.read()
            ids.append(record.rec_headers.get_header("WARC-Record-ID"))
    return ids


def files_in(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def assert_cut_back(original: Original, path: Path, cut: int, result: WarcRepair) -> None:
    """After repairing a copy torn at ``cut``: only whole members are kept, the rest is in the sidecar, and the
    file verifies and reads as the original's first records under its final name."""
    folder = path.parent
    index, keep, unlinked = original.kept_at(cut)
    if cut > keep:  # a torn member, or a request whose response is not whole: cut
        assert result.cut_offset == keep and result.cut_length == cut - keep, cut
        sidecar = folder / f"{original.name}.torn-{keep}"
        assert result.sidecar == sidecar and sidecar.read_bytes() == original.data[keep:cut], cut
        assert result.unlinked == unlinked and result.torn == (not original.at_boundary(cut)), cut
    else:  # exactly at the end of a whole exchange: nothing to cut
        assert result.cut_offset is None and result.sidecar is None and result.cut_length == 0, cut
        assert files_in(folder) == [original.name]
    assert result.refused is None and result.changed
    assert not path.exists(), cut
    final = folder / original.name
    assert result.new_path == final and result.kept_bytes == keep and result.records_kept == index, cut
    assert final.read_bytes() == original.data[:keep], cut
    (report,) = verify_files([final])
    assert report.ok and report.faults == [] and report.records == index, (cut, report.faults)
    assert warcio_ids(final) == original.ids[:index], cut
    assert not [name for name in files_in(folder) if name.endswith(".tmp")]


# -- torn WARCs ------------------------------------------------------------------------------------------
def test_a_cut_at_every_offset_inside_the_last_member_is_cut_back(original: Original, tmp_path: Path) -> None:
    last = original.starts[-1]
    cuts = range(last + 1, len(original.data))
    assert len(cuts) > GZIP_HEADER + GZIP_TRAILER + 100  # header, deflate data and trailer all covered
    request = original.starts[-2]  # the revisit's
    for cut in cuts:
        path = original.torn_copy(tmp_path / str(cut), cut)
        if cut % 8 == 0 or cut in (cuts[0], cuts[-1]):  # verify sees the tear (sampled: the repairs take long)
            before = verify_files([path])[0]
            assert not before.ok and "gzip-member" in [f.kind for f in before.faults]
        result = repair_warc(path)
        assert_cut_back(original, path, cut, result)
        assert result.cut_offset == request and result.unlinked == 1 and result.torn
        assert result.describe().startswith(
            f"repaired {path}: cut {cut - request} bytes of a torn record at offset {request} (saved to "
            f"{path.parent / original.name}.torn-{request}), with 1 whole record linked to it; "
            f"{len(original.starts) - 2} records kept, closed as {path.parent / original.name}")


@pytest.mark.parametrize("where", ["header", "data", "trailer"])
def test_a_cut_inside_any_member_keeps_the_members_before_it(original: Original, tmp_path: Path,
                                                             where: str) -> None:
    for index in range(1, len(original.starts)):
        start, end = original.starts[index], original.end_of(index)
        cuts = {"header": range(start + 1, start + GZIP_HEADER + 1), "data": [(start + end) // 2],
                "trailer": range(end - GZIP_TRAILER, end)}[where]
        for cut in cuts:
            path = original.torn_copy(tmp_path / f"{index}-{cut}", cut)
            assert_cut_back(original, path, cut, repair_warc(path))


def test_a_cut_exactly_at_a_member_boundary_cuts_only_a_request_left_without_response(original: Original,
                                                                                     tmp_path: Path) -> None:
    """A kill between two writes tears nothing, but between a request and its response it leaves half an
    exchange, whose request `verify` would call a broken link."""
    for index, cut in enumerate([*original.starts[1:], len(original.data)], start=1):
        path = original.torn_copy(tmp_path / str(cut), cut)
        result = repair_warc(path)
        assert_cut_back(original, path, cut, result)
        if original.types[index - 1] == "request":
            assert result.unlinked == 1 and not result.torn and result.cut_offset == original.starts[index - 1]
            assert "bytes of a record linked to a lost record at offset" in result.describe()
        else:
            assert result.unlinked == 0 and result.cut_offset is None
            assert "no torn record" in result.describe()


def test_a_torn_warcinfo_alone_is_saved_whole_and_the_file_removed(original: Original, tmp_path: Path) -> None:
    for cut in (1, 2, GZIP_HEADER, original.starts[1] // 2, original.starts[1] - 1):
        path = original.torn_copy(tmp_path / str(cut), cut)
        result = repair_warc(path)
        sidecar = path.parent / f"{original.name}.torn-0"
        assert result.refused is None and result.new_path is None and result.records_kept == 0
        assert result.cut_offset == 0 and result.cut_length == cut and result.sidecar == sidecar
        assert files_in(path.parent) == [sidecar.name] and sidecar.read_bytes() == original.data[:cut]
        assert "the file is removed" in result.describe()


def test_an_empty_open_file_is_removed(tmp_path: Path) -> None:
    path = tmp_path / "scraper-x.warc.gz.open"
    path.write_bytes(b"")
    result = repair_warc(path)
    assert result.new_path is None and result.sidecar is None and result.cut_offset is None and result.changed
    assert files_in(tmp_path) == []


def test_a_whole_open_file_is_only_renamed_and_a_closed_one_left_alone(original: Original, tmp_path: Path) -> None:
    path = original.torn_copy(tmp_path / "crawl", len(original.data))
    first = repair_warc(path)
    assert first.new_path == tmp_path / "crawl" / original.name and first.changed
    again = repair_warc(first.new_path)
    assert again.new_path == first.new_path and not again.changed and again.refused is None
    assert again.describe().endswith("nothing to repair")
    assert first.new_path.read_bytes() == original.data


def test_a_closed_torn_file_is_cut_in_place(original: Original, tmp_path: Path) -> None:
    path = tmp_path / original.name
    cut = original.starts[-2] + 7
    path.write_bytes(original.data[:cut])
    result = repair_warc(path)
    assert result.new_path == path and result.cut_offset == original.starts[-2]
    assert path.read_bytes() == original.data[:original.starts[-2]]
    assert (tmp_path / f"{original.name}.torn-{original.starts[-2]}").read_bytes() == original.data[
        original.starts[-2]:cut]


# -- what is not a torn tail is never cut ------------------------------------------------------------------
def assert_untouched(path: Path, data: bytes, result: WarcRepair, words: str) -> None:
    assert result.refused is not None and words in result.refused, result.refused
    assert not result.changed and result.new_path == path and result.cut_offset is None
    assert path.read_bytes() == data
    assert files_in(path.parent) == [path.name]
    assert result.describe().startswith(f"cannot repair {path}: ")


def test_a_corrupt_member_followed_by_valid_ones_is_not_repairable(original: Original, tmp_path: Path) -> None:
    for index in (1, len(original.starts) // 2):
        start = original.starts[index]
        data = bytearray(original.data)
        data[start + 30] ^= 0xFF  # inside the deflate data: fails to inflate, or fails its CRC
        path = original.torn_copy(tmp_path / str(index), 0)
        path.write_bytes(bytes(data))
        assert_untouched(path, bytes(data), repair_warc(path), "not a torn tail: gzip-member")


def test_a_corrupt_last_member_is_not_a_torn_one(original: Original, tmp_path: Path) -> None:
    """Whole but wrong: a bad CRC, or a complete member whose record is not framed, is damage, not a tear."""
    crc = bytearray(original.data)
    crc[-GZIP_TRAILER] ^= 0x01
    path = original.torn_copy(tmp_path / "crc", 0)
    path.write_bytes(bytes(crc))
    assert_untouched(path, bytes(crc), repair_warc(path), "incorrect data check")
    source = tmp_path / "source" / original.name
    source.parent.mkdir()
    source.write_bytes(original.data)
    (tmp_path / "framing").mkdir()
    last = members(source)[-1][1]
    framing = replace_member(source, len(original.starts) - 1, edit_record(last, fix_length=False,
                                                                            block=lambda b: b + b"x"),
                             tmp_path / "framing" / (original.name + OPEN_SUFFIX))
    data = framing.read_bytes()
    assert_untouched(framing, data, repair_warc(framing), "not a torn tail: framing")


def test_a_member_cut_short_in_the_middle_is_not_repairable(original: Original, tmp_path: Path) -> None:
    """A member whose bytes run on without error to the end of the file, but with complete members inside them:
    the damage is in the middle, however torn it looks."""
    # A gzip header, then a stored deflate block declaring 65535 bytes: everything after it inflates as its data.
    stored = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff" + b"\x00" + struct.pack("<HH", 0xFFFF, 0x0000)
    middle = original.starts[3]
    data = original.data[:middle] + stored + b"WARC/1.1\r\n" + original.data[middle:]
    assert len(data) - middle < 0xFFFF
    path = original.torn_copy(tmp_path / "crawl", 0)
    path.write_bytes(data)
    assert_untouched(path, data, repair_warc(path), "a complete member follows")


def test_trailing_bytes_that_are_no_gzip_member_are_not_cut(original: Original, tmp_path: Path) -> None:
    data = original.data + b"\x00" * 512  # what a power cut (not a kill) can leave
    path = original.torn_copy(tmp_path / "crawl", 0)
    path.write_bytes(data)
    assert_untouched(path, data, repair_warc(path), "no gzip member starts here")


def test_an_existing_final_name_is_never_replaced(original: Original, tmp_path: Path) -> None:
    cut = len(original.data) - 3
    path = original.torn_copy(tmp_path / "crawl", cut)
    other = path.parent / original.name
    other.write_bytes(b"another file")
    result = repair_warc(path)
    assert result.refused is not None and "already exists" in result.refused and not result.changed
    assert path.read_bytes() == original.data[:cut] and other.read_bytes() == b"another file"
    assert files_in(path.parent) == sorted([path.name, other.name])


def test_a_sidecar_left_by_an_interrupted_repair_is_reused_and_another_never_replaced(original: Original,
                                                                                     tmp_path: Path) -> None:
    last, cut = original.starts[-2], len(original.data) - 20
    same = original.torn_copy(tmp_path / "same", cut)
    (same.parent / f"{original.name}.torn-{last}").write_bytes(original.data[last:cut])
    assert_cut_back(original, same, cut, repair_warc(same))
    other = original.torn_copy(tmp_path / "other", cut)
    sidecar = other.parent / f"{original.name}.torn-{last}"
    foreign = bytes(reversed(original.data[last:cut]))  # as long as the tail, but not it
    sidecar.write_bytes(foreign)
    result = repair_warc(other)
    assert result.refused is not None and "holds other bytes" in result.refused
    assert other.read_bytes() == original.data[:cut] and sidecar.read_bytes() == foreign


def test_a_plain_or_foreign_file_is_refused(tmp_path: Path) -> None:
    for name in ("x.warc.open", "notes.txt"):
        path = tmp_path / name
        path.write_bytes(b"WARC/1.1\r\n")
        result = repair_warc(path)
        assert result.refused is not None and "not a .warc.gz file" in result.refused
        assert path.read_bytes() == b"WARC/1.1\r\n"


KILLED_WRITER = """
import os, signal, sys
from datetime import UTC, datetime
from pathlib import Path
from scraper.storage.warc import HttpExchange, WarcFileWriter
writer = WarcFileWriter(Path(sys.argv[1]), host="test")
for n in range(3):
    writer.write_exchange(HttpExchange(
        url=f"http://example.test/{n}", method="GET", request_headers=[("Host", "example.test")], request_body=b"",
        protocol="HTTP/1.1", status=200, reason="OK", response_headers=[("Content-Type", "text/plain")],
        response_body=b"body %d " % n * 200, fetched_at=datetime(2024, 3, 1, tzinfo=UTC)))
writer.flush()
os.kill(os.getpid(), signal.SIGKILL)
"""


def test_the_open_file_of_a_killed_writer_is_repaired_and_closed(tmp_path: Path) -> None:
    folder = tmp_path / "crawl"
    proc = subprocess.run([sys.executable, "-c", KILLED_WRITER, str(folder)], cwd=REPO, capture_output=True,
                          env={**os.environ, "PYTHONPATH": str(REPO)})
    assert proc.returncode == -9, proc.stderr
    (path,) = folder.iterdir()
    assert path.name.endswith(".warc.gz.open")
    whole = path.read_bytes()
    starts = [offset for offset, _ in members(path)]
    assert len(starts) == 7  # warcinfo, then three request + response pairs
    path.write_bytes(whole[:-25])  # and the last write torn
    result = repair_warc(path)
    final = folder / path.name.removesuffix(OPEN_SUFFIX)
    # The last response torn: its request, two members back, goes with it.
    assert result.new_path == final and result.records_kept == 5 and result.cut_offset == starts[-2]
    assert final.read_bytes() == whole[:starts[-2]]
    assert (folder / f"{final.name}.torn-{starts[-2]}").read_bytes() == whole[starts[-2]:-25]
    assert verify_files([final])[0].ok and len(warcio_ids(final)) == 5


def test_a_metadata_record_linking_back_to_the_previous_file_is_kept(tmp_path: Path) -> None:
    """Only a request's link is forward (to the response written next, in the same file): a metadata record
    that names a response in the crawl's previous WARC (the file rotated between them) is no half exchange."""
    folder = tmp_path / "crawl"
    writer = WarcFileWriter(folder, host="test", max_bytes=1)  # every call starts a new file
    response = writer.write_exchange(exchange("http://example.test/plain")).response
    writer.write_metadata(metadata_uri("http://example.test/plain"), response.record_id, b"{}", "application/json",
                          MOMENT)
    writer.close()
    first, second = (folder / name for name in writer.closed_files)
    still_open = second.rename(folder / (second.name + OPEN_SUFFIX))
    result = repair_warc(still_open)
    assert result.new_path == second and result.records_kept == 2 and result.cut_offset is None
    assert [r.ok for r in verify_files([first, second])] == [True, True]


# -- torn JSON Lines -------------------------------------------------------------------------------------
LINES = [json.dumps({"url": f"http://example.test/{n}", "title": "Grüße " * n}, ensure_ascii=False) + "\n"
         for n in range(4)]
WHOLE = "".join(LINES).encode("utf-8")


@pytest.mark.parametrize("tail", [
    b'{"url": "http://example.test/4", "tit',  # cut mid-line
    b'{"url": "http://example.test/4"}',  # cut just before its newline
    b'{"url": "http://example.test/4", "title": "Gr\xc3',  # cut inside a UTF-8 character
    b'{"url": "http://ex\n',  # a newline, but not JSON
    b'["not", "an object"]\n',
    b"{",
])
def test_a_torn_last_line_is_moved_to_a_sidecar(tmp_path: Path, tail: bytes) -> None:
    path = tmp_path / "pages.jsonl"
    path.write_bytes(WHOLE + tail)
    result = repair_jsonl(path)
    sidecar = tmp_path / f"pages.jsonl.torn-{len(WHOLE)}"
    assert result == JsonlRepair(path, len(WHOLE), len(LINES), len(WHOLE), len(tail), sidecar)
    assert path.read_bytes() == WHOLE and sidecar.read_bytes() == tail
    assert [r["url"] for r in iter_jsonl(path)] == [f"http://example.test/{n}" for n in range(4)]
    assert result.describe() == (f"repaired {path}: cut {len(tail)} bytes of a torn line at offset {len(WHOLE)} "
                                 f"(saved to {sidecar}); 4 lines kept")
    assert not repair_jsonl(path).changed  # and done once for all


@pytest.mark.parametrize("data", [WHOLE, WHOLE + b"\n", b"", WHOLE[:len(LINES[0])] + b"{broken\n" + WHOLE])
def test_whole_lines_are_never_cut(tmp_path: Path, data: bytes) -> None:
    """Nor a bad line before the last: a crash tears only the line being written, so that is other damage."""
    path = tmp_path / "pages.jsonl"
    path.write_bytes(data)
    result = repair_jsonl(path)
    assert not result.changed and result.refused is None and result.cut_offset is None
    assert result.kept_bytes == len(data) and result.lines_kept == data.count(b"\n")
    assert path.read_bytes() == data and files_in(tmp_path) == ["pages.jsonl"]


def test_a_lone_torn_line_and_lines_longer_than_a_read_chunk(tmp_path: Path) -> None:
    path = tmp_path / "pages.jsonl"
    path.write_bytes(b'{"url": "http://exa')
    result = repair_jsonl(path)
    assert result.cut_offset == 0 and result.lines_kept == 0 and path.read_bytes() == b""
    long_line = (json.dumps({"text": "x" * (3 << 20)}) + "\n").encode()
    path.write_bytes(long_line + long_line[:(5 << 19)])
    result = repair_jsonl(path)
    assert result.cut_offset == len(long_line) and result.cut_length == 5 << 19 and result.lines_kept == 1
    assert path.read_bytes() == long_line
    assert (tmp_path / f"pages.jsonl.torn-{len(long_line)}").read_bytes() == long_line[:(5 << 19)]


# -- a crawl folder --------------------------------------------------------------------------------------
def test_repair_crawl_dir_repairs_the_open_warcs_and_pages_and_leaves_closed_warcs(original: Original,
                                                                                   tmp_path: Path) -> None:
    folder = tmp_path / "crawls" / "20240301T123045Z-abcdef"
    torn = original.torn_copy(folder, len(original.data) - 30)
    clean_name = original.name.replace("-00001-", "-00002-")
    (folder / (clean_name + OPEN_SUFFIX)).write_bytes(original.data)
    closed_name = original.name.replace("-00001-", "-00000-")
    closed_torn = original.data[:-30]  # not ours to cut: a closed file was fsynced whole
    (folder / closed_name).write_bytes(closed_torn)
    (folder / "pages.jsonl").write_bytes(WHOLE + b'{"url"')
    results = repair_crawl_dir(folder)
    assert [type(r) for r in results] == [WarcRepair, WarcRepair, JsonlRepair]
    assert all(r.changed and r.refused is None for r in results)
    by_path = {r.path: r for r in results}
    assert by_path[torn].cut_offset == original.starts[-2]
    assert by_path[folder / "pages.jsonl"].cut_offset == len(WHOLE)
    assert files_in(folder) == sorted([original.name, clean_name, closed_name, "pages.jsonl", "pages.jsonl.torn-"
                                       + str(len(WHOLE)), f"{original.name}.torn-{original.starts[-2]}"])
    assert (folder / closed_name).read_bytes() == closed_torn
    assert (folder / clean_name).read_bytes() == original.data
    # Nothing .open is left, nothing torn: a second run changes nothing.
    assert repair_crawl_dir(folder) == [JsonlRepair(folder / "pages.jsonl", len(WHOLE), len(LINES))]

