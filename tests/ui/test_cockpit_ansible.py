"""An ansible step in the cockpit with the real engine and real ansible-core: the failing host
is named in the step's notes and the failure question, and the recap is on screen (80x24)."""

from __future__ import annotations

from pathlib import Path

from cockpit_helpers import answer_when, make_app, question_kind, screen_text, wait_for
from textual.pilot import Pilot


async def start(pilot: Pilot, app) -> None:
    await pilot.press("enter")  # Welcome: Start
    await wait_for(pilot, lambda: app.screen.__class__.__name__ == "VariablesScreen")
    await pilot.press("ctrl+s")


async def test_a_failing_host_is_named_on_screen(tmp_path: Path) -> None:
    inventory = tmp_path / "hosts.ini"
    inventory.write_text(
        "[all]\nu1 ansible_connection=local\nu2 ansible_connection=local\n"
        "[all:vars]\nansible_python_interpreter=/usr/bin/python3\n"
    )
    app = make_app("ansible.toml", tmp_path / "run.jsonl", cli_vars={"inventory": str(inventory)})
    async with app.run_test(size=(80, 24)) as pilot:
        await start(pilot, app)
        await answer_when(pilot, "confirm", "y")
        await wait_for(pilot, lambda: question_kind(app) == "failure", timeout=120)
        assert "failed on u2" in screen_text(app)  # the failure question names the host
        notes = "\n".join(app.walk.notes.get("fleet/play", [])) if app.walk else ""
        assert "failed u2 · refuse on u2: u2 says no" in notes.replace("[b red]", "").replace(
            "[/]", ""
        ), notes
        assert "u1: ok=1" in notes and "u2: " in notes, notes
