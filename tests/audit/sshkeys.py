"""Real OpenSSH keys, a real ssh-agent and allowed_signers files for the proof tests."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest


@dataclass(frozen=True)
class Key:
    name: str
    private: Path
    public: Path

    @property
    def public_line(self) -> str:
        """``type base64`` of the public key (an allowed_signers entry's key)."""
        return " ".join(self.public.read_text().split()[:2])

    def fingerprint(self) -> str:
        out = subprocess.run(
            ["ssh-keygen", "-l", "-f", str(self.public)], capture_output=True, text=True, check=True
        ).stdout
        return out.split()[1]


def make_key(where: Path, name: str, passphrase: str = "") -> Key:
    where.mkdir(parents=True, exist_ok=True)
    private = where / name
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", passphrase, "-C", name, "-f", str(private)],
        check=True,
        stdin=subprocess.DEVNULL,
    )
    return Key(name, private, Path(f"{private}.pub"))


def allowed_signers(path: Path, *entries: tuple[str, Key, str]) -> Path:
    """An allowed_signers file of (principal, key, options) lines."""
    lines = [
        f"{principal} {options + ' ' if options else ''}{key.public_line}"
        for principal, key, options in entries
    ]
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture
def keys(tmp_path: Path) -> dict[str, Key]:
    where = tmp_path / "keys"
    return {name: make_key(where, name) for name in ("operator", "reviewer", "mallory")}


@dataclass(frozen=True)
class Agent:
    sock: Path
    pid: int

    @property
    def env(self) -> dict[str, str]:
        return {**os.environ, "SSH_AUTH_SOCK": str(self.sock)}

    def add(self, key: Key, passphrase: str = "") -> None:
        env = {**self.env, "SSH_ASKPASS_REQUIRE": "never"}
        if passphrase:  # ssh-add reads a passphrase from SSH_ASKPASS: a script that prints it
            askpass = key.private.with_name(f"{key.name}.askpass")
            askpass.write_text(f"#!/bin/sh\necho '{passphrase}'\n")
            askpass.chmod(0o700)
            env.update(SSH_ASKPASS=str(askpass), SSH_ASKPASS_REQUIRE="force", DISPLAY=":0")
        subprocess.run(
            ["ssh-add", "-q", str(key.private)],
            env=env,
            check=True,
            stdin=subprocess.DEVNULL,
            capture_output=True,
        )


@pytest.fixture
def agent(tmp_path: Path) -> Iterator[Agent]:
    """A real ssh-agent on a socket in tmp_path, in the foreground (-D), killed by its PID."""
    sock = tmp_path / "agent.sock"
    proc = subprocess.Popen(
        ["ssh-agent", "-D", "-a", str(sock)],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 10
        while not sock.exists():
            assert proc.poll() is None and time.monotonic() < deadline, "ssh-agent did not start"
            time.sleep(0.02)
        yield Agent(sock, proc.pid)
    finally:
        os.kill(proc.pid, signal.SIGTERM)
        proc.wait(timeout=10)
