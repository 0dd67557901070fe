from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from annotui import sandbox


@pytest.fixture
def world(tmp_path: Path) -> Iterator[sandbox.SandboxInfo]:
    """A built sandbox with its real supervisord, stopped (by its PID) at the end."""
    info = sandbox.build(tmp_path / "sbx")
    try:
        yield info
    finally:
        sandbox.stop(info.dir)


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """The sandbox's file tree and tools only (no supervisord)."""
    d = tmp_path / "sbx"
    d.mkdir()
    sandbox.build_tree(d)
    return d
