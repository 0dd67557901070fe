"""The sink that forwards engine events (engine thread) to the UI thread without blocking.

Output lines are coalesced: the engine appends them to a bounded buffer and at most one
`OutputReady` message is in flight, so a step printing a million lines never floods the UI's
message queue and memory stays bounded (the full output goes to the audit log by the engine).
Any other event first flushes the buffered lines as an `OutputBatch`, so the UI sees output and
events in engine order.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable

from textual.message import Message

from annotui.engine.events import Event, StepOutput
from screens.messages import EngineEvent, OutputBatch, OutputReady

DISPLAY_LINES = 5000
"""Lines kept for display; also the cap of the output `Log` widget."""


class EventBridge:
    """A Session sink. `post` must be thread-safe and non-blocking (`App.post_message`)."""

    def __init__(self, post: Callable[[Message], object], cap: int = DISPLAY_LINES) -> None:
        self._post = post
        self._lock = threading.Lock()
        self._lines: deque[tuple[str, str, str]] = deque(maxlen=cap)
        self._dropped = 0
        self._generation = 0
        self._pending = False

    def __call__(self, event: Event) -> None:
        if isinstance(event, StepOutput):
            with self._lock:
                room = self._lines.maxlen or 0
                overflow = len(self._lines) + len(event.lines) - room
                if overflow > 0:
                    self._dropped += overflow
                self._lines.extend((event.step_key, event.stream, line) for line in event.lines)
                if self._pending:
                    return
                self._pending = True
                generation = self._generation
            self._post(OutputReady(generation))
            return
        with self._lock:
            lines, dropped = self._take()
            self._generation += 1
        if lines or dropped:
            self._post(OutputBatch(lines, dropped))
        self._post(EngineEvent(event))

    def drain(self, generation: int) -> OutputBatch:
        """Take the buffered lines (UI thread); nothing if an event already flushed them."""
        with self._lock:
            if generation != self._generation:
                return OutputBatch([], 0)
            lines, dropped = self._take()
        return OutputBatch(lines, dropped)

    def _take(self) -> tuple[list[tuple[str, str, str]], int]:
        lines, dropped = list(self._lines), self._dropped
        self._lines.clear()
        self._dropped = 0
        self._pending = False
        return lines, dropped
