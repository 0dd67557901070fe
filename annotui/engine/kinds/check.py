"""The `check` step: a read-only shell command whose result is judged (exit code, expect).

It runs like a command (:mod:`annotui.engine.kinds.command`) and for real in rehearsal too: it
changes nothing, so the plan never simulates it.
"""

from __future__ import annotations

from annotui.engine.kinds.command import ShellKind

KIND = ShellKind("check")
