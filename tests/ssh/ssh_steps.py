"""What the end-to-end tests over the test sshd wait for and do to a running remote step."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from sshd_fixture import Sshd


def wait_started(started: Path, proc: subprocess.Popen[str], deadline: float) -> int:
    """The process group the remote step wrote to ``started`` (one line), once it has; fails
    if the run ``proc`` ends first or at ``deadline`` (time.monotonic())."""
    while not (started.exists() and started.read_text().endswith("\n")):
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "the remote step never started"
        time.sleep(0.05)
    return int(started.read_text())


def drop_link(sshd: Sshd, command: str) -> int:
    """Kill the sshd session that runs ``command`` once it runs: the link drops in the middle
    of the command. Returns the command's pid."""
    pid, session = sshd.wait_command(command, timeout=30)
    os.kill(session, signal.SIGKILL)
    return pid


def run_on_nodes(
    sshd: Sshd, tmp_path: Path, checklist: str, *vars: str
) -> tuple[subprocess.CompletedProcess[str], Path]:
    """`annotui run --plain --yes` of ``checklist`` with ``--var work=`` and ``vars``, where
    the test sshd answers as node1, node2 and node3 (one ssh_config Host each). Returns the
    finished run and its audit log's path."""
    base = sshd.ssh_config.read_text().split("\nHost tsd-jump")[0]
    config = tmp_path / "ssh_config"
    config.write_text("".join(base.replace("Host tsd", f"Host node{k}") + "\n" for k in (1, 2, 3)))
    work = tmp_path / "work"
    work.mkdir(exist_ok=True)
    path = tmp_path / "loop.toml"
    path.write_text(checklist)
    audit = tmp_path / "audit.jsonl"
    audit.unlink(missing_ok=True)
    env = {
        **os.environ,
        "XDG_STATE_HOME": str(tmp_path / "state"),
        "ANNOTUI_SSH_CONFIG": str(config),
    }
    options = [a for v in (f"work={work}", *vars) for a in ("--var", v)]
    r = subprocess.run(
        [sys.executable, "-m", "annotui.cli", "run", str(path), "--plain", "--yes",
         *options, "--audit", str(audit)],
        capture_output=True, text=True, env=env, timeout=90, cwd=tmp_path, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    return r, audit
