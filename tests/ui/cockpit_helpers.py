"""Helpers for the cockpit's Pilot and snapshot tests (the real engine, real subprocesses)."""

from __future__ import annotations

import asyncio
import io
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from rich.console import Console
from textual.app import App
from textual.pilot import Pilot

from annotui.audit.reader import read_records
from annotui.engine.options import RunOptions
from screens.app import CockpitApp

CHECKLISTS = Path(__file__).parent / "checklists"
FIXED_NOW = 1_767_225_600.0
"""2026-01-01T00:00:00Z: the status panel's clock in tests, so ages are deterministic."""


def make_app(
    checklist: str,
    audit: Path,
    *,
    cli_vars: dict[str, str] | None = None,
    rehearse: bool = False,
    resume: bool = False,
    clock: Callable[[], float] = lambda: FIXED_NOW,
    status_every: float = 5.0,
) -> CockpitApp:
    path = CHECKLISTS / checklist if not checklist.startswith("/") else Path(checklist)
    options = RunOptions(
        cli_vars=dict(cli_vars or {}),
        rehearse=rehearse,
        audit_path=audit,
        resume=resume,
        argv=["run", str(path)],
    )
    app = CockpitApp(
        str(path), options, clock=clock, operator_name="tester", status_every=status_every
    )
    app.animation_level = "none"
    return app


async def wait_for(
    pilot: Pilot,
    condition: Callable[[], object],
    timeout: float = 30.0,
    *,
    open_held: bool = True,
) -> None:
    """Let the app (and the engine thread) work until `condition()` holds. A question held back
    so that a step's output stays readable is opened with Enter, as the operator does once they
    have read it (`open_held=False` leaves it held)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition():
        if loop.time() > deadline:
            raise AssertionError(f"timed out waiting for {condition}")
        app = pilot.app
        if open_held and isinstance(app, CockpitApp) and app.question_waiting():
            walk = app.walk
            if walk is not None and app.screen is walk and walk.fresh_output:
                await pilot.press("enter")
        await pilot.pause(0.05)


def question_kind(app: CockpitApp) -> str | None:
    """The kind of the engine's open question when its modal is on screen."""
    q = app.question
    if q is None or q.answered or not app.question_open or app.screen is not app.question_modal:
        return None
    return q.kind


async def answer_when(pilot: Pilot, kind: str, *keys: str, timeout: float = 30.0) -> None:
    """Wait for a question of `kind` to be on screen, then press `keys`."""
    app = pilot.app
    await wait_for(pilot, lambda: question_kind(app) == kind, timeout)  # type: ignore[arg-type]
    await pilot.press(*keys)


async def start_run(pilot: Pilot, first: str = "confirm") -> None:
    """Welcome: Enter; Variables: Ctrl+S (start the run); then wait for the run's first question
    (of kind `first`) to be on screen."""
    app = pilot.app
    await pilot.press("enter")
    await wait_for(pilot, lambda: app.screen.__class__.__name__ == "VariablesScreen")
    await pilot.press("ctrl+s")
    await wait_for(pilot, lambda: question_kind(app) == first)  # type: ignore[arg-type]


def plain_run_lines(tmp_path: Path, audit: Path) -> list[bytes]:
    """A complete run of local.toml in plain mode (a real subprocess: release v1.2.3, workdir
    tmp_path, evidence given) logged to `audit`; returns the log's lines, for a test to cut
    where a crash would have."""
    subprocess.run(
        [sys.executable, "-m", "annotui.cli", "run", str(CHECKLISTS / "local.toml"), "--plain",
         "--yes", "--var", "release=v1.2.3", "--var", f"workdir={tmp_path}", "--audit",
         str(audit)],
        input="https://notes/1\n", text=True, capture_output=True, check=True, timeout=60,
    )  # fmt: skip
    return audit.read_bytes().splitlines(keepends=True)


def events(path: Path) -> list[dict[str, object]]:
    return list(read_records(path))


def events_named(path: Path, name: str) -> list[dict[str, object]]:
    return [r for r in events(path) if r["event"] == name]


def screen_text(app: App[object]) -> str:
    """The screen as the operator sees it, as plain text (what a snapshot would show)."""
    width, height = app.size
    console = Console(
        width=width, height=height, file=io.StringIO(), force_terminal=True, record=True
    )
    console.print(
        app.screen._compositor.render_update(
            full=True, screen_stack=app._background_screens, simplify=True
        )
    )
    return console.export_text()
