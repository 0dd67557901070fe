"""Local transport: an asyncio subprocess in its own process group, streamed line by line."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import time

from annotui.transport.base import OnLine, RunResult, Stream, TransportError

KILL_GRACE = 3.0
"""Seconds between SIGTERM and SIGKILL when a command is stopped."""


MAX_LINE = 1 << 20
"""A line longer than this is delivered in pieces rather than held whole."""


async def _pump(reader: asyncio.StreamReader, stream: Stream, on_line: OnLine) -> None:
    """Read big blocks and hand over every complete line (see `OnLine` for `text` sinks)."""
    text_sink = getattr(on_line, "text", None)

    def deliver(text: str) -> None:
        if text_sink is not None:
            text_sink(stream, text)
        else:
            for line in text.split("\n"):
                on_line(stream, line)

    buf = b""
    while True:
        block = await reader.read(1 << 16)
        if not block:
            if buf:
                deliver(buf.decode("utf-8", "replace"))
            return
        buf += block
        end = buf.rfind(b"\n")
        if end < 0:
            if len(buf) >= MAX_LINE:
                deliver(buf.decode("utf-8", "replace"))
                buf = b""
            continue
        text, buf = buf[:end].decode("utf-8", "replace"), buf[end + 1 :]
        deliver(text)


def _signal_group(pid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, sig)


class LocalTransport:
    """Runs commands with /bin/sh on this machine."""

    name = "local"

    def __init__(self, name: str = "local") -> None:
        self.name = name

    async def run(
        self,
        command: str,
        *,
        on_line: OnLine,
        cwd: str | None = None,
        env: dict[str, str] | None = None,
        timeout: float | None = None,
        pty: bool = False,
    ) -> RunResult:
        start = time.monotonic()
        full_env = {**os.environ, **env} if env else None
        try:
            proc = await asyncio.create_subprocess_exec(
                "/bin/sh",
                "-c",
                command,
                cwd=cwd,
                env=full_env,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
                start_new_session=True,
            )
        except (FileNotFoundError, NotADirectoryError, PermissionError) as e:
            raise TransportError(f"local: cannot start command in {cwd or os.getcwd()}: {e}") from e
        assert proc.stdout is not None and proc.stderr is not None
        pumps = asyncio.gather(
            _pump(proc.stdout, "stdout", on_line), _pump(proc.stderr, "stderr", on_line)
        )
        try:
            await asyncio.wait_for(asyncio.shield(pumps), timeout)
            code = await proc.wait()
        except TimeoutError:
            await self._stop(proc)
            await asyncio.gather(pumps, return_exceptions=True)
            return RunResult(None, time.monotonic() - start, timed_out=True, signal="SIGTERM")
        except asyncio.CancelledError:
            await self._stop(proc)
            with contextlib.suppress(BaseException):
                await pumps
            raise
        sig = signal.Signals(-code).name if code < 0 else None
        return RunResult(code, time.monotonic() - start, signal=sig)

    @staticmethod
    async def _stop(proc: asyncio.subprocess.Process) -> None:
        """SIGTERM the process group, then SIGKILL after a grace period."""
        _signal_group(proc.pid, signal.SIGTERM)
        try:
            await asyncio.wait_for(proc.wait(), KILL_GRACE)
        except TimeoutError:
            _signal_group(proc.pid, signal.SIGKILL)
            await proc.wait()
        _signal_group(proc.pid, signal.SIGKILL)  # stragglers that ignored SIGTERM

    async def close(self) -> None:
        return None
