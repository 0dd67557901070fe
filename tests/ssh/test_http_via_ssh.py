"""`kind = "http"` with `via`: the request goes through the host's SSH link (a direct-tcpip
channel of the real sshd) to a real HTTP server on 127.0.0.1."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from http_server import health_server
from sshd_fixture import Sshd

pytestmark = pytest.mark.timeout(120)

CHECKLIST = """\
[checklist]
id = "http-via"
title = "Health via ssh"

[vars.port]

[hosts.tsd]
ssh = "tsd"

[[stages]]
id = "s"

  [[stages.steps]]
  id = "healthy"
  kind = "http"
  via = "tsd"
  url = "http://127.0.0.1:{{ port }}/health"
  expect = { status = 200 }
  retries = 3
  delay = 0.1
"""


def test_http_via_a_host(sshd: Sshd, tmp_path: Path) -> None:
    checklist = tmp_path / "c.toml"
    checklist.write_text(CHECKLIST)
    audit = tmp_path / "audit.jsonl"
    env = {
        **os.environ,
        "XDG_STATE_HOME": str(tmp_path / "state"),
        "ANNOTUI_SSH_CONFIG": str(sshd.ssh_config),
    }
    before = sshd.accepted()
    with health_server(ready_after=2) as server:
        r = subprocess.run(
            [sys.executable, "-m", "annotui.cli", "run", str(checklist), "--plain", "--yes",
             "--var", f"port={server.port}", "--audit", str(audit)],
            capture_output=True, text=True, env=env, timeout=90, cwd=tmp_path,
            stdin=subprocess.DEVNULL,
        )  # fmt: skip
        seen = len(server.seen)
    assert r.returncode == 0, r.stdout + r.stderr
    assert seen == 2
    assert sshd.accepted() - before == 1  # the requests went through the SSH link
    recs = [json.loads(line) for line in audit.read_text().splitlines()]
    fin = next(x for x in recs if x["event"] == "step.finished")
    assert fin["outcome"] == "ok"
    shown = next(x for x in recs if x["event"] == "step.shown")
    assert shown["host"] == "tsd" and shown["command"].startswith("GET http://127.0.0.1:")
