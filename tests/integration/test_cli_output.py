"""Issue 13, items 8 and 9: what the CLI prints when its output goes to a pipe or a log.

Tables (`watch list`, `history`, the crawl summary) print every value whole when stdout
(stderr for the summary) is not a terminal; `watch list` times are the records' format
and come from the catalog's captures; the summary counts every WARC record `verify`
counts; URLs without a scheme are taken as https://.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
import os
import pty
import re
import ssl
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import FAST, REPO, crawl_dirs, read_jsonl, run_scraper
from tests.site import LivePage, Site, SiteServer, live_article, make_handler

TIMESTAMP = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ")  # the page records' fetched_at
PARAGRAPHS = [f"Paragraph {i} tells, at the length an article has, what the harbour board decided "
              f"about the ferry timetable and the price of a season ticket." for i in range(4)]
# Longer than any terminal is wide: a table sized to one would have to cut or wrap them.
SLUGS = ["council-" + "backs-the-harbour-plan-" * 10 + "1", "ferry-" + "timetable-for-the-winter-" * 10 + "2"]


@pytest.fixture(scope="module")
def archive(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Site, Path, list[str]]]:
    """Two watched pages with URLs over 200 characters, captured by a plain `scraper crawl`."""
    root = tmp_path_factory.mktemp("cli-output")
    with SiteServer() as site:
        for slug in SLUGS:
            site.live[slug] = LivePage(live_article("Harbour plan", PARAGRAPHS, ["Storm"]))
        urls = [site.url(f"/live/{slug}") for slug in SLUGS]
        assert all(len(url) > 200 for url in urls)
        assert run_scraper("watch", "add", *urls, "--every", "6h", "--archive", str(root)).returncode == 0
        crawl = run_scraper("crawl", *urls, "--archive", str(root), *FAST)
        assert crawl.returncode == 0, crawl.stderr
        yield site, root, urls


def records_by_url(root: Path) -> dict[str, dict[str, Any]]:
    return {r["requested_url"]: r for crawl in crawl_dirs(root) for r in read_jsonl(crawl / "pages.jsonl")}


def tab_rows(stdout: str) -> list[list[str]]:
    return [line.split("\t") for line in stdout.splitlines()]


def test_watch_list_prints_whole_urls_and_times_when_piped(archive: tuple[Site, Path, list[str]]) -> None:
    _site, root, urls = archive
    records = records_by_url(root)
    proc = run_scraper("watch", "list", "--archive", str(root))  # stdout is a pipe
    assert proc.returncode == 0, proc.stderr
    header, *rows = tab_rows(proc.stdout)
    assert header == ["url", "schedule", "last captured", "next due"]
    assert sorted(row[0] for row in rows) == sorted(urls)  # every URL whole, one row a line
    for url, schedule, last_captured, next_due in rows:
        assert schedule == "every 6h"
        # captured by `scraper crawl`, not by a rearchive run: still the URL's last capture
        assert last_captured == records[url]["fetched_at"]
        assert TIMESTAMP.fullmatch(next_due), next_due


def run_on_a_terminal(*args: str, columns: int = 100) -> str:
    """``python -m scraper ARGS`` with stdout on a pseudo-terminal COLUMNS wide; what it printed, uncoloured."""
    leader, follower = pty.openpty()
    env = {**os.environ, "PYTHONPATH": str(REPO), "COLUMNS": str(columns)}
    with subprocess.Popen([sys.executable, "-m", "scraper", *args], cwd=REPO, env=env, stdout=follower,
                          stderr=subprocess.PIPE) as proc:
        os.close(follower)
        chunks = []
        while True:
            try:
                chunk = os.read(leader, 65536)
            except OSError:  # EIO: the terminal's other end is closed, all is read
                break
            if not chunk:
                break
            chunks.append(chunk)
        assert proc.wait(timeout=60) == 0, proc.stderr.read() if proc.stderr else ""
    os.close(leader)
    return re.sub(r"\x1b\[[0-9;]*m", "", b"".join(chunks).decode("utf-8")).replace("\r", "")


def test_watch_list_on_a_terminal_folds_long_urls_and_never_cuts_them(
        archive: tuple[Site, Path, list[str]]) -> None:
    _site, root, urls = archive
    shown = run_on_a_terminal("watch", "list", "--archive", str(root))
    header, *lines = [line for line in shown.splitlines() if line.strip()]
    assert header.split() == ["url", "schedule", "last", "captured", "next", "due"]
    assert "…" not in shown
    assert all(len(line) <= 100 for line in lines)  # drawn to the terminal's width ...
    folded = "".join(line.split(" ", 1)[0] for line in lines)  # ... the URL column, line after line
    assert all(url in folded for url in urls), shown
    records = records_by_url(root)
    assert all(records[url]["fetched_at"] in shown for url in urls)


def test_watch_list_json_uses_the_records_time_format(archive: tuple[Site, Path, list[str]]) -> None:
    _site, root, urls = archive
    records = records_by_url(root)
    proc = run_scraper("watch", "list", "--json", "--archive", str(root))
    assert proc.returncode == 0, proc.stderr
    listed = [json.loads(line) for line in proc.stdout.splitlines()]
    assert sorted(w["url"] for w in listed) == sorted(urls)
    for watch in listed:
        assert watch["last_captured_at"] == records[watch["url"]]["fetched_at"]
        assert TIMESTAMP.fullmatch(watch["next_due_at"]), watch["next_due_at"]


def test_watch_list_says_never_only_for_a_url_never_captured(archive: tuple[Site, Path, list[str]],
                                                            tmp_path: Path) -> None:
    urls = archive[2]
    # a fresh archive whose catalog has the watch but no capture
    assert run_scraper("watch", "add", urls[0], "--archive", str(tmp_path)).returncode == 0
    (watch,) = [json.loads(line) for line in run_scraper("watch", "list", "--json", "--archive", str(tmp_path))
                .stdout.splitlines()]
    assert watch["last_captured_at"] is None and TIMESTAMP.fullmatch(watch["next_due_at"])
    ((url, _schedule, last_captured, _next_due),) = tab_rows(
        run_scraper("watch", "list", "--archive", str(tmp_path)).stdout)[1:]
    assert (url, last_captured) == (urls[0], "never")


def test_watch_list_last_captured_of_a_url_that_redirects_is_its_pages(tmp_path: Path) -> None:
    """A watched URL answering 301: its capture is filed under the page it leads to, and still counts."""
    with SiteServer() as site:
        site.live["story"] = LivePage(live_article("Harbour plan", PARAGRAPHS, ["Storm"]))
        site.live["old"] = LivePage(b"", status=301, headers=[("Location", "/live/story")])
        old = site.url("/live/old")
        assert run_scraper("watch", "add", old, "--archive", str(tmp_path)).returncode == 0
        crawl = run_scraper("crawl", old, "--archive", str(tmp_path), *FAST)
    assert crawl.returncode == 0, crawl.stderr
    (record,) = records_by_url(tmp_path).values()
    assert record["url"] == site.url("/live/story")
    (watch,) = [json.loads(line) for line in run_scraper("watch", "list", "--json", "--archive", str(tmp_path))
                .stdout.splitlines()]
    assert (watch["url"], watch["last_captured_at"]) == (old, record["fetched_at"])


def test_history_prints_whole_values_when_piped(archive: tuple[Site, Path, list[str]]) -> None:
    _site, root, urls = archive
    record = records_by_url(root)[urls[0]]
    proc = run_scraper("history", urls[0], "--archive", str(root))
    assert proc.returncode == 0, proc.stderr
    header, *rows = tab_rows(proc.stdout)
    assert header == ["fetched", "status", "record", "version", "changed", "words", "WARC"]
    ((fetched, status, kind, _version, _changed, words, warc),) = rows
    assert (fetched, status, kind, words) == (record["fetched_at"], "200", "response", str(record["word_count"]))
    assert warc == f"{record['crawl_id']}/{record['warc']['file']}"


def summary_warc_records(stderr: str) -> int:
    match = re.search(r"^HTTP exchanges\t\d+ \((\d+) WARC records\)$", stderr, re.M)
    assert match, stderr
    return int(match.group(1))


def verified_records(root: Path, crawl: Path) -> int:
    proc = run_scraper("verify", str(crawl), "--json", "--archive", str(root))
    assert proc.returncode == 0, proc.stdout
    return sum(json.loads(line)["records"] for line in proc.stdout.splitlines())


def test_summary_counts_every_warc_record_verify_reads(tmp_path: Path) -> None:
    """warcinfo, and the metadata record that keeps a 304 beside its revisit, are records too."""
    root = tmp_path
    with SiteServer() as site:
        site.live["story"] = LivePage(live_article("Harbour plan", PARAGRAPHS, ["Storm"]), etag='"v1"')
        url = site.url("/live/story")
        once = run_scraper("crawl", url, "--archive", str(root), *FAST)
        assert once.returncode == 0, once.stderr
        (first,) = crawl_dirs(root)
        again = run_scraper("crawl", url, "--archive", str(root), "--jsonl", "-", *FAST)  # the server answers 304
    assert again.returncode == 0, again.stderr
    assert summary_warc_records(once.stderr) == verified_records(root, first)
    second = next(c for c in crawl_dirs(root) if c != first)
    manifest = json.loads((second / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["counts"]["revisits"] == {"server-not-modified": 1}
    assert summary_warc_records(again.stderr) == manifest["counts"]["warc_records"] == verified_records(root, second)
    first_manifest = json.loads((first / "manifest.json").read_text(encoding="utf-8"))
    assert first_manifest["counts"]["warc_records"] == verified_records(root, first)
    # `--jsonl -`: the records went to stdout, and the summary says so
    assert [r["requested_url"] for r in map(json.loads, again.stdout.splitlines())] == [url]
    records_line = next(line for line in again.stderr.splitlines() if line.startswith("records\t"))
    assert records_line == f"records\t{second / 'pages.jsonl'} (+ stdout)"


# -- URLs without a scheme -------------------------------------------------------------------------
def self_signed(directory: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 and news.test (Scrapy, like a browser's first try, does not verify it)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "news.test")])
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(days=1)).not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName("news.test"),
                                                        x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                           critical=False)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


@pytest.fixture
def https_site(tmp_path: Path) -> Iterator[Site]:
    """The test site over TLS on 127.0.0.1."""
    site = Site("127.0.0.1", 0)
    site.live["story"] = LivePage(live_article("Harbour plan", PARAGRAPHS, ["Storm"]))
    site.live["other"] = LivePage(live_article("Ferry strike", PARAGRAPHS, ["Storm"]))
    server = ThreadingHTTPServer(("127.0.0.1", 0), make_handler(site))
    server.daemon_threads = True
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(*self_signed(tmp_path))
    server.socket = context.wrap_socket(server.socket, server_side=True)
    site.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield site
    finally:
        server.shutdown()
        server.server_close()


def test_urls_without_a_scheme_are_taken_as_https(https_site: Site, tmp_path: Path) -> None:
    port = https_site.port
    root = tmp_path / "archive"
    seeds = tmp_path / "seeds.txt"
    seeds.write_text(f"# a seed file\nnews.test:{port}/live/other\n", encoding="utf-8")
    proc = run_scraper("crawl", f"127.0.0.1:{port}/live/story", "-i", str(seeds),
                       "--resolve", "news.test:127.0.0.1", "--archive", str(root), *FAST)
    assert proc.returncode == 0, proc.stderr
    records = records_by_url(root)
    story, other = f"https://127.0.0.1:{port}/live/story", f"https://news.test:{port}/live/other"
    assert sorted(records) == sorted([story, other])
    assert [records[u]["status"] for u in (story, other)] == [200, 200]
    assert records[story]["title"] == "Harbour plan"
    # the same reading in the commands that look URLs up or watch them
    shown = run_scraper("show", f"127.0.0.1:{port}/live/story", "--archive", str(root))
    assert shown.returncode == 0, shown.stderr
    assert json.loads(shown.stdout)["url"] == story
    history = run_scraper("history", f"news.test:{port}/live/other", "--json", "--archive", str(root))
    assert history.returncode == 0, history.stderr
    assert [json.loads(line)["url"] for line in history.stdout.splitlines()] == [other]
    assert run_scraper("watch", "add", f"news.test:{port}/live/other", "--archive", str(root)).returncode == 0
    (watch,) = [json.loads(line) for line in run_scraper("watch", "list", "--json", "--archive", str(root))
                .stdout.splitlines()]
    assert watch["url"] == other and watch["last_captured_at"] == records[other]["fetched_at"]
    # another scheme is still refused, with one line and nothing crawled
    for url in ("ftp://example.com/file", "mailto:me@example.com"):
        refused = run_scraper("crawl", url, "--archive", str(tmp_path / "refused"))
        assert refused.returncode == 2 and refused.stderr.startswith("scraper: error: invalid URL"), refused.stderr
        assert len(refused.stderr.splitlines()) == 1
    assert not crawl_dirs(tmp_path / "refused")
