"""A step repeated over a list var's values (`list = true`, `for_each = { node = "{{ nodes }}" }`
and `host = "{{ node }}"`) through the real sshd, in the order given; a value that is not a
declared host is refused before any connection."""

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
id = "loop-list-ssh"
title = "Rolling over {{ cluster }}"

[vars.work]
[vars.cluster]
default = "es"
[vars.nodes]
list = true
prompt = "Nodes to restart, in order"
[vars.node]

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
  for_each = { node = "{{ nodes }}" }
  host = "{{ node }}"
  run = "echo {{ node }} >> {{ work }}/order.txt; echo \\"$SSH_CONNECTION\\" | cut -d' ' -f4"
"""


def _run(sshd: Sshd, tmp_path: Path, nodes: str) -> tuple[subprocess.CompletedProcess[str], Path]:
    base = sshd.ssh_config.read_text().split("\nHost tsd-jump")[0]
    config = tmp_path / "ssh_config"
    config.write_text("".join(base.replace("Host tsd", f"Host node{k}") + "\n" for k in (1, 2, 3)))
    work = tmp_path / "work"
    work.mkdir(exist_ok=True)
    checklist = tmp_path / "loop.toml"
    checklist.write_text(CHECKLIST)
    audit = tmp_path / "audit.jsonl"
    audit.unlink(missing_ok=True)
    env = {
        **os.environ,
        "XDG_STATE_HOME": str(tmp_path / "state"),
        "ANNOTUI_SSH_CONFIG": str(config),
    }
    r = subprocess.run(
        [sys.executable, "-m", "annotui.cli", "run", str(checklist), "--plain", "--yes",
         "--var", f"work={work}", "--var", f"nodes={nodes}", "--audit", str(audit)],
        capture_output=True, text=True, env=env, timeout=90, cwd=tmp_path, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    return r, audit


def test_a_step_loops_over_a_list_of_hosts_in_the_order_given(sshd: Sshd, tmp_path: Path) -> None:
    before = sshd.accepted()
    r, audit = _run(sshd, tmp_path, "n3,n1,n2")
    assert r.returncode == 0, r.stdout + r.stderr
    assert (tmp_path / "work" / "order.txt").read_text() == "n3\nn1\nn2\n"
    recs = [json.loads(line) for line in audit.read_text().splitlines()]
    shown = [(x["step_key"], x["host"]) for x in recs if x["event"] == "step.shown"]
    assert shown == [
        ("roll/restart[n3]", "n3"),
        ("roll/restart[n1]", "n1"),
        ("roll/restart[n2]", "n2"),
    ]
    out = [x["text"] for x in recs if x["event"] == "step.output" and x["stream"] == "stdout"]
    assert out == [str(sshd.port)] * 3  # each copy really ran through sshd
    assert sshd.accepted() - before == 3
    plan = next(x for x in recs if x["event"] == "run.plan")
    assert plan["title"] == "Rolling over es"


def test_a_value_that_is_not_a_host_is_refused_before_any_connection(
    sshd: Sshd, tmp_path: Path
) -> None:
    before = sshd.accepted()
    r, _ = _run(sshd, tmp_path, "n1,n4")
    assert r.returncode == 2, r.stdout + r.stderr
    assert r.stderr.strip().splitlines()[-1] == (
        "annotui: var nodes = 'n4': the for_each of step roll/restart runs restart on host "
        "'{{ node }}', and 'n4' is not a declared host (declared: local, n1, n2, n3)"
    )
    assert sshd.accepted() == before and not (tmp_path / "work" / "order.txt").exists()
