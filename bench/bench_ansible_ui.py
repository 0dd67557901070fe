"""Keypress latency in the cockpit while an ansible step streams its events, against the same
cockpit with an ansible step that streams nothing.

The real cockpit (`CockpitApp`, real engine, real ansible-core through ansible-runner) headless
under `run_test`, at 120x40 and 80x24. The flood: 50 `ansible_connection=local` hosts x 30
`debug` tasks (forks 10): 1,500 `ansible.result` records (each fsync'd), 30 `ansible.task`,
runner's output, and the hosts x tasks grid (screens/widgets/ansible_grid.py, in its one line
per host form: 50 hosts do not fit) redrawn as they come. The baseline: one host whose only
task sleeps, so nothing streams while the keys are pressed. Keys: `t` (toggle the status panel,
which lays the whole walk screen out again), measured as bench/bench_ui.py does (until the first
frame handed to the terminal that shows it). Budget: p95 <= 100 ms during the flood.

Run: `python bench/bench_ansible_ui.py` (or `python bench/run.py ansible_ui`).
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_ui import _hook_frames, _p95, _press_t, _start_step, _until
from rows import row

HOSTS = 50
TASKS = 30
FORKS = 10
BUDGET = 0.100
IDLE_PRESSES = 60
MAX_PRESSES = 400
CHECKLIST = Path(__file__).parent / "checklists" / "ansible-flood.toml"


def _playbook(path: Path, flood: bool) -> Path:
    if flood:
        msg = "'task {i} on {{{{ inventory_hostname }}}}'"
        tasks = [
            f"    - name: task {i:02d}\n      debug:\n        msg: {msg.format(i=i)}\n"
            for i in range(TASKS)
        ]
    else:
        tasks = ["    - name: wait\n      command: sleep 600\n      changed_when: false\n"]
    path.write_text(
        f"- hosts: all\n  gather_facts: false\n  tasks:\n{''.join(tasks)}", encoding="utf-8"
    )
    return path


def _inventory(path: Path, hosts: int) -> Path:
    lines = ["[all]", *(f"h{i:02d} ansible_connection=local" for i in range(hosts))]
    lines += ["[all:vars]", f"ansible_python_interpreter={sys.executable}"]
    path.write_text("\n".join(lines) + "\n")
    return path


async def _presses(
    workdir: Path, flood: bool, size: tuple[int, int]
) -> tuple[list[float], int, float]:
    """(latencies, ansible.result records, seconds the presses took)."""
    from annotui.engine.options import RunOptions
    from screens.app import CockpitApp

    playbook = _playbook(workdir / "play.yml", flood)
    inventory = _inventory(workdir / "hosts.ini", HOSTS if flood else 1)
    audit = workdir / "audit.jsonl"
    options = RunOptions(
        audit_path=audit,
        argv=["run", str(CHECKLIST)],
        cli_vars={"inventory": str(inventory), "playbook": str(playbook)},
    )
    app = CockpitApp(str(CHECKLIST), options, operator_name="bench")
    answered: list[float] = []
    async with app.run_test(size=size) as pilot:
        frames = _hook_frames(app, await _start_step(app, pilot))
        if flood:  # from the first result on: the stream, not ansible's start
            await _until(pilot, lambda: b'"ansible.result"' in audit.read_bytes(), 120)
        else:
            await _until(pilot, lambda: b'"task":"wait"' in audit.read_bytes(), 120)
        began = time.perf_counter()
        while len(answered) < (MAX_PRESSES if flood else IDLE_PRESSES):
            if flood and app.step_running is None:
                break
            first, _settled, _ = await _press_t(app, frames)
            answered.append(first)
            await asyncio.sleep(0.05)
        took = time.perf_counter() - began
        if flood:
            await _until(pilot, lambda: app.step_running is None, 300)
        app.exit()
    results = audit.read_bytes().count(b'"event":"ansible.result"')
    return answered, results, took


def _ms(values: list[float]) -> str:
    return (
        f"p50 {statistics.median(values) * 1000:.1f} ms, p95 {_p95(values) * 1000:.1f} ms, "
        f"max {max(values) * 1000:.1f} ms"
    )


def run() -> list[dict[str, Any]]:
    import os

    os.environ.setdefault("ANSIBLE_FORKS", str(FORKS))
    rows = []
    for size in ((120, 40), (80, 24)):
        with tempfile.TemporaryDirectory(prefix="annotui-bench-ansible-ui-") as d:
            idle_dir, flood_dir = Path(d) / "idle", Path(d) / "flood"
            idle_dir.mkdir()
            flood_dir.mkdir()
            idle, _, _ = asyncio.run(_presses(idle_dir, False, size))
            flood, results, took = asyncio.run(_presses(flood_dir, True, size))
        p95, base = _p95(flood), _p95(idle)
        rows.append(
            row(
                name=f"keypress during an ansible event flood (p95), {size[0]}x{size[1]}",
                annotui=p95,
                baseline=base,
                unit="s",
                ratio=BUDGET / p95 if p95 else float("inf"),
                target="<= 100 ms",
                ok=p95 <= BUDGET,
                note=f"{len(flood)} presses of t while {HOSTS} hosts x {TASKS} debug tasks "
                f"streamed ({results} ansible.result records, {results / took:.0f}/s over the "
                f"{took:.1f} s of presses; forks {FORKS}): {_ms(flood)}; baseline, the same "
                f"cockpit with an ansible step streaming nothing ({len(idle)} presses): "
                f"{_ms(idle)} (headless run_test)",
            )
        )
    return rows


if __name__ == "__main__":
    for r in run():
        print(r)
