"""Processes seen through /proc, for the tests that stop a cockpit and check what outlived it."""

from __future__ import annotations

import os
import time
from collections.abc import Callable


def alive(pid: int) -> bool:
    """The process exists and is not a zombie."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (FileNotFoundError, ProcessLookupError):
        return False


def child_of(parent: int, timeout: float = 10.0) -> int:
    """The pid of a child of `parent` (waiting up to `timeout` seconds for one to appear)."""
    deadline = time.monotonic() + timeout
    while True:
        for entry in os.listdir("/proc"):
            if entry.isdigit():
                try:
                    with open(f"/proc/{entry}/stat") as f:
                        if int(f.read().rsplit(")", 1)[1].split()[1]) == parent:
                            return int(entry)
                except (FileNotFoundError, ProcessLookupError):
                    continue
        if time.monotonic() >= deadline:
            raise AssertionError(f"no child of {parent}")
        time.sleep(0.05)


def wait_until(predicate: Callable[[], object], timeout: float, what: str) -> None:
    """Poll `predicate` until it holds; fail naming `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")
