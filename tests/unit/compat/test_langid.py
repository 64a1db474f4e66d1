"""scraper.compat.langid: py3langid's model from an unpacked copy, with py3langid's own answers."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import py3langid
import pytest

from scraper.compat import langid

TEXTS = [
    "The council voted on the harbour budget late on Tuesday evening, after a long debate.",
    "Der Stadtrat hat am Dienstagabend nach langer Debatte über den Hafenhaushalt abgestimmt.",
    "Le conseil municipal a voté mardi soir le budget du port, après un long débat.",
    "El ayuntamiento votó el martes por la noche el presupuesto del puerto tras un largo debate.",
    "Городской совет во вторник вечером проголосовал за бюджет порта после долгих дебатов.",
    "市议会周二晚上经过长时间辩论后对港口预算进行了投票。",
]


@pytest.fixture()
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setenv("SCRAPER_CACHE_DIR", str(tmp_path / "cache"))
    langid.identifier.cache_clear()
    yield tmp_path / "cache"
    langid.identifier.cache_clear()


def answers() -> list[tuple[str, float]]:
    return [langid.classify(text) for text in TEXTS]


def expected() -> list[tuple[str, float]]:
    return [(str(code), float(score)) for code, score in map(py3langid.classify, TEXTS)]


def test_the_unpacked_copy_gives_py3langids_own_answers(cache: Path) -> None:
    first = answers()  # unpacks the model and keeps a copy
    (folder,) = cache.iterdir()
    assert (folder / "complete").is_file()
    langid.identifier.cache_clear()
    again = answers()  # from the copy
    assert isinstance(langid.identifier().nb_ptc.base, np.memmap), "the second load did not map the copy"
    # The DFA table is the mapped file itself, not a 39 MB private copy in every process that classifies.
    table = langid.identifier().tk_nextmove
    assert isinstance(table, memoryview) and isinstance(table.obj, np.memmap)
    assert first == again == expected()
    assert [code for code, _ in again] == ["en", "de", "fr", "es", "ru", "zh"]


def test_a_damaged_copy_is_unpacked_again(cache: Path) -> None:
    answers()
    (folder,) = cache.iterdir()
    (folder / "nextmove.npy").write_bytes(b"\x93NUMPY cut short")
    langid.identifier.cache_clear()
    assert answers() == expected()
    langid.identifier.cache_clear()
    assert answers() == expected()
    assert isinstance(langid.identifier().nb_ptc.base, np.memmap)


def test_a_copy_cut_short_is_not_read(cache: Path) -> None:
    answers()
    (folder,) = cache.iterdir()
    (folder / "complete").unlink()
    (folder / "ptc.npy").write_bytes(b"")
    langid.identifier.cache_clear()
    assert answers() == expected()
    assert (folder / "complete").is_file() and (folder / "ptc.npy").stat().st_size > 0


def test_an_unwritable_cache_still_classifies(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the cache folder would go")
    monkeypatch.setenv("SCRAPER_CACHE_DIR", str(blocker / "cache"))
    langid.identifier.cache_clear()
    try:
        assert answers() == expected()
    finally:
        langid.identifier.cache_clear()


def test_the_cache_follows_xdg_cache_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SCRAPER_CACHE_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert langid.cache_root() == tmp_path / "scraper"
