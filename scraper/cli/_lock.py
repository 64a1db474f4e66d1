"""The rearchive lock, OUT/.rearchive.lock: one ``rearchive`` run, or ``catalog rebuild``, at a time."""

from __future__ import annotations

import fcntl
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import IO

from scraper.cli._common import ExitStatus, fail, say
from scraper.records import utc_timestamp
from scraper.storage.layout import REARCHIVE_LOCK_FILE as LOCK_FILE


def acquire_lock(out: Path) -> IO[str] | None:
    """An exclusive, non-blocking lock on OUT/.rearchive.lock; None when another run holds it.

    flock is released by the kernel when the process dies: a killed run never leaves a stale lock.
    """
    handle = open(out / LOCK_FILE, "a+")  # noqa: SIM115 - held for the whole run
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.seek(0)
        holder = handle.read().strip()
        handle.close()
        say(f"another rearchive is running ({holder or 'unknown'}); nothing done")
        return None
    try:
        handle.seek(0)
        handle.truncate()
        handle.write(f"pid {os.getpid()} since {utc_timestamp(datetime.now(UTC))}\n")
        handle.flush()
    except OSError as exc:  # a full disk: the lock is held all the same, but say it now, in one line
        handle.close()
        fail(f"cannot write {out / LOCK_FILE}: {exc.strerror or exc}; make room, then try again",
             ExitStatus.WRITE_FAILED)
    return handle
