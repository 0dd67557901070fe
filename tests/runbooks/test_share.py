"""docs/runbooks.md's native/shell/prose table is what bench/runbook_share.py measures on the
checklists as they are."""

from __future__ import annotations

import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "bench"))
import runbook_share  # noqa: E402


def test_the_documented_shares_are_measured() -> None:
    doc = (REPO / "docs" / "runbooks.md").read_text()
    assert runbook_share.table(runbook_share.RUNBOOKS) in doc
    bundled = ["anno-release", "anno-review", "multiomix-deploy", "mgnify-deploy"]
    assert runbook_share.table(bundled) in doc


def test_a_step_running_as_another_user_was_shell_before() -> None:
    data = {
        "hosts": {"db": {"ssh": "local", "user": "postgres"}},
        "stages": [
            {
                "id": "s",
                "steps": [
                    {"id": "a", "kind": "command", "host": "db", "run": "pg_ctl stop"},
                    {"id": "b", "kind": "command", "run": "true"},
                    {"id": "c", "kind": "check", "run": "a || b"},
                    {"id": "d", "kind": "manual"},
                ],
                "rollback": [{"id": "r", "kind": "command", "run": "true"}],
            }
        ],
    }
    assert runbook_share.classify(data) == [
        ("s/a", "native", "shell"),
        ("s/b", "native", "native"),
        ("s/c", "shell", "shell"),
        ("s/d", "prose", "prose"),
        ("s/rollback/r", "native", "prose"),
    ]
