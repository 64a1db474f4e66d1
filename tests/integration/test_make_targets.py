"""Issue 13, item 9: the Makefile and packaging a new user meets first.

`make test` sets up the independent validator (../shared/tools/warc-check) once when it is
there; `make replay` stopped with Ctrl-C ends without "make: *** Error 130"; pyproject.toml's
license is the SPDX string setuptools >= 77 wants.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from tests.conftest import FAST, REPO, crawl_dirs, run_scraper
from tests.site import SiteServer

# Never rebuild the project's environments from a test: treat their stamps as up to date.
NO_SETUP = ["-o", ".venv/.installed", "-o", ".venv-replay/.installed"]


def top_level_env(**extra: str) -> dict[str, str]:
    """This environment as a person's shell has it: run from `make test`, a make started here would be a
    sub-make ("make[1]: ***" instead of "make: ***") sharing the outer make's flags."""
    inherited = {k: v for k, v in os.environ.items() if k not in {"MAKELEVEL", "MAKEFLAGS", "MFLAGS"}}
    return {**inherited, **extra}


def make(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["make", "--no-print-directory", *NO_SETUP, *args], cwd=REPO, capture_output=True,
                          text=True, timeout=120, env=top_level_env(**(env or {})))


def fake_warc_check(directory: Path) -> Path:
    """A stand-in for ../shared/tools/warc-check whose setup.sh (which installs from PyPI and npm, beyond
    this machine's loopback) only counts its runs and leaves the stamp the real one leaves."""
    directory.mkdir()
    (directory / "setup.sh").write_text(
        'echo run >> "$(dirname "$0")/runs"\n'
        'mkdir -p "$WARC_CHECK_VENV" && echo stamp > "$WARC_CHECK_VENV/.warc-check-stamp"\n', encoding="utf-8")
    return directory


def test_make_test_sets_up_warc_check_once_when_it_is_there(tmp_path: Path) -> None:
    tool, venv = fake_warc_check(tmp_path / "warc-check"), tmp_path / "venv"
    where = [f"WARC_CHECK={tool}", f"WARC_CHECK_VENV={venv}"]
    for _ in range(2):
        proc = make("warc-check", *where)
        assert proc.returncode == 0, proc.stderr
    assert (tool / "runs").read_text(encoding="utf-8") == "run\n"  # once: the stamp says it is installed
    assert (venv / ".warc-check-stamp").is_file()
    # `make test` runs that step before the tests (dry run: nothing is executed)
    dry = make("-n", "test", *where).stdout
    assert f"bash '{tool}/setup.sh'" in dry and dry.index("setup.sh") < dry.index("-m pytest")
    # without the validator beside the checkout: a note, and the tests run (skipping what needs it)
    absent = make("warc-check", f"WARC_CHECK={tmp_path / 'nothing'}", f"WARC_CHECK_VENV={venv}")
    assert absent.returncode == 0 and "will be skipped" in absent.stderr


def test_a_test_that_needs_warc_check_says_what_to_run(tmp_path: Path) -> None:
    """Not set up (and not under CI, where it fails instead): the skip reason is the command."""
    env = {k: v for k, v in os.environ.items() if k not in ("CI", "SCRAPER_PYWB_PYTHON")}
    env["WARC_CHECK_VENV"] = str(tmp_path / "not-set-up")
    needs_it = f"{Path(__file__).relative_to(REPO)}::test_make_replay_stopped_with_ctrl_c_is_no_error"
    proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-rs", "-p", "no:cacheprovider",
                          "-n", "0", needs_it],
                          cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert "1 skipped" in proc.stdout, proc.stdout
    assert f"run `make warc-check` in {REPO} (it runs: bash " in proc.stdout, proc.stdout


def test_make_replay_stopped_with_ctrl_c_is_no_error(tmp_path: Path) -> None:
    from tests.integration.test_interchange import pywb_python

    replay_venv = Path(pywb_python()).parent.parent
    if not (replay_venv / "bin" / "python").exists():
        pytest.skip(f"{replay_venv} is not a virtual environment with pywb")
    with SiteServer() as site:
        crawl = run_scraper("crawl", site.url("/"), "--archive", str(tmp_path), *FAST)
    assert crawl.returncode == 0 and crawl_dirs(tmp_path), crawl.stderr
    where = [f"BIN={Path(sys.executable).parent}", f"REPLAY_VENV={replay_venv}"]
    env = {k: v for k, v in top_level_env().items() if k != "PYTHONPATH"}
    # A terminal's Ctrl-C reaches the whole foreground process group: make, its shell, scraper, pywb.
    server = subprocess.Popen(["make", "--no-print-directory", *NO_SETUP, "replay", *where,
                               f"ARGS=--port 0 --archive {tmp_path}"], cwd=REPO, env=env, start_new_session=True,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        printed = []
        while not any(line.startswith("collection:") for line in printed):
            line = server.stdout.readline() if server.stdout else ""
            if not line:
                break
            printed.append(line)
        assert any(line.startswith("collection:") for line in printed), printed
    finally:
        os.killpg(server.pid, signal.SIGINT)
        _out, err = server.communicate(timeout=60)
    assert "replay stopped" in err, err
    assert "make: ***" not in err, err
    assert server.returncode == -signal.SIGINT  # make itself ends as any program stopped with Ctrl-C does
    # any other failure still fails
    missing = make("replay", *where, f"ARGS=--archive {tmp_path / 'nothing'}")
    assert missing.returncode != 0 and "no archive at" in missing.stderr and "make: ***" in missing.stderr


def test_license_is_an_spdx_expression_for_setuptools_77() -> None:
    """setuptools warned twice on every install about the old `license = {text = ...}` table."""
    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    assert pyproject["project"]["license"] == "MIT"
    assert "setuptools>=77" in pyproject["build-system"]["requires"]


def test_the_venv_is_made_with_the_system_python_when_it_is_new_enough(tmp_path: Path) -> None:
    """`make setup` makes the venv with /usr/bin/python3 when it is 3.11+ and can make one (a distribution's
    optimised build), else with python3 from PATH; PYTHON=... overrides both."""
    system = Path("/usr/bin/python3")
    usable = system.exists() and subprocess.run(
        [str(system), "-c", "import sys, ensurepip, venv; sys.exit(sys.version_info < (3, 11))"],
        capture_output=True).returncode == 0
    venv = str(tmp_path / "venv")
    dry = subprocess.run(["make", "--no-print-directory", "-n", "setup", f"VENV={venv}"], cwd=REPO,
                         capture_output=True, text=True, timeout=60, env=top_level_env())
    assert dry.returncode == 0, dry.stderr
    assert dry.stdout.splitlines()[0] == f"{system if usable else 'python3'} -m venv {venv}"
    chosen = subprocess.run(["make", "--no-print-directory", "-n", "setup", f"VENV={venv}", "PYTHON=python3.99"],
                            cwd=REPO, capture_output=True, text=True, timeout=60, env=top_level_env())
    assert chosen.stdout.splitlines()[0] == f"python3.99 -m venv {venv}"
