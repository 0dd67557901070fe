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


def checklist_text(name: str) -> str:
    """The text of checklists/NAME.toml, for a test that writes a variant of it."""
    return (CHECKLISTS / f"{name}.toml").read_text()


@pytest.fixture
def work(tmp_path: Path) -> Path:
    """The work directory the checklists under checklists/ take as their `work` var."""
    path = tmp_path / "work"
    path.mkdir()
    return path


@pytest.fixture
def run_plain(run_cli, tmp_path: Path, work: Path):
    """`annotui run --plain` on a checklist (a name under checklists/, or a path) with
    `--var work=WORK` (unless with_work is false: the checklist has no such var) and an audit
    log in tmp_path; returns the process and the log's path."""

    def run(
        checklist: str | Path,
        *args: str | Path,
        input: str = "",
        audit: str = "audit.jsonl",
        env: dict[str, str] | None = None,
        with_work: bool = True,
    ) -> tuple[subprocess.CompletedProcess[str], Path]:
        path = checklist if isinstance(checklist, Path) else CHECKLISTS / f"{checklist}.toml"
        log = tmp_path / audit
        var = ("--var", f"work={work}") if with_work else ()
        r = run_cli("run", path, "--plain", *args, *var, "--audit", log, input=input, env=env)
        return r, log

    return run
