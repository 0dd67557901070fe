"""Step keys shortened for the viewer's narrow step column: the `[environment]` and the step id
survive (issue 16: `deploy[s…/stop-anno` and `…[staging]/stop-anno` each lost one of them)."""

from __future__ import annotations

from pathlib import Path

import pytest
from audit_samples import write_sample
from textual.widgets import Static

from screens.audit_viewer import AuditViewerScreen, ReviewApp
from screens.step_key import fit_key, shortest_fit
from screens.widgets.timeline import COLUMNS, Timeline


@pytest.mark.parametrize(
    ("key", "width", "shown"),
    [
        ("deploy[staging]/stop-anno", 25, "deploy[staging]/stop-anno"),
        ("deploy[staging]/stop-anno", 24, "de…oy[staging]/stop-anno"),
        ("deploy[staging]/stop-anno", 22, "d…y[staging]/stop-anno"),
        ("prepare/write-marker", 18, "pr…re/write-marker"),
        ("roll/restart[es1]", 16, "r…l/restart[es1]"),
        ("roll/restart[es1]", 15, "r…/restart[es1]"),
        # the longest name loses first, the [value] of each stays
        ("deploy-services[prod]/rollback/restart", 30, "dep…ces[prod]/rollback/restart"),
        ("a[b/c]/step", 11, "a[b/c]/step"),
    ],
)
def test_fit_key_keeps_values_and_step_id(key: str, width: int, shown: str) -> None:
    assert fit_key(key, width) == shown
    assert len(shown) <= width


def test_shortest_fit_is_the_width_that_keeps_them() -> None:
    key = "deploy[staging]/stop-anno"
    assert shortest_fit(key) == len("d…y[staging]/stop-anno")
    assert fit_key(key, shortest_fit(key)) == "d…y[staging]/stop-anno"
    # narrower than that only the names go, to one cell; then (never in the viewer, whose column
    # is as wide as the widest shortest fit allows) the middle of the key
    assert fit_key(key, 20) == "…[staging]/stop-anno"
    assert len(fit_key(key, 12)) == 12


async def test_viewer_at_80x24_shows_environment_and_step(tmp_path: Path) -> None:
    log = tmp_path / "audit.jsonl"
    write_sample(log)
    app = ReviewApp(log, poll=3600)
    async with app.run_test(size=(80, 24)) as pilot:
        for _ in range(200):
            if isinstance(app.screen, AuditViewerScreen) and app.screen.verdict is not None:
                break
            await pilot.pause(0.05)
        screen = app.screen
        assert isinstance(screen, AuditViewerScreen)
        table = screen.query_one(Timeline)
        header = table.render_line(0).text
        start = header.index(" step ") + 1
        end = header.index("outcome")
        cells: dict[str, str] = {}
        for row in range(table.row_count):
            table.move_cursor(row=row)
            await pilot.pause()
            key = table.entry_at(row).step_key
            y = row - round(table.scroll_y) + 1
            shown = table.render_line(y).text[start:end].strip()
            if key:
                cells[key] = shown
                detail = str(screen.query_one("#detail-text", Static).render())
                assert key in detail  # the full key on selection
        assert COLUMNS[3] == "step"
        assert cells["deploy[staging]/stop-anno"] == "d…y[staging]/stop-anno"
        assert cells["deploy[staging]/migrate"] == "de…oy[staging]/migrate"  # 22 cells
        for key, shown in cells.items():
            step = key.rpartition("/")[2]
            assert shown.endswith(step), (key, shown)
            if "[" in key:
                assert key[key.index("[") : key.index("]") + 1] in shown, (key, shown)
