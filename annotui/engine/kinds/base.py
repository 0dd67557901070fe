"""The one interface every step kind implements."""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from annotui.events import StepFinished

if TYPE_CHECKING:
    from annotui.engine.context import StepContext
    from annotui.events import Event


@dataclass(frozen=True, slots=True)
class Shown:
    """What a step shows before it is confirmed (rendered with the run's values)."""

    host: str | None = None
    """Checklist host id, or ``supervisor:<id>``; None where nothing runs on a host."""
    cwd: str | None = None
    command: str | None = None
    """The exact rendered command (values shell-quoted), or a description of the action."""
    instructions: str = ""
    text: str | None = None
    """What the step posts (an announce step's message), rendered like its instructions."""
    default_word: str = "local"
    """The word to type for ``confirm = "typed"`` when the checklist names none and the stage
    binds nothing (the stage's bound value or the environment come first)."""


class StepKind(Protocol):
    name: str
    starts: bool
    """True when the step runs as a started, cancellable task (``step.started`` ... ``finished``);
    False for steps that only talk to the operator (manual, announce)."""
    records: tuple[type[Event], ...]
    """The records this kind writes besides the ``step.*`` ones every step writes."""

    def show(self, step: Any, scope: Mapping[str, str]) -> Shown:
        """What the operator sees before confirming (``step`` is the kind's checklist table)."""
        ...

    async def run(self, ctx: StepContext) -> StepFinished:
        """Run the step for real."""
        ...

    async def rehearse(self, ctx: StepContext) -> StepFinished:
        """Run the step in rehearsal, where the plan simulates it (it changes the target)."""
        ...


@dataclass(frozen=True, slots=True)
class Timed:
    """The end of a step that times itself from its start (the kinds that wait: gate,
    supervisor)."""

    ctx: StepContext
    expectation: str | None = None
    start: float = field(default_factory=time.monotonic)

    def finished(self, outcome: str, message: str) -> StepFinished:
        """The step's StepFinished: the time since `start`, the message redacted."""
        return StepFinished(
            step_key=self.ctx.planned.key,
            outcome=outcome,  # type: ignore[arg-type]
            duration=time.monotonic() - self.start,
            expectation=self.expectation,
            message=self.ctx.redact(message),
        )
