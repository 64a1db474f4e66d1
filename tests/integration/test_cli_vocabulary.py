"""Issue 16, item 5: one vocabulary on the command line.

The archive root is ``--archive DIR`` in every command; ``-o``/``--output`` only ever names a file a
command writes (export, wacz).  The root's old names, ``--out`` and ``-o``, work for one release,
hidden from ``--help``, with one warning line each.
"""

from __future__ import annotations

import json
import re
import zipfile
from pathlib import Path

import click
import pytest

from tests.conftest import FAST, crawl_dirs, read_jsonl, run_scraper
from tests.site import Site

# Every command that runs (a group's subcommands, not the group), as typed after `scraper`.
COMMANDS = [("catalog", "rebuild"), ("crawl",), ("crawls",), ("diff",), ("export",), ("history",), ("import",),
            ("index",), ("rearchive",), ("reextract",), ("replay",), ("show",), ("verify",), ("wacz",),
            ("watch", "add"), ("watch", "import"), ("watch", "list"), ("watch", "remove"), ("status",), ("worker",)]
WRITES_A_FILE = {("export",), ("wacz",)}  # their -o/--output is the file they write
WARNING = "scraper: warning: {name} is now --archive ({name} goes away in the next release)"
A_CRAWL_ID = "20240101T000000Z-abcdef"


def test_the_list_holds_every_command() -> None:
    """The help test below must see each command: a new one joins the list (and takes --archive)."""
    from scraper.cli.entry import cli

    def leaves(group: click.Group, ctx: click.Context, prefix: tuple[str, ...]) -> list[tuple[str, ...]]:
        found: list[tuple[str, ...]] = []
        for name in group.list_commands(ctx):
            command = group.get_command(ctx, name)
            if isinstance(command, click.Group):
                found += leaves(command, click.Context(command, parent=ctx), (*prefix, name))
            elif command is not None:
                found.append((*prefix, name))
        return found

    assert sorted(leaves(cli, click.Context(cli), ())) == sorted(COMMANDS)


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_help_names_the_archive_root_archive_and_never_out(command: tuple[str, ...]) -> None:
    proc = run_scraper(*command, "--help")
    assert proc.returncode == 0, proc.stderr
    assert re.search(r"^\s+--archive DIR\s+Archive root\b.*?\[default:\s+archive\]", proc.stdout, re.M | re.S), \
        proc.stdout
    assert not re.search(r"--out\b", proc.stdout)  # --output is another option
    # -o is listed as the short name of --output, where a command writes a file, and nowhere else
    short_o = re.findall(r"^\s+-o, (--[\w-]+)", proc.stdout, re.M)
    assert short_o == (["--output"] if command in WRITES_A_FILE else [])


@pytest.fixture
def archive_with_a_crawl(tmp_path: Path) -> Path:
    """An archive root holding one (empty, interrupted) crawl folder: enough for `scraper crawls` to list."""
    (tmp_path / "archive" / "crawls" / A_CRAWL_ID).mkdir(parents=True)
    return tmp_path / "archive"


@pytest.mark.parametrize("name", ["--out", "-o"])
def test_the_old_names_of_the_root_still_work_with_one_warning_line(archive_with_a_crawl: Path, name: str) -> None:
    proc = run_scraper("crawls", "--json", name, str(archive_with_a_crawl))
    assert proc.returncode == 0, proc.stderr
    assert [json.loads(line)["crawl_id"] for line in proc.stdout.splitlines()] == [A_CRAWL_ID]
    assert proc.stderr.splitlines() == [WARNING.format(name=name)]
    # the value is the root, not ignored for the default: a root that is not there is said so
    missing = run_scraper("crawls", "--json", name, str(archive_with_a_crawl / "nowhere"))
    assert missing.returncode == 2
    assert missing.stderr.splitlines() == [WARNING.format(name=name),
                                           f"scraper: error: no archive at {archive_with_a_crawl / 'nowhere'}"]


def test_archive_says_nothing_more(archive_with_a_crawl: Path) -> None:
    proc = run_scraper("crawls", "--json", "--archive", str(archive_with_a_crawl))
    assert proc.returncode == 0 and proc.stderr == ""
    assert [json.loads(line)["crawl_id"] for line in proc.stdout.splitlines()] == [A_CRAWL_ID]


def test_the_root_named_twice_is_a_usage_error(archive_with_a_crawl: Path, tmp_path: Path) -> None:
    proc = run_scraper("crawls", "--json", "--archive", str(archive_with_a_crawl), "--out", str(tmp_path))
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr.splitlines() == [WARNING.format(name="--out"),
                                        "scraper: error: give the archive root once (--archive and --out both name it)"]


def test_a_crawl_takes_its_root_from_out(site: Site, tmp_path: Path) -> None:
    """`make crawl URL=... ARGS="--out DIR"`, as written before: the crawl goes to DIR, with the warning."""
    proc = run_scraper("crawl", site.url("/cookies"), "--out", str(tmp_path), "-q", *FAST)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr.splitlines() == [WARNING.format(name="--out")]
    (crawl,) = crawl_dirs(tmp_path)
    assert [r["url"] for r in read_jsonl(crawl / "pages.jsonl")] == [site.url("/cookies")]


def test_o_in_export_and_wacz_is_the_file_written(site: Site, tmp_path: Path) -> None:
    root = tmp_path / "root"
    crawled = run_scraper("crawl", site.url("/cookies"), "--archive", str(root), "-q", *FAST)
    assert crawled.returncode == 0, crawled.stderr
    exported = run_scraper("export", "-o", str(tmp_path / "pages.jsonl"), "--archive", str(root), "-q")
    assert exported.returncode == 0 and exported.stderr == "" and exported.stdout == ""
    assert [r["url"] for r in read_jsonl(tmp_path / "pages.jsonl")] == [site.url("/cookies")]
    packed = run_scraper("wacz", "--all", "--output", str(tmp_path / "site.wacz"), "--archive", str(root))
    assert packed.returncode == 0, packed.stderr
    assert "warning" not in packed.stderr
    with zipfile.ZipFile(tmp_path / "site.wacz") as wacz:
        assert "datapackage.json" in wacz.namelist()
    # --out was never export's: with -o/--output there, it would say nothing clear; it is refused
    refused = run_scraper("export", "--out", str(tmp_path / "x.jsonl"), "--archive", str(root))
    assert refused.returncode == 2 and "No such option '--out'" in refused.stderr
    assert not (tmp_path / "x.jsonl").exists()
