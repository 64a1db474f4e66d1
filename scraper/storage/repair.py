"""Repair what a killed crawl leaves behind: a ``.open`` WARC with a torn last record, a torn last JSONL line.

A crawl killed with SIGKILL (or by the OOM killer) never closes its WARC: the file keeps its
``.open`` name, and its last gzip member may be cut anywhere, even inside the gzip header or
trailer.  Its ``pages.jsonl`` may end in half a line.  Everything before the tear is sound:
the writer appends one gzip member per record in one write, and one JSONL line per write.

The repair cuts off the torn tail and nothing else:

* The cut bytes are first copied to a sidecar, ``NAME.warc.gz.torn-<offset>`` (or
  ``pages.jsonl.torn-<offset>``), and fsynced; only then is the file truncated and fsynced,
  so a crash during the repair loses nothing either, and running it again finishes the job.
  Nothing is ever thrown away: the sidecar holds exactly the bytes that were cut.
* Everything before the cut stays byte for byte as it was: offsets in CDXJ indexes and in
  page records' ``warc`` pointers stay valid.
* A repaired ``.open`` WARC is renamed to its final name, as the writer would have done on
  close; an existing file of that name is never replaced (the repair is refused).
* Only a *torn tail* is cut: the file ends inside a member, and every byte of that member
  up to the end inflates without error, and no complete member follows it.  Damage of any
  other kind (a corrupt member, a complete member whose record is not framed, valid members
  after a bad one) is not what a crash leaves: the file is left untouched and reported as
  not repairable, for ``scraper verify`` to describe.
* Half an exchange goes with the tear.  The writer writes a request, then (a second write,
  always to the same file) the response or revisit the request names in WARC-Concurrent-To:
  a crash between the two, or inside the second, leaves a whole request linked to a record
  that is not in the file, which ``scraper verify`` rightly calls a broken link.  Such a
  request at the end of what is kept is cut with the torn tail (the exchange was never
  archived whole; the request is kept in the sidecar).  Only requests: other records link
  back to records written before them, maybe in the crawl's previous file.
* A WARC with no complete record left (only a torn warcinfo) keeps nothing: its bytes go
  to ``.torn-0`` and the file is removed, since an empty WARC is not a WARC and no reader
  can use half a warcinfo.  An empty file (0 bytes, a crawl killed right after creating
  it) is removed: there is nothing to save.

The member walk is :func:`scraper.storage.verify.iter_members`, the verifier's own, so that
what the repair keeps is exactly what ``scraper verify`` then passes.  Pure: no Scrapy, no
warcio.  Never run it on a crawl that is still writing: a live ``.open`` file looks torn.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from scraper.storage.durable import fsync_path, move_no_replace
from scraper.storage.jsonl import parse_line
from scraper.storage.layout import (
    GZIPPED_WARC_SUFFIX,
    OPEN_SUFFIX,
    PAGES_FILE,
    OutsideRoot,
    check_inside_root,
    is_crawl_locked,
    is_open_warc_name,
    is_warc_name,
    root_of,
)
from scraper.storage.verify import CHUNK, MemberScan, find_warcs, iter_members

RUNNING = "a running crawl is writing it (its crawl folder is locked)"
TORN_SUFFIX = ".torn-"  # + the offset the cut bytes came from


class _Refused(Exception):
    """The repair would replace or contradict a file already there: nothing has been changed."""


def _cut_message(path: Path, what: str, length: int, offset: int, sidecar: Path | None) -> str:
    return f"repaired {path}: cut {length} bytes of a {what} at offset {offset} (saved to {sidecar})"


@dataclass(frozen=True)
class WarcRepair:
    """What :func:`repair_warc` did to one WARC file.

    When ``refused`` is set nothing was changed: ``new_path`` is ``path``, ``kept_bytes`` its
    size and ``records_kept`` the records before the damage.
    """

    path: Path  # the file as found
    new_path: Path | None  # where its records are now (the final name for an .open file); None: nothing was left
    kept_bytes: int
    records_kept: int
    cut_offset: int | None = None  # where the torn tail began; None when nothing was cut
    cut_length: int = 0
    sidecar: Path | None = None  # the cut bytes
    refused: str | None = None  # why the file was left untouched
    unlinked: int = 0  # whole records cut too: the first half of an exchange whose other half was lost
    torn: bool = False  # whether the cut bytes end in a torn member (else they are only unlinked records)

    @property
    def changed(self) -> bool:
        return self.refused is None and (self.cut_offset is not None or self.new_path != self.path)

    def describe(self) -> str:
        """One line for ``scraper verify --repair``."""
        if self.refused is not None:
            return f"cannot repair {self.path}: {self.refused}"
        kept = (f"{self.records_kept} records kept" + (f", closed as {self.new_path}"
                                                       if self.new_path != self.path else "")
                if self.new_path is not None else "no complete record was left, so the file is removed")
        if self.cut_offset is not None:
            what = "torn record" if self.torn else f"record{'s' if self.unlinked > 1 else ''} linked to a lost record"
            also = (f", with {self.unlinked} whole record{'s' if self.unlinked > 1 else ''} linked to it"
                    if self.torn and self.unlinked else "")
            return _cut_message(self.path, what, self.cut_length, self.cut_offset, self.sidecar) + f"{also}; {kept}"
        if self.new_path is None:
            return f"repaired {self.path}: the file is empty; removed"
        if self.new_path != self.path:
            return f"repaired {self.path}: no torn record; {kept}"
        return f"{self.path}: nothing to repair"


@dataclass(frozen=True)
class JsonlRepair:
    """What :func:`repair_jsonl` did to one JSON Lines file (``refused``: nothing was changed)."""

    path: Path
    kept_bytes: int
    lines_kept: int  # lines before the cut, blank ones included
    cut_offset: int | None = None
    cut_length: int = 0
    sidecar: Path | None = None
    refused: str | None = None

    @property
    def changed(self) -> bool:
        return self.refused is None and self.cut_offset is not None

    def describe(self) -> str:
        """One line for ``scraper verify --repair``."""
        if self.refused is not None:
            return f"cannot repair {self.path}: {self.refused}"
        if self.cut_offset is not None:
            return (_cut_message(self.path, "torn line", self.cut_length, self.cut_offset, self.sidecar)
                    + f"; {self.lines_kept} lines kept")
        return f"{self.path}: nothing to repair"


Repair = WarcRepair | JsonlRepair


# -- durable file operations -----------------------------------------------------------------------------
def _same_bytes(fh: BinaryIO, start: int, size: int, other: Path) -> bool:
    """Whether ``other`` holds exactly the bytes ``[start, size)`` of ``fh``."""
    if other.stat().st_size != size - start:
        return False
    fh.seek(start)
    with open(other, "rb") as saved:
        while True:
            chunk = saved.read(CHUNK)
            if chunk != fh.read(len(chunk)):
                return False
            if not chunk:
                return True


def _save_tail(fh: BinaryIO, start: int, size: int, sidecar: Path) -> None:
    """Copy ``[start, size)`` to ``sidecar`` durably, before anything is cut.

    Through a temporary file and a no-replace rename, so a sidecar is always whole.  One left
    by an interrupted earlier repair with the same bytes is kept; one with other bytes is
    never replaced (:class:`_Refused`).
    """
    if sidecar.exists():
        if _same_bytes(fh, start, size, sidecar):
            return
        raise _Refused(f"{sidecar} already exists and holds other bytes")
    tmp = sidecar.with_name(sidecar.name + ".tmp")
    tmp.unlink(missing_ok=True)  # left by an interrupted repair (or a link planted there): never written through
    fh.seek(start)
    with open(tmp, "xb") as out:
        remaining = size - start
        while remaining:
            chunk = fh.read(min(CHUNK, remaining))
            if not chunk:
                raise OSError(f"the file shrank while its tail was copied to {tmp}")
            out.write(chunk)
            remaining -= len(chunk)
        out.flush()
        os.fsync(out.fileno())
    try:
        move_no_replace(tmp, sidecar)
    except FileExistsError:
        tmp.unlink()
        raise _Refused(f"{sidecar} already exists") from None


def _cut(path: Path, start: int, sidecar: Path) -> int:
    """Save the bytes from ``start`` to the end in ``sidecar``, then truncate ``path`` there; the length cut."""
    with open(path, "r+b") as fh:
        size = os.fstat(fh.fileno()).st_size
        _save_tail(fh, start, size, sidecar)
        fh.truncate(start)
        fh.flush()
        os.fsync(fh.fileno())
    return size - start


# -- WARC ------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Scan:
    kept_bytes: int  # the end of what is kept: whole, framed members before any damage, less unlinked ones
    records: int
    size: int
    torn: bool = False  # the bytes after the whole members are a torn member
    unlinked: int = 0  # whole records at the end cut for linking to a record that is not kept
    problem: str | None = None  # why the damage is not a torn tail


@dataclass(frozen=True)
class _Kept:
    """A whole member before the tear, with what its records are called and what its requests link to."""

    offset: int
    records: int
    ids: list[str]
    requests_to: list[str]  # the WARC-Concurrent-To targets of its request records: their responses


def _without_unlinked(kept: list[_Kept]) -> int:
    """How many members to drop from the end of ``kept``: requests whose response is not in the file.

    Only from the end, where a crash leaves half an exchange; a broken link before the last
    whole record is other damage, for ``scraper verify`` to report.
    """
    ids = {record_id for member in kept for record_id in member.ids}
    dropped = 0
    while dropped < len(kept) and any(t not in ids for t in kept[-1 - dropped].requests_to):
        ids.difference_update(kept[-1 - dropped].ids)
        dropped += 1
    return dropped


def _scan_warc(path: Path) -> _Scan:
    """Where the sound prefix ends, and whether everything after it is a torn tail."""
    kept: list[_Kept] = []
    end = 0
    bad: MemberScan | None = None
    with open(path, "rb") as fh:
        size = os.fstat(fh.fileno()).st_size
        # The walk resumes after damage at every plausible member: a complete one after the damage
        # means the damage is in the middle of the file, not a torn end.
        for member in iter_members(fh):
            if bad is None and member.framed:
                kept.append(_Kept(member.offset, len(member.records),
                                  [r.record_id for r in member.records if r.record_id],
                                  [t.strip() for r in member.records if r.rec_type == "request"
                                   for t in r.get_all("WARC-Concurrent-To")]))
                end = member.next_offset
            elif bad is None:
                bad = member
                if not member.torn:
                    return _Scan(end, _count(kept), size, problem=f"not a torn tail: {member.faults[0].describe()}")
            elif member.complete or member.gave_up:  # a member follows the tear, or may: not a torn tail
                return _Scan(end, _count(kept), size,
                             problem=f"not a torn tail: the gzip member at offset {bad.offset} is cut short, but "
                                     + (f"a complete member follows at offset {member.offset}" if member.complete
                                        else member.faults[0].describe()))
    dropped = _without_unlinked(kept)
    if dropped:
        unlinked = _count(kept[-dropped:])
        kept, end = kept[:-dropped], kept[-dropped].offset
        return _Scan(end, _count(kept), size, torn=bad is not None, unlinked=unlinked)
    return _Scan(end, _count(kept), size, torn=bad is not None)


def _count(members: list[_Kept]) -> int:
    return sum(member.records for member in members)


def _warc_name(path: Path) -> str | None:
    """The final name of a WARC file (without ``.open``), or None when the name is not a WARC's."""
    if is_open_warc_name(path.name):
        return path.name.removesuffix(OPEN_SUFFIX)
    return path.name if is_warc_name(path.name) else None


def _outside(paths: list[Path], root: Path | None) -> str | None:
    """Why writing ``paths`` would leave the archive root (see :func:`check_inside_root`), or None.

    Without a root given, the root is the one the path is listed in (``<root>/crawls/<id>/``), else
    its own folder: a file outside any archive may still not be a link to another folder's file.
    """
    for path in paths:
        try:
            check_inside_root(path, root or root_of(path) or Path(os.path.abspath(path)).parent)
        except OutsideRoot as exc:  # "cannot repair LINK: it is a link to ...", the link named once
            return f"it {exc.what()}" if exc.link == Path(os.path.abspath(path)) else str(exc)
    return None


def repair_warc(path: Path, *, check_lock: bool = True, root: Path | None = None) -> WarcRepair:
    """Cut the torn tail off a ``.warc.gz.open`` (or ``.warc.gz``) file, and close an ``.open`` one.

    Keeps every member up to the last complete, CRC-checked one whose records are framed, less
    a last request whose response is not in the file (half an exchange); the bytes after that
    are moved to ``NAME.warc.gz.torn-<offset>`` when they are a torn tail (or only such a
    request), and the file is refused (left untouched, ``refused`` says why) when they are
    anything else.
    An ``.open`` file is then renamed to ``NAME.warc.gz`` (refused when that name is taken).
    I/O errors (a missing or unwritable file) raise :class:`OSError`.
    """
    name = _warc_name(path)
    if name is None or not name.endswith(GZIPPED_WARC_SUFFIX):
        return WarcRepair(path, path, 0, 0, refused="not a .warc.gz file (only gzipped WARCs can be repaired)")
    final = path.with_name(name)
    outside = _outside([path, final], root)  # the file truncated, and the name it is renamed to
    if outside is not None:
        return WarcRepair(path, path, 0, 0, refused=outside)
    if check_lock and is_crawl_locked(path.parent):  # the caller may hold the lock itself (a resume)
        return WarcRepair(path, path, 0, 0, refused=RUNNING)
    scan = _scan_warc(path)

    def refuse(reason: str) -> WarcRepair:
        return WarcRepair(path, path, scan.size, scan.records, refused=reason)

    if scan.problem is not None:
        return refuse(scan.problem)
    keeps = scan.kept_bytes > 0
    if keeps and final != path and final.exists() and not final.samefile(path):
        return refuse(f"{final} already exists: it is never replaced")
    cut_offset, cut_length, sidecar = None, 0, None
    if scan.kept_bytes < scan.size:
        cut_offset, sidecar = scan.kept_bytes, path.with_name(f"{name}{TORN_SUFFIX}{scan.kept_bytes}")
        try:
            cut_length = _cut(path, scan.kept_bytes, sidecar)
        except _Refused as exc:
            return refuse(str(exc))
    if not keeps:  # nothing but a torn warcinfo (now in the sidecar), or an empty file
        path.unlink()
        fsync_path(path.parent)
        return WarcRepair(path, None, 0, 0, cut_offset, cut_length, sidecar, unlinked=scan.unlinked, torn=scan.torn)
    if final != path:
        move_no_replace(path, final)
    return WarcRepair(path, final, scan.kept_bytes, scan.records, cut_offset, cut_length, sidecar,
                      unlinked=scan.unlinked, torn=scan.torn)


# -- JSON Lines ------------------------------------------------------------------------------------------
def _last_line_start(fh: BinaryIO, size: int) -> int:
    """Offset of the file's last line: after the last newline that is not the file's final byte."""
    if size == 0:
        return 0
    fh.seek(size - 1)
    position = size - 1 if fh.read(1) == b"\n" else size
    while position > 0:
        step = min(CHUNK, position)
        fh.seek(position - step)
        found = fh.read(step).rfind(b"\n")
        if found >= 0:
            return position - step + found + 1
        position -= step
    return 0


def _count_lines(fh: BinaryIO, end: int) -> int:
    fh.seek(0)
    count, remaining = 0, end
    while remaining:
        chunk = fh.read(min(CHUNK, remaining))
        if not chunk:
            break
        count += chunk.count(b"\n")
        remaining -= len(chunk)
    return count


def _is_whole_line(line: bytes) -> bool:
    """A line as :class:`~scraper.storage.jsonl.JsonlWriter` writes it (or a blank one, which readers skip)."""
    if not line.endswith(b"\n"):
        return False
    return not line.strip() or isinstance(parse_line(line), dict)


def repair_jsonl(path: Path, *, check_lock: bool = True, root: Path | None = None) -> JsonlRepair:
    """Move a torn last line (no final newline, or not a JSON object) to ``NAME.torn-<offset>``.

    Only the last line: a crash tears at most the line being written, and the writer writes
    and flushes whole lines, so a bad line earlier is other damage and is left alone.  The
    lines before are untouched, and readers (:func:`~scraper.storage.jsonl.iter_jsonl` skips
    a line without its newline) see the same records as before.
    """
    outside = _outside([path], root)
    if outside is not None:
        return JsonlRepair(path, 0, 0, refused=outside)
    if check_lock and is_crawl_locked(path.parent):
        return JsonlRepair(path, path.stat().st_size, 0, refused=RUNNING)
    with open(path, "rb") as fh:
        size = os.fstat(fh.fileno()).st_size
        start = _last_line_start(fh, size)
        fh.seek(start)
        last = fh.read()
        lines = _count_lines(fh, start)
    if not last or _is_whole_line(last):
        return JsonlRepair(path, size, lines + (1 if last else 0))
    sidecar = path.with_name(f"{path.name}{TORN_SUFFIX}{start}")
    try:
        cut_length = _cut(path, start, sidecar)
    except _Refused as exc:
        return JsonlRepair(path, size, lines, refused=str(exc))
    return JsonlRepair(path, start, lines, start, cut_length, sidecar)


# -- a crawl folder --------------------------------------------------------------------------------------
def repair_crawl_dir(directory: Path, *, check_lock: bool = True) -> list[Repair]:
    """Repair every ``.open`` WARC of one crawl folder, then its ``pages.jsonl``; one result per file looked at.

    Closed WARCs are not touched: the writer fsyncs a file before it renames it, so a crash
    cannot tear one.  A file that is a link out of the archive root (or in a crawl folder that is
    one) is refused: nothing is written through it.
    """
    root = root_of(directory) or directory
    results: list[Repair] = [repair_warc(path, check_lock=check_lock, root=root) for path in find_warcs(directory)[1]]
    pages = directory / PAGES_FILE
    if pages.is_file():
        results.append(repair_jsonl(pages, check_lock=check_lock, root=root))
    return results
