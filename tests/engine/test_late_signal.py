"""A SIGTERM or SIGHUP that arrives after the run has ended (its log sealed and closed, annotui
only printing its last lines and exiting) does not turn the run's exit code into a kill: the
exit code says how the run ended, and the log is complete. Real processes, real signals, sent
the moment annotui says where its log is (its last line after the run)."""

from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path

import pytest
from engine_cli import annotui_cmd, read_log

CHECKLIST = Path(__file__).parent / "checklists" / "confirm-none.toml"


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP], ids=["TERM", "HUP"])
def test_a_signal_after_the_run_ended_keeps_its_exit_code(tmp_path: Path, sig: int) -> None:
    codes = []
    for i in range(8):
        audit = tmp_path / f"run-{i}.jsonl"
        proc = subprocess.Popen(
            annotui_cmd("run", CHECKLIST, "--plain", "--yes", "--audit", audit),
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
            text=True, env={**os.environ, "XDG_STATE_HOME": str(tmp_path / "state")},
        )  # fmt: skip
        assert proc.stderr is not None
        for line in proc.stderr:
            if line.startswith("audit log:"):
                proc.send_signal(sig)  # the run is over: only its exit is left
                break
        proc.communicate(timeout=30)
        codes.append(proc.returncode)
        assert read_log(audit)[-1]["event"] == "seal"
    assert codes == [0] * 8, codes
