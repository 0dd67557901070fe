"""A step repeated over a list var's values (`list = true`, `for_each = { node = "{{ nodes }}" }`
and `host = "{{ node }}"`) through the real sshd, in the order given; a value that is not a
declared host is refused before any connection."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from ssh_steps import run_on_nodes
from sshd_fixture import Sshd

pytestmark = pytest.mark.timeout(120)

CHECKLIST = (Path(__file__).parent / "checklists" / "loop-list.toml").read_text()


def test_a_step_loops_over_a_list_of_hosts_in_the_order_given(sshd: Sshd, tmp_path: Path) -> None:
    before = sshd.accepted()
    r, audit = run_on_nodes(sshd, tmp_path, CHECKLIST, "nodes=n3,n1,n2")
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
    r, _ = run_on_nodes(sshd, tmp_path, CHECKLIST, "nodes=n1,n4")
    assert r.returncode == 2, r.stdout + r.stderr
    assert r.stderr.strip().splitlines()[-1] == (
        "annotui: var nodes = 'n4': the for_each of step roll/restart runs restart on host "
        "'{{ node }}', and 'n4' is not a declared host (declared: local, n1, n2, n3)"
    )
    assert sshd.accepted() == before and not (tmp_path / "work" / "order.txt").exists()
