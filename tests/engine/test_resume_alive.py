"""Resume never offers a step whose recorded command is still alive (issue 12).

`annotui run --plain` is a real process killed with SIGKILL mid-step; its step's command ignores
SIGTERM, so its lifeline needs SIGKILL, KILL_GRACE seconds later. The log records the command's
process group when it starts (`step.spawned`); an immediate resume asks whether that group is
alive, waits for it to end, and only then asks the operator. Where the command outlives the wait
(its lifeline killed too), the resume refuses: exit 3, naming the host and the group.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest
from engine_cli import CHECKLISTS, annotui_cmd, read_log

from tests.sshd_fixture import group_members

pytestmark = pytest.mark.timeout(120)

STUBBORN = CHECKLISTS / "stubborn.toml"


def cmd(work: Path, audit: Path, target: str, *more: str) -> list[str]:
    return annotui_cmd("run", STUBBORN, "--plain", "--yes", "--var", f"work={work}",
                       "--var", f"target={target}", "--audit", audit, *more)  # fmt: skip


def start(
    tmp_path: Path, env: dict[str, str], target: str = "local"
) -> tuple[Path, Path, subprocess.Popen[str]]:
    work = tmp_path / "work"
    work.mkdir()
    audit = tmp_path / "audit.jsonl"
    proc = subprocess.Popen(
        cmd(work, audit, target), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True, env=env, cwd=tmp_path,
    )  # fmt: skip
    return work, audit, proc


def wait_started(work: Path, proc: subprocess.Popen[str]) -> int:
    started = work / "started"
    deadline = time.monotonic() + 30
    while not (started.exists() and started.read_text().endswith("\n")):
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "the step never started"
        time.sleep(0.05)
    return int(started.read_text())


def wait_spawned(audit: Path) -> dict:
    deadline = time.monotonic() + 10
    while True:
        spawned = [r for r in read_log(audit) if r["event"] == "step.spawned"]
        if spawned:
            return spawned[-1]
        assert time.monotonic() < deadline, "no step.spawned record"
        time.sleep(0.05)


def kill_9(proc: subprocess.Popen[str]) -> None:
    os.kill(proc.pid, signal.SIGKILL)
    proc.communicate(timeout=10)


def resume(
    work: Path, audit: Path, env: dict[str, str], target: str, answers: str
) -> tuple[subprocess.CompletedProcess[str], float]:
    t0 = time.monotonic()
    r = subprocess.run(
        cmd(work, audit, target, "--resume"), input=answers, capture_output=True, text=True,
        timeout=90, env=env, cwd=work.parent,
    )  # fmt: skip
    return r, time.monotonic() - t0


def local_env(tmp_path: Path) -> dict[str, str]:
    return {**os.environ, "XDG_STATE_HOME": str(tmp_path / "state")}


def _lifeline_of(pid: int) -> int:
    """The run's lifeline watcher: annotui's child running the watcher loop."""
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        with contextlib.suppress(OSError):
            stat = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
            argv = Path(f"/proc/{entry}/cmdline").read_bytes()
            if int(stat[1]) == pid and b"while IFS= read -r l" in argv:
                return int(entry)
    raise AssertionError(f"no lifeline watcher under {pid}")


def test_resume_waits_for_the_command_to_die_then_asks(tmp_path: Path) -> None:
    env = local_env(tmp_path)
    work, audit, proc = start(tmp_path, env)
    try:
        pgid = wait_started(work, proc)
        spawned = wait_spawned(audit)
        assert (spawned["step_key"], spawned["host"], spawned["pgid"]) == (
            "main/stubborn",
            "box",
            pgid,
        )
        kill_9(proc)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert group_members(pgid), "the command should outlive annotui for KILL_GRACE"
    # at once, while the command still runs: run it again (confirmed again by a person)
    r, _ = resume(work, audit, env, "local", "r\ny\n")
    assert r.returncode == 0, r.stdout + r.stderr
    assert not (work / "overlaps").exists(), "run again was offered while the command ran"
    assert len((work / "started").read_text().split()) == 2  # it did run again, once
    assert group_members(pgid) == []
    recs = read_log(audit)
    assert [x["step_key"] for x in recs if x["event"] == "step.unknown"] == ["main/stubborn"]
    assert not (work / "finished").exists()


def test_resume_refuses_while_the_command_runs(tmp_path: Path) -> None:
    env = local_env(tmp_path)
    work, audit, proc = start(tmp_path, env)
    pgid = 0
    try:
        pgid = wait_started(work, proc)
        wait_spawned(audit)
        os.kill(_lifeline_of(proc.pid), signal.SIGKILL)  # nothing will stop the command now
        kill_9(proc)
        r, took = resume(work, audit, env, "local", "r\ny\n")
        assert r.returncode == 3, r.stdout + r.stderr
        out = r.stdout + r.stderr
        assert "Traceback" not in out
        assert f"still running on box (process group {pgid}" in out, out
        assert f"kill -TERM -- -{pgid}" in out and "resume again" in out
        assert took >= 5  # it waited for the command before refusing
        assert len((work / "started").read_text().split()) == 1  # never run again
        recs = read_log(audit)
        assert not [x for x in recs if x["event"] == "step.unknown"]  # never offered
        stops = [x["reason"] for x in recs if x["event"] == "session.interrupted"]
        assert f"process group {pgid}" in stops[-1]  # the refusal is recorded
    finally:
        if proc.poll() is None:
            proc.kill()
        if pgid > 1:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pgid, signal.SIGKILL)  # the group this test's step started
    deadline = time.monotonic() + 5
    while group_members(pgid) and time.monotonic() < deadline:
        time.sleep(0.05)
    # the command gone, the resume asks; here the operator marks the step done
    r, _ = resume(work, audit, env, "local", "d checked: finished absent\n")
    assert r.returncode == 0, r.stdout + r.stderr
    assert len((work / "started").read_text().split()) == 1
