"""What keeps the viewer's keys fast on a big log, checked on small real logs: the step filter's
view (no sort when the picked steps are single runs, the right order when a resumed step comes
back), the verify of a big log in a child process (its CPU never holds this process's GIL), and
the timeline's row count changed without a layout of the screen, its scrollbar still following."""

from __future__ import annotations

from pathlib import Path

import pytest
from audit_samples import sample_events, write_sample
from textual.widgets import Input, Static

from screens import audit_viewer
from screens.audit_index import LogIndex, LogReader
from screens.audit_viewer import AuditViewerScreen, ReviewApp, VerifyChild
from screens.widgets.timeline import Timeline


def _index(path: Path) -> LogIndex:
    index, reader = LogIndex(path), LogReader(path)
    while batch := reader.read_new():
        index.add(batch)
    return index


def _brute(index: LogIndex, needle: str) -> list[int]:
    return [
        pos
        for pos, entry in enumerate(index.entries)
        if entry.step_key is not None and needle in entry.step_key.lower()
    ]


@pytest.mark.parametrize("needle", ["s", "prepare", "STAGING", "check-disk", "nothing"])
def test_step_filter_positions_ascending(tmp_path: Path, needle: str) -> None:
    events = sample_events()
    # a resume: prepare/check-disk's records again at the end, after other steps
    again = [e for e in events if e.get("step_key") == "prepare/check-disk"]
    assert again
    events = [*events, *again]
    log = tmp_path / "audit.jsonl"
    write_sample(log, events)
    index = _index(log)
    view = index.view(None, needle, None)
    assert view is not None
    assert list(view) == _brute(index, needle.lower())
    assert list(view) == sorted(view)


def test_verify_child_gives_verify_s_verdict(tmp_path: Path) -> None:
    log = tmp_path / "audit.jsonl"
    write_sample(log)
    result = VerifyChild().run(log)
    assert result.ok and result.records == 32 and result.bad_line is None
    lines = log.read_bytes().split(b"\n")
    lines[11] = lines[11].replace(b"PR #812", b"PR #813")
    log.write_bytes(b"\n".join(lines))
    broken = VerifyChild().run(log)
    assert not broken.ok and broken.bad_line == 12
    with pytest.raises(audit_viewer.AuditError, match="cannot read"):
        VerifyChild().run(tmp_path / "missing.jsonl")


async def test_viewer_verifies_a_big_log_in_a_child(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(audit_viewer, "CHILD_VERIFY_FROM", 0)  # every log counts as big
    runs: list[Path] = []
    real = VerifyChild.run

    def counted(self: VerifyChild, path: Path):  # type: ignore[no-untyped-def]
        runs.append(path)
        return real(self, path)

    monkeypatch.setattr(VerifyChild, "run", counted)
    log = tmp_path / "release.jsonl"
    write_sample(log)
    app = ReviewApp(log, poll=3600)
    async with app.run_test(size=(80, 24)) as pilot:
        for _ in range(400):
            if isinstance(app.screen, AuditViewerScreen) and app.screen.verdict is not None:
                break
            await pilot.pause(0.05)
        banner = str(app.screen.query_one("#banner", Static).render())
        assert "INTACT  32 records" in banner
    assert runs == [log]


async def test_filter_resizes_rows_and_scrollbar(tmp_path: Path) -> None:
    log = tmp_path / "audit.jsonl"
    write_sample(log)
    app = ReviewApp(log, poll=3600)
    async with app.run_test(size=(80, 24)) as pilot:
        for _ in range(200):
            if isinstance(app.screen, AuditViewerScreen) and app.screen.verdict is not None:
                break
            await pilot.pause(0.05)
        screen = app.screen
        table = screen.query_one(Timeline)
        assert table.show_vertical_scrollbar and table.row_count > 20
        screen.query_one("#f-step", Input).value = "smoke"
        await pilot.pause(0.2)
        assert table.row_count == 2 and table.virtual_size.height == 3
        assert not table.show_vertical_scrollbar  # 2 rows fit: the scrollbar went
        assert "deploy[staging]/smoke" in table.render_line(1).text
        assert table.render_line(3).text.strip() == ""
        screen.query_one("#f-step", Input).value = ""
        await pilot.pause(0.2)
        assert table.row_count > 20 and table.show_vertical_scrollbar
        await pilot.press("end")
        await pilot.pause(0.1)
        assert table.cursor_row == table.row_count - 1
        last = table.render_line(table.scrollable_content_region.height - 1).text
        assert "session.end" in last
