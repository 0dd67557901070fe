"""A step repeated over three hosts (`for_each` + `host = "{{ node }}"`) through the real sshd:
one connection per host, each copy keyed stage/step[value] in the log."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from ssh_steps import run_on_nodes
from sshd_fixture import Sshd

pytestmark = pytest.mark.timeout(120)

CHECKLIST = (Path(__file__).parent / "checklists" / "loop-hosts.toml").read_text()


def test_a_step_loops_over_three_hosts(sshd: Sshd, tmp_path: Path) -> None:
    before = sshd.accepted()
    r, audit = run_on_nodes(sshd, tmp_path, CHECKLIST)
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
