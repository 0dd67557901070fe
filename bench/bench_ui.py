"""UI budgets, measured side by side in one run.

(a) keypress latency while a step prints 1,000,000 lines: the real cockpit (`CockpitApp`, real
    engine, 10 bursts of `seq 100000` 0.3 s apart as a real subprocess, a step with Markdown
    instructions like the bundled checklist's) headless under `run_test`; while the step runs we
    press `t` (toggle the status panel: the costliest key, it lays the whole walk screen out
    again) again and again. A press is answered when the first frame that shows it is handed to
    the terminal: the app's `_display` (Textual's one exit to the driver) receives a frame whose
    layout has the panel in its new state. Budget: p95 under 100 ms.
    Textual then lays the screen out once more (the widgets whose width changed report new
    virtual sizes) and repaints, one timer tick later; those frames are identical to the first
    (`first_frame_is_final` checks this with the idle step, comparing every cell and style). The
    note gives that settled time too: it is what this bench measured before.
(b) process start to first frame: `annotui run FILE` vs a bare Textual app, each a subprocess on a
    real pty that exits right after its first frame (`ANNOTUI_EXIT_AFTER_FIRST_FRAME=1` in the
    cockpit, `call_after_refresh(exit)` in the bare app); N runs each, medians compared. Budget:
    annotui within 1.25x of the bare app. Both exit after the first refresh that follows the
    app's mount: the cockpit's is the whole Welcome screen (banner, checklist and audit inputs,
    mode, Start, status panel) at the pty's size; in both, Textual fills in the footer's keys
    in the frame after. Byte-compile annotui and screens first (`python -m compileall`): with
    PYTHONDONTWRITEBYTECODE set, they are recompiled on every start while Textual is not.

Run: `python -m bench.bench_ui` (or through bench/run.py).
"""

from __future__ import annotations

import asyncio
import os
import pty
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from rows import row

LATENCY_BUDGET = 0.100
START_RATIO = 1.25
STARTS = 10
FLOOD_RUNS = 3

BIG_OUTPUT = (Path(__file__).parent / "checklists" / "ui-flood.toml").read_text()

BARE_APP = """
from textual.app import App, ComposeResult
from textual.widgets import Footer, Header, Static

class Bare(App):
    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("hello")
        yield Footer()

    def on_mount(self) -> None:
        self.call_after_refresh(self.exit)

Bare().run()
"""


IDLE_STEP = 'run = "sleep 120"'
FLOOD_STEP = 'run = "for i in 1 2 3 4 5 6 7 8 9 10; do seq 100000; sleep 0.3; done"'


async def _start_step(app: Any, pilot: Any) -> Any:
    """Welcome -> Variables -> confirm the step; returns the walk screen's status panel."""
    from screens.widgets.status_panel import StatusPanel

    await pilot.press("enter")  # Welcome: start
    await _until(pilot, lambda: "Variables" in type(app.screen).__name__, 20)
    await pilot.press("ctrl+s")
    await _until(pilot, lambda: app.question is not None and app.question_open, 20)
    await pilot.press("y")
    await _until(pilot, lambda: app.step_running is not None, 20)
    return app.screen.query_one(StatusPanel)


def _hook_frames(app: Any, panel: Any, full: bool = False) -> list[tuple[float, bool, Any]]:
    """Record every frame handed to the terminal: (time, panel shown in it, [its cells])."""
    frames: list[tuple[float, bool, Any]] = []
    display = app._display

    def hooked(screen: Any, renderable: Any) -> None:
        display(screen, renderable)
        if renderable is not None:
            compositor = screen._compositor
            cells = None
            if full:
                cells = [(s.text, [seg.style for seg in s]) for s in compositor.render_strips()]
            frames.append((time.perf_counter(), panel in compositor.visible_widgets, cells))

    app._display = hooked
    return frames


async def _press_t(app: Any, frames: list[tuple[float, bool, Any]]) -> tuple[float, float, Any]:
    """Press `t`; seconds until the first frame showing the toggle, and until Textual settled."""
    # The key goes through the app's message queue exactly as the driver's keys do;
    # Pilot.press would wait for the app to be idle, which it never is during the flood.
    before = app.status_visible
    frames.clear()
    t0 = time.perf_counter()
    app.simulate_key("t")
    while not (shown := [f for f in frames if f[1] != before]):
        if time.perf_counter() - t0 > 10:
            raise TimeoutError("no frame showed the status panel toggled within 10 s")
        await asyncio.sleep(0.0005)
    answered = shown[0][0] - t0
    painted = asyncio.Event()
    app.call_after_refresh(painted.set)
    await painted.wait()
    return answered, time.perf_counter() - t0, shown[0][2]


async def _keypress_latencies(workdir: Path) -> tuple[list[float], list[float], int]:
    from annotui.engine.options import RunOptions
    from screens.app import CockpitApp

    checklist = workdir / "flood.toml"
    checklist.write_text(BIG_OUTPUT)
    options = RunOptions(audit_path=workdir / "audit.jsonl", argv=["run", str(checklist)])
    app = CockpitApp(str(checklist), options, operator_name="bench")
    answered: list[float] = []
    settled: list[float] = []
    async with app.run_test(size=(120, 40)) as pilot:
        frames = _hook_frames(app, await _start_step(app, pilot))
        while app.step_running is not None and len(answered) < 200:
            first, last, _ = await _press_t(app, frames)
            answered.append(first)
            settled.append(last)
            await asyncio.sleep(0.05)
        await _until(pilot, lambda: app.step_running is None, 120)
    lines = sum(1 for _ in (workdir / "audit.jsonl").open("rb"))
    return answered, settled, lines


async def first_frame_is_final(workdir: Path, presses: int = 6) -> bool:
    """With a quiet step, the first frame that shows a toggle equals the last one of the burst
    of frames that follows (every cell and style): the key's answer is complete in it."""
    from annotui.engine.options import RunOptions
    from screens.app import CockpitApp

    checklist = workdir / "idle.toml"
    checklist.write_text(BIG_OUTPUT.replace(FLOOD_STEP, IDLE_STEP))
    options = RunOptions(audit_path=workdir / "idle.jsonl", argv=["run", str(checklist)])
    app = CockpitApp(str(checklist), options, operator_name="bench")
    same = True
    async with app.run_test(size=(120, 40)) as pilot:
        frames = _hook_frames(app, await _start_step(app, pilot), full=True)
        await asyncio.sleep(1.5)  # the first status poll and its repaint
        for _ in range(presses):
            _, _, first = await _press_t(app, frames)
            await asyncio.sleep(0.3)
            same = same and first == frames[-1][2]
        app.exit()
    return same


async def _until(pilot: Any, cond: Any, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise TimeoutError("the cockpit did not reach the expected state")
        await pilot.pause(0.02)


def _p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def keypress_row() -> dict[str, Any]:
    answered: list[float] = []
    settled: list[float] = []
    with tempfile.TemporaryDirectory() as d:
        final = asyncio.run(first_frame_is_final(Path(d)))
        for i in range(FLOOD_RUNS):
            run = Path(d) / f"run{i}"
            run.mkdir()
            first, last, _records = asyncio.run(_keypress_latencies(run))
            answered += first
            settled += last
    name = "keypress during 1M-line step (p95)"
    if not answered:
        return row(
            name=name,
            annotui=float("nan"),
            baseline=LATENCY_BUDGET,
            unit="s",
            target="<= 100 ms",
            ok=False,
            ratio=0.0,
            note="the step finished before any key was measured",
        )
    p95 = _p95(answered)
    return row(
        name=name,
        annotui=p95,
        baseline=LATENCY_BUDGET,
        unit="s",
        target="<= 100 ms",
        ok=p95 <= LATENCY_BUDGET and final,
        ratio=LATENCY_BUDGET / p95 if p95 else float("inf"),
        note=f"{len(answered)} presses of t (toggle the status panel) in {FLOOD_RUNS} runs of a "
        f"step printing 1,000,000 lines (10 bursts), until the first frame showing it: p50 "
        f"{statistics.median(answered) * 1000:.1f} ms, p95 {p95 * 1000:.1f} ms, max "
        f"{max(answered) * 1000:.1f} ms; until Textual's second layout pass settled: p50 "
        f"{statistics.median(settled) * 1000:.1f} ms, p95 {_p95(settled) * 1000:.1f} ms; "
        f"first frame identical to the settled one (idle step): {'yes' if final else 'NO'} "
        f"(headless run_test, 120x40)",
    )


def _time_on_pty(
    cmd: list[str], env: dict[str, str], cwd: Path, ok_codes: tuple[int, ...] = (0,)
) -> float:
    """Seconds from spawn to exit of ``cmd`` on a real 100x30 pty (its output drained).

    The cockpit closed before any run exits 3 ('stopped before the end'): pass it in ok_codes.
    """
    import fcntl
    import struct
    import termios

    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 30, 100, 0, 0))
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        cmd, stdin=slave, stdout=slave, stderr=slave, env=env, cwd=cwd, start_new_session=True
    )
    os.close(slave)
    try:
        while True:
            try:
                if not os.read(master, 65536):
                    break
            except OSError:  # EIO: the child closed the pty
                break
        proc.wait(timeout=60)
    finally:
        os.close(master)
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    elapsed = time.perf_counter() - t0
    if proc.returncode not in ok_codes:
        raise RuntimeError(f"{cmd[:3]} exited {proc.returncode}")
    return elapsed


def first_frame_row(n: int = STARTS) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as d:
        work = Path(d)
        checklist = work / "c.toml"
        checklist.write_text(BIG_OUTPUT)
        bare = work / "bare.py"
        bare.write_text(BARE_APP)
        env = {
            **os.environ,
            "TERM": "xterm-256color",
            "ANNOTUI_EXIT_AFTER_FIRST_FRAME": "1",
            "XDG_STATE_HOME": str(work / "state"),
            "XDG_CACHE_HOME": str(work / "cache"),  # the warm-up run validates and caches
        }
        # the `annotui` command as installed beside this interpreter (what an operator runs;
        # `python -m annotui.cli` would add runpy's work), else the module
        script = Path(sys.executable).parent / "annotui"
        command = [str(script)] if script.is_file() else [sys.executable, "-m", "annotui.cli"]
        cockpit = [
            *command,
            "run",
            str(checklist),
            "--audit",
            str(work / "a.jsonl"),
        ]
        baseline = [sys.executable, str(bare)]
        ours: list[float] = []
        theirs: list[float] = []
        _time_on_pty(baseline, env, work)  # warm the file cache for both
        _time_on_pty(cockpit, env, work, (0, 3))
        for _ in range(n):  # interleaved, so load on the machine hits both alike
            theirs.append(_time_on_pty(baseline, env, work))
            ours.append(_time_on_pty(cockpit, env, work, (0, 3)))
    a, b = statistics.median(ours), statistics.median(theirs)
    ratio = START_RATIO * b / a
    return row(
        name="start to first frame (median)",
        annotui=a,
        baseline=b,
        unit="s",
        target="<= 1.25x bare Textual",
        ok=a <= START_RATIO * b,
        ratio=ratio,
        note=f"{n} runs each on a pty: annotui {a * 1000:.0f} ms vs bare Textual app "
        f"{b * 1000:.0f} ms = {a / b:.2f}x",
    )


def run() -> list[dict[str, Any]]:
    return [keypress_row(), first_frame_row()]


if __name__ == "__main__":
    for row in run():
        print(row)
