"""The `supervisor` step: stop, start or restart a process or `group:*`, then verify.

The states before and after are emitted as `SupervisorState` events (audit log). The final state
is read back and verified: RUNNING after start/restart, STOPPED/EXITED after stop. In rehearsal
the state is read for real and the action is only described (outcome `would-run`).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from annotui.checklist.template import render
from annotui.engine.context import StepContext
from annotui.engine.kinds.base import Shown, Timed
from annotui.events import Event, StepFinished, StepOutput, SupervisorState
from annotui.status.supervisor import (
    RUNNING_STATES,
    STOPPED_STATES,
    ProcessInfo,
    SupervisorClient,
    SupervisorError,
    group_failures,
    matches,
)

if TYPE_CHECKING:
    from annotui.checklist.models import SupervisorStep

SETTLE = 0.25
"""Seconds between reads while waiting for a transitional state (STARTING, STOPPING) to settle."""


def _states(infos: list[ProcessInfo]) -> dict[str, str]:
    return {i.full_name: i.state for i in infos}


def _summary(states: dict[str, str]) -> str:
    return ", ".join(f"{n} {s}" for n, s in states.items())


async def _read(client: SupervisorClient, process: str) -> list[ProcessInfo]:
    return [i for i in await client.get_all_process_info() if matches(process, i)]


async def run_supervisor(ctx: StepContext) -> StepFinished:
    step = ctx.planned.step
    assert step.kind == "supervisor"
    key = ctx.planned.key
    process = render(step.process, ctx.planned.values, shell=False)
    finished = Timed(ctx).finished

    def say(line: str) -> None:
        ctx.emit(StepOutput(step_key=key, stream="stdout", text=ctx.redact(line)))

    try:
        client = ctx.supervisors.get(step.supervisor)
    except KeyError:
        return finished("failed", f"unknown supervisor {step.supervisor!r}")
    try:
        return await _run(ctx, step, client, process, finished, say)
    except SupervisorError as e:
        return finished("failed", e.message)


async def _run(
    ctx: StepContext,
    step: SupervisorStep,
    client: SupervisorClient,
    process: str,
    finished: Callable[[str, str], StepFinished],
    say: Callable[[str], None],
) -> StepFinished:
    key = ctx.planned.key
    before = await _read(client, process)
    if not before:
        known = ", ".join(i.full_name for i in await client.get_all_process_info()) or "none"
        return finished(
            "failed",
            f"supervisor {step.supervisor}: no process {process!r} (BAD_NAME); known: {known}",
        )
    states = _states(before)
    ctx.emit(SupervisorState(key, step.supervisor, "before", states))
    say(f"before: {_summary(states)}")
    if step.action == "signal":
        return await _signal(ctx, step, client, process, before, finished, say)
    target = STOPPED_STATES if step.action == "stop" else RUNNING_STATES
    if ctx.rehearse:
        already = all(s in target for s in states.values()) and step.action != "restart"
        what = "nothing to do, already in the target state" if already else "would " + step.action
        return finished("would-run", f"{step.action} {process}: {what} (now: {_summary(states)})")
    if step.action != "restart" and all(s in target for s in states.values()):
        ctx.emit(SupervisorState(key, step.supervisor, "after", states))
        word = "stopped" if step.action == "stop" else "running"
        return finished("ok", f"{process} already {word}: {_summary(states)}")

    problems: list[str] = []
    if step.action in ("stop", "restart"):
        say(f"stopping {process} ...")
        problems += await _act(client, "stop", process, step.timeout)
    if step.action in ("start", "restart"):
        say(f"starting {process} ...")
        problems += await _act(client, "start", process, step.timeout)

    after = await _settle(client, process, target, deadline=time.monotonic() + step.timeout)
    states_after = _states(after)
    ctx.emit(SupervisorState(key, step.supervisor, "after", states_after))
    say(f"after: {_summary(states_after)}")
    wrong = {n: s for n, s in states_after.items() if s not in target}
    if wrong or not states_after:
        want = "/".join(sorted(target - {"FATAL"}))
        detail = _summary(wrong) if wrong else "no process left"
        extra = f"; {'; '.join(problems)}" if problems else ""
        return finished("failed", f"{step.action} {process}: expected {want}, got {detail}{extra}")
    return finished("ok", f"{step.action} {process}: {_summary(states_after)}")


async def _signal(
    ctx: StepContext,
    step: SupervisorStep,
    client: SupervisorClient,
    process: str,
    before: list[ProcessInfo],
    finished: Callable[[str, str], StepFinished],
    say: Callable[[str], None],
) -> StepFinished:
    """`action = "signal"`: send `signal` to running processes that must keep running (the same
    pid afterwards: a graceful reload, not a restart)."""
    sig = str(step.signal)
    what = f"signal {sig} {process}"
    stopped = {i.full_name: i.state for i in before if i.state not in RUNNING_STATES}
    if stopped:
        return finished("failed", f"{what}: not running: {_summary(stopped)}")
    if ctx.rehearse:
        return finished("would-run", f"{what}: would send it (now: {_summary(_states(before))})")
    say(f"sending {sig} to {process} ...")
    problems = group_failures(await client.signal_process(process, sig))
    await asyncio.sleep(SETTLE)
    after = await _read(client, process)
    states_after = _states(after)
    ctx.emit(SupervisorState(ctx.planned.key, step.supervisor, "after", states_after))
    say(f"after: {_summary(states_after)}")
    pids = {i.full_name: i.pid for i in before}
    changed = [
        i.full_name
        for i in after
        if i.state not in RUNNING_STATES or i.pid != pids.get(i.full_name)
    ]
    if problems or changed or not after:
        detail = (
            "; ".join(problems)
            or f"not running with the same pid: {', '.join(changed) or 'none left'}"
        )
        return finished("failed", f"{what}: {detail} (now: {_summary(states_after)})")
    return finished("ok", f"{what}: sent; still running: {_summary(states_after)}")


async def _act(client: SupervisorClient, verb: str, process: str, timeout: float) -> list[str]:
    """Run one action; faults that mean 'already there' are fine, others are reported."""
    fine = "NOT_RUNNING" if verb == "stop" else "ALREADY_STARTED"
    call = client.stop_process if verb == "stop" else client.start_process
    try:
        results = await call(process, wait=True, timeout=timeout)
    except SupervisorError as e:
        if e.fault == fine:
            return []
        if e.kind != "fault":
            raise
        return [e.message]
    return [f for f in group_failures(results) if fine not in f]


async def _settle(
    client: SupervisorClient, process: str, target: frozenset[str], deadline: float
) -> list[ProcessInfo]:
    """Read the states until every process is in the target or a final state (or time is up)."""
    transitional = {"STARTING", "STOPPING", "BACKOFF"}
    while True:
        infos = await _read(client, process)
        pending = [i for i in infos if i.state not in target and i.state in transitional]
        if not pending or time.monotonic() >= deadline:
            return infos
        await asyncio.sleep(SETTLE)


class SupervisorKind:
    name = "supervisor"
    starts = True
    records: tuple[type[Event], ...] = (SupervisorState, StepOutput)

    def show(self, step: Any, scope: Mapping[str, str]) -> Shown:
        action = f"signal {step.signal}" if step.action == "signal" else step.action
        return Shown(
            host=f"supervisor:{step.supervisor}",
            command=f"{action} {render(step.process, scope, shell=False)}",
            instructions=step.instructions,
            default_word=step.supervisor,
        )

    async def run(self, ctx: StepContext) -> StepFinished:
        return await run_supervisor(ctx)

    rehearse = run
    """`run_supervisor` reads the states for real in rehearsal and only says what it would do."""


KIND = SupervisorKind()
