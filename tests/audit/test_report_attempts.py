"""The report a reviewer signs off: every attempt of a step in order, when it started and
ended, and the first and last lines of its output."""

from __future__ import annotations

from pathlib import Path

from annotui import events as ev
from annotui.audit.report import render
from annotui.audit.writer import AuditWriter

from .conftest import PLAN, STAGING, header, shown
from .markdown_view import view

KEY = f"{STAGING}/image-perms"


def test_every_attempt_in_order_and_the_output_excerpt(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    with AuditWriter.create(path) as w:
        w(header())
        w(ev.RunPlanned(PLAN))
        w(ev.StageStarted(STAGING, "Deploy to staging", 1, 2))
        w(shown(KEY, "check", "stat -L -c %a anno.sif"))
        for attempt in (1, 2):
            w(ev.StepConfirmed(KEY, "alice"))
            w(ev.StepStarted(KEY, attempt=attempt))
            lines = [f"try {attempt} line {i}" for i in range(2500)]
            w(ev.StepOutput(KEY, "stdout", "\n".join(lines)))
            w(ev.StepFinished(KEY, "failed", 1, 0.5, "expected exit 0, got 1"))
        w(ev.StepSkipped(KEY, "checked by hand", "alice"))
        w(ev.StageFinished(STAGING, "failed"))
        w(ev.Sealed(w.seal_text()))
    md = "\n".join(view(render(path, "markdown")))
    rows = [line for line in md.splitlines() if line.startswith("- **attempt:**")]
    assert [r.split(" at ")[0] for r in rows] == [
        "- **attempt:** attempt 1: failed (exit 1)",
        "- **attempt:** attempt 2: failed (exit 1)",
        "- **attempt:** skipped",
    ]
    assert rows[2].endswith("by alice: checked by hand")
    assert f"| {KEY} | skipped |" in md  # failed, then skipped: the step is skipped
    assert "- **started:** 20" in md and "- **ended:** 20" in md
    excerpt = md.split(f"Output of {KEY} (2500 lines; the first and the last):", 1)[1]
    block = excerpt.split("```")[1].strip().splitlines()
    assert block[:5] == [f"try 2 line {i}" for i in range(5)]  # the last attempt's
    assert block[5] == "[... 2485 lines ...]"
    assert block[6:] == [f"try 2 line {i}" for i in range(2490, 2500)]
