"""Output stays readable at 80x24, with the real engine and real commands: the next question
waits for Enter instead of covering a finished step's output, wide lines wrap inside the pane,
each step viewed shows its own output, Ctrl+C asks once and never leaves a stale question, the
failure box of a critical step offers retry and stop but no skip, and a resumed run shows what
finished before it and the interrupted attempt's output."""

from __future__ import annotations

from pathlib import Path

from cockpit_helpers import (
    answer_when,
    events_named,
    make_app,
    plain_run_lines,
    question_kind,
    screen_text,
    wait_for,
)
from textual.pilot import Pilot
from textual.widgets import Log

from screens.app import CockpitApp
from screens.modals import FailureModal, UnknownOutcomeModal, YesNoModal
from screens.walk import WRAP_MARK, WalkScreen
from screens.widgets.step_list import StepList


def output_lines(app: CockpitApp) -> list[str]:
    assert app.walk is not None
    return list(app.walk.query_one("#output", Log).lines)


def held(app: CockpitApp) -> bool:
    """The next question waits for Enter and nothing covers the walk."""
    return app.question_waiting() and app.screen is app.walk


async def start(pilot: Pilot, app: CockpitApp) -> None:
    await pilot.press("enter")  # Welcome: Start
    await wait_for(pilot, lambda: app.screen.__class__.__name__ == "VariablesScreen")
    await pilot.press("ctrl+s")


async def test_output_is_readable_before_the_next_question(tmp_path: Path) -> None:
    audit = tmp_path / "run.jsonl"
    app = make_app("output.toml", audit)
    async with app.run_test(size=(80, 24)) as pilot:
        await start(pilot, app)
        await answer_when(pilot, "confirm", "y")  # help
        await wait_for(pilot, lambda: held(app), open_held=False)
        await pilot.pause(0.3)
        assert held(app), "the next question covered the output"
        lines = output_lines(app)
        assert lines[:5] == [f"help-line-{i}" for i in range(1, 6)]
        walk = app.walk
        assert isinstance(walk, WalkScreen)
        log = walk.query_one("#output", Log)
        width = log.scrollable_content_region.width
        # the wide line wraps inside the pane: all of it is on screen, nothing cut
        wide = [line for line in lines if line.startswith(("wide:", WRAP_MARK))]
        assert len(wide) > 2 and all(len(line) <= width for line in lines)
        assert "".join(w.removeprefix(WRAP_MARK) for w in wide) == "wide: " + "-".join(
            str(i) for i in range(1, 61)
        )
        text = screen_text(app)
        assert "Enter: next question" in text and "58-59-60" in text
        footer = text.splitlines()[-1]
        assert "Answer" in footer
        # Enter opens the question wherever the focus is, the step list too
        await pilot.press("l")
        assert isinstance(app.focused, StepList)
        await pilot.press("enter")
        await wait_for(pilot, lambda: question_kind(app) == "confirm", open_held=False)
        assert app.screen.step.key == "read/second"  # type: ignore[attr-defined]
        await pilot.press("y")
        await wait_for(pilot, lambda: held(app), open_held=False)
        assert "second-output" in output_lines(app)
        # the step list views each earlier step with ITS output, c comes back
        assert walk.current == "read/brief"  # shown, its question held
        await pilot.press("l", "up")
        await wait_for(pilot, lambda: walk.viewing == "read/second", open_held=False)
        assert output_lines(app) == ["second-output"]
        await pilot.press("up")
        await wait_for(pilot, lambda: walk.viewing == "read/help", open_held=False)
        assert output_lines(app)[0] == "help-line-1"
        assert "second-output" not in output_lines(app)
        assert "VIEWING ONLY" in screen_text(app)
        await pilot.press("c")
        assert walk.viewing is None and output_lines(app) == ["second-output"]
        assert held(app)  # viewing answered nothing
    assert [c["step_key"] for c in events_named(audit, "step.confirmed")] == [
        "read/help",
        "read/second",
    ]


async def test_ctrl_c_asks_once_and_a_finished_step_takes_its_question_away(
    tmp_path: Path,
) -> None:
    audit = tmp_path / "run.jsonl"
    app = make_app("output.toml", audit)
    async with app.run_test(size=(80, 24)) as pilot:
        await start(pilot, app)
        await answer_when(pilot, "confirm", "y")  # help
        await answer_when(pilot, "confirm", "y")  # second
        await answer_when(pilot, "confirm", "y")  # brief: 1.5 s
        await wait_for(pilot, lambda: app.step_running == "read/brief")
        await pilot.press("ctrl+c")
        assert isinstance(app.screen, YesNoModal)
        # the step ends while it asks: the question goes with it, the next one comes alone
        await wait_for(pilot, lambda: app.step_running is None, open_held=False)
        await wait_for(pilot, lambda: not isinstance(app.screen, YesNoModal), open_held=False)
        await answer_when(pilot, "confirm", "y")  # fails (critical)
        await wait_for(pilot, lambda: question_kind(app) == "failure")
        assert not any(isinstance(s, YesNoModal) for s in app.screen_stack)
        modal = app.screen
        assert isinstance(modal, FailureModal)
        text = screen_text(app)
        assert "exit code 3" in text and text.count("exit code 3") == 1
        footer = text.splitlines()[-1]
        assert "Retry" in footer and "Stop" in footer and "Skip" not in footer
        await pilot.press("s")  # not offered: refused and recorded
        await wait_for(pilot, lambda: bool(events_named(audit, "step.refused")))
        assert app.screen is modal
        await pilot.press("q")  # stop asks first, as everywhere
        assert isinstance(app.screen, YesNoModal)
        await pilot.press("y")
        await wait_for(pilot, lambda: app.exit_code is not None)
    finished = {f["step_key"]: f["outcome"] for f in events_named(audit, "step.finished")}
    assert finished["read/brief"] == "ok" and finished["read/fails"] == "failed"
    assert not events_named(audit, "step.skipped")


async def test_a_second_ctrl_c_cancels_without_a_second_box(tmp_path: Path) -> None:
    audit = tmp_path / "run.jsonl"
    app = make_app("guarded.toml", audit, cli_vars={"workdir": str(tmp_path)})
    async with app.run_test(size=(80, 24)) as pilot:
        await start(pilot, app)
        await answer_when(pilot, "confirm", *"prod", "enter")
        await answer_when(pilot, "confirm", "y")
        await answer_when(pilot, "confirm", "s", *"skip", "enter")
        await answer_when(pilot, "confirm", "y")  # slow: echo started; sleep 30
        await wait_for(pilot, lambda: app.step_running == "guarded/slow")
        await wait_for(pilot, lambda: "started" in output_lines(app))
        await pilot.pause(0.5)  # it runs a while: the record says how long
        await pilot.press("ctrl+c", "ctrl+c")
        await wait_for(pilot, lambda: question_kind(app) == "failure")
        assert sum(isinstance(s, YesNoModal) for s in app.screen_stack) == 0
    finished = [f for f in events_named(audit, "step.finished") if f["step_key"] == "guarded/slow"]
    assert finished[0]["outcome"] == "cancelled" and 0.4 < finished[0]["duration"] < 20


async def test_resume_shows_finished_steps_and_the_interrupted_output(tmp_path: Path) -> None:
    crashed = tmp_path / "crashed.jsonl"
    lines = plain_run_lines(tmp_path, crashed)
    cut = next(
        i for i, line in enumerate(lines) if b'"step.output"' in line and b"write-marker" in line
    )
    crashed.write_bytes(b"".join(lines[: cut + 1]))  # killed after its output, before its end

    app = make_app("local.toml", crashed, resume=True, cli_vars={"workdir": str(tmp_path)})
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("enter")
        await wait_for(pilot, lambda: question_kind(app) == "unknown")
        modal = app.screen
        assert isinstance(modal, UnknownOutcomeModal)
        await wait_for(pilot, lambda: "wrote marker" in screen_text(app))
        assert "before it was cut off" in screen_text(app)
        states = app.walk.query_one(StepList).states  # type: ignore[union-attr]
        await wait_for(pilot, lambda: states.get("prepare/read-notes") == "ok")
        assert states["prepare/write-marker"] == "unknown"
        assert states["prepare/check-marker"] == "pending"
        await pilot.press("escape", "l", "up")  # the earlier step's output comes from the log
        walk = app.walk
        assert walk is not None
        await wait_for(pilot, lambda: walk.viewing == "prepare/read-notes", open_held=False)
        await pilot.press("down")
        await wait_for(pilot, lambda: "wrote marker" in output_lines(app), open_held=False)


async def test_a_toast_waits_until_the_question_closes(tmp_path: Path) -> None:
    from textual.widgets._toast import Toast

    app = make_app("output.toml", tmp_path / "run.jsonl")
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        await start(pilot, app)
        await wait_for(pilot, lambda: question_kind(app) == "confirm")
        app.notify("took over the target lock [from] someone")  # what the engine may report
        await pilot.pause(0.3)
        assert not app.screen.query(Toast), "a toast covers the question"
        await pilot.press("escape")  # back to the step: the question closes, the toast shows
        await wait_for(pilot, lambda: bool(app.screen.query(Toast)), open_held=False)
        assert "took over the target lock" in screen_text(app)


async def test_the_header_follows_the_viewed_step_and_the_announcement_is_plain(
    tmp_path: Path,
) -> None:
    from screens.summary import SummaryScreen

    audit = tmp_path / "run.jsonl"
    app = make_app("local.toml", audit, cli_vars={"workdir": str(tmp_path), "release": "v1.2.3"})
    async with app.run_test(size=(80, 24)) as pilot:
        await start(pilot, app)
        await answer_when(pilot, "confirm", "y")
        await answer_when(pilot, "evidence", *"https://notes/1", "enter")
        await answer_when(pilot, "confirm", "y")
        await answer_when(pilot, "confirm", "y")
        await wait_for(pilot, lambda: question_kind(app) == "confirm")  # announce, stage 2
        await pilot.press("escape")
        walk = app.walk
        assert walk is not None
        assert "Stage 2/2: Finish" in screen_text(app)
        await pilot.press("l", "up")
        await wait_for(pilot, lambda: walk.viewing == "prepare/check-marker", open_held=False)
        assert "Stage 1/2: Prepare v1.2.3" in screen_text(app)
        await pilot.press("c")
        assert "Stage 2/2: Finish" in screen_text(app)
        await pilot.press("enter", "y")
        await wait_for(pilot, lambda: isinstance(app.screen, SummaryScreen))
        # the announcement as it is to be posted: Markdown marks are text, not formatting
        assert "Release **v1.2.3** is out on staging." in screen_text(app)
