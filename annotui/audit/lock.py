"""The exclusive lock of an audit log: ``flock`` on a sidecar ``PATH.lock`` that names its holder.

``flock`` belongs to the open file: the kernel drops it when the holder closes it or dies (even by
``kill -9``), so a lock can never go stale. The sidecar's content (pid, user, host, since) is only
there to name the holder in the refusal message.
"""

from __future__ import annotations

import contextlib
import fcntl
import getpass
import json
import os
import socket
import time
from datetime import UTC, datetime
from pathlib import Path

from annotui.audit.errors import AuditError, AuditLocked


def lock_path(path: Path) -> Path:
    return path.with_name(path.name + ".lock")


def _holder_info() -> bytes:
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = str(os.getuid())
    info = {
        "pid": os.getpid(),
        "user": user,
        "host": socket.gethostname(),
        "since": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    return json.dumps(info).encode()


def _describe_holder(fd: int) -> str:
    """'pid 1234 (user alice on host jump1, since ...)', waiting briefly for a holder that has
    just taken the lock and not yet written its name."""
    deadline = time.monotonic() + 0.5
    while True:
        raw = os.pread(fd, 4096, 0)
        try:
            h = json.loads(raw)
            return f"pid {h['pid']} (user {h['user']} on host {h['host']}, since {h['since']})"
        except (ValueError, KeyError, TypeError):
            if time.monotonic() > deadline:
                return "another process (it has not written its name)"
            time.sleep(0.02)


class LogLock:
    """An acquired lock; ``release()`` removes the sidecar and frees the lock."""

    def __init__(self, path: Path, fd: int) -> None:
        self.path = path
        self._fd: int | None = fd

    def release(self) -> None:
        if self._fd is None:
            return
        # Unlink while still holding the lock: a process that opened the old file will see, once
        # it gets the lock, that the name no longer points to it, and retry (see acquire).
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.path)
        os.close(self._fd)
        self._fd = None


def acquire(log: Path) -> LogLock:
    """Take the lock of ``log`` without waiting, or raise AuditLocked naming the holder."""
    path = lock_path(log)
    for _ in range(20):
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        except OSError as e:
            raise AuditError(f"cannot open the lock file {path}: {e.strerror}") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _describe_holder(fd)
            os.close(fd)
            raise AuditLocked(f"audit log {log} is in use by {holder}") from None
        try:
            current = os.stat(path)
        except FileNotFoundError:
            current = None
        st = os.fstat(fd)
        if current is None or (current.st_ino, current.st_dev) != (st.st_ino, st.st_dev):
            os.close(fd)  # the previous holder removed this file as we opened it: take the new one
            continue
        os.ftruncate(fd, 0)
        os.pwrite(fd, _holder_info(), 0)
        return LogLock(path, fd)
    raise AuditError(f"cannot take the lock {path}: it keeps changing")
