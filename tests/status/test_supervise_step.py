"""The supervisor step against a real supervisord: act, read back, verify; rehearsal simulates."""

from __future__ import annotations

from status_helpers import make_ctx
from supervisord_fixture import Supervisord

from annotui.checklist.models import Supervisor, SupervisorStep
from annotui.engine.kinds.supervisor import run_supervisor
from annotui.events import SupervisorState
from annotui.status.supervisor import SupervisorClient


def _settings(sv: Supervisord) -> dict[str, Supervisor]:
    return {"anno": Supervisor(url=sv.url, username=sv.username, password=sv.password)}


def _step(action: str, process: str) -> SupervisorStep:
    return SupervisorStep(
        id=f"{action}-it", kind="supervisor", supervisor="anno", action=action, process=process
    )


async def _state(sv: Supervisord, name: str) -> str:
    c = SupervisorClient("t", sv.url, sv.username, sv.password)
    try:
        return (await c.get_process_info(name)).state
    finally:
        await c.aclose()


async def _run(sv: Supervisord, action: str, process: str, rehearse: bool = False):
    ctx, events = make_ctx(_step(action, process), supervisors=_settings(sv), rehearse=rehearse)
    try:
        return await run_supervisor(ctx), events
    finally:
        await ctx.supervisors.aclose()


async def test_stop_then_start_a_real_process(supervisord: Supervisord) -> None:
    result, events = await _run(supervisord, "stop", "alpha:*")
    assert result.outcome == "ok", result.message
    assert await _state(supervisord, "alpha") == "STOPPED"
    assert await _state(supervisord, "beta") == "RUNNING"
    states = [e for e in events if isinstance(e, SupervisorState)]
    assert [(s.when, s.processes) for s in states] == [
        ("before", {"alpha:alpha": "RUNNING"}),
        ("after", {"alpha:alpha": "STOPPED"}),
    ]
    assert states[0].step_key == "deploy[staging]/stop-it"

    result, events = await _run(supervisord, "start", "alpha")
    assert result.outcome == "ok", result.message
    assert await _state(supervisord, "alpha") == "RUNNING"
    assert [e for e in events if isinstance(e, SupervisorState)][-1] == SupervisorState(
        "deploy[staging]/start-it", "anno", "after", {"alpha:alpha": "RUNNING"}
    )


async def test_restart_gives_a_new_pid(supervisord: Supervisord) -> None:
    c = SupervisorClient("t", supervisord.url, supervisord.username, supervisord.password)
    try:
        pid = (await c.get_process_info("beta")).pid
        result, _ = await _run(supervisord, "restart", "beta:beta")
        assert result.outcome == "ok", result.message
        info = await c.get_process_info("beta")
        assert info.state == "RUNNING" and info.pid != pid
    finally:
        await c.aclose()


async def test_already_in_target_state_is_fine_and_says_so(supervisord: Supervisord) -> None:
    result, _ = await _run(supervisord, "start", "alpha:*")
    assert result.outcome == "ok"
    assert "already running" in (result.message or "")


async def test_unknown_process_fails_clearly(supervisord: Supervisord) -> None:
    result, events = await _run(supervisord, "stop", "anno-nope:*")
    assert result.outcome == "failed"
    assert "anno-nope:*" in (result.message or "") and "BAD_NAME" in (result.message or "")
    assert "alpha:alpha" in (result.message or "")  # names what exists
    assert not [e for e in events if isinstance(e, SupervisorState)]


async def test_rehearsal_reads_the_state_and_simulates(supervisord: Supervisord) -> None:
    result, events = await _run(supervisord, "stop", "alpha:*", rehearse=True)
    assert result.outcome == "would-run"
    assert "would stop" in (result.message or "") and "RUNNING" in (result.message or "")
    assert await _state(supervisord, "alpha") == "RUNNING"
    assert [e.when for e in events if isinstance(e, SupervisorState)] == ["before"]


async def test_wrong_password_fails_the_step_without_leaking_it(supervisord: Supervisord) -> None:
    settings = {"anno": Supervisor(url=supervisord.url, username="admin", password="s3cr3t-x")}
    ctx, _ = make_ctx(_step("stop", "alpha:*"), supervisors=settings, secret="s3cr3t-x")
    try:
        result = await run_supervisor(ctx)
    finally:
        await ctx.supervisors.aclose()
    assert result.outcome == "failed"
    assert "unauthorized" in (result.message or "")
    assert "s3cr3t-x" not in (result.message or "")
    assert await _state(supervisord, "alpha") == "RUNNING"
