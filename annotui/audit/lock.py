"""The exclusive lock of an audit log, keyed on the file itself; and files made beside a log.

The lock is ``flock`` on the log's own open file: the kernel keys it on the file (its device and
inode), so a second writer is refused however it reaches the log: the same path, a symbolic
link, a hard link, another mount of the directory. ``flock`` belongs to the open file: the
kernel drops it when the holder closes it or dies (even by ``kill -9``), so a lock can never go
stale.

A sidecar ``PATH.lock`` names the holder (pid, user, host, since, and which file and path it
locked) for the refusal message; it holds no lock. It is made with ``O_CREAT | O_EXCL |
O_NOFOLLOW``: an existing one is never written into, a symbolic link planted there is refused
(its target is never touched), and a stale one (its holder died) is removed first, which the
lock holder alone may do. Files saved beside a log (``PATH.torn-N``) are made the same way by
``create_beside``.
"""

from __future__ import annotations

import contextlib
import fcntl
import getpass
import json
import os
import pwd
import socket
import stat
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from annotui.audit.errors import AuditError, AuditLocked
from annotui.text import one_line

_NEW = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC


def lock_path(path: Path) -> Path:
    return path.with_name(path.name + ".lock")


def _identity(st: os.stat_result) -> tuple[int, int]:
    return st.st_dev, st.st_ino


def _user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return str(os.getuid())


def _holder_info(log: Path, st: os.stat_result) -> bytes:
    info = {
        "pid": os.getpid(),
        "user": _user(),
        "host": socket.gethostname(),
        "since": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "log": str(log),
        "dev": st.st_dev,
        "ino": st.st_ino,
    }
    return json.dumps(info).encode()


def _refuse_existing(path: Path, what: str) -> None:
    """Raise the refusal for ``path``, which exists and is not a regular file (or is a link)."""
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return
    if stat.S_ISLNK(st.st_mode):
        try:
            target = f" (to {one_line(os.readlink(path))})"
        except OSError:
            target = ""
        raise AuditError(
            f"refusing to use {what} {one_line(path)}: it is a symbolic link{target}, which "
            "annotui never follows; remove it"
        )
    if not stat.S_ISREG(st.st_mode):
        raise AuditError(f"refusing to use {what} {one_line(path)}: it is not a regular file")


def create_beside(path: Path, what: str, mode: int = 0o644) -> int:
    """Create ``path`` exclusively and open it for writing (``O_EXCL | O_NOFOLLOW``): raises
    FileExistsError when a regular file is there, AuditError naming the path when anything else
    is (a symbolic link is never followed) or it cannot be made."""
    try:
        return os.open(path, _NEW, mode)
    except FileExistsError:
        _refuse_existing(path, what)
        raise
    except OSError as e:
        _refuse_existing(path, what)  # ELOOP and the like: say what is there
        raise AuditError(f"cannot create {what} {one_line(path)}: {e.strerror}") from None


def _read_sidecar(path: Path) -> dict[str, Any] | None:
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK)
    except OSError:
        return None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return None
        info = json.loads(os.pread(fd, 4096, 0))
    except (OSError, ValueError):
        return None
    finally:
        os.close(fd)
    return info if isinstance(info, dict) else None


def _proc_holder(st: os.stat_result) -> int | None:
    """The pid holding a write flock on this file, from /proc/locks (Linux)."""
    key = f"{os.major(st.st_dev):02x}:{os.minor(st.st_dev):02x}:{st.st_ino}"
    try:
        with open("/proc/locks") as f:
            for line in f:
                parts = line.split()
                if len(parts) >= 6 and parts[1] == "FLOCK" and parts[5] == key:
                    return int(parts[4])
    except (OSError, ValueError):
        pass
    return None


def _proc_user(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("Uid:"):
                    return pwd.getpwuid(int(line.split()[1])).pw_name
    except (OSError, ValueError, KeyError):
        pass
    return "?"


def _describe_holder(log: Path, st: os.stat_result) -> str:
    """'pid 1234 (user alice on host jump1, since ...)', from the holder's sidecar beside this
    path or beside the path the link resolves to, else from the kernel's table of locks; waiting
    briefly for a holder that has just taken the lock and not yet written its name."""
    places = [lock_path(log), lock_path(Path(os.path.realpath(log)))]
    deadline = time.monotonic() + 0.5
    while True:
        for place in places:
            h = _read_sidecar(place)
            if h is None or (h.get("dev"), h.get("ino")) != _identity(st):
                continue
            try:
                text = f"pid {h['pid']} (user {h['user']} on host {h['host']}, since {h['since']})"
            except KeyError:
                continue
            if h.get("log") not in (None, str(log)):
                text += f", writing it as {h['log']}"
            return one_line(text)
        if time.monotonic() > deadline:
            pid = _proc_holder(st)
            if pid is not None:
                return f"pid {pid} (user {_proc_user(pid)}, through another path to the same file)"
            return "another process (it has not written its name)"
        time.sleep(0.02)


class LogLock:
    """An acquired lock; ``release()`` removes the sidecar and frees the lock."""

    def __init__(self, path: Path, fd: int, sidecar: tuple[int, int] | None) -> None:
        self.path = path
        """The sidecar ``PATH.lock``."""
        self._fd: int | None = fd
        self._sidecar = sidecar

    def release(self) -> None:
        if self._fd is None:
            return
        # Remove the sidecar while still holding the lock, and only if it is still ours.
        with contextlib.suppress(OSError):
            if _identity(os.lstat(self.path)) == self._sidecar:
                os.unlink(self.path)
        os.close(self._fd)
        self._fd = None


def acquire(log: Path, fd: int) -> LogLock:
    """Take the lock of the log open on ``fd`` (reached as ``log``) without waiting, or raise
    AuditLocked naming the holder, or AuditError (a sidecar that is a symbolic link...)."""
    lock_fd = os.dup(fd)  # the lock lives on the open file until release(), whoever closes fd
    try:
        st = os.fstat(lock_fd)
        try:
            fcntl.flock(lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise AuditLocked(
                f"audit log {one_line(log)} is in use by {_describe_holder(log, st)}"
            ) from None
        except OSError as e:
            raise AuditError(f"cannot lock audit log {one_line(log)}: {e.strerror}") from None
        return LogLock(lock_path(log), lock_fd, _write_sidecar(lock_path(log), log, st))
    except BaseException:
        os.close(lock_fd)
        raise


def _write_sidecar(path: Path, log: Path, st: os.stat_result) -> tuple[int, int]:
    """Make ``PATH.lock`` afresh (the lock is held: one left there is stale) and name us in it."""
    for _ in range(5):
        try:
            fd = create_beside(path, "the lock file")
        except FileExistsError:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(path)  # a regular file left by a holder that died: only its name goes
            continue
        try:
            os.write(fd, _holder_info(log, st))
            return _identity(os.fstat(fd))
        except OSError as e:  # a full or read-only file system
            raise AuditError(f"cannot write the lock file {one_line(path)}: {e.strerror}") from None
        finally:
            os.close(fd)
    raise AuditError(f"cannot create the lock file {one_line(path)}: it keeps reappearing")


def _holds(path: Path, data: bytes) -> bool:
    """Whether ``path`` is a regular file (not followed if a link) holding exactly ``data``."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK)
    except OSError:
        return False
    try:
        st = os.fstat(fd)
        return (
            stat.S_ISREG(st.st_mode)
            and st.st_size == len(data)
            and (os.pread(fd, len(data) + 1, 0) == data)
        )
    finally:
        os.close(fd)


def save_torn(log: Path, offset: int, raw: bytes) -> Path:
    """Save the torn tail ``raw`` of ``log`` (found at ``offset``) to ``LOG.torn-OFFSET``, fsynced,
    and return that path. The file is made with ``O_EXCL | O_NOFOLLOW``: one already there with
    exactly these bytes (a resume that died before cutting the log) is kept; another is never
    overwritten (``LOG.torn-OFFSET.1``, ``.2``... are used); a symbolic link there is refused."""
    base = log.with_name(f"{log.name}.torn-{offset}")
    for n in range(100):
        copy = base if n == 0 else base.with_name(f"{base.name}.{n}")
        try:
            fd = create_beside(copy, "the copy of the torn tail")
        except FileExistsError:
            if _holds(copy, raw):
                return copy
            continue
        try:
            view = memoryview(raw)
            while view:
                view = view[os.write(fd, view) :]
            os.fsync(fd)
        except OSError as e:
            raise AuditError(
                f"cannot save the torn tail to {one_line(copy)}: {e.strerror}"
            ) from None
        finally:
            os.close(fd)
        return copy
    raise AuditError(f"cannot save the torn tail of {one_line(log)}: {one_line(base)}.* all taken")
