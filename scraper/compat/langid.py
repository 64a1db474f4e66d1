"""py3langid's language model, loaded from an unpacked copy kept in the user's cache.

py3langid ships its model as an LZMA-compressed npz and unpacks it (0.5 s of CPU and a
68 MB temporary file) each time a process first classifies a text: once per crawl, per
``reextract`` and per ``import``.  The first load here unpacks it the same way, through
py3langid's own ``modelio.load_model``, and keeps the arrays as plain ``.npy`` files;
every later load maps them (milliseconds, and the pages are shared by every process
that maps them).  Nothing is downloaded: the copy is made from the installed package.

What this touches beyond py3langid's documented ``classify``: ``modelio.load_model``'s
tuple and ``LanguageIdentifier``'s constructor, and that the identifier only indexes its
DFA table and row offsets (``visit_counts``), so a memoryview of the mapped file serves as well
as the stdlib array modelio makes (hence ``py3langid<0.5`` in pyproject.toml);
``tests/unit/compat/test_langid.py`` fails loudly if any of these changes.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import tempfile
from array import array
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import py3langid
from py3langid import modelio
from py3langid.langid import MODEL_DIR, MODEL_FILE, LanguageIdentifier

# The arrays of an unpacked model, in the order of modelio.load_model's tuple.
ARRAYS = ("ptc", "pc", "classes", "nextmove", "nextmove_row", "out_feat")
_COMPLETE = "complete"  # written last: a folder without it is a copy cut short


def cache_root() -> Path:
    """``$SCRAPER_CACHE_DIR``, else ``$XDG_CACHE_HOME/scraper``, else ``~/.cache/scraper``."""
    if explicit := os.environ.get("SCRAPER_CACHE_DIR"):
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "scraper"


def packaged_model() -> Path:
    return Path(MODEL_DIR) / MODEL_FILE


def unpacked_folder(model: Path) -> Path:
    """One folder per model file's content: a py3langid upgrade gets a copy of its own."""
    digest = hashlib.sha256(model.read_bytes()).hexdigest()[:16]
    return cache_root() / f"py3langid-{py3langid.__version__}-{digest}"


def _identifier(ptc: Any, pc: Any, classes: list[str], nextmove: array[int] | memoryview, row: array[int] | memoryview,
                output: list[int]) -> LanguageIdentifier:
    return LanguageIdentifier(np.asarray(ptc), np.asarray(pc), classes, nextmove, output, tk_row=row)


def _load_unpacked(folder: Path) -> LanguageIdentifier:
    if not (folder / _COMPLETE).is_file():
        raise FileNotFoundError(folder / _COMPLETE)
    loaded = {name: np.load(folder / f"{name}.npy", mmap_mode="r", allow_pickle=False) for name in ARRAYS}
    # tolist(): one call, where indexing the mapped array 100,000 times cost 50 ms of every process's first page.
    # The DFA table (9.8 million entries, 39 MB) is handed over as a memoryview of the mapped file, which the
    # identifier indexes as it would the stdlib array that modelio makes: a copy would be 39 MB of private
    # memory in every process that classifies (the crawl process and the extraction forkserver each had one),
    # where the mapped pages are the page cache's, shared by all.  Indexing it costs a few per cent more.
    return _identifier(loaded["ptc"], loaded["pc"], [str(c) for c in loaded["classes"].tolist()],
                       memoryview(loaded["nextmove"]), memoryview(loaded["nextmove_row"]),
                       [int(f) for f in loaded["out_feat"].tolist()])


def _save_unpacked(folder: Path, model: tuple[Any, ...]) -> None:
    """Written beside the folder, then renamed into place: a reader sees a whole copy or none."""
    ptc, pc, classes, nextmove, row, output = model
    arrays = {"ptc": np.asarray(ptc), "pc": np.asarray(pc), "classes": np.array(classes),
              "nextmove": np.frombuffer(nextmove, dtype=f"u{nextmove.itemsize}"),
              "nextmove_row": np.frombuffer(row, dtype=f"u{row.itemsize}"),
              "out_feat": np.asarray(output, dtype=np.int32)}
    folder.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", dir=folder.parent))
    try:
        for name in ARRAYS:
            np.save(staging / f"{name}.npy", arrays[name], allow_pickle=False)
        (staging / _COMPLETE).write_text(py3langid.__version__, encoding="utf-8")
        shutil.rmtree(folder, ignore_errors=True)  # a copy cut short (no "complete"): replaced
        os.rename(staging, folder)  # another process may have been first: its copy is as good
    finally:
        shutil.rmtree(staging, ignore_errors=True)


@cache
def identifier() -> LanguageIdentifier:
    """The identifier ``py3langid.classify`` would use, from the unpacked copy when there is one."""
    model = packaged_model()
    folder = unpacked_folder(model)
    with contextlib.suppress(Exception):  # missing or damaged: unpacked anew below
        return _load_unpacked(folder)
    unpacked = modelio.load_model(model)
    with contextlib.suppress(OSError):  # a read-only home or a full disk: next time, then
        _save_unpacked(folder, unpacked)
    return _identifier(*unpacked)


def classify(text: str) -> tuple[str, float]:
    code, score = identifier().classify(text)
    return str(code), float(score)
