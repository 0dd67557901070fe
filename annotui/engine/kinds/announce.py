"""The `announce` step: a message for the users, recorded verbatim (rendered, redacted)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from annotui.engine.context import StepContext
from annotui.engine.kinds.base import Shown
from annotui.events import Announcement, Event, StepFinished


class AnnounceKind:
    name = "announce"
    starts = False
    records: tuple[type[Event], ...] = (Announcement,)

    def show(self, step: Any, scope: Mapping[str, str]) -> Shown:
        return Shown(instructions=step.instructions, text=step.text)

    async def run(self, ctx: StepContext) -> StepFinished:
        planned = ctx.planned
        ctx.emit(Announcement(planned.key, ctx.redact(planned.text or "")))
        return StepFinished(planned.key, "ok")

    rehearse = run


KIND = AnnounceKind()
