"""The extraction pool's workers share the warm forkserver's memory instead of a copy each."""

from __future__ import annotations

import json
import subprocess
import sys

from tests.conftest import REPO


def rollup_mib(text: str) -> dict[str, int]:
    fields = (line.split(":", 1) for line in text.splitlines()[1:])
    return {name: int(value.split()[0]) // 1024 for name, value in fields}


def test_a_worker_forked_from_the_warm_forkserver_writes_little_of_its_own() -> None:
    """Right after its warm-up, a worker's private dirty memory is what it wrote itself, not the preload.

    A worker that warms extraction up on its own (the forkserver's preload failed to import:
    multiprocessing ignores that silently) holds about 75 MiB of private pages; one forked from the
    warm forkserver about 8 (measured on CPython 3.11).  30 MiB tells the two apart with room to spare.
    The forkserver froze its objects (gc.freeze) before forking: the worker inherits them frozen, so
    its collections leave those pages shared.  (What freezing saves over hundreds of pages, about
    7 MiB a worker, is measured in bench/README.md, too small to assert here.)
    """
    # In a fresh interpreter: multiprocessing keeps one forkserver a process, started with the preload of the
    # first pool that asked (an in-process export test's pool preloads scraper.export alone), so in this
    # test process the extraction pool could get a forkserver that was never warmed up.
    code = ("import gc, json, sys\nfrom pathlib import Path\nfrom scraper.crawl.pipelines import extraction_pool\n"
            "if __name__ == '__main__':\n"
            "    pool = extraction_pool(1)\n"
            "    # Functions of the standard library, so that unpickling them imports nothing into the worker.\n"
            "    text = pool.submit(Path.read_text, Path('/proc/self/smaps_rollup')).result(timeout=120)\n"
            "    frozen = pool.submit(gc.get_freeze_count).result(timeout=60)\n"
            "    pool.shutdown(wait=True)\n"
            "    json.dump([text, frozen], sys.stdout)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, timeout=180)
    assert out.returncode == 0, out.stderr[-2000:]
    text, frozen = json.loads(out.stdout)
    memory = rollup_mib(text)
    assert memory["Private_Dirty"] < 30, memory
    # The preload's pages, shared: about 50 MiB.  (The language model's 39 MB table is a mapping of its file,
    # which a forked worker's resident set holds only once it classifies, so it is not counted here.)
    assert memory["Shared_Clean"] + memory["Shared_Dirty"] > 40, memory
    assert frozen > 20_000  # the objects the GC tracks after the warm-up (about 40,000)
