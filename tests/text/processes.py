"""`annotui` as a real process, as an operator runs it: no stdin, output captured."""

from __future__ import annotations

import contextlib
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).parents[2]


def annotui(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "annotui.cli", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=ROOT,
        stdin=subprocess.DEVNULL,
    )


@contextlib.contextmanager
def started(cmd: list[str], **popen: Any) -> Iterator[subprocess.Popen[str]]:
    """`cmd` started with its stdout and stderr read as text; killed and reaped on the way out
    if it is still running (a test that failed half-way leaves nothing behind)."""
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **popen)
    try:
        yield proc
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
