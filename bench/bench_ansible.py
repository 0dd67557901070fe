"""Fan-out: one playbook over 50 inventory hosts, through an `ansible` step of `annotui run
--plain --yes` and through `ansible-playbook` directly, interleaved in the same run.

The hosts are `ansible_connection=local` aliases (this machine has no 50 hosts): what is
measured is what annotui adds around ansible (ansible-runner, the per host x task records,
each fsync'd, the streamed output), not the network. The same ansible-core, forks and playbook
on both sides; the ratio is annotui's wall time over ansible-playbook's (target <= 1.10).
The cockpit's keypress latency while the events stream: bench/bench_ansible_ui.py.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from rows import row

HOSTS = 50
FORKS = 10
ROUNDS = int(os.environ.get("ANSIBLE_FANOUT_ROUNDS", "3"))
CHECKLISTS = Path(__file__).parent / "checklists"
CHECKLIST = CHECKLISTS / "fanout.toml"  # its playbook: fanout.yml beside it


def _once(cmd: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run(
        cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        stdin=subprocess.DEVNULL, env=env,
    )  # fmt: skip
    return time.perf_counter() - start


def run() -> list[dict]:
    with tempfile.TemporaryDirectory(prefix="annotui-bench-ansible-") as d:
        return _run(Path(d))


def _run(tmp: Path) -> list[dict]:
    bindir = Path(sys.executable).parent
    ansible = bindir / "ansible-playbook"
    if not ansible.exists():
        return [{"name": "ansible fan-out", "ok": False, "note": f"no {ansible}"}]
    hosts = [f"h{i:02d} ansible_connection=local" for i in range(HOSTS)]
    python = f"ansible_python_interpreter={sys.executable}"
    (tmp / "hosts.ini").write_text("[all]\n" + "\n".join(hosts) + f"\n[all:vars]\n{python}\n")
    work = tmp / "work"
    work.mkdir()
    env = {
        **os.environ,
        "PATH": f"{bindir}{os.pathsep}{os.environ.get('PATH', '')}",
        "XDG_STATE_HOME": str(tmp / "state"),
        "ANSIBLE_FORKS": str(FORKS),
    }
    inventory = tmp / "hosts.ini"
    annotui = [sys.executable, "-m", "annotui.cli", "run", str(CHECKLIST), "--plain", "--yes",
               "--var", f"work={work}", "--var", f"inventory={inventory}"]  # fmt: skip
    direct = [str(ansible), "-i", str(inventory), "-e", f"work={work}",
              str(CHECKLISTS / "fanout.yml")]  # fmt: skip
    subprocess.run([*annotui[:3], "check", str(CHECKLIST)], env=env, check=True,
                   stdout=subprocess.DEVNULL)  # fmt: skip
    t_a, t_d = [], []
    for _ in range(ROUNDS):
        t_d.append(_once(direct, env))
        t_a.append(_once(annotui, env))
    a, b = statistics.median(t_a), statistics.median(t_d)
    return [
        row(
            name=f"ansible fan-out, {HOSTS} hosts x 3 tasks: annotui step vs ansible-playbook",
            annotui=a,
            baseline=b,
            unit="s",
            ratio=a / b,
            target="<= 1.10x",
            ok=a / b <= 1.10,
            note=f"medians of {ROUNDS} interleaved rounds; forks {FORKS}, connection local; "
            f"annotui {', '.join(f'{x:.2f}' for x in t_a)} s, ansible-playbook "
            f"{', '.join(f'{x:.2f}' for x in t_d)} s; includes annotui's start and "
            f"{HOSTS * 3} ansible.result records (keypress latency: bench_ansible_ui)",
        )
    ]


if __name__ == "__main__":
    for r in run():
        print(r)
