"""What the end-to-end tests over the test sshd wait for and do to a running remote step."""

from __future__ import annotations

import os
import signal
import subprocess
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
