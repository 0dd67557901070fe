"""The `check` step: a read-only shell command whose result is judged (exit code, expect).

It runs like a command (:mod:`annotui.engine.kinds.command`) and for real in rehearsal too: it
changes nothing, so the plan never simulates it. With `retries = N` a check that does not hold
is run again, up to N more times, `delay` seconds apart (every attempt's output and result are
recorded: `step.output` and one `step.attempt` per attempt that did not hold); in a rehearsal,
after a change it only simulated, once.
"""

from __future__ import annotations

import asyncio

from annotui.engine.context import StepContext
from annotui.engine.kinds.command import ShellKind, run_shell_step
from annotui.events import Event, StepAttempt, StepFinished, StepOutput

RETRIED = ("failed", "timeout")
"""Outcomes after which a check with retries left runs again."""


class CheckKind(ShellKind):
    records: tuple[type[Event], ...] = (StepOutput, StepAttempt)

    async def run(self, ctx: StepContext) -> StepFinished:
        step = ctx.planned.step
        attempts = ctx.attempts(int(getattr(step, "retries", 0)))
        delay = float(getattr(step, "delay", 0.0))
        attempt = 1
        while True:
            result = await run_shell_step(ctx)
            if result.outcome not in RETRIED or attempt == attempts:
                return _noted(result, attempt, attempts)
            why = result.expectation or result.message or result.outcome
            key = ctx.planned.key
            ctx.emit(StepAttempt(key, attempt, attempts, result.outcome, why, delay))
            await asyncio.sleep(delay)
            attempt += 1


def _noted(result: StepFinished, attempt: int, attempts: int) -> StepFinished:
    """The last attempt's result, saying how many it took (for a check with retries)."""
    if attempts == 1:
        return result
    held = result.outcome not in RETRIED
    note = (
        f"held on attempt {attempt} of {attempts}"
        if held
        else f"did not hold in {attempts} attempts"
    )
    return result.replace(message=f"{result.message}; {note}" if result.message else note)


KIND = CheckKind("check")
