"""The writer when its log cannot be written: the failure is the writer's caller's to handle (an
AuditError, or `on_failure` for a deferred fsync), never an exception in an asyncio callback, and
what is left of the log verifies. The full disk is a real tmpfs (root needed, else skipped)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from annotui import events as ev
from annotui.audit.errors import AuditError
from annotui.audit.verify import verify
from annotui.audit.writer import AuditWriter
from tests.tmpfs import fill, mounted_tmpfs

from .conftest import STAGING, header, shown

KEY = f"{STAGING}/stop-anno"


@pytest.fixture
def tmpfs(tmp_path: Path) -> Iterator[Path]:
    with mounted_tmpfs(tmp_path / "tmpfs", "64k") as where:
        yield where


def test_deferred_fsync_failure_reaches_on_failure(tmp_path: Path) -> None:
    """A deferred record's fsync runs when the loop goes idle: that it failed (here: the log
    was removed meanwhile) reaches the session by `on_failure`, not the loop's error handler."""
    log = tmp_path / "logs" / "run.jsonl"
    failures: list[AuditError] = []
    loop_errors: list[dict[str, Any]] = []

    async def main() -> None:
        asyncio.get_running_loop().set_exception_handler(lambda _, ctx: loop_errors.append(ctx))
        w = AuditWriter.create(log)
        w.on_failure = failures.append
        w(header())
        w(shown(KEY, "command", "systemctl stop anno"))  # deferred: fsynced on idle
        log.unlink()
        await asyncio.sleep(0.05)
        with pytest.raises(AuditError, match="removed or moved away"):
            w(ev.StepStarted(KEY))

    asyncio.run(main())
    assert loop_errors == []
    assert [str(e) for e in failures] == [
        f"cannot write the audit log {log}: the file was removed or moved away"
    ]


def test_full_disk_raises_closes_and_cuts_the_torn_line(tmpfs: Path) -> None:
    log = tmpfs / "run.jsonl"
    w = AuditWriter.create(log)
    w(header())
    w(ev.StepStarted(KEY))
    _fill_but(tmpfs, 4096)  # room for part of the next record only
    with pytest.raises(AuditError, match="No space left on device"):
        w(ev.StepOutput(KEY, "stdout", "x" * 40_000))
    with pytest.raises(AuditError, match="No space left on device"):  # and so on: it is closed
        w(ev.StepOutput(KEY, "stdout", "y"))
    result = verify(log)
    assert result.ok and result.records == 2, result
    # the lock was released: with room again the log is continued
    (tmpfs / "filler").unlink()
    w2, tail = AuditWriter.open_append(log)
    assert tail.torn_tail is None and tail.records == 2
    w2(ev.StepFinished(KEY, "unknown"))
    w2.close()
    assert verify(log).ok


def _fill_but(where: Path, room: int) -> None:
    fill(where, 1024)
    filler = where / "filler"
    with open(filler, "r+b") as f:
        f.truncate(max(0, filler.stat().st_size - room))


def test_check_finds_a_log_that_is_gone_without_writing(tmp_path: Path) -> None:
    """`check()` is what the session polls while a silent command runs: nothing is written."""
    log = tmp_path / "logs" / "run.jsonl"
    w = AuditWriter.create(log)
    w(header())
    w.check()  # healthy: nothing happens
    size = log.stat().st_size
    log.rename(tmp_path / "logs" / "moved.jsonl")
    with pytest.raises(AuditError, match="the file was removed or moved away"):
        w.check()
    with pytest.raises(AuditError, match="the file was removed or moved away"):
        w(ev.StepStarted(KEY))  # and every record after it
    assert (tmp_path / "logs" / "moved.jsonl").stat().st_size == size
