"""A real tmpfs of a few kilobytes, for the tests of a full disk (root needed to mount it, else
the test is skipped)."""

from __future__ import annotations

import contextlib
import errno
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest


@contextlib.contextmanager
def mounted_tmpfs(where: Path, size: str) -> Iterator[Path]:
    """``where`` (made here) with a tmpfs of ``size`` (mount's size=, e.g. "64k") on it,
    unmounted after by its path; lazily if something still holds a file open on it."""
    where.mkdir()
    r = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(where)],
        capture_output=True,
        text=True,
    )
    if r.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here (root needed): {r.stderr.strip()}")
    try:
        yield where
    finally:
        if subprocess.run(["umount", str(where)], capture_output=True).returncode != 0:
            subprocess.run(["umount", "-l", str(where)], capture_output=True)


def fill(where: Path, chunk: int) -> None:
    """Write ``chunk`` bytes at a time to a file in ``where`` until the disk is full (ENOSPC)."""
    with open(where / "filler", "wb", buffering=0) as f:
        try:
            while True:
                f.write(b"\0" * chunk)
        except OSError as e:
            assert e.errno == errno.ENOSPC
