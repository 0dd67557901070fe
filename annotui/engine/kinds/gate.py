"""The `gate` step: wait until a probe condition holds for `hold` consecutive polls.

Evaluated for real in rehearsal (a probe is read-only). Every poll emits a `GateEvaluated` event
(live display and audit). Cancelling the task aborts the wait: CancelledError propagates.
"""

from __future__ import annotations

import asyncio
import operator
import re
import time
from collections.abc import Callable, Mapping
from typing import Any

from annotui.engine.context import StepContext
from annotui.engine.kinds.base import Shown, Timed
from annotui.events import Event, GateEvaluated, StepFinished
from annotui.status.probes import run_probe

OPERATORS: dict[str, Callable[[int, int], bool]] = {
    "==": operator.eq,
    "!=": operator.ne,
    "<=": operator.le,
    ">=": operator.ge,
    "<": operator.lt,
    ">": operator.gt,
}
CONDITION = re.compile(r"^\s*(==|!=|<=|>=|<|>)\s*(-?\d+)\s*$")


def parse_condition(until: str) -> Callable[[int], bool]:
    """'<= 2' -> a predicate on the probe value."""
    m = CONDITION.match(until)
    if not m:
        raise ValueError(f"gate condition {until!r}: expected e.g. '== 0' or '<= 2'")
    op, bound = OPERATORS[m.group(1)], int(m.group(2))
    return lambda value: op(value, bound)


async def run_gate(ctx: StepContext) -> StepFinished:
    step = ctx.planned.step
    assert step.kind == "gate"
    key = ctx.planned.key
    timed = Timed(ctx, expectation=f"{step.probe} {step.until.strip()} for {step.hold} polls")
    finished = timed.finished
    probe = ctx.probes.get(step.probe)
    if probe is None:
        return finished("failed", f"unknown probe {step.probe!r}")
    holds = parse_condition(step.until)
    deadline = timed.start + step.timeout if step.timeout else None
    streak = 0
    last = "no reading yet"
    while True:
        result = await run_probe(step.probe, probe, ctx.transports)
        ok = result.value is not None and holds(result.value)
        streak = streak + 1 if ok else 0
        error = ctx.redact(result.error) if result.error else None
        ctx.emit(
            GateEvaluated(
                step_key=key,
                probe=step.probe,
                value=result.value,
                holds=ok,
                streak=streak,
                needed=step.hold,
                error=error,
            )
        )
        last = error or f"last value {result.value}"
        if streak >= step.hold:
            return finished(
                "ok",
                f"{step.probe} = {result.value} held {step.until.strip()} for {streak} polls",
            )
        now = time.monotonic()
        if deadline is not None and now + probe.every > deadline:
            return finished(
                "timeout",
                f"{step.probe} did not hold {step.until.strip()} for {step.hold} polls "
                f"within {step.timeout:g} s ({last})",
            )
        await asyncio.sleep(probe.every)


class GateKind:
    name = "gate"
    starts = True
    records: tuple[type[Event], ...] = (GateEvaluated,)

    def show(self, step: Any, scope: Mapping[str, str]) -> Shown:
        command = f"wait until {step.probe} {step.until.strip()} ({step.hold} polls in a row)"
        return Shown(command=command, instructions=step.instructions)

    async def run(self, ctx: StepContext) -> StepFinished:
        return await run_gate(ctx)

    rehearse = run
    """A probe is read-only: a gate waits for real in rehearsal too."""


KIND = GateKind()
