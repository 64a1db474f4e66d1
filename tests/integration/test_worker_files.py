"""Issue 17: every reader of the archive reads every worker's files of a crawl.

Several workers share one crawl folder: each writes its own WARC files (its name ends their names) and its
own page records, `pages-<worker>.jsonl`; the folder may have no `pages.jsonl` at all.  There is no worker
yet, so the folder is made as two workers would leave it: two real crawls of different pages of the test
site, under the same crawl id, into two scratch roots, each run with its worker's name as the host name its
WARC files are named after (so each file's own records, its warcinfo and the page records' pointers all say
that name, as a worker's would); then the second one's WARC files and page records are moved into the first
one's folder, and each `pages.jsonl` gets its worker's name.  The catalog is rebuilt from the folder.
Tests that write copy the archive first.
"""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from scraper.storage.layout import new_crawl_id
from tests.conftest import FAST, REPO, read_jsonl, run_scraper
from tests.site import Site, SiteServer, golden_pages
from tests.unit.helpers.response_warc import HTML, write_warc

NAMES = list(golden_pages())
PAGES = {"w1": [f"/articles/{NAMES[0]}.html", f"/articles/{NAMES[1]}.html"],
         "w2": [f"/articles/{NAMES[2]}.html", f"/articles/{NAMES[3]}.html"]}

# `python -m scraper`, with the host name the crawl names its WARC files after (storage.layout.LocalWarcFolder)
# being the worker's: what a worker passes as that name.  Nothing else of the crawl changes.
AS_WORKER = ("import os, runpy, socket\n"
             "socket.gethostname = lambda: os.environ['SCRAPER_TEST_WORKER']\n"
             "runpy.run_module('scraper', run_name='__main__', alter_sys=True)\n")


def crawl_as_worker(worker: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO), "SCRAPER_TEST_WORKER": worker}
    return subprocess.run([sys.executable, "-c", AS_WORKER, "crawl", *args], capture_output=True, text=True,
                          env=env, timeout=180, check=False)


@dataclass(frozen=True)
class Workers:
    root: Path
    crawl_id: str
    urls: dict[str, list[str]]  # worker -> the URLs it crawled

    @property
    def folder(self) -> Path:
        return self.root / "crawls" / self.crawl_id

    def all_urls(self) -> set[str]:
        return {url for urls in self.urls.values() for url in urls}

    def copy(self, target: Path) -> Workers:
        shutil.copytree(self.root, target)
        return Workers(target, self.crawl_id, self.urls)


@pytest.fixture(scope="module")
def workers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Workers]:
    root, scratch = tmp_path_factory.mktemp("workers"), tmp_path_factory.mktemp("second-worker")
    crawl_id = new_crawl_id()
    urls: dict[str, list[str]] = {}
    with SiteServer() as site:
        for worker, worker_root in (("w1", root), ("w2", scratch)):
            urls[worker] = [site.url(path) for path in PAGES[worker]]
            proc = crawl_as_worker(worker, *urls[worker], "--archive", str(worker_root),
                                   "-s", f"ARCHIVE_CRAWL_ID={crawl_id}", "-q", *FAST)
            assert proc.returncode == 0, proc.stderr
    folder, second = root / "crawls" / crawl_id, scratch / "crawls" / crawl_id
    for warc in sorted(second.glob("*.warc.gz")):
        assert warc.name.endswith("-w2.warc.gz"), warc.name
        warc.rename(folder / warc.name)
    (folder / "pages.jsonl").rename(folder / "pages-w1.jsonl")
    (second / "pages.jsonl").rename(folder / "pages-w2.jsonl")
    # The crawl's manifest lists the WARC files of both (the catalog takes their captures as readable); its
    # counts are the first worker's run.
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    other = json.loads((second / "manifest.json").read_text(encoding="utf-8"))
    manifest["warc_files"] = sorted(manifest["warc_files"] + other["warc_files"])
    (folder / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    (root / "catalog.sqlite").unlink()  # the first worker's alone: made again from the folder
    rebuilt = run_scraper("catalog", "rebuild", "--archive", str(root), "-q")
    assert rebuilt.returncode == 0, rebuilt.stderr
    yield Workers(root, crawl_id, urls)


def test_the_folder_is_what_two_workers_leave(workers: Workers) -> None:
    names = sorted(p.name for p in workers.folder.iterdir())
    assert "pages.jsonl" not in names
    assert {"pages-w1.jsonl", "pages-w2.jsonl"} <= set(names)
    for worker in ("w1", "w2"):
        records = read_jsonl(workers.folder / f"pages-{worker}.jsonl")
        assert {r["url"] for r in records} == set(workers.urls[worker])
        assert {r["crawl_id"] for r in records} == {workers.crawl_id}
        assert all(r["warc"]["file"].endswith(f"-{worker}.warc.gz") for r in records)
        assert all((workers.folder / r["warc"]["file"]).is_file() for r in records)
    for url in (urls[-1] for urls in workers.urls.values()):  # the rebuilt catalog has the captures of both
        shown = run_scraper("show", url, "--archive", str(workers.root))
        assert shown.returncode == 0, shown.stderr
        assert json.loads(shown.stdout)["crawl_id"] == workers.crawl_id


@pytest.mark.parametrize("form", ["jsonl", "csv", "parquet"])
def test_export_has_the_pages_of_every_worker(workers: Workers, form: str, tmp_path: Path) -> None:
    target = tmp_path / f"pages.{form}"
    proc = run_scraper("export", "--format", form, "--output", str(target), "--archive", str(workers.root))
    assert proc.returncode == 0, proc.stderr
    if form == "jsonl":
        urls = [r["url"] for r in read_jsonl(target)]
    elif form == "csv":
        urls = [row["url"] for row in csv.DictReader(io.StringIO(target.read_text(encoding="utf-8")))]
    else:
        urls = pq.read_table(target).column("url").to_pylist()
    assert sorted(urls) == sorted(workers.all_urls())


def test_show_finds_a_page_of_the_second_worker_without_a_catalog(workers: Workers, tmp_path: Path) -> None:
    """Without a catalog, `show` reads the crawls' page files."""
    archive = workers.copy(tmp_path / "archive")
    (archive.root / "catalog.sqlite").unlink()
    url = workers.urls["w2"][1]
    shown = run_scraper("show", url, "--archive", str(archive.root))
    assert shown.returncode == 0, shown.stderr
    assert json.loads(shown.stdout)["url"] == url


def test_a_crawl_refuses_to_start_while_a_crawl_of_workers_needs_the_lost_catalog(workers: Workers, tmp_path: Path,
                                                                                 site: Site) -> None:
    """A new catalog would start every page's history again: the crawl of workers has pages it must know of."""
    archive = workers.copy(tmp_path / "archive")
    (archive.root / "catalog.sqlite").unlink()
    crawl = run_scraper("crawl", site.url(f"/articles/{NAMES[4]}.html"), "--archive", str(archive.root), "-q")
    assert crawl.returncode == 4, crawl.stderr  # the catalog's exit status: it is missing
    assert "holds 1 crawl(s) with page records; run `scraper catalog rebuild" in crawl.stderr
    assert not (archive.root / "catalog.sqlite").exists()


def test_crawls_counts_the_pages_of_every_worker(workers: Workers) -> None:
    proc = run_scraper("crawls", "--json", "--archive", str(workers.root))
    assert proc.returncode == 0, proc.stderr
    (listed,) = [json.loads(line) for line in proc.stdout.splitlines()]
    assert listed["crawl_id"] == workers.crawl_id
    assert listed["pages"] == len(workers.all_urls())


def test_index_and_wacz_hold_every_worker(workers: Workers, tmp_path: Path) -> None:
    archive = workers.copy(tmp_path / "archive")
    indexed = run_scraper("index", "--archive", str(archive.root))
    assert indexed.returncode == 0, indexed.stderr
    lines = (archive.folder / "index.cdxj").read_text(encoding="utf-8").splitlines()
    files = {json.loads(line.split(" ", 2)[2])["filename"] for line in lines}
    assert {name.rsplit("-", 1)[1] for name in files} == {"w1.warc.gz", "w2.warc.gz"}
    target = tmp_path / "crawl.wacz"
    packed = run_scraper("wacz", archive.crawl_id, "--output", str(target), "--archive", str(archive.root))
    assert packed.returncode == 0, packed.stderr
    with zipfile.ZipFile(target) as wacz:
        members = wacz.namelist()
        pages = [json.loads(line) for line in wacz.read("pages/pages.jsonl").decode().splitlines()[1:]]
    assert {p["url"] for p in pages} == workers.all_urls()
    assert {name.rsplit("-", 1)[1] for name in members if name.startswith("archive/")} == {"w1.warc.gz",
                                                                                            "w2.warc.gz"}


def test_verify_reads_and_repairs_every_workers_page_file(workers: Workers, tmp_path: Path) -> None:
    archive = workers.copy(tmp_path / "archive")
    first, second = archive.folder / "pages-w1.jsonl", archive.folder / "pages-w2.jsonl"
    clean = first.read_bytes()
    first.write_bytes(clean + b'{"url": "http://torn')  # a worker killed while writing a line
    second.write_bytes(b"not a record\n" + second.read_bytes())  # damage: readers skip that line
    proc = run_scraper("verify", "--archive", str(archive.root))
    assert proc.returncode == 3, proc.stderr
    assert f"DAMAGED {second}" in proc.stdout
    assert "jsonl-line" in proc.stdout
    assert f"{first}" in proc.stdout and "torn-line" in proc.stdout
    warcs = sorted(p.name for p in archive.folder.glob("*.warc.gz"))
    assert f"verified {len(warcs)} file(s)" in proc.stderr
    repaired = run_scraper("verify", "--repair", "--archive", str(archive.root))
    assert repaired.returncode == 3, repaired.stderr  # the damaged line is left as it is, and reported
    assert first.read_bytes() == clean
    assert [p.name for p in archive.folder.glob("pages-w1.jsonl.torn-*")] == [f"pages-w1.jsonl.torn-{len(clean)}"]


def test_reextract_reads_every_worker_and_leaves_their_files(workers: Workers, tmp_path: Path) -> None:
    archive = workers.copy(tmp_path / "archive")
    before = {p.name: p.read_bytes() for p in archive.folder.glob("pages-*.jsonl")}
    proc = run_scraper("reextract", "--archive", str(archive.root))
    assert proc.returncode == 0, proc.stderr
    (again,) = archive.folder.glob("pages.reextract-*.jsonl")
    assert sorted(r["url"] for r in read_jsonl(again)) == sorted(workers.all_urls())
    assert {p.name: p.read_bytes() for p in archive.folder.glob("pages-*.jsonl")} == before
    assert not (archive.folder / "pages.jsonl").exists()


def test_reextract_reads_the_records_only_a_workers_page_file_holds(tmp_path: Path) -> None:
    """Records that no WARC file holds (an import's: it never writes into the files it brings) are read
    from every page file, a worker's too."""
    foreign, root = tmp_path / "other-tool.warc.gz", tmp_path / "imported"
    write_warc(foreign, [("Content-Type", "text/html; charset=utf-8")], HTML)  # no page records in it
    imported = run_scraper("import", str(foreign), "--archive", str(root), "-q")
    assert imported.returncode == 0, imported.stderr
    (folder,) = (root / "crawls").iterdir()
    (folder / "pages.jsonl").rename(folder / "pages-w2.jsonl")
    proc = run_scraper("reextract", "--archive", str(root))
    assert proc.returncode == 0, proc.stderr
    (again,) = folder.glob("pages.reextract-*.jsonl")
    assert [(r["url"], r["title"]) for r in read_jsonl(again)] == [("http://example.org/page.html", "Ferry timetable")]
