"""The reviewer's viewer on a 1,000,000-event log, against the viewer before its virtual timeline.

The log is bench_audit's (the real writer, ~465 MB). `viewer_probe.py` opens it headless at
80x24 in a subprocess, once with this tree's `screens` and once with the tree of BASELINE_COMMIT
(`git archive` of its `screens` put first on PYTHONPATH; `annotui` is this tree's in both), one
after the other in the same run. Budgets (issue 16): the first screen (a frame with the
timeline's rows) within 1 s; scrolling and filtering keys answered within 100 ms.

Run: `python bench/bench_viewer.py` (or through bench/run.py).
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tarfile
import tempfile
from io import BytesIO
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_audit import generate
from rows import row

ROOT = Path(__file__).resolve().parent.parent
PROBE = Path(__file__).resolve().parent / "viewer_probe.py"
BASELINE_COMMIT = "7a4d041"
"""The last tree with the DataTable timeline (one row object per record, built as read)."""
EVENTS = 1_000_000
FIRST_SCREEN = 1.0
KEY_BUDGET = 0.100
LIMIT = 120.0
"""Seconds either viewer is given to index the whole log."""


def _baseline_tree(where: Path) -> Path:
    data = subprocess.run(
        ["git", "-C", str(ROOT), "archive", BASELINE_COMMIT, "screens"],
        capture_output=True,
        check=True,
    ).stdout
    with tarfile.open(fileobj=BytesIO(data)) as tar:
        tar.extractall(where, filter="data")
    return where


def _probe(log: Path, pythonpath: Path | None) -> dict[str, Any]:
    env = dict(os.environ)
    if pythonpath is not None:
        env["PYTHONPATH"] = str(pythonpath)
    done = subprocess.run(
        [sys.executable, str(PROBE), str(log), "--limit", str(LIMIT)],
        capture_output=True,
        text=True,
        env=env,
        cwd=log.parent,
        timeout=LIMIT + 200,
    )
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if not lines:
        raise RuntimeError(f"viewer probe failed: {done.stderr[-2000:]}")
    result: dict[str, Any] = json.loads(lines[-1])
    return result


def _p95(values: list[float | None]) -> float:
    """p95 of the answered presses; an unanswered press (over 10 s) counts as infinite."""
    done = sorted(v if v is not None else float("inf") for v in values)
    return done[min(len(done) - 1, int(0.95 * len(done)))] if done else float("nan")


def _median(values: list[float | None]) -> float:
    return statistics.median([v for v in values if v is not None] or [0.0])


def _s(value: float | None) -> str:
    return "not within the limit" if value is None else f"{value:.2f} s"


def run() -> list[dict[str, Any]]:
    with tempfile.TemporaryDirectory(prefix="bench-viewer-") as tmp:
        log = Path(tmp) / "audit.jsonl"
        generate(log, EVENTS)
        os.sync()
        old_tree = _baseline_tree(Path(tmp) / "baseline")
        new = _probe(log, None)
        old = _probe(log, old_tree)
    first_new, first_old = new["first_screen"], old["first_screen"]
    loading_new, loading_old = _p95(new["keys"]["loading"]), _p95(old["keys"]["loading"])
    after = new["keys"]["indexed"]
    common = (
        f"headless 80x24, {EVENTS:,} events ({new['rows']:,} timeline rows); baseline = "
        f"the viewer at {BASELINE_COMMIT} (DataTable timeline), same log, same probe"
    )
    return [
        row(
            name="viewer: 1M-event log, first screen with rows",
            annotui=first_new,
            baseline=first_old,
            unit="s",
            ratio=first_old / first_new,
            target=f"<= {FIRST_SCREEN:g} s",
            ok=first_new <= FIRST_SCREEN,
            note=f"{common}; whole log indexed in {_s(new['indexed'])} (baseline "
            f"{_s(old['indexed'])}, limit {LIMIT:g} s); peak RSS {new['peak_rss_mb']:.0f} MB "
            f"(baseline {old['peak_rss_mb']:.0f} MB)",
        ),
        row(
            name="viewer: 1M-event log, keys while indexing (p95)",
            annotui=loading_new,
            baseline=loading_old,
            unit="s",
            ratio=loading_old / loading_new,
            target=f"<= {KEY_BUDGET * 1000:g} ms",
            ok=loading_new <= KEY_BUDGET,
            note=f"down/pagedown until the first frame with the cursor moved; "
            f"{len(new['keys']['loading'])} presses (baseline {len(old['keys']['loading'])}, "
            "it stops at the first press not answered in 10 s)",
        ),
        row(
            name="viewer: 1M-event log indexed, keys and a step filter",
            annotui=max(_p95(after), new.get("filter") or float("inf")),
            baseline=max(_p95(old["keys"]["indexed"]), old.get("filter") or float("inf")),
            unit="s",
            ratio=KEY_BUDGET / max(_p95(after), new.get("filter") or float("inf")),
            target=f"<= {KEY_BUDGET * 1000:g} ms",
            ok=_p95(after) <= KEY_BUDGET and (new.get("filter") or 1e9) <= KEY_BUDGET,
            note=f"p95 of {len(after)} scrolling keys {_p95(after) * 1000:.0f} ms (median "
            f"{_median(after) * 1000:.0f} ms); step "
            f"filter 'step-7' ({new.get('filtered_rows', 0):,} rows) "
            f"{(new.get('filter') or 0) * 1000:.0f} ms; baseline: "
            + (
                "never finished indexing within the limit"
                if old["indexed"] is None
                else f"filter {(old.get('filter') or 0) * 1000:.0f} ms"
            ),
        ),
    ]


if __name__ == "__main__":
    for r in run():
        print(r)
