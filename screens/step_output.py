"""What a run's audit log says about its steps, for the cockpit: a step's output and outcomes
recorded before this process started (a resumed run). Blocking file reads: call these from a
thread worker, never on the UI thread."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from pathlib import Path

from annotui.audit.errors import AuditError
from annotui.audit.reader import read_records


@dataclass(frozen=True, slots=True)
class StepOutput:
    lines: list[str]
    """The last lines of the step's last attempt."""
    total: int
    """How many lines that attempt printed (the rest are in the log)."""
    attempt: int
    """0: the step never started in this log."""


def last_attempt_output(path: Path, step_key: str, limit: int) -> StepOutput:
    """The output of `step_key`'s last attempt in the log at `path` (its last `limit` lines)."""
    lines: deque[str] = deque(maxlen=limit)
    total = attempt = 0
    try:
        for record in read_records(path):
            if record.get("step_key") != step_key:
                continue
            event = record.get("event")
            if event == "step.started":
                lines.clear()
                total = 0
                n = record.get("attempt")
                attempt = n if isinstance(n, int) else attempt + 1
            elif event == "step.output" and isinstance(record.get("text"), str):
                chunk = record["text"].split("\n")
                total += len(chunk)
                lines.extend(chunk)
    except AuditError:
        pass  # unreadable: nothing to show (verify names the cause)
    return StepOutput(list(lines), total, attempt)
