"""How much of each runbook checklist is native annotui, shell standing in for the language, or
prose: after issue 13 (as written) and before it (the same steps in the language without `user`,
`when`, `capture`, `retries`, `http`, step `for_each`, `signal` and `[[stages.rollback]]`).

Every step counts once, rollback steps included. A step is
- prose: a `manual` step (a person reads and acts);
- shell: its `run` holds shell standing in for the language (`sudo`/`su`, `if`, `||`, `&&`,
  `until`/`while`/`for` loops, `$(...)`);
- native: everything else.
Before issue 13 a native step would have been shell when it runs as another user (`sudo -u`
written into it), has a `when` (an `if` around it), uses a captured value (a `$(...)` of the
capturing command inside it), retries (an `until` loop), is an http step (a curl loop) or a
signal (`kill -HUP`); a rollback step would have been prose (what to do on failure, in the
instructions), as would a manual step. Usage: python bench/runbook_share.py [NAME ...]
"""

from __future__ import annotations

import re
import sys
import tomllib
from pathlib import Path
from typing import Any

CHECKLISTS = Path(__file__).resolve().parents[1] / "checklists"
RUNBOOKS = ["postgresql-upgrade", "redis-upgrade"]
SHELL = re.compile(r"\bsudo\b|\bsu\b|\bif\b|\|\||&&|\buntil\b|\bwhile\b|\bfor\b|\$\(")
PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_-]*)\s*\}\}")


def _names(value: Any) -> set[str]:
    if isinstance(value, str):
        return set(PLACEHOLDER.findall(value))
    if isinstance(value, dict):
        return set().union(*map(_names, value.values())) if value else set()
    if isinstance(value, list):
        return set().union(*map(_names, value)) if value else set()
    return set()


def classify(data: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(step key, after, before) for every step."""
    hosts = data.get("hosts", {})
    captured = set()
    for stage in data["stages"]:
        for step in stage["steps"]:
            capture = step.get("capture")
            name = capture.get("name") if isinstance(capture, dict) else capture
            if name:
                captured.add(name)
    rows = []
    for stage in data["stages"]:
        steps = [("steps", s) for s in stage["steps"]]
        steps += [("rollback", s) for s in stage.get("rollback", [])]
        for where, step in steps:
            key = f"{stage['id']}/" + ("rollback/" if where == "rollback" else "") + step["id"]
            kind = step["kind"]
            if kind == "manual":
                after = "prose"
            elif SHELL.search(step.get("run", "")):
                after = "shell"
            else:
                after = "native"
            user = step.get("user", hosts.get(step.get("host", ""), {}).get("user"))
            needs_new = (
                (user is not None and kind in ("command", "check"))
                or "when" in step
                or bool(_names({k: v for k, v in step.items() if k != "when"}) & captured)
                or "retries" in step
                or kind == "http"
                or step.get("action") == "signal"
                or "for_each" in step
            )
            if where == "rollback" or after == "prose":
                before = "prose"
            elif after == "shell" or needs_new:
                before = "shell"
            else:
                before = "native"
            rows.append((key, after, before))
    return rows


def share(name: str) -> dict[str, dict[str, int]]:
    data = tomllib.loads((CHECKLISTS / f"{name}.toml").read_text())
    rows = classify(data)
    out: dict[str, dict[str, int]] = {"after": {}, "before": {}}
    for _, after, before in rows:
        out["after"][after] = out["after"].get(after, 0) + 1
        out["before"][before] = out["before"].get(before, 0) + 1
    return out


COLUMNS = [(w, what) for what in ("native", "shell", "prose") for w in ("before", "after")]


def table(names: list[str]) -> str:
    """The Markdown table docs/runbooks.md shows."""
    head = ["checklist", "steps", *(f"{what} {w}" for w, what in COLUMNS)]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for name in names:
        s = share(name)
        total = sum(s["after"].values())
        cells = [name, str(total)]
        for w, what in COLUMNS:
            n = s[w].get(what, 0)
            cells.append(f"{n} ({100 * n / total:.0f}%)")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


if __name__ == "__main__":
    print(table(sys.argv[1:] or RUNBOOKS))
