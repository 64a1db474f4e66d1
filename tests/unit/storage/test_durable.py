"""scraper.storage.durable: a file appears whole or not at all, and nothing is written through a link."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from scraper.storage.durable import AtomicFile, atomic_write, move_no_replace, temporary_path, write_json_atomically


def dead_pid() -> int:
    proc = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True,
                          check=True)
    return int(proc.stdout)


def test_the_file_appears_when_the_block_ends_and_not_before(tmp_path: Path) -> None:
    target = tmp_path / "index.cdxj"
    with atomic_write(target) as fh:
        fh.write("a line\n")
        assert not target.exists()
        assert [p.name for p in tmp_path.iterdir()] == [temporary_path(target).name]
    assert target.read_text() == "a line\n"
    assert [p.name for p in tmp_path.iterdir()] == ["index.cdxj"]


def test_an_error_leaves_the_old_file_and_no_temporary(tmp_path: Path) -> None:
    target = tmp_path / "manifest.json"
    write_json_atomically(target, {"version": 1})
    with pytest.raises(RuntimeError), atomic_write(target) as fh:
        fh.write('{"version": ')
        raise RuntimeError("disk full, say")
    assert target.read_text() == '{\n  "version": 1\n}\n'
    assert [p.name for p in tmp_path.iterdir()] == ["manifest.json"]


def test_a_link_planted_at_the_temporary_name_is_not_written_through(tmp_path: Path) -> None:
    target, victim = tmp_path / "out.jsonl", tmp_path / "victim"
    victim.write_text("precious")
    temporary_path(target).symlink_to(victim)
    with atomic_write(target) as fh:
        fh.write("new\n")
    assert victim.read_text() == "precious" and target.read_text() == "new\n"
    assert not target.is_symlink()


def test_what_killed_writers_left_is_removed_and_a_live_ones_kept(tmp_path: Path) -> None:
    target = tmp_path / "out.csv"
    dead, live = dead_pid(), os.getppid()
    left = [tmp_path / f".out.csv.{dead}.tmp", tmp_path / f".out.csv.tmp-{dead}"]  # both schemes
    kept = [tmp_path / f".out.csv.{live}.tmp", tmp_path / f".other.csv.{dead}.tmp"]
    for path in left + kept:
        path.write_text("x")
    out = AtomicFile(target)
    out.handle.write("url\n")
    out.commit()
    assert not any(p.exists() for p in left) and all(p.exists() for p in kept)
    assert target.read_text() == "url\n"


def test_a_discarded_file_never_appears(tmp_path: Path) -> None:
    out = AtomicFile(tmp_path / "pages.reextract.jsonl", binary=True)
    out.handle.write(b"{}\n")
    out.discard()
    out.discard()  # twice: nothing left to do
    assert list(tmp_path.iterdir()) == []


def test_move_no_replace_never_replaces_another_file(tmp_path: Path) -> None:
    src, dst = tmp_path / "tail.tmp", tmp_path / "tail"
    src.write_bytes(b"mine")
    dst.write_bytes(b"someone else's")
    with pytest.raises(FileExistsError):
        move_no_replace(src, dst)
    assert dst.read_bytes() == b"someone else's" and src.read_bytes() == b"mine"
    dst.unlink()
    move_no_replace(src, dst)
    assert dst.read_bytes() == b"mine" and not src.exists()


def test_a_device_or_a_fifo_is_written_in_place_never_replaced(tmp_path: Path) -> None:
    """``export -o /dev/null``: renaming a finished temporary over the name turned the device into a file (a FIFO
    stands in for it here: a regression must not break the machine's /dev/null)."""
    import stat
    import threading

    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    received: list[bytes] = []
    reader = threading.Thread(target=lambda: received.append(fifo.read_bytes()), daemon=True)
    reader.start()
    with atomic_write(fifo, binary=True) as out:
        out.write(b"through the pipe\n")
    reader.join(10)
    assert received == [b"through the pipe\n"] and stat.S_ISFIFO(fifo.stat().st_mode)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fifo"]  # no temporary left beside it
