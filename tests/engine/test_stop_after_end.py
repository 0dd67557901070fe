"""A SIGTERM/SIGHUP that arrives after the run recorded its end, while annotui releases the target
lock and closes the log (found by tests/ui/test_crash_loop.py: `plain SIGHUP` ended with a
CancelledError traceback, exit 1, and the lock directory left behind). The stop request must
find nothing to stop: the run returns its exit code, the lock is released, the log verifies.

In-process, so that the request lands exactly there: it is scheduled on the loop when the
session.end record is written, as a signal handler is (asyncio runs those as loop callbacks),
and so runs at the cleanup's first await. Real local transport, real lock, real writer.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path

import pytest

from annotui import events as ev
from annotui.audit.reader import read_records
from annotui.audit.verify import verify
from annotui.checklist.loader import load_checklist
from annotui.engine.operator import Decision
from annotui.engine.options import RunOptions
from annotui.engine.session import Session

CHECKLIST = Path(__file__).parent / "checklists" / "stop-after-end.toml"


class Nobody:
    """The operator of a --yes run whose vars are all given: never asked anything."""

    name = "tester"

    async def ask_var(self, *args: object) -> str | None:
        raise AssertionError("asked for a var")

    async def confirm(self, *args: object) -> Decision:
        raise AssertionError("asked to confirm")

    async def evidence(self, *args: object) -> str | None:
        raise AssertionError("asked for evidence")

    async def resolve_unknown(self, *args: object) -> Decision:
        raise AssertionError("asked about an unknown outcome")

    async def after_failure(self, *args: object) -> Decision:
        raise AssertionError("a step failed")

    async def takeover_lock(self, *args: object) -> bool:
        raise AssertionError("the lock was held")


def _options(tmp_path: Path, log: Path) -> RunOptions:
    """--yes, the audit log, and `work` (where the lock and the counter are): tmp_path."""
    return RunOptions(yes=True, audit_path=log, cli_vars={"work": str(tmp_path)})


@pytest.mark.parametrize("signal_name", ["SIGTERM", "SIGHUP"])
async def test_a_stop_request_after_the_end_does_not_cut_the_cleanup(
    tmp_path: Path, signal_name: str
) -> None:
    lock, counter, log = tmp_path / "target.lock", tmp_path / "counter", tmp_path / "a.jsonl"
    options = _options(tmp_path, log)
    session: Session
    requested: list[str] = []

    def signal_at_the_end(event: ev.Event) -> None:
        if isinstance(event, ev.SessionEnded):
            requested.append(event.outcome)
            reason = f"{signal_name} received"
            asyncio.get_running_loop().call_soon(session.request_stop, reason)

    session = Session(load_checklist(CHECKLIST), options, Nobody(), [signal_at_the_end])
    code = await session.run()
    assert requested == ["done"] and code == 0
    assert counter.read_text() == "changed\n"
    assert not lock.exists(), "the target lock was left held"
    result = verify(log)
    assert result.ok, result
    events = [r for r in read_records(log) if r["event"] != "seal"]
    assert events[-1]["event"] == "session.end" and events[-1]["exit_code"] == 0


@pytest.mark.parametrize("signal_name", ["SIGTERM", "SIGHUP"])
async def test_a_stop_request_while_the_lock_is_taken_releases_it(
    tmp_path: Path, signal_name: str
) -> None:
    """The stop lands after the lock directory was made, before `acquire` returned (found by
    the crash loop: the lock was left held by a run that recorded its interruption)."""
    lock, counter, log = tmp_path / "target.lock", tmp_path / "counter", tmp_path / "a.jsonl"
    session = Session(load_checklist(CHECKLIST), _options(tmp_path, log), Nobody())
    loop = asyncio.get_running_loop()

    def stop_once_the_lock_exists() -> None:
        if lock.is_dir():
            session.request_stop(f"{signal_name} received")
        else:
            loop.call_later(0.0005, stop_once_the_lock_exists)

    loop.call_soon(stop_once_the_lock_exists)
    assert await session.run() == 3
    events = [r["event"] for r in read_records(log) if r["event"] != "seal"]
    assert "stage.start" not in events, "the stop came after the lock was taken"
    assert events[-2:] == ["session.interrupted", "session.end"]
    assert not counter.exists()
    assert not lock.exists(), "the target lock was left held"


CANCELLED_ACQUIRES = """
import asyncio, contextlib, pathlib, sys
from annotui.transport.local import LocalTransport
from annotui.transport.lock import acquire, release

async def main() -> None:
    transport = LocalTransport()
    for turns in range(13):
        lock = pathlib.Path(sys.argv[1]) / f"lock{turns}"
        holder = {"pid": turns}
        task = asyncio.ensure_future(acquire(transport, str(lock), holder))
        for _ in range(turns):
            await asyncio.sleep(0)
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await asyncio.sleep(0.3)  # what a script left running would do meanwhile
        if lock.exists() and not (lock / "holder.json").exists():
            print(f"cancelled after {turns} turns: an empty lock")
        elif lock.exists() and not await release(transport, str(lock), holder):
            print(f"cancelled after {turns} turns: not released")

asyncio.run(main())
"""


def test_a_cancelled_acquire_never_leaves_a_lock_without_its_holder(tmp_path: Path) -> None:
    """`acquire` cancelled after 0-12 turns of the loop (a stop request lands wherever the run
    is): cancelled while its script was being started, asyncio SIGKILLed the script between its
    mkdir and its holder info, leaving an empty lock directory that no run could release (found
    by the crash loop; turns 1-6 here, before). The lock is now free, or held with our holder
    info, which the session's cleanup releases. In its own process under `asyncio.run`, as
    annotui runs (under pytest's loop the race did not show)."""
    proc = subprocess.run(
        [sys.executable, "-c", CANCELLED_ACQUIRES, str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "", proc.stdout
