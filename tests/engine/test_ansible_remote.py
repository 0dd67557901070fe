"""`kind = "ansible"` with `host = <declared SSH host>`: ansible runs on that host.

Real `annotui run --plain` processes, real ansible-core and ansible-runner, and the real sshd of
tests/sshd_fixture.py as the remote (127.0.0.1 with its own host key, checked against its
known_hosts, never added). The remote's sessions have their own HOME, where ansible-runner and
ansible-playbook are installed the way `pip install --user` would (~/.local/bin): the remote
finds them there, not through this process's PATH. The inventory's hosts are
`ansible_connection=local` *on the remote*.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from engine_cli import CHECKLISTS, annotui_cmd, read_log
from sshd_fixture import Sshd, _descendants, pids_with_in_argv, running_sshd

from tests.text.processes import started

CHECKLIST = CHECKLISTS / "ansible-remote.toml"
TOKEN = "tok-remote-5e4d3c2b1a"
PYTHON = "/usr/bin/python3"
HOSTS = ["r1", "r2", "r3"]

pytestmark = pytest.mark.timeout(240)


def install_ansible(home: Path) -> None:
    """ansible-runner and ansible-playbook in the remote user's ~/.local/bin."""
    bin_dir = home / ".local" / "bin"
    bin_dir.mkdir(parents=True, exist_ok=True)
    for name in ("ansible-runner", "ansible-playbook"):
        (bin_dir / name).symlink_to(Path(sys.executable).parent / name)


@pytest.fixture(scope="module")
def sshd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sshd]:
    with running_sshd(tmp_path_factory.mktemp("sshd")) as d:
        install_ansible(d.dir / "home")
        yield d


def inventory(path: Path) -> Path:
    lines = ["[all]", *(f"{h} ansible_connection=local" for h in HOSTS)]
    lines += ["[all:vars]", f"ansible_python_interpreter={PYTHON}"]
    path.write_text("\n".join(lines) + "\n")
    return path


def env(tmp_path: Path, sshd: Sshd) -> dict[str, str]:
    return {
        **os.environ,
        "XDG_STATE_HOME": str(tmp_path / "state"),
        "ANSIBLE_TEST_TOKEN": TOKEN,
        "ANNOTUI_SSH_CONFIG": str(sshd.ssh_config),
    }


def command(tmp_path: Path, *args: str | Path) -> list[str]:
    work = tmp_path / "work"
    work.mkdir(exist_ok=True)
    inv = inventory(tmp_path / "inv.ini")
    return annotui_cmd(
        "run", CHECKLIST, "--plain", "--var", "target=tsd", "--var", f"work={work}",
        "--var", f"inventory={inv}", *args,
    )  # fmt: skip


def run(tmp_path: Path, sshd: Sshd, *args: str | Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        command(tmp_path, *args), capture_output=True, text=True, env=env(tmp_path, sshd),
        timeout=200, stdin=subprocess.DEVNULL,
    )  # fmt: skip


def records(log: list[dict], name: str) -> list[dict]:
    return [r for r in log if r["event"] == name]


def job_dirs() -> set[str]:
    """The remote jobs' private directories on tmpfs (the remote is this machine)."""
    return {p.name for p in Path("/dev/shm").glob("annotui-ansible-*")}


def files_holding(root: Path, needle: bytes, since: float, skip: Path) -> list[Path]:
    found = []
    for dirpath, dirnames, filenames in os.walk(root):
        if Path(dirpath) == skip:
            dirnames.clear()
            continue
        for name in filenames:
            p = Path(dirpath, name)
            try:
                st = p.lstat()
                if not p.is_file() or st.st_mtime < since or st.st_size > 4 << 20:
                    continue
                if needle in p.read_bytes():
                    found.append(p)
            except OSError:
                continue
    return found


class ArgvWatch:
    """Samples every process's argv while a run goes on: the secret must never be in one."""

    def __init__(self) -> None:
        self.seen: list[int] = []
        self.samples = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)

    def _watch(self) -> None:
        while not self._stop.is_set():
            self.seen += pids_with_in_argv(TOKEN.encode())
            self.samples += 1
            time.sleep(0.02)

    def __enter__(self) -> ArgvWatch:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def test_the_play_runs_on_the_declared_host(tmp_path, sshd):
    audit = tmp_path / "a.jsonl"
    before = job_dirs()
    since = time.time() - 1
    with ArgvWatch() as argv:
        r = run(tmp_path, sshd, "--yes", "--audit", audit)
    assert r.returncode == 0, r.stdout + r.stderr
    for h in HOSTS:
        assert (tmp_path / "work" / f"{h}.txt").read_text() == f"1.2.3 {TOKEN}\n"
    log = read_log(audit)
    by = {(x["host"], x["task"]): x for x in records(log, "ansible.result")}
    assert len(by) == len(records(log, "ansible.result")) == 3 * 4  # per host x task
    assert by[("r2", "write the release file")]["status"] == "changed"
    assert by[("r3", "refuse on one host")]["status"] == "skipped"
    assert all(len(x["event_sha256"]) == 64 for x in by.values())
    (recap,) = records(log, "ansible.recap")
    assert recap["status"] == "successful" and recap["rc"] == 0
    assert sorted(recap["hosts"]) == HOSTS
    (done,) = [f for f in records(log, "step.finished") if f["step_key"] == "deploy/play"]
    assert done["outcome"] == "ok" and done["message"] == "3 hosts, 12 results, 6 changed"
    (spawned,) = [s for s in records(log, "step.spawned") if s["step_key"] == "deploy/play"]
    assert spawned["host"] == "fleet"
    assert "   [changed] r1 | write the release file (" in r.stdout
    # it ran on the remote: under the test sshd's session (its HOME), from a tmpfs job directory
    (cmd_file,) = (tmp_path / "ansible").rglob("command")
    ran = json.loads(cmd_file.read_text())
    assert ran["env"]["HOME"] == str(sshd.dir / "home")
    assert ran["cwd"].startswith("/dev/shm/annotui-ansible-") and ran["cwd"].endswith("/project")
    assert any(a.endswith("/job/env/extravars") for a in ran["command"])  # the secret: a path
    # the secret: in no argv (sampled all along), no file on the remote's disk, no record
    assert argv.samples > 20 and not argv.seen
    assert job_dirs() == before  # the job's tmpfs directory is gone
    assert not files_holding(sshd.dir, TOKEN.encode(), since, skip=tmp_path / "work")
    assert not files_holding(Path("/tmp"), TOKEN.encode(), since, skip=tmp_path / "work")
    assert not files_holding(Path("/var/tmp"), TOKEN.encode(), since, skip=tmp_path / "work")
    assert TOKEN not in audit.read_text() + r.stdout + r.stderr
    assert "token is ***" in audit.read_text()
    verify = subprocess.run(annotui_cmd("audit", "verify", audit), env=env(tmp_path, sshd))
    assert verify.returncode == 0


def test_a_failing_remote_host_fails_the_step_and_is_named(tmp_path, sshd):
    audit = tmp_path / "a.jsonl"
    r = run(tmp_path, sshd, "--yes", "--var", "fail_on=r2", "--audit", audit)
    assert r.returncode == 1, r.stdout + r.stderr
    log = read_log(audit)
    (done,) = records(log, "step.finished")
    assert done["outcome"] == "failed" and done["message"] == "failed on r2"
    (recap,) = records(log, "ansible.recap")
    assert recap["hosts"]["r2"]["failed"] == 1 and recap["hosts"]["r1"]["failed"] == 0


def test_rehearsal_on_the_remote_runs_in_check_mode(tmp_path, sshd):
    audit = tmp_path / "a.jsonl"
    r = run(tmp_path, sshd, "--yes", "--rehearse", "--audit", audit)
    assert r.returncode == 0, r.stdout + r.stderr
    work = tmp_path / "work"
    assert not list(work.glob("*.txt"))
    assert sorted(p.name for p in work.glob("*.checkmode-false")) == [
        f"{h}.checkmode-false" for h in HOSTS
    ]
    assert "tasks marked check_mode: false still run and change their hosts" in r.stdout
    (done,) = [
        f for f in records(read_log(audit), "step.finished") if f["step_key"] == "deploy/play"
    ]
    assert done["outcome"] == "would-run"
    ran = json.loads(next((tmp_path / "ansible").rglob("command")).read_text())["command"]
    assert "--check" in ran and "--diff" in ran


def remote_sleeps(sshd: Sshd) -> list[int]:
    """The play's `sleep 60` processes: under the test sshd's sessions."""
    return [
        p
        for p in _descendants(sshd.pid)
        if Path(f"/proc/{p}/cmdline").exists()
        and Path(f"/proc/{p}/cmdline").read_bytes() == b"sleep\x0060\x00"
    ]


def test_cancel_stops_the_remote_play_and_resume_asks(tmp_path, sshd):
    audit = tmp_path / "a.jsonl"
    before = job_dirs()
    cmd = command(tmp_path, "--yes", "--var", "playbook=slow.yml", "--audit", audit)
    with started(cmd, stdin=subprocess.DEVNULL, env=env(tmp_path, sshd)) as proc:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if len(remote_sleeps(sshd)) == len(HOSTS):
                break
            time.sleep(0.2)
        else:
            pytest.fail("the remote sleeps never started: " + audit.read_text()[-3000:])
        time.sleep(0.5)
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=60)
    assert proc.returncode == 3, out + err
    log = read_log(audit)
    (recap,) = records(log, "ansible.recap")
    assert recap["status"] == "canceled"
    assert sorted(recap["unfinished"]) == HOSTS
    (done,) = records(log, "step.finished")
    assert done["outcome"] == "unknown"
    assert "not finished (outcome unknown): r" in out
    deadline = time.monotonic() + 10
    while remote_sleeps(sshd) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not remote_sleeps(sshd), "a sleep of the remote play survived the cancel"
    assert job_dirs() == before
    r = subprocess.run(
        [*cmd, "--resume"], input="q\n", capture_output=True, text=True,
        env=env(tmp_path, sshd), timeout=60,
    )  # fmt: skip
    assert r.returncode == 3, r.stdout + r.stderr
    assert "'r' to run it again" in r.stdout
    verify = subprocess.run(annotui_cmd("audit", "verify", audit), env=env(tmp_path, sshd))
    assert verify.returncode == 0


def test_a_host_without_ansible_runner_fails_with_a_clear_message(tmp_path):
    with running_sshd(tmp_path / "bare-sshd") as bare:  # nothing in its ~/.local/bin
        audit = tmp_path / "a.jsonl"
        r = run(tmp_path, bare, "--yes", "--audit", audit)
    assert r.returncode == 1, r.stdout + r.stderr
    (done,) = records(read_log(audit), "step.finished")
    assert done["outcome"] == "failed"
    assert done["message"].startswith("on fleet: ansible-runner is not installed on this host")
    assert "Traceback" not in r.stdout + r.stderr
