"""Telling a write that failed for want of room from one that failed for a reason of its own.

A full disk, a quota, a file over its size limit (``RLIMIT_FSIZE``), a file system remounted
read-only and a device that fails all end a command the same way: one line, exit 74 (EX_IOERR),
nothing already archived lost.  They reach us as an OSError, or as SQLite's own error wrapped by
SQLAlchemy, or wrapped again by our own errors (``raise ... from``).  Pure: no Scrapy.
"""

from __future__ import annotations

import errno

NO_ROOM = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EROFS, errno.EIO})
# SQLite's words for the same (sqlite3.Error.sqlite_errorname): extended IOERR and READONLY codes included.
_SQLITE_NO_ROOM = ("SQLITE_FULL", "SQLITE_IOERR", "SQLITE_READONLY")


def no_room(exc: BaseException) -> str | None:
    """Why nothing could be written, when ``exc`` or what caused it is such a failure; else None.

    Follows SQLAlchemy's ``orig`` and Python's ``__cause__`` / ``__context__``.
    """
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, OSError) and current.errno in NO_ROOM:
            return str(current.strerror or current)
        if str(getattr(current, "sqlite_errorname", "")).startswith(_SQLITE_NO_ROOM):
            return f"{current} (catalog.sqlite)"
        orig = getattr(current, "orig", None)
        current = orig if isinstance(orig, BaseException) else (current.__cause__ or current.__context__)
    return None
