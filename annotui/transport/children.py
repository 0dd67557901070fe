"""How asyncio learns that a child process ended: a pidfd in the event loop, not a thread.

Python 3.11's default child watcher (`asyncio.ThreadedChildWatcher`) starts a thread per child
process to block in `waitpid`, and `create_subprocess_exec` waits for that thread to start: on
this machine's 2 shared cores 1-2 ms per local step under load (issue 11's budget is 2 ms per
step over bash, all of it). Linux (5.3+) has a descriptor for a process that becomes readable
when it exits; `PidfdWatcher` registers it with the loop that started the process. It is what
Python 3.12 uses by itself where pidfds work (there `install` does nothing), and unlike 3.11's
`asyncio.PidfdChildWatcher` it serves every event loop (the cockpit runs the engine's loop in a
thread of its own; notifications deliver from another), not one attached loop.
"""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Callable
from typing import Any, TypeVarTuple, Unpack

_Ts = TypeVarTuple("_Ts")


class PidfdWatcher(asyncio.AbstractChildWatcher):
    """A child watcher without threads: each child's pidfd is read by the loop that started it."""

    def add_child_handler(
        self, pid: int, callback: Callable[[int, int, Unpack[_Ts]], object], *args: *_Ts
    ) -> None:
        loop = asyncio.get_running_loop()
        pidfd = os.pidfd_open(pid)
        loop.add_reader(pidfd, self._reap, loop, pid, pidfd, callback, args)

    @staticmethod
    def _reap(
        loop: asyncio.AbstractEventLoop,
        pid: int,
        pidfd: int,
        callback: Callable[..., object],
        args: tuple[Any, ...],
    ) -> None:
        loop.remove_reader(pidfd)
        os.close(pidfd)
        try:
            _, status = os.waitpid(pid, 0)
        except ChildProcessError:  # reaped elsewhere: what asyncio's own watchers report
            code = 255
        else:
            code = os.waitstatus_to_exitcode(status)
        callback(pid, code, *args)

    def remove_child_handler(self, pid: int) -> bool:
        return True  # asyncio never calls it; the reader goes when the child ends

    def attach_loop(self, loop: asyncio.AbstractEventLoop | None) -> None:
        return None  # every child is watched by the running loop that started it

    def is_active(self) -> bool:
        return True

    def close(self) -> None:
        return None

    def __enter__(self) -> PidfdWatcher:
        return self

    def __exit__(self, *exc: object) -> None:
        return None


_installed = False


def install() -> None:
    """Make `PidfdWatcher` asyncio's child watcher (once; on Python 3.11 where pidfds work)."""
    global _installed
    if _installed or sys.version_info >= (3, 12):
        return
    _installed = True
    try:
        os.close(os.pidfd_open(os.getpid()))
    except (AttributeError, OSError):  # no pidfds here (an old kernel, a sandbox)
        return
    asyncio.set_child_watcher(PidfdWatcher())
