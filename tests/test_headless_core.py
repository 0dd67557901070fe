"""The headless core never imports textual: every module under annotui/ is imported in a fresh
interpreter and textual must not appear in sys.modules. `annotui check` additionally must not pay
for paramiko or httpx."""

from __future__ import annotations

import json
import pkgutil
import subprocess
import sys
from pathlib import Path

import annotui

ROOT = Path(annotui.__file__).parent


def all_modules() -> list[str]:
    names = ["annotui"]
    for info in pkgutil.walk_packages([str(ROOT)], prefix="annotui."):
        if not info.name.endswith(".__main__"):  # `python -m annotui.cli`: runs, not imported
            names.append(info.name)
    return sorted(names)


def imported_after(code: str) -> set[str]:
    probe = code + "\nimport sys, json\nprint(json.dumps(sorted(sys.modules)))"
    proc = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr
    return set(json.loads(proc.stdout.splitlines()[-1]))


def test_walk_finds_the_core() -> None:
    modules = all_modules()
    assert "annotui.cli" in modules
    assert "annotui.checklist.loader" in modules
    assert len(modules) >= 15


def test_no_module_under_annotui_imports_textual() -> None:
    modules = all_modules()
    code = "import importlib\n" + "\n".join(f"importlib.import_module({m!r})" for m in modules)
    loaded = imported_after(code)
    assert set(modules) <= loaded
    assert not {m for m in loaded if m == "textual" or m.startswith("textual.")}


def test_check_command_stays_light(tmp_path: Path) -> None:
    path = Path(__file__).parent / "checklist" / "valid" / "every-kind.toml"
    code = (
        "import contextlib, io\nfrom annotui.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        f"    assert main(['check', {str(path)!r}]) == 0"
    )
    loaded = imported_after(code)
    assert "annotui.checklist.loader" in loaded
    heavy = {"textual", "paramiko", "httpx"} & {m.split(".")[0] for m in loaded}
    assert not heavy
