"""A step repeated over three hosts (`for_each` + `host = "{{ node }}"`) through the real sshd:
one connection per host, each copy keyed stage/step[value] in the log."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sshd_fixture import Sshd

pytestmark = pytest.mark.timeout(120)

CHECKLIST = """\
[checklist]
id = "loop-ssh"
title = "Rolling over three nodes"

[vars.work]
[vars.node]
choices = ["n1", "n2", "n3"]

[hosts.n1]
ssh = "node1"
[hosts.n2]
ssh = "node2"
[hosts.n3]
ssh = "node3"

[[stages]]
id = "roll"

  [[stages.steps]]
  id = "restart"
  kind = "command"
  for_each = { node = ["n1", "n2", "n3"] }
  host = "{{ node }}"
  run = "echo {{ node }} > {{ work }}/{{ node }}.txt; echo \\"$SSH_CONNECTION\\" | cut -d' ' -f4"

  [[stages.steps]]
  id = "after"
  kind = "check"
  run = "cat {{ work }}/n1.txt {{ work }}/n2.txt {{ work }}/n3.txt"
  expect = { equals = "n1\\nn2\\nn3" }
"""


def test_a_step_loops_over_three_hosts(sshd: Sshd, tmp_path: Path) -> None:
    base = sshd.ssh_config.read_text().split("\nHost tsd-jump")[0]
    config = tmp_path / "ssh_config"
    config.write_text("".join(base.replace("Host tsd", f"Host node{k}") + "\n" for k in (1, 2, 3)))
    work = tmp_path / "work"
    work.mkdir()
    checklist = tmp_path / "loop.toml"
    checklist.write_text(CHECKLIST)
    audit = tmp_path / "audit.jsonl"
    before = sshd.accepted()
    env = {
        **os.environ,
        "XDG_STATE_HOME": str(tmp_path / "state"),
        "ANNOTUI_SSH_CONFIG": str(config),
    }
    r = subprocess.run(
        [sys.executable, "-m", "annotui.cli", "run", str(checklist), "--plain", "--yes",
         "--var", f"work={work}", "--audit", str(audit)],
        capture_output=True, text=True, env=env, timeout=90, cwd=tmp_path, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    assert r.returncode == 0, r.stdout + r.stderr
    recs = [json.loads(line) for line in audit.read_text().splitlines()]
    shown = [(x["step_key"], x["host"]) for x in recs if x["event"] == "step.shown"]
    assert shown == [
        ("roll/restart[n1]", "n1"),
        ("roll/restart[n2]", "n2"),
        ("roll/restart[n3]", "n3"),
        ("roll/after", "local"),
    ]
    fin = {x["step_key"]: x["outcome"] for x in recs if x["event"] == "step.finished"}
    assert set(fin.values()) == {"ok"} and len(fin) == 4
    out = [x["text"] for x in recs if x["event"] == "step.output" and x["stream"] == "stdout"]
    assert out[:3] == [str(sshd.port)] * 3  # each copy really ran through sshd
    assert sshd.accepted() - before == 3  # one connection per host
