"""Resume over a real sshd never offers a step whose recorded remote command is still alive: the
remote process group recorded in `step.spawned` is asked about on the host (see
tests/engine/test_resume_alive.py for the same locally, and its checklist)."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest
from ssh_steps import drop_link, wait_started
from sshd_fixture import Sshd, group_members

from tests.engine.engine_cli import CHECKLISTS, annotui_cmd, read_log

pytestmark = pytest.mark.timeout(120)

STUBBORN = CHECKLISTS / "stubborn.toml"


def _cmd(work: Path, audit: Path, *more: str) -> list[str]:
    return annotui_cmd("run", STUBBORN, "--plain", "--yes", "--var", f"work={work}",
                       "--var", "target=tsd", "--audit", audit, *more)  # fmt: skip


def _env(tmp_path: Path, sshd: Sshd) -> dict[str, str]:
    return {
        **os.environ,
        "XDG_STATE_HOME": str(tmp_path / "state"),
        "ANNOTUI_SSH_CONFIG": str(sshd.ssh_config),
    }


def _started(work: Path, proc: subprocess.Popen[str], audit: Path) -> int:
    deadline = time.monotonic() + 30
    pgid = wait_started(work / "started", proc, deadline)
    while not any(r["event"] == "step.spawned" for r in read_log(audit)):
        assert time.monotonic() < deadline, "no step.spawned record"
        time.sleep(0.05)
    spawned = [r for r in read_log(audit) if r["event"] == "step.spawned"][-1]
    assert (spawned["host"], spawned["pgid"]) == ("box", pgid)
    # the remote leader's start time and boot id (sshd is on this machine: its /proc is ours)
    stat = Path(f"/proc/{pgid}/stat").read_text().rpartition(")")[2].split()
    boot = Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    assert (spawned["starttime"], spawned["boot_id"]) == (int(stat[19]), boot)
    return pgid


def _run_then_kill_9(tmp_path: Path, sshd: Sshd, before_kill: bool) -> tuple[Path, Path, int]:
    work = tmp_path / "work"
    work.mkdir()
    audit = tmp_path / "audit.jsonl"
    proc = subprocess.Popen(
        _cmd(work, audit), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True, env=_env(tmp_path, sshd), cwd=tmp_path,
    )  # fmt: skip
    try:
        pgid = _started(work, proc, audit)
        if before_kill:  # the remote lifeline: the group's shells other than the command's own
            for pid in group_members(pgid):
                comm = Path(f"/proc/{pid}/comm").read_text().strip()
                if pid != pgid and comm == "sh":
                    os.kill(pid, signal.SIGKILL)
        os.kill(proc.pid, signal.SIGKILL)
        proc.communicate(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
    return work, audit, pgid


def _resume(tmp_path: Path, sshd: Sshd, work: Path, audit: Path, answers: str):  # type: ignore[no-untyped-def]
    t0 = time.monotonic()
    r = subprocess.run(
        _cmd(work, audit, "--resume"), input=answers, capture_output=True, text=True,
        timeout=90, env=_env(tmp_path, sshd), cwd=tmp_path,
    )  # fmt: skip
    return r, time.monotonic() - t0


def test_resume_over_ssh_waits_for_the_remote_command(sshd: Sshd, tmp_path: Path) -> None:
    work, audit, pgid = _run_then_kill_9(tmp_path, sshd, before_kill=False)
    assert group_members(pgid), "the remote command should outlive annotui for KILL_GRACE"
    r, _ = _resume(tmp_path, sshd, work, audit, "r\ny\n")
    assert r.returncode == 0, r.stdout + r.stderr
    assert not (work / "overlaps").exists(), "run again was offered while the command ran"
    assert len((work / "started").read_text().split()) == 2
    assert group_members(pgid) == []
    assert [x["step_key"] for x in read_log(audit) if x["event"] == "step.unknown"] == [
        "main/stubborn"
    ]


def test_resume_over_ssh_refuses_while_the_remote_command_runs(sshd: Sshd, tmp_path: Path) -> None:
    work, audit, pgid = _run_then_kill_9(tmp_path, sshd, before_kill=True)
    try:
        r, took = _resume(tmp_path, sshd, work, audit, "r\ny\n")
        out = r.stdout + r.stderr
        assert r.returncode == 3, out
        assert "Traceback" not in out
        assert f"still running on box (process group {pgid}" in out, out
        assert f"kill -TERM -- -{pgid}" in out
        assert took >= 5
        assert len((work / "started").read_text().split()) == 1  # never run again
        assert not [x for x in read_log(audit) if x["event"] == "step.unknown"]
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pgid, signal.SIGKILL)  # the group this test's step started (on sshd here)


def test_retry_after_a_lost_connection_waits_for_the_remote_command(
    sshd: Sshd, tmp_path: Path
) -> None:
    """The link drops mid-command (its sshd session killed): the outcome is unknown, the
    operator retries at once; the retry waits until the cut-off command has ended."""
    work = tmp_path / "work"
    work.mkdir()
    audit = tmp_path / "audit.jsonl"
    argv = [a for a in _cmd(work, audit) if a != "--yes"]  # a person answers every question
    proc = subprocess.Popen(
        argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env=_env(tmp_path, sshd), cwd=tmp_path,
    )  # fmt: skip
    pgid = 0
    try:
        assert proc.stdin is not None
        proc.stdin.write("y\nr\ny\n")  # run it; after the lost link: retry, and run it again
        proc.stdin.flush()
        pgid = _started(work, proc, audit)
        drop_link(sshd, "sleep 40")
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        if pgid > 1:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pgid, signal.SIGKILL)  # the group this test's step started
    assert proc.returncode == 0, out + err
    assert "outcome unknown" in out
    assert not (work / "overlaps").exists(), "the retry ran while the cut-off command ran"
    assert len((work / "started").read_text().split()) == 2
    outcomes = [r["outcome"] for r in read_log(audit) if r["event"] == "step.finished"]
    assert outcomes == ["unknown", "ok"]
