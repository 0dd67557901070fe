"""Plain mode prints an announce step's text once, as the engine rendered and recorded it: line for
line, unindented between two rulers (copied as is), control characters shown, never obeyed."""

from __future__ import annotations

import json
from pathlib import Path

from engine_cli import CHECKLISTS

from annotui.engine.plain import ANNOUNCE_END, ANNOUNCE_LATER, ANNOUNCE_START


def test_announcement_line_for_line_and_sanitised(run_cli, tmp_path: Path) -> None:
    log = tmp_path / "audit.jsonl"
    r = run_cli(
        "run", CHECKLISTS / "announce-plain.toml", "--plain", "--var", "release=v1\x1b[31mred",
        "--audit", log, input="y\n",
    )  # fmt: skip
    assert r.returncode == 0, r.stdout + r.stderr
    out = r.stdout
    assert "\x1b" not in out, "an escape sequence reached the terminal"
    lines = out.splitlines()
    start = lines.index(f"   {ANNOUNCE_START}")
    end = lines.index(f"   {ANNOUNCE_END}")
    assert lines[start + 1 : end] == [
        "Anno ble oppdatert <dato>. Nedenfor er endringene.",
        "",
        "Oppsummering",
        "------------",
        "anno-targets: v1^[[31mred",
        "    indented line",
        "AMG-<nr>: <sammendrag/tittel>",
    ]
    # shown once: before the step runs only that it is rendered then
    assert f"   {ANNOUNCE_LATER}" in lines[:start]
    assert out.count("AMG-<nr>") == 1
    recorded = [json.loads(x) for x in log.read_text().splitlines()]
    text = next(rec["text"] for rec in recorded if rec["event"] == "announce")
    assert text.strip("\n").splitlines()[4] == "anno-targets: v1\x1b[31mred"
    # the step's own instructions reach the operator and the log (they were replaced by the text)
    assert "Fill in the date from the release issue" in out[: out.index(ANNOUNCE_START)]
    shown = next(rec for rec in recorded if rec["event"] == "step.shown")
    assert shown["instructions"].startswith("Fill in the date from the release issue")
