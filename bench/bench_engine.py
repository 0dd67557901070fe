"""20 local /bin/true steps: `annotui run --plain --yes` vs a bash script vs ansible-playbook.

ansible-core is looked up in ANSIBLE_VENV (default /work/ansible-venv, created with
`python3 -m venv /work/ansible-venv && /work/ansible-venv/bin/pip install ansible-core`).
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

STEPS = 20
REPEAT = 5


def _checklist(n: int) -> str:
    steps = "".join(
        f'\n  [[stages.steps]]\n  id = "s{i}"\n  kind = "command"\n  run = "/bin/true"\n'
        for i in range(n)
    )
    return f'[checklist]\nid = "bench"\ntitle = "bench"\n\n[[stages]]\nid = "main"\n{steps}'


def _time(cmd: list[str], env: dict[str, str] | None = None) -> float:
    best = []
    for _ in range(REPEAT):
        start = time.perf_counter()
        subprocess.run(
            cmd,
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            stdin=subprocess.DEVNULL,
            env=env,
        )
        best.append(time.perf_counter() - start)
    return statistics.median(best)


def run() -> list[dict]:
    with tempfile.TemporaryDirectory(prefix="annotui-bench-") as d:
        return _run(Path(d))


def _run(tmp: Path) -> list[dict]:
    env = {**os.environ, "XDG_STATE_HOME": str(tmp / "state")}
    for n in (STEPS, 2 * STEPS):
        (tmp / f"c{n}.toml").write_text(_checklist(n))
    (tmp / "s.sh").write_text("#!/bin/bash\n" + "/bin/true\n" * STEPS)
    annotui = [sys.executable, "-m", "annotui.cli", "run", "--plain", "--yes"]
    t20 = _time([*annotui, str(tmp / f"c{STEPS}.toml")], env)
    t40 = _time([*annotui, str(tmp / f"c{2 * STEPS}.toml")], env)
    t_check = _time([sys.executable, "-m", "annotui.cli", "check", str(tmp / f"c{STEPS}.toml")])
    bash = _time(["bash", str(tmp / "s.sh")])
    per_step_total = (t20 - bash) / STEPS * 1000
    marginal = (t40 - t20) / STEPS * 1000
    rows = [
        {
            "name": "20 local steps vs bash: overhead per step (whole process)",
            "annotui": t20,
            "baseline": bash,
            "unit": "s",
            "ratio": bash / t20,
            "target": "<= 5 ms/step",
            "ok": per_step_total <= 5,
            "note": f"{per_step_total:.1f} ms/step incl. start-up "
            f"({t_check * 1000:.0f} ms for `annotui check` alone); marginal {marginal:.2f} ms/step",
        },
        {
            "name": "local step marginal cost (40 vs 20 steps)",
            "annotui": marginal / 1000,
            "baseline": bash / STEPS,
            "unit": "s/step",
            "ratio": 5 / max(marginal, 1e-9),
            "target": "<= 5 ms/step",
            "ok": marginal <= 5,
            "note": "4 fsync'd audit records/step",
        },
    ]
    ansible = Path(os.environ.get("ANSIBLE_VENV", "/work/ansible-venv")) / "bin/ansible-playbook"
    if ansible.exists():
        tasks = "".join(f"    - name: t{i}\n      command: /bin/true\n" for i in range(STEPS))
        (tmp / "play.yml").write_text(
            f"- hosts: localhost\n  connection: local\n  gather_facts: false\n  tasks:\n{tasks}"
        )
        aenv = {
            **os.environ,
            "ANSIBLE_LOCALHOST_WARNING": "False",
            "ANSIBLE_INVENTORY_UNPARSED_WARNING": "False",
        }
        python = f"ansible_python_interpreter={ansible.parent / 'python'}"
        t_ans = _time([str(ansible), "-i", "localhost,", "-e", python, str(tmp / "play.yml")], aenv)
        rows.append(
            {
                "name": "20 local steps vs ansible-playbook",
                "annotui": t20,
                "baseline": t_ans,
                "unit": "s",
                "ratio": t_ans / t20,
                "target": ">= 40x",
                "ok": t_ans / t20 >= 40,
                "note": "ansible-core, connection: local",
            }
        )
    else:
        rows.append(
            {
                "name": "20 local steps vs ansible-playbook",
                "ok": False,
                "note": f"ansible-playbook not found at {ansible}",
            }
        )
    return rows
