"""Typed Textual messages that carry the engine's events and questions into the UI thread."""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.message import Message

if TYPE_CHECKING:
    from annotui.events import Event
    from annotui.status.poller import Snapshot
    from screens.question import Question


class EngineEvent(Message):
    """One engine event (anything but output lines), in engine order."""

    def __init__(self, event: Event) -> None:
        super().__init__()
        self.event = event


class OutputReady(Message):
    """Output lines are waiting in the bridge; drain them with `EventBridge.drain(generation)`."""

    def __init__(self, generation: int) -> None:
        super().__init__()
        self.generation = generation


class OutputBatch(Message):
    """Output lines (and an ansible step's per-result events) taken from the bridge before the
    next event, so that order is kept."""

    def __init__(
        self, chunks: list[tuple[str, list[str]]], dropped: int, events: list[Event] | None = None
    ) -> None:
        super().__init__()
        self.chunks = chunks
        """(step_key, lines) in arrival order."""
        self.dropped = dropped
        """Lines not shown because the UI fell behind (they are in the audit log)."""
        self.events: list[Event] = events or []
        """`bridge.STREAMED` events, in engine order."""


class OperatorAsk(Message):
    """The engine asks the person something; answer with `question.answer(value)`."""

    def __init__(self, question: Question) -> None:
        super().__init__()
        self.question = question


class SessionDone(Message):
    """The engine thread finished: `exit_code` from `Session.run()`, or `error` if it crashed."""

    def __init__(self, exit_code: int, error: str | None = None) -> None:
        super().__init__()
        self.exit_code = exit_code
        self.error = error


class StatusUpdate(Message):
    """A new status snapshot from the poller (running on the engine loop)."""

    def __init__(self, snapshot: Snapshot) -> None:
        super().__init__()
        self.snapshot = snapshot
