"""`user = ...` through the real sshd: the command reaches the other user's shell on stdin
(sudo -n on the remote host), and a sudo that would need a password fails at once, naming the
host and the user. Real users are created by the test (useradd; the tests run as root)."""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from sshd_fixture import Sshd, running_sshd, write_ssh_config
from unix_users import unix_user

pytestmark = pytest.mark.timeout(120)

CHECKLIST = """\
[checklist]
id = "run-as-ssh"
title = "Run as, remote"

[hosts.tsd]
ssh = "tsd"
user = "annotui-t-db"

[[stages]]
id = "s"

  [[stages.steps]]
  id = "whoami"
  kind = "check"
  host = "tsd"
  run = "id -un; x='a b'; printf '[%s]\\\\n' $x \\"$x\\""
  timeout = 30

  [[stages.steps]]
  id = "bash"
  kind = "check"
  host = "tsd"
  shell = "bash"
  run = "set -o pipefail; id -un; cat <(echo in-bash)"
"""


def _run(
    tmp_path: Path, config: Path, checklist: Path, audit: Path
) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "XDG_STATE_HOME": str(tmp_path / "state"),
        "ANNOTUI_SSH_CONFIG": str(config),
    }
    return subprocess.run(
        [sys.executable, "-m", "annotui.cli", "run", str(checklist), "--plain", "--yes",
         "--audit", str(audit)],
        capture_output=True, text=True, env=env, timeout=90, cwd=tmp_path, stdin=subprocess.DEVNULL,
    )  # fmt: skip


def _records(audit: Path) -> list[dict]:
    return [json.loads(line) for line in audit.read_text().splitlines()]


@pytest.fixture
def db_user():
    with unix_user("annotui-t-db") as name:
        yield name


def test_remote_steps_run_as_another_user(sshd: Sshd, tmp_path: Path, db_user: str) -> None:
    checklist = tmp_path / "c.toml"
    checklist.write_text(CHECKLIST)
    audit = tmp_path / "audit.jsonl"
    r = _run(tmp_path, sshd.ssh_config, checklist, audit)
    assert r.returncode == 0, r.stdout + r.stderr
    out: dict[str, list[str]] = {}
    for x in _records(audit):
        if x["event"] == "step.output" and x["stream"] == "stdout":
            out.setdefault(x["step_key"], []).extend(x["text"].split("\n"))
    assert out["s/whoami"] == [db_user, "[a]", "[b]", "[a b]"]
    assert out["s/bash"] == [db_user, "in-bash"]
    assert sshd.user == "root"  # the login user: the step really changed user


def test_remote_sudo_needing_a_password_fails_clearly(tmp_path: Path) -> None:
    """The login user is an unprivileged one (a second sshd whose files it can read)."""
    base = Path(tempfile.mkdtemp(prefix="annotui-sshd-op-"))
    base.chmod(0o755)
    try:
        with (
            unix_user("annotui-t-op") as op,
            unix_user("annotui-t-db"),
            running_sshd(base / "sshd") as sshd,
        ):
            (base / "sshd").chmod(0o755)
            subprocess.run(["usermod", "-p", "*", op], check=True)  # not locked: sshd lets it in
            config = tmp_path / "op_config"
            write_ssh_config(dataclasses.replace(sshd, user=op), config, sshd.known_hosts)
            checklist = tmp_path / "c.toml"
            checklist.write_text(CHECKLIST)
            audit = tmp_path / "audit.jsonl"
            r = _run(tmp_path, config, checklist, audit)
    finally:
        shutil.rmtree(base)
    assert r.returncode == 1, r.stdout + r.stderr
    fin = [x for x in _records(audit) if x["event"] == "step.finished"]
    assert [x["step_key"] for x in fin] == ["s/whoami"]
    assert fin[0]["outcome"] == "failed", r.stdout
    assert fin[0]["message"].startswith("sudo -n refused to run as annotui-t-db on host tsd")
    assert "a password is required" in r.stdout
    assert fin[0]["duration"] < 20  # it never waited for a password
