"""No key answers a question it was not meant for (issue 16), with the real engine at 80x24.

A key the terminal delivered before a question was on screen (a `y` pressed twice for the
question before, an Enter meant for the held output, a burst that arrives late over a laggy link)
is dropped by the question, which says so; the same key pressed once the question shows answers
it. The early keys here are real Textual key events, stamped (as the driver stamps every key it
reads) before the question was shown, and delivered after it opened, as a busy app would."""

from __future__ import annotations

from pathlib import Path

from cockpit_helpers import answer_when, make_app, question_kind, screen_text, start_run, wait_for
from textual.events import Key
from textual.pilot import Pilot

from screens.app import CockpitApp
from screens.modals import ConfirmModal

VARS = {"release": "v1.2.3"}
IGNORED = "was pressed before this question was shown: ignored"


async def deliver(pilot: Pilot, *keys: Key) -> None:
    for key in keys:
        pilot.app.post_message(key)
    await pilot.pause(0.2)


def open_confirm(app: CockpitApp, title: str) -> bool:
    modal = app.question_modal
    return (
        question_kind(app) == "confirm"
        and isinstance(modal, ConfirmModal)
        and modal.step.title == title
        and modal._shown_at is not None
    )


async def test_a_y_read_before_the_next_question_showed_does_not_run_it(tmp_path: Path) -> None:
    app = make_app("local.toml", tmp_path / "run.jsonl", cli_vars=VARS | {"workdir": str(tmp_path)})
    async with app.run_test(size=(80, 24)) as pilot:
        await start_run(pilot)
        await pilot.press("y")  # the manual step: done
        # the operator's y for "Done?" bounced: two more arrive, read before the next question
        early = [Key("y", "y"), Key("enter", None)]
        await answer_when(pilot, "evidence", *"notes/1", "enter")
        await wait_for(pilot, lambda: open_confirm(app, "Write the marker file"))
        await deliver(pilot, *early)
        assert open_confirm(app, "Write the marker file"), "an early key answered the question"
        assert not (tmp_path / "marker.txt").exists()
        assert IGNORED in screen_text(app)
        await pilot.press("y")  # pressed with the question on screen: it runs
        await wait_for(pilot, lambda: (tmp_path / "marker.txt").exists())


async def test_a_second_enter_for_the_held_output_does_not_run_the_step(tmp_path: Path) -> None:
    app = make_app("local.toml", tmp_path / "run.jsonl", cli_vars=VARS | {"workdir": str(tmp_path)})
    async with app.run_test(size=(80, 24)) as pilot:
        await start_run(pilot)
        await pilot.press("y")
        await answer_when(pilot, "evidence", *"notes/1", "enter")
        await wait_for(pilot, lambda: open_confirm(app, "Write the marker file"))
        await pilot.pause(0.2)
        await pilot.press("y")
        # the output is held: Enter opens the next question; its double arrives late
        await wait_for(pilot, lambda: app.question_waiting(), open_held=False)
        second = Key("enter", None)
        await pilot.press("enter")
        await wait_for(pilot, lambda: open_confirm(app, "The marker holds the release"))
        await deliver(pilot, second)
        assert open_confirm(app, "The marker holds the release"), "the double Enter ran it"
        assert IGNORED in screen_text(app)


async def test_letters_typed_early_are_kept_but_never_submit(tmp_path: Path) -> None:
    app = make_app("local.toml", tmp_path / "run.jsonl", cli_vars=VARS | {"workdir": str(tmp_path)})
    async with app.run_test(size=(80, 24)) as pilot:
        await start_run(pilot)
        early = [*(Key(c, c) for c in "ab"), Key("enter", None)]
        await pilot.press("y")
        await wait_for(pilot, lambda: question_kind(app) == "evidence")
        await deliver(pilot, *early)
        assert question_kind(app) == "evidence", "an early Enter submitted the evidence"
        await pilot.press(*"c", "enter")
        await wait_for(pilot, lambda: open_confirm(app, "Write the marker file"))
    evidence = [
        line for line in (tmp_path / "run.jsonl").read_text().splitlines() if "evidence" in line
    ]
    assert any('"abc"' in line for line in evidence), evidence
