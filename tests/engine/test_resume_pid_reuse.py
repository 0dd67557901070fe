"""A process-group id reused by an unrelated process does not make a resume refuse (issue 12).

`step.spawned` records the group leader's start time (/proc/PID/stat field 22) and the boot id
beside the pgid. On resume the recorded group is alive only on the same boot and while a
process with that pid has the same start time: a dead command whose pgid now belongs to another
process is dead. Recreating a real pid reuse is not practical, so the log of a real run (killed
with SIGKILL, its command then gone) gets one more `step.spawned` naming a live unrelated `sleep`
in a session of its own (pgid = its pid), with the sleep's true start time or another one, and
the true boot id or another one. A record without the two fields (an older log) is asked about
by the pgid alone, as before: the safe side.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import pytest
from engine_cli import read_log
from test_resume_alive import kill_9, local_env, resume, start, wait_spawned, wait_started

from annotui import events as ev
from annotui.audit.writer import AuditWriter
from tests.sshd_fixture import group_members

pytestmark = pytest.mark.timeout(120)

BOOT_ID = Path("/proc/sys/kernel/random/boot_id").read_text().strip()
OTHER_BOOT = "00000000-0000-4000-8000-000000000000"


def starttime(pid: int) -> int:
    return int(Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[19])


@dataclass(frozen=True, slots=True)
class OldSpawned(ev.Event):
    """`step.spawned` as logs written before the start time and boot id were recorded."""

    event: ClassVar[str] = "step.spawned"
    step_key: str
    host: str
    pgid: int


@pytest.fixture
def sleeper() -> Iterator[int]:
    """An unrelated live process, leader of its own session and process group."""
    proc = subprocess.Popen(["sleep", "120"], start_new_session=True)
    try:
        yield proc.pid
    finally:
        proc.kill()
        proc.wait()


def killed_run(tmp_path: Path) -> tuple[Path, Path, dict[str, str]]:
    """A real run killed with SIGKILL mid-step; returns once its command has died too."""
    env = local_env(tmp_path)
    work, audit, proc = start(tmp_path, env)
    try:
        pgid = wait_started(work, proc)
        spawned = wait_spawned(audit)
        assert (spawned["pgid"], spawned["boot_id"]) == (pgid, BOOT_ID)
        assert spawned["starttime"] == starttime(pgid)  # the leader's own, while it runs
        kill_9(proc)
    finally:
        if proc.poll() is None:
            proc.kill()
    deadline = time.monotonic() + 15
    while group_members(pgid):  # its lifeline stops it (SIGKILL after KILL_GRACE)
        assert time.monotonic() < deadline, "the killed run's command never died"
        time.sleep(0.05)
    return work, audit, env


def record(audit: Path, event: ev.Event) -> None:
    writer, _ = AuditWriter.open_append(audit)
    with writer:
        writer(event)


def spawned_as(pgid: int, started: int, boot: str) -> ev.StepSpawned:
    return ev.StepSpawned("main/stubborn", "box", pgid, started, boot)


def assert_asked_and_ran_again(
    r: subprocess.CompletedProcess[str], work: Path, audit: Path
) -> None:
    out = r.stdout + r.stderr
    assert r.returncode == 0, out
    assert "still running" not in out
    assert len((work / "started").read_text().split()) == 2  # asked, run again (r, then y)
    assert [x["step_key"] for x in read_log(audit) if x["event"] == "step.unknown"] == [
        "main/stubborn"
    ]


def assert_refused(r: subprocess.CompletedProcess[str], took: float, work: Path, pgid: int) -> None:
    out = r.stdout + r.stderr
    assert r.returncode == 3, out
    assert "Traceback" not in out
    assert f"still running on box (process group {pgid}" in out, out
    assert took >= 5  # it waited for the group before refusing
    assert len((work / "started").read_text().split()) == 1  # never run again


def test_a_reused_pgid_with_another_start_time_is_dead(tmp_path: Path, sleeper: int) -> None:
    work, audit, env = killed_run(tmp_path)
    record(audit, spawned_as(sleeper, starttime(sleeper) + 1, BOOT_ID))
    r, took = resume(work, audit, env, "local", "r\ny\n")
    assert_asked_and_ran_again(r, work, audit)
    assert took < 5, "it waited for an unrelated process"
    assert group_members(sleeper) == [sleeper]  # the unrelated process was left alone


def test_the_same_start_time_is_still_running(tmp_path: Path, sleeper: int) -> None:
    work, audit, env = killed_run(tmp_path)
    record(audit, spawned_as(sleeper, starttime(sleeper), BOOT_ID))
    r, took = resume(work, audit, env, "local", "r\ny\n")
    assert_refused(r, took, work, sleeper)


def test_another_boot_id_is_dead(tmp_path: Path, sleeper: int) -> None:
    """Same pid and start time, but recorded on another boot: the host rebooted since."""
    work, audit, env = killed_run(tmp_path)
    record(audit, spawned_as(sleeper, starttime(sleeper), OTHER_BOOT))
    r, _ = resume(work, audit, env, "local", "r\ny\n")
    assert_asked_and_ran_again(r, work, audit)


def test_an_older_record_without_them_is_asked_about_by_the_pgid(
    tmp_path: Path, sleeper: int
) -> None:
    work, audit, env = killed_run(tmp_path)
    record(audit, OldSpawned("main/stubborn", "box", sleeper))
    assert "starttime" not in read_log(audit)[-1]
    r, took = resume(work, audit, env, "local", "r\ny\n")
    assert_refused(r, took, work, sleeper)


def test_a_leader_gone_with_its_group_alive_is_running(tmp_path: Path) -> None:
    """The recorded leader exited but left a process in its group: the id cannot have been
    reused (the group holds it), so the command still runs."""
    work, audit, env = killed_run(tmp_path)
    leader = subprocess.Popen(
        ["sh", "-c", "sleep 120 >/dev/null 2>&1 & echo $!"],
        stdout=subprocess.PIPE, text=True, start_new_session=True,
    )  # fmt: skip
    assert leader.stdout is not None
    child = int(leader.stdout.readline())
    started = starttime(leader.pid)
    leader.wait()
    try:
        assert group_members(leader.pid) == [child]
        record(audit, spawned_as(leader.pid, started, BOOT_ID))
        r, took = resume(work, audit, env, "local", "r\ny\n")
        assert_refused(r, took, work, leader.pid)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.kill(child, signal.SIGKILL)
