"""A real PostgreSQL server for the tests: a temporary cluster, made with initdb and started on a free port.

Debian's ``postgresql`` package gives the binaries (``.ci/run`` installs it).  PostgreSQL refuses to
run as root, and CI runs the suite as root: the cluster then belongs to ``nobody``, and its server
is started through ``runuser``.  One server per pytest-xdist worker, started on first use; each test
gets a database of its own (:meth:`PostgresServer.new_database`).
"""

from __future__ import annotations

import itertools
import os
import shutil
import socket
import subprocess
from pathlib import Path

SUPERUSER = "scraper"


def bin_dir() -> Path | None:
    """The newest installed PostgreSQL's binaries (Debian keeps them off PATH), else initdb's on PATH."""
    for candidate in sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=lambda p: int(p.parent.name), reverse=True):
        if (candidate / "initdb").is_file():
            return candidate
    found = shutil.which("initdb")
    return Path(found).resolve().parent if found else None


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class PostgresServer:
    def __init__(self, base: Path, binaries: Path) -> None:
        self.base, self.binaries = base, binaries
        self.data, self.sockets, self.log = base / "data", base / "sockets", base / "server.log"
        self.port = 0
        self._names = itertools.count(1)
        self._as_owner: list[str] = []
        if os.geteuid() == 0:  # initdb and postgres refuse root
            self._as_owner = ["runuser", "-u", "nobody", "--"]

    def _run(self, *args: str) -> None:
        proc = subprocess.run([*self._as_owner, *args], capture_output=True, text=True, timeout=120)
        if proc.returncode != 0:
            log = self.log.read_text(errors="replace")[-2000:] if self.log.exists() else ""
            raise RuntimeError(f"{args[0]} failed ({proc.returncode}): {proc.stderr.strip()[-2000:]}\n{log}")

    def start(self) -> PostgresServer:
        self.sockets.mkdir(parents=True, exist_ok=True)
        if self._as_owner:
            for path in (self.base, self.sockets):
                shutil.chown(path, "nobody", "nogroup")
        self._run(str(self.binaries / "initdb"), "-D", str(self.data), "-U", SUPERUSER, "--auth=trust",
                  "--encoding=UTF8", "--locale=C.UTF-8", "--no-sync")
        self.port = _free_port()
        # fsync off: a test cluster needs no durability, and fsyncs cost seconds on this disk.
        options = (f"-p {self.port} -k {self.sockets} -c listen_addresses=127.0.0.1 -c fsync=off "
                   "-c synchronous_commit=off -c full_page_writes=off -c max_connections=100")
        self._run(str(self.binaries / "pg_ctl"), "-D", str(self.data), "-l", str(self.log), "-o", options,
                  "-w", "-t", "60", "start")
        return self

    def stop(self) -> None:
        if self.port:
            self._run(str(self.binaries / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "-w", "stop")
            self.port = 0

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://{SUPERUSER}@127.0.0.1:{self.port}/{database}"

    def new_database(self) -> str:
        """The URL of a new, empty database."""
        import psycopg

        name = f"test_{os.getpid()}_{next(self._names)}"
        with psycopg.connect(f"host=127.0.0.1 port={self.port} user={SUPERUSER} dbname=postgres",
                             autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)
