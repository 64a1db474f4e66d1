"""WARC files written by other people's tools, made against the local test site.

Each maker runs a real tool, as its users run it, against a :class:`tests.site.SiteServer`
and returns a :class:`Corpus`: the folder holding the WARC files the tool wrote (and
nothing else), with what the tests may expect of it.

- wget (Debian's ``wget``): ``--warc-file`` with a recursive crawl, then a second run
  (a second capture of a page); a third run with ``--warc-dedup`` writes revisits,
  kept in a folder of their own (wget 1.21's revisits carry a wrong block digest).
- warcio's ``capture_http`` around ``http.client``, with a warcinfo record and
  identical-payload-digest revisits made by a ``filter_func``, as warcio's users do.
- warcprox (PyPI), a recording proxy the client goes through; its dedup db turns the
  second fetch of a page into a revisit.
- pywb's recorder (``recorder: live``), fetched through ``/<coll>/record/id_/<url>``.

The site listens on 127.0.0.2, in the loopback range: warcprox refuses to fetch from
127.0.0.1 itself (``allow_localhost`` is off in its command), and every maker uses the
same site so that their captures compare.
"""

from __future__ import annotations

import http.client
import json
import os
import queue
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from warcio.archiveiterator import ArchiveIterator

from tests.built_once import built_once
from tests.site import Site, SiteServer, expected_for, golden_pages

REPO = Path(__file__).resolve().parents[1]
FOREIGN_HOST = "127.0.0.2"

WARCPROX_VERSION = "2.13.1"
WARCPROX_VENV = Path(os.environ.get("WARCPROX_VENV", "/tmp/warcprox-venv"))
WARCPROX_SETUP = (f"run `make warcprox` in {REPO} (it runs: python3 -m venv {WARCPROX_VENV} && "
                  f"{WARCPROX_VENV}/bin/pip install warcprox=={WARCPROX_VERSION})")
WGET_SETUP = "apt-get install -y wget"
WAIT_S = 120.0  # the most a tool may take to start or to finish its writing (a failed test, not a timing)

NAMES = list(golden_pages())
ARTICLE = f"/articles/{NAMES[3]}.html"  # plain, with Content-Length; captured twice by every tool
REDIRECTED = f"/articles/{NAMES[1]}.html"  # where /redirect/1 -> /redirect/2 ends
# HTML pages with an article, and the golden page whose text each serves
ARTICLE_PAGES = {
    "/gzip/article.html": NAMES[0],  # Content-Encoding: gzip, Content-Length
    "/chunked-gzip/article.html": NAMES[1],  # gzip, then chunked
    "/http10/article.html": NAMES[4],  # HTTP/1.0, no Content-Length
    ARTICLE: NAMES[3],
    REDIRECTED: NAMES[1],
}
# What warcio, warcprox and pywb are asked for, in this order (redirects are not followed: each hop is asked)
FETCHED = ["/", "/gzip/article.html", "/chunked", "/chunked-gzip/article.html", "/http10/article.html", ARTICLE,
           "/redirect/1", "/redirect/2", REDIRECTED, "/missing", "/report.pdf"]
CHUNKED = ["/chunked", "/chunked-gzip/article.html"]


def phrase(name: str) -> str:
    """A phrase of a golden page's article text (what extraction must find)."""
    expected = expected_for(name)
    if expected.get("with"):
        return str(expected["with"][0])
    return str(expected["articleBody"]).split(".")[0][:40]


@dataclass(frozen=True)
class Corpus:
    """WARC files one tool wrote, and what is known to be in them."""

    tool: str
    folder: Path  # the tool's WARC files, nothing else
    captured: frozenset[str]  # URLs with a response or revisit record
    pages: dict[str, str] = field(default_factory=dict)  # URL of an HTML page -> a phrase of its text
    twice: str | None = None  # a URL captured twice
    revisits: frozenset[str] = frozenset()  # URLs with a revisit record

    def warcs(self) -> list[Path]:
        return sorted(p for p in self.folder.iterdir() if p.name.endswith((".warc", ".warc.gz")))


def corpus_for(tool: str, folder: Path, site: Site, paths: Sequence[str], twice: str | None = None,
               revisits: Sequence[str] = ()) -> Corpus:
    pages = {site.url(p): phrase(ARTICLE_PAGES[p]) for p in paths if p in ARTICLE_PAGES}
    return Corpus(tool, folder, frozenset(site.url(p) for p in paths), pages,
                  site.url(twice) if twice else None, frozenset(site.url(p) for p in revisits))


# -- the tools, found or reported ---------------------------------------------------------------------
def require(found: bool, what: str, setup: str) -> None:
    """Fail under CI (which must install it), skip elsewhere with the command that installs it."""
    if found:
        return
    if os.environ.get("CI"):
        pytest.fail(f"{what} is missing: .ci/run must install it ({setup})")
    pytest.skip(f"{what} is missing here: {setup}")


def wget_path() -> str:
    path = shutil.which("wget")
    require(path is not None, "wget (Debian package)", WGET_SETUP)
    assert path
    return path


def warcprox_command() -> Path:
    command = WARCPROX_VENV / "bin" / "warcprox"
    found = command.is_file() and subprocess.run([str(command), "--version"], capture_output=True, text=True,
                                                 timeout=120).stdout.strip().endswith(WARCPROX_VERSION)
    require(found, f"warcprox {WARCPROX_VERSION} in {WARCPROX_VENV}", WARCPROX_SETUP)
    return command


def fetch(host: str, port: int, target: str, timeout: float = 60) -> tuple[int, dict[str, str], bytes]:
    """GET ``target`` (a path, or an absolute URL for a proxy) on host:port; redirects are not followed.

    The body comes de-chunked, its content coding (gzip) kept."""
    connection = http.client.HTTPConnection(host, port, timeout=timeout)
    try:
        connection.request("GET", target, headers={"Accept-Encoding": "gzip", "User-Agent": "foreign-warcs/1.0"})
        response = connection.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        connection.close()


@dataclass
class Child:
    """A tool running as a child process; its output (stdout and stderr) is drained by a thread: it can log a lot."""

    proc: subprocess.Popen[str]
    lines: queue.Queue[str] = field(default_factory=queue.Queue)
    log: list[str] = field(default_factory=list)

    @classmethod
    def start(cls, args: list[str], cwd: Path, env: dict[str, str] | None = None) -> Child:
        proc = subprocess.Popen(args, cwd=cwd, env=env, stdin=subprocess.DEVNULL, text=True,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        child = cls(proc)
        threading.Thread(target=child._drain, args=(proc.stdout,), daemon=True).start()
        return child

    def _drain(self, pipe: object) -> None:
        for line in pipe:  # type: ignore[attr-defined]
            self.log.append(line)
            self.lines.put(line)
        self.lines.put("")  # the end

    def wait_for_line(self, pattern: str) -> re.Match[str]:
        """The first line (from now on) matching ``pattern``; fails if the child ends or takes WAIT_S."""
        deadline = time.monotonic() + WAIT_S
        while True:
            try:
                line = self.lines.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                line = ""
            if not line:
                self.stop()
                raise AssertionError(f"no line matching {pattern!r}:\n" + "".join(self.log[-40:]))
            found = re.search(pattern, line)
            if found:
                return found

    def stop(self, sig: int = signal.SIGTERM) -> int:
        """Signal the child (by its own pid) and wait for it to finish writing and exit."""
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            return self.proc.wait(timeout=WAIT_S)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise AssertionError("did not stop:\n" + "".join(self.log[-40:])) from None


def wait_until(condition: Callable[[], bool], what: str, state: Callable[[], str] = str) -> None:
    """Poll ``condition`` until it holds: for a tool's state that only its status tells."""
    deadline = time.monotonic() + WAIT_S
    while not condition():
        assert time.monotonic() < deadline, f"still not {what} after {WAIT_S:.0f} s: {state()}"
        time.sleep(0.05)


# -- the site every maker captures ---------------------------------------------------------------------
@pytest.fixture(scope="session")
def foreign_site() -> Iterator[Site]:
    with SiteServer(host=FOREIGN_HOST) as running:
        yield running


# -- wget ----------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class WgetCorpora:
    plain: Corpus  # a recursive crawl, then a second run: no revisits
    dedup: Corpus  # the first crawl's WARC, and a --warc-dedup run's revisits


def make_wget(site: Site, out: Path) -> WgetCorpora:
    wget = wget_path()
    work, plain, dedup = out / "work", out / "wget", out / "wget-dedup"
    for folder in (work, plain, dedup):
        folder.mkdir(parents=True)
    options = ["--no-verbose", "-e", "robots=off", "--tries=1", "--timeout=60", "--no-warc-keep-log"]

    def run(name: str, *args: str) -> None:
        proc = subprocess.run([wget, f"--warc-file={name}", *options, "-P", f"mirror-{name}", *args], cwd=work,
                              capture_output=True, text=True, timeout=300)
        assert proc.returncode in (0, 8), proc.stderr  # 8: the server answered an error (the 404s, the 500)

    # index, and every link on it, once: gzip, redirects, a PDF, a chunked page, 404s, a 500
    run("wget-site", "--warc-cdx", "--recursive", "--level=1", site.url("/"))
    run("wget-more", site.url("/chunked-gzip/article.html"), site.url("/http10/article.html"), site.url(ARTICLE))
    run("wget-dedup", "--warc-dedup=wget-site.cdx", site.url(ARTICLE), site.url("/gzip/article.html"))
    for name in ("wget-site", "wget-more"):
        shutil.copy(work / f"{name}.warc.gz", plain)
    for name in ("wget-site", "wget-dedup"):
        shutil.copy(work / f"{name}.warc.gz", dedup)
    crawled = ["/", *[f"/articles/{name}.html" for name in NAMES], "/gzip/article.html", "/redirect/1",
               "/redirect/2", "/missing", "/error", "/cookies", "/search?q=warc&page=2", "/report.pdf", "/chunked",
               "/styled.html", "/private/secret.html"]
    return WgetCorpora(
        corpus_for("wget", plain, site, [*crawled, "/chunked-gzip/article.html", "/http10/article.html"],
                   twice=ARTICLE),
        corpus_for("wget-dedup", dedup, site, crawled, twice=ARTICLE, revisits=[ARTICLE, "/gzip/article.html"]))


# -- warcio's capture_http -----------------------------------------------------------------------------
WARCIO_CAPTURE = r"""
import http.client, json, sys
from warcio.capture_http import capture_http
from warcio.warcwriter import WARCWriter

host, port, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
paths = json.loads(sys.argv[4])
with open(out, "wb") as fh:
    writer = WARCWriter(fh, gzip=True, warc_version="1.1")
    info = writer.create_warcinfo_record(out.rsplit("/", 1)[-1], {"software": "warcio capture_http",
                                                                  "format": "WARC File Format 1.1"})
    writer.write_record(info)
    info_id = info.rec_headers.get_header("WARC-Record-ID")
    seen = {}

    def dedup(request, response, recorder):
        # a payload seen before becomes an identical-payload-digest revisit, as warcio's users write them
        for record in (request, response):
            record.rec_headers.add_header("WARC-Warcinfo-ID", info_id)
        uri = response.rec_headers.get_header("WARC-Target-URI")
        digest = response.rec_headers.get_header("WARC-Payload-Digest")
        if digest in seen:
            original_uri, original_date, original_id = seen[digest]
            revisit = writer.create_revisit_record(uri, digest, original_uri, original_date,
                                                   http_headers=response.http_headers,
                                                   warc_headers_dict={"WARC-Refers-To": original_id,
                                                                      "WARC-Warcinfo-ID": info_id})
            return request, revisit
        seen[digest] = (uri, response.rec_headers.get_header("WARC-Date"),
                        response.rec_headers.get_header("WARC-Record-ID"))
        return request, response

    with capture_http(writer, filter_func=dedup):
        for path in paths:
            connection = http.client.HTTPConnection(host, port, timeout=60)
            connection.request("GET", path, headers={"Accept-Encoding": "gzip", "User-Agent": "warcio-capture/1.0"})
            connection.getresponse().read()
            connection.close()
"""


def make_warcio(site: Site, out: Path) -> Corpus:
    """Run in a child: capture_http patches http.client for the whole process while it records."""
    folder = out / "warcio"
    folder.mkdir(parents=True)
    paths = [*FETCHED, ARTICLE]
    proc = subprocess.run([sys.executable, "-c", WARCIO_CAPTURE, site.host, str(site.port),
                           str(folder / "warcio-site.warc.gz"), json.dumps(paths)],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    # /redirect/2's empty payload was seen before (/redirect/1's): a revisit too, of another URL
    return corpus_for("warcio", folder, site, FETCHED, twice=ARTICLE, revisits=[ARTICLE, "/redirect/2"])


# -- warcprox ------------------------------------------------------------------------------------------
def make_warcprox(site: Site, out: Path) -> Corpus:
    command = warcprox_command()
    folder, work = out / "warcprox", out / "warcprox-work"
    work.mkdir(parents=True)
    child = Child.start([str(command), "--address", "127.0.0.1", "--port", "0", "--gzip", "--dir", str(folder),
                         "--prefix", "warcprox-site", "--certs-dir", str(work / "certs"),
                         "--cacert", str(work / "ca.pem"), "--dedup-db-file", str(work / "dedup.sqlite"),
                         "--stats-db-file", ""], cwd=work)
    try:
        port = int(child.wait_for_line(r"listening on 127\.0\.0\.1:(\d+)").group(1))
        # warcprox listens before it starts its processing chain, whose dedup loader runs before the
        # dedup db has created its table: a capture that comes in meanwhile is dropped ("no such table:
        # dedup"). That table exists once the dedup db's own thread says it is starting up.
        child.wait_for_line(r"\(DedupDb\(tid=\d+\).*starting up")

        statuses: list[dict[str, object]] = []

        def processed() -> int:
            status, _headers, body = fetch("127.0.0.1", port, "/status")
            assert status == 200, body
            statuses[:] = [json.loads(body)]
            return int(statuses[0]["urls_processed"])  # type: ignore[call-overload]

        for path in FETCHED:
            status, _headers, _body = fetch("127.0.0.1", port, site.url(path))
            assert status != 502, f"warcprox could not fetch {path}"
        # Its dedup db learns a payload once the capture went through its writer: wait for that,
        # then the second fetch of the page is written as a revisit.
        wait_until(lambda: processed() == len(FETCHED), "recorded", lambda: f"{statuses}\n{''.join(child.log[-60:])}")
        assert fetch("127.0.0.1", port, site.url(ARTICLE))[0] == 200
        wait_until(lambda: processed() == len(FETCHED) + 1, "recorded",
                   lambda: f"{statuses}\n{''.join(child.log[-60:])}")
    finally:
        returncode = child.stop()  # SIGTERM: warcprox finishes writing, closes and renames its .open WARC
    assert returncode == 0, "".join(child.log[-40:])
    assert not list(folder.glob("*.open")), list(folder.iterdir())
    return corpus_for("warcprox", folder, site, FETCHED, twice=ARTICLE, revisits=[ARTICLE])


# -- pywb's recorder -----------------------------------------------------------------------------------
# pywb in its own Python (tests.integration.test_interchange.pywb_python): a front end with a live
# collection and the recorder, on 127.0.0.1 port 0.  It prints the port, serves until SIGTERM, then
# stops taking requests, lets the recorder's writer greenlet write what is queued, and closes the WARCs.
PYWB_RECORDER = r"""
import signal, sys, warnings
from gevent import monkey
with warnings.catch_warnings():
    warnings.simplefilter("ignore", monkey.MonkeyPatchWarning)
    monkey.patch_all()
import gevent, gevent.event
import tldextract.tldextract
# pywb's cookie rewriting would download the public suffix list: the snapshot in the package does
tldextract.tldextract.TLD_EXTRACTOR.suffix_list_urls = ()
from pywb.apps.frontendapp import FrontEndApp
from pywb.utils.geventserver import GeventServer, RequestURIWSGIHandler

app = FrontEndApp(config_file=None, custom_config={
    "collections": {"live": {"index": "$live"}},
    "recorder": {"source_coll": "live", "rollover_idle_secs": 0}})
server = GeventServer(app, port=0, hostname="127.0.0.1", handler_class=RequestURIWSGIHandler)
print("READY", server.port, flush=True)
stopping = gevent.event.Event()
gevent.signal_handler(signal.SIGTERM, stopping.set)
stopping.wait()
server.server.stop(timeout=60)  # waits for the requests being answered: their records are queued then
while app.recorder.write_queue.qsize():
    gevent.sleep(0.01)
gevent.sleep(0)  # the writer greenlet finishes the record it took (it writes without yielding)
app.recorder.writer.close()
print("STOPPED", flush=True)
"""


def responses_in(folder: Path) -> int:
    """How many response records the WARC files in ``folder`` hold so far (-1 while one ends mid-record)."""
    count = 0
    for path in folder.glob("*.warc.gz"):
        try:
            with path.open("rb") as stream:
                count += sum(1 for record in ArchiveIterator(stream) if record.rec_type == "response")
        except Exception:  # a record being written
            return -1
    return count


@dataclass(frozen=True)
class PywbCorpora:
    plain: Corpus  # every FETCHED page but the chunked ones
    chunked: Corpus  # the chunked pages, which pywb stores de-chunked under Transfer-Encoding: chunked


def make_pywb(site: Site, out: Path, python: str, env: dict[str, str]) -> PywbCorpora:
    work = out / "pywb-work"
    for coll in ("rec", "rec-chunked"):
        for sub in ("archive", "indexes"):
            (work / "collections" / coll / sub).mkdir(parents=True)
    env = {**env, "no_proxy": "localhost,127.0.0.1,127.0.0.2"}
    child = Child.start([python, "-c", PYWB_RECORDER], cwd=work, env=env)
    plain_paths = [p for p in FETCHED if p not in CHUNKED]
    try:
        port = int(child.wait_for_line(r"^READY (\d+)").group(1))
        asked = {"rec": [*plain_paths, ARTICLE], "rec-chunked": CHUNKED}
        for coll, paths in asked.items():
            for path in paths:
                status, _headers, body = fetch("127.0.0.1", port, f"/{coll}/record/id_/{site.url(path)}")
                assert status < 500, (path, status, body[:200])
        # The recorder writes from a queue, after the answer went out: wait for every response record.
        for coll, paths in asked.items():
            archive = work / "collections" / coll / "archive"
            wait_until(lambda archive=archive, paths=paths: responses_in(archive) == len(paths), "written")
    finally:
        returncode = child.stop()
    assert returncode == 0 and "STOPPED\n" in child.log, "".join(child.log[-40:])
    folders = {}
    for coll in ("rec", "rec-chunked"):
        folders[coll] = out / f"pywb-{coll}"
        shutil.copytree(work / "collections" / coll / "archive", folders[coll])
    return PywbCorpora(corpus_for("pywb", folders["rec"], site, plain_paths, twice=ARTICLE),
                       corpus_for("pywb-chunked", folders["rec-chunked"], site, CHUNKED))



# -- the fixtures (registered in tests/conftest.py) --------------------------------------------------------
@pytest.fixture(scope="session")
def wget_corpora(foreign_site: Site, tmp_path_factory: pytest.TempPathFactory) -> WgetCorpora:
    return built_once(tmp_path_factory, "foreign-wget", lambda folder: make_wget(foreign_site, folder))


@pytest.fixture(scope="session")
def warcio_corpus(foreign_site: Site, tmp_path_factory: pytest.TempPathFactory) -> Corpus:
    return built_once(tmp_path_factory, "foreign-warcio", lambda folder: make_warcio(foreign_site, folder))


@pytest.fixture(scope="session")
def warcprox_corpus(foreign_site: Site, tmp_path_factory: pytest.TempPathFactory) -> Corpus:
    return built_once(tmp_path_factory, "foreign-warcprox", lambda folder: make_warcprox(foreign_site, folder))


@pytest.fixture(scope="session")
def pywb_corpora(foreign_site: Site, tmp_path_factory: pytest.TempPathFactory) -> PywbCorpora:
    from tests.integration.test_interchange import pywb_env, pywb_python

    return built_once(tmp_path_factory, "foreign-pywb",
                      lambda folder: make_pywb(foreign_site, folder, pywb_python(), pywb_env()))
