"""The two-person rule end to end in a real terminal: the cockpit in a tmux pane waits at an
approval step and shows the command to approve it; that command, copied from the screen, is
run in a real shell as a second person with their own ssh-keygen key; the cockpit shows the
approval, the run goes on, and the approval is in the signed log and in the report."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from test_tmux_e2e import press_until
from tmux_pane import TmuxPane

from tests.audit.markdown_view import view
from tests.audit.sshkeys import allowed_signers, make_key

pytestmark = [
    pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed"),
    pytest.mark.timeout(180),
]

CHECKLIST = Path(__file__).parent / "checklists" / "approval.toml"
ANNOTUI = [sys.executable, "-m", "annotui.cli"]


def shown_command(screen: str) -> str:
    """The approve command as the cockpit shows it (one row of the step view)."""
    row = next(r for r in screen.splitlines() if "annotui audit approve" in r)
    start = row.index("annotui audit approve")
    return row[start:].split("│")[0].strip()


def test_a_second_terminal_approves_while_the_cockpit_waits(tmp_path: Path, tmux_dir: Path) -> None:
    keys = {n: make_key(tmp_path / "keys", n) for n in ("operator", "reviewer")}
    checklist = tmp_path / "approval.toml"
    shutil.copy(CHECKLIST, checklist)
    signers = allowed_signers(
        tmp_path / "allowed_signers",
        ("alice@example", keys["operator"], ""),
        ("bob@example", keys["reviewer"], ""),
    )
    work = tmp_path / "work"
    work.mkdir()
    log = tmux_dir / "a.jsonl"  # a short path: the whole command fits one row
    env = {"XDG_STATE_HOME": str(tmp_path / "s"), "PATH": os.environ["PATH"]}
    pane = TmuxPane(
        tmux_dir,
        [*ANNOTUI, "run", str(checklist), "--audit", str(log), "--var", f"work={work}",
         "--sign-with", str(keys["operator"].private)],
        width=200, height=40, env=env, cwd=tmp_path,
    )  # fmt: skip
    try:
        pane.open_new_run(timeout=30)
        pane.send("C-s")
        pane.wait_for("Run: A second person approves", timeout=30)
        press_until(pane, "y", "WAITING FOR APPROVAL")
        screen = pane.wait_for("another person approves", timeout=10)
        assert "0 of 1 approved" in screen and "asked: alice@example, bob@example" in screen
        command = shown_command(screen)
        waiting = [json.loads(x) for x in log.read_text().splitlines() if '"approval.wait"' in x]
        assert command == waiting[0]["how"], screen
        assert not (work / "deployed.txt").exists()
        # the second person: the command from the screen, in a shell, with their own key
        theirs = command.replace("KEY [--note TEXT]", f"{keys['reviewer'].private} --note ok")
        done = subprocess.run(
            ["bash", "-c", theirs.replace("annotui ", f"{sys.executable} -m annotui.cli ", 1)],
            capture_output=True, text=True, timeout=60, cwd=tmp_path,
            env={**os.environ, **env},
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        pane.wait_for("bob@example approved", timeout=30)  # the toast
        pane.wait_for("Run: Deploy", timeout=30)
        press_until(pane, "y", "Run complete")
        pane.send("q")
        assert pane.exit_code(timeout=30) == 0
    finally:
        pane.kill()
    assert (work / "deployed.txt").read_text() == "deployed\n"
    records = [json.loads(x) for x in log.read_text().splitlines()]
    granted = [r for r in records if r["event"] == "approval.granted"]
    assert [(g["principal"], g["note"]) for g in granted] == [("bob@example", "ok")]
    report = subprocess.run(
        [*ANNOTUI, "audit", "report", str(log)], capture_output=True, text=True, timeout=60
    ).stdout
    assert f"approved by bob@example ({keys['reviewer'].fingerprint()}): ok" in "\n".join(
        view(report)
    )
    verified = subprocess.run(
        [*ANNOTUI, "audit", "verify", str(log), "--allowed-signers", str(signers)],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert "signed by alice@example" in verified.stdout
