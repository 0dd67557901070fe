"""The cockpit walked by keys with the real engine: local commands really run, the audit log is
really written and verified."""

from __future__ import annotations

from pathlib import Path

from cockpit_helpers import answer_when, events_named, make_app, wait_for

from annotui.audit.proof import checkpoint
from annotui.audit.verify import verify
from screens.summary import SummaryScreen
from screens.variables import VariablesScreen
from screens.walk import WalkScreen
from screens.widgets.step_list import StepList


async def test_walk_local_checklist_to_the_end(tmp_path: Path) -> None:
    audit = tmp_path / "run.jsonl"
    app = make_app("local.toml", audit, cli_vars={"workdir": str(tmp_path)})
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("enter")  # Welcome: Start
        await wait_for(pilot, lambda: isinstance(app.screen, VariablesScreen))
        # release has no value: the form focuses it and refuses to start without it
        await pilot.press("ctrl+s")
        assert isinstance(app.screen, VariablesScreen)
        await pilot.press(*"v1.2.3", "ctrl+s")
        await wait_for(pilot, lambda: isinstance(app.screen, WalkScreen) or app.question_open)
        await answer_when(pilot, "confirm", "y")
        await answer_when(pilot, "evidence", *"https://notes/1", "enter")
        await answer_when(pilot, "confirm", "y")  # write-marker
        await answer_when(pilot, "confirm", "y")  # check-marker
        await answer_when(pilot, "confirm", "y")  # announce
        await wait_for(pilot, lambda: isinstance(app.screen, SummaryScreen))
        assert app.exit_code == 0
        states = app.walk.query_one(StepList).states  # type: ignore[union-attr]
        assert set(states.values()) == {"ok"}
        summary = str(app.screen.query_one("#facts").render())
        assert "run.jsonl" in summary
        assert app.announcement == "Release **v1.2.3** is out on staging."
        screen = app.screen
        await wait_for(pilot, lambda: screen.checkpoint is not None)  # type: ignore[attr-defined]
        shown = str(screen.query_one("#checkpoint").render())
    assert (tmp_path / "marker.txt").read_text() == "v1.2.3\n"
    result = verify(audit)
    assert result.ok and result.ended and result.sealed
    # the checkpoint on screen is the one `annotui audit checkpoint` gives for the finished log
    assert checkpoint(result).rstrip("\n") in shown and "unsigned" in shown
    evidence = events_named(audit, "step.evidence")
    assert evidence[0]["text"] == "https://notes/1"
    confirmed = events_named(audit, "step.confirmed")
    assert [c["operator"] for c in confirmed] == ["tester"] * 4
    var_sets = {v["name"]: v["source"] for v in events_named(audit, "var.set")}
    assert var_sets["release"] == "cli" and var_sets["environment"] == "default"
