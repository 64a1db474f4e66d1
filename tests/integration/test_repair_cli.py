"""``scraper verify --repair`` on an archive a killed crawl left: hand-made crawl folders, the real CLI."""

from __future__ import annotations

import json
from pathlib import Path

from scraper.storage.layout import OPEN_SUFFIX
from tests.conftest import run_scraper
from tests.unit.storage.helpers import members, write_warc

PAGES = b'{"url":"http://example.test/1"}\n{"url":"http://example.test/2"}\n'
TORN_LINE = b'{"url":"http://exam'


def torn_open_copy(source: Path, folder: Path, cut_from_end: int) -> Path:
    """``source`` as a crawl killed mid-write leaves it: ``.open``, its last write torn."""
    path = folder / (source.name + OPEN_SUFFIX)
    path.write_bytes(source.read_bytes()[:-cut_from_end])
    return path


def test_repair_mends_a_killed_crawl_then_verifies_it_clean(tmp_path: Path) -> None:
    root = tmp_path / "archive"
    crawl = root / "crawls" / "20240301T123045Z-abcdef"
    closed = write_warc(crawl, prefix="first").path  # closed before the kill
    second = write_warc(tmp_path / "made", prefix="second").path  # record ids of its own
    still_open = torn_open_copy(second, crawl, 40)
    request = members(second)[-2][0]  # the last exchange's: its revisit is torn
    (crawl / "pages.jsonl").write_bytes(PAGES + TORN_LINE)
    before = run_scraper("verify", "--archive", str(root))
    assert before.returncode == 0 and "skipped" in before.stderr  # without --repair, the .open file is skipped

    proc = run_scraper("verify", "--repair", "--archive", str(root))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    final = crawl / second.name
    sidecar = crawl / f"{second.name}.torn-{request}"
    cut = len(second.read_bytes()) - 40 - request
    assert proc.stdout.splitlines() == [
        f"repaired {still_open}: cut {cut} bytes of a torn record at offset {request} (saved to {sidecar}), "
        f"with 1 whole record linked to it; 12 records kept, closed as {final}",
        f"repaired {crawl / 'pages.jsonl'}: cut {len(TORN_LINE)} bytes of a torn line at offset {len(PAGES)} "
        f"(saved to {crawl / 'pages.jsonl'}.torn-{len(PAGES)}); 2 lines kept",
        f"OK {closed} (14 records)",
        f"OK {final} (12 records)",
    ]
    assert "skipped" not in proc.stderr and "verified 2 file(s), 26 records: no damage" in proc.stderr
    assert not still_open.exists() and final.read_bytes() == second.read_bytes()[:request]
    assert sidecar.read_bytes() == second.read_bytes()[request:-40]
    assert (crawl / "pages.jsonl").read_bytes() == PAGES
    assert (crawl / f"pages.jsonl.torn-{len(PAGES)}").read_bytes() == TORN_LINE

    again = run_scraper("verify", "--repair", "--archive", str(root))  # nothing left to repair
    assert again.returncode == 0, again.stdout + again.stderr
    assert again.stdout.splitlines() == [f"OK {closed} (14 records)", f"OK {final} (12 records)"]


def test_damage_that_is_no_torn_tail_is_left_and_exits_3(tmp_path: Path) -> None:
    folder = tmp_path / "copies"
    folder.mkdir()
    source = write_warc(tmp_path / "made").path
    repairable = torn_open_copy(source, folder, 3)
    other = write_warc(tmp_path / "made-too", prefix="other").path
    corrupt = folder / (other.name + OPEN_SUFFIX)
    data = bytearray(other.read_bytes())
    data[members(other)[2][0] + 30] ^= 0xFF  # a member in the middle
    corrupt.write_bytes(bytes(data))

    proc = run_scraper("verify", "--repair", "--json", str(repairable), str(corrupt))
    assert proc.returncode == 3, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr
    # --json keeps stdout for the reports: the repairs are told on stderr.
    assert f"repaired {repairable}: cut " in proc.stderr
    assert f"cannot repair {corrupt}: not a torn tail: gzip-member at offset {members(other)[2][0]}" in proc.stderr
    assert "1 damaged; 1 repair(s) refused" in proc.stderr
    reports = [json.loads(line) for line in proc.stdout.splitlines()]
    assert [(r["path"], r["ok"]) for r in reports] == [(str(folder / source.name), True), (str(corrupt), False)]
    assert corrupt.read_bytes() == bytes(data)  # untouched
    assert sorted(p.name for p in folder.iterdir()) == sorted(
        [source.name, f"{source.name}.torn-{members(source)[-2][0]}", corrupt.name])


def test_repair_usage_errors_change_nothing(tmp_path: Path) -> None:
    folder = tmp_path / "crawl"
    folder.mkdir()
    source = write_warc(tmp_path / "made").path
    still_open = torn_open_copy(source, folder, 3)
    proc = run_scraper("verify", "--repair", str(still_open), str(tmp_path / "nope.warc.gz"))
    assert proc.returncode == 2 and "no such file or folder" in proc.stderr, proc.stdout + proc.stderr
    assert still_open.read_bytes() == source.read_bytes()[:-3]  # checked before anything is cut
    proc = run_scraper("verify", "--repair", "--archive", str(tmp_path / "no-archive"))
    assert proc.returncode == 2 and "no archive at" in proc.stderr
