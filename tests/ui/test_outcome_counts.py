"""One definition of the outcome counts (annotui.audit.outcomes), with the real engine: a step
that failed and was then skipped counts as skipped on the cockpit's Summary, in both reports
and in the audit viewer (before, the viewer called it failed and the report skipped)."""

from __future__ import annotations

import time
from pathlib import Path

from cockpit_helpers import make_app, question_kind, wait_for
from textual.pilot import Pilot

from annotui.audit.report import collect, render
from screens.audit_viewer import AuditViewerScreen, ReviewApp
from screens.summary import SummaryScreen
from tests.audit.markdown_view import view

EXPECTED = "1 of 2 steps done, 1 skipped"


async def answer(pilot: Pilot, kind: str, *keys: str) -> None:
    await wait_for(pilot, lambda: question_kind(pilot.app) == kind)  # type: ignore[arg-type]
    await pilot.pause(0.3)  # a key read before the dialog was drawn is not its answer
    await pilot.press(*keys)


async def test_failed_then_skipped_counts_as_skipped_everywhere(tmp_path: Path) -> None:
    audit = tmp_path / "run.jsonl"
    app = make_app("counts.toml", audit)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.screen.__class__.__name__ == "VariablesScreen")
        await pilot.press("ctrl+s")
        await answer(pilot, "confirm", "y")
        await answer(pilot, "failure", "s")
        await pilot.pause(0.3)
        await pilot.press(*"checked by hand", "enter")
        await answer(pilot, "confirm", "y")
        await wait_for(pilot, lambda: isinstance(app.screen, SummaryScreen))
        summary = str(app.screen.query_one("#outcome").render())
    assert f"{EXPECTED} · exit code 0" in summary, summary
    report = collect(audit)
    assert report.step("counted/fails").outcome == "skipped"
    md = "\n".join(view(render(audit, "markdown")))
    assert f"| steps | {EXPECTED} |" in md
    assert f"<th>steps</th><td>{EXPECTED}</td>" in render(audit, "html")
    review = ReviewApp(audit, follow=False)
    async with review.run_test(size=(120, 40)) as pilot:
        deadline = time.monotonic() + 30
        while getattr(review.screen, "verdict", None) is None:
            assert time.monotonic() < deadline
            await pilot.pause(0.05)
        screen = review.screen
        assert isinstance(screen, AuditViewerScreen)
        assert screen.index.steps["counted/fails"].outcome == "skipped"
        end = next(e for e in screen.index.entries if e.event == "session.end")
        assert f"steps: {EXPECTED}" in screen._record_text(end).plain
