"""Hostile files in the archive root, one table (issue 15, items 3, 6, 7 and 9).

Every row copies an archive that holds a real crawl of the test site, plants something hostile in
it (a link out of the root, a file that is not a WARC, a damaged line of ``pages.jsonl``, the
temporary files a killed run leaves), runs the real CLI on it (``python -m scraper`` in a
subprocess), and checks, as ``test_hostile.py`` does: the exit status; the one line a person reads
(said once, on stderr); no traceback; the archive's captures byte for byte as they were, and
nothing outside the root written, created or cut; then what the row says about the result.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import urllib.request
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from scraper.interchange import is_replayable_page
from tests.conftest import FAST, REPO, crawl_dirs, read_jsonl
from tests.site import Site
from tests.unit.storage.helpers import write_warc

TRACEBACK = "Traceback (most recent call last)"
LINKED_ID = "20990101T000000Z-1inked"  # a crawl folder that is a link to a folder outside the root
DAMAGED_LINE = 11  # the line of pages.jsonl that gets bytes that are not UTF-8, as in the issue
CAPTURE_NAMES = re.compile(r"(\.warc(\.gz)?(\.open)?|\.jsonl|manifest\.json|crawl\.json)$")


@dataclass(frozen=True)
class Base:
    """A finished crawl of the test site: the archive every row starts from."""

    root: Path
    crawl_id: str
    lines: list[bytes]  # pages.jsonl, line by line
    seed: str


@pytest.fixture(scope="module")
def base(site: Site, tmp_path_factory: pytest.TempPathFactory) -> Base:
    root = tmp_path_factory.mktemp("hostile-files-base") / "archive"
    proc = subprocess.run([sys.executable, "-m", "scraper", "crawl", site.url("/"), "--depth", "1",
                           "--deny", r"^https?://(?!127\.0\.0\.1)", "--archive", str(root), *FAST,
                           "-s", "EXTRACT_WORKERS=0"], capture_output=True, text=True, cwd=REPO, env=env_for(None),
                          timeout=300)
    assert proc.returncode == 1, proc.stderr  # 1: the site's /missing and /error
    (crawl,) = crawl_dirs(root)
    lines = (crawl / "pages.jsonl").read_bytes().splitlines(keepends=True)
    assert len(lines) > DAMAGED_LINE + 1, len(lines)
    return Base(root, crawl.name, lines, site.url("/"))


@dataclass
class Ctx:
    """One row's archive (a copy of the base), a folder outside it, a folder for outputs, a private TMPDIR."""

    base: Base
    root: Path
    outside: Path
    out: Path
    tmpdir: Path
    dead_pid: int  # a process that has ended: its temporary files are stale
    live_pid: int = field(default_factory=os.getpid)  # this test's process: its temporary files are in use

    @property
    def crawl(self) -> Path:
        return self.root / "crawls" / self.base.crawl_id

    @property
    def linked(self) -> Path:
        return self.root / "crawls" / LINKED_ID


def env_for(tmpdir: Path | None) -> dict[str, str]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    if tmpdir is not None:
        env["TMPDIR"] = str(tmpdir)  # what the command leaves in "/tmp" is seen
    return env


def ended_process() -> int:
    proc = subprocess.Popen(["true"])
    proc.wait()
    return proc.pid


# -- what a row plants --------------------------------------------------------------------------------
def open_warc_link_outside(ctx: Ctx) -> None:
    """A torn WARC outside the root, linked into the crawl as the .open file a killed crawl leaves."""
    made = write_warc(ctx.outside / "made", prefix="victim").path
    victim = ctx.outside / "victim.warc.gz"
    victim.write_bytes(made.read_bytes()[:-777])
    shutil.rmtree(made.parent)
    (ctx.crawl / "scraper-20990101000000000-00002-test.warc.gz.open").symlink_to(victim)


def pages_link_outside(ctx: Ctx) -> None:
    """pages.jsonl is a link to a file outside whose last line is torn."""
    victim = ctx.outside / "pages.jsonl"
    victim.write_bytes(b"".join(ctx.base.lines) + b'{"url":"http://exam')
    (ctx.crawl / "pages.jsonl").unlink()
    (ctx.crawl / "pages.jsonl").symlink_to(victim)


def crawl_folder_link_outside(ctx: Ctx) -> None:
    """A second crawl folder that is a link to a copy of the crawl outside the root."""
    shutil.copytree(ctx.crawl, ctx.outside / "crawl")
    ctx.linked.symlink_to(ctx.outside / "crawl")


def interrupted_crawl_link_outside(ctx: Ctx) -> None:
    """The same, of a crawl that was killed (no manifest): `crawl --resume` would go on writing it."""
    crawl_folder_link_outside(ctx)
    (ctx.outside / "crawl" / "manifest.json").unlink()


def crawls_folder_link_outside(ctx: Ctx) -> None:
    """The archive's crawls/ folder is a link to a folder outside the root."""
    shutil.move(ctx.root / "crawls", ctx.outside / "crawls")
    (ctx.root / "crawls").symlink_to(ctx.outside / "crawls")


def pywb_folder_link_outside(ctx: Ctx) -> None:
    (ctx.outside / "pywb").mkdir()
    (ctx.root / ".pywb").symlink_to(ctx.outside / "pywb")


def not_a_warc(ctx: Ctx) -> None:
    (ctx.crawl / "zz.warc.gz").write_bytes(b"GIF89a" + bytes(range(256)) * 20)


def damaged_line(ctx: Ctx) -> None:
    """Line 11 of pages.jsonl with a NUL and a byte that is never UTF-8 in it."""
    lines = list(ctx.base.lines)
    lines[DAMAGED_LINE - 1] = lines[DAMAGED_LINE - 1][:20] + b"\x00\xff" + lines[DAMAGED_LINE - 1][20:]
    (ctx.crawl / "pages.jsonl").write_bytes(b"".join(lines))


def array_line(ctx: Ctx) -> None:
    """Line 11 of pages.jsonl is JSON, but not an object."""
    lines = list(ctx.base.lines)
    lines[DAMAGED_LINE - 1] = b'["not", "a", "record"]\n'
    (ctx.crawl / "pages.jsonl").write_bytes(b"".join(lines))


def stale_wacz_temporaries(ctx: Ctx) -> None:
    (ctx.out / f".x.wacz.{ctx.dead_pid}.tmp").write_bytes(b"PK" + bytes(1 << 20))  # a package cut short
    (ctx.out / f".x.wacz.{ctx.dead_pid}.tmp.pages.jsonl").write_bytes(b'{"format":"json-pages-1.0"}\n')
    (ctx.out / f".x.wacz.{ctx.live_pid}.tmp").write_bytes(b"PK")  # a live run's: left alone
    (ctx.out / f".other.wacz.{ctx.dead_pid}.tmp").write_bytes(b"PK")  # another package's: not this run's


def stale_export_temporaries(ctx: Ctx) -> None:
    (ctx.out / f".out.csv.tmp-{ctx.dead_pid}").write_text("url,ts\n")
    (ctx.out / f".out.csv.tmp-{ctx.live_pid}").write_text("url,ts\n")


def stale_index_temporaries(ctx: Ctx) -> None:
    (ctx.crawl / f".index.cdxj.{ctx.dead_pid}.tmp").write_text("com,example)/ 2026\n")
    (ctx.root / f".index.cdxj.{ctx.dead_pid}.tmp").write_text("com,example)/ 2026\n")
    (ctx.crawl / f".index.cdxj.{ctx.live_pid}.tmp").write_text("com,example)/ 2026\n")


def stale_reextract_temporary(ctx: Ctx) -> None:
    (ctx.crawl / f".pages.reextract-20260101T000000Z.jsonl.{ctx.dead_pid}.tmp").write_text('{"url":"x"}\n')
    (ctx.crawl / f".pages.reextract-20260101T000001Z.jsonl.{ctx.live_pid}.tmp").write_text('{"url":"x"}\n')


# -- what a row checks besides --------------------------------------------------------------------------
def gone(*names: str) -> Callable[[Ctx, subprocess.CompletedProcess[str]], None]:
    """These files (names formatted with the row's pids; "crawl/", "root/" or "out/" first) are removed."""
    def check(ctx: Ctx, proc: subprocess.CompletedProcess[str]) -> None:
        for name in names:
            assert not where(ctx, name).exists(), f"{name} is still there"
    return check


def kept(*names: str) -> Callable[[Ctx, subprocess.CompletedProcess[str]], None]:
    def check(ctx: Ctx, proc: subprocess.CompletedProcess[str]) -> None:
        for name in names:
            assert where(ctx, name).exists(), f"{name} was removed"
    return check


def where(ctx: Ctx, name: str) -> Path:
    folder, _, rest = name.partition("/")
    base = {"crawl": ctx.crawl, "root": ctx.root, "out": ctx.out}[folder]
    return base / rest.format(dead=ctx.dead_pid, live=ctx.live_pid)


def all_of(*checks: Callable[[Ctx, subprocess.CompletedProcess[str]], None]
           ) -> Callable[[Ctx, subprocess.CompletedProcess[str]], None]:
    def check(ctx: Ctx, proc: subprocess.CompletedProcess[str]) -> None:
        for one in checks:
            one(ctx, proc)
    return check


def link_kept(ctx: Ctx, proc: subprocess.CompletedProcess[str]) -> None:
    """The .open link is left as it is: not renamed, nothing cut off beside it."""
    assert (ctx.crawl / "scraper-20990101000000000-00002-test.warc.gz.open").is_symlink()
    assert not (ctx.crawl / "scraper-20990101000000000-00002-test.warc.gz").exists()
    assert not [p for p in ctx.crawl.iterdir() if ".torn-" in p.name]


def indexed_without_linked(ctx: Ctx, proc: subprocess.CompletedProcess[str]) -> None:
    files = {json.loads(line.split(" ", 2)[2])["filename"]
             for line in (ctx.root / "index.cdxj").read_text().splitlines()}
    assert files and all(f.startswith(f"crawls/{ctx.base.crawl_id}/") for f in files), files
    assert (ctx.crawl / "index.cdxj").is_file()


def index_without_zz(ctx: Ctx, proc: subprocess.CompletedProcess[str]) -> None:
    lines = (ctx.crawl / "index.cdxj").read_text().splitlines()
    names = {json.loads(line.split(" ", 2)[2])["filename"] for line in lines}
    assert names == {p.name for p in ctx.crawl.glob("scraper-*.warc.gz")}, names  # the good WARC, all of it
    assert len(lines) == int(re.search(r"(\d+) CDXJ line", proc.stderr).group(1))  # type: ignore[union-attr]
    assert len((ctx.root / "index.cdxj").read_text().splitlines()) == len(lines)


def good_records(ctx: Ctx) -> list[dict[str, Any]]:
    return [json.loads(line) for n, line in enumerate(ctx.base.lines, start=1) if n != DAMAGED_LINE]


def wacz_pages(path: Path) -> tuple[list[str], list[dict[str, Any]]]:
    with zipfile.ZipFile(path) as package:
        names = [n for n in package.namelist() if n.startswith("archive/")]
        pages = [json.loads(line) for line in package.read("pages/pages.jsonl").splitlines()[1:]]
    return names, pages


def wacz_without_zz(ctx: Ctx, proc: subprocess.CompletedProcess[str]) -> None:
    names, pages = wacz_pages(ctx.out / "x.wacz")
    assert names == [f"archive/{p.name}" for p in ctx.crawl.glob("scraper-*.warc.gz")]
    assert len(pages) == sum(is_replayable_page(json.loads(line)) for line in ctx.base.lines)


def wacz_without_damaged_line(ctx: Ctx, proc: subprocess.CompletedProcess[str]) -> None:
    _names, pages = wacz_pages(ctx.out / "x.wacz")
    wanted = [r["url"] for r in good_records(ctx) if is_replayable_page(r)]
    assert [p["url"] for p in pages] == wanted


def exported_the_rest(ctx: Ctx, proc: subprocess.CompletedProcess[str]) -> None:
    rows = [json.loads(line) for line in proc.stdout.splitlines()]
    assert [r["warc"]["record_id"] for r in rows] == [r["warc"]["record_id"] for r in good_records(ctx)]


def verify_names_the_line(ctx: Ctx, proc: subprocess.CompletedProcess[str]) -> None:
    offset = sum(len(line) for line in ctx.base.lines[:DAMAGED_LINE - 1])
    assert f"DAMAGED {ctx.crawl / 'pages.jsonl'} ({len(ctx.base.lines) - 1} records)" in proc.stdout.splitlines()
    assert f"  jsonl-line at offset {offset}: line {DAMAGED_LINE}: not UTF-8" in proc.stdout


def no_reextraction_outside(ctx: Ctx, proc: subprocess.CompletedProcess[str]) -> None:
    assert not list((ctx.outside / "crawl").glob("*reextract*"))


def reextracted_all(ctx: Ctx, proc: subprocess.CompletedProcess[str]) -> None:
    (written,) = ctx.crawl.glob("pages.reextract-*.jsonl")
    assert len(read_jsonl(written)) == len(ctx.base.lines)  # every page: from the WARC's own records


def csv_written(ctx: Ctx, proc: subprocess.CompletedProcess[str]) -> None:
    rows = (ctx.out / "out.csv").read_text(encoding="utf-8").splitlines()
    assert rows[0].startswith("url,ts,") and len(rows) > 1


def said_not_archived(ctx: Ctx, proc: subprocess.CompletedProcess[str]) -> None:
    assert proc.stderr.splitlines()[-1] == "scraper: error: not in the archive: http://127.0.0.1:9/not-archived"


def nothing_cut(ctx: Ctx, proc: subprocess.CompletedProcess[str]) -> None:
    assert not list(ctx.crawl.glob("*.torn-*"))


def served(ctx: Ctx, proc: subprocess.CompletedProcess[str]) -> None:
    assert "collection:" in proc.stdout and "replay stopped" in proc.stderr


# -- the table ----------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Case:
    id: str
    setup: Callable[[Ctx], None]
    args: tuple[str, ...]  # {root} {crawl_id} {linked_id} {out} {seed}, formatted per row
    exit: int
    message: str  # a regex: the one line (on stderr) a person reads about it, said once
    check: Callable[[Ctx, subprocess.CompletedProcess[str]], None] | None = None
    serve: bool = False  # `scraper replay`: run until it serves, then Ctrl-C


OUTSIDE = r"is a link to \S+, outside the archive root \S+: nothing is written through it"
NOT_A_WARC = r"scraper: warning: \S+/zz\.warc\.gz: not readable as a WARC file \(Unknown archive format\); skipped"
LINE_11 = (rf"scraper: warning: \S+/pages\.jsonl: line {DAMAGED_LINE}: not UTF-8 \(byte 0xff at column 22: "
           r'\{"schema_version":1,\\x00\\xff"crawl_id":"\d+…\); skipped$')

CASES = [
    # -- item 3: links out of the archive root are never written through ---------------------------------------
    Case("repair-open-warc-link-outside", open_warc_link_outside, ("verify", "--repair", "--archive", "{root}"), 3,
         rf"^cannot repair \S+/scraper-20990101000000000-00002-test\.warc\.gz\.open: it {OUTSIDE}$", link_kept),
    Case("repair-pages-link-outside", pages_link_outside, ("verify", "--repair", "--archive", "{root}"), 3,
         rf"^cannot repair \S+/crawls/\S+/pages\.jsonl: it {OUTSIDE}$"),
    Case("index-crawl-folder-link-outside", crawl_folder_link_outside, ("index", "--archive", "{root}"), 3,
         rf"^scraper: warning: \S+/crawls/{LINKED_ID} {OUTSIDE}; skipped$", indexed_without_linked),
    Case("reextract-crawl-folder-link-outside", crawl_folder_link_outside,
         ("reextract", "{linked_id}", "--archive", "{root}"), 3,
         rf"^scraper: warning: \S+/crawls/{LINKED_ID} {OUTSIDE}; skipped$", no_reextraction_outside),
    Case("resume-crawl-folder-link-outside", interrupted_crawl_link_outside,
         ("crawl", "--resume", "{linked_id}", "--archive", "{root}", *FAST), 2,
         rf"^scraper: error: \S+/crawls/{LINKED_ID} {OUTSIDE}$"),
    Case("crawl-crawls-folder-link-outside", crawls_folder_link_outside,
         ("crawl", "{seed}", "--archive", "{root}", *FAST), 2, rf"^scraper: error: .*\S+/crawls {OUTSIDE}$"),
    Case("index-pywb-folder-link-outside", pywb_folder_link_outside, ("index", "--archive", "{root}"), 3,
         rf"^scraper: warning: \S+/\.pywb {OUTSIDE}; skipped$"),
    # -- item 6: a file that is not a WARC is skipped, the rest is done ------------------------------------------
    Case("index-not-a-warc", not_a_warc, ("index", "--archive", "{root}"), 3, NOT_A_WARC, index_without_zz),
    Case("wacz-all-not-a-warc", not_a_warc, ("wacz", "--all", "--archive", "{root}", "-o", "{out}/x.wacz"), 3,
         NOT_A_WARC, wacz_without_zz),
    Case("replay-not-a-warc", not_a_warc, ("replay", "--port", "0", "--archive", "{root}", "--pywb-python", "{pywb}"),
         130, NOT_A_WARC, served, serve=True),
    # -- item 7: a damaged line of pages.jsonl is reported and skipped by every reader; verify finds it ----------
    Case("export-damaged-line", damaged_line, ("export", "--archive", "{root}"), 3, LINE_11, exported_the_rest),
    Case("export-latest-csv-damaged-line", damaged_line,
         ("export", "--latest", "-f", "csv", "-o", "{out}/out.csv", "--archive", "{root}"), 3, LINE_11,
         csv_written),
    Case("export-array-line", array_line, ("export", "--archive", "{root}"), 3,
         rf'^scraper: warning: \S+/pages\.jsonl: line {DAMAGED_LINE}: not a JSON object \(\["not", "a", "record"\]\); '
         r"skipped$", exported_the_rest),
    Case("wacz-damaged-line", damaged_line, ("wacz", "--all", "--archive", "{root}", "-o", "{out}/x.wacz"), 3,
         LINE_11, wacz_without_damaged_line),
    Case("show-damaged-line", damaged_line, ("show", "http://127.0.0.1:9/not-archived", "--archive", "{root}"), 1,
         LINE_11, said_not_archived),
    Case("reextract-damaged-line", damaged_line, ("reextract", "--archive", "{root}"), 0, LINE_11, reextracted_all),
    Case("verify-damaged-line", damaged_line, ("verify", "--archive", "{root}"), 3,
         r"^scraper: verified 1 file\(s\), \d+ records: 1 damaged$", verify_names_the_line),
    Case("verify-repair-damaged-line", damaged_line, ("verify", "--repair", "--archive", "{root}"), 3,
         r"^scraper: verified 1 file\(s\), \d+ records: 1 damaged$",
         all_of(verify_names_the_line, nothing_cut)),
    # -- item 9: what a killed run left is removed by the next run of its kind; a live run's is not -------------
    Case("wacz-stale-temporaries", stale_wacz_temporaries,
         ("wacz", "--all", "--archive", "{root}", "-o", "{out}/x.wacz"), 0,
         r"^scraper: \S+/x\.wacz: 1 WARC file\(s\), \d+ page\(s\), [\d,]+ bytes$",
         all_of(gone("out/.x.wacz.{dead}.tmp", "out/.x.wacz.{dead}.tmp.pages.jsonl"),
                kept("out/.x.wacz.{live}.tmp", "out/.other.wacz.{dead}.tmp"))),
    Case("export-stale-temporaries", stale_export_temporaries,
         ("export", "-f", "csv", "-o", "{out}/out.csv", "--archive", "{root}"), 0,
         r"^scraper: exported \d+ record\(s\) as csv to \S+/out\.csv$",
         all_of(gone("out/.out.csv.tmp-{dead}"), kept("out/.out.csv.tmp-{live}"))),
    Case("index-stale-temporaries", stale_index_temporaries, ("index", "--archive", "{root}"), 0,
         r"^scraper: archive index: \d+ CDXJ line\(s\) from 1 crawl\(s\)$",
         all_of(gone("crawl/.index.cdxj.{dead}.tmp", "root/.index.cdxj.{dead}.tmp"),
                kept("crawl/.index.cdxj.{live}.tmp"))),
    Case("reextract-stale-temporaries", stale_reextract_temporary, ("reextract", "--archive", "{root}"), 0,
         r"^scraper: re-extracted \d+ page\(s\) of 1 crawl\(s\)",
         all_of(gone("crawl/.pages.reextract-20260101T000000Z.jsonl.{dead}.tmp"),
                kept("crawl/.pages.reextract-20260101T000001Z.jsonl.{live}.tmp"))),
]


# -- running a row ------------------------------------------------------------------------------------------
def captures(root: Path, outside: Path) -> dict[str, str]:
    """What must not change: the archive's captures and records (links not followed), everything outside."""
    found = {}
    for path in sorted(root.rglob("*")):
        captured = CAPTURE_NAMES.search(path.name) and not path.name.startswith(".")
        if captured and path.is_file() and not path.is_symlink():
            found[str(path)] = hashlib.sha256(path.read_bytes()).hexdigest()
    for path in sorted(outside.rglob("*")):
        found[str(path)] = hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else "folder"
    return found


def run_cli(ctx: Ctx, args: list[str], serve: bool) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "scraper", *args]
    if not serve:
        return subprocess.run(command, capture_output=True, text=True, cwd=ctx.out, env=env_for(ctx.tmpdir),
                              timeout=300)
    server = subprocess.Popen(command, cwd=ctx.out, env=env_for(ctx.tmpdir), stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True)
    printed = []
    try:
        assert server.stdout is not None
        for line in server.stdout:
            printed.append(line)
            if line.startswith("collection:"):
                with urllib.request.urlopen(line.split(None, 1)[1].strip(), timeout=60) as answer:
                    assert answer.status == 200
                break
    finally:
        server.send_signal(signal.SIGINT)
        out, err = server.communicate(timeout=60)
    return subprocess.CompletedProcess(command, server.returncode, "".join(printed) + out, err)


def pywb() -> str:
    from tests.integration.test_interchange import pywb_python

    return pywb_python()


def test_the_table_has_a_row_per_case() -> None:
    assert len(CASES) >= 20 and len({c.id for c in CASES}) == len(CASES)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_hostile_file(case: Case, base: Base, tmp_path: Path) -> None:
    root = tmp_path / "archive"
    shutil.copytree(base.root, root, symlinks=True)
    ctx = Ctx(base, root, tmp_path / "outside", tmp_path / "out", tmp_path / "tmp", ended_process())
    for folder in (ctx.outside, ctx.out, ctx.tmpdir):
        folder.mkdir()
    case.setup(ctx)
    before = captures(root, ctx.outside)
    values = {"root": str(root), "crawl_id": base.crawl_id, "linked_id": LINKED_ID, "out": str(ctx.out),
              "seed": base.seed}
    if "{pywb}" in case.args:
        values["pywb"] = pywb()
    proc = run_cli(ctx, [arg.format(**values) for arg in case.args], case.serve)

    # the exit status, and no traceback anywhere
    assert proc.returncode == case.exit, f"exit {proc.returncode}, not {case.exit}:\n{proc.stderr}"
    assert TRACEBACK not in proc.stderr and TRACEBACK not in proc.stdout, proc.stderr
    # the one line, said once
    said = [line for line in (proc.stderr + proc.stdout).splitlines() if re.search(case.message, line)]
    assert len(said) == 1, f"{len(said)} lines match /{case.message}/ in:\n{proc.stderr}\n{proc.stdout[:2000]}"
    # the captures as they were, byte for byte; nothing outside the root written, created or cut
    after = captures(root, ctx.outside)
    assert {name: after.get(name) for name in before} == before
    assert {n for n in after if n.startswith(str(ctx.outside))} == {n for n in before if n.startswith(str(ctx.outside))}
    assert not list(ctx.tmpdir.iterdir()), "left in TMPDIR"
    if case.check is not None:
        case.check(ctx, proc)
