"""What is confirmed is what is shown: the confirmation at 80x24 with the real engine.

A command taller than the screen scrolls inside the question, a line under it counts the lines
out of view, and the step does not run until every line of it has been on screen. A critical
step offers no skip anywhere, and a try to skip it is refused and recorded.
"""

from __future__ import annotations

import re
from pathlib import Path

from cockpit_helpers import (
    answer_when,
    events_named,
    make_app,
    question_kind,
    screen_text,
    wait_for,
)
from textual.pilot import Pilot

from screens.app import CockpitApp
from screens.modals import CommandView, ConfirmModal

FORTY = [f"echo line-{i:02d} >> long.txt" for i in range(1, 41)]


async def start(pilot: Pilot, app: CockpitApp) -> None:
    await pilot.press("enter")  # Welcome: Start
    await wait_for(pilot, lambda: app.screen.__class__.__name__ == "VariablesScreen")
    await pilot.press("ctrl+s")  # every var has a default
    await wait_for(pilot, lambda: question_kind(app) == "confirm")
    await wait_for(pilot, lambda: "Run: " in screen_text(app) or "Done? " in screen_text(app))
    await pilot.pause(0.3)


def dialog_text(app: CockpitApp) -> str:
    """The question's dialog as shown: the rows between its top and bottom border."""
    rows = screen_text(app).splitlines()
    top = next(i for i, r in enumerate(rows) if "Run: " in r or "Done? " in r)
    return "\n".join(rows[top:])


def hidden_below(text: str) -> int:
    m = re.search(r"▼ (\d+) lines? below", text)
    return int(m.group(1)) if m else 0


async def read_to_the_end(pilot: Pilot, app: CockpitApp, seen: set[str]) -> list[str]:
    """Press PgDn until the end of the command shows; the counts shown on the way."""
    counts = []
    for _ in range(20):
        text = dialog_text(app)
        seen.update(line for line in FORTY if line.replace("long", "typed") in text or line in text)
        counts.append(text)
        if "end of the command" in text:
            return counts
        await pilot.press("pagedown")
        await pilot.pause(0.1)
    raise AssertionError("the end of the command never showed:\n" + dialog_text(app))


async def test_a_forty_line_command_is_reachable_by_scrolling_at_80x24(tmp_path: Path) -> None:
    audit = tmp_path / "run.jsonl"
    app = make_app("long.toml", audit, cli_vars={"workdir": str(tmp_path)})
    async with app.run_test(size=(80, 24)) as pilot:
        await start(pilot, app)
        modal = app.screen
        assert isinstance(modal, ConfirmModal) and modal.step.key == "long/forty"
        view = modal.query_one(CommandView)
        first = dialog_text(app)
        shown = [line for line in FORTY if line in first]
        assert shown == FORTY[: len(shown)] and 5 <= len(shown) < 40
        # the count of hidden lines is on screen, and it is right
        assert hidden_below(first) == 40 - len(shown), first
        assert "PgDn Read on" in screen_text(app).splitlines()[-1]
        # y before the end was on screen: refused, nothing runs
        await pilot.press("y")
        await pilot.pause(0.2)
        assert app.screen is modal
        assert f"{40 - len(shown)} lines not shown yet" in dialog_text(app)
        assert not events_named(audit, "step.confirmed")
        seen: set[str] = set()
        screens = await read_to_the_end(pilot, app, seen)
        assert seen == set(FORTY)  # every line was on screen
        below = [hidden_below(s) for s in screens]
        assert below == sorted(below, reverse=True) and below[-1] == 0
        assert "▲" in screens[-1] and "not shown yet" not in screens[-1]
        assert view.unread == 0
        assert "PgDn Read on" not in screen_text(app).splitlines()[-1]
        await pilot.press("y")
        await wait_for(pilot, lambda: (tmp_path / "long.txt").exists())
        await wait_for(pilot, lambda: question_kind(app) == "confirm")
    assert (tmp_path / "long.txt").read_text().split() == [f"line-{i:02d}" for i in range(1, 41)]
    assert events_named(audit, "step.confirmed")[0]["step_key"] == "long/forty"


async def test_a_typed_word_waits_for_the_whole_command_too(tmp_path: Path) -> None:
    audit = tmp_path / "run.jsonl"
    app = make_app("long.toml", audit, cli_vars={"workdir": str(tmp_path)})
    async with app.run_test(size=(80, 24)) as pilot:
        await start(pilot, app)
        seen: set[str] = set()
        await read_to_the_end(pilot, app, seen)
        await pilot.press("y")
        await wait_for(
            pilot,
            lambda: question_kind(app) == "confirm" and app.screen.step.key == "long/typed",  # type: ignore[attr-defined]
        )
        await pilot.pause(0.3)
        modal = app.screen
        assert isinstance(modal, ConfirmModal)
        word = modal.step.confirm_word
        assert word and app.focused is not None and app.focused.id == "word"
        # PgDn reaches the command although the word's input has the focus
        assert "PgDn Read on" in screen_text(app).splitlines()[-1]
        await pilot.press(*word, "enter")
        await pilot.pause(0.2)
        assert app.screen is modal and "not shown yet" in dialog_text(app)
        assert not (tmp_path / "typed.txt").exists()
        seen = set()
        await read_to_the_end(pilot, app, seen)
        assert seen == set(FORTY)
        await pilot.press("enter")  # the word is still typed
        await wait_for(pilot, lambda: app.exit_code is not None)
    assert len((tmp_path / "typed.txt").read_text().split()) == 40
    typed = [c for c in events_named(audit, "step.confirmed") if c["step_key"] == "long/typed"]
    assert typed[0]["word"] == word


async def test_a_short_command_shows_no_count_and_runs_at_once(tmp_path: Path) -> None:
    audit = tmp_path / "run.jsonl"
    app = make_app("local.toml", audit, cli_vars={"workdir": str(tmp_path), "release": "v1.2.3"})
    async with app.run_test(size=(80, 24)) as pilot:
        await start(pilot, app)
        # a manual step says what y means there: done, not run
        assert "y/Enter done" in dialog_text(app)
        assert " y Done " in screen_text(app).splitlines()[-1]
        await pilot.press("y")
        await answer_when(pilot, "evidence", *"https://notes/1", "enter")
        await wait_for(pilot, lambda: question_kind(app) == "confirm")
        await pilot.pause(0.2)
        text = dialog_text(app)
        assert "echo v1.2.3 > marker.txt && echo wrote marker" in text
        assert "below" not in text and "end of the command" not in text
        await pilot.press("y")
        await wait_for(pilot, lambda: (tmp_path / "marker.txt").exists())


async def test_a_critical_step_offers_no_skip_and_a_try_is_recorded(tmp_path: Path) -> None:
    audit = tmp_path / "run.jsonl"
    app = make_app("guarded.toml", audit, cli_vars={"workdir": str(tmp_path)})
    async with app.run_test(size=(80, 24)) as pilot:
        await start(pilot, app)
        await pilot.press(*"prod", "enter")  # the typed step
        await wait_for(
            pilot,
            lambda: question_kind(app) == "confirm" and app.screen.step.critical,  # type: ignore[attr-defined]
        )
        await pilot.pause(0.2)
        modal = app.screen
        footer = screen_text(app).splitlines()[-1]
        assert "skip" not in dialog_text(app).lower().replace("cannot be skipped", "")
        assert "Skip" not in footer
        await pilot.press("s")
        await wait_for(pilot, lambda: bool(events_named(audit, "step.refused")))
        assert app.screen is modal and "critical" in dialog_text(app)
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: len(events_named(audit, "step.refused")) == 2)
        await pilot.press("y")
        await wait_for(pilot, lambda: question_kind(app) == "confirm" and app.screen is not modal)
    refused = events_named(audit, "step.refused")
    assert [(r["step_key"], r["action"], r["operator"]) for r in refused] == [
        ("guarded/critical", "skip", "tester")
    ] * 2
    finished = {f["step_key"]: f["outcome"] for f in events_named(audit, "step.finished")}
    assert finished["guarded/critical"] == "ok"
    assert not events_named(audit, "step.skipped")
