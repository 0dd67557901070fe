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
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from tmux_pane import TmuxPane

pytestmark = pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")

ANNOTUI = [sys.executable, "-m", "annotui.cli"]
CHECKLISTS = Path(__file__).parent / "checklists"


@pytest.fixture
def tmux_dir() -> Iterator[Path]:
    d = Path(tempfile.mkdtemp(prefix="at-"))  # tmux sockets need short paths
    yield d
    shutil.rmtree(d, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def _child_of(parent: int) -> int:
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    if int(f.read().rsplit(")", 1)[1].split()[1]) == parent:
                        return int(entry)
            except (FileNotFoundError, ProcessLookupError):
                continue
    raise AssertionError(f"no child of {parent}")


def _wait(predicate, timeout: float, what: str) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


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
        pane.wait_for("New run", timeout=20)
        pane.send("Enter")
        pane.wait_for("Start the run", timeout=20)
        pane.send("C-s")
        pane.wait_for("Run: A long change", timeout=20)
        pane.send("y")
        _wait(lambda: pidfile.exists() and pidfile.read_text().strip(), 20, "the command")
        sleeper = int(pidfile.read_text())
        assert lock.exists() and _alive(sleeper)
        shell = int(pane._tmux("display", "-p", "-t", "0", "#{pane_pid}").strip())
        cockpit = _child_of(shell)
        if how == "kill -HUP":
            os.kill(cockpit, signal.SIGHUP)
            assert pane.exit_code(timeout=30) == 3
        else:
            pane.kill()
        _wait(lambda: not _alive(cockpit), 30, "the cockpit to exit")
    finally:
        pane.kill()
        if sleeper is not None and _alive(sleeper):
            os.kill(sleeper, signal.SIGKILL)  # only the process this test's step started
            raise AssertionError("the step's command outlived the cockpit")
    records = _records(log)
    events = [r["event"] for r in records]
    finished = [r for r in records if r["event"] == "step.finished"]
    assert finished and finished[-1]["outcome"] == "unknown", finished
    assert "session.interrupted" in events and events[-1] == "session.end"
    assert not lock.exists(), "the target lock is still held"
    verify = subprocess.run(
        [*ANNOTUI, "audit", "verify", str(log)], capture_output=True, text=True, timeout=60
    )
    assert verify.returncode in (0, 3), verify.stdout + verify.stderr
