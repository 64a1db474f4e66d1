"""What several pytest-xdist workers need, built by one of them."""

from __future__ import annotations

import fcntl
import os
import pickle
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import pytest

T = TypeVar("T")


def built_once(tmp_path_factory: pytest.TempPathFactory, name: str, build: Callable[[Path], T]) -> T:
    """``build(folder)`` once in the whole run, by whichever pytest-xdist worker asks first; the others
    wait for it and get what it returned.

    For what a session's tests only read (the foreign-WARC corpora): each worker would build it again.
    The result must pickle and must not need the builder's servers afterwards.  A build that fails is
    tried again by the next worker that asks.
    """
    if "PYTEST_XDIST_WORKER" not in os.environ:
        return build(tmp_path_factory.mktemp(name))
    shared = tmp_path_factory.getbasetemp().parent / "built-once"  # the run's, shared by its workers
    shared.mkdir(exist_ok=True)
    with open(shared / f"{name}.lock", "wb") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes, or the worker dies
        result = shared / f"{name}.pickle"
        if result.exists():
            value: T = pickle.loads(result.read_bytes())
            return value
        folder = shared / name
        shutil.rmtree(folder, ignore_errors=True)  # a failed build's
        folder.mkdir()
        value = build(folder)
        result.write_bytes(pickle.dumps(value))
        return value
