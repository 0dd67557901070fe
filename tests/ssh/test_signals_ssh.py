"""Plain mode over a real sshd: SIGTERM and SIGHUP of annotui during a remote step stop the
remote command's whole process group (its children too, one of them ignoring SIGTERM), record the
step's outcome as unknown, release the target lock, and exit 3 (issue 12)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from ssh_steps import wait_started
from sshd_fixture import Sshd, group_members

from tests.engine.engine_cli import read_log

pytestmark = pytest.mark.timeout(120)

CHECKLIST = Path(__file__).parent / "checklists" / "remote-children.toml"


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP])
def test_signal_stops_the_remote_group_and_records_unknown(
    sshd: Sshd, tmp_path: Path, sig: signal.Signals
) -> None:
    work = tmp_path / "work"
    work.mkdir()
    audit = tmp_path / "audit.jsonl"
    cmd = [
        sys.executable, "-m", "annotui.cli", "run", str(CHECKLIST), "--plain", "--yes",
        "--var", f"work={work}", "--var", "target=tsd", "--audit", str(audit),
    ]  # fmt: skip
    env = {
        **os.environ,
        "XDG_STATE_HOME": str(tmp_path / "state"),
        "ANNOTUI_SSH_CONFIG": str(sshd.ssh_config),
    }
    proc = subprocess.Popen(
        cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True, env=env, cwd=tmp_path,
    )  # fmt: skip
    pgid = 0
    try:
        pgid = wait_started(work / "tree.started", proc, time.monotonic() + 30)
        members = group_members(pgid)
        assert len(members) >= 5, members  # the shell, three children, a grandchild sleep
        proc.send_signal(sig)
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        if pgid > 1 and group_members(pgid):
            os.killpg(pgid, signal.SIGKILL)  # the group this test's step started
            raise AssertionError(f"the remote group {pgid} outlived annotui's stop")
    assert proc.returncode == 3, out + err
    assert "Traceback" not in out + err
    assert group_members(pgid) == []  # stopped before annotui ended, children too
    recs = read_log(audit)
    tree = [r for r in recs if r["event"] == "step.finished" and r["step_key"] == "remote/tree"]
    assert [r["outcome"] for r in tree] == ["unknown"], tree
    stops = [r["reason"] for r in recs if r["event"] == "session.interrupted"]
    assert stops == [f"{sig.name} received"]
    assert not (work / "after.ran").exists()
    assert not (work / ".annotui.lock").exists(), "the target lock is still held"
    time.sleep(0.5)
    for late in ("tree.finished", "child.finished", "stubborn.finished"):
        assert not (work / late).exists(), late
