"""A local PostgreSQL world for checklists/postgresql-upgrade.toml: a real cluster initialised
and started by the real `postgres` user (the one the PostgreSQL package creates) on 127.0.0.1
and a private socket directory, holding a database whose canary query the upgrade must keep.
The "old" and "new" versions are the same installed major version (pg_upgrade accepts that):
what the checklist does to them (initdb, pg_upgrade --check, pg_ctl, pg_upgrade, vacuumdb,
delete_old_cluster.sh) is real. Every server this world or the run started is stopped at the end
by its data directory's postmaster.pid."""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

PG_USER = "postgres"
CANARY = "SELECT count(*) || ':' || string_agg(name, ',' ORDER BY id) FROM items"
ROWS = ["alpha", 'it\'s "q" $(touch PWNED)', "gamma"]


def bindir() -> Path:
    """The newest installed PostgreSQL's bin directory, or skip."""
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_upgrade"))
    if not found or os.geteuid() != 0 or shutil.which("runuser") is None:
        pytest.skip("needs root, runuser and an installed PostgreSQL (postgresql package)")
    try:
        pwd.getpwnam(PG_USER)
    except KeyError:
        pytest.skip("needs the postgres user of the PostgreSQL package")
    return found[-1].parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def as_postgres(*argv: str | Path, cwd: Path | None = None) -> str:
    proc = subprocess.run(
        ["runuser", "-u", PG_USER, "--", *map(str, argv)],
        capture_output=True, text=True, cwd=cwd, timeout=120,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc.stdout


@dataclass
class PgWorld:
    base: Path
    bindir: Path
    port: int

    @property
    def old(self) -> Path:
        return self.base / "old"

    @property
    def new(self) -> Path:
        return self.base / "new"

    @property
    def sock(self) -> Path:
        return self.base / "sock"

    @property
    def work(self) -> Path:
        return self.base / "work"

    def vars(self, **overrides: str) -> dict[str, str]:
        """The checklist's vars for this world."""
        values = {
            "db_host": "local",
            "old_bindir": str(self.bindir),
            "new_bindir": str(self.bindir),
            "old_datadir": str(self.old),
            "new_datadir": str(self.new),
            "socket_dir": str(self.sock),
            "old_port": str(self.port),
            "new_port": str(self.port),
            "upgrade_port": str(free_port()),
            "listen_addresses": "127.0.0.1",
            "work_dir": str(self.work),
            "canary_db": "app",
            "canary_sql": CANARY,
            "install_packages": "no",
            "link": "no",
            "standbys": "no",
        }
        return {**values, **overrides}

    def query(self, sql: str, port: int | None = None, db: str = "app") -> str:
        return as_postgres(
            self.bindir / "psql", "-h", self.sock, "-p", str(port or self.port), "-d", db,
            "-AtX", "-c", sql,
        ).strip()  # fmt: skip

    def running(self, datadir: Path) -> int | None:
        """The postmaster's pid when the cluster at datadir runs."""
        pidfile = datadir / "postmaster.pid"
        try:
            pid = int(pidfile.read_text().split("\n", 1)[0])
            os.kill(pid, 0)
        except (OSError, ValueError):
            return None
        return pid

    def stop_all(self) -> None:
        for datadir in (self.old, self.new):
            pid = self.running(datadir)
            if pid is None:
                continue
            os.kill(pid, signal.SIGQUIT)  # immediate shutdown of a server this test started
            deadline = time.monotonic() + 20
            while self.running(datadir) and time.monotonic() < deadline:
                time.sleep(0.1)


@contextlib.contextmanager
def pg_world() -> Iterator[PgWorld]:
    bins = bindir()
    base = Path(tempfile.mkdtemp(prefix="annotui-pg-"))
    base.chmod(0o755)
    shutil.chown(base, PG_USER, PG_USER)  # the clusters are made inside by postgres
    world = PgWorld(base, bins, free_port())
    for d in (world.sock, world.work):
        d.mkdir()
        shutil.chown(d, PG_USER, PG_USER)
    try:
        as_postgres(
            bins / "initdb", "-D", world.old, "-U", PG_USER, "--auth=trust",
            "--encoding=UTF8", "--locale=C.UTF-8",
        )  # fmt: skip
        with (world.old / "postgresql.conf").open("a") as conf:
            conf.write(
                f"port = {world.port}\nunix_socket_directories = '{world.sock}'\n"
                "listen_addresses = '127.0.0.1'\n"
            )
        as_postgres(bins / "pg_ctl", "-D", world.old, "-l", world.base / "old.log", "-w", "start")
        as_postgres(bins / "createdb", "-h", world.sock, "-p", str(world.port), "app")
        values = ", ".join(f"({i}, $q${name}$q$)" for i, name in enumerate(ROWS, 1))
        world.query(f"CREATE TABLE items (id int PRIMARY KEY, name text); "
                    f"INSERT INTO items VALUES {values}")  # fmt: skip
        yield world
    finally:
        world.stop_all()
        shutil.rmtree(base, ignore_errors=True)
