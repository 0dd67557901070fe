"""The `command` step: a shell command on a host, through the host's transport.

Shared with `check` (:mod:`annotui.engine.kinds.check`), which runs the same way but never
changes anything. In rehearsal a command that changes the target is only described.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from annotui.checklist.template import render
from annotui.engine.context import StepContext
from annotui.engine.expect import evaluate
from annotui.engine.kinds.base import Shown
from annotui.engine.output import OutputCollector
from annotui.engine.plan import capture_name
from annotui.engine.redact import MASK
from annotui.engine.runas import SUDO_REFUSED, described, refused_message, wrap
from annotui.events import Event, StepFinished, StepOutput, StepSpawned, ValueCaptured
from annotui.transport.base import ConnectionLost, Group

if TYPE_CHECKING:
    from annotui.checklist.models import Capture


class ShellKind:
    """A command string run by the step's host (the `command` and `check` kinds)."""

    starts = True
    begins = True
    """Calls ctx.begin through its transport (see `StepContext.begin`)."""
    records: tuple[type[Event], ...] = (StepOutput,)

    def __init__(self, name: str) -> None:
        self.name = name

    def show(self, step: Any, scope: Mapping[str, str]) -> Shown:
        return Shown(
            host=step.host,
            cwd=render(step.cwd, scope, shell=False) if step.cwd else None,
            command=render(step.run, scope, shell=True),
            instructions=step.instructions,
            default_word=step.host,
        )

    async def run(self, ctx: StepContext) -> StepFinished:
        return await run_shell_step(ctx)

    async def rehearse(self, ctx: StepContext) -> StepFinished:
        planned = ctx.planned
        where = f"{planned.host}" + (f" in {planned.cwd}" if planned.cwd else "")
        who = described(planned.user, planned.login, planned.shell)
        where += f" {who}" if who else ""
        return StepFinished(
            planned.key, "would-run", message=ctx.redact(f"would run on {where}: {planned.command}")
        )


KIND = ShellKind("command")


def _capture(ctx: StepContext, capture: str | Capture, stdout: str) -> str | None:
    """Keep the step's output as a value (ctx.captured); why it cannot be kept, or None."""
    planned = ctx.planned
    name = capture_name(capture)
    if isinstance(capture, str):
        value = stdout.strip()
    else:
        found = re.search(capture.regex, stdout, re.MULTILINE)
        if found is None or found.group(1) is None:
            return f"capture {name}: {capture.regex!r} does not match the output"
        value = found.group(1)
    secret = bool(getattr(planned.step, "secret", False))
    if secret:
        ctx.redact.add(value)
    ctx.captured[name] = value
    shown = MASK if secret else ctx.redact(value)
    ctx.emit(ValueCaptured(planned.key, name, shown, secret))
    return None


async def run_shell_step(ctx: StepContext) -> StepFinished:
    planned = ctx.planned
    step = planned.step
    assert step.kind in ("command", "check") and planned.command is not None
    key = planned.key
    capture = step.capture
    keep = planned.expect is not None or capture is not None
    emit = ctx.emit
    if getattr(step, "secret", False):  # the value is not known before the end: no stdout shown

        def emit(event: Event) -> None:
            if getattr(event, "stream", None) != "stdout":
                ctx.emit(event)

    out = OutputCollector(key, emit, ctx.redact, keep_stdout=keep)
    host_id = planned.host or "local"

    def spawned(group: Group) -> None:  # recorded: a resume asks whether it still runs
        ctx.emit(StepSpawned(key, host_id, int(group), group.starttime, group.boot_id))

    host = planned.host or "local"
    transport = ctx.transports.get(host)
    pty = getattr(step, "pty", False)
    text, cwd = wrap(
        planned.command,
        cwd=planned.cwd,
        user=planned.user,
        login=planned.login,
        shell=planned.shell,
        host=host,
        pty=pty,
    )
    try:
        result = await transport.run(
            text,
            on_line=out,
            cwd=cwd,
            timeout=step.timeout,
            pty=pty,
            on_spawn=spawned,
            begin=ctx.begin,
        )
    except ConnectionLost as e:
        out.flush()
        return StepFinished(key, "unknown", message=ctx.redact(f"outcome unknown: {e}"))
    except BaseException:
        out.flush()
        raise
    out.flush()
    if result.timed_out:
        return StepFinished(
            key, "timeout", None, result.duration, message=f"timed out after {step.timeout:g} s"
        )
    if planned.user is not None and result.exit_code == SUDO_REFUSED:
        refused = refused_message(planned.user, host)
        return StepFinished(key, "failed", result.exit_code, result.duration, message=refused)
    if capture is not None and result.exit_code == 0:
        problem = _capture(ctx, capture, out.stdout)
        if problem:
            return StepFinished(key, "failed", result.exit_code, result.duration, message=problem)
    expect = planned.expect
    if expect is None:
        ok = result.exit_code == 0
        message = None if ok else f"exit code {result.exit_code}"
        if result.signal:
            message = f"killed by {result.signal}"
        return StepFinished(
            key, "ok" if ok else "failed", result.exit_code, result.duration, message=message
        )
    held, message = evaluate(expect, result.exit_code, out.stdout)
    if out.truncated and held:
        message += " (on the first 1 MiB of output)"
    return StepFinished(
        key,
        "ok" if held else "failed",
        result.exit_code,
        result.duration,
        expectation=ctx.redact(message),
    )
