"""The transport interface: where a command runs (local, ssh, ...).

`Transport.run` is written once, here: it starts the command through the transport's `_start`
(which returns a `Job`), waits for it within the timeout, and stops it (its whole process group)
on a timeout, a cancellation or a failing consumer. Transports only say how to start, wait for,
stop and read the outcome of one command.
"""

from __future__ import annotations

import asyncio
import time
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

Stream = Literal["stdout", "stderr"]
OnLine = Callable[[Stream, str], None]
"""Called for every output line as it arrives (without the trailing newline).

A sink may also have `text(stream, text)`: transports then hand over whole blocks of complete
lines joined by newlines (no trailing newline), one call per block read, so a flood of output
costs one call per 64 KiB or more rather than one per line."""
Deliver = Callable[[Stream, str], None]
"""Hands over one block of whole lines joined by newlines (see `block_sink`)."""
OnSpawn = Callable[["Group"], None]
"""Called once with the command's process group as soon as it is known (see `run`)."""

KILL_GRACE = 3.0
"""Seconds between SIGTERM and SIGKILL when a command is stopped."""
MAX_LINE = 1 << 20
"""A line longer than this is delivered in pieces rather than held whole."""

HostStateName = Literal["idle", "connecting", "connected", "failed", "closed"]


@dataclass(frozen=True, slots=True)
class HostState:
    state: HostStateName
    detail: str = ""
    since: float = 0.0
    """time.time() of the last change."""


class TransportError(Exception):
    """The command could not be started: unreachable host, auth failure, ... (says what/where)."""


class HostKeyError(TransportError):
    """The host key is unknown or changed: nothing ran and known_hosts is untouched."""


class ConnectionLost(TransportError):
    """The link dropped while a command ran: its outcome is unknown."""


class Group(int):
    """A command's process-group id (an int), with what tells its leader from a later process
    that reuses the id: the leader's start time (/proc/PID/stat field 22, in clock ticks since
    boot) and the host's boot id (/proc/sys/kernel/random/boot_id); None where the host has no
    /proc or the leader was gone before it was read."""

    starttime: int | None
    boot_id: str | None

    def __new__(cls, pgid: int, starttime: int | None = None, boot_id: str | None = None) -> Group:
        group = super().__new__(cls, pgid)
        group.starttime = starttime
        group.boot_id = boot_id
        return group


@dataclass(frozen=True, slots=True)
class RunResult:
    exit_code: int | None
    """None when the command did not finish (timed out, cancelled)."""
    duration: float
    timed_out: bool = False
    signal: str | None = None


def block_sink(on_line: OnLine) -> Deliver:
    """How a transport hands over a block of whole lines joined by newlines: to the sink's
    `text(stream, text)` when it has one, else line by line."""
    text: Deliver | None = getattr(on_line, "text", None)
    if text is not None:
        return text

    def lines(stream: Stream, block: str) -> None:
        for line in block.split("\n"):
            on_line(stream, line)

    return lines


@dataclass(frozen=True, slots=True)
class Command:
    """What `Transport.run` was asked to run (handed to `Transport._start`)."""

    text: str
    on_line: OnLine
    cwd: str | None
    env: dict[str, str] | None
    pty: bool
    on_spawn: OnSpawn | None
    begin: Callable[[], None] | None = None
    """For a transport with ``begins_late``: called after the command's process started (and
    `on_spawn`), before it gets the command; what it raises stops it, the command never run."""


class Job(ABC):
    """One started command of a transport."""

    @abstractmethod
    async def finish(self) -> None:
        """Wait until its output has ended and its exit status is known; raises what a consumer
        (`on_line`, `on_spawn`) raised."""

    @abstractmethod
    async def stop(self) -> None:
        """Stop the command's whole process group: SIGTERM, SIGKILL after `KILL_GRACE`."""

    @abstractmethod
    def result(self, duration: float) -> RunResult:
        """The outcome, after `finish` returned."""

    def stop_signal(self) -> str:
        """The signal reported for a command stopped on its timeout."""
        return "SIGTERM"

    async def release(self) -> None:  # noqa: B027 (a hook: most jobs have nothing to release)
        """Called last, however the run ended."""


class Transport(ABC):
    """Runs shell command strings on one host. Implementations stream lines via `on_line`."""

    name: str
    begins_late = False
    """Whether `_start` calls the command's `begin` itself (after its process started, before
    the command is handed to it); else `run` calls it before `_start`."""

    async def run(
        self,
        command: str,
        *,
        on_line: OnLine,
        cwd: str | None = None,
        env: dict[str, str] | None = None,
        timeout: float | None = None,
        pty: bool = False,
        on_spawn: OnSpawn | None = None,
        begin: Callable[[], None] | None = None,
    ) -> RunResult:
        """Run `command` with a POSIX sh, its text handed over on a pipe (never in any argv),
        stdin at /dev/null (a pty with `pty=True`), in a process group of its own that dies with
        annotui however annotui ends.

        `on_spawn(pgid)` is called once, as soon as the group is known (locally right after the
        start, remotely when the bootstrap's first line comes); what it raises stops the command
        (its group) and is raised here, as is what `on_line` raises. Cancelling the awaiting task
        stops the command's process group and re-raises `asyncio.CancelledError`.

        `begin()`, when given, is called before the command can begin, and what it raises is
        raised here with nothing run: before the start, or (`begins_late`) once the process is
        there but before it gets the command.
        """
        if begin is not None and not self.begins_late:
            begin()
        start = time.monotonic()
        job = await self._start(Command(command, on_line, cwd, env, pty, on_spawn, begin))
        try:
            await asyncio.wait_for(job.finish(), timeout)
        except TimeoutError:
            await job.stop()
            return RunResult(
                None, time.monotonic() - start, timed_out=True, signal=job.stop_signal()
            )
        except BaseException:
            await job.stop()
            raise
        finally:
            await job.release()
        return job.result(time.monotonic() - start)

    @abstractmethod
    async def _start(self, command: Command) -> Job:
        """Start `command` (raise `TransportError` when it cannot start)."""

    @abstractmethod
    async def group_alive(self, pgid: int, starttime: int | None, boot_id: str | None) -> bool:
        """Whether a process of the group `pgid` on this host is alive and the group is still
        the one whose leader had `starttime` on the boot `boot_id` (see `is_alive`)."""

    @abstractmethod
    async def close(self) -> None: ...


async def is_alive(
    transport: Transport, pid: int, starttime: int | None = None, boot_id: str | None = None
) -> bool:
    """Whether the command whose process-group id `on_spawn` reported is still running on the
    transport's host: some process of that group is alive (the command itself, or anything it
    started in its group). A group that exists but belongs to another user counts as alive.

    `starttime` and `boot_id` (of the `Group` that `on_spawn` got; None where unknown, as in an
    older log: then only the id is asked about) tell the command's group from a later one that
    reuses its id: another boot id means the host rebooted, and a process with the id `pid`
    that started at another time means the id was freed, so the command's whole group ended
    (Linux frees no id that a process group still uses). Either is dead.

    Raises `TransportError` when the host cannot be asked, ValueError for a pid below 2."""
    if pid < 2:
        raise ValueError(f"not a process group id: {pid}")
    return await transport.group_alive(pid, starttime, boot_id)
