"""`annotui run --plain --yes` with remote steps on a real sshd (the CLI in a subprocess)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from ssh_steps import drop_link
from sshd_fixture import Sshd, keygen, write_ssh_config

pytestmark = pytest.mark.timeout(120)

CHECKLISTS = Path(__file__).parent / "checklists"


def _cmd(checklist: Path, work: Path, target: str, audit: Path, *more: str) -> list[str]:
    return [
        sys.executable, "-m", "annotui.cli", "run", str(checklist), "--plain", "--yes",
        "--var", f"work={work}", "--var", f"target={target}", "--audit", str(audit), *more,
    ]  # fmt: skip


def _env(tmp_path: Path, config: Path) -> dict[str, str]:
    return {
        **os.environ,
        "XDG_STATE_HOME": str(tmp_path / "state"),
        "ANNOTUI_SSH_CONFIG": str(config),
    }


def _run(tmp_path: Path, config: Path, *args: str, input: str = "") -> subprocess.CompletedProcess:
    return subprocess.run(
        list(args), input=input, capture_output=True, text=True, timeout=90,
        env=_env(tmp_path, config), cwd=tmp_path,
    )  # fmt: skip


def _records(audit: Path) -> list[dict]:
    return [json.loads(line) for line in audit.read_text().splitlines()]


@pytest.fixture
def work(tmp_path: Path) -> Path:
    w = tmp_path / "work dir"
    w.mkdir()
    return w


@pytest.mark.parametrize("target", ["tsd", "tsd-jump"])
def test_remote_steps_end_to_end(sshd: Sshd, tmp_path: Path, work: Path, target: str) -> None:
    audit = tmp_path / "audit.jsonl"
    before = sshd.accepted()
    r = _run(tmp_path, sshd.ssh_config, *_cmd(CHECKLISTS / "remote.toml", work, target, audit))
    assert r.returncode == 0, r.stdout + r.stderr
    assert (work / "remote.txt").read_text() == "hello\n"
    assert not (work / ".annotui.lock").exists()  # the target lock was released
    recs = _records(audit)
    finished = {x["step_key"]: x["outcome"] for x in recs if x["event"] == "step.finished"}
    assert finished == {"remote/write": "ok", "remote/verify": "ok"}
    lines: dict[tuple[str, str], list[str]] = {}
    for x in recs:
        if x["event"] == "step.output":
            lines.setdefault((x["step_key"], x["stream"]), []).extend(x["text"].split("\n"))
    assert lines[("remote/write", "stderr")] == ["to-stderr"]
    assert lines[("remote/verify", "stdout")] == ["hello", sshd.user]
    assert ("remote/verify", "stderr") not in lines
    # One connection for the lock and both steps (two with the ProxyJump hop).
    assert sshd.accepted() - before == (2 if target == "tsd-jump" else 1)


def test_failing_remote_check_exits_1(sshd: Sshd, tmp_path: Path, work: Path) -> None:
    audit = tmp_path / "audit.jsonl"
    r = _run(tmp_path, sshd.ssh_config, *_cmd(CHECKLISTS / "remote-fails.toml", work, "tsd", audit))
    assert r.returncode == 1, r.stdout + r.stderr
    fin = [x for x in _records(audit) if x["event"] == "step.finished"]
    assert fin[-1]["step_key"] == "remote/fails" and fin[-1]["exit_code"] == 4


@pytest.mark.parametrize("case", ["unknown", "changed"])
def test_bad_host_key_nothing_runs(sshd: Sshd, tmp_path: Path, work: Path, case: str) -> None:
    kh = tmp_path / "known_hosts"
    if case == "unknown":
        kh.write_text("# empty\n")
    else:
        kh.write_text(f"[127.0.0.1]:{sshd.port} {keygen(tmp_path / 'impostor')}\n")
    before = kh.read_bytes()
    cfg = tmp_path / "config"
    write_ssh_config(sshd, cfg, kh)
    audit = tmp_path / "audit.jsonl"
    r = _run(tmp_path, cfg, *_cmd(CHECKLISTS / "remote.toml", work, "tsd", audit))
    assert r.returncode == 2, r.stdout + r.stderr
    out = r.stdout + r.stderr
    assert ("unknown host key" if case == "unknown" else "HAS CHANGED") in out
    assert "Traceback" not in out
    assert not (work / "remote.txt").exists() and not (work / ".annotui.lock").exists()
    assert kh.read_bytes() == before


def test_locked_target_is_refused_naming_the_holder(sshd: Sshd, tmp_path: Path, work: Path) -> None:
    lock = work / ".annotui.lock"
    lock.mkdir()
    (lock / "holder.json").write_text('{"operator": "alice", "host": "jump7", "pid": 4242}\n')
    audit = tmp_path / "audit.jsonl"
    r = _run(tmp_path, sshd.ssh_config, *_cmd(CHECKLISTS / "remote.toml", work, "tsd", audit))
    assert r.returncode != 0, r.stdout + r.stderr
    assert "operator=alice" in r.stdout + r.stderr
    assert not (work / "remote.txt").exists()
    assert (lock / "holder.json").read_text().startswith('{"operator": "alice"')


def test_sshd_killed_mid_command_then_resume_asks(sshd: Sshd, tmp_path: Path, work: Path) -> None:
    checklist = CHECKLISTS / "remote-long.toml"
    audit = tmp_path / "audit.jsonl"
    proc = subprocess.Popen(
        _cmd(checklist, work, "tsd", audit),
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env=_env(tmp_path, sshd.ssh_config), cwd=tmp_path,
    )  # fmt: skip
    try:
        pid = drop_link(sshd, "sleep 47.5")
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
        if Path(f"/proc/{pid}").exists():
            os.kill(pid, signal.SIGKILL)  # the orphaned remote command
    assert proc.returncode != 0, out + err
    assert "outcome unknown" in out + err
    recs = _records(audit)
    fin = {x["step_key"]: x["outcome"] for x in recs if x["event"] == "step.finished"}
    assert fin["remote/long"] == "unknown"
    assert "remote/verify" not in fin  # nothing after it ran
    time.sleep(0.2)
    # Resume: the operator is asked about the unknown step; here they mark it done.
    r = _run(
        tmp_path, sshd.ssh_config, *_cmd(checklist, work, "tsd", audit, "--resume"),
        input="d checked by hand: sleep was interrupted\n",
    )  # fmt: skip
    assert r.returncode == 0, r.stdout + r.stderr
    assert "outcome unknown" in r.stdout
    assert not (work / "long.finished").exists()  # not run again silently
    recs = _records(audit)
    unknown = [x["step_key"] for x in recs if x["event"] == "step.unknown"]
    assert unknown == ["remote/long"]
    done = [x for x in recs if x["event"] == "step.finished" and x["step_key"] == "remote/long"]
    assert done[-1]["outcome"] == "done"
