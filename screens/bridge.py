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
"""Lines kept by the output `Log` widget."""

BATCH_LINES = 2000
"""Lines handed to the UI at once: a flood shows its latest lines and a count of the rest (all
of it is in the audit log) instead of keeping the UI busy with lines nobody can read."""


class EventBridge:
    """A Session sink. `post` must be thread-safe and non-blocking (`App.post_message`)."""

    def __init__(self, post: Callable[[Message], object], cap: int = BATCH_LINES) -> None:
        self._post = post
        self._lock = threading.Lock()
        self._lines: deque[tuple[str, str, str]] = deque(maxlen=cap)
        self._dropped = 0
        self._generation = 0
        self._pending = False

    def __call__(self, event: Event) -> None:
        if isinstance(event, StepOutput):
            room = self._lines.maxlen or 0
            # only the last `room` lines of a chunk can be shown: never split the whole flood
            lines = event.text.rsplit("\n", room)
            skipped = lines.pop(0).count("\n") + 1 if len(lines) > room else 0
            key, stream = event.step_key, event.stream
            with self._lock:
                overflow = len(self._lines) + len(lines) - room
                self._dropped += skipped + max(overflow, 0)
                self._lines.extend((key, stream, line) for line in lines)
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
