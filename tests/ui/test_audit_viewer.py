"""The reviewer's audit viewer, driven by Pilot against real logs (real writer, real engine)."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from audit_samples import sample_events, sealed_lines, write_sample
from textual.pilot import Pilot
from textual.widgets import Input, Select, Static

from annotui import events as ev
from annotui.audit.writer import AuditWriter
from screens.audit_index import LogIndex, LogReader, read_output_page
from screens.audit_viewer import AuditViewerScreen, ExportScreen, ReviewApp
from screens.widgets.timeline import Timeline

SIZES = [(80, 24), (120, 40)]


async def wait_until(pilot: Pilot, cond: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        await pilot.pause(0.05)


def viewer(app: ReviewApp) -> AuditViewerScreen:
    screen = app.screen
    assert isinstance(screen, AuditViewerScreen)
    return screen


def banner_text(app: ReviewApp) -> str:
    return str(viewer(app).query_one("#banner", Static).render())


def verified(app: ReviewApp) -> bool:
    return isinstance(app.screen, AuditViewerScreen) and app.screen.verdict is not None


@asynccontextmanager
async def sample_viewer(
    tmp_path: Path,
) -> AsyncIterator[tuple[ReviewApp, Pilot, AuditViewerScreen]]:
    """The viewer on the sample log (tmp_path/audit.jsonl) at 80x24, verified and ready."""
    log = tmp_path / "audit.jsonl"
    write_sample(log)
    app = ReviewApp(log)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_until(pilot, lambda: verified(app))
        yield app, pilot, viewer(app)


def shown_steps(app: ReviewApp) -> list[str]:
    table = viewer(app).query_one(Timeline)
    return [table.entry_at(i).step_key or "" for i in range(table.row_count)]


def digest(path: Path) -> tuple[str, int]:
    return hashlib.sha256(path.read_bytes()).hexdigest(), path.stat().st_mtime_ns


def writer_log(path: Path) -> str:
    """A small log written by the real AuditWriter; returns its final hash."""
    w = AuditWriter.create(path, fsync=False)
    try:
        w(
            ev.SessionStarted(
                checklist_path="c.toml",
                checklist_sha256="0" * 64,
                checklist_id="viewer-test",
                checklist_title="Viewer test",
                checklist_version="1",
                operator="rev",
                ssh_connection=None,
                host="here",
                annotui_version="0.1.0",
                mode="live",
            )
        )
        w(ev.StageStarted(stage_key="one", title="One", index=1, total=1))
        w(
            ev.StepShown(
                step_key="one/hello",
                stage_key="one",
                step_id="hello",
                kind="command",
                title="Say hello",
                host="local",
                cwd="/tmp",
                command="echo hello",
                changes=False,
                critical=False,
                confirm="yes",
                confirm_word=None,
                simulated=False,
            )
        )
        w(ev.StepConfirmed(step_key="one/hello", operator="rev"))
        w(ev.StepStarted(step_key="one/hello"))
        w(ev.StepOutput(step_key="one/hello", stream="stdout", text="hello"))
        w(ev.StepFinished(step_key="one/hello", outcome="ok", exit_code=0, duration=0.01))
        w(ev.SessionEnded(outcome="done", exit_code=0, steps_total=1, steps_ok=1, steps_skipped=0))
        return w.last_hash
    finally:
        w.close()


@pytest.mark.parametrize("size", SIZES)
async def test_intact_log_from_the_real_writer(tmp_path: Path, size: tuple[int, int]) -> None:
    log = tmp_path / "audit.jsonl"
    last = writer_log(log)
    before = digest(log)
    app = ReviewApp(log)
    async with app.run_test(size=size) as pilot:
        await wait_until(pilot, lambda: verified(app))
        text = banner_text(app)
        assert "INTACT" in text and "8 records" in text
        assert last in text
        assert viewer(app).query_one("#banner").has_class("intact")
        assert "one/hello" in shown_steps(app)
    assert digest(log) == before, "the viewer changed the log"


async def test_a_log_written_by_the_engine_shows_intact(tmp_path: Path) -> None:
    checklist = tmp_path / "c.toml"
    checklist.write_text(
        '[checklist]\nid = "tiny"\ntitle = "Tiny"\n\n[[stages]]\nid = "s"\ntitle = "S"\n\n'
        '  [[stages.steps]]\n  id = "count"\n  kind = "command"\n  run = "seq 3"\n'
    )
    log = tmp_path / "audit.jsonl"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "annotui.cli",
            "run",
            str(checklist),
            "--plain",
            "--yes",
            "--audit",
            str(log),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
        cwd=tmp_path,
        env={**os.environ, "XDG_STATE_HOME": str(tmp_path / "state")},
    )
    assert done.returncode == 0, done.stdout + done.stderr
    app = ReviewApp(log)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_until(pilot, lambda: verified(app))
        assert "INTACT" in banner_text(app)
        screen = viewer(app)
        info = screen.index.steps["s/count"]
        assert info.outcome == "ok" and list(info.head) == ["1", "2", "3"]


@pytest.mark.parametrize("size", SIZES)
async def test_one_changed_byte_shows_broken_at_that_line(
    tmp_path: Path, size: tuple[int, int]
) -> None:
    log = tmp_path / "audit.jsonl"
    write_sample(log)
    lines = log.read_bytes().split(b"\n")
    assert b"changelog reviewed" in lines[11]  # line 12: the evidence record
    lines[11] = lines[11].replace(b"changelog reviewed", b"changelog reviewer")
    log.write_bytes(b"\n".join(lines))
    app = ReviewApp(log)
    async with app.run_test(size=size) as pilot:
        await wait_until(pilot, lambda: verified(app))
        text = banner_text(app)
        assert "BROKEN at line 12" in text, text
        assert viewer(app).query_one("#banner").has_class("broken")
        assert viewer(app).query_one(Timeline).bad_line == 12


async def test_torn_tail_is_reported(tmp_path: Path) -> None:
    log = tmp_path / "audit.jsonl"
    write_sample(log)
    with log.open("ab") as f:
        f.write(b'{"seq":32,"ts":"2026-03-02T09:00:33.000000Z","event":"err')
    app = ReviewApp(log)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_until(pilot, lambda: verified(app))
        assert "TORN TAIL after 32 intact records" in banner_text(app)


async def test_filters_narrow_the_timeline(tmp_path: Path) -> None:
    async with sample_viewer(tmp_path) as (app, pilot, screen):
        total = len(shown_steps(app))
        assert total == len(screen.index.entries) > 20

        await pilot.press("slash")
        assert screen.focused is screen.query_one("#f-step", Input)
        await pilot.press(*"migr", "enter")
        steps = shown_steps(app)
        assert steps and all(s == "deploy[staging]/migrate" for s in steps)
        assert isinstance(screen.focused, Timeline)

        await pilot.press("c")
        assert len(shown_steps(app)) == total

        screen.query_one("#f-stage", Select).value = "prepare"
        await pilot.pause()
        steps = shown_steps(app)
        assert steps and all(s.startswith("prepare/") or s == "" for s in steps)
        assert not any(s.startswith("deploy") for s in steps)

        await pilot.press("c")
        screen.query_one("#f-outcome", Select).value = "skipped"
        await pilot.pause()
        assert set(shown_steps(app)) == {"deploy[staging]/smoke"}


async def test_step_detail_and_full_output(tmp_path: Path) -> None:
    async with sample_viewer(tmp_path) as (app, pilot, screen):
        table = screen.query_one(Timeline)
        table.move_cursor(row=table.get_row_index("16"))  # step.shown of stop-anno
        await pilot.pause()
        detail = str(screen.query_one("#detail-text", Static).render())
        assert "supervisorctl stop anno:*" in detail
        assert "typed 'staging'" in detail
        assert "before: anno:web=RUNNING" in detail and "after: anno:web=STOPPED" in detail
        table.move_cursor(row=table.get_row_index("25"))  # migrate output
        await pilot.pause()
        detail = str(screen.query_one("#detail-text", Static).render())
        assert "expected exit 0, got 1" in detail and "41 lines" in detail
        await pilot.press("o")
        await wait_until(pilot, lambda: len(app.screen.query("#output-log")) == 1)
        from textual.widgets import Log

        out = app.screen.query_one("#output-log", Log)
        await wait_until(pilot, lambda: out.line_count == 41)
        assert out.lines[0] == "applying migration 0001_anno"
        assert out.lines[-1] == "error: relation anno_jobs already exists"
        await pilot.press("escape")
        assert app.screen is screen


def test_output_pages_are_read_from_the_file_by_span(tmp_path: Path) -> None:
    log = tmp_path / "audit.jsonl"
    write_sample(log)
    index = LogIndex(log)
    index.add(LogReader(log).read_new())
    info = index.steps["deploy[staging]/migrate"]
    assert info.output_lines == 41 and len(info.output_spans) == 3
    assert list(info.tail)[-1] == "error: relation anno_jobs already exists"
    page = read_output_page(log, info.output_spans, 18, 4)
    assert page == [f"applying migration {i:04d}_anno" for i in range(19, 23)]


async def test_following_a_growing_log_shows_new_records(tmp_path: Path) -> None:
    log = tmp_path / "audit.jsonl"
    events = sample_events()
    lines, _ = sealed_lines(events)
    log.write_bytes(b"".join(lines[:10]))
    app = ReviewApp(log, poll=0.1)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_until(pilot, lambda: verified(app))
        screen = viewer(app)
        assert "10 records" in banner_text(app)
        rows = screen.query_one(Timeline).row_count
        with log.open("ab") as f:
            f.write(b"".join(lines[10:20]))
            f.write(lines[20][:30])  # half a line: not shown until it is complete
        await wait_until(pilot, lambda: screen.query_one(Timeline).row_count > rows)
        await wait_until(pilot, lambda: "20 intact records" in banner_text(app))
        with log.open("ab") as f:
            f.write(lines[20][30:] + b"".join(lines[21:]))
        await wait_until(pilot, lambda: "32 records" in banner_text(app))
        assert "session.end" in [e.event for e in screen.index.entries]
        assert "INTACT" in banner_text(app)


async def test_export_writes_a_report_and_leaves_the_log_alone(tmp_path: Path) -> None:
    log = tmp_path / "audit.jsonl"
    write_sample(log)
    before = digest(log)
    app = ReviewApp(log)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_until(pilot, lambda: verified(app))
        screen = viewer(app)
        await pilot.press("m")
        assert isinstance(app.screen, ExportScreen)
        await pilot.press("enter")
        await wait_until(pilot, lambda: screen.last_export is not None)
        md = tmp_path / "audit.jsonl.report.md"
        assert screen.last_export == md
        title = "# Audit report: Release and deployment of the anno system"
        assert md.read_text().startswith(title)

        await pilot.press("h")
        field = app.screen.query_one("#export-path", Input)
        field.value = str(tmp_path / "out" / "r.html")
        (tmp_path / "out").mkdir()
        await pilot.press("enter")
        await wait_until(pilot, lambda: screen.last_export == tmp_path / "out" / "r.html")
        assert "<html" in (tmp_path / "out" / "r.html").read_text().lower()

        await pilot.press("m")
        app.screen.query_one("#export-path", Input).value = str(log)
        await pilot.press("enter")
        await pilot.pause(0.3)
        assert screen.last_export == tmp_path / "out" / "r.html"  # refused: not over the log
    assert digest(log) == before, "the viewer changed the log"


async def test_enter_pressed_twice_on_export_keeps_the_viewer(tmp_path: Path) -> None:
    """Both Enters reach the path's input before the dialog closes: the second answer must not
    close the viewer below it (Textual's dismiss pops whatever screen is on top)."""
    async with sample_viewer(tmp_path) as (app, pilot, screen):
        await pilot.press("m")
        assert isinstance(app.screen, ExportScreen)
        app.simulate_key("enter")
        app.simulate_key("enter")
        await wait_until(pilot, lambda: screen.last_export is not None)
        await pilot.pause(0.2)
        assert app.screen is screen


async def test_missing_log_is_a_message_not_a_crash(tmp_path: Path) -> None:
    app = ReviewApp(tmp_path / "nope.jsonl")
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_until(pilot, lambda: "CANNOT" in banner_text(app))
        assert viewer(app).query_one("#banner").has_class("broken")


def _snap_app(tmp_path: Path) -> ReviewApp:
    # A fixed file name in a fresh directory: the banner shows only the name, never the path.
    log = tmp_path / "release-2026-03-02.jsonl"
    write_sample(log)
    return ReviewApp(log, poll=3600)


async def _settle(pilot: Pilot, row: str | None = None) -> None:
    app = pilot.app
    assert isinstance(app, ReviewApp)
    await wait_until(pilot, lambda: verified(app))
    if row is not None:
        table = viewer(app).query_one(Timeline)
        table.move_cursor(row=table.get_row_index(row), animate=False)
    await pilot.pause()


def test_audit_viewer_snapshot_80x24(snap_compare, tmp_path: Path) -> None:
    assert snap_compare(_snap_app(tmp_path), terminal_size=(80, 24), run_before=_settle)


def test_audit_viewer_snapshot_120x40(snap_compare, tmp_path: Path) -> None:
    async def before(pilot: Pilot) -> None:
        await _settle(pilot, row="25")

    assert snap_compare(_snap_app(tmp_path), terminal_size=(120, 40), run_before=before)


def test_audit_viewer_broken_snapshot_80x24(snap_compare, tmp_path: Path) -> None:
    app = _snap_app(tmp_path)
    log = app.log_path
    data = log.read_bytes().split(b"\n")
    data[11] = data[11].replace(b"PR #812", b"PR #813")
    log.write_bytes(b"\n".join(data))

    async def before(pilot: Pilot) -> None:
        await _settle(pilot, row="12")

    assert snap_compare(app, terminal_size=(80, 24), run_before=before)


async def test_outcome_column_and_every_outcome_in_the_filter(tmp_path: Path) -> None:
    async with sample_viewer(tmp_path) as (app, pilot, screen):
        table = screen.query_one(Timeline)
        index = screen.index
        outcomes = {}
        for row in range(table.row_count):
            entry = table.entry_at(row)
            pos = index.position_of(entry.line)
            assert pos is not None
            outcomes[entry.line] = (entry.event, index.outcome_at(pos))
        assert outcomes[22] == ("step.shown", "failed")  # migrate: its step's outcome
        assert outcomes[30] == ("step.skipped", "skipped")
        assert outcomes[31] == ("stage.end", "failed")
        assert outcomes[2] == ("var.set", None)
        # the drawn row holds it too
        table.move_cursor(row=table.get_row_index("22"))
        await pilot.pause()
        assert any("failed" in strip.text and "migrate" in strip.text for strip in
                   app.screen._compositor.render_strips())  # fmt: skip
        select = screen.query_one("#f-outcome", Select)
        offered = [str(value) for _label, value in select._options if isinstance(value, str)]
        assert {"cancelled", "timeout", "unknown", "skipped", "failed", "ok"} <= set(offered)
        select.value = "cancelled"
        await pilot.pause()
        assert table.row_count == 0  # no step was cancelled: the filter shows nothing


def test_large_log_index_is_columns_not_objects(tmp_path: Path) -> None:
    """20,000 output records of one step fold into one entry; the index keeps no record."""
    log = tmp_path / "audit.jsonl"
    w = AuditWriter.create(log, fsync=False)
    try:
        w(ev.SessionStarted("c", "0" * 64, "c", "C", "1", "rev", None, "here", "0.1.0", "live"))
        w(ev.StageStarted(stage_key="s", title="S", index=1, total=1))
        for i in range(20_000):
            w(ev.StepOutput(step_key="s/a", stream="stdout", text=f"line {i}"))
        w(ev.StepFinished(step_key="s/a", outcome="cancelled", exit_code=None, duration=16.0))
    finally:
        w.close()
    index = LogIndex(log)
    reader = LogReader(log)
    while batch := reader.read_new(64 << 10):
        index.add(batch)
    assert len(index) == 4
    entry = index.entry(2)
    assert entry.summary == "20000 lines (stdout)" and entry.last_line == 20_002
    assert index.outcome_at(2) == "cancelled"
    assert list(index.view(None, "", "cancelled") or []) == [2, 3]
    index.close()
