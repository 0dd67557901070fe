"""The two-person rule in the cockpit, with the real engine and real OpenSSH: while an approval
step waits, the step view shows who is asked, how many have approved and who, the refusals, the
time left (ticking) and the exact `annotui audit approve` command; a second process approves
with its own ssh-keygen key and the run goes on. In rehearsal it says it would wait."""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

from cockpit_helpers import CHECKLISTS, events_named, make_app, question_kind, start_run, wait_for
from textual.pilot import Pilot
from textual.widgets import Static

from screens.app import CockpitApp
from screens.summary import SummaryScreen
from screens.widgets.step_list import StepList
from tests.audit.sshkeys import Key, allowed_signers, make_key

STEP = "release[staging]/approve"


def world(tmp_path: Path) -> tuple[Path, dict[str, Key]]:
    """A copy of approval.toml with its allowed_signers beside it; keys made by ssh-keygen."""
    keys = {n: make_key(tmp_path / "keys", n) for n in ("operator", "reviewer")}
    checklist = tmp_path / "approval.toml"
    shutil.copy(CHECKLISTS / "approval.toml", checklist)
    allowed_signers(
        tmp_path / "allowed_signers",
        ("alice@example", keys["operator"], ""),  # the operator is an approver too
        ("bob@example", keys["reviewer"], ""),
    )
    (tmp_path / "work").mkdir()
    return checklist, keys


async def answer(pilot: Pilot, key: str) -> None:
    """Confirm the open question once it has been on screen a moment (a key read before the
    dialog was drawn is not taken as its answer)."""
    await wait_for(pilot, lambda: question_kind(pilot.app) == "confirm")  # type: ignore[arg-type]
    await pilot.pause(0.3)
    await pilot.press(key)


def approval_box(app: CockpitApp) -> str:
    walk = app.walk
    if walk is None or not walk.is_mounted:
        return ""
    box = walk.query_one("#approval", Static)
    return str(box.render()) if box.display else ""


def approve(audit: Path, key: Key, note: str) -> subprocess.CompletedProcess[str]:
    """`annotui audit approve` in another process, as a second person runs it."""
    return subprocess.run(
        [sys.executable, "-m", "annotui.cli", "audit", "approve", str(audit), "--step", STEP,
         "--sign-with", str(key.private), "--note", note],
        capture_output=True, text=True, timeout=60, env=dict(os.environ),
    )  # fmt: skip


async def test_the_cockpit_shows_the_wait_live_and_goes_on_when_approved(tmp_path: Path) -> None:
    checklist, keys = world(tmp_path)
    audit = tmp_path / "run.jsonl"
    app = make_app(str(checklist), audit, cli_vars={"work": str(tmp_path / "work")})
    app.options.sign_with = str(keys["operator"].private)
    async with app.run_test(size=(80, 24)) as pilot:
        await start_run(pilot)
        await answer(pilot, "y")  # the approval step: the run now waits
        await wait_for(pilot, lambda: "WAITING FOR APPROVAL" in approval_box(app))
        shown = approval_box(app)
        assert "0 of 1 approved" in shown and "asked: alice@example, bob@example" in shown
        how = f"annotui audit approve {audit} --step '{STEP}' --sign-with KEY"
        assert how in shown, shown
        found = re.search(r"\d+:\d\d left", shown)
        assert found is not None and found[0].startswith(("10:00", "9:5")), shown
        left = found[0]
        # the time left counts down on screen while nothing else happens
        await wait_for(pilot, lambda: left not in approval_box(app), timeout=10)
        assert (tmp_path / "work" / "deployed.txt").exists() is False
        # the run's own key is refused, live
        own = await asyncio.to_thread(approve, audit, keys["operator"], "mine")
        assert own.returncode == 0, own.stderr
        await wait_for(pilot, lambda: "refused" in approval_box(app))
        shown = approval_box(app)
        assert "the run's own signer cannot approve it" in shown and "0 of 1" in shown
        # a second person approves: the display says who, and the run goes on
        good = await asyncio.to_thread(approve, audit, keys["reviewer"], "looks right")
        assert good.returncode == 0, good.stderr
        walk = app.walk
        assert walk is not None
        await wait_for(pilot, lambda: walk.current == "release[staging]/deploy")
        assert walk.query_one(StepList).states[STEP] == "ok"
        walk.view_step(STEP)  # the approval step, viewed again: who approved it
        shown = approval_box(app)
        assert shown.startswith("APPROVED 1 of 1 approved"), shown
        assert "bob@example" in shown and "looks right" in shown
        assert "annotui audit approve" not in shown  # nothing left to run
        await answer(pilot, "y")  # deploy
        await wait_for(pilot, lambda: isinstance(app.screen, SummaryScreen))
        assert app.exit_code == 0
    assert (tmp_path / "work" / "deployed.txt").read_text() == "deployed\n"
    granted = events_named(audit, "approval.granted")
    assert [(g["principal"], g["note"]) for g in granted] == [("bob@example", "looks right")]


async def test_rehearsal_says_it_would_wait(tmp_path: Path) -> None:
    checklist, _keys = world(tmp_path)
    audit = tmp_path / "run.jsonl"
    app = make_app(str(checklist), audit, cli_vars={"work": str(tmp_path / "work")}, rehearse=True)
    async with app.run_test(size=(80, 24)) as pilot:
        await start_run(pilot)
        # said while the step is shown, before it is confirmed
        shown = approval_box(app).replace("\n", " ")
        assert shown.startswith("REHEARSAL: would wait here for 1 approval(s) by "), shown
        assert "alice@example, bob@example" in shown
        await answer(pilot, "y")
        walk = app.walk
        assert walk is not None
        await wait_for(pilot, lambda: walk.query_one(StepList).states[STEP] == "would-run")
        assert any("rehearsal: would wait for approval by" in n for n in walk.notes[STEP])
    assert not events_named(audit, "approval.wait")
