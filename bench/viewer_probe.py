"""One reviewer's viewer (`ReviewApp`) opening one log, headless at 80x24; prints JSON timings.

Run by bench_ui's viewer row as a subprocess, once with this tree's `screens` and once with an
older tree's (PYTHONPATH puts its `screens` first), so that both are timed the same way:

- first screen: from constructing the app (imports done) to the first frame handed to the
  terminal (the app's `_display`) in which the timeline is visible with rows in it;
- keys: `down`, `pagedown` and `end` pressed while the log is still being indexed and again
  after, each until the first frame whose cursor row differs from before the press;
- filter: typing a step filter (the Input's value set, as a keystroke sets it) until the first
  frame whose row count differs;
- indexed: until the viewer has read the log to its end (capped by ``--limit`` seconds);
- peak RSS (ru_maxrss).

Usage: python bench/viewer_probe.py LOG [--limit SECONDS]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import time
from pathlib import Path
from typing import Any

Frames = list[tuple[float, int, int]]


def _hook(app: Any, frames: Frames, timeline_type: type) -> None:
    """Record every frame handed to the terminal: (time, timeline rows, cursor row)."""
    display = app._display

    def hooked(screen: Any, renderable: Any) -> None:
        display(screen, renderable)
        if renderable is None:
            return
        for table in screen.query(timeline_type):
            if table in screen._compositor.visible_widgets:
                frames.append((time.perf_counter(), table.row_count, table.cursor_row))

    app._display = hooked


async def _answer(frames: Frames, t0: float, done: Any, timeout: float = 10.0) -> float | None:
    while True:
        for when, rows, cursor in list(frames):
            if when >= t0 and done(rows, cursor):
                return when - t0
        if time.perf_counter() - t0 > timeout:
            return None
        await asyncio.sleep(0.0005)


async def _press(app: Any, frames: Frames, table: Any, key: str) -> float | None:
    before = table.cursor_row
    if key == "end" and before >= table.row_count - 1:
        return None
    t0 = time.perf_counter()
    app.simulate_key(key)
    return await _answer(frames, t0, lambda _rows, cursor: cursor != before)


async def probe(log: Path, limit: float) -> None:
    from textual.widgets import Input

    from screens.audit_viewer import AuditViewerScreen, ReviewApp
    from screens.widgets.timeline import Timeline

    t0 = time.perf_counter()
    app = ReviewApp(log, poll=3600)
    frames: Frames = []
    out: dict[str, Any] = {}
    _hook(app, frames, Timeline)
    async with app.run_test(size=(80, 24)) as pilot:
        while not isinstance(app.screen, AuditViewerScreen):
            await asyncio.sleep(0.001)
        screen = app.screen
        table = screen.query_one(Timeline)
        first = await _answer(frames, t0, lambda rows, _c: rows > 0, timeout=limit)
        out["first_screen"] = first
        keys: dict[str, list[float | None]] = {"loading": [], "indexed": []}
        for key in ("down", "pagedown") * 5 if first is not None else ():
            if screen._caught_up:
                break
            keys["loading"].append(answered := await _press(app, frames, table, key))
            if answered is None:  # not answered within 10 s: the rest would not be either
                break
            await asyncio.sleep(0.05)
        while not screen._caught_up and time.perf_counter() - t0 < limit:
            await asyncio.sleep(0.05)
        out["indexed"] = time.perf_counter() - t0 if screen._caught_up else None
        out["rows"] = table.row_count
        if screen._caught_up:
            await pilot.pause(0.2)
            for key in ("down", "pagedown", "down", "pagedown", "up", "pageup", "pagedown"):
                keys["indexed"].append(await _press(app, frames, table, key))
                await asyncio.sleep(0.05)
            before = table.row_count
            t1 = time.perf_counter()
            screen.query_one("#f-step", Input).value = "step-7"
            out["filter"] = await _answer(frames, t1, lambda rows, _c: rows != before)
            out["filtered_rows"] = table.row_count
        out["keys"] = keys
        out["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        # a thread worker cannot be cancelled: an index still being built would hold the app's
        # exit until it ends, so the answer is printed here and the process ends at once
        print(json.dumps(out), flush=True)
        os._exit(0)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("log", type=Path)
    parser.add_argument("--limit", type=float, default=120.0)
    args = parser.parse_args()
    asyncio.run(probe(args.log, args.limit))


if __name__ == "__main__":
    main()
