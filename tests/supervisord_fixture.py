"""A real supervisord (`supervisor` package) on 127.0.0.1 and a free port, for tests and benches.

`running_supervisord(base_dir, programs=...)` is a plain context manager (benches and other test
suites use it directly); `tests/status/conftest.py` wraps it as a pytest fixture. supervisord runs
with `nodaemon=true` as a child of this process, with an `[inet_http_server]` protected by a
username and a generated password. `stop()` ends it by its PID (it stops its programs first) and
`start()` brings it back on the same port, so a test can simulate an outage.
"""

from __future__ import annotations

import secrets
import subprocess
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from annotui.sandbox_files.supervisord import (
    free_port,
    terminate,
    wait_ready,
    write_config,
)

DEFAULT_PROGRAMS = {
    "alpha": "/bin/sh -c 'echo alpha up; exec sleep 86400'",
    "beta": "/bin/sh -c 'echo beta up; exec sleep 86400'",
}


@dataclass
class Supervisord:
    dir: Path
    port: int
    username: str
    password: str
    programs: Mapping[str, str]
    proc: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def config(self) -> Path:
        return self.dir / "supervisord.conf"

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc else None

    def start(self) -> None:
        """Start supervisord (again, on the same port) and wait until it answers."""
        assert self.proc is None, "already running"
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "supervisor.supervisord", "-c", str(self.config)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            wait_ready(self.port, self.username, self.password)
        except TimeoutError:
            self.stop()
            raise

    def stop(self) -> None:
        """End supervisord by its PID (it stops its programs first) and reap it."""
        if self.proc is None:
            return
        terminate(self.proc.pid)
        self.proc.wait(timeout=10)
        self.proc = None


@contextmanager
def running_supervisord(
    base_dir: Path,
    programs: Mapping[str, str] | None = None,
    username: str = "admin",
    password: str | None = None,
    startsecs: int = 0,
) -> Iterator[Supervisord]:
    base_dir.mkdir(parents=True, exist_ok=True)
    sv = Supervisord(
        dir=base_dir,
        port=free_port(),
        username=username,
        password=password or secrets.token_urlsafe(12),
        programs=dict(DEFAULT_PROGRAMS if programs is None else programs),
    )
    write_config(
        sv.config,
        port=sv.port,
        username=sv.username,
        password=sv.password,
        programs=sv.programs,
        nodaemon=True,
        startsecs=startsecs,
    )
    sv.start()
    try:
        yield sv
    finally:
        sv.stop()
