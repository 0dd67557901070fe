"""`action = "signal"` (supervisord signalProcess) against a real supervisord: the process gets
the signal and keeps running with the same pid; rehearsal sends nothing; check wants `signal`."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from status_helpers import make_ctx
from supervisord_fixture import Supervisord, running_supervisord

from annotui.checklist.commands import check_one
from annotui.checklist.models import Supervisor, SupervisorStep
from annotui.engine.kinds.supervisor import run_supervisor
from annotui.status.supervisor import SupervisorClient


@pytest.fixture
def hupper(tmp_path: Path) -> Iterator[tuple[Supervisord, Path]]:
    log = tmp_path / "hups.log"
    trap = f"trap 'echo hup >> {log}' HUP; echo up; while :; do sleep 0.05; done"
    with running_supervisord(tmp_path / "sv", programs={"web": f'/bin/sh -c "{trap}"'}) as sv:
        yield sv, log


async def _run(sv: Supervisord, rehearse: bool = False):
    step = SupervisorStep(
        id="reload", kind="supervisor", supervisor="web", action="signal", signal="HUP",
        process="web",
    )  # fmt: skip
    settings = {"web": Supervisor(url=sv.url, username=sv.username, password=sv.password)}
    ctx, _events = make_ctx(step, supervisors=settings, rehearse=rehearse)
    try:
        return await run_supervisor(ctx)
    finally:
        await ctx.supervisors.aclose()


async def _pid(sv: Supervisord) -> int:
    c = SupervisorClient("t", sv.url, sv.username, sv.password)
    try:
        info = await c.get_process_info("web")
        assert info.state == "RUNNING"
        return info.pid
    finally:
        await c.aclose()


async def test_signal_reaches_the_process_which_keeps_running(hupper) -> None:
    sv, log = hupper
    pid = await _pid(sv)
    result = await _run(sv, rehearse=True)
    assert result.outcome == "would-run" and "would send it" in result.message
    time.sleep(0.3)
    assert not log.exists()  # rehearsal sent nothing
    result = await _run(sv)
    assert result.outcome == "ok", result.message
    deadline = time.monotonic() + 5
    while not (log.exists() and log.read_text() == "hup\n") and time.monotonic() < deadline:
        time.sleep(0.05)
    assert log.read_text() == "hup\n"
    assert await _pid(sv) == pid  # a reload, not a restart


@pytest.mark.parametrize(
    ("extra", "words"),
    [
        ('action = "signal"', 'action = "signal" needs signal = "HUP"'),
        ('action = "restart"\nsignal = "HUP"', 'signal is only for action = "signal"'),
        ('action = "signal"\nsignal = "hup"', "signal"),
    ],
)
def test_check_wants_signal_with_its_action(tmp_path: Path, extra: str, words: str) -> None:
    path = tmp_path / "c.toml"
    path.write_text(
        '[checklist]\nid = "x"\ntitle = "x"\n[supervisors.web]\nurl = "http://127.0.0.1:9001"\n'
        '[[stages]]\nid = "s"\n[[stages.steps]]\nid = "a"\nkind = "supervisor"\n'
        f'supervisor = "web"\nprocess = "web"\n{extra}\n'
    )
    ok, report = check_one(str(path))
    assert not ok and words in report and "Traceback" not in report, report
