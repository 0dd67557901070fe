"""The sandbox world: a real supervisord, idempotent builds, a clean stop, its ops tools."""

from __future__ import annotations

import asyncio
import os
import stat
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from annotui import sandbox
from annotui.sandbox_files.supervisord import alive
from annotui.status.supervisor import SupervisorClient

CONTRACT_VARS = {
    "release", "ella_anno_release", "data_tar", "tsd_host", "nsc_host", "root", "upload_dir",
    "nsc_base", "nsc_upload_dir", "ella_root", "supervisor_url", "supervisor_user",
    "supervisor_password", "singularity", "anno_targets_dir", "notify_url",
}  # fmt: skip


def _client(info: sandbox.SandboxInfo) -> SupervisorClient:
    return SupervisorClient("anno", info.url, info.username, info.password)


async def _processes(info: sandbox.SandboxInfo) -> dict[str, tuple[str, int]]:
    c = _client(info)
    try:
        return {i.full_name: (i.state, i.pid) for i in await c.get_all_process_info()}
    finally:
        await c.aclose()


async def test_build_runs_real_programs_and_writes_the_vars(world: sandbox.SandboxInfo) -> None:
    procs = await _processes(world)
    assert {n: s for n, (s, _) in procs.items()} == {
        "anno-staging:anno-staging": "RUNNING",
        "anno-prod:anno-prod": "RUNNING",
        "notify-receiver:notify-receiver": "RUNNING",
    }
    c = _client(world)
    try:
        log = await c.tail_stdout("anno-staging:anno-staging", 500)
    finally:
        await c.aclose()
    assert "serving ../archive/releases/anno-targets_v2.4.0.sif" in log
    values = tomllib.loads(world.vars_file.read_text())
    assert set(values) == CONTRACT_VARS
    assert all(isinstance(v, str) for v in values.values())
    assert values["supervisor_password"] == world.password
    assert values["release"] == "v2.5.0" and values["tsd_host"] == "local"
    assert stat.S_IMODE(world.vars_file.stat().st_mode) == 0o600
    # the operator's anno-targets clone, with the runbook's make targets (faked)
    clone = Path(values["anno_targets_dir"])
    assert (clone / "Makefile").read_text().count("fetch-singularity-release:") == 1
    assert (clone / ".git").is_dir()
    root = Path(values["root"])
    for env in ("staging", "prod"):
        link = root / f"anno-{env}" / "anno.sif"
        assert os.readlink(link) == "../archive/releases/anno-targets_v2.4.0.sif"
        assert stat.S_IMODE(link.stat().st_mode) & 0o774 == 0o774
    for upload in (values["upload_dir"], values["nsc_upload_dir"]):
        assert (Path(upload) / "anno-targets_v2.5.0.sif").is_file()
        assert (Path(upload) / values["data_tar"]).is_file()
    for inst in ("production", "staging"):
        assert (Path(values["nsc_base"]) / inst / "sw/anno/anno.sif").resolve().is_file()
    out = subprocess.run(
        [values["singularity"], "exec", str(root / "anno-prod/anno.sif"), "cat",
         "/anno/version", "/anno-targets/version"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert out.stdout.split() == ["v3.4.2", "v2.4.0"]


async def test_building_twice_is_harmless_and_stop_leaves_nothing(tmp_path: Path) -> None:
    d = tmp_path / "sbx"
    first = sandbox.build(d)
    try:
        children = [pid for _, pid in (await _processes(first)).values()]
        link = d / "tsd/anno/anno-staging/anno.sif"
        link.unlink()
        link.symlink_to("../archive/releases/elsewhere.sif")  # as if deployed
        second = sandbox.build(d)
        assert (second.pid, second.url, second.password) == (first.pid, first.url, first.password)
        assert not second.started
        assert os.readlink(link) == "../archive/releases/elsewhere.sif"
        assert [pid for _, pid in (await _processes(second)).values()] == children
    finally:
        assert sandbox.stop(d)
    assert not alive(first.pid)
    assert not any(alive(pid) for pid in children)
    assert sandbox.stop(d) is False
    third = sandbox.build(d)  # comes back on the same port with the same password
    try:
        assert third.started and third.pid != first.pid
        assert (third.url, third.password) == (first.url, first.password)
    finally:
        sandbox.stop(d)
    assert not alive(third.pid)


def test_stop_refuses_a_pid_that_is_not_its_supervisord(tree: Path) -> None:
    other = subprocess.Popen(["sleep", "30"])
    try:
        (tree / "supervisor").mkdir()
        (tree / "supervisor/supervisord.pid").write_text(f"{other.pid}\n")
        with pytest.raises(sandbox.SandboxError, match="not this sandbox's supervisord"):
            sandbox.stop(tree)
        assert alive(other.pid)
    finally:
        other.kill()
        other.wait()


def test_cli_build_prints_the_commands_and_stop(tmp_path: Path) -> None:
    d = tmp_path / "cli-sbx"
    cmd = [sys.executable, "-m", "annotui.cli", "sandbox", str(d)]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    try:
        assert out.returncode == 0, out.stderr
        vf = d.resolve() / "sandbox-vars.toml"
        assert f"annotui run anno-release --vars-file {vf} --rehearse" in out.stdout
        assert f"annotui run anno-release --vars-file {vf} --plain" in out.stdout
        assert f"echo 0 > {d.resolve() / 'state/active_jobs'}" in out.stdout
        password = tomllib.loads(vf.read_text())["supervisor_password"]
        assert password not in out.stdout + out.stderr
    finally:
        pid = int((d / "supervisor/supervisord.pid").read_text())
        stop = subprocess.run([*cmd, "--stop"], capture_output=True, text=True, timeout=60)
    assert stop.returncode == 0 and "stopped" in stop.stdout
    assert not alive(pid)


def test_cli_refuses_a_file_as_dir(tmp_path: Path) -> None:
    f = tmp_path / "file"
    f.write_text("x")
    out = subprocess.run(
        [sys.executable, "-m", "annotui.cli", "sandbox", str(f)], capture_output=True, text=True
    )
    assert out.returncode == 1
    assert "is not a directory" in out.stderr and "Traceback" not in out.stderr


def test_num_active_jobs_reads_the_state_file(tree: Path) -> None:
    script = tree / "tsd/anno/ops/num_active_jobs.sh"
    assert subprocess.run([script], capture_output=True, text=True).stdout == "0\n"
    (tree / "state/active_jobs").write_text("3\n")
    assert subprocess.run([script], capture_output=True, text=True).stdout == "3\n"


async def test_gate_waits_on_the_sandbox_job_count(tree: Path) -> None:
    """The gate polls the sandbox's real num_active_jobs.sh: 3 jobs, then 0 during the wait."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "status"))
    from status_helpers import make_ctx

    from annotui.checklist.models import GateStep, Probe
    from annotui.engine.kinds.gate import run_gate
    from annotui.events import GateEvaluated

    (tree / "state/active_jobs").write_text("3\n")
    probe = Probe(host="local", run=str(tree / "tsd/anno/ops/num_active_jobs.sh"), every=0.1)
    step = GateStep(id="no-jobs", kind="gate", probe="active_jobs", until="== 0", hold=2)
    ctx, events = make_ctx(step, probes={"active_jobs": probe})
    task = asyncio.create_task(run_gate(ctx))
    while len(events) < 3:
        await asyncio.sleep(0.02)
    assert not task.done()
    assert all(isinstance(e, GateEvaluated) and e.value == 3 for e in events)
    (tree / "state/active_jobs").write_text("0\n")
    result = await asyncio.wait_for(task, 5)
    assert result.outcome == "ok"
    assert [e.value for e in events[-2:]] == [0, 0]  # type: ignore[attr-defined]
