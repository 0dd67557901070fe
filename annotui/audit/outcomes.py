"""The outcome of a step and the outcome counts of a run: one definition, used by the cockpit's
Summary screen, both reports and the audit viewer.

A step's outcome is the last one its records give: ``step.finished`` (its ``outcome``),
``step.skipped`` ("skipped"), ``step.unknown`` ("unknown"). A step that failed and was then
skipped is therefore skipped; one that failed, was retried and then succeeded is ok. The counts
put each outcome in one bucket; any other state (never reached, shown, running, started with no
finish record) is "not finished".
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

BUCKETS = {
    "ok": "done",
    "done": "done",
    "failed": "failed",
    "timeout": "failed",
    "cancelled": "failed",
    "skipped": "skipped",
    "would-run": "would_run",
    "unverified": "unverified",
    "unknown": "unknown",
}
"""Outcome -> its count in ``Counts`` (anything else counts as not finished)."""


def record_outcome(rec: Mapping[str, Any]) -> str | None:
    """The outcome a record gives its step, or None for a record that says nothing of it."""
    event = rec.get("event")
    if event == "step.finished":
        return str(rec.get("outcome"))
    if event == "step.skipped":
        return "skipped"
    if event == "step.unknown":
        return "unknown"
    return None


@dataclass(frozen=True, slots=True)
class Counts:
    total: int
    done: int = 0
    failed: int = 0
    skipped: int = 0
    would_run: int = 0
    unverified: int = 0
    unknown: int = 0

    @property
    def unfinished(self) -> int:
        counted = self.done + self.failed + self.skipped + self.would_run + self.unverified
        return self.total - counted - self.unknown

    def text(self) -> str:
        """'3 of 5 steps done, 1 skipped, 1 failed' (rehearsal and trouble only when there)."""
        parts = [f"{self.done} of {self.total} steps done"]
        if self.would_run or self.unverified:
            parts.append(f"{self.would_run} would run, {self.unverified} unverified")
        parts.append(f"{self.skipped} skipped")
        for n, what in (
            (self.failed, "failed"),
            (self.unknown, "outcome unknown"),
            (self.unfinished, "not finished"),
        ):
            if n:
                parts.append(f"{n} {what}")
        return ", ".join(parts)


def count(outcomes: Iterable[str]) -> Counts:
    """The counts of the steps whose outcomes (or other states) are given, one per step."""
    seen = list(outcomes)
    by = Counter(BUCKETS.get(o) for o in seen)
    return Counts(
        total=len(seen),
        done=by["done"],
        failed=by["failed"],
        skipped=by["skipped"],
        would_run=by["would_run"],
        unverified=by["unverified"],
        unknown=by["unknown"],
    )
