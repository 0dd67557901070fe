"""Room kept on disk past the audit log's end, so that a full file system is found while a
command prints nothing: the writer's `check` extends the room once a second, and a full file system
refuses that (ENOSPC) although no record failed yet. The room is allocated with Linux's
``fallocate(FALLOC_FL_KEEP_SIZE)``: the file's size (what readers see) does not change. Python's
``os.posix_fallocate`` cannot keep the size, hence libc's own call."""

from __future__ import annotations

import contextlib
import ctypes
import errno
import os

ROOM = 64 << 10
"""Bytes kept allocated past the end: far more than a few records."""
_KEEP_SIZE = 0x01
_PUNCH_HOLE = 0x02
_UNSUPPORTED = frozenset({errno.EOPNOTSUPP, errno.ENOSYS})

_fallocate = getattr(ctypes.CDLL(None, use_errno=True), "fallocate", None)
if _fallocate is not None:
    _fallocate.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int64, ctypes.c_int64]
    _fallocate.restype = ctypes.c_int


def _call(fd: int, mode: int, offset: int, length: int) -> int:
    """0, or the errno of the call (retried on EINTR)."""
    assert _fallocate is not None
    while _fallocate(fd, mode, offset, length) != 0:
        if (e := ctypes.get_errno()) != errno.EINTR:
            return e
    return 0


def keep_room(fd: int, end: int) -> bool:
    """Keep `ROOM` bytes allocated after `end`. False where this file system (or platform) cannot
    (the caller stops asking); OSError when it refuses, ENOSPC for a full one."""
    if _fallocate is None:
        return False
    e = _call(fd, _KEEP_SIZE, end, ROOM)
    if e in _UNSUPPORTED:
        return False
    if e:
        raise OSError(e, os.strerror(e))
    return True


def give_back(fd: int, end: int) -> None:
    """Free the room after `end` (the log is closing; a crash leaves it to the next writer)."""
    if _fallocate is not None:
        with contextlib.suppress(OSError):
            _call(fd, _PUNCH_HOLE | _KEEP_SIZE, end, ROOM)
