"""The Welcome at 80x24: everything on one screen, the chosen mode said in words, and Enter on
the mode list starts with the highlighted mode."""

from __future__ import annotations

from pathlib import Path

from cockpit_helpers import make_app, screen_text, wait_for
from textual.widgets import RadioSet

from screens.variables import VariablesScreen


async def test_enter_on_the_mode_list_starts_the_highlighted_mode(tmp_path: Path) -> None:
    app = make_app("local.toml", tmp_path / "run.jsonl", cli_vars={"workdir": str(tmp_path)})
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: getattr(app.focused, "id", None) == "start")
        await wait_for(pilot, lambda: "◀ chosen" in screen_text(app))
        text = screen_text(app)
        assert "annotui — a guided, audited deployment" in text  # the headline is in view
        assert "Start" in text and "New run (LIVE: changes are real)  ◀ chosen" in text
        app.set_focus(app.screen.query_one("#mode", RadioSet))
        await pilot.press("down")  # highlight Rehearse
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, VariablesScreen))
        assert app.options.rehearse and not app.options.resume
        await wait_for(pilot, lambda: "REHEARSAL" in screen_text(app))  # once it is drawn


async def test_the_viewer_inside_the_cockpit_goes_back_with_esc_and_q(tmp_path: Path) -> None:
    from cockpit_helpers import question_kind

    from screens.audit_viewer import AuditViewerScreen
    from screens.help import HelpScreen

    app = make_app("local.toml", tmp_path / "run.jsonl", cli_vars={"workdir": str(tmp_path)})
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, VariablesScreen))
        await pilot.press(*"v1.2.3", "ctrl+s")
        await wait_for(pilot, lambda: question_kind(app) == "confirm")
        await pilot.press("escape")
        app.action_audit_viewer()
        await wait_for(pilot, lambda: isinstance(app.screen, AuditViewerScreen))
        await wait_for(pilot, lambda: " q Back" in screen_text(app))  # once it is drawn
        footer = screen_text(app).splitlines()[-1]
        assert footer.startswith(" q Back") and "Quit" not in footer
        await pilot.press("f1")  # the viewer's keys, not the cockpit's
        await wait_for(pilot, lambda: isinstance(app.screen, HelpScreen))
        await wait_for(pilot, lambda: "Keys of the audit viewer" in screen_text(app))
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, AuditViewerScreen))
        app.screen.query_one("#timeline").focus()
        await pilot.press("escape")  # from the timeline: back to the run
        await wait_for(pilot, lambda: app.screen is app.walk)
        app.action_audit_viewer()
        await wait_for(pilot, lambda: isinstance(app.screen, AuditViewerScreen))
        await pilot.press("q")
        await wait_for(pilot, lambda: app.screen is app.walk)
        assert app.running  # back to the run, nothing stopped


async def test_variables_say_where_each_value_comes_from(tmp_path: Path) -> None:
    vars_file = tmp_path / "v.toml"
    vars_file.write_text('workdir = "/srv"\n')
    app = make_app("local.toml", tmp_path / "run.jsonl", cli_vars={"release": "v9.9.9"})
    app.options.vars_file = vars_file
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, VariablesScreen))
        await wait_for(pilot, lambda: "Start the run" in screen_text(app))
        rows = screen_text(app).splitlines()
        assert any("release" in r and "(from --var)" in r for r in rows)
        assert any("workdir" in r and "(from the vars file)" in r for r in rows)
        assert any("environment" in r and "(from the default)" in r for r in rows)
        # every var and the start button on one 80x24 screen
        start = next(i for i, r in enumerate(rows) if "Start the run" in r)
        assert start < 20
