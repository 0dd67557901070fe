"""Real Unix users for tests of `user = ...` (sudo): created with useradd (the tests run as
root), removed with userdel at the end. Skips when not root or sudo is missing."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
from collections.abc import Iterator

import pytest


@contextlib.contextmanager
def unix_user(name: str) -> Iterator[str]:
    """A fresh user `name` with a home directory and /bin/sh as its shell."""
    if os.geteuid() != 0 or shutil.which("sudo") is None or shutil.which("useradd") is None:
        pytest.skip("needs root, useradd and sudo")
    subprocess.run(["userdel", "-r", name], capture_output=True)  # a leftover of a killed run
    subprocess.run(["useradd", "-m", "-s", "/bin/sh", name], check=True, capture_output=True)
    try:
        yield name
    finally:
        subprocess.run(["userdel", "-r", name], capture_output=True)
