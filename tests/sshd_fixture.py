"""A real OpenSSH sshd on 127.0.0.1 and a free port, for tests and benchmarks.

`running_sshd(base_dir)` is a plain context manager (the bench uses it directly); the pytest
fixtures in `tests/ssh/conftest.py` wrap it. It writes, under `base_dir`:

- `sshd_config`, an ed25519 host key, a client key pair and `authorized_keys`;
- `known_hosts` with the `[127.0.0.1]:PORT` entry for the host key;
- `ssh_config` with two aliases: `tsd` (HostName, Port, User, IdentityFile, IdentitiesOnly,
  UserKnownHostsFile, StrictHostKeyChecking) and `tsd-jump` (the same host reached through a
  ProxyJump hop over `tsd`);
- `home/`, the HOME of remote sessions (so no dotfiles of this machine slow them down);
- `sshd.log` (sshd's `-E` log, LogLevel VERBOSE: one `Accepted publickey` line per connection).

At the end the listener is stopped by its PID, then the per-connection sshd processes it spawned
and the commands under them (found through /proc by PPID, only descendants of the PID started
here).
"""

from __future__ import annotations

import contextlib
import getpass
import os
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

SSHD = "/usr/sbin/sshd"


@dataclass
class Sshd:
    dir: Path
    port: int
    proc: subprocess.Popen[bytes]
    user: str
    client_key: Path
    host_key_pub: str
    """The host key as `TYPE BASE64`."""
    known_hosts: Path
    ssh_config: Path
    log: Path

    @property
    def pid(self) -> int:
        return self.proc.pid

    def accepted(self) -> int:
        """How many connections authenticated so far (from sshd's log)."""
        return self.log.read_text(errors="replace").count("Accepted publickey")

    def children(self) -> list[int]:
        """PIDs of processes whose parent is the listener (one sshd per connection)."""
        return _children(self.pid)

    def session_pids(self) -> list[int]:
        """The per-connection sshd processes and all their descendants (for cleanup checks)."""
        return _descendants(self.pid)

    def find_command(self, argv: str) -> tuple[int, int] | None:
        """(pid, per-connection sshd pid) of a command whose argv is exactly `argv` (joined by
        spaces) running under this sshd, else None (sshd is local, so /proc shows it)."""
        children = set(self.children())
        for pid in _pids_with_argv(argv):
            session = [p for p in _ancestry(pid) if p in children]
            if session:
                return pid, session[0]
        return None

    def wait_command(self, argv: str, timeout: float = 10.0) -> tuple[int, int]:
        deadline = time.monotonic() + timeout
        while (found := self.find_command(argv)) is None:
            if time.monotonic() > deadline:
                raise AssertionError(f"{argv!r} did not start under the test sshd")
            time.sleep(0.05)
        return found

    def wait_log(self, needle: str, timeout: float = 5.0) -> None:
        deadline = time.monotonic() + timeout
        while needle not in self.log.read_text(errors="replace"):
            if time.monotonic() > deadline:
                raise AssertionError(f"{needle!r} not in sshd log:\n{self.log.read_text()}")
            time.sleep(0.02)


def _stat(pid: int | str) -> list[str] | None:
    """The fields of /proc/PID/stat after `comm` (state, ppid, pgrp, ...), None if gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # pid (comm) state ppid ...: comm may contain spaces, so split after the last ')'.
    return stat.rsplit(")", 1)[1].split()


def _pids() -> list[int]:
    return [int(e.name) for e in Path("/proc").iterdir() if e.name.isdigit()]


def _children(ppid: int) -> list[int]:
    return [pid for pid in _pids() if (f := _stat(pid)) is not None and int(f[1]) == ppid]


def group_members(pgid: int) -> list[int]:
    """Processes of the process group `pgid` that are alive (zombies are not: their parent may
    be one that never reaps)."""
    return [
        pid
        for pid in _pids()
        if (f := _stat(pid)) is not None and int(f[2]) == pgid and f[0] != "Z"
    ]


def _cmdlines() -> Iterator[tuple[int, bytes]]:
    for pid in _pids():
        with contextlib.suppress(OSError):
            yield pid, Path(f"/proc/{pid}/cmdline").read_bytes()


def pids_with_in_argv(needle: bytes) -> list[int]:
    """Every process whose argv (/proc/PID/cmdline, readable by all users) contains `needle`."""
    return [pid for pid, cmdline in _cmdlines() if needle in cmdline]


def _pids_with_argv(argv: str) -> list[int]:
    want = argv.encode()
    return [pid for pid, cmdline in _cmdlines() if b" ".join(cmdline.split(b"\0")[:-1]) == want]


def _ancestry(pid: int) -> list[int]:
    out = []
    while pid > 1:
        fields = _stat(pid)
        if fields is None:
            return []
        pid = int(fields[1])
        out.append(pid)
    return out


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def keygen(path: Path, comment: str = "annotui-test") -> str:
    """An ed25519 key pair without passphrase; returns the public key as `TYPE BASE64`."""
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", str(path)],
        check=True,
    )
    kind, b64 = path.with_suffix(".pub").read_text().split()[:2]
    return f"{kind} {b64}"


def write_ssh_config(d: Sshd, path: Path, known_hosts: Path) -> None:
    """An ssh config with the `tsd` and `tsd-jump` aliases, verifying against `known_hosts`."""
    common = (
        f"    HostName 127.0.0.1\n    Port {d.port}\n    User {d.user}\n"
        f"    IdentityFile {d.client_key}\n    IdentitiesOnly yes\n"
        f"    UserKnownHostsFile {known_hosts}\n    GlobalKnownHostsFile /dev/null\n"
        "    StrictHostKeyChecking yes\n    BatchMode yes\n    ControlMaster no\n"
    )
    path.write_text(f"Host tsd\n{common}\nHost tsd-jump\n{common}    ProxyJump tsd\n")


def _descendants(pid: int) -> list[int]:
    out: list[int] = []
    todo = _children(pid)
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(_children(p))
    return out


def _stop(proc: subprocess.Popen[bytes]) -> None:
    kids = _descendants(proc.pid)
    with contextlib.suppress(ProcessLookupError):
        proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(5)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    for pid in kids + _descendants(proc.pid):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


@contextlib.contextmanager
def running_sshd(base_dir: Path) -> Iterator[Sshd]:
    """Start sshd (retrying on a port race), yield its description, stop it and its children."""
    base_dir.mkdir(parents=True, exist_ok=True)
    Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)
    host_key = base_dir / "ssh_host_ed25519_key"
    client_key = base_dir / "client_key"
    host_pub = keygen(host_key, "annotui-test-host")
    client_pub = keygen(client_key)
    (base_dir / "authorized_keys").write_text(client_pub + "\n")
    log = base_dir / "sshd.log"
    user = getpass.getuser()
    home = base_dir / "home"
    home.mkdir(exist_ok=True)
    for _attempt in range(5):
        port = free_port()
        cfg = base_dir / "sshd_config"
        cfg.write_text(
            f"Port {port}\nListenAddress 127.0.0.1\nHostKey {host_key}\n"
            f"PidFile {base_dir / 'sshd.pid'}\nAuthorizedKeysFile {base_dir / 'authorized_keys'}\n"
            "StrictModes no\nUsePAM no\nPermitRootLogin prohibit-password\n"
            "PasswordAuthentication no\nKbdInteractiveAuthentication no\n"
            "PubkeyAuthentication yes\nAllowTcpForwarding yes\nLogLevel VERBOSE\n"
            "MaxSessions 50\nMaxStartups 50:30:100\nPrintMotd no\n"
            # Sessions get an empty HOME: the remote shell then starts in milliseconds instead
            # of running this machine's dotfiles (root's .bashrc here runs `pyenv init`).
            f"SetEnv HOME={home}\n"
        )
        log.write_text("")
        proc = subprocess.Popen([SSHD, "-D", "-E", str(log), "-f", str(cfg)])
        deadline = time.monotonic() + 10
        while proc.poll() is None and time.monotonic() < deadline:
            if "Server listening" in log.read_text(errors="replace"):
                break
            time.sleep(0.02)
        if proc.poll() is None and time.monotonic() < deadline:
            break
        _stop(proc)
    else:
        raise RuntimeError(f"sshd did not start:\n{log.read_text()}")
    known_hosts = base_dir / "known_hosts"
    known_hosts.write_text(f"[127.0.0.1]:{port} {host_pub}\n")
    d = Sshd(
        dir=base_dir,
        port=port,
        proc=proc,
        user=user,
        client_key=client_key,
        host_key_pub=host_pub,
        known_hosts=known_hosts,
        ssh_config=base_dir / "ssh_config",
        log=log,
    )
    write_ssh_config(d, d.ssh_config, known_hosts)
    try:
        yield d
    finally:
        _stop(proc)
