"""A dropped SSH session mid-command, the operator stops, and a later resume asks (issue 12).

The sshd child serving the command is killed with SIGKILL while the step's remote command
runs. The run says the outcome is unknown; the operator stops there (q: exit 1, as after a
failed step). `--resume --yes` then
asks whether the step had its effect and never answers that itself: with no answer (stdin at
EOF) it stops with exit 3 and runs nothing. With `d EVIDENCE` the step is marked done, and it
has run once in all. Checklist: tests/engine/checklists/stubborn.toml, on the test sshd.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
from pathlib import Path

import pytest
from ssh_steps import drop_link
from sshd_fixture import Sshd
from test_resume_alive_ssh import _cmd, _env, _resume, _started

from tests.engine.engine_cli import read_log

pytestmark = pytest.mark.timeout(150)


def test_a_dropped_session_is_asked_about_on_resume(sshd: Sshd, tmp_path: Path) -> None:
    work = tmp_path / "work"
    work.mkdir()
    audit = tmp_path / "audit.jsonl"
    argv = [a for a in _cmd(work, audit) if a != "--yes"]
    proc = subprocess.Popen(
        argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env=_env(tmp_path, sshd), cwd=tmp_path,
    )  # fmt: skip
    pgid = 0
    try:
        assert proc.stdin is not None
        proc.stdin.write("y\nq\n")  # run it; after the lost link: stop
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
    assert proc.returncode == 1, out + err  # the step did not end well: the run failed there
    assert "outcome unknown" in out and "Traceback" not in out + err
    outcomes = [r["outcome"] for r in read_log(audit) if r["event"] == "step.finished"]
    assert outcomes == ["unknown"]

    r, _ = _resume(tmp_path, sshd, work, audit, "")  # --yes, nobody answers
    text = r.stdout + r.stderr
    assert r.returncode == 3, text
    assert "Traceback" not in text
    assert "outcome unknown: it was cut off while it ran" in text, text
    assert len((work / "started").read_text().split()) == 1  # not run again

    r, _ = _resume(tmp_path, sshd, work, audit, "d checked the host: it ran\n")
    assert r.returncode == 0, r.stdout + r.stderr
    assert len((work / "started").read_text().split()) == 1
    recs = read_log(audit)
    assert [x["outcome"] for x in recs if x["event"] == "step.finished"][-1] == "done"
