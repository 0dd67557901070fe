"""The cockpit in a real tmux pane with its audit log on a real tmpfs that fills up mid-step: the
step's command (its process group) is stopped, the summary and the one line on exit say what and
where, the exit is 4, there is no traceback, and the log verifies. Needs root (mount) and tmux."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from procs import wait_until
from test_tmux_e2e import press_until
from tmux_pane import TmuxPane

from tests.sshd_fixture import group_members
from tests.tmpfs import fill, mounted_tmpfs

pytestmark = [
    pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed"),
    pytest.mark.timeout(120),
]

LOST = Path(__file__).parents[1] / "engine" / "checklists" / "audit-lost.toml"


@pytest.fixture
def tmpfs(tmp_path: Path) -> Iterator[Path]:
    with mounted_tmpfs(tmp_path / "tmpfs", "512k") as where:
        yield where


def test_cockpit_full_disk_mid_step(tmp_path: Path, tmpfs: Path, tmux_dir: Path) -> None:
    work = tmp_path / "work"
    work.mkdir()
    log = tmpfs / "run.jsonl"
    pane = TmuxPane(
        tmux_dir,
        [sys.executable, "-m", "annotui.cli", "run", str(LOST), "--audit", str(log),
         "--var", f"work={work}"],
        width=200,
        env={"XDG_STATE_HOME": str(tmp_path / "s"), "PATH": os.environ["PATH"]},
        cwd=tmp_path,
    )  # fmt: skip
    try:
        pane.open_new_run(timeout=20)
        pane.send("C-s")
        pane.wait_for("Run: first", timeout=20)
        press_until(pane, "y", "Run: Print for a while")
        press_until(pane, "y", "aaaaaaaa line 5")
        pgid = int((work / "long.started").read_text())
        fill(tmpfs, 4096)
        screen = pane.wait_for("could not be written", timeout=20)
        assert "No space left on device" in screen, screen
        pane.send("q")
        assert pane.exit_code(timeout=30) == 4
        screen = pane.screen()
    finally:
        pane.kill()
    line = f"annotui: cannot write the audit log {log}: No space left on device; the running"
    assert line in screen, screen
    assert "Traceback" not in screen
    assert not (work / "long.finished").exists()
    gone = "the step's command to end with the lost log"
    wait_until(lambda: group_members(pgid) == [], 5, gone)
    v = subprocess.run(
        [sys.executable, "-m", "annotui.cli", "audit", "verify", str(log)],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    # every record intact (a run cut short has no final seal: that is said, and is no damage)
    assert v.stdout.startswith("intact") and "torn" not in v.stdout, v.stdout + v.stderr
