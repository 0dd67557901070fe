"""SIGHUP (a dropped terminal) just after Start was pressed in the cockpit, in a real tmux pane
(found by tests/ui/test_crash_loop.py): the run must not start, or must stop at once and record
it, exit 3. Before, the hangup could land before the session existed, or before the engine's
loop did, and be lost: the cockpit then ran every step to the end, terminal gone, exit 0.

The window is a few milliseconds wide, so the signal is sent at a range of moments after the
key; before the fix, about one in five of them ran the steps.
"""

from __future__ import annotations

import os
import shutil
import signal
import sys
import time
from pathlib import Path

import pytest
from procs import alive, child_of, wait_until
from tmux_pane import TmuxPane

from annotui.audit.reader import read_records

pytestmark = pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")

ANNOTUI = [sys.executable, "-m", "annotui.cli"]
CHECKLIST = """
[checklist]
id = "hup-at-start"
title = "Hangup at the start"
lock = {{ host = "local", path = "{lock}" }}

[[stages]]
id = "one"
title = "One"

  [[stages.steps]]
  id = "change"
  kind = "command"
  run = "echo ran >> {counter}"
"""


def test_a_hangup_right_after_start_runs_nothing_unrecorded(tmp_path: Path, tmux_dir: Path) -> None:
    for attempt in range(16):
        root = tmp_path / str(attempt)
        root.mkdir()
        lock, counter, log = root / "target.lock", root / "counter", root / "a.jsonl"
        checklist = root / "c.toml"
        checklist.write_text(CHECKLIST.format(lock=lock, counter=counter))
        own = tmux_dir / str(attempt)
        own.mkdir()
        pane = TmuxPane(
            own,
            [*ANNOTUI, "run", str(checklist), "--yes", "--audit", str(log)],
            env={
                "XDG_STATE_HOME": str(root / "s"),
                "XDG_CACHE_HOME": os.environ["XDG_CACHE_HOME"],
                "PATH": os.environ["PATH"],
            },
            cwd=root,
        )
        try:
            pane.open_new_run(timeout=30)
            cockpit = child_of(pane.shell_pid())
            pane.send("C-s")
            time.sleep(attempt * 0.01)
            os.kill(cockpit, signal.SIGHUP)
            code = pane.exit_code(timeout=60)
            wait_until(lambda: not alive(cockpit), 30, "the cockpit to exit")  # noqa: B023
        finally:
            pane.kill()
        where = f"SIGHUP {attempt * 10} ms after Start"
        assert code == 3, f"{where}: exit {code}"
        assert not counter.exists(), f"{where}: the step ran after the hangup"
        assert not lock.exists(), f"{where}: the target lock is held"
        if log.exists():
            events = [r for r in read_records(log) if r["event"] != "seal"]
            assert events[-1]["event"] == "session.end", where
            assert events[-1]["outcome"] == "stopped", (where, events[-1])
            assert any(r["event"] == "session.interrupted" for r in events), where
