"""Collecting a step's output: redacted, chunked into StepOutput events, bounded in memory."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from annotui.engine.events import Event, StepOutput
from annotui.transport.base import Stream

CHUNK_BYTES = 64 * 1024
KEEP_STDOUT = 1 << 20
"""Bytes of stdout kept for expectations (checks print little; a flood is cut, never stored)."""


class OutputCollector:
    """`on_line` for transports. Lines are flushed as one event per stream run whenever the
    producer pauses (the event loop gets idle) or 64 KiB have gathered, so a slow command shows
    each line at once and a flood is written in big chunks."""

    def __init__(self, step_key: str, emit: Callable[[Event], None], redact: Callable[[str], str]):
        self.step_key = step_key
        self._emit = emit
        self._redact = redact
        self._pending: list[tuple[Stream, str]] = []
        self._size = 0
        self._scheduled = False
        self._stdout: list[str] = []
        self._kept = 0
        self.truncated = False
        self.lines = 0

    def on_line(self, stream: Stream, line: str) -> None:
        line = self._redact(line)
        self.lines += 1
        self._pending.append((stream, line))
        self._size += len(line) + 1
        if stream == "stdout":
            if self._kept < KEEP_STDOUT:
                self._stdout.append(line)
                self._kept += len(line) + 1
            else:
                self.truncated = True
        if self._size >= CHUNK_BYTES:
            self.flush()
        elif not self._scheduled:
            self._scheduled = True
            asyncio.get_running_loop().call_soon(self._idle_flush)

    def _idle_flush(self) -> None:
        self._scheduled = False
        self.flush()

    def flush(self) -> None:
        pending, self._pending, self._size = self._pending, [], 0
        start = 0
        for i in range(1, len(pending) + 1):
            if i == len(pending) or pending[i][0] != pending[start][0]:
                lines = [line for _, line in pending[start:i]]
                self._emit(StepOutput(self.step_key, pending[start][0], lines))
                start = i

    @property
    def stdout(self) -> str:
        return "\n".join(self._stdout)
