"""What the engine asks of the person at the keyboard. Plain mode, the TUI and tests implement it.

Every method may be awaited for a long time (a person is thinking). Returning a `quit` decision
stops the run cleanly (exit 3; resumable).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal, Protocol

if TYPE_CHECKING:
    from annotui.checklist.models import Var
    from annotui.engine.planned import PlannedStep
    from annotui.events import StepFinished


@dataclass(frozen=True, slots=True)
class Decision:
    action: Literal["run", "skip", "quit", "rerun", "done", "retry", "rollback"]
    word: str | None = None
    """The typed confirmation word, when the step asks for one."""
    text: str | None = None
    """Skip reason (skip) or evidence (done)."""
    source: str | None = None
    """Where the answer came from when no person gave it now ("answers file")."""


QUIT = Decision("quit")


class Operator(Protocol):
    name: str
    """Who answers (the OS user); recorded with every confirmation."""

    async def ask_var(self, name: str, var: Var, error: str | None) -> str | None:
        """A value for a var without one (None: quit); `error` says why the last was refused."""

    async def confirm(self, step: PlannedStep, error: str | None) -> Decision:
        """run (with word when step.confirm_word), skip (with text = reason) or quit."""

    async def evidence(self, step: PlannedStep, prompt: str, error: str | None) -> str | None:
        """Evidence text for a manual step (None: quit)."""

    async def resolve_unknown(self, step: PlannedStep, reason: str) -> Decision:
        """A step whose outcome is unknown (resume): rerun, done (text = evidence) or quit."""

    async def after_failure(self, step: PlannedStep, result: StepFinished) -> Decision:
        """A step failed: retry, skip (text = reason; never for critical) or quit."""

    async def takeover_lock(self, holder: str, word: str) -> bool:
        """The target lock is held (holder info); True only if the operator typed `word`."""
