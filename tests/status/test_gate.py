"""The gate step with real probe commands: waits, passes after `hold` polls, times out, cancels."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from status_helpers import make_ctx

from annotui.checklist.models import GateStep, Probe
from annotui.engine.kinds.gate import parse_condition, run_gate
from annotui.events import GateEvaluated


def _gate(until: str = "== 0", hold: int = 2, timeout: float | None = 10) -> GateStep:
    return GateStep(
        id="no-jobs", kind="gate", probe="jobs", until=until, hold=hold, timeout=timeout
    )


def _jobs(tmp_path: Path, value: str) -> tuple[Path, dict[str, Probe]]:
    f = tmp_path / "active_jobs"
    f.write_text(value)
    return f, {"jobs": Probe(run=f"cat {f}", every=0.1)}


@pytest.mark.parametrize(
    ("until", "value", "holds"),
    [
        ("== 0", 0, True),
        ("== 0", 1, False),
        ("<= 2", 2, True),
        ("< 2", 2, False),
        (">= -1", -1, True),
        ("!= 3", 3, False),
        ("> 0", 1, True),
    ],
)
def test_conditions(until: str, value: int, holds: bool) -> None:
    assert parse_condition(until)(value) is holds


async def test_waits_until_the_count_drops_then_holds(tmp_path: Path) -> None:
    f, probes = _jobs(tmp_path, "3\n")
    ctx, events = make_ctx(_gate(), probes=probes)
    task = asyncio.create_task(run_gate(ctx))
    while len(events) < 3:
        await asyncio.sleep(0.02)
    assert not task.done()
    f.write_text("0\n")
    result = await asyncio.wait_for(task, 5)
    assert result.outcome == "ok", result.message
    evals = [e for e in events if isinstance(e, GateEvaluated)]
    assert evals[0] == GateEvaluated("deploy[staging]/no-jobs", "jobs", 3, False, 0, 2)
    assert [(e.value, e.streak) for e in evals[-2:]] == [(0, 1), (0, 2)]
    assert all(e.value == 3 for e in evals[:-2])


async def test_a_probe_error_breaks_the_streak_and_is_recorded(tmp_path: Path) -> None:
    _f, probes = _jobs(tmp_path, "garbage")
    ctx, events = make_ctx(_gate(hold=1, timeout=0.35), probes=probes)
    result = await run_gate(ctx)
    assert result.outcome == "timeout"
    assert "expected an integer, got 'garbage'" in (result.message or "")
    assert all(isinstance(e, GateEvaluated) and e.error and not e.holds for e in events)
    assert len(events) >= 3


async def test_cancel_aborts_cleanly(tmp_path: Path) -> None:
    _f, probes = _jobs(tmp_path, "3")
    ctx, events = make_ctx(_gate(timeout=None), probes=probes)
    task = asyncio.create_task(run_gate(ctx))
    while not events:
        await asyncio.sleep(0.02)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


async def test_rehearsal_evaluates_for_real(tmp_path: Path) -> None:
    _f, probes = _jobs(tmp_path, "0")
    ctx, events = make_ctx(_gate(hold=1), probes=probes, rehearse=True)
    result = await run_gate(ctx)
    assert result.outcome == "ok" and len(events) == 1
