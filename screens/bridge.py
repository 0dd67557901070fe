"""The sink that forwards engine events (engine thread) to the UI thread without blocking.

Output lines are coalesced: the engine appends them to a bounded buffer and at most one
`OutputReady` message is in flight, so a step printing a million lines never floods the UI's
message queue and memory stays bounded (the full output goes to the audit log by the engine).
Any other event first flushes the buffered lines as an `OutputBatch`, so the UI sees output and
events in engine order.

An ansible step's per host x task events (`STREAMED`) ride with the output: they wait in the
bridge and reach the UI in the same batches, at most one a frame, instead of one message (and one
repaint of the grid, and one write of the output before it) per result; a 50-host play sends
thousands. Their order with the output lines around them is not kept (the grid and the output
are separate panes); with every other event it is.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable

from textual.message import Message

from annotui.events import AnsibleResult, AnsibleTask, Event, StepOutput
from screens.messages import EngineEvent, OutputBatch, OutputReady

DISPLAY_LINES = 5000
"""Lines kept by the output `Log` widget."""

BATCH_LINES = 2000
"""Lines handed to the UI at once: a flood shows its latest lines and a count of the rest (all
of it is in the audit log) instead of keeping the UI busy with lines nobody can read."""

STREAMED = (AnsibleTask, AnsibleResult)
"""Events batched with the output (all of them kept: the grid counts each)."""


class EventBridge:
    """A Session sink. `post` must be thread-safe and non-blocking (`App.post_message`)."""

    def __init__(self, post: Callable[[Message], object], cap: int = BATCH_LINES) -> None:
        self._post = post
        self._cap = cap
        self._lock = threading.Lock()
        self._chunks: deque[tuple[str, list[str]]] = deque()
        """(step_key, lines) as they came: one list per output event, not one object per line
        (a million lines of tuples kept the garbage collector busy while keys waited)."""
        self._events: list[Event] = []
        """`STREAMED` events waiting, in engine order."""
        self._count = 0
        self._dropped = 0
        self._generation = 0
        self._pending = False

    def __call__(self, event: Event) -> None:
        if isinstance(event, StepOutput):
            # only the last `cap` lines of a chunk can be shown: never split the whole flood
            lines = event.text.rsplit("\n", self._cap)
            skipped = lines.pop(0).count("\n") + 1 if len(lines) > self._cap else 0
            with self._lock:
                self._dropped += skipped
                self._chunks.append((event.step_key, lines))
                self._count += len(lines)
                self._keep_last_lines()
                generation = self._wake()
        elif isinstance(event, STREAMED):
            with self._lock:
                self._events.append(event)
                generation = self._wake()
        else:
            with self._lock:
                batch = self._take()
                self._generation += 1
            if batch.chunks or batch.dropped or batch.events:
                self._post(batch)
            self._post(EngineEvent(event))
            return
        if generation is not None:
            self._post(OutputReady(generation))

    def _wake(self) -> int | None:
        """The generation to post an `OutputReady` for, or None if one is in flight (locked)."""
        if self._pending:
            return None
        self._pending = True
        return self._generation

    def drain(self, generation: int) -> OutputBatch:
        """Take the buffered lines and events (UI thread); nothing if an event already flushed
        them."""
        with self._lock:
            if generation != self._generation:
                return OutputBatch([], 0)
            return self._take()

    def _keep_last_lines(self) -> None:
        """Drop the oldest lines beyond `cap` (counted as dropped): whole chunks, then a head."""
        while self._count > self._cap:
            key, lines = self._chunks[0]
            excess = self._count - self._cap
            if len(lines) <= excess:
                self._chunks.popleft()
                excess = len(lines)
            else:
                self._chunks[0] = (key, lines[excess:])
            self._count -= excess
            self._dropped += excess

    def _take(self) -> OutputBatch:
        batch = OutputBatch(list(self._chunks), self._dropped, self._events)
        self._chunks.clear()
        self._events = []
        self._count = 0
        self._dropped = 0
        self._pending = False
        return batch
