"""The row every benchmark reports (see bench/run.py for the table)."""

from __future__ import annotations

from typing import Any


def row(
    *, name: str, annotui: float, baseline: float, unit: str, ratio: float, target: str,
    ok: bool, note: str,
) -> dict[str, Any]:  # fmt: skip
    return {
        "name": name,
        "annotui": annotui,
        "baseline": baseline,
        "unit": unit,
        "ratio": ratio,
        "target": target,
        "ok": ok,
        "note": note,
    }
