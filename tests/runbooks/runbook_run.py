"""`annotui run --plain` on a bundled runbook checklist with a world's vars, answers given in
advance for every step (an answers file, as in CI), the rest on stdin."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

from annotui.checklist.loader import load_checklist
from annotui.engine.plan import plan

CHECKLISTS = Path(__file__).resolve().parents[2] / "checklists"


def step_keys(name: str, values: Mapping[str, str]) -> list[str]:
    """Every step key of the checklist's plan, rollback steps included."""
    checklist = load_checklist(CHECKLISTS / f"{name}.toml").model
    defaults = {k: v.default for k, v in checklist.vars.items() if v.default is not None}
    stages = plan(checklist, {**defaults, **values}, rehearse=False)
    return [p.key for st in stages for p in [*st.steps, *st.rollback]]


def answers_file(path: Path, keys: list[str], words: Mapping[str, str]) -> Path:
    """Run (or done) for every key; the typed word where one is asked."""
    lines = []
    for key in keys:
        lines.append(f"[{json.dumps(key)}]")
        lines.append('answer = "run"')
        if key in words:
            lines.append(f"word = {json.dumps(words[key])}")
    path.write_text("\n".join(lines) + "\n")
    return path


def run_runbook(
    name: str,
    values: Mapping[str, str],
    tmp_path: Path,
    words: Mapping[str, str],
    *args: str,
    stdin: str = "",
    env: Mapping[str, str] | None = None,
    timeout: float = 300,
) -> tuple[subprocess.CompletedProcess[str], list[dict[str, object]]]:
    answers = answers_file(tmp_path / "answers.toml", step_keys(name, values), words)
    audit = tmp_path / "run.jsonl"
    var_args = [a for k, v in values.items() for a in ("--var", f"{k}={v}")]
    proc = subprocess.run(
        [sys.executable, "-m", "annotui.cli", "run", str(CHECKLISTS / f"{name}.toml"), "--plain",
         "--answers", str(answers), "--audit", str(audit), *var_args, *args],
        input=stdin, capture_output=True, text=True, timeout=timeout, cwd=tmp_path,
        env={**os.environ, **(env or {})},
    )  # fmt: skip
    records = [json.loads(line) for line in audit.read_text().splitlines()]
    return proc, records


def outcomes(records: list[dict[str, object]]) -> dict[str, str]:
    """Step key -> its last outcome (finished, or skipped)."""
    out: dict[str, str] = {}
    for r in records:
        if r["event"] == "step.finished":
            out[str(r["step_key"])] = str(r["outcome"])
        elif r["event"] == "step.skipped":
            out[str(r["step_key"])] = "skipped"
    return out
