"""`pip install .` (not editable) into a fresh virtual environment ships the bundled checklists:
`annotui check NAME` works from another directory, far from the source tree.

The venv is a plain one (no system site-packages); it is created without its own pip and the
shared pip installs into it (`pip --python`), with `--no-compile`, to keep this test fast.
Dependencies come from the package index configured for pip."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def test_pip_install_then_check_bundled(tmp_path: Path) -> None:
    bundled = sorted(p.stem for p in (REPO / "checklists").glob("*.toml"))
    if not bundled:
        pytest.skip("no bundled checklist in checklists/ yet")
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    install = subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "-q", "--no-compile",
         str(REPO)],
        capture_output=True,
        text=True,
        timeout=600,
    )  # fmt: skip
    assert install.returncode == 0, install.stderr[-3000:]
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    names = ["anno-release"] if "anno-release" in bundled else bundled
    proc = subprocess.run(
        [str(venv / "bin" / "annotui"), "check", *names],
        cwd=elsewhere,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert len(lines) == len(names)
    for name, line in zip(names, lines, strict=True):
        assert f"annotui/_checklists/{name}.toml: ok (" in line, line
        assert str(REPO) not in line  # the installed copy, not the source tree
    # the installed package is not the source tree
    where = subprocess.run(
        [str(python), "-c", "import annotui; print(annotui.__file__)"],
        cwd=elsewhere,
        capture_output=True,
        text=True,
        check=True,
    )
    assert str(venv) in where.stdout
