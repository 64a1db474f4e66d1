"""The catalog under attack, one table: schedules that never come round, a catalog damaged, deleted,
emptied, locked by another process or on a full disk.  Each row ends in one clear line and its own
exit status, with no traceback, and the crawls already in the archive root stay byte for byte.

Every row copies an archive of two re-archive runs over pages that changed between them (watches,
versions, revisits of both profiles, a 404, a redirect), breaks the copy as the row says, runs
``python -m scraper`` on it (the real command, in a subprocess), then checks: the exit status;
the message (the one ``scraper: error:`` line when the status is not 0); no traceback; the earlier
crawls' files byte for byte; and what the row says about the catalog afterwards.  A rebuilt
catalog must answer ``history``, ``show`` and ``diff`` exactly as the original did.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import resource
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from scraper.cli import cli
from scraper.scope import url_key
from scraper.storage.layout import lock_crawl
from scraper.storage.warc import iter_records
from tests.conftest import FAST, REPO, crawl_dirs, read_jsonl
from tests.integration.test_hostile import all_checks
from tests.integration.test_rearchive import set_first_state, set_second_state
from tests.site import LivePage, Site, SiteServer

COMMON = [*FAST, "-s", "EXTRACT_WORKERS=0", "-s", "RETRY_TIMES=0", "-s", "DOWNLOAD_TIMEOUT=5"]
TRACEBACK = "Traceback (most recent call last)"
CATALOG = "catalog.sqlite"
NAMES = ("edited", "boilerplate", "etag", "modified-since", "plain", "gone", "moved")
BIG_LIMIT = 250_000  # RLIMIT_FSIZE of the row that runs out of room: under the big page's WARC record
NOW = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())  # before every row: what "due" compares with


def sha256_tree(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def in_process(*args: str) -> tuple[int, str]:
    """A reading command's answer (exit status, stdout), run in this process: the rows compare many."""
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.stdout


def answers(root: Path, site: Site) -> dict[str, tuple[int, str]]:
    """What the catalog says about every page: its history, its latest record, its last change."""
    out: dict[str, tuple[int, str]] = {}
    for name in NAMES:
        url = site.url(f"/live/{name}")
        out[f"history {name}"] = in_process("history", url, "--json", "--archive", str(root))
        out[f"show {name}"] = in_process("show", url, "--archive", str(root))
        out[f"diff {name}"] = in_process("diff", url, "--format", "json", "--archive", str(root))
    return out


def dump_catalog(path: Path) -> dict[str, list[Any]]:
    """Every row of a catalog file read alone (no log beside it), row ids left out: they are internal."""
    scratch = path.with_name(f"alone-{os.getpid()}")
    scratch.mkdir()
    try:
        shutil.copyfile(path, scratch / CATALOG)  # the one file, as a backup would copy it
        connection = sqlite3.connect(scratch / CATALOG)
        try:
            columns = [row[1] for row in connection.execute("PRAGMA table_info(captures)")
                       if row[1] not in ("id", "url_id", "follows_id")]
            return {
                "captures": connection.execute(
                    f"SELECT u.url_key, {', '.join('c.' + c for c in columns)} FROM captures c "
                    f"JOIN urls u ON u.id = c.url_id ORDER BY c.id").fetchall(),
                "urls": connection.execute("SELECT url_key, url, first_seen, last_seen FROM urls "
                                           "ORDER BY url_key").fetchall(),
                "redirects": connection.execute("SELECT r.url_key, u.url_key, r.last_seen FROM redirects r "
                                                "JOIN urls u ON u.id = r.url_id ORDER BY r.url_key").fetchall(),
                "watches": connection.execute("SELECT url_key, url, every_seconds, cron, added_at, last_captured_at, "
                                              "next_due_at FROM watches ORDER BY id").fetchall(),
            }
        finally:
            connection.close()
    finally:
        shutil.rmtree(scratch)


@dataclass(frozen=True)
class Earlier:
    root: Path
    site: Site
    crawls: dict[str, dict[str, str]]  # crawl id -> its files' sha256
    catalog: bytes  # catalog.sqlite, checkpointed: the whole catalog
    rows: dict[str, list[Any]]
    answers: dict[str, tuple[int, str]]
    watches: str  # `watch list --json`


@pytest.fixture(scope="module")
def site() -> Iterator[Site]:
    with SiteServer() as running:
        yield running


@pytest.fixture(scope="module")
def earlier(site: Site, tmp_path_factory: pytest.TempPathFactory) -> Earlier:
    """Two re-archive runs over the live pages, changed in between (as test_rearchive does)."""
    root = tmp_path_factory.mktemp("earlier") / "archive"
    set_first_state(site)
    urls = [site.url(f"/live/{name}") for name in NAMES]
    assert run("watch", "add", *urls, "--every", "1h", "--archive", str(root)).returncode == 0
    assert run("rearchive", "--archive", str(root), *COMMON).returncode == 0
    time.sleep(1.1)  # the second captures in another second
    set_second_state(site)
    second = run("rearchive", "--all", "--archive", str(root), *COMMON)
    assert second.returncode == 1, second.stderr  # /live/gone is a 404 now
    # Whatever the commands left in the log goes into the file: the rows break and compare the file.
    connection = sqlite3.connect(root / CATALOG)
    connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    connection.close()
    # A page over BIG_LIMIT of WARC, for the row whose disk runs out of room: random, so gzip cannot shrink it.
    noise = os.urandom(300_000).hex()
    words = " ".join(noise[i:i + 12] for i in range(0, len(noise), 12))
    site.live["big"] = LivePage(f"<html><head><title>Big</title></head><body><p>{words}</p></body></html>".encode())
    crawls = {d.name: sha256_tree(d) for d in crawl_dirs(root)}
    assert len(crawls) == 2
    return Earlier(root, site, crawls, (root / CATALOG).read_bytes(), dump_catalog(root / CATALOG),
                   answers(root, site), in_process("watch", "list", "--json", "--archive", str(root))[1])


def run(*args: str, env: dict[str, str] | None = None, fsize: int | None = None,
        timeout: float = 180) -> subprocess.CompletedProcess[str]:
    """``python -m scraper ARGS`` in a subprocess; ``fsize``: writes past it fail (EFBIG), as on a full disk."""
    def limit() -> None:
        if fsize is not None:
            signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # else the kernel kills the writer
            resource.setrlimit(resource.RLIMIT_FSIZE, (fsize, fsize))

    return subprocess.run([sys.executable, "-m", "scraper", *args], cwd=REPO, capture_output=True, text=True,
                          timeout=timeout, env={**os.environ, "PYTHONPATH": str(REPO), **(env or {})},
                          preexec_fn=limit)


# -- what a row does to the archive before its command ----------------------------------------------------
def corrupt_captures_page(data: bytes) -> bytes:
    """0xff over the head of the captures table's first page: SQLite calls it malformed when it reads it."""
    scratch = Path(f"/tmp/scraper-catalog-{os.getpid()}.sqlite")
    scratch.write_bytes(data)
    try:
        connection = sqlite3.connect(scratch)
        page_size = connection.execute("PRAGMA page_size").fetchone()[0]
        root_page = connection.execute("SELECT rootpage FROM sqlite_master WHERE name = 'captures'").fetchone()[0]
        connection.close()
    finally:
        scratch.unlink()
    start = (root_page - 1) * page_size
    return data[:start] + b"\xff" * 200 + data[start + 200:]


def garbage_header(data: bytes) -> bytes:
    return b"this is no SQLite header, but noise " * 3 + data[108:]


def truncated(data: bytes) -> bytes:
    return data[:len(data) // 3]


def broken(change: Callable[[bytes], bytes]) -> Callable[[Path, Earlier], None]:
    def prepare(root: Path, earlier: Earlier) -> None:
        (root / CATALOG).write_bytes(change(earlier.catalog))
    return prepare


def deleted(root: Path, earlier: Earlier) -> None:
    (root / CATALOG).unlink()


def emptied(root: Path, earlier: Earlier) -> None:
    (root / CATALOG).write_bytes(b"")


def old_watch_row(name: str, *, cron: str | None = None, every: float | None = None) -> Callable[[Path, Earlier], None]:
    """A watch row an older scraper wrote, with a schedule that has no next time; it and /live/edited are due."""
    def prepare(root: Path, earlier: Earlier) -> None:
        connection = sqlite3.connect(root / CATALOG)
        for due in (name, "edited"):
            connection.execute("UPDATE watches SET next_due_at = '2026-01-01 00:00:00.000000' WHERE url_key = ?",
                               (url_key(earlier.site.url(f"/live/{due}")),))
        connection.execute("UPDATE watches SET cron = ?, every_seconds = ? WHERE url_key = ?",
                           (cron, every, url_key(earlier.site.url(f"/live/{name}"))))
        connection.commit()
        connection.close()
    return prepare


def watching_big(root: Path, earlier: Earlier) -> None:
    assert run("watch", "add", earlier.site.url("/live/big"), "--every", "1h", "--archive", str(root)).returncode == 0


@contextmanager
def catalog_locked(root: Path) -> Iterator[None]:
    """Another process's writer: an exclusive transaction on a real SQLite connection (this process's)."""
    connection = sqlite3.connect(root / CATALOG, isolation_level=None)
    connection.execute("BEGIN EXCLUSIVE")
    try:
        yield
    finally:
        connection.execute("ROLLBACK")
        connection.close()


@contextmanager
def crawl_running(root: Path) -> Iterator[None]:
    """A crawl writing its folder: its lock held, as a running crawl holds it."""
    handle = lock_crawl(crawl_dirs(root)[0])
    try:
        yield
    finally:
        handle.close()


# -- what must be true afterwards, per row ------------------------------------------------------------------
@dataclass
class Outcome:
    root: Path
    earlier: Earlier
    proc: subprocess.CompletedProcess[str]
    new_crawls: list[Path] = field(default_factory=list)

    def watches(self) -> dict[str, dict[str, Any]]:
        listed = in_process("watch", "list", "--json", "--archive", str(self.root))[1]
        return {json.loads(line)["url"].rsplit("/", 1)[-1]: json.loads(line) for line in listed.splitlines()}


def nothing_crawled(out: Outcome) -> None:
    assert not out.new_crawls


def nothing_created(out: Outcome) -> None:
    """Not even a new, empty catalog in place of the one that is missing."""
    assert not out.new_crawls and not (out.root / CATALOG).exists()


def same_answers(out: Outcome) -> None:
    assert answers(out.root, out.earlier.site) == out.earlier.answers


def rebuilt_as_before(*, watches: bool) -> Callable[[Outcome], None]:
    def check(out: Outcome) -> None:
        same_answers(out)
        rows = dump_catalog(out.root / CATALOG)  # the one file: the rebuild left no log beside it
        assert {k: v for k, v in rows.items() if k != "watches"} == \
            {k: v for k, v in out.earlier.rows.items() if k != "watches"}
        assert rows["watches"] == (out.earlier.rows["watches"] if watches else [])
        if watches:
            assert in_process("watch", "list", "--json", "--archive", str(out.root))[1] == out.earlier.watches
    return check


def kept_aside(change: Callable[[bytes], bytes], *, watches: bool) -> Callable[[Outcome], None]:
    def check(out: Outcome) -> None:
        assert (out.root / f"{CATALOG}.damaged-1").read_bytes() == change(out.earlier.catalog)  # as it was
        rebuilt_as_before(watches=watches)(out)
    return check


def rebuilt_and_crawls_on(out: Outcome) -> None:
    """The rebuilt catalog is the one the next crawl reads: versions go on, validators are sent again."""
    rebuilt_as_before(watches=False)(out)
    site = out.earlier.site
    before = list(site.conditional)
    proc = run("crawl", site.url("/live/etag"), site.url("/live/edited"), "--archive", str(out.root), *COMMON)
    assert proc.returncode == 0, proc.stderr
    assert ("/live/etag", '"v1"') in site.conditional[len(before):]  # If-None-Match from the rebuilt capture
    crawl = max(crawl_dirs(out.root))
    records = {r["url"].rsplit("/", 1)[-1]: r for r in read_jsonl(crawl / "pages.jsonl")}
    assert records["etag"]["revisit_profile"] == "server-not-modified" and records["etag"]["version"] == 1
    assert records["edited"]["version"] == 2 and records["edited"]["previous"]["version"] == 2


def one_file_catalog(crawls: int) -> Callable[[Outcome], None]:
    """After the command, catalog.sqlite alone (copied without its log) holds every committed capture."""
    def check(out: Outcome) -> None:
        wal = out.root / f"{CATALOG}-wal"
        assert not wal.exists() or wal.stat().st_size == 0
        rows = dump_catalog(out.root / CATALOG)
        assert len(out.new_crawls) == crawls
        new = {r[1] for r in rows["captures"]} - set(out.earlier.crawls)  # r[1]: crawl_id
        assert new == {d.name for d in out.new_crawls}
    return check


def marked_apart(bad: str) -> Callable[[Outcome], None]:
    """The good watch is marked, the bad one never due again; the next run finds nothing due."""
    def check(out: Outcome) -> None:
        watches = out.watches()
        assert watches["edited"]["next_due_at"] > NOW and watches["edited"]["last_captured_at"] >= NOW
        assert watches[bad]["next_due_at"] is None and watches[bad]["last_captured_at"] >= NOW
        again = run("rearchive", "--archive", str(out.root), *COMMON)
        assert again.returncode == 0 and "nothing due" in again.stderr, again.stderr
        assert len(crawl_dirs(out.root)) == len(out.earlier.crawls) + 1
    return check


def stopped_for_resume(command: str) -> Callable[[Outcome], None]:
    """The crawl stopped with a manifest that says why; nothing of it is readable in the catalog yet."""
    def check(out: Outcome) -> None:
        (crawl,) = out.new_crawls
        manifest = json.loads((crawl / "manifest.json").read_text(encoding="utf-8"))
        assert manifest["finish_reason"] == "archive_write_error"
        assert f"then run scraper {command} --resume {crawl.name} --archive " in out.proc.stderr
    return check


def resumed_and_marked(out: Outcome) -> None:
    """`rearchive --resume`, as advised, once there is room: the page is archived and its watch marked."""
    (crawl,) = out.new_crawls
    assert out.watches()["big"]["last_captured_at"] is None  # not marked: the run did not finish
    proc = run("rearchive", "--resume", crawl.name, "--archive", str(out.root), *COMMON)
    assert proc.returncode == 0, proc.stderr
    assert [r["url"] for r in read_jsonl(crawl / "pages.jsonl")] == [out.earlier.site.url("/live/big")]
    assert any(r.rec_type == "response" for p in crawl.glob("*.warc.gz") for r in iter_records(p))
    big = out.watches()["big"]
    assert big["last_captured_at"] is not None and big["next_due_at"] > big["last_captured_at"]  # marked


def holds(predicate: Callable[[Outcome], bool]) -> Callable[[Outcome], None]:
    def check(out: Outcome) -> None:
        assert predicate(out)
    return check


# -- the table ---------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Case:
    id: str
    command: tuple[str, ...]  # after `python -m scraper`; {live} is the site's /live; --archive ROOT is added
    exit: int
    message: str  # a regex: the one line a person reads; {pid} is this process's id
    prepare: Callable[[Path, Earlier], None] | None = None
    hold: Callable[[Path], AbstractContextManager[None]] | None = None  # held while the command runs
    check: Callable[[Outcome], None] | None = None
    env: dict[str, str] = field(default_factory=dict)
    fsize: int | None = None


ROOT = r"\S*archive"
DAMAGED = rf"the catalog {ROOT}/catalog.sqlite is damaged \((?P<reason>[^)]+)\); run `scraper catalog rebuild " \
          rf"--archive {ROOT}` to rebuild it from the crawls' files \(the damaged one is kept, as " \
          rf"catalog.sqlite.damaged-N\)$"
MALFORMED = DAMAGED.replace("(?P<reason>[^)]+)", "database disk image is malformed")
NOT_A_DATABASE = DAMAGED.replace("(?P<reason>[^)]+)", "file is not a database")
PAGE_DAMAGE = DAMAGED.replace("(?P<reason>[^)]+)", r"(\*\*\* in database main \*\*\* Page \d+: .*|database disk "
                                                    r"image is malformed)")
MISSING = (rf"the catalog {ROOT}/catalog.sqlite is missing, but {ROOT}/crawls holds 2 crawl\(s\) with page records; "
           rf"run `scraper catalog rebuild --archive {ROOT}` to rebuild it from them \(without it, every page's "
           rf"history would start again at version 1\)$")
LOCKED = rf"the catalog {ROOT}/catalog.sqlite is locked by pid {{pid}} \(.*\): waited 1 s for it \(SCRAPER_CATALOG_WAIT"
NO_ROOM = rf"cannot write the catalog {ROOT}/catalog.sqlite: (disk I/O error|database or disk is full); make room"
WAIT = {"SCRAPER_CATALOG_WAIT": "1"}
REBUILT = r"catalog \S+ rebuilt from 2 crawl\(s\): 14 capture\(s\) \(14 readable\), "
NEVER_AGAIN = r"; marked never due again until its schedule is changed \(scraper watch add URL --every/--cron\)$"

CASES = [
    # -- schedules that never come round: refused when added; an old row is marked apart -------------------
    Case("watch-add-cron-never-fires", ("watch", "add", "{live}/plain", "--cron", "0 0 31 4 *"), 2,
         r"--cron '0 0 31 4 \*': no date matches it after \d{4}-\d\d-\d\d: it never fires$",
         check=holds(lambda out: out.watches()["plain"]["cron"] is None)),
    Case("watch-add-every-past-9999", ("watch", "add", "{live}/plain", "--every", "99999999999d"), 2,
         r"--every 99999999999d: its next time would be past the year 9999$",
         check=holds(lambda out: out.watches()["plain"]["every_seconds"] == 3600)),
    Case("rearchive-old-row-cron-never-fires", ("rearchive",), 0,
         r"warning: watch \S+/live/plain \(cron 0 0 31 4 \*\): no date matches it after \S+: it never fires"
         + NEVER_AGAIN, old_watch_row("plain", cron="0 0 31 4 *"), check=marked_apart("plain")),
    Case("rearchive-old-row-every-overflows", ("rearchive",), 0,
         r"warning: watch \S+/live/moved \(every 8\.64e\+15 seconds\): its next time would be past the year 9999"
         + NEVER_AGAIN, old_watch_row("moved", every=8.64e15), check=marked_apart("moved")),
    # -- the catalog is one file after every command that writes it ------------------------------------------
    Case("one-file-after-crawl", ("crawl", "{live}/plain", *COMMON), 0, r"pages archived\s+1",
         check=one_file_catalog(1)),
    Case("one-file-after-rearchive", ("rearchive", "{live}/plain", *COMMON), 0, r"pages archived\s+1",
         check=one_file_catalog(1)),
    # -- a damaged catalog: one line, exit 4, nothing made ---------------------------------------------------------
    Case("damaged-page-crawl", ("crawl", "{live}/plain", *COMMON), 4, PAGE_DAMAGE,
         broken(corrupt_captures_page), check=nothing_crawled),
    Case("damaged-header-crawl", ("crawl", "{live}/plain", *COMMON), 4, NOT_A_DATABASE,
         broken(garbage_header), check=nothing_crawled),
    Case("damaged-page-rearchive", ("rearchive", "--all", *COMMON), 4, PAGE_DAMAGE,
         broken(corrupt_captures_page), check=nothing_crawled),
    Case("damaged-truncated-history", ("history", "{live}/edited"), 4, MALFORMED, broken(truncated)),
    Case("damaged-page-show", ("show", "{live}/edited"), 4, MALFORMED, broken(corrupt_captures_page)),
    Case("damaged-header-diff", ("diff", "{live}/edited"), 4, NOT_A_DATABASE, broken(garbage_header)),
    Case("damaged-header-watch-list", ("watch", "list"), 4, NOT_A_DATABASE, broken(garbage_header)),
    Case("damaged-truncated-watch-add", ("watch", "add", "{live}/new"), 4, MALFORMED, broken(truncated)),
    Case("damaged-page-rebuild", ("catalog", "rebuild"), 0,
         REBUILT + r"7 watch\(es\) kept; the old catalog is kept as \S+/catalog.sqlite.damaged-1$",
         broken(corrupt_captures_page), check=kept_aside(corrupt_captures_page, watches=True)),
    Case("damaged-header-rebuild", ("catalog", "rebuild"), 1,
         r"warning: the old catalog's watches could not all be read \(file is not a database\): 0 kept; add the "
         r"others again \(scraper watch add URL\)$", broken(garbage_header),
         check=kept_aside(garbage_header, watches=False)),
    # -- a catalog deleted or emptied while crawls remain: said, and rebuilt --------------------------------------
    Case("missing-crawl", ("crawl", "{live}/plain", *COMMON), 4, MISSING, deleted, check=nothing_created),
    Case("missing-history", ("history", "{live}/edited"), 4, MISSING, deleted, check=nothing_created),
    Case("missing-rearchive", ("rearchive", "--all", *COMMON), 4, MISSING, deleted, check=nothing_created),
    Case("missing-watch-add", ("watch", "add", "{live}/new"), 4, MISSING, deleted, check=nothing_created),
    Case("emptied-crawl", ("crawl", "{live}/plain", *COMMON), 4, MISSING.replace("is missing", "is empty"), emptied,
         check=nothing_crawled),
    Case("missing-rebuild", ("catalog", "rebuild"), 0, REBUILT + r"0 watch\(es\) kept; there was no old catalog$",
         deleted, check=rebuilt_and_crawls_on),
    # -- a catalog another process holds: said, with who, exit 75 ------------------------------------------------
    Case("locked-watch-add", ("watch", "add", "{live}/new"), 75, LOCKED + r".*; try again when it is free$",
         hold=catalog_locked, env=WAIT),
    Case("locked-crawl", ("crawl", "{live}/plain", *COMMON), 75,
         LOCKED + r".*; what was archived is kept: wait until the catalog is free, then run scraper crawl --resume",
         hold=catalog_locked, env=WAIT, check=stopped_for_resume("crawl")),
    Case("locked-rearchive", ("rearchive", "{live}/plain", *COMMON), 75,
         LOCKED + r".*; what was archived is kept: wait until the catalog is free, then run scraper rearchive "
                  r"--resume", hold=catalog_locked, env=WAIT, check=stopped_for_resume("rearchive")),
    Case("rebuild-while-a-crawl-runs", ("catalog", "rebuild"), 75,
         rf"crawl \S+ is running in {ROOT}/crawls: rebuild the catalog when it has ended$", hold=crawl_running,
         check=holds(lambda out: (out.root / CATALOG).read_bytes() == out.earlier.catalog)),
    # -- a full disk ------------------------------------------------------------------------------------------------
    Case("full-disk-watch-add", ("watch", "add", "{live}/new"), 74, NO_ROOM, fsize=0,
         check=holds(lambda out: "new" not in out.watches())),
    Case("full-disk-rearchive", ("rearchive", "--all", *COMMON), 74, NO_ROOM, fsize=0, check=nothing_crawled),
    Case("rearchive-out-of-room-advises-rearchive-resume", ("rearchive", *COMMON), 74,
         r"cannot write the (archive in|catalog) \S+: .*; what was archived is kept: make room, then run scraper "
         r"rearchive --resume \S+ --archive \S+$", watching_big, fsize=BIG_LIMIT,
         check=all_checks(stopped_for_resume("rearchive"), resumed_and_marked)),
]


def test_the_table_has_a_row_per_case() -> None:
    assert len(CASES) >= 25 and len({c.id for c in CASES}) == len(CASES)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_hostile_catalog(case: Case, earlier: Earlier, tmp_path: Path) -> None:
    root = tmp_path / "archive"
    shutil.copytree(earlier.root, root)
    if case.prepare is not None:
        case.prepare(root, earlier)
    args = [arg.replace("{live}", earlier.site.url("/live")) for arg in case.command]
    with (case.hold or (lambda _root: nullcontext()))(root):
        proc = run(*args, "--archive", str(root), env=case.env, fsize=case.fsize)
    out = Outcome(root, earlier, proc, [d for d in crawl_dirs(root) if d.name not in earlier.crawls])

    # the exit status, and no traceback anywhere
    assert proc.returncode == case.exit, f"exit {proc.returncode}, not {case.exit}:\n{proc.stderr}"
    assert TRACEBACK not in proc.stderr and TRACEBACK not in proc.stdout, proc.stderr
    # the message: the one error line when the command failed
    message = case.message.replace("{pid}", str(os.getpid()))
    errors = [line for line in proc.stderr.splitlines() if line.startswith("scraper: error:")]
    if case.exit not in (0, 1):
        assert len(errors) == 1, proc.stderr
        assert re.search(message, errors[0].removeprefix("scraper: error: ")), f"no /{message}/ in {errors[0]!r}"
    else:
        assert not errors, proc.stderr
        assert any(re.search(message, line) for line in proc.stderr.splitlines()), f"no /{message}/ in:\n{proc.stderr}"

    # the crawls already archived, byte for byte
    for crawl, hashes in earlier.crawls.items():
        assert sha256_tree(root / "crawls" / crawl) == hashes
    assert not list(root.glob(".catalog.sqlite.*")), "a temporary catalog left behind"

    if case.check is not None:
        case.check(out)
