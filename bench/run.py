"""Run every benchmark (bench/bench_*.py, each with `run() -> list[dict]`) and print one table.

Usage: python bench/run.py [AREA ...]     e.g. `python bench/run.py engine audit`
Baselines are measured side by side with annotui in the same run; the ratio is what counts.
"""

from __future__ import annotations

import compileall
import importlib.util
import os
import sys
import traceback
from pathlib import Path

HERE = Path(__file__).parent


def load(path: Path):
    spec = importlib.util.spec_from_file_location(path.stem, path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.path.insert(0, str(HERE))
    spec.loader.exec_module(module)
    return module


def compile_like_an_install() -> None:
    """Bytecode for annotui as `pip install` leaves it. With PYTHONDONTWRITEBYTECODE set (as in
    some shells and CI), every annotui subprocess would recompile our modules on each start while
    the baselines' packages (textual, ansible) run from their installed .pyc files."""
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
    root = HERE.parent
    for package in ("annotui", "screens"):
        compileall.compile_dir(root / package, quiet=1)


def main(areas: list[str]) -> int:
    compile_like_an_install()
    rows: list[dict] = []
    # the audit bench last: it writes and deletes half a GB, and on this ext4 (mounted with
    # discard) every fsync stays slow for a while afterwards, which the engine bench measures
    for path in sorted(HERE.glob("bench_*.py"), key=lambda p: (p.stem == "bench_audit", p.stem)):
        area = path.stem.removeprefix("bench_")
        if areas and area not in areas:
            continue
        print(f"running {path.name} ...", file=sys.stderr, flush=True)
        try:
            rows += load(path).run()
        except Exception:
            traceback.print_exc()
            rows.append({"name": f"{area}: FAILED TO RUN", "ok": False})
        # the next bench must not pay for this one's writeback: the audit bench leaves ~0.5 GB
        # of dirty pages, and every fsync of the engine bench then waited for them
        os.sync()
    print("| benchmark | annotui | baseline | ratio | target | ok | note |")
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        unit = r.get("unit", "")
        a = f"{r['annotui']:.4g} {unit}" if "annotui" in r else ""
        b = f"{r['baseline']:.4g} {unit}" if "baseline" in r else ""
        ratio = f"{r['ratio']:.2f}x" if "ratio" in r else ""
        ok = "yes" if r.get("ok") else "NO"
        print(
            f"| {r['name']} | {a} | {b} | {ratio} | {r.get('target', '')} | {ok} | "
            f"{r.get('note', '')} |"
        )
    return 0 if all(r.get("ok") for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
