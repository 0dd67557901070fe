"""A real supervisord (the `supervisor` package) on 127.0.0.1: config, start, readiness, stop.

Used by the sandbox and by the test fixture (tests/supervisord_fixture.py). Processes are only
ever ended by the PID recorded for them, after checking that the PID really is that supervisord.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import time
import xmlrpc.client
from collections.abc import Mapping
from pathlib import Path
from typing import Any


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def port_free(port: int) -> bool:
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def write_config(
    path: Path,
    *,
    port: int,
    username: str,
    password: str,
    programs: Mapping[str, str],
    nodaemon: bool,
    startsecs: int = 1,
) -> None:
    """supervisord.conf with an inet_http_server and one program (= group) per entry."""
    base = path.parent
    (base / "logs").mkdir(parents=True, exist_ok=True)
    lines = [
        "[supervisord]",
        f"logfile={base / 'supervisord.log'}",
        f"pidfile={base / 'supervisord.pid'}",
        f"childlogdir={base / 'logs'}",
        f"nodaemon={'true' if nodaemon else 'false'}",
        "silent=true",
        "logfile_maxbytes=1MB",
        "logfile_backups=0",
        "",
        "[inet_http_server]",
        f"port=127.0.0.1:{port}",
        f"username={username}",
        f"password={password}",
        "",
        "[rpcinterface:supervisor]",
        "supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface",
        "",
        "[supervisorctl]",
        f"serverurl=http://127.0.0.1:{port}",
        f"username={username}",
        f"password={password}",
    ]
    for name, command in programs.items():
        lines += [
            "",
            f"[program:{name}]",
            f"command={command}",
            "autostart=true",
            "autorestart=false",
            f"startsecs={startsecs}",
            "stopwaitsecs=5",
            "stopasgroup=true",
            "killasgroup=true",
            f"stdout_logfile={base / 'logs' / (name + '.log')}",
            "stdout_logfile_maxbytes=1MB",
            "stdout_logfile_backups=0",
            "redirect_stderr=true",
        ]
    path.write_text("\n".join(lines) + "\n")
    path.chmod(0o600)  # it holds the password


def rpc_url(port: int, username: str, password: str) -> str:
    return f"http://{username}:{password}@127.0.0.1:{port}/RPC2"


def wait_ready(
    port: int, username: str, password: str, timeout: float = 15.0, programs: bool = False
) -> None:
    """Block until supervisord answers getState with RUNNING (and, with `programs`, every
    program is RUNNING too), or raise TimeoutError."""
    deadline = time.monotonic() + timeout
    last: Exception | str | None = None
    while time.monotonic() < deadline:
        try:
            proxy = xmlrpc.client.ServerProxy(rpc_url(port, username, password))
            state: dict[str, Any] = proxy.supervisor.getState()  # type: ignore[assignment]
            if state["statename"] == "RUNNING":
                if not programs:
                    return
                states = {p["name"]: p["statename"] for p in _process_info(proxy)}
                if set(states.values()) <= {"RUNNING"}:
                    return
                last = ", ".join(f"{n} {s}" for n, s in states.items())
        except (OSError, xmlrpc.client.Error) as e:
            last = e
        time.sleep(0.05)
    raise TimeoutError(f"supervisord on 127.0.0.1:{port} not ready after {timeout:g} s ({last})")


def _process_info(proxy: xmlrpc.client.ServerProxy) -> list[dict[str, Any]]:
    """supervisor.getAllProcessInfo(): one dict per program (xmlrpc.client returns it untyped)."""
    infos: list[dict[str, Any]] = proxy.supervisor.getAllProcessInfo()  # type: ignore[assignment]
    return infos


def child_pids(port: int, username: str, password: str) -> list[int]:
    """PIDs of the running programs (best effort: [] when supervisord does not answer)."""
    try:
        proxy = xmlrpc.client.ServerProxy(rpc_url(port, username, password))
        return [int(p["pid"]) for p in _process_info(proxy) if p["pid"]]
    except (OSError, xmlrpc.client.Error):
        return []


def alive(pid: int) -> bool:
    """True while the process exists and is not a zombie."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rpartition(")")[2].split()[0] != "Z"


def is_supervisord(pid: int, config: Path) -> bool:
    """Whether `pid` is a supervisord started with this config file."""
    try:
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return False
    text = [a.decode(errors="replace") for a in argv]
    return any("supervisord" in a for a in text) and str(config) in text


def read_pid(pidfile: Path) -> int | None:
    try:
        return int(pidfile.read_text().strip())
    except (OSError, ValueError):
        return None


def terminate(pid: int, timeout: float = 15.0) -> bool:
    """SIGTERM `pid` and wait until it is gone (SIGKILL after `timeout`). True when it is gone."""
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while alive(pid):
        if time.monotonic() > deadline:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
            time.sleep(0.2)
            return not alive(pid)
        time.sleep(0.05)
    return True
