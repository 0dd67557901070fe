"""End to end in a real tmux pane: the cockpit walked to the end with send-keys, the screen read
with capture-pane, and the audit log verified afterwards by `annotui audit verify`.

Nothing is mocked: a private tmux server (its own socket, killed with kill-server on that socket
only), the real `annotui` console script, real subprocesses, the real sandbox (supervisord on
loopback) for anno-release.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from tmux_pane import TmuxError, TmuxPane

pytestmark = pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")

ANNOTUI = [sys.executable, "-m", "annotui.cli"]
TYPED = re.compile(r"type (\S+) then Enter")
MODAL_TITLE = re.compile(r"▀ ([^▀]+?) ▀")
HIDDEN = re.compile(r"▼ \d+ lines? below")
EARLY = "was pressed before this question was shown: ignored"
"""What a question says when a key read before it was on screen reached it (screens.modals)."""
ANSWER = "⏎ Answer"
"""The footer's key while a question waits unopened (on any step viewed: HELD is shown under
the output of the step that just ran, and a step viewed instead shows its own)."""
HELD = "Enter: next question"
"""Shown under a finished step's output while the next question waits for Enter."""
"""The count of a command's lines below the question's view (screens.modals.CommandView)."""
END_MARKS = ("Run complete", "Run ended", "Run stopped", "The run could not go on")


def modal_title(screen: str) -> str | None:
    m = MODAL_TITLE.search(screen)
    return m.group(1) if m else None


def settled(check: Callable[[str], bool], frames: int = 3) -> Callable[[str], bool]:
    """`check`, on a screen that stayed the same for `frames` captures in a row: a capture taken
    while the cockpit is half-way through drawing a frame (tmux's grid partly updated) must not
    be read as the next screen (a question gone that is still there)."""
    seen: list[str] = []

    def on(screen: str) -> bool:
        seen.append(screen)
        del seen[:-frames]
        return len(seen) == frames and len(set(seen)) == 1 and check(screen)

    return on


REFUSALS = ("read the whole command first", EARLY)
"""What a question says when it refused a key: the operator presses it again."""


def press_until(
    pane: TmuxPane, key: str, text: str | Callable[[str], bool], tries: int = 6, times: int = 1
) -> None:
    """Press a key (`times` times at once: a bounce) until `text` shows (or the predicate
    holds). A press the question refused, saying so, is pressed again at once; one that got
    lost under load, after 5 s (an operator would simply press it again)."""
    done = text if callable(text) else (lambda s: text in s)
    for attempt in range(tries):
        before = pane.screen()
        pane.send(*[key] * times)

        def refused(s: str, before: str = before) -> bool:
            return any(r in s and r not in before for r in REFUSALS)

        try:
            screen = pane.wait_for(
                lambda s: done(s) or refused(s), timeout=5 if attempt < tries - 1 else 30
            )
        except TmuxError:
            if attempt == tries - 1:
                raise
            continue
        if not refused(screen):
            return
    raise TmuxError(f"{key!r} was refused {tries} times:\n{pane.screen()}")


NOT_UPDATED = ("hgmd", "gnomad")
"""IGV tracks the sandbox's data archive does not update (the runbook: update only if needed)."""


def walk_to_the_end(
    pane: TmuxPane,
    *,
    step_timeout: float = 60.0,
    held: list[str] | None = None,
    ignored: list[str] | None = None,
) -> tuple[str, list[str]]:
    """Answer every question of the cockpit until the summary shows; return (screen, log).

    Ordinary confirmations get ``y``, typed confirmations the word the modal asks for, evidence a
    short text. A failure question or anything unexpected fails the test with the screen.

    Every answering key (y, the Enter after a typed word or evidence, the Enter that opens a
    held question) is pressed twice at once, as a bouncing key or a laggy link delivers it: the
    second press reaches the terminal before the next question is on screen, and must answer
    nothing (`recorded_decisions` checks that against the log). Screens where a question said
    it ignored such a key are collected in `ignored`.
    """
    answered: list[str] = []
    unclear = retyped = 0
    while True:
        screen = pane.wait_for(
            settled(
                lambda s: (
                    any(m in s for m in END_MARKS)
                    or modal_title(s) is not None
                    or HELD in s
                    or ANSWER in s
                )
            ),
            timeout=step_timeout,
        )
        if any(m in screen for m in END_MARKS):
            return screen, answered
        if ignored is not None and EARLY in screen:
            ignored.append(screen)
        if modal_title(screen) is None:  # the next question waits: the output is readable
            if held is not None:
                held.append(screen)
            pane.send("Enter", "Enter")
            pane.wait_for(
                settled(lambda s: HELD not in s and ANSWER not in s), timeout=step_timeout
            )
            continue
        title = modal_title(screen) or ""
        confirm = title.startswith(("Run:", "Done?"))
        if confirm and HIDDEN.search(screen):
            # the command is taller than its room: read it all (y waits until every line was
            # on screen, and an operator must see what they confirm)
            pane.send("NPage")
            time.sleep(0.1)
            continue
        if title.startswith("Evidence:"):
            pane.type(f"checked by the tmux test ({len(answered)})")
            pane.send("Enter", "Enter")
        elif title.startswith("Run:") and any(t in title.lower() for t in NOT_UPDATED):
            # tracks whose source this release did not update: skipped, with the reason recorded
            press_until(pane, "s", "Skip with a reason")
            pane.type("source not updated in this release")
            pane.send("Enter")
        elif confirm and (typed := TYPED.search(screen)):
            if "not the confirm word" in screen:  # refused: the input holds something else
                pane.send("C-u")
            pane.type(typed.group(1))
            pane.send("Enter", "Enter")
            retyped += 1
            assert retyped < 4, f"the typed word was refused 3 times:\n{pane.screen()}"
            try:  # accepted: the question goes away; refused: it stays with an error
                pane.wait_for(settled(lambda s, t=title: modal_title(s) != t), timeout=10)
            except TmuxError:
                continue
        elif confirm and ("y/Enter run" in screen or "y/Enter done" in screen):
            press_until(pane, "y", settled(lambda s, t=title: modal_title(s) != t), times=2)
        elif unclear < 25:  # the modal may be half drawn in this capture: look again
            unclear += 1
            time.sleep(0.2)
            continue
        else:
            raise TmuxError(f"unexpected question {title!r}:\n{screen}")
        unclear = retyped = 0
        answered.append(title)
        # Wait for this question to go away before reading the next one.
        pane.wait_for(settled(lambda s, t=title: modal_title(s) != t), timeout=step_timeout)


def recorded_decisions(log: Path) -> list[str]:
    """The operator's decisions in the log, in order, named as `walk_to_the_end` names what it
    answered: 'Run: T' / 'Done? T' for a confirmation (or a skip), 'Evidence: T'. Decisions
    nobody made by a key (--yes, confirm = "none", a false `when`) are left out."""
    recs = [json.loads(line) for line in log.read_text().splitlines()]
    shown = {r["step_key"]: r for r in recs if r["event"] == "step.shown"}

    def asked(key: str) -> str:
        verb = "Done?" if shown[key]["kind"] == "manual" else "Run:"
        return f"{verb} {shown[key]['title']}"

    out = []
    for r in recs:
        confirmed = r["event"] == "step.confirmed" and not r.get("auto")
        if confirmed or (r["event"] == "step.skipped" and r.get("condition") is None):
            out.append(asked(r["step_key"]))
        elif r["event"] == "step.evidence":
            out.append(f"Evidence: {shown[r['step_key']]['title']}")
    return out


def same_questions(recorded: list[str], answered: list[str]) -> bool:
    """The log's decisions are the questions answered on screen, one for one, in order. A title
    read off the screen may be cut where a toast lay over it (its left edge is ▌): it must then
    begin the recorded one."""
    if len(recorded) != len(answered):
        return False
    for full, seen in zip(recorded, answered, strict=True):
        cut = seen.split("▌")[0].rstrip()
        if full != seen and not (cut != seen and full.startswith(cut)):
            return False
    return True


def start_run(pane: TmuxPane) -> None:
    """Welcome -> New run -> Variables (prefilled) -> start."""
    pane.wait_for("New run", timeout=20)
    pane.send("Enter")
    pane.wait_for("Start the run", timeout=20)
    pane.send("C-s")


def verify(log: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*ANNOTUI, "audit", "verify", str(log)], capture_output=True, text=True, timeout=60
    )


@pytest.fixture
def tmux_dir(tmp_path: Path) -> Iterator[Path]:
    # tmux sockets must have short paths (sun_path is 108 bytes): use a short private dir.
    import tempfile

    d = Path(tempfile.mkdtemp(prefix="at-"))
    yield d
    shutil.rmtree(d, ignore_errors=True)


CHECKLISTS = Path(__file__).parent / "checklists"


def test_tiny_checklist_walked_in_tmux(tmp_path: Path, tmux_dir: Path) -> None:
    checklist = CHECKLISTS / "tiny.toml"
    log = tmp_path / "audit.jsonl"
    pane = TmuxPane(
        tmux_dir,
        [*ANNOTUI, "run", str(checklist), "--audit", str(log)],
        env={
            "XDG_STATE_HOME": str(tmp_path / "state"),
            "XDG_CACHE_HOME": str(tmp_path / "cache"),
            "PATH": os.environ["PATH"],
        },
        cwd=tmp_path,
    )
    try:
        start_run(pane)
        screen, answered = walk_to_the_end(pane, step_timeout=20)
        assert "Run complete" in screen and "3 of 3 steps done" in screen
        assert answered == [
            "Done? Write something down",
            "Evidence: Write something down",
            "Run: count",
            "Run: typed",
        ]
        pane.send("q")
        assert pane.exit_code() == 0
    finally:
        pane.kill()
    assert (tmp_path / "typed.out").read_text() == "hello\n"
    # each key was pressed twice: the second press answered nothing
    assert same_questions(recorded_decisions(log), answered), (recorded_decisions(log), answered)
    done = verify(log)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "intact" in done.stdout


def test_anno_release_against_the_sandbox_in_tmux(tmp_path: Path, tmux_dir: Path) -> None:
    from annotui import sandbox

    world = tmp_path / "sandbox"
    info = sandbox.build(world)
    log = tmp_path / "audit.jsonl"
    pane = None
    try:
        pane = TmuxPane(
            tmux_dir,
            [
                *ANNOTUI,
                "run",
                "anno-release",
                "--vars-file",
                str(info.vars_file),
                "--audit",
                str(log),
            ],
            env={
                "XDG_STATE_HOME": str(tmp_path / "state"),
                "XDG_CACHE_HOME": str(tmp_path / "cache"),
                "PATH": os.environ["PATH"],
            },
            cwd=world,
            width=80,
            height=24,
        )
        started = time.monotonic()
        start_run(pane)
        held: list[str] = []
        ignored: list[str] = []
        screen, answered = walk_to_the_end(pane, held=held, ignored=ignored)
        assert "Run complete" in screen, screen
        assert len(answered) > 50
        # at 80x24, with the status strip on screen: every step's output could be read before
        # the next question covered anything (the question waited for Enter)
        assert len(held) > 10
        for shown in held:
            assert "─Status─" in shown, shown
            assert re.search(r"─ Output: \S", shown), shown  # the finished step's own output
        assert time.monotonic() - started < 240
        pane.send("q")
        assert pane.exit_code() == 0
    finally:
        if pane is not None:
            pane.kill()
        sandbox.stop(world)
    # every answering key was pressed twice: no second press answered the question after it
    assert same_questions(recorded_decisions(log), answered), (recorded_decisions(log), answered)
    assert ignored, "no bounced key reached a question: the check above proved nothing"
    done = verify(log)
    assert done.returncode == 0, done.stdout + done.stderr
