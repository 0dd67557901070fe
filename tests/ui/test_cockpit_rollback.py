"""`[[stages.rollback]]` in the cockpit (80x24, the real engine, real commands): after a real
failure the failure box offers roll back (key b, in its footer and its hint), the stage's rollback
steps then run in order, each confirmed, the choice is recorded (`stage.rollback`) and the run
stops with exit 1. A stage without rollback steps offers nothing of the kind."""

from __future__ import annotations

from pathlib import Path

from cockpit_helpers import answer_when, events, make_app, question_kind, screen_text, wait_for

from screens.modals import FailureModal
from screens.summary import SummaryScreen


async def test_a_real_failure_rolled_back_from_the_failure_box(tmp_path: Path) -> None:
    (tmp_path / "old").mkdir()  # `new` does not exist: the health check really fails
    audit = tmp_path / "run.jsonl"
    app = make_app("rollback.toml", audit, cli_vars={"workdir": str(tmp_path)})
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("enter")  # Welcome: Start
        await wait_for(pilot, lambda: app.screen.__class__.__name__ == "VariablesScreen")
        await pilot.press("ctrl+s")
        await answer_when(pilot, "confirm", "y")  # new-link
        await answer_when(pilot, "confirm", "y")  # health: fails
        await wait_for(pilot, lambda: question_kind(app) == "failure")
        assert isinstance(app.screen, FailureModal)
        text = screen_text(app)
        footer = text.splitlines()[-1]
        assert "Roll back" in footer and "Retry" in footer
        assert "b roll the stage back" in text
        await pilot.press("b")
        await wait_for(pilot, lambda: question_kind(app) == "confirm")
        assert app.screen.step.key == "swap/rollback/old-link"  # type: ignore[attr-defined]
        assert "Point current back at the old release" in screen_text(app)
        await pilot.press("y")
        await answer_when(pilot, "confirm", "y")  # verify-old
        await wait_for(pilot, lambda: isinstance(app.screen, SummaryScreen))
        assert app.exit_code == 1
    assert (tmp_path / "current").resolve() == (tmp_path / "old").resolve()
    assert not (tmp_path / "after").exists()
    recs = events(audit)
    fin = [(r["step_key"], r["outcome"]) for r in recs if r["event"] == "step.finished"]
    assert fin == [
        ("swap/new-link", "ok"),
        ("swap/health", "failed"),
        ("swap/rollback/old-link", "ok"),
        ("swap/rollback/verify-old", "ok"),
    ]
    confirmed = [r["step_key"] for r in recs if r["event"] == "step.confirmed"]
    assert confirmed[-2:] == ["swap/rollback/old-link", "swap/rollback/verify-old"]
    rollback = [r for r in recs if r["event"] == "stage.rollback"]
    assert [(r["phase"], r.get("step_key"), r.get("outcome")) for r in rollback] == [
        ("start", "swap/health", None),
        ("end", None, "ok"),
    ]


async def test_no_rollback_offered_where_the_stage_has_none(tmp_path: Path) -> None:
    (tmp_path / "new").mkdir()  # the swap stage passes; the plain stage's check fails
    audit = tmp_path / "run.jsonl"
    app = make_app("rollback.toml", audit, cli_vars={"workdir": str(tmp_path)})
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.screen.__class__.__name__ == "VariablesScreen")
        await pilot.press("ctrl+s")
        for _ in range(4):  # new-link, health, never, fails
            await answer_when(pilot, "confirm", "y")
        await wait_for(pilot, lambda: question_kind(app) == "failure")
        modal = app.screen
        text = screen_text(app)
        assert "Roll back" not in text.splitlines()[-1] and "roll the stage back" not in text
        await pilot.press("b")  # not offered: nothing happens
        await pilot.pause(0.3)
        assert app.screen is modal
    assert not [r for r in events(audit) if r["event"] == "stage.rollback"]
