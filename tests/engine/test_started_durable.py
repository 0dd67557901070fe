"""A local step's ``step.started`` is durable before its command begins, and that fsync runs
while the command's shell starts (issue 11's per-step budget): the shell gets its script only
after it (`StepContext.begin`, `Transport.begins_late`).

In-process with the real local transport and the real writer; `os.fsync` is wrapped to note,
at each call, how much of the log it covers and which commands had run: a machine crash (what
an fsync guards against) cannot be staged here.
"""

from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest
from test_stop_after_end import Nobody

from annotui.audit.reader import read_records
from annotui.audit.verify import verify
from annotui.checklist.loader import load_checklist
from annotui.engine.errors import AuditLost
from annotui.engine.options import RunOptions
from annotui.engine.session import Session

CHECKLIST = Path(__file__).parent / "checklists" / "started-durable.toml"
STEPS = ("first", "second")


def _ends(log: Path) -> dict[tuple[str, str], int]:
    """(event, step) -> the offset just past that record's line."""
    ends, offset = {}, 0
    for line, record in zip(
        log.read_bytes().splitlines(keepends=True), read_records(log), strict=True
    ):
        offset += len(line)
        ends.setdefault((record["event"], record.get("step_key", "").rpartition("/")[2]), offset)
    return ends


async def test_a_step_starts_only_once_its_start_is_durable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    log = tmp_path / "a.jsonl"
    real_fsync = os.fsync
    synced: list[tuple[int, set[str]]] = []  # (log bytes covered, commands that had run)

    def fsync(fd: int) -> None:
        if log.exists() and os.fstat(fd).st_ino == log.stat().st_ino:
            ran = {name for name in STEPS if (tmp_path / name).exists()}
            synced.append((os.fstat(fd).st_size, ran))
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", fsync)
    options = RunOptions(yes=True, audit_path=log, cli_vars={"work": str(tmp_path)})
    assert await Session(load_checklist(CHECKLIST), options, Nobody()).run() == 0
    assert verify(log).ok
    ends = _ends(log)
    for name in STEPS:
        assert (tmp_path / name).read_text() == "ran\n"
        started, spawned = ends[("step.started", name)], ends[("step.spawned", name)]
        first = next(i for i, (size, _) in enumerate(synced) if size >= started)
        size, ran = synced[first]
        assert name not in ran, f"{name}'s command ran before its step.started was fsynced"
        # the fsync came once the shell was there (its step.spawned is written, and covered)
        assert size >= spawned, f"{name}: step.started fsynced before its shell started"


async def test_a_start_that_cannot_be_made_durable_runs_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The fsync after the first shell started fails (EIO): that command never gets its
    script, the run stops with the log lost (AuditLost: exit 4)."""
    log = tmp_path / "a.jsonl"
    real_fsync = os.fsync

    def fsync(fd: int) -> None:
        if log.exists() and b'"step.spawned"' in log.read_bytes():
            raise OSError(errno.EIO, os.strerror(errno.EIO))
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", fsync)
    options = RunOptions(yes=True, audit_path=log, cli_vars={"work": str(tmp_path)})
    with pytest.raises(AuditLost, match="Input/output error"):
        await Session(load_checklist(CHECKLIST), options, Nobody()).run()
    assert not (tmp_path / "first").exists() and not (tmp_path / "second").exists()
