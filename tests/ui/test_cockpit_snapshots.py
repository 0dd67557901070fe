"""Snapshots of the cockpit's screens at 80x24 and 120x40, with the real engine.

Deterministic: a fixed clock for ages, no animation, the checklist and audit log addressed by
relative names inside a temporary working directory, and the summary's final hash (which covers
timestamps) shown as a fixed value.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from cockpit_helpers import CHECKLISTS, FIXED_NOW, question_kind, wait_for
from textual.pilot import Pilot
from textual.widgets import Input

from annotui.audit.reader import read_records
from annotui.engine.options import RunOptions
from screens import walk
from screens.app import CockpitApp
from screens.summary import SummaryScreen

SIZES = [(80, 24), (120, 40)]
FAKE_HASH = "0" * 64


@pytest.fixture
def cockpit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CockpitApp:
    shutil.copy(CHECKLISTS / "local.toml", tmp_path / "local.toml")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("TEXTUAL_ANIMATIONS", "none")
    # other engineers add bundled checklists: the Welcome screen's list must not move snapshots
    monkeypatch.setattr("screens.welcome.bundled_checklists", lambda: ["anno-release"])
    options = RunOptions(
        cli_vars={"workdir": "."}, audit_path=Path("run.jsonl"), argv=["run", "local.toml"]
    )
    app = CockpitApp("local.toml", options, clock=lambda: FIXED_NOW, operator_name="tester")
    app.animation_level = "none"
    return app


async def to_variables(pilot: Pilot) -> None:
    await pilot.press("enter")
    await wait_for(pilot, lambda: pilot.app.screen.__class__.__name__ == "VariablesScreen")
    await pilot.press(*"v1.2.3")
    await pilot.pause()


async def to_first_confirm(pilot: Pilot) -> None:
    await to_variables(pilot)
    await pilot.press("ctrl+s")
    await wait_for(pilot, lambda: question_kind(pilot.app) == "confirm")  # type: ignore[arg-type]
    await pilot.pause(0.3)


async def summary_fixed(pilot: Pilot) -> None:
    """Wait for the Summary, then fix what differs between runs: the final hash and the
    checkpoint shown from it."""
    app = pilot.app
    await wait_for(pilot, lambda: isinstance(app.screen, SummaryScreen))
    app.session.final_hash = FAKE_HASH  # type: ignore[attr-defined]
    screen = app.screen
    screen.query_one("#facts").update(screen.facts())  # type: ignore[attr-defined]
    await wait_for(pilot, lambda: screen.checkpoint is not None)  # type: ignore[attr-defined]
    fixed = f"annotui-audit/{FAKE_HASH}\n42\nAAAA\n\n— unsigned (the run had no --sign-with)\n"
    screen.show_checkpoint(fixed)  # type: ignore[attr-defined]
    await pilot.pause(0.3)


async def to_summary(pilot: Pilot) -> None:
    app = pilot.app
    await to_first_confirm(pilot)
    await pilot.press("y")
    await wait_for(pilot, lambda: question_kind(app) == "evidence")  # type: ignore[arg-type]
    await pilot.press(*"https://notes/1", "enter")
    for _ in range(3):
        await wait_for(pilot, lambda: question_kind(app) == "confirm")  # type: ignore[arg-type]
        await pilot.press("y")
    await summary_fixed(pilot)


async def to_help(pilot: Pilot) -> None:
    # the Welcome settles first: Start takes the focus and its form scrolls it into view (at
    # 80x24); pressing ? before that raced the scroll, and the snapshot caught either state
    await wait_for(pilot, lambda: getattr(pilot.app.focused, "id", None) == "start")
    await pilot.wait_for_scheduled_animations()
    await pilot.pause(0.1)
    await pilot.press("question_mark")
    # the Help screen is imported and composed on demand: a fixed pause alone was too short on
    # a loaded machine (the snapshot caught the Welcome still showing)
    await wait_for(pilot, lambda: pilot.app.screen.__class__.__name__ == "HelpScreen")
    await pilot.pause(0.3)


@pytest.mark.parametrize("size", SIZES)
def test_welcome(snap_compare, cockpit: CockpitApp, size: tuple[int, int]) -> None:
    assert snap_compare(cockpit, terminal_size=size)


@pytest.mark.parametrize("size", SIZES)
def test_variables(snap_compare, cockpit: CockpitApp, size: tuple[int, int]) -> None:
    assert snap_compare(cockpit, terminal_size=size, run_before=to_variables)


@pytest.mark.parametrize("size", SIZES)
def test_walk_confirm(snap_compare, cockpit: CockpitApp, size: tuple[int, int]) -> None:
    assert snap_compare(cockpit, terminal_size=size, run_before=to_first_confirm)


@pytest.mark.parametrize("size", SIZES)
def test_summary(snap_compare, cockpit: CockpitApp, size: tuple[int, int]) -> None:
    assert snap_compare(cockpit, terminal_size=size, run_before=to_summary)


@pytest.mark.parametrize("size", SIZES)
def test_help(snap_compare, cockpit: CockpitApp, size: tuple[int, int]) -> None:
    assert snap_compare(cockpit, terminal_size=size, run_before=to_help)


# -- the matrix at 80x24: every screen and question, live and rehearsal, status shown and hidden --

MODES = ["live", "rehearsal"]
STATUS = ["status", "nostatus"]


def matrix_app(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, mode: str, status: str
) -> CockpitApp:
    shutil.copy(CHECKLISTS / "snapshots.toml", tmp_path / "snapshots.toml")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("TEXTUAL_ANIMATIONS", "none")
    monkeypatch.setattr("screens.welcome.bundled_checklists", lambda: ["anno-release"])
    # a step's duration (0.0 s, or 0.1 s on a loaded machine) shown as one fixed value
    shown = walk.describe_finish
    monkeypatch.setattr(
        walk, "describe_finish", lambda e: shown(e.replace(duration=0.25) if e.duration else e)
    )
    options = RunOptions(
        cli_vars={"workdir": "."},
        audit_path=Path("run.jsonl"),
        rehearse=mode == "rehearsal",
        argv=["run", "snapshots.toml"],
    )
    app = CockpitApp("snapshots.toml", options, clock=lambda: FIXED_NOW, operator_name="tester")
    app.animation_level = "none"
    app.status_visible = status == "status"
    return app


async def _ask(pilot: Pilot, kind: str) -> None:
    await wait_for(pilot, lambda: question_kind(pilot.app) == kind)  # type: ignore[arg-type]
    await pilot.pause(0.3)


async def _to_evidence(pilot: Pilot) -> None:
    await to_first_confirm(pilot)
    await pilot.press("y")
    await _ask(pilot, "evidence")


async def _to_command(pilot: Pilot) -> None:
    await _to_evidence(pilot)
    await pilot.press(*"https://notes/1", "enter")
    await _ask(pilot, "confirm")


async def _to_failure(pilot: Pilot) -> None:
    await _to_command(pilot)  # the check
    await pilot.press("y")
    await _ask(pilot, "failure")


async def _to_skip_reason(pilot: Pilot) -> None:
    await _to_failure(pilot)
    await pilot.press("s")
    await wait_for(pilot, lambda: type(pilot.app.screen).__name__ == "SkipReasonModal")
    await pilot.pause(0.3)


async def _to_change(pilot: Pilot) -> None:
    await _to_skip_reason(pilot)
    await pilot.press(*"down in both", "enter")
    await _ask(pilot, "confirm")  # the command that changes things (simulated in rehearsal)


async def _to_summary(pilot: Pilot) -> None:
    await _to_change(pilot)
    await pilot.press("y")
    await _ask(pilot, "confirm")  # the announcement
    await pilot.press("y")
    await summary_fixed(pilot)


async def _idle(pilot: Pilot) -> None:
    await wait_for(pilot, lambda: getattr(pilot.app.focused, "id", None) == "start")
    await pilot.wait_for_scheduled_animations()
    await pilot.pause(0.3)


MATRIX = {
    "welcome": _idle,
    "variables": to_variables,
    "confirm-manual": to_first_confirm,
    "evidence": _to_evidence,
    "confirm-check": _to_command,
    "failure": _to_failure,
    "skip-reason": _to_skip_reason,
    "confirm-change": _to_change,
    "summary": _to_summary,
    "help": to_help,
}


@pytest.mark.parametrize("status", STATUS)
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("screen", list(MATRIX))
def test_matrix_80x24(
    snap_compare, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, screen: str, mode: str,
    status: str,
) -> None:  # fmt: skip
    app = matrix_app(tmp_path, monkeypatch, mode, status)

    async def before(pilot: Pilot) -> None:
        await MATRIX[screen](pilot)
        # an input's cursor blinks: the snapshot caught it on or off (seen under load)
        for field in pilot.app.screen.query(Input):
            field.cursor_blink = False
        await pilot.pause(0.1)

    assert snap_compare(app, terminal_size=(80, 24), run_before=before)


@pytest.mark.parametrize("mode", MODES)
def test_matrix_viewer_80x24(snap_compare, tmp_path: Path, mode: str) -> None:
    """The reviewer's viewer of a live run's and of a rehearsal's log (fixed timestamps; the
    viewer has no status panel)."""
    from audit_samples import sample_events, write_sample

    from screens.audit_viewer import AuditViewerScreen, ReviewApp

    events = sample_events()
    events[0] = {**events[0], "mode": mode}
    log = tmp_path / "release-2026-03-02.jsonl"
    write_sample(log, events)

    async def before(pilot: Pilot) -> None:
        app = pilot.app
        await wait_for(
            pilot,
            lambda: isinstance(app.screen, AuditViewerScreen) and app.screen.verdict is not None,
        )
        await pilot.pause(0.3)

    assert snap_compare(ReviewApp(log, poll=3600), terminal_size=(80, 24), run_before=before)


# -- the same matrix at 120x40 -------------------------------------------------------------------


@pytest.mark.parametrize("status", STATUS)
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("screen", list(MATRIX))
def test_matrix_120x40(
    snap_compare, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, screen: str, mode: str,
    status: str,
) -> None:  # fmt: skip
    app = matrix_app(tmp_path, monkeypatch, mode, status)

    async def before(pilot: Pilot) -> None:
        await MATRIX[screen](pilot)
        for field in pilot.app.screen.query(Input):
            field.cursor_blink = False
        await pilot.pause(0.1)

    assert snap_compare(app, terminal_size=(120, 40), run_before=before)


@pytest.mark.parametrize("mode", MODES)
def test_matrix_viewer_120x40(snap_compare, tmp_path: Path, mode: str) -> None:
    from audit_samples import sample_events, write_sample

    from screens.audit_viewer import AuditViewerScreen, ReviewApp

    events = sample_events()
    events[0] = {**events[0], "mode": mode}
    log = tmp_path / "release-2026-03-02.jsonl"
    write_sample(log, events)

    async def before(pilot: Pilot) -> None:
        app = pilot.app
        await wait_for(
            pilot,
            lambda: isinstance(app.screen, AuditViewerScreen) and app.screen.verdict is not None,
        )
        await pilot.pause(0.3)

    assert snap_compare(ReviewApp(log, poll=3600), terminal_size=(120, 40), run_before=before)


# -- questions the walk above never asks: a held lock, a typed word, a var, an unknown outcome --

HOLDER = {
    "operator": "bob",
    "pid": 4242,
    "host": "jump2",
    "since": "2026-01-01T00:00:00+00:00",
    "checklist": "ui-questions",
    "audit": "/home/bob/release.jsonl",
}
"""Another session's lock (fixed: the question names its holder)."""


def questions_app(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, *, locked: bool) -> CockpitApp:
    shutil.copy(CHECKLISTS / "questions.toml", tmp_path / "questions.toml")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("TEXTUAL_ANIMATIONS", "none")
    monkeypatch.setattr("screens.welcome.bundled_checklists", lambda: ["anno-release"])
    if locked:
        (tmp_path / "target.lock").mkdir()
        (tmp_path / "target.lock" / "holder.json").write_text(json.dumps(HOLDER))
    options = RunOptions(audit_path=Path("run.jsonl"), argv=["run", "questions.toml"])
    app = CockpitApp("questions.toml", options, clock=lambda: FIXED_NOW, operator_name="tester")
    app.animation_level = "none"
    return app


def _written(log: Path) -> bool:
    """The step's output so far (its step.output record: the command in step.shown names the
    same words) and its process group (step.spawned) are in the log, each on a whole line (a
    torn last line is dropped on resume); they come in either order."""
    data = log.read_bytes() if log.exists() else b""
    lines = data.split(b"\n")[:-1]
    output = any(b'"step.output"' in line and b"0002_jobs" in line for line in lines)
    return output and any(b'"step.spawned"' in line for line in lines)


def killed_log(where: Path) -> Path:
    """killed.toml run in plain mode (a real subprocess, its token from the environment) and
    killed with SIGKILL while its step runs, the step's process group after it (as a reboot
    would end it; the resume waits for it to be gone): ``where``/run.jsonl ends mid-step."""
    shutil.copy(CHECKLISTS / "killed.toml", where / "killed.toml")
    log = where / "run.jsonl"
    env = {**os.environ, "UI_KILLED_TOKEN": "s3cret-token"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "annotui.cli", "run", "killed.toml", "--plain", "--yes",
         "--audit", "run.jsonl"],
        cwd=where, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE, start_new_session=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while not _written(log):
            assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
            assert time.monotonic() < deadline, "the step's output never reached the log"
            time.sleep(0.05)
    finally:
        proc.kill()
        proc.wait()
        if proc.stderr:
            proc.stderr.close()
    spawned = [r for r in read_records(log) if r["event"] == "step.spawned"]
    assert spawned and not [r for r in read_records(log) if r["event"] == "step.finished"]
    with contextlib.suppress(ProcessLookupError):
        os.killpg(int(spawned[0]["pgid"]), signal.SIGKILL)
    return log


def killed_app(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CockpitApp:
    killed_log(tmp_path)
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("UI_KILLED_TOKEN", raising=False)
    monkeypatch.setenv("TEXTUAL_ANIMATIONS", "none")
    monkeypatch.setattr("screens.welcome.bundled_checklists", lambda: ["anno-release"])
    options = RunOptions(
        audit_path=Path("run.jsonl"), resume=True, argv=["run", "killed.toml", "--resume"]
    )
    app = CockpitApp("killed.toml", options, clock=lambda: FIXED_NOW, operator_name="tester")
    app.animation_level = "none"
    return app


async def _start(pilot: Pilot) -> None:
    await wait_for(pilot, lambda: getattr(pilot.app.focused, "id", None) == "start")
    await pilot.press("enter")


async def _to_lock(pilot: Pilot) -> None:
    await _start(pilot)
    await wait_for(pilot, lambda: pilot.app.screen.__class__.__name__ == "VariablesScreen")
    await pilot.press("ctrl+s")
    await _ask(pilot, "lock")


async def _to_typed(pilot: Pilot) -> None:
    await _start(pilot)
    await wait_for(pilot, lambda: pilot.app.screen.__class__.__name__ == "VariablesScreen")
    await pilot.press("ctrl+s")
    await _ask(pilot, "confirm")
    await pilot.press(*"pr")  # the word half typed


async def _to_var(pilot: Pilot) -> None:
    await _start(pilot)
    await _ask(pilot, "var")


async def _to_unknown(pilot: Pilot) -> None:
    await _to_var(pilot)
    await pilot.press(*"s3cret-token", "enter")
    await _ask(pilot, "unknown")
    modal = pilot.app.screen
    await wait_for(pilot, lambda: "reading" not in str(modal.query_one("#partial").render()))
    # behind the box, the step's own output pane shows the cut-off attempt's output (read from
    # the log in a worker)
    walk = next(s for s in pilot.app.screen_stack if hasattr(s, "outputs"))
    await wait_for(pilot, lambda: "migrate/schema" in walk.outputs)
    await pilot.pause(0.3)


QUESTIONS = {
    "lock": (_to_lock, "locked"),
    "typed-word": (_to_typed, "fresh"),
    "var-prompt": (_to_var, "killed"),
    "outcome-unknown": (_to_unknown, "killed"),
}


@pytest.mark.parametrize("size", SIZES, ids=["80x24", "120x40"])
@pytest.mark.parametrize("question", list(QUESTIONS))
def test_questions(
    snap_compare, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, question: str,
    size: tuple[int, int],
) -> None:  # fmt: skip
    steps, setup = QUESTIONS[question]
    if setup == "killed":
        app = killed_app(tmp_path, monkeypatch)
    else:
        app = questions_app(tmp_path, monkeypatch, locked=setup == "locked")

    async def before(pilot: Pilot) -> None:
        await steps(pilot)
        for field in pilot.app.screen.query(Input):
            field.cursor_blink = False
        await pilot.pause(0.1)

    assert snap_compare(app, terminal_size=size, run_before=before)
