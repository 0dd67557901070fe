"""Fixtures shared by the cockpit's tmux tests, and the `crash_loop` marker."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest


@pytest.fixture
def tmux_dir() -> Iterator[Path]:
    """A private directory for a tmux server's socket: short, since sun_path is 108 bytes."""
    d = Path(tempfile.mkdtemp(prefix="at-"))
    yield d
    shutil.rmtree(d, ignore_errors=True)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "crash_loop: the signal crash loop, tests/ui/test_crash_loop.py (-m crash_loop)"
    )
