"""``scraper verify`` over real crawls of the test site, and over damaged copies of their WARCs."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from scraper.storage.warc import iter_records
from tests.conftest import FAST, crawl_dirs, run_scraper
from tests.integration.test_export_reextract import read_through_a_terminal
from tests.site import LivePage, Site, live_article
from tests.unit.storage.helpers import edit_record, member_of, members, replace_member
from tests.unit.storage.test_verify_foreign import HTML, lying_server


@dataclass
class Archive:
    root: Path
    first: Path  # crawl folders
    second: Path
    procs: list[subprocess.CompletedProcess[str]]

    def warcs(self, crawl: Path) -> list[Path]:
        return sorted(crawl.glob("*.warc.gz"))


@pytest.fixture(scope="module")
def archive(site: Site, tmp_path_factory: pytest.TempPathFactory) -> Archive:
    """Two crawls into one root; the second one's unchanged pages are revisits of the first one's."""
    root = tmp_path_factory.mktemp("verify-archive")
    site.live["verify-etag"] = LivePage(live_article("Verified", ["A paragraph of text."] * 5, ["x"]), etag='"v1"')
    urls = [site.url(p) for p in ("/", "/gzip/article.html", "/chunked", "/cookies", "/report.pdf", "/redirect/1",
                                  "/styled.html", "/live/verify-etag")]
    first = run_scraper("crawl", *urls, "--requisites", "--archive", str(root), *FAST)
    time.sleep(1.1)  # crawl ids sort by their second
    second = run_scraper("crawl", site.url("/cookies"), site.url("/live/verify-etag"), "--archive", str(root), *FAST)
    dirs = crawl_dirs(root)
    assert len(dirs) == 2, first.stderr + second.stderr
    return Archive(root, dirs[0], dirs[1], [first, second])


def manifest(crawl: Path) -> dict:
    return json.loads((crawl / "manifest.json").read_text())


def assert_usage_error(proc: subprocess.CompletedProcess[str], words: str) -> None:
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("scraper: error:") and words in lines[0], proc.stderr


# -- clean crawls -----------------------------------------------------------------------------------------
def test_crawls_pass_and_have_what_verify_must_handle(archive: Archive) -> None:
    for proc in archive.procs:
        assert proc.returncode == 0, proc.stderr
    records = [r for path in archive.warcs(archive.first) + archive.warcs(archive.second) for r in iter_records(path)]
    encodings = {v for r in records for k, v in r.http_headers if k.lower() == "content-encoding"}
    assert "gzip" in encodings
    profiles = {v for r in records if r.rec_type == "revisit" for k, v in r.warc_headers if k == "WARC-Profile"}
    assert len(profiles) == 2  # identical-payload and server-not-modified (with its metadata record)


def test_every_crawl_manifest_records_a_clean_quick_verify(archive: Archive) -> None:
    for crawl in (archive.first, archive.second):
        data = manifest(crawl)
        records = sum(1 for path in archive.warcs(crawl) for _ in iter_records(path))
        assert data["verify"] == {"files": len(data["warc_files"]), "records": records, "faults": [], "warnings": [],
                                  "ok": True}
        assert data["verify"]["files"] == len(archive.warcs(crawl)) >= 1


def test_verify_the_archive_root(archive: Archive) -> None:
    proc = run_scraper("verify", "--archive", str(archive.root))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    lines = proc.stdout.splitlines()
    warcs = archive.warcs(archive.first) + archive.warcs(archive.second)
    assert [line.split(" ")[:2] for line in lines] == [["OK", str(path)] for path in warcs]
    assert "no damage" in proc.stderr


def test_a_crawl_folder_alone_finds_its_revisits_originals_in_the_archive(archive: Archive) -> None:
    proc = run_scraper("verify", str(archive.second), "--json")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    reports = [json.loads(line) for line in proc.stdout.splitlines()]
    assert [r["path"] for r in reports] == [str(p) for p in archive.warcs(archive.second)]
    assert all(r["ok"] and r["faults"] == r["warnings"] == [] and r["mode"] == "deep" for r in reports)
    # Outside the archive the originals cannot be looked up: a warning, not damage.
    loose = shutil.copytree(archive.second, archive.root.parent / "loose-second-crawl", dirs_exist_ok=True)
    proc = run_scraper("verify", str(loose))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "warning unresolved-link" in proc.stdout and "WARC-Refers-To" in proc.stdout


def test_a_bar_with_rate_and_eta_on_a_terminal_and_nothing_of_it_down_a_pipe(archive: Archive) -> None:
    status, terminal = read_through_a_terminal("verify", "--archive", str(archive.root))
    assert status == 0, terminal
    files = len(archive.warcs(archive.first) + archive.warcs(archive.second))
    assert re.search(rf"verifying {files} WARC file\(s\) .*\d+/\d+ .*[\d?.,]+ MB/s .*eta", terminal), terminal
    assert terminal.rstrip().endswith("no damage"), terminal  # the bar cleared, the summary last
    piped = run_scraper("verify", "--archive", str(archive.root))
    assert piped.returncode == 0
    assert re.fullmatch(r"scraper: verified \d+ file\(s\), \d+ records: no damage\n", piped.stderr), piped.stderr


# -- damaged copies ----------------------------------------------------------------------------------------
def response_offset(path: Path, url: str) -> int:
    return next(r.offset for r in iter_records(path) if r.rec_type == "response" and r.target_uri == url)


def test_damaged_copies_exit_3_and_name_the_fault(archive: Archive, site: Site, tmp_path: Path) -> None:
    (original,) = archive.warcs(archive.first)
    offset = response_offset(original, site.url("/cookies"))
    index = member_of(original, offset)
    body = edit_record(members(original)[index][1], fix_digests=False,
                       block=lambda b: b.replace(b"Two cookies", b"Two COOKIES", 1))
    altered = replace_member(original, index, body, tmp_path / "altered.warc.gz")
    torn = tmp_path / "torn.warc.gz"
    torn.write_bytes(original.read_bytes()[:-10])
    # Each copy on its own: together they would share every record id.
    proc = run_scraper("verify", str(altered))
    assert proc.returncode == 3, proc.stdout + proc.stderr
    out = proc.stdout.splitlines()
    assert out[0].startswith(f"DAMAGED {altered} (")
    assert out[1].startswith(f"  block-digest at offset {offset} (<urn:uuid:") and "does not match the block" in out[1]
    assert out[2].startswith(f"  payload-digest at offset {offset} (<urn:uuid:")
    assert len(out) == 3 and "1 damaged" in proc.stderr and "Traceback" not in proc.stderr
    proc = run_scraper("verify", str(torn))
    assert proc.returncode == 3, proc.stdout + proc.stderr
    assert proc.stdout.startswith(f"DAMAGED {torn} (")
    assert f"  gzip-member at offset {members(original)[-1][0]}: the file ends inside" in proc.stdout
    # The quick form does not read digests: the altered copy passes it, the torn one does not.
    for copy, status in ((altered, 0), (torn, 3)):
        quick = run_scraper("verify", "--quick", "--json", str(copy))
        assert quick.returncode == status, quick.stdout + quick.stderr
        assert json.loads(quick.stdout)["mode"] == "quick"


def test_jobs_report_what_one_process_reports_in_the_same_order(archive: Archive, site: Site,
                                                                 tmp_path: Path) -> None:
    """Several WARC files, one damaged (digests), one torn (gzip), one a copy (every id a duplicate across
    files, a check the parent makes of the workers' reports): --jobs 2 prints what --jobs 1 prints."""
    root = Path(shutil.copytree(archive.root, tmp_path / "archive"))
    first = root / archive.first.relative_to(archive.root)
    (original,) = sorted(first.glob("*.warc.gz"))
    index = member_of(original, response_offset(original, site.url("/cookies")))
    body = edit_record(members(original)[index][1], fix_digests=False,
                       block=lambda b: b.replace(b"Two cookies", b"Two COOKIES", 1))
    replace_member(original, index, body, first / "scraper-altered.warc.gz")
    (first / "scraper-torn.warc.gz").write_bytes(original.read_bytes()[:-10])
    shutil.copy(original, first / "scraper-zcopy.warc.gz")
    outputs = {jobs: [run_scraper("verify", "--jobs", jobs, *form, "--archive", str(root))
                      for form in ((), ("--json",))] for jobs in ("1", "2")}
    for one, two in zip(outputs["1"], outputs["2"], strict=True):
        assert one.returncode == two.returncode == 3, one.stderr + two.stderr
        assert (two.stdout, two.stderr) == (one.stdout, one.stderr)
    kinds = {fault["kind"] for line in outputs["1"][1].stdout.splitlines() for fault in json.loads(line)["faults"]}
    assert {"block-digest", "gzip-member", "duplicate-id"} <= kinds
    assert_usage_error(run_scraper("verify", "--jobs", "0", "--archive", str(root)), "--jobs")


def test_open_files_are_skipped_unless_named(archive: Archive, tmp_path: Path) -> None:
    (original,) = archive.warcs(archive.first)
    folder = tmp_path / "crawl"
    folder.mkdir()
    shutil.copy(original, folder / original.name)
    still_open = folder / "scraper-next.warc.gz.open"
    still_open.write_bytes(original.read_bytes()[:-10])  # torn, as a file being written is
    proc = run_scraper("verify", str(folder))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "skipped" in proc.stderr and str(still_open) in proc.stderr and str(still_open) not in proc.stdout
    named = run_scraper("verify", str(still_open))
    assert named.returncode == 3 and named.stdout.startswith(f"DAMAGED {still_open}")


def test_warnings_are_reported_apart_and_leave_the_exit_status_alone(tmp_path: Path) -> None:
    """A server's lie (gzip that is not gzip), archived as told, beside a damaged record."""
    lie = lying_server(tmp_path / "lie", HTML, [("Content-Encoding", "gzip")]).path
    proc = run_scraper("verify", str(lie))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    out = proc.stdout.splitlines()
    assert out[0] == f"OK {lie} (3 records)" and len(out) == 2
    assert out[1].startswith("  warning content-encoding-mismatch at offset ") and "but the body starts" in out[1]
    assert proc.stderr.strip() == "scraper: verified 1 file(s), 3 records: no damage; 1 warning(s)"
    proc = run_scraper("verify", "--json", str(lie))
    (report,) = [json.loads(line) for line in proc.stdout.splitlines()]
    assert report["ok"] is True and report["faults"] == []
    assert [(w["kind"], sorted(w)) for w in report["warnings"]] == [
        ("content-encoding-mismatch", ["kind", "message", "offset", "record_id"])]
    # Damage beside it: exit 3, the fault under "faults", the warning still under "warnings".
    damaged = tmp_path / "damaged.warc.gz"
    damaged.write_bytes(lie.read_bytes()[:-30])
    proc = run_scraper("verify", "--json", str(damaged))
    assert proc.returncode == 3, proc.stdout + proc.stderr
    (report,) = [json.loads(line) for line in proc.stdout.splitlines()]
    assert [f["kind"] for f in report["faults"]] == ["gzip-member"]
    assert [w["kind"] for w in report["warnings"]] == ["content-encoding-mismatch"]


# -- usage errors ------------------------------------------------------------------------------------------
def test_usage_errors_are_one_line(archive: Archive, tmp_path: Path) -> None:
    assert_usage_error(run_scraper("verify", str(tmp_path / "nope.warc.gz")), "no such file or folder")
    assert_usage_error(run_scraper("verify", str(archive.first / "manifest.json")), "not a WARC file")
    assert_usage_error(run_scraper("verify", "--archive", str(tmp_path / "no-archive")), "no archive at")
    empty = tmp_path / "empty"
    empty.mkdir()
    assert_usage_error(run_scraper("verify", str(empty)), "no WARC files under")
