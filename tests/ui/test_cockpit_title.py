# ruff: noqa: RUF001, RUF002 - the angle quotes are what the operator sees
"""A templated `[checklist] title` in the cockpit (issue 13), at 80x24: before its vars have
values the var form shows the title with each missing value as ‹name› (not the checklist's id),
each placeholder filled in once its field holds an acceptable value; the run records the
resolved title (the real engine)."""

from __future__ import annotations

from pathlib import Path

from cockpit_helpers import events_named, make_app, screen_text, wait_for
from textual.widgets import Input


async def test_the_var_form_shows_the_title_as_its_vars_are_set(tmp_path: Path) -> None:
    audit = tmp_path / "run.jsonl"
    app = make_app("title.toml", audit, cli_vars={"environment": "staging"})
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("enter")  # Welcome: Start
        await wait_for(pilot, lambda: app.screen.__class__.__name__ == "VariablesScreen")
        # environment came from --var; release has no value yet
        await wait_for(pilot, lambda: "Variables of Ship ‹release› to staging" in screen_text(app))
        border = next(line for line in screen_text(app).splitlines() if "Variables of" in line)
        assert "title-demo" not in border and "{{" not in border  # the banner keeps the id
        field = app.screen.query_one("#var-release", Input)
        field.focus()
        await pilot.press(*"2.0")  # not ^v[0-9]+$: not a value yet
        await wait_for(pilot, lambda: "must match" in screen_text(app))
        assert "Ship ‹release› to staging" in screen_text(app)
        await pilot.press(*["backspace"] * 3, *"v2")
        await wait_for(pilot, lambda: "Variables of Ship v2 to staging" in screen_text(app))
        env = app.screen.query_one("#var-environment", Input)
        env.focus()
        await pilot.press(*["backspace"] * len("staging"))
        await wait_for(pilot, lambda: "Ship v2 to ‹environment›" in screen_text(app))
        await pilot.press(*"prod")
        await wait_for(pilot, lambda: "Variables of Ship v2 to prod" in screen_text(app))
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: app.screen.__class__.__name__ == "SummaryScreen")
    plan = events_named(audit, "run.plan")
    assert [p["title"] for p in plan] == ["Ship v2 to prod"]
