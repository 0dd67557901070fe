"""Step kinds as plug-ins: one module per kind, each exporting ``KIND`` (a :class:`StepKind`).

The session, the plan and every presenter reach a kind through :func:`step_kind`, never through
``if kind == ...``. A kind's module is imported the first time a step of that kind is planned,
so a run pays only for the kinds its checklist uses (a supervisor step brings httpx, a gate the
probe runner). Adding a kind is one module here, its model in ``annotui.checklist.models`` and
its section in docs/checklist-format.md.
"""

from __future__ import annotations

import importlib
from functools import cache

from annotui.engine.kinds.base import Shown, StepKind

__all__ = ["Shown", "StepKind", "step_kind"]


@cache
def step_kind(name: str) -> StepKind:
    """The plug-in of a step kind (``command``, ``gate``, ...), by its ``kind`` value."""
    module = importlib.import_module(f"{__name__}.{name}")
    kind: StepKind = module.KIND
    return kind
