"""The cockpit's guards with the real engine: typed confirmation, critical steps, skip reasons,
Ctrl+C on a running step, quitting and resuming (including a step whose outcome is unknown)."""

from __future__ import annotations

from pathlib import Path

from cockpit_helpers import (
    answer_when,
    events_named,
    make_app,
    plain_run_lines,
    question_kind,
    wait_for,
)
from textual.widgets import Static

from annotui.audit.verify import verify
from screens.modals import ConfirmModal, SkipReasonModal, UnknownOutcomeModal, YesNoModal
from screens.summary import SummaryScreen
from screens.walk import WalkScreen


def error_text(screen: object) -> str:
    return str(screen.query_one("#error").render())  # type: ignore[attr-defined]


async def start_guarded(pilot, app) -> None:
    await pilot.press("enter")  # Welcome: Start
    await wait_for(pilot, lambda: app.screen.__class__.__name__ == "VariablesScreen")
    await pilot.press("ctrl+s")  # every var has a valid default
    await wait_for(pilot, lambda: question_kind(app) == "confirm")


async def past_the_typed_step(pilot, app) -> None:
    """Start the guarded run and confirm its typed step: the critical step's question is next."""
    await start_guarded(pilot, app)
    await pilot.press(*"prod", "enter")


async def test_typed_confirmation_refuses_the_wrong_word(tmp_path: Path) -> None:
    audit = tmp_path / "run.jsonl"
    app = make_app("guarded.toml", audit, cli_vars={"workdir": str(tmp_path)})
    async with app.run_test(size=(80, 24)) as pilot:
        await start_guarded(pilot, app)
        modal = app.screen
        assert isinstance(modal, ConfirmModal) and modal.step.confirm_word == "prod"
        await pilot.press("y")  # letters go to the word input, nothing runs
        await pilot.press(*"staging", "enter")
        assert app.screen is modal
        assert "type exactly prod" in error_text(modal)
        assert not events_named(audit, "step.confirmed")
        assert not (tmp_path / "typed.txt").exists()
        await pilot.press(*"prod", "enter")
        await wait_for(pilot, lambda: (tmp_path / "typed.txt").exists())
        await wait_for(pilot, lambda: question_kind(app) == "confirm")
    confirmed = events_named(audit, "step.confirmed")
    assert confirmed[0]["step_key"] == "guarded/typed" and confirmed[0]["word"] == "prod"
    assert verify(audit).ok


async def test_critical_step_cannot_be_skipped_and_skip_needs_a_reason(tmp_path: Path) -> None:
    audit = tmp_path / "run.jsonl"
    app = make_app("guarded.toml", audit, cli_vars={"workdir": str(tmp_path)})
    async with app.run_test(size=(80, 24)) as pilot:
        await past_the_typed_step(pilot, app)
        await answer_when(pilot, "confirm", "s")  # the critical step
        modal = app.screen
        assert isinstance(modal, ConfirmModal) and modal.step.critical
        assert "critical" in error_text(modal)
        assert not events_named(audit, "step.skipped")
        await pilot.press("y")
        await answer_when(pilot, "confirm", "s")  # optional: asks for a reason
        reason_modal = app.screen
        assert isinstance(reason_modal, SkipReasonModal)
        await pilot.press("enter")  # empty reason refused
        assert app.screen is reason_modal
        assert "reason is required" in error_text(reason_modal)
        await pilot.press(*"not needed today", "enter")
        await wait_for(pilot, lambda: bool(events_named(audit, "step.skipped")))
    skipped = events_named(audit, "step.skipped")
    assert [(s["step_key"], s["reason"]) for s in skipped] == [
        ("guarded/optional", "not needed today")
    ]
    finished = {f["step_key"]: f["outcome"] for f in events_named(audit, "step.finished")}
    assert finished["guarded/critical"] == "ok"
    assert not (tmp_path / "optional.txt").exists()


async def test_enter_pressed_twice_on_a_skip_reason_skips_once_and_keeps_the_walk(
    tmp_path: Path,
) -> None:
    """Both Enters are queued before the reason's dialog closes (a laggy link, a bouncing key):
    the second reaches the step's dialog before the reason does. It must neither run the step
    nor close a screen below (Textual's dismiss pops whatever is on top: the walk went, the
    Welcome showed and the engine waited forever)."""
    audit = tmp_path / "run.jsonl"
    app = make_app("guarded.toml", audit, cli_vars={"workdir": str(tmp_path)})
    async with app.run_test(size=(80, 24)) as pilot:
        await past_the_typed_step(pilot, app)
        await answer_when(pilot, "confirm", "y")  # the critical step
        await answer_when(pilot, "confirm", "s")  # optional: asks for a reason
        assert isinstance(app.screen, SkipReasonModal)
        await pilot.press(*"not today")
        app.simulate_key("enter")
        app.simulate_key("enter")
        await wait_for(pilot, lambda: bool(events_named(audit, "step.skipped")))
        await wait_for(
            pilot,
            lambda: isinstance(app.screen, ConfirmModal) and app.screen.step.key == "guarded/slow",
        )
        assert [type(s).__name__ for s in app.screen_stack] == [
            "WelcomeScreen",
            "WalkScreen",
            "ConfirmModal",
        ]
    assert [s["step_key"] for s in events_named(audit, "step.skipped")] == ["guarded/optional"]
    assert "guarded/optional" not in {c["step_key"] for c in events_named(audit, "step.confirmed")}
    assert not (tmp_path / "optional.txt").exists()


async def test_ctrl_c_cancels_a_running_step_after_asking(tmp_path: Path) -> None:
    audit = tmp_path / "run.jsonl"
    app = make_app("guarded.toml", audit, cli_vars={"workdir": str(tmp_path)})
    async with app.run_test(size=(80, 24)) as pilot:
        await past_the_typed_step(pilot, app)
        await answer_when(pilot, "confirm", "y")
        await answer_when(pilot, "confirm", "s", *"skip", "enter")
        await answer_when(pilot, "confirm", "y")  # slow: echo started; sleep 30
        await wait_for(pilot, lambda: app.step_running == "guarded/slow")
        walk = app.walk
        assert isinstance(walk, WalkScreen)
        await wait_for(pilot, lambda: "started" in walk.query_one("#output").lines)
        await pilot.press("ctrl+c")
        assert isinstance(app.screen, YesNoModal)
        await pilot.press("n")  # not cancelled: still running
        await pilot.pause(0.3)
        assert app.step_running == "guarded/slow"
        await pilot.press("ctrl+c", "y")
        await answer_when(pilot, "failure", "s", *"cancelled on purpose", "enter")
        await wait_for(pilot, lambda: isinstance(app.screen, SummaryScreen))
        assert app.exit_code == 0
    finished = [f for f in events_named(audit, "step.finished") if f["step_key"] == "guarded/slow"]
    assert finished[0]["outcome"] == "cancelled"
    assert finished[0]["duration"] < 20
    assert verify(audit).ok


async def test_quit_keeps_the_run_and_resume_asks_about_an_unknown_outcome(tmp_path: Path) -> None:
    audit = tmp_path / "run.jsonl"
    # 1. quit at the first confirmation: exit 3, nothing lost, the resume command shown
    app = make_app("local.toml", audit, cli_vars={"workdir": str(tmp_path), "release": "v1.2.3"})
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.screen.__class__.__name__ == "VariablesScreen")
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: question_kind(app) == "confirm")
        await pilot.press("escape", "q")
        assert isinstance(app.screen, YesNoModal)
        assert "--resume --audit" in str(app.screen.query_one("#prompt", Static).render())
        await pilot.press("y")
        await wait_for(pilot, lambda: app.exit_code is not None)
    assert app.exit_code == 3 and app.return_value == 3
    assert events_named(audit, "session.interrupted")
    assert "--resume --audit" in app.resume_command()

    # 2. a crashed run: a complete plain-mode log cut right after write-marker started
    crashed = tmp_path / "crashed.jsonl"
    lines = plain_run_lines(tmp_path, crashed)
    cut = next(
        i for i, line in enumerate(lines) if b'"step.started"' in line and b"write-marker" in line
    )
    crashed.write_bytes(b"".join(lines[: cut + 1]))
    (tmp_path / "marker.txt").unlink()

    app = make_app("local.toml", crashed, resume=True, cli_vars={"workdir": str(tmp_path)})
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("enter")  # Welcome shows "resume" with the log: Start
        await wait_for(pilot, lambda: question_kind(app) == "unknown")
        assert isinstance(app.screen, UnknownOutcomeModal)
        assert app.walk.query_one("#step-list").states["prepare/write-marker"] == "unknown"
        await pilot.press("r")  # re-run: confirmed again, never silently
        await answer_when(pilot, "confirm", "y")
        await answer_when(pilot, "confirm", "y")
        await answer_when(pilot, "confirm", "y")
        await wait_for(pilot, lambda: isinstance(app.screen, SummaryScreen))
        assert app.exit_code == 0
    assert (tmp_path / "marker.txt").read_text() == "v1.2.3\n"
    assert events_named(crashed, "session.resume")[0]["unknown_steps"] == ["prepare/write-marker"]
    assert events_named(crashed, "step.unknown")
    assert verify(crashed).ok


async def test_quitting_the_demo_does_not_offer_a_resume_it_cannot_keep(tmp_path: Path) -> None:
    audit = tmp_path / "run.jsonl"
    app = make_app("local.toml", audit, cli_vars={"workdir": str(tmp_path), "release": "v1.2.3"})
    app.resumable = False  # what `annotui demo` sets: its sandbox is removed on exit
    async with app.run_test(size=(80, 24)) as pilot:
        await start_guarded(pilot, app)
        await pilot.press("escape", "q")
        assert isinstance(app.screen, YesNoModal)
        prompt = str(app.screen.query_one("#prompt", Static).render())
        assert "cannot be resumed" in prompt and "--resume" not in prompt
        await pilot.press("y")
        await wait_for(pilot, lambda: app.exit_code is not None)
    assert app.exit_code == 3
    assert events_named(audit, "session.interrupted")
