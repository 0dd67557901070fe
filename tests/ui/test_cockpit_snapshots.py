"""Snapshots of the cockpit's screens at 80x24 and 120x40, with the real engine.

Deterministic: a fixed clock for ages, no animation, the checklist and audit log addressed by
relative names inside a temporary working directory, and the summary's final hash (which covers
timestamps) shown as a fixed value.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from cockpit_helpers import CHECKLISTS, FIXED_NOW, question_kind, wait_for
from textual.pilot import Pilot

from annotui.engine.options import RunOptions
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


async def to_summary(pilot: Pilot) -> None:
    app = pilot.app
    await to_first_confirm(pilot)
    await pilot.press("y")
    await wait_for(pilot, lambda: question_kind(app) == "evidence")  # type: ignore[arg-type]
    await pilot.press(*"https://notes/1", "enter")
    for _ in range(3):
        await wait_for(pilot, lambda: question_kind(app) == "confirm")  # type: ignore[arg-type]
        await pilot.press("y")
    await wait_for(pilot, lambda: isinstance(app.screen, SummaryScreen))
    app.session.final_hash = FAKE_HASH  # type: ignore[attr-defined]
    screen = app.screen
    screen.query_one("#facts").update(screen.facts())  # type: ignore[attr-defined]
    await wait_for(pilot, lambda: screen.checkpoint is not None)  # type: ignore[attr-defined]
    fixed = f"annotui-audit/{FAKE_HASH}\n42\nAAAA\n\n— unsigned (the run had no --sign-with)\n"
    screen.show_checkpoint(fixed)  # type: ignore[attr-defined]
    await pilot.pause(0.3)


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
