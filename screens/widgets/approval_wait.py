"""The live display of an `approval` step while the run waits (the two-person rule): who is
asked, how many of `min` have approved and who, the approvals refused and why, the time left,
and the exact `annotui audit approve ...` command another person runs. Built from the engine's
events only (``approval.wait``, ``approval.granted``, ``approval.refused``, ``step.finished``);
the walk re-renders it every second for the time left."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from rich.markup import escape

from annotui import events as ev


def _left(seconds: float) -> str:
    whole = max(0, int(seconds + 0.999))
    minutes, secs = divmod(whole, 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


@dataclass(slots=True)
class ApprovalWait:
    """One approval step's wait, as the cockpit saw it."""

    step_key: str
    approvers: list[str]
    needed: int
    how: str = ""
    timeout: float | None = None
    since: float = field(default_factory=time.monotonic)
    """When the cockpit got ``approval.wait`` (the time left counts from there)."""
    granted: list[ev.ApprovalGranted] = field(default_factory=list)
    refused: list[ev.ApprovalRefused] = field(default_factory=list)
    ended: str | None = None
    """The step's outcome once it finished (ok, timeout, cancelled, would-run...)."""

    @classmethod
    def from_event(cls, event: ev.ApprovalWaiting) -> ApprovalWait:
        return cls(event.step_key, list(event.approvers), event.needed, event.how, event.timeout)

    @classmethod
    def rehearsed(cls, step_key: str, approvers: list[str], needed: int) -> ApprovalWait:
        return cls(step_key, approvers, needed, ended="would-run")

    @property
    def waiting(self) -> bool:
        return self.ended is None

    def take(self, event: ev.Event) -> None:
        if isinstance(event, ev.ApprovalGranted):
            self.granted.append(event)
        elif isinstance(event, ev.ApprovalRefused):
            self.refused.append(event)
        elif isinstance(event, ev.StepFinished):
            self.ended = event.outcome

    def markup(self, now: float | None = None) -> str:
        """The display as Rich markup (every value from the run escaped)."""
        who = escape(", ".join(self.approvers))
        if self.ended == "would-run":
            return (
                f"[b #87afff]REHEARSAL[/]: would wait here for {self.needed} approval(s) by "
                f"{who}; a live run waits until they approve (nothing blocks in rehearsal)"
            )
        got = f"{len(self.granted)} of {self.needed} approved"
        if self.ended is None:
            head = f"[b reverse #ffd75f] WAITING FOR APPROVAL [/] {got}"
            if self.timeout is not None:
                spent = (time.monotonic() if now is None else now) - self.since
                head += f" · {_left(self.timeout - spent)} left"
            else:
                head += " · no time limit"
        elif self.ended == "ok":
            head = f"[b green]APPROVED[/] {got}"
        else:
            head = f"[b red]NOT APPROVED ({escape(self.ended)})[/] {got}"
        lines = [head, f"asked: {who}"]
        for g in self.granted:
            note = f": {escape(g.note)}" if g.note else ""
            lines.append(f"[green]✓[/] {escape(g.principal)} ({escape(g.key)}){note}")
        for r in self.refused:
            lines.append(f"[red]✗ refused[/] {escape(r.key)}: {escape(r.reason)}")
        if self.ended is None and self.how:
            lines.append("another person approves from a terminal on this host with:")
            lines.append(f"[b]{escape(self.how)}[/b]")
        return "\n".join(lines)
