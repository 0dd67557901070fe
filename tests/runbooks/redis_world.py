"""A local Redis world for checklists/redis-upgrade.toml: two real redis-server instances run by
a real supervisord (tests/supervisord_fixture.py) on 127.0.0.1, as the real `redis` user (the one
the redis-server package creates), each with its configuration file and data directory owned by
redis. The old one holds keys (the canary's value has quotes and `$(...)`); the new one is
installed but stopped, as before an upgrade. Both are the installed version: what the checklist
does to them (REPLICAOF, INFO, CONFIG SET/REWRITE, CLIENT PAUSE, supervisord start/stop) is real.
supervisord stops both instances when it is stopped, by its PID, at the end."""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import subprocess
import tempfile
import xmlrpc.client
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from supervisord_fixture import Supervisord, running_supervisord

from annotui.sandbox_files.supervisord import free_port, rpc_url

REDIS_USER = "redis"
CANARY_KEY = "deploy:canary"
CANARY_VALUE = 'it\'s "q" $(touch PWNED) `id`'
KEYS = 50


@dataclass
class RedisWorld:
    base: Path
    old_port: int
    new_port: int
    supervisord: Supervisord

    @property
    def backup(self) -> Path:
        return self.base / "backup"

    def cli(self, port: int, *args: str) -> str:
        proc = subprocess.run(
            ["redis-cli", "-p", str(port), *args], capture_output=True, text=True, timeout=30
        )
        assert proc.returncode == 0, proc.stdout + proc.stderr
        return proc.stdout.strip()

    def state(self, program: str) -> str:
        sv = self.supervisord
        proxy = xmlrpc.client.ServerProxy(rpc_url(sv.port, sv.username, sv.password))
        info: dict[str, str] = proxy.supervisor.getProcessInfo(program)  # type: ignore[assignment]
        return info["statename"]

    def vars(self, **overrides: str) -> dict[str, str]:
        values = {
            "redis_host": "local",
            "old_port": str(self.old_port),
            "new_port": str(self.new_port),
            "master_host": "127.0.0.1",
            "old_dir": str(self.base / "old"),
            "backup_dir": str(self.backup),
            "canary_key": CANARY_KEY,
            "pause_writes": "yes",
            "pause_ms": "2000",
            "supervisor_url": self.supervisord.url,
            "supervisor_user": self.supervisord.username,
            "old_program": "redis",
            "new_program": "redis-new",
        }
        return {**values, **overrides}

    @property
    def env(self) -> dict[str, str]:
        return {"REDIS_SUPERVISOR_PASSWORD": self.supervisord.password}


def _conf(base: Path, name: str, port: int, extra: str) -> Path:
    data = base / name
    data.mkdir()
    conf = data / "redis.conf"  # CONFIG REWRITE writes beside it, as redis
    conf.write_text(
        f"port {port}\nbind 127.0.0.1\ndaemonize no\ndir {data}\n"
        f'dbfilename dump.rdb\nsave ""\nappendonly no\n{extra}'
    )
    for path in (data, conf):
        shutil.chown(path, REDIS_USER, REDIS_USER)
    conf.chmod(0o640)
    return conf


@contextlib.contextmanager
def redis_world(new_extra: str = "") -> Iterator[RedisWorld]:
    """`new_extra`: more lines for the new instance's configuration file."""
    server = shutil.which("redis-server")
    if server is None or shutil.which("redis-cli") is None or os.geteuid() != 0:
        pytest.skip("needs root and redis-server, redis-cli (the redis-server package)")
    try:
        pwd.getpwnam(REDIS_USER)
    except KeyError:
        pytest.skip("needs the redis user of the redis-server package")
    base = Path(tempfile.mkdtemp(prefix="annotui-redis-"))
    base.chmod(0o755)
    old_port, new_port = free_port(), free_port()
    old = _conf(base, "old", old_port, "")
    new = _conf(base, "new", new_port, new_extra)
    backup = base / "backup"
    backup.mkdir()
    shutil.chown(backup, REDIS_USER, REDIS_USER)
    programs = {
        "redis": f"runuser -u {REDIS_USER} -- {server} {old}",
        "redis-new": f"runuser -u {REDIS_USER} -- {server} {new}",
    }
    try:
        with running_supervisord(base / "supervisor", programs=programs) as sv:
            world = RedisWorld(base, old_port, new_port, sv)
            proxy = xmlrpc.client.ServerProxy(rpc_url(sv.port, sv.username, sv.password))
            proxy.supervisor.stopProcess("redis-new")  # installed, not started yet
            for _ in range(100):
                with contextlib.suppress(AssertionError):
                    if world.cli(old_port, "PING") == "PONG":
                        break
            world.cli(old_port, "SET", CANARY_KEY, CANARY_VALUE)
            for i in range(1, KEYS):
                world.cli(old_port, "SET", f"key:{i}", str(i))
            yield world
    finally:
        shutil.rmtree(base, ignore_errors=True)
