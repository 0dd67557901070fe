"""Helpers for running the real `annotui` CLI in a subprocess."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).parent
CHECKLISTS = HERE / "checklists"


def annotui_cmd(*args: str | Path) -> list[str]:
    return [sys.executable, "-m", "annotui.cli", *map(str, args)]


@pytest.fixture
def run_cli(tmp_path: Path):
    """Run annotui with HOME and the state dir inside tmp_path; returns CompletedProcess."""

    def run(
        *args: str | Path,
        input: str | None = "",
        env: dict[str, str] | None = None,
        timeout: float = 60,
        cwd: Path | None = None,
    ) -> subprocess.CompletedProcess[str]:
        full_env = {**os.environ, "XDG_STATE_HOME": str(tmp_path / "state"), **(env or {})}
        return subprocess.run(
            annotui_cmd(*args),
            input=input,
            capture_output=True,
            text=True,
            env=full_env,
            timeout=timeout,
            cwd=cwd or tmp_path,
        )

    return run


def read_log(path: Path) -> list[dict]:
    import json

    return [json.loads(line) for line in path.read_text().splitlines()]
