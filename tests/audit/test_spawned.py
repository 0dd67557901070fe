"""`step.spawned`: the process group of a step's command, written without an fsync of its own,
and the run state a resume reads it from (only for a step whose outcome is unknown)."""

from __future__ import annotations

import os
from pathlib import Path

from annotui import events as ev
from annotui.audit.reader import load_run_state
from annotui.audit.writer import AuditWriter

from .conftest import STAGING, header

KEY = f"{STAGING}/stop-anno"


def test_spawned_costs_no_fsync_of_its_own(tmp_path: Path, monkeypatch) -> None:
    """Counts real fsync calls (the syscall still runs): the next record's fsync covers it, and
    close() fsyncs when it is the last one."""
    calls: list[int] = []
    real = os.fsync
    monkeypatch.setattr(os, "fsync", lambda fd: (calls.append(fd), real(fd))[1])
    log = tmp_path / "a.jsonl"
    with AuditWriter.create(log) as w:
        w(header())
        w(ev.StepStarted(KEY))
        calls.clear()
        w(ev.StepSpawned(KEY, "tsd", 4242))
        assert calls == []
        w(ev.StepFinished(KEY, "ok"))
        assert len(calls) == 1
        w(ev.StepStarted(KEY, attempt=2))
        w(ev.StepSpawned(KEY, "tsd", 4343))
        calls.clear()
    assert len(calls) == 1  # close()


def test_run_state_keeps_the_group_of_an_unknown_step_only(tmp_path: Path) -> None:
    log = tmp_path / "a.jsonl"
    other = f"{STAGING}/start-anno"
    with AuditWriter.create(log) as w:
        w(header())
        w(ev.StepStarted(KEY))
        w(ev.StepSpawned(KEY, "tsd", 4242))
        w(ev.StepFinished(KEY, "ok"))  # finished: nothing may still run
        w(ev.StepStarted(other))
        w(ev.StepSpawned(other, "local", 100))
        w(ev.StepFinished(other, "unknown", message="connection lost"))
        w(ev.StepStarted(other, attempt=2))  # a new attempt: its own group, once reported
    state = load_run_state(log)
    assert state.spawned == {}
    with AuditWriter.open_append(log)[0] as w:
        w(ev.StepSpawned(other, "local", 200))
    state = load_run_state(log)
    assert state.spawned == {other: ("local", 200)} and state.unknown == [other]
    with AuditWriter.open_append(log)[0] as w:
        w(ev.StepFinished(other, "unknown", message="connection lost"))
        w(ev.OutcomeUnknown(other, "resumed"))
    assert load_run_state(log).spawned == {other: ("local", 200)}
    with AuditWriter.open_append(log)[0] as w:
        w(ev.StepSkipped(other, "not needed", "alice"))
    assert load_run_state(log).spawned == {}
