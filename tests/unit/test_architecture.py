"""Dependencies run one way, beyond the import contracts `lint-imports` checks (pyproject.toml): what processes
load at run time, and the command line's own layers.  (The layers, and each heavy library in one package — Scrapy
in crawl, trafilatura in extract, warcio in storage.warc, click in cli — are contracts now.)"""

from __future__ import annotations

import ast
import importlib
import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import REPO

PACKAGE = Path(__file__).resolve().parents[2] / "scraper"


def test_the_crawl_process_does_not_load_extraction() -> None:
    """The crawl process hands pages to extraction workers: trafilatura (and its 40 MiB) stays out of it.

    And the workers, which import ``scraper.__main__`` again as ``__mp_main__``, get no CLI from it.
    """
    code = ("import sys\nimport scraper.cli, scraper.crawl.runner, scraper.crawl.pipelines, scraper.crawl.spider\n"
            "import scraper.crawl.middlewares, scraper.crawl.extensions, scraper.extract.worker\n"
            "first = set(sys.modules)\n"
            "import runpy; runpy.run_module('scraper.__main__', run_name='__mp_main__')\n"
            "heavy = ('trafilatura', 'htmldate', 'justext', 'dateparser', 'py3langid', 'click')\n"
            "late = sorted(m for m in set(sys.modules) - first if m.split('.')[0] in heavy)\n"
            "print(','.join(sorted(m for m in first if m.split('.')[0] in heavy[:-1]) + late))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=PACKAGE.parent)
    assert out.stdout.strip() == ""
    main_source = (PACKAGE / "__main__.py").read_text(encoding="utf-8")
    top_level = ast.parse(main_source).body
    assert not any(isinstance(node, ast.Import | ast.ImportFrom) for node in top_level)


def test_a_crawl_on_one_machine_loads_no_shared_crawl_code_and_no_browser() -> None:
    """PostgreSQL's SQL, the leases and Playwright load only when a crawl needs them (a worker, a page to render)."""
    code = ("import sys\nimport scraper.cli, scraper.crawl.runner, scraper.crawl.pipelines, scraper.crawl.spider\n"
            "import scraper.crawl.middlewares, scraper.crawl.extensions, scraper.crawl.rendering\n"
            "print(sorted(m for m in ('scraper.crawl.shared_run', 'scraper.storage.shared', 'playwright',\n"
            "                         'sqlalchemy.dialects.postgresql') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=PACKAGE.parent)
    assert out.stdout.strip() == "[]"


def imported_modules(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def test_pywb_runs_apart_from_the_project() -> None:
    """pywb's brotlipy breaks Scrapy's brotli: pywb_server runs in pywb's own Python, by path.

    So it imports the standard library and pywb's own dependencies only (never the scraper
    package), and nothing else imports pywb or gevent.
    """
    server = PACKAGE / "interchange" / "pywb_server.py"
    allowed = set(sys.stdlib_module_names) | {"pywb", "gevent", "yaml"}
    outside = sorted(n for n in imported_modules(server) if n.split(".")[0] not in allowed)
    assert outside == []
    importers = sorted(str(p.relative_to(PACKAGE)) for p in PACKAGE.rglob("*.py")
                       if any(n.split(".")[0] in ("pywb", "gevent") for n in imported_modules(p)))
    assert importers == ["interchange/pywb_server.py"]


def test_the_hostile_tables_hold_at_least_70_cases() -> None:
    """Issue 15: the crawl's table and the archive tables (readers, files, catalog, output) together."""
    from tests.integration import (
        test_hostile,
        test_hostile_catalog,
        test_hostile_files,
        test_hostile_output,
        test_hostile_readers,
    )

    tables = [test_hostile, test_hostile_catalog, test_hostile_files, test_hostile_output, test_hostile_readers]
    ids = [f"{table.__name__}:{case.id}" for table in tables for case in table.CASES]
    assert len(ids) >= 70 and len(set(ids)) == len(ids)


def test_each_command_is_loaded_from_the_module_that_defines_it() -> None:
    """``scraper NAME`` imports only NAME's module: the map in ``CommandsLoadedOnUse`` must be whole and right."""
    import click

    from scraper.cli.entry import CommandsLoadedOnUse, cli

    names = cli.list_commands(click.Context(cli))  # imports every module of the map
    assert set(names) == set(CommandsLoadedOnUse.COMMANDS)  # none is defined on the group itself
    for name, target in CommandsLoadedOnUse.COMMANDS.items():
        module, _, attribute = target.partition(":")
        command = cli.commands[name]
        assert command is getattr(importlib.import_module(module), attribute) and command.name == name
        callback = command.callback
        defined_in = callback.__module__ if callback is not None else None
        assert defined_in == module, f"{name} is defined in {defined_in}, the map says {module}"
    # and no command module defines a command the map leaves out (a group's subcommands are its own)
    defined: set[str] = set()
    for path in (PACKAGE / "cli").glob("*.py"):
        if path.stem in CLI_LAYERS and CLI_LAYERS[path.stem] == CLI_LAYERS["crawl"]:
            found = [v for v in vars(importlib.import_module(f"scraper.cli.{path.stem}")).values()
                     if isinstance(v, click.Command)]
            nested = {id(c) for group in found if isinstance(group, click.Group) for c in group.commands.values()}
            defined.update(str(c.name) for c in found if id(c) not in nested)
    assert defined == set(names)


def test_a_command_that_reads_no_catalog_does_not_load_sqlalchemy() -> None:
    code = ("import sys; from scraper.cli import main; sys.argv = ['scraper', 'verify', sys.argv[1]]\n"
            "try:\n    main()\nexcept SystemExit:\n    pass\n"
            "print(sorted(m for m in ('sqlalchemy', 'scrapy', 'trafilatura') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code, str(REPO / "pyproject.toml")], cwd=REPO, capture_output=True,
                         text=True, timeout=60, env={**os.environ, "PYTHONPATH": str(REPO)})
    assert out.stdout.strip().splitlines()[-1] == "[]", out.stdout + out.stderr


# The modules of scraper/cli by layer: each imports only modules of lower layers (so none imports the package,
# whose __init__ loads the group, and there is no circle).  The group finds the commands by name, on use.
CLI_LAYERS = {
    "__init__": 4,
    "entry": 3,  # the group and main()
    **dict.fromkeys(["catalog", "crawl", "crawls", "export", "imports", "interchange", "rearchive", "show",
                     "verify", "worker"], 2),  # one module per command group
    **dict.fromkeys(["_crawl_run", "_limits", "_lock", "_shared"], 1),  # what some commands share
    "_common": 0,  # what all of them share
}


def imported_names(path: Path) -> set[str]:
    """Every module a file imports, as a dotted name; ``from a import b`` gives ``a`` and ``a.b`` (b may be a
    module); relative imports resolved."""
    package = ".".join(("scraper", *path.relative_to(PACKAGE).parent.parts))
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            parts = package.split(".")[:len(package.split(".")) + 1 - node.level] if node.level else []
            base = ".".join([*parts, *([node.module] if node.module else [])])
            names.add(base)
            names.update(f"{base}.{alias.name}" for alias in node.names)
    return names


def is_cli(name: str) -> bool:
    return name == "scraper.cli" or name.startswith("scraper.cli.")


def test_nothing_outside_the_cli_imports_it() -> None:
    """The CLI is the top of the house: no other module of the package imports it.

    ``python -m scraper`` is the one door: its ``main``, imported under the ``__main__`` guard.
    """
    importers = sorted(str(p.relative_to(PACKAGE)) for p in PACKAGE.rglob("*.py")
                       if p.relative_to(PACKAGE).parts[0] != "cli" and any(map(is_cli, imported_names(p))))
    assert importers == ["__main__.py"]
    assert {n for n in imported_names(PACKAGE / "__main__.py") if is_cli(n)} == {"scraper.cli", "scraper.cli.main"}


def test_imports_inside_the_cli_point_down() -> None:
    """A command module imports ``_common`` and the shared helpers, never the group nor the package (``entry``,
    ``scraper.cli``), nor another command module; the helpers import no command."""
    modules = {p.stem: p for p in (PACKAGE / "cli").glob("*.py")}
    assert set(modules) == set(CLI_LAYERS), "every module of scraper/cli has its layer in CLI_LAYERS"
    upward = []
    for stem, path in sorted(modules.items()):
        for name in sorted(filter(is_cli, imported_names(path))):
            target = name.split(".")[2] if name.count(".") >= 2 else "__init__"
            if target in CLI_LAYERS and CLI_LAYERS[target] >= CLI_LAYERS[stem]:
                upward.append(f"{stem} imports {name}")
    assert upward == []


def test_extraction_evaluates_the_models_without_lightgbm() -> None:
    """The shipped models run on numpy alone: an extraction worker never loads LightGBM (nor scipy, its 30 MiB)."""
    code = ("import sys\nfrom scraper.extract.page import extract_page\n"
            "paragraph = '<p>' + 'A sentence of the article about the harbour and its boats. ' * 8 + '</p>'\n"
            "article = extract_page('<html><body><h1>Boats</h1>' + paragraph * 4 + '</body></html>', 'https://x.test/a')\n"
            "assert article is not None and article.text and article.page_type_confidence is not None\n"
            "print(sorted(m for m in ('lightgbm', 'scipy', 'sklearn') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=PACKAGE.parent)
    assert out.stdout.strip() == "[]"
