"""A dropped terminal in a real tmux pane: `kill -HUP` of the cockpit, and `tmux kill-server`
(the pty goes away, as when an SSH session without tmux drops), during a running mutating step.

Each must leave a log that records the interruption with the step's outcome unknown, no process
of the command alive, and the target lock released.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from procs import alive, child_of, wait_until
from tmux_pane import TmuxPane

pytestmark = pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")

ANNOTUI = [sys.executable, "-m", "annotui.cli"]
CHECKLISTS = Path(__file__).parent / "checklists"


def _records(log: Path) -> list[dict]:
    return [json.loads(line) for line in log.read_text().splitlines() if line.endswith("}")]


@pytest.mark.parametrize("how", ["kill -HUP", "tmux kill-server"])
def test_a_dropped_terminal_stops_the_step_and_records_it(
    tmp_path: Path, tmux_dir: Path, how: str
) -> None:
    pidfile, lock, log = tmp_path / "sleep.pid", tmp_path / "target.lock", tmp_path / "a.jsonl"
    pane = TmuxPane(
        tmux_dir,
        [
            *ANNOTUI,
            "run",
            str(CHECKLISTS / "hup.toml"),
            "--audit",
            str(log),
            "--var",
            f"lock={lock}",
            "--var",
            f"pidfile={pidfile}",
        ],
        env={"XDG_STATE_HOME": str(tmp_path / "s"), "PATH": os.environ["PATH"]},
        cwd=tmp_path,
    )
    sleeper = None
    try:
        pane.open_new_run(timeout=20)
        pane.send("C-s")
        pane.wait_for("Run: A long change", timeout=20)

        def started() -> bool:
            return pidfile.exists() and bool(pidfile.read_text().strip())

        for attempt in range(4):  # a key pressed as the question mounts can land before it has
            pane.send("y")  # focus: an operator presses it again (a second y answers nothing)
            try:
                wait_until(started, 5 if attempt < 3 else 20, "the command")
                break
            except AssertionError:
                if attempt == 3:
                    raise
        sleeper = int(pidfile.read_text())
        assert lock.exists() and alive(sleeper)
        cockpit = child_of(pane.shell_pid())
        t0 = time.monotonic()
        if how == "kill -HUP":
            os.kill(cockpit, signal.SIGHUP)
            assert pane.exit_code(timeout=30) == 3
        else:
            pane.kill()
        wait_until(lambda: not alive(cockpit), 30, "the cockpit to exit")
        gone_in = time.monotonic() - t0
        print(f"{how}: the cockpit was gone in {gone_in:.2f} s")
        # the terminal is gone: nothing to put back, so no 5 s wait for Textual (was 5.2 s)
        assert gone_in < 4.5, f"{how}: the cockpit took {gone_in:.1f} s to go"
    finally:
        pane.kill()
        if sleeper is not None and alive(sleeper):
            os.kill(sleeper, signal.SIGKILL)  # only the process this test's step started
            raise AssertionError("the step's command outlived the cockpit")
    records = _records(log)
    events = [r["event"] for r in records]
    finished = [r for r in records if r["event"] == "step.finished"]
    assert finished and finished[-1]["outcome"] == "unknown", finished
    assert "session.interrupted" in events and events[-2:] == ["session.end", "seal"]
    assert not lock.exists(), "the target lock is still held"
    verify = subprocess.run(
        [*ANNOTUI, "audit", "verify", str(log)], capture_output=True, text=True, timeout=60
    )
    assert verify.returncode in (0, 3), verify.stdout + verify.stderr
