"""`kind = "ansible"` end to end: real ansible-core through ansible-runner, from real
`annotui run --plain` processes, over `ansible_connection=local` and over the real sshd of
tests/sshd_fixture.py (host key checked against its known_hosts, never disabled)."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from engine_cli import CHECKLISTS, annotui_cmd, read_log
from sshd_fixture import Sshd, running_sshd

from tests.text.processes import started

HERE = Path(__file__).parent
CHECKLIST = CHECKLISTS / "ansible.toml"
TOKEN = "tok-9f8e7d6c5b4a"
PYTHON = "/usr/bin/python3"


@pytest.fixture(scope="module")
def sshd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sshd]:
    with running_sshd(tmp_path_factory.mktemp("sshd")) as d:
        yield d


def inventory(path: Path, local: list[str], ssh: list[str], sshd: Sshd | None = None) -> Path:
    lines = ["[all]"]
    lines += [f"{h} ansible_connection=local" for h in local]
    if ssh:
        assert sshd is not None
        args = (
            f"-o UserKnownHostsFile={sshd.known_hosts} -o StrictHostKeyChecking=yes "
            "-o IdentitiesOnly=yes -o ControlMaster=no"
        )
        lines += [
            f"{h} ansible_host=127.0.0.1 ansible_port={sshd.port} ansible_user={sshd.user} "
            f"ansible_ssh_private_key_file={sshd.client_key} ansible_ssh_args='{args}'"
            for h in ssh
        ]
    lines += ["[all:vars]", f"ansible_python_interpreter={PYTHON}"]
    path.write_text("\n".join(lines) + "\n")
    return path


def env(tmp_path: Path) -> dict[str, str]:
    return {**os.environ, "XDG_STATE_HOME": str(tmp_path / "state"), "ANSIBLE_TEST_TOKEN": TOKEN}


def run(tmp_path: Path, inv: Path, *args: str, input: str = "") -> subprocess.CompletedProcess:
    work = tmp_path / "work"
    work.mkdir(exist_ok=True)
    cmd = annotui_cmd(
        "run", CHECKLIST, "--plain", "--var", f"work={work}", "--var", f"inventory={inv}", *args
    )
    return subprocess.run(
        cmd, input=input, capture_output=True, text=True, env=env(tmp_path), timeout=240
    )


def records(log: list[dict], name: str) -> list[dict]:
    return [r for r in log if r["event"] == name]


def no_secret_under(root: Path) -> None:
    for p in root.rglob("*"):
        if p.is_file():
            assert TOKEN.encode() not in p.read_bytes(), p


def test_a_playbook_over_local_and_ssh_hosts(tmp_path, sshd):
    hosts_local, hosts_ssh = ["l1"], ["s1", "s2", "s3"]
    inv = inventory(tmp_path / "inv.ini", hosts_local, hosts_ssh, sshd)
    audit = tmp_path / "a.jsonl"
    r = run(tmp_path, inv, "--yes", "--audit", str(audit))
    assert r.returncode == 0, r.stdout + r.stderr
    for h in hosts_local + hosts_ssh:
        assert (tmp_path / "work" / f"{h}.txt").read_text() == f"1.2.3 {TOKEN}\n"
    log = read_log(audit)
    results = records(log, "ansible.result")
    by = {(x["host"], x["task"]): x for x in results}
    assert len(by) == len(results) == 4 * 4  # one record per host x task
    first = by[("s2", "write the release file")]
    assert first["status"] == "changed" and first["action"] == "copy"
    assert isinstance(first["duration"], float) and len(first["event_sha256"]) == 64
    assert by[("s2", "refuse on one host")]["status"] == "skipped"
    assert by[("l1", "say the token")]["status"] == "ok"
    (recap,) = records(log, "ansible.recap")
    assert recap["rc"] == 0 and recap["status"] == "successful"
    assert sorted(recap["hosts"]) == ["l1", "s1", "s2", "s3"]
    assert all(c["changed"] == 2 and c["failed"] == 0 for c in recap["hosts"].values())
    assert [t["task"] for t in records(log, "ansible.task")] == [
        "write the release file",
        "say the token",
        "refuse on one host",
        "marker even in check mode",
    ]
    (done,) = [f for f in records(log, "step.finished") if f["step_key"] == "deploy/play"]
    assert done["outcome"] == "ok" and done["exit_code"] == 0
    # plain mode: one line per host x task
    assert "   [changed] s3 | write the release file (" in r.stdout
    assert r.stdout.count(" | say the token") == 4
    # the secret: masked in the output, never in argv, artifacts or the log
    assert "token is ***" in audit.read_text()
    assert TOKEN not in audit.read_text() + r.stdout + r.stderr
    no_secret_under(tmp_path / "ansible")
    command = next((tmp_path / "ansible").rglob("command"))
    argv = json.loads(command.read_text())["command"]
    assert "token" not in " ".join(argv).replace("secret-vars", "")
    assert subprocess.run(annotui_cmd("audit", "verify", audit), env=env(tmp_path)).returncode == 0


def test_a_failing_host_fails_the_step_and_is_named(tmp_path, sshd):
    inv = inventory(tmp_path / "inv.ini", ["l1"], ["s1", "s2"], sshd)
    audit = tmp_path / "a.jsonl"
    r = run(tmp_path, inv, "--yes", "--var", "fail_on=s2", "--audit", str(audit))
    assert r.returncode == 1, r.stdout + r.stderr
    log = read_log(audit)
    (done,) = records(log, "step.finished")
    assert done["outcome"] == "failed" and done["message"] == "failed on s2"
    assert "   [failed] s2 | refuse on one host (" in r.stdout and "s2 refuses" in r.stdout
    (recap,) = records(log, "ansible.recap")
    assert recap["hosts"]["s2"]["failed"] == 1 and recap["hosts"]["l1"]["failed"] == 0
    assert not [s for s in records(log, "step.shown") if s["step_key"] == "deploy/after"]


def test_an_unreachable_host_fails_the_step(tmp_path, sshd):
    inv = tmp_path / "inv.ini"
    inventory(inv, ["l1"], [], None)
    # a port where nothing listens
    text = inv.read_text().replace(
        "[all:vars]",
        "gone ansible_host=127.0.0.1 ansible_port=9 ansible_connection=ssh\n[all:vars]",
    )
    inv.write_text(text)
    audit = tmp_path / "a.jsonl"
    r = run(tmp_path, inv, "--yes", "--audit", str(audit))
    assert r.returncode == 1, r.stdout + r.stderr
    (done,) = records(read_log(audit), "step.finished")
    assert done["message"] == "unreachable: gone"


def test_a_play_that_runs_on_no_host_fails_the_step(tmp_path):
    """An inventory whose only group has no host: ansible-playbook says 'no hosts matched' and
    exits 0; the step did nothing it was asked to, so it fails and says why."""
    inv = tmp_path / "inv.ini"
    inv.write_text("[web]\n")
    audit = tmp_path / "a.jsonl"
    r = run(tmp_path, inv, "--yes", "--audit", str(audit))
    assert r.returncode == 1, r.stdout + r.stderr
    log = read_log(audit)
    (done,) = records(log, "step.finished")
    assert done["outcome"] == "failed" and done["exit_code"] == 0, done
    assert done["message"].startswith("the play ran on no host: the inventory"), done
    assert "the play ran on no host" in r.stdout
    assert not [s for s in records(log, "step.shown") if s["step_key"] == "deploy/after"]


def test_rehearsal_runs_the_playbook_in_check_mode(tmp_path, sshd):
    inv = inventory(tmp_path / "inv.ini", ["l1", "l2"], ["s1"], sshd)
    audit = tmp_path / "a.jsonl"
    r = run(tmp_path, inv, "--yes", "--rehearse", "--audit", str(audit))
    assert r.returncode == 0, r.stdout + r.stderr
    work = tmp_path / "work"
    assert not list(work.glob("*.txt"))  # --check: nothing written
    # ... except by a task with check_mode: false, as the rehearsal says
    assert sorted(p.name for p in work.glob("*.checkmode-false")) == [
        "l1.checkmode-false",
        "l2.checkmode-false",
        "s1.checkmode-false",
    ]
    assert "tasks marked check_mode: false still run and change their hosts" in r.stdout
    log = read_log(audit)
    (done,) = [f for f in records(log, "step.finished") if f["step_key"] == "deploy/play"]
    assert done["outcome"] == "would-run"
    command = json.loads(next((tmp_path / "ansible").rglob("command")).read_text())["command"]
    assert "--check" in command and "--diff" in command
    statuses = {x["status"] for x in records(log, "ansible.result")}
    assert "changed" in statuses  # what would change


def descendants(pid: int) -> list[int]:
    out, todo = [], children_of(pid)
    while todo:
        p = todo.pop()
        out.append(p)
        todo += children_of(p)
    return out


def sleeps(work: Path) -> list[int]:
    """The `sleep 60` processes of this test's play: the test's directory is in their
    environment (XDG_STATE_HOME, inherited from annotui through ansible)."""
    found = []
    for p in Path("/proc").iterdir():
        if p.name.isdigit():
            try:
                cmd = (p / "cmdline").read_bytes()
                environ = (p / "environ").read_bytes()
            except OSError:
                continue
            if cmd == b"sleep\x0060\x00" and str(work.parent).encode() in environ:
                found.append(int(p.name))
    return found


def children_of(pid: int) -> list[int]:
    out = []
    for p in Path("/proc").iterdir():
        if p.name.isdigit():
            try:
                stat = (p / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                out.append(int(p.name))
    return out


def test_sigterm_mid_play_records_the_unfinished_hosts_and_resume_asks(tmp_path):
    inv = inventory(tmp_path / "inv.ini", ["l1", "l2", "l3"], [])
    audit = tmp_path / "a.jsonl"
    work = tmp_path / "work"
    work.mkdir()
    cmd = annotui_cmd(
        "run", CHECKLIST, "--plain", "--yes", "--var", f"work={work}", "--var",
        f"inventory={inv}", "--var", "playbook=slow.yml", "--audit", audit,
    )  # fmt: skip
    with started(cmd, stdin=subprocess.DEVNULL, env=env(tmp_path)) as proc:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            text = audit.read_text() if audit.exists() else ""
            if '"task":"sleep"' in text and '"ansible.task"' in text:
                break
            time.sleep(0.2)
        else:
            pytest.fail(f"the sleep task never started: {text[-3000:]}")
        time.sleep(1.5)  # the hosts are in their sleep
        assert sleeps(work)
        kids = descendants(proc.pid)
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=60)
    assert proc.returncode == 3, out + err
    log = read_log(audit)
    (recap,) = records(log, "ansible.recap")
    assert recap["status"] == "canceled"
    assert sorted(recap["unfinished"]) == ["l1", "l2", "l3"]
    (done,) = records(log, "step.finished")
    assert done["outcome"] == "unknown"
    assert "not finished (outcome unknown): l" in out
    # ansible-playbook, its forks (sessions of their own) and the hosts' sleeps are gone
    assert kids
    time.sleep(0.5)
    left = {}
    for pid in kids:
        with contextlib.suppress(OSError):
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
            if state != "Z":  # a zombie has ended; its reaper (not annotui) may be slow
                left[pid] = Path(f"/proc/{pid}/cmdline").read_bytes()
    assert not left
    assert not sleeps(work), "a sleep of the play survived the cancel"
    r = subprocess.run(
        [*cmd, "--resume"], input="q\n", capture_output=True, text=True, env=env(tmp_path),
        timeout=60,
    )  # fmt: skip
    assert r.returncode == 3, r.stdout + r.stderr
    assert "'r' to run it again" in r.stdout
    assert subprocess.run(annotui_cmd("audit", "verify", audit), env=env(tmp_path)).returncode == 0
