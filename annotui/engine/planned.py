"""The concrete, rendered steps and stages of one run (what the plan makes of a checklist)."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from annotui.checklist.models import Expect, Step


@dataclass(frozen=True, slots=True)
class PlannedStep:
    key: str
    """'<stage_key>/<step id>', unique in the run."""
    stage_key: str
    step: Step
    title: str
    host: str | None
    """Checklist host id for command/check steps; 'supervisor:<id>' for supervisor steps."""
    cwd: str | None
    """Rendered directory (the transport quotes it as one word)."""
    command: str | None
    """The exact rendered shell command (values shell-quoted), or a description of the action."""
    instructions: str
    confirm_word: str | None
    """Word to type before it runs; None unless confirm = 'typed'."""
    mutating: bool
    simulated: bool
    """Rehearsal simulates it (mutating)."""
    values: Mapping[str, str] = field(repr=False)
    """Var values in scope (including the stage's for_each value)."""
    expect: Expect | None = None
    """The step's expectations with templates rendered (regex-escaped in stdout_matches)."""
    user: str | None = None
    """Runs as this user through `sudo -n` (the step's `user`, else its host's)."""
    login: bool = False
    shell: str | None = None
    """The shell that runs the command (the step's, its host's or the checklist's; None: sh)."""
    when: str | None = None
    """The step's condition (`annotui.checklist.condition`), None: always."""
    loop: str | None = None
    """The value of the step's own for_each this copy runs for (its key ends in [value])."""
    text: str | None = None
    """What the step posts, rendered (an announce step's message; `Shown.text`)."""
    description: str = ""
    """The step's description, rendered."""
    rollback: bool = False
    """Its stage has `[[stages.rollback]]` steps the operator may choose after a failure."""

    @property
    def kind(self) -> str:
        return self.step.kind

    @property
    def critical(self) -> bool:
        return self.step.critical


def replace(step: PlannedStep, **changes: object) -> PlannedStep:
    """A copy of a planned step with some fields changed."""
    return dataclasses.replace(step, **changes)  # type: ignore[arg-type]


@dataclass(frozen=True, slots=True)
class PlannedStage:
    key: str
    title: str
    description: str
    steps: list[PlannedStep]
    values: Mapping[str, str] = field(repr=False)
    when: str | None = None
    """The stage's condition: when false, each of its steps is skipped by condition."""
    rollback: list[PlannedStep] = field(default_factory=list)
    """Its `[[stages.rollback]]` steps, keyed '<stage key>/rollback/<id>'."""
