"""Fan-out over SSH: bench/checklists/fanout.yml on N inventory hosts reached through the real
sshd of tests/sshd_fixture.py (127.0.0.1 aliases, its host key checked against its known_hosts,
never added), through annotui and through plain `ansible-playbook` on the same inventory,
interleaved in the same run.

Two rows:
- ansible here: an `ansible` step (`annotui run --plain --yes`) vs `ansible-playbook` run here.
- ansible on a declared host (`host = "fleet"`, the same sshd): annotui sends the job over its
  SSH link to `ansible-runner worker` there, which runs ansible-playbook, and turns the events
  streamed back into its records; the baseline is what an operator would type without annotui,
  `ssh fleet ansible-playbook ...` over the same ssh config. The remote is this machine (its
  sessions have their own HOME with ansible-runner and ansible-playbook in ~/.local/bin).

Both sides read the same ansible.cfg beside the playbook (forks, pipelining), from the
playbook's directory (runner's project directory here, the worker's copy of it there). Each
host's connection is its own ssh (ControlMaster=no, as the tests: nothing left running). The
ratio is annotui's wall time over ansible-playbook's (target <= 1.10, as the local fan-out).

Run: `python bench/bench_ansible_ssh.py` (or `python bench/run.py ansible_ssh`);
ANSIBLE_SSH_HOSTS (default 20) and ANSIBLE_SSH_ROUNDS (default 3).
"""

from __future__ import annotations

import os
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from rows import row
from sshd_fixture import Sshd, running_sshd

HOSTS = int(os.environ.get("ANSIBLE_SSH_HOSTS", "20"))
ROUNDS = int(os.environ.get("ANSIBLE_SSH_ROUNDS", "3"))
FORKS = 10
TASKS = 3
PYTHON = "/usr/bin/python3"
CHECKLISTS = Path(__file__).parent / "checklists"
CHECKLIST = CHECKLISTS / "fanout-ssh.toml"
TARGET = 1.10


def _project(tmp: Path) -> Path:
    """The playbook and the ansible.cfg both sides read (from the playbook's directory)."""
    project = tmp / "project"
    project.mkdir()
    shutil.copy(CHECKLISTS / "fanout.yml", project / "fanout.yml")
    (project / "ansible.cfg").write_text(
        f"[defaults]\nforks = {FORKS}\nhost_key_checking = True\n[connection]\npipelining = True\n"
    )
    project.chmod(0o755)  # ansible ignores an ansible.cfg in a world-writable directory
    return project / "fanout.yml"


def _inventory(path: Path, sshd: Sshd) -> Path:
    args = (
        f"-o UserKnownHostsFile={sshd.known_hosts} -o GlobalKnownHostsFile=/dev/null "
        "-o StrictHostKeyChecking=yes -o IdentitiesOnly=yes -o ControlMaster=no -o BatchMode=yes"
    )
    lines = ["[all]"]
    lines += [
        f"n{i:02d} ansible_host=127.0.0.1 ansible_port={sshd.port} ansible_user={sshd.user} "
        f"ansible_ssh_private_key_file={sshd.client_key} ansible_ssh_args='{args}'"
        for i in range(HOSTS)
    ]
    lines += ["[all:vars]", f"ansible_python_interpreter={PYTHON}"]
    path.write_text("\n".join(lines) + "\n")
    return path


def _install_remote(home: Path) -> Path:
    """ansible-runner and ansible-playbook in the remote user's ~/.local/bin (as the tests)."""
    bin_dir = home / ".local" / "bin"
    bin_dir.mkdir(parents=True, exist_ok=True)
    for name in ("ansible-runner", "ansible-playbook"):
        link = bin_dir / name
        if not link.exists():
            link.symlink_to(Path(sys.executable).parent / name)
    return bin_dir


def _once(cmd: list[str], env: dict[str, str], cwd: Path, work: Path) -> float:
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir()
    start = time.perf_counter()
    proc = subprocess.run(
        cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
        env=env, cwd=cwd, timeout=900,
    )  # fmt: skip
    took = time.perf_counter() - start
    written = len(list(work.glob("n*.txt")))
    if proc.returncode != 0 or written != HOSTS:
        tail = proc.stdout.decode(errors="replace")[-2000:]
        raise SystemExit(f"{cmd[:4]}: exit {proc.returncode}, {written}/{HOSTS} files\n{tail}")
    return took


def run() -> list[dict[str, Any]]:
    with tempfile.TemporaryDirectory(prefix="annotui-bench-ansible-ssh-") as d:
        tmp = Path(d)
        with running_sshd(tmp / "sshd") as sshd:
            return _run(tmp, sshd)


def _run(tmp: Path, sshd: Sshd) -> list[dict[str, Any]]:
    bindir = Path(sys.executable).parent
    remote_bin = _install_remote(sshd.dir / "home")
    playbook = _project(tmp)
    inventory = _inventory(tmp / "hosts.ini", sshd)
    work = tmp / "work"
    env = {
        **os.environ,
        "PATH": f"{bindir}{os.pathsep}{os.environ.get('PATH', '')}",
        "XDG_STATE_HOME": str(tmp / "state"),
        "ANNOTUI_SSH_CONFIG": str(sshd.ssh_config),
        "ANSIBLE_HOST_KEY_CHECKING": "True",
    }
    env.pop("ANSIBLE_FORKS", None)  # the ansible.cfg's, on both sides

    def annotui(where: str) -> list[str]:
        return [sys.executable, "-m", "annotui.cli", "run", str(CHECKLIST), "--plain", "--yes",
                "--var", f"where={where}", "--var", f"work={work}",
                "--var", f"inventory={inventory}", "--var", f"playbook={playbook}"]  # fmt: skip

    remote = f"cd {shlex.quote(str(playbook.parent))} && " + shlex.join(
        ["env", "ANSIBLE_HOST_KEY_CHECKING=True", str(remote_bin / "ansible-playbook"),
         "-i", str(inventory), "-e", f"work={work}", playbook.name]
    )  # fmt: skip
    direct = [str(bindir / "ansible-playbook"), "-i", str(inventory), "-e", f"work={work}",
              playbook.name]  # fmt: skip
    cases = {
        "here": (annotui("here"), direct),
        "there": (annotui("there"), ["ssh", "-F", str(sshd.ssh_config), "tsd", remote]),
    }
    subprocess.run([sys.executable, "-m", "annotui.cli", "check", str(CHECKLIST)], env=env,
                   check=True, stdout=subprocess.DEVNULL)  # fmt: skip
    times: dict[str, tuple[list[float], list[float]]] = {k: ([], []) for k in cases}
    for _ in range(ROUNDS):
        for key, (ours, plain) in cases.items():
            times[key][1].append(_once(plain, env, playbook.parent, work))
            times[key][0].append(_once(ours, env, playbook.parent, work))
    load = os.getloadavg()[0]
    rows = []
    for key, what in (
        ("here", "ansible here"),
        ("there", "ansible on a declared host (runner's worker over SSH)"),
    ):
        t_a, t_d = times[key]
        a, b = statistics.median(t_a), statistics.median(t_d)
        base = "ansible-playbook here" if key == "here" else "ssh fleet ansible-playbook"
        rows.append(
            row(
                name=f"ansible fan-out over the real sshd, {HOSTS} hosts x {TASKS} tasks: "
                f"{what} vs {base}",
                annotui=a,
                baseline=b,
                unit="s",
                ratio=a / b,
                target=f"<= {TARGET:.2f}x",
                ok=a / b <= TARGET,
                note=f"medians of {ROUNDS} interleaved rounds; forks {FORKS}, pipelining, one "
                f"ssh per connection (ControlMaster=no), host keys checked; annotui "
                f"{', '.join(f'{x:.2f}' for x in t_a)} s, {base} "
                f"{', '.join(f'{x:.2f}' for x in t_d)} s; includes annotui's start and "
                f"{HOSTS * TASKS} ansible.result records; load average {load:.1f} at the end",
            )
        )
    return rows


if __name__ == "__main__":
    for r in run():
        print(r)
