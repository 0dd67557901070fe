"""The two-person rule: a run waits at an `approval` step, another process approves with its own
SSH key, the run verifies it (real ssh-keygen), refuses its own signer and forgeries, records
the approval and goes on."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from annotui.audit.approvals import APPROVAL_NAMESPACE, approval_text
from annotui.audit.sshsig import sign

from .markdown_view import view
from .sshkeys import Key, allowed_signers, keys  # noqa: F401

ANNOTUI = [sys.executable, "-m", "annotui.cli"]

CHECKLIST = """\
[checklist]
id = "two-person"
title = "A release that needs a second person"
allowed_signers = "allowed_signers"

[vars.work]
prompt = "Work directory"

[[stages]]
id = "release"
title = "Release"

  [[stages.steps]]
  id = "approve"
  kind = "approval"
  title = "A second person approves the release"
  approvers = ["alice@example", "bob@example"]
  min = 1
  {timeout}

  [[stages.steps]]
  id = "deploy"
  kind = "command"
  run = "echo deployed > deployed.txt"
  cwd = "{{{{ work }}}}"
"""
STEP = "release/approve"


@pytest.fixture
def world(tmp_path: Path, keys: dict[str, Key]) -> Path:  # noqa: F811
    (tmp_path / "work").mkdir()
    allowed_signers(
        tmp_path / "allowed_signers",
        ("alice@example", keys["operator"], ""),  # the operator is listed as an approver too
        ("bob@example", keys["reviewer"], 'namespaces="annotui-approval"'),
        ("mallory@example", keys["mallory"], ""),
    )
    return tmp_path


def _checklist(world: Path, timeout: str = "") -> Path:
    path = world / "release.toml"
    path.write_text(CHECKLIST.format(timeout=timeout))
    return path


def _env(world: Path) -> dict[str, str]:
    return {**os.environ, "XDG_STATE_HOME": str(world / "state")}


def _start(world: Path, key: Key, *extra: str, timeout: str = "") -> subprocess.Popen[str]:
    args = ["run", str(_checklist(world, timeout)), "--plain", "--yes"]
    args += ["--var", f"work={world / 'work'}", "--audit", str(world / "a.jsonl")]
    return subprocess.Popen(
        [*ANNOTUI, *args, "--sign-with", str(key.private), *extra],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=_env(world),
    )


def _records(world: Path) -> list[dict[str, Any]]:
    log = world / "a.jsonl"
    if not log.exists():
        return []
    return [json.loads(line) for line in log.read_text().splitlines() if line.endswith("}")]


def _wait_for(world: Path, event: str, count: int = 1, within: float = 60) -> list[dict[str, Any]]:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        found = [r for r in _records(world) if r["event"] == event]
        if len(found) >= count:
            return found
        time.sleep(0.1)
    raise AssertionError(f"no {event} in the log: {[r['event'] for r in _records(world)]}")


def _approve(world: Path, key: Key, note: str = "") -> subprocess.CompletedProcess[str]:
    args = ["audit", "approve", str(world / "a.jsonl"), "--step", STEP]
    return subprocess.run(
        [*ANNOTUI, *args, "--sign-with", str(key.private), "--note", note],
        capture_output=True,
        text=True,
        env=_env(world),
        timeout=60,
    )


def test_a_second_person_approves_from_another_process(
    world: Path,
    keys: dict[str, Key],  # noqa: F811
) -> None:
    run = _start(world, keys["operator"])
    try:
        waiting = _wait_for(world, "approval.wait")[0]
        assert waiting["approvers"] == ["alice@example", "bob@example"]
        assert waiting["how"].startswith(f"annotui audit approve {world / 'a.jsonl'} --step {STEP}")
        time.sleep(1.0)
        assert run.poll() is None and not (world / "work" / "deployed.txt").exists()
        # the run's own key (alice is an approver, but alice is the operator): refused
        assert _approve(world, keys["operator"]).returncode == 0
        refused = _wait_for(world, "approval.refused")
        assert refused[0]["reason"] == "the run's own signer cannot approve it"
        # a key the allowed signers know, but not an approver of this step
        assert _approve(world, keys["mallory"]).returncode == 0
        refused = _wait_for(world, "approval.refused", 2)
        assert refused[1]["reason"] == "mallory@example is not an approver of this step"
        good = _approve(world, keys["reviewer"], "first")
        assert good.returncode == 0, good.stderr
        out, err = run.communicate(timeout=60)
    finally:
        if run.poll() is None:
            run.kill()
            run.wait()
    assert run.returncode == 0, out + err
    assert "waiting for 1 approval(s) by alice@example, bob@example" in out
    assert "approved by bob@example" in out
    assert (world / "work" / "deployed.txt").read_text() == "deployed\n"
    granted = [r for r in _records(world) if r["event"] == "approval.granted"]
    assert [(g["principal"], g["key"], g["note"]) for g in granted] == [
        ("bob@example", keys["reviewer"].fingerprint(), "first")
    ]
    finished = [r for r in _records(world) if r["event"] == "step.finished"]
    assert finished[0]["step_key"] == STEP and finished[0]["outcome"] == "ok"
    assert finished[0]["message"] == "approved by bob@example"
    report = "\n".join(
        view(
            subprocess.run(
                [*ANNOTUI, "audit", "report", str(world / "a.jsonl")],
                capture_output=True,
                text=True,
            ).stdout
        )
    )
    assert f"approved by bob@example ({keys['reviewer'].fingerprint()}): first" in report
    assert "approval refused" in report and "the run's own signer cannot approve it" in report
    # the log verifies, sealed and signed
    allowed = world / "allowed_signers"
    v = subprocess.run(
        [*ANNOTUI, "audit", "verify", str(world / "a.jsonl"), "--allowed-signers", str(allowed)],
        capture_output=True,
        text=True,
    )
    assert v.returncode == 0, v.stdout


def test_a_forged_approval_is_refused_and_the_wait_times_out(
    world: Path,
    keys: dict[str, Key],  # noqa: F811
) -> None:
    bob = str(keys["reviewer"].private)
    run = _start(world, keys["operator"], timeout="timeout = 3")
    try:
        wait = _wait_for(world, "approval.wait")[0]["wait"]
        signed = approval_text(STEP, wait, "honest")
        sig = sign(bob, signed, APPROVAL_NAMESPACE)
        entry = {"step": STEP, "wait": wait, "note": "honest", "signed": signed}
        entry |= {"signature": sig.armored, "key": sig.key, "ts": "t"}
        other = approval_text(STEP, "0" * 32, "honest")  # bob's approval of another wait
        other_sig = sign(bob, other, APPROVAL_NAMESPACE)
        forged = [
            {**entry, "note": "approved", "signed": signed.replace("honest", "approved")},
            {**entry, "signed": other, "signature": other_sig.armored},
        ]
        with open(world / "a.jsonl.approvals", "a") as f:
            f.write("".join(json.dumps(x) + "\n" for x in forged))
        out, err = run.communicate(timeout=60)
    finally:
        if run.poll() is None:
            run.kill()
            run.wait()
    recs = _records(world)
    refused = [r["reason"] for r in recs if r["event"] == "approval.refused"]
    assert len(refused) == 2 and "does not verify" in refused[0], refused
    assert refused[1] == "does not sign this wait"
    assert not [r for r in recs if r["event"] == "approval.granted"]
    finished = next(r for r in recs if r["event"] == "step.finished")
    assert finished["outcome"] == "timeout" and "0 of 1 approval(s)" in finished["message"]
    assert run.returncode != 0, out + err
    assert not (world / "work" / "deployed.txt").exists()


def test_rehearsal_does_not_wait(world: Path, keys: dict[str, Key]) -> None:  # noqa: F811
    run = _start(world, keys["operator"], "--rehearse")
    out, err = run.communicate(timeout=60)
    assert run.returncode == 0, out + err
    finished = next(r for r in _records(world) if r["event"] == "step.finished")
    assert finished["outcome"] == "would-run"
    assert finished["message"] == "rehearsal: would wait for approval by alice@example, bob@example"
    assert not [r for r in _records(world) if r["event"] == "approval.wait"]


def test_approve_refuses_a_step_that_is_not_waiting(
    world: Path,
    keys: dict[str, Key],  # noqa: F811
) -> None:
    run = _start(world, keys["operator"], "--rehearse")
    run.communicate(timeout=60)
    r = _approve(world, keys["reviewer"])
    assert r.returncode == 2 and "is not waiting for approval" in r.stderr
    assert len(r.stderr.splitlines()) == 1
