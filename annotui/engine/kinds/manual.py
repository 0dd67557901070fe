"""The `manual` step: the operator does something by hand and confirms it, with evidence when
the checklist asks for it (a URL, a ticket, what they saw)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, cast

from annotui.checklist.template import render
from annotui.engine.context import StepContext
from annotui.engine.errors import StopRun
from annotui.engine.kinds.base import Shown
from annotui.events import Event, EvidenceRecorded, StepFinished

if TYPE_CHECKING:
    from annotui.checklist.models import ManualStep


class ManualKind:
    name = "manual"
    starts = False
    records: tuple[type[Event], ...] = (EvidenceRecorded,)

    def show(self, step: Any, scope: Mapping[str, str]) -> Shown:
        return Shown(instructions=step.instructions or step.description)

    async def run(self, ctx: StepContext) -> StepFinished:
        planned = ctx.planned
        label = cast("ManualStep", planned.step).evidence
        prompt = render(label, planned.values, shell=False) if label else None
        if prompt:
            text = await self._evidence(ctx, prompt)
            ctx.emit(EvidenceRecorded(planned.key, prompt, ctx.redact(text), ctx.operator.name))
        return StepFinished(planned.key, "ok", message="confirmed done by the operator")

    rehearse = run

    @staticmethod
    async def _evidence(ctx: StepContext, prompt: str) -> str:
        if ctx.yes and ctx.rehearse:
            return "(rehearsal: answered by --yes)"
        error = None
        while True:
            text = await ctx.operator.evidence(ctx.planned, prompt, error)
            if text is None:
                raise StopRun("stopped while asking for evidence")
            if text.strip():
                return text.strip()
            error = "evidence is required for this step"


KIND = ManualKind()
