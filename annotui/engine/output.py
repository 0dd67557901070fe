"""Collecting a step's output: redacted, chunked into StepOutput events, bounded in memory."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from annotui.engine.redact import Redactor
from annotui.events import Event, StepOutput
from annotui.transport.base import Stream

CHUNK_BYTES = 256 * 1024
KEEP_STDOUT = 1 << 20
"""Bytes of stdout kept for expectations (checks print little; a flood is cut, never stored)."""


class OutputCollector:
    """The output sink handed to transports: takes single lines (`__call__`) or blocks of whole
    lines (`text`, see `annotui.transport.base.OnLine`).

    Output becomes one StepOutput event per run of one stream, flushed whenever the producer
    pauses (the event loop goes idle) or 256 KiB have gathered: a slow command shows each line at
    once, a flood is written in big chunks. Only the first 1 MiB of stdout is kept, and only when
    an expectation needs it.
    """

    def __init__(
        self, step_key: str, emit: Callable[[Event], None], redact: Redactor, keep_stdout: bool
    ) -> None:
        self.step_key = step_key
        self._emit = emit
        self._redact = redact
        self._keep = keep_stdout
        self._stream: Stream = "stdout"
        self._pending: list[str] = []
        self._size = 0
        self._scheduled = False
        self._stdout: list[str] = []
        self._kept = 0
        self.truncated = False

    def __call__(self, stream: Stream, line: str) -> None:
        self.text(stream, line)

    def text(self, stream: Stream, text: str) -> None:
        if stream != self._stream:
            self.flush()
            self._stream = stream
        self._pending.append(text)
        self._size += len(text) + 1
        if self._keep and stream == "stdout":
            if self._kept < KEEP_STDOUT:
                self._stdout.append(text)
                self._kept += len(text) + 1
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
        if not self._pending:
            return
        text = "\n".join(self._pending)
        self._pending, self._size = [], 0
        self._emit(StepOutput(self.step_key, self._stream, self._redact(text)))

    @property
    def stdout(self) -> str:
        return "\n".join(self._stdout)
