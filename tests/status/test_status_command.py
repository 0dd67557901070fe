"""`annotui status` as a real subprocess against a real supervisord."""

from __future__ import annotations

import signal
import time
from pathlib import Path

from supervisord_fixture import Supervisord

from tests.engine.engine_cli import CHECKLISTS, annotui_cmd
from tests.text.processes import annotui, started

CHECKLIST = CHECKLISTS / "status.toml"


def _status(*args: str):
    return annotui("status", str(CHECKLIST), *args, timeout=60)


def _vars(sv: Supervisord, jobs: Path, password: str) -> list[str]:
    return ["--var", f"sv_url={sv.url}", "--var", f"sv_password={password}",
            "--var", f"jobs_file={jobs}"]  # fmt: skip


def test_table_shows_real_processes_probes_and_hosts(
    supervisord: Supervisord, tmp_path: Path
) -> None:
    jobs = tmp_path / "jobs"
    jobs.write_text("3\n")
    out = _status(*_vars(supervisord, jobs, supervisord.password))
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert any("alpha:alpha" in line and "RUNNING" in line for line in lines)
    assert any("beta:beta" in line and "RUNNING" in line for line in lines)
    assert any("jobs" in line and " 3 " in line and "ok" in line for line in lines)
    assert any("local" in line and "connected" in line for line in lines)


def test_wrong_password_is_unauthorized_not_a_crash(
    supervisord: Supervisord, tmp_path: Path
) -> None:
    jobs = tmp_path / "jobs"
    jobs.write_text("0\n")
    out = _status(*_vars(supervisord, jobs, "hunter2-wrong"))
    assert out.returncode == 1
    assert "UNAUTHORIZED" in out.stdout and "Traceback" not in out.stderr
    assert "hunter2-wrong" not in out.stdout + out.stderr


def test_missing_var_is_exit_2() -> None:
    out = _status("--var", "sv_url=http://127.0.0.1:1", "--var", "jobs_file=/x")
    assert out.returncode == 2
    assert "no value for sv_password" in out.stderr and "Traceback" not in out.stderr


def test_watch_refreshes_until_ctrl_c(supervisord: Supervisord, tmp_path: Path) -> None:
    jobs = tmp_path / "jobs"
    jobs.write_text("1\n")
    cmd = annotui_cmd(
        "status", CHECKLIST, "--watch", *_vars(supervisord, jobs, supervisord.password)
    )
    with started(cmd) as proc:
        time.sleep(2.5)
        assert proc.poll() is None  # still watching
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=10)
    assert proc.returncode == 0, err
    assert "alpha:alpha" in out and "Traceback" not in err
