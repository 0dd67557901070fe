"""A list var (issue 13) in the cockpit's var form: its values are checked as the operator
types them (each value, none twice), and the run loops over them (the real engine)."""

from __future__ import annotations

from pathlib import Path

from cockpit_helpers import make_app, question_kind, screen_text, wait_for
from textual.widgets import Input

LISTS = Path(__file__).parents[1] / "engine" / "checklists" / "lists.toml"


async def test_a_list_var_is_typed_checked_and_looped_over(tmp_path: Path) -> None:
    audit = tmp_path / "run.jsonl"
    app = make_app(str(LISTS), audit, cli_vars={"work": str(tmp_path)})
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("enter")  # Welcome: Start
        await wait_for(pilot, lambda: app.screen.__class__.__name__ == "VariablesScreen")
        assert "Variables of Deploy r1" in screen_text(app)  # a templated title, rendered
        field = app.screen.query_one("#var-apps", Input)
        field.focus()
        await pilot.press(*"web,web")
        await wait_for(pilot, lambda: "lists 'web' twice" in screen_text(app))
        await pilot.press(*["backspace"] * 3, *"api")
        await wait_for(pilot, lambda: "twice" not in screen_text(app))
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: question_kind(app) == "confirm")
        assert app.screen.step.key == "deploy[web]/write"  # type: ignore[attr-defined]
    sets = [line for line in audit.read_text().splitlines() if '"var.set"' in line]
    assert any('"name":"apps"' in s and '"value":"web,api"' in s for s in sets)
