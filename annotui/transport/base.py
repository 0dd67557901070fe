"""The transport interface: where a command runs (local, ssh, ...)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal, Protocol

Stream = Literal["stdout", "stderr"]
OnLine = Callable[[Stream, str], None]
"""Called for every output line as it arrives (without the trailing newline).

A sink may also have `text(stream, text)`: transports then hand over whole blocks of complete
lines joined by newlines (no trailing newline), one call per block read, so a flood of output
costs one call per 64 KiB or more rather than one per line."""


class TransportError(Exception):
    """The command could not be started: unreachable host, auth failure, ... (says what/where)."""


class HostKeyError(TransportError):
    """The host key is unknown or changed: nothing ran and known_hosts is untouched."""


class ConnectionLost(TransportError):
    """The link dropped while a command ran: its outcome is unknown."""


@dataclass(frozen=True, slots=True)
class RunResult:
    exit_code: int | None
    """None when the command did not finish (timed out, cancelled)."""
    duration: float
    timed_out: bool = False
    signal: str | None = None


class Transport(Protocol):
    """Runs shell command strings on one host. Implementations stream lines via `on_line`.

    Cancelling the awaiting task stops the command (process group / channel) and re-raises
    `asyncio.CancelledError`.
    """

    name: str

    async def run(
        self,
        command: str,
        *,
        on_line: OnLine,
        cwd: str | None = None,
        env: dict[str, str] | None = None,
        timeout: float | None = None,
        pty: bool = False,
    ) -> RunResult: ...

    async def close(self) -> None: ...
