"""The viewer's step filter and scrolling keys on a fully indexed and verified log, each timed to
its first frame, with the process's CPU time over the same interval (after the verify no other
thread of the viewer works, so the CPU is the answer's own, whatever the machine's load).

Headless at 80x24. 18 filter changes ('s', '', 'step-7', '', 'step-77', '' three times) and 21
keys (down, pagedown, down, pagedown, up, pageup, pagedown three times). Prints one JSON line of
medians, maxima and p95s in ms. Run with PYTHONPATH set to another tree to time its `screens`.

Usage: python bench/viewer_cpu_probe.py LOG
"""

from __future__ import annotations

import asyncio
import json
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from viewer_probe import Frames, _answer, _hook

FILTERS = ["s", "", "step-7", "", "step-77", ""] * 3
KEYS = ("down", "pagedown", "down", "pagedown", "up", "pageup", "pagedown") * 3


def _ms(value: float) -> float:
    return round(1000 * value, 1)


def _p95(values: list[float]) -> float:
    return sorted(values)[int(0.95 * (len(values) - 1))]


async def probe(log: Path) -> None:
    from textual.widgets import Input

    from screens.audit_viewer import AuditViewerScreen, ReviewApp
    from screens.widgets.timeline import Timeline

    app = ReviewApp(log, poll=3600)
    frames: Frames = []
    _hook(app, frames, Timeline)
    async with app.run_test(size=(80, 24)) as pilot:
        while not isinstance(app.screen, AuditViewerScreen):
            await asyncio.sleep(0.01)
        screen = app.screen
        table = screen.query_one(Timeline)
        t0 = time.perf_counter()
        while not screen._caught_up or screen.verdict is None:
            await asyncio.sleep(0.05)
        out: dict[str, Any] = {"indexed_and_verified": time.perf_counter() - t0}
        await pilot.pause(0.3)
        field = screen.query_one("#f-step", Input)
        walls: dict[str, list[float]] = {"filter": [], "keys": []}
        cpus: dict[str, list[float]] = {"filter": [], "keys": []}
        for value in FILTERS:
            rows = table.row_count
            wall, cpu = time.perf_counter(), time.process_time()
            field.value = value
            answer = await _answer(frames, wall, lambda n, _c, rows=rows: n != rows, timeout=5)
            cpus["filter"].append(time.process_time() - cpu)
            walls["filter"].append(answer if answer is not None else float("inf"))
            await asyncio.sleep(0.1)
        for key in KEYS:
            row = table.cursor_row
            wall, cpu = time.perf_counter(), time.process_time()
            app.simulate_key(key)
            answer = await _answer(frames, wall, lambda _n, c, row=row: c != row, timeout=5)
            cpus["keys"].append(time.process_time() - cpu)
            walls["keys"].append(answer if answer is not None else float("inf"))
            await asyncio.sleep(0.1)
        for name in ("filter", "keys"):
            out[f"{name}_wall_median"] = _ms(statistics.median(walls[name]))
            out[f"{name}_wall_max"] = _ms(max(walls[name]))
            out[f"{name}_wall_p95"] = _ms(_p95(walls[name]))
            out[f"{name}_cpu_median"] = _ms(statistics.median(cpus[name]))
            out[f"{name}_cpu_max"] = _ms(max(cpus[name]))
            out[f"{name}_cpu_p95"] = _ms(_p95(cpus[name]))
        print(json.dumps(out), flush=True)
        os._exit(0)  # as viewer_probe: no worker left to wait for


if __name__ == "__main__":
    asyncio.run(probe(Path(sys.argv[1])))
