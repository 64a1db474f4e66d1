"""Issue 14: WARCs that other tools wrote (wget, warcio, warcprox, pywb's recorder), made here against
the local test site (tests/foreign_warcs.py), read by every reader: verify, then, once imported,
index, export, show, history, wacz, reextract and pywb replay.  And verify still catches every
damaged sample of the independent validator's (../shared/tools/warc-check/samples/bad/)."""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import re
import subprocess
import sys
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from jsonschema import Draft202012Validator
from warcio.archiveiterator import ArchiveIterator

from tests.conftest import REPO, assert_valid_records, crawl_dirs, read_jsonl, run_scraper
from tests.foreign_warcs import CHUNKED, Corpus, PywbCorpora, WgetCorpora, fetch
from tests.integration.test_crawl import WARC_CHECK, WARC_CHECK_SETUP, WARC_CHECK_VENV
from tests.integration.test_interchange import capture_ts, pywb_replay, wacz_pages, wacz_validate
from tests.site import Site

SAMPLES = WARC_CHECK / "samples"
CORPORA = ["wget", "warcio", "warcprox", "pywb"]


@pytest.fixture(params=CORPORA)
def corpus(request: pytest.FixtureRequest) -> Corpus:
    return corpus_named(request, request.param)


def corpus_named(request: pytest.FixtureRequest, name: str) -> Corpus:
    if name.startswith("wget"):
        wget: WgetCorpora = request.getfixturevalue("wget_corpora")
        return wget.dedup if name == "wget-dedup" else wget.plain
    if name.startswith("pywb"):
        pywb: PywbCorpora = request.getfixturevalue("pywb_corpora")
        return pywb.chunked if name == "pywb-chunked" else pywb.plain
    found: Corpus = request.getfixturevalue(f"{name}_corpus")
    return found


@dataclass(frozen=True)
class Capture:
    rec_type: str
    url: str
    offset: int
    status: int | None
    http_headers: dict[str, str]
    warc_version: str


def captures(corpus: Corpus) -> list[Capture]:
    """The response and revisit records of the corpus, read with warcio (not our reader)."""
    found = []
    for path in corpus.warcs():
        with path.open("rb") as stream:
            records = ArchiveIterator(stream)
            for record in records:
                if record.rec_type in ("response", "revisit"):
                    headers = record.http_headers
                    found.append(Capture(record.rec_type, record.rec_headers.get_header("WARC-Target-URI"),
                                         records.offset, int(headers.get_statuscode()) if headers else None,
                                         {k.lower(): v for k, v in headers.headers} if headers else {},
                                         record.rec_headers.protocol))
    return found


def verify_json(*paths: Path, cwd: Path | None = None) -> tuple[int, list[dict[str, Any]]]:
    proc = run_scraper("verify", "--json", *map(str, paths), cwd=cwd)
    assert "Traceback" not in proc.stderr, proc.stderr
    return proc.returncode, [json.loads(line) for line in proc.stdout.splitlines() if line.strip()]


def findings(reports: list[dict[str, Any]], sort: str = "faults") -> list[dict[str, Any]]:
    """The faults (damage: exit 3), or the warnings, of every file verified."""
    return [dict(finding, path=report["path"]) for report in reports for finding in report[sort]]


# -- the corpus itself ---------------------------------------------------------------------------------
def test_each_tool_wrote_what_it_was_asked_for(corpus: Corpus) -> None:
    """The tests below rely on this: every URL captured, the one captured twice, the revisits."""
    found = captures(corpus)
    assert corpus.captured <= {c.url for c in found}, corpus.captured - {c.url for c in found}
    assert {c.url for c in found if c.rec_type == "revisit"} == corpus.revisits
    assert [c.url for c in found].count(corpus.twice) == 2
    by_url = {c.url: c for c in found if c.rec_type == "response"}
    http10 = next(c for url, c in by_url.items() if url.endswith("/http10/article.html"))
    assert "content-length" not in http10.http_headers and "transfer-encoding" not in http10.http_headers
    if corpus.tool != "pywb":  # pywb is asked for the chunked pages in a collection of their own
        chunked = next(c for url, c in by_url.items() if url.endswith("/chunked-gzip/article.html"))
        assert chunked.http_headers["transfer-encoding"] == "chunked"
        assert chunked.http_headers["content-encoding"] == "gzip"
    assert {c.warc_version for c in found} == {"WARC/1.1" if corpus.tool == "warcio" else "WARC/1.0"}


# -- scraper verify --------------------------------------------------------------------------------------
# What verify may say of a tool's files, beyond nothing: pywb's recorder writes no warcinfo record
# (the standard recommends one, and does not require it).
WARNINGS_ALLOWED = {"pywb": {"no-warcinfo"}}


def test_verify_accepts_every_tools_warcs(corpus: Corpus) -> None:
    """No fault, and no warning but a true one: each of these files is what a real tool writes every day."""
    returncode, reports = verify_json(corpus.folder)
    assert sorted(Path(r["path"]).name for r in reports) == [p.name for p in corpus.warcs()]
    assert findings(reports) == [] and returncode == 0
    assert {w["kind"] for w in findings(reports, "warnings")} <= WARNINGS_ALLOWED.get(corpus.tool, set())
    assert all(report["ok"] and report["mode"] == "deep" for report in reports)


def test_verify_warns_of_pywbs_chunked_captures(pywb_corpora: PywbCorpora) -> None:
    """pywb's recorder stores a chunked answer de-chunked under its Transfer-Encoding: chunked header.
    Every digest agrees with the stored bytes and warcio, FastWARC and pywb read it: no damage, but the
    header no longer tells the truth about the body, and verify says so for each of those records."""
    chunked = pywb_corpora.chunked
    returncode, reports = verify_json(chunked.folder)
    assert findings(reports) == [] and returncode == 0
    mismatched = {w["offset"] for w in findings(reports, "warnings") if w["kind"] == "transfer-encoding-mismatch"}
    assert mismatched == {c.offset for c in captures(chunked) if c.http_headers.get("transfer-encoding")}
    assert len(mismatched) == len(CHUNKED)


def test_verify_flags_the_revisits_of_wget_dedup(wget_corpora: WgetCorpora) -> None:
    """wget 1.21's --warc-dedup revisits carry the SHA-1 of nothing as their block digest (as in
    warc-check's bad/15): verify says so for each of them, and for nothing else."""
    dedup = wget_corpora.dedup
    returncode, reports = verify_json(dedup.folder)
    revisits = {(c.offset, c.url) for c in captures(dedup) if c.rec_type == "revisit"}
    damage = findings(reports)
    assert returncode == 3
    assert {fault["kind"] for fault in damage} == {"block-digest"}
    assert sorted(fault["offset"] for fault in damage) == sorted(offset for offset, _url in revisits)
    assert all(Path(fault["path"]).name == "wget-dedup.warc.gz" for fault in damage)


@dataclass(frozen=True)
class Finding:
    """What verify must say of a damaged sample: faults (exit 3) of these kinds only, or warnings
    (of any kind: their names are verify's to choose); one of them at this offset (when known)."""

    sort: str  # "faults" or "warnings"
    kinds: frozenset[str] = frozenset()
    offset: int | None = None


def fault(*kinds: str, offset: int | None = None) -> Finding:
    return Finding("faults", frozenset(kinds), offset)


def warning(offset: int) -> Finding:
    return Finding("warnings", frozenset(), offset)


# The defects are described in ../shared/tools/warc-check/README.md ("Samples and self-test").
# A damaged gzip member or record hides the records in it, so links to them may break (broken-link).
# Warnings, not damage, where no second reader (warcio, FastWARC) finds a fault and the WARC standard
# names none: a file without warcinfo, a revisit whose original is in no file verified (the standard
# lets it be in another), a Content-Encoding the body contradicts (servers send such answers), a
# response without its request record (requests are optional), a metadata record under the URL and
# second of the capture it describes (Heritrix writes one per capture; pywb may replay it instead).
BAD = {
    "01-flipped-payload-byte.warc.gz": fault("block-digest", "payload-digest", offset=2865),
    "02-truncated-mid-record.warc.gz": fault("gzip-member", "framing", "broken-link", offset=5732),
    "03-wrong-content-length.warc": fault("framing", "broken-link", offset=9147),
    "04-duplicate-record-id.warc.gz": fault("duplicate-id", offset=9818),
    "05-bad-block-digest.warc.gz": fault("block-digest", offset=7542),
    "06-bad-payload-digest.warc.gz": fault("payload-digest", offset=1764),
    "07-no-warcinfo.warc.gz": warning(offset=0),
    "08-bad-warc-date.warc.gz": fault("warc-date"),  # isoformat(): +00:00
    "09-response-without-request.warc.gz": warning(offset=1764),  # the response of /style.css
    "10-revisit-original-missing.warc.gz": warning(offset=10927),
    "11-decoded-body-gzip-header.warc.gz": warning(offset=327),
    "12-metadata-shadows-page.warc.gz": warning(offset=14056),
    "13-single-gzip-stream.warc.gz": fault("multi-record-member", "gzip-member", offset=0),
    "14-flipped-gzip-byte.warc.gz": fault("gzip-member", "broken-link", offset=7344),
    "15-wget-dedup-revisits": fault("block-digest", offset=904),
}


def test_every_bad_sample_is_listed() -> None:
    if not SAMPLES.is_dir():
        pytest.skip(f"no {SAMPLES}")
    assert sorted(p.name for p in (SAMPLES / "bad").iterdir()) == sorted(BAD)


@pytest.mark.parametrize("name", sorted(BAD))
def test_verify_still_catches_each_damaged_sample(name: str) -> None:
    sample = SAMPLES / "bad" / name
    if not sample.exists():
        pytest.skip(f"no {sample}")
    expected = BAD[name]
    returncode, reports = verify_json(sample)
    found = findings(reports, expected.sort)
    assert found and returncode == (3 if expected.sort == "faults" else 0), reports
    if expected.sort == "faults":
        assert {f["kind"] for f in found} <= expected.kinds, found
    else:
        assert findings(reports) == [], reports
    if expected.offset is not None:
        assert expected.offset in {f["offset"] for f in found}, found


def test_without_warcprox_the_tests_say_what_to_run(tmp_path: Path) -> None:
    """Skipped with the command that installs it; failed under CI, whose .ci/run must install it."""
    needs_it = f"{Path(__file__).relative_to(REPO)}::test_each_tool_wrote_what_it_was_asked_for[warcprox]"
    env = {k: v for k, v in os.environ.items() if k != "CI"}
    env["WARCPROX_VENV"] = str(tmp_path / "not-set-up")
    for ci in ("", "true"):
        proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-rs", "-p", "no:cacheprovider",
                               "-n", "0", needs_it],
                              cwd=REPO, env={**env, "CI": ci} if ci else env, capture_output=True, text=True,
                              timeout=300)
        if ci:
            assert proc.returncode == 1 and "1 error" in proc.stdout, proc.stdout
            assert ".ci/run must install it" in proc.stdout, proc.stdout
        else:
            assert proc.returncode == 0 and "1 skipped" in proc.stdout, proc.stdout
            assert f"run `make warcprox` in {REPO}" in proc.stdout, proc.stdout


# -- the independent validator -------------------------------------------------------------------------
def warc_check(folder: Path) -> dict[str, list[str]]:
    """../shared/tools/warc-check/check.sh on a folder: its FAIL lines, by check."""
    if not (WARC_CHECK / "check.sh").is_file() or not (WARC_CHECK_VENV / "bin" / "python").is_file():
        if os.environ.get("CI"):
            pytest.fail("warc-check is not set up: .ci/run must run ../shared/tools/warc-check/setup.sh")
        pytest.skip(f"warc-check is not set up here: {WARC_CHECK_SETUP}")
    proc = subprocess.run(["bash", str(WARC_CHECK / "check.sh"), str(folder)], capture_output=True, text=True,
                          timeout=600, env={**os.environ, "WARC_CHECK_REPLAY_MAX": "0"})
    summary = proc.stdout.strip().splitlines()[-1] if proc.stdout.strip() else proc.stderr
    assert re.fullmatch(r"warc-check: \d+ passed, \d+ failed", summary), summary
    failed: dict[str, list[str]] = {}
    for line in proc.stdout.splitlines():
        found = re.match(r"FAIL\s+(\S+)\s+(.*)", line)
        if found and not line.startswith("  "):
            failed.setdefault(found.group(1), []).append(found.group(2))
    assert (proc.returncode == 0) == (not failed), proc.stdout[-3000:]
    return failed


@pytest.mark.long
def test_independent_validator_passes_wget_and_warcio(request: pytest.FixtureRequest) -> None:
    for name in ("wget", "warcio"):
        assert warc_check(corpus_named(request, name).folder) == {}, name


def test_independent_validator_differs_on_warcprox_only_about_chunked_payload_digests(
        warcprox_corpus: Corpus) -> None:
    """warcprox digests a chunked payload de-chunked: the entity-body, as WARC 1.1 (5.9, 6.3.2) defines
    the payload (iipc/warc-specifications#22; Heritrix 3 does the same since its PR #770).  warcio and
    FastWARC digest the bytes as sent, chunk sizes included, and so disagree on those records only."""
    failed = warc_check(warcprox_corpus.folder)
    assert set(failed) == {"warcio-check", "digests-fastwarc"}, failed
    (fastwarc,) = failed["digests-fastwarc"]
    named = set(re.findall(r"WARC-Payload-Digest mismatch: response @\d+ (\S+?)[;\s]", fastwarc + " "))
    assert named == {url for url in warcprox_corpus.captured if url.endswith(tuple(CHUNKED))}, fastwarc


def test_independent_validator_differs_on_pywb_only_about_warcinfo(pywb_corpora: PywbCorpora) -> None:
    """pywb's recorder writes no warcinfo record (WARC 1.1 makes it optional); warc-check wants one first."""
    failed = warc_check(pywb_corpora.plain.folder)
    assert set(failed) == {"warcinfo"}, failed


# -- the readers, on the tools' WARCs imported --------------------------------------------------------
@pytest.fixture(scope="module")
def imported(tmp_path_factory: pytest.TempPathFactory) -> Callable[[Corpus], Path]:
    """``scraper import`` of a corpus into an archive root of its own, once per corpus."""
    roots: dict[str, Path] = {}

    def root_of(corpus: Corpus) -> Path:
        if corpus.tool not in roots:
            root = tmp_path_factory.mktemp(f"imported-{corpus.tool}")
            proc = run_scraper("import", str(corpus.folder), "--archive", str(root), "-q", timeout=600)
            assert proc.returncode == 0, proc.stderr[-3000:]
            assert "Traceback" not in proc.stderr
            roots[corpus.tool] = root
        return roots[corpus.tool]

    return root_of


def test_import_copies_the_files_unchanged(corpus: Corpus, imported: Callable[[Corpus], Path]) -> None:
    (crawl,) = crawl_dirs(imported(corpus))

    def digests(paths: list[Path]) -> dict[str, str]:
        return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in paths}
    copied = [p for p in crawl.iterdir() if p.name.endswith((".warc", ".warc.gz"))]
    assert digests(copied) == digests(corpus.warcs())


def test_index_lists_every_capture(corpus: Corpus, imported: Callable[[Corpus], Path]) -> None:
    root = imported(corpus)
    proc = run_scraper("index", "--archive", str(root))
    assert proc.returncode == 0, proc.stderr
    lines = (root / "index.cdxj").read_text(encoding="utf-8").splitlines()
    assert lines == sorted(lines)
    indexed = [json.loads(line.split(" ", 2)[2]) for line in lines]
    assert corpus.captured <= {entry["url"] for entry in indexed}
    assert {e["url"] for e in indexed if e["mime"] == "warc/revisit"} == corpus.revisits
    assert sum(1 for e in indexed if e["url"] == corpus.twice) == 2


def exported(root: Path) -> list[dict[str, Any]]:
    """The page records ``scraper export`` writes (less ``ts``, the WACZ page field each row begins with)."""
    proc = run_scraper("export", "--archive", str(root), "--as-crawled", "-q")
    assert proc.returncode == 0, proc.stderr
    rows = [json.loads(line) for line in proc.stdout.splitlines()]
    assert all(row["ts"] == row["fetched_at"] for row in rows)
    return [{k: v for k, v in row.items() if k != "ts"} for row in rows]


def records_of(records: list[dict[str, Any]], url: str) -> list[dict[str, Any]]:
    return [r for r in records if url in (r["url"], r["requested_url"])]


def test_export_has_each_html_page_with_its_text(corpus: Corpus, imported: Callable[[Corpus], Path],
                                                 record_validator: Draft202012Validator) -> None:
    records = exported(imported(corpus))
    assert_valid_records(record_validator, records)
    for url, phrase in corpus.pages.items():
        found = records_of(records, url)
        assert found and all(phrase in (r["text"] or "") for r in found), (url, [r["text"] for r in found][:1])
        assert {r["status"] for r in found} == {200} and {r["content_type"] for r in found} == {"text/html"}
    # a page record per capture of an HTML page (revisits included): not for the PDF, nor the redirects
    html = Counter(c.url for c in captures(corpus)
                   if c.status == 200 and c.http_headers.get("content-type", "").startswith("text/html"))
    assert Counter(r["url"] for r in records if r["status"] == 200) == html
    assert not [r for r in records if r["url"].endswith(("/report.pdf", "/redirect/1", "/redirect/2"))]


def test_export_reads_pywbs_chunked_captures(pywb_corpora: PywbCorpora, imported: Callable[[Corpus], Path]) -> None:
    """The header says chunked, the body is not: a reader takes the body as it is, as pywb does."""
    records = exported(imported(pywb_corpora.chunked))
    for url, phrase in pywb_corpora.chunked.pages.items():
        (record,) = records_of(records, url)
        assert phrase in (record["text"] or ""), url
    (small,) = [r for r in records if r["url"].endswith("/chunked")]
    assert small["title"] == "Chunked"


def test_show_prints_an_imported_page(corpus: Corpus, imported: Callable[[Corpus], Path]) -> None:
    """The page captured twice: its latest capture is a revisit for warcio and warcprox, shown from its original."""
    assert corpus.twice
    proc = run_scraper("show", corpus.twice, "--archive", str(imported(corpus)), "--format", "text")
    assert proc.returncode == 0, proc.stderr
    assert corpus.pages[corpus.twice] in proc.stdout


def test_history_lists_both_captures_of_a_page(corpus: Corpus, imported: Callable[[Corpus], Path]) -> None:
    assert corpus.twice
    proc = run_scraper("history", corpus.twice, "--archive", str(imported(corpus)), "--json")
    assert proc.returncode == 0, proc.stderr
    records = [json.loads(line) for line in proc.stdout.splitlines()]
    assert len(records) == 2, records
    kinds = sorted(r["record_kind"] for r in records)
    assert kinds == (["response", "revisit"] if corpus.twice in corpus.revisits else ["response", "response"])
    # a revisit is the same page: the same text, the same version
    assert records[0]["text"] == records[1]["text"] and records[0]["version"] == records[1]["version"]


def test_wacz_of_an_import_validates(corpus: Corpus, imported: Callable[[Corpus], Path], tmp_path: Path) -> None:
    output = tmp_path / f"{corpus.tool}.wacz"
    proc = run_scraper("wacz", "--all", "--archive", str(imported(corpus)), "-o", str(output))
    assert proc.returncode == 0, proc.stderr
    checked = wacz_validate(output)
    assert checked.returncode == 0 and "Validation succeeded" in checked.stdout, checked.stdout + checked.stderr
    _header, pages = wacz_pages(output)
    assert set(corpus.pages) <= {p["url"] for p in pages}
    for page in pages:
        if page["url"] in corpus.pages:
            assert corpus.pages[page["url"]] in page["text"], page["url"]


def test_reextract_extracts_the_imported_pages_again(corpus: Corpus, imported: Callable[[Corpus], Path]) -> None:
    root = imported(corpus)
    (crawl,) = crawl_dirs(root)
    before = set(crawl.glob("pages.reextract-*.jsonl"))
    proc = run_scraper("reextract", "--archive", str(root), "-q")
    assert proc.returncode == 0, proc.stderr
    (written,) = set(crawl.glob("pages.reextract-*.jsonl")) - before
    records = read_jsonl(written)
    for url, phrase in corpus.pages.items():
        found = records_of(records, url)
        assert found and all(phrase in (r["text"] or "") for r in found), url
    assert records_of(records, corpus.twice or "") and len(records_of(records, corpus.twice or "")) == 2


def test_pywb_replays_the_imported_pages(corpus: Corpus, imported: Callable[[Corpus], Path],
                                         foreign_site: Site, tmp_path: Path) -> None:
    root = imported(corpus)
    urls = sorted(corpus.pages)
    requests = [f"/archive/{capture_ts(root, url)}id_/{url}" for url in urls]
    (answers,) = pywb_replay(tmp_path, [(root, requests)])
    for url, answer in zip(urls, answers, strict=True):
        # this worker's server: the corpus may have been made against another worker's, on another port
        path = urlsplit(url)._replace(scheme="", netloc="").geturl()
        status, headers, body = fetch(foreign_site.host, foreign_site.port, path)
        # pywb may send a gzip body as stored, or decoded (it does, for one that was also chunked)
        assert (answer.status, entity(answer.headers, answer.body)) == (status, entity(headers, body)), url
        assert answer.headers["Memento-Datetime"], url


def entity(headers: dict[str, str], body: bytes) -> bytes:
    """``body`` with its content coding undone (gzip is the only one the site sends)."""
    codings = {k.lower(): v for k, v in headers.items()}.get("content-encoding", "")
    return gzip.decompress(body) if codings.strip().lower() == "gzip" else body

