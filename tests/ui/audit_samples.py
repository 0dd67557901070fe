"""Deterministic audit logs for the viewer's tests, sealed with the real chain functions.

Fixed timestamps and content, so snapshots are stable; the hash chain is the one
`annotui.audit.chain` computes (the same code the writer uses), so `verify` judges them for real.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from annotui.audit.chain import ZERO_HASH, encode_fields, seal

PLAN = [
    {
        "key": "prepare",
        "title": "Prepare",
        "steps": [
            {"key": "prepare/check-disk", "id": "check-disk", "title": "Check free disk space"},
            {"key": "prepare/changelog", "id": "changelog", "title": "Review the changelog"},
        ],
    },
    {
        "key": "deploy[staging]",
        "title": "Deploy to staging",
        "steps": [
            {"key": "deploy[staging]/stop-anno", "id": "stop-anno", "title": "Stop anno"},
            {"key": "deploy[staging]/migrate", "id": "migrate", "title": "Run migrations"},
            {"key": "deploy[staging]/smoke", "id": "smoke", "title": "Smoke test"},
        ],
    },
]


def _shown(key: str, title: str, kind: str, command: str | None, **extra: Any) -> dict[str, Any]:
    stage, step_id = key.rsplit("/", 1)
    fields: dict[str, Any] = {
        "step_key": key,
        "stage_key": stage,
        "step_id": step_id,
        "kind": kind,
        "title": title,
        "host": "tsd" if command else None,
        "cwd": "/srv/anno" if command else None,
        "command": command,
        "changes": False,
        "critical": False,
        "confirm": "yes",
        "confirm_word": None,
        "simulated": False,
    }
    fields.update(extra)
    return {"event": "step.shown", **fields}


def sample_events() -> list[dict[str, Any]]:
    """A short staging release: checks, evidence, a supervisor stop, a failed migration, a skip."""
    migrate_out = [f"applying migration {i:04d}_anno" for i in range(1, 41)]
    return [
        {
            "event": "session.start",
            "checklist_path": "checklists/anno-release.toml",
            "checklist_sha256": "5" * 64,
            "checklist_id": "anno-release",
            "checklist_title": "Release and deployment of the anno system",
            "checklist_version": "2026.1",
            "operator": "alice",
            "ssh_connection": "10.0.0.5 50022 10.0.0.1 22",
            "host": "jump1",
            "annotui_version": "0.1.0",
            "mode": "live",
            "argv": ["run", "anno-release"],
        },
        {"event": "var.set", "name": "release", "value": "v2.4.1", "source": "cli"},
        {"event": "var.set", "name": "api_token", "value": "***", "source": "env", "secret": True},
        {"event": "run.plan", "stages": PLAN},
        {
            "event": "stage.start",
            "stage_key": "prepare",
            "title": "Prepare",
            "index": 1,
            "total": 2,
        },
        _shown("prepare/check-disk", "Check free disk space", "check", "df -h /srv"),
        {
            "event": "step.confirmed",
            "step_key": "prepare/check-disk",
            "operator": "alice",
            "word": None,
            "auto": True,
        },
        {
            "event": "step.started",
            "step_key": "prepare/check-disk",
            "simulated": False,
            "attempt": 1,
        },
        {
            "event": "step.output",
            "step_key": "prepare/check-disk",
            "stream": "stdout",
            "text": "Filesystem Size Used Avail Use% Mounted on\n/dev/sda1 100G 41G 59G 41% /srv",
        },
        {
            "event": "step.finished",
            "step_key": "prepare/check-disk",
            "outcome": "ok",
            "exit_code": 0,
            "duration": 0.04,
            "expectation": "exit 0 as expected",
            "message": None,
        },
        _shown("prepare/changelog", "Review the changelog", "manual", None),
        {
            "event": "step.evidence",
            "step_key": "prepare/changelog",
            "prompt": "Link to the PR",
            "text": "changelog reviewed in PR #812",
            "operator": "alice",
        },
        {
            "event": "step.finished",
            "step_key": "prepare/changelog",
            "outcome": "done",
            "exit_code": None,
            "duration": 0.0,
            "expectation": None,
            "message": None,
        },
        {"event": "stage.end", "stage_key": "prepare", "outcome": "ok"},
        {
            "event": "stage.start",
            "stage_key": "deploy[staging]",
            "title": "Deploy to staging",
            "index": 2,
            "total": 2,
        },
        _shown(
            "deploy[staging]/stop-anno",
            "Stop anno",
            "supervisor",
            "supervisorctl stop anno:*",
            critical=True,
            confirm="typed",
            confirm_word="staging",
            changes=True,
        ),
        {
            "event": "step.confirmed",
            "step_key": "deploy[staging]/stop-anno",
            "operator": "alice",
            "word": "staging",
            "auto": False,
        },
        {
            "event": "supervisor.state",
            "step_key": "deploy[staging]/stop-anno",
            "supervisor": "anno",
            "when": "before",
            "processes": {"anno:web": "RUNNING"},
        },
        {
            "event": "step.started",
            "step_key": "deploy[staging]/stop-anno",
            "simulated": False,
            "attempt": 1,
        },
        {
            "event": "step.finished",
            "step_key": "deploy[staging]/stop-anno",
            "outcome": "ok",
            "exit_code": None,
            "duration": 1.52,
            "expectation": "anno:web STOPPED as expected",
            "message": None,
        },
        {
            "event": "supervisor.state",
            "step_key": "deploy[staging]/stop-anno",
            "supervisor": "anno",
            "when": "after",
            "processes": {"anno:web": "STOPPED"},
        },
        _shown(
            "deploy[staging]/migrate",
            "Run migrations",
            "command",
            "./manage.py migrate",
            changes=True,
        ),
        {
            "event": "step.confirmed",
            "step_key": "deploy[staging]/migrate",
            "operator": "alice",
            "word": None,
            "auto": False,
        },
        {
            "event": "step.started",
            "step_key": "deploy[staging]/migrate",
            "simulated": False,
            "attempt": 1,
        },
        {
            "event": "step.output",
            "step_key": "deploy[staging]/migrate",
            "stream": "stdout",
            "text": "\n".join(migrate_out[:20]),
        },
        {
            "event": "step.output",
            "step_key": "deploy[staging]/migrate",
            "stream": "stdout",
            "text": "\n".join(migrate_out[20:]),
        },
        {
            "event": "step.output",
            "step_key": "deploy[staging]/migrate",
            "stream": "stderr",
            "text": "error: relation anno_jobs already exists",
        },
        {
            "event": "step.finished",
            "step_key": "deploy[staging]/migrate",
            "outcome": "failed",
            "exit_code": 1,
            "duration": 3.2,
            "expectation": "expected exit 0, got 1",
            "message": None,
        },
        _shown("deploy[staging]/smoke", "Smoke test", "command", "curl -fsS localhost:8080/health"),
        {
            "event": "step.skipped",
            "step_key": "deploy[staging]/smoke",
            "reason": "migration failed; rolled back by hand",
            "operator": "alice",
        },
        {"event": "stage.end", "stage_key": "deploy[staging]", "outcome": "failed"},
        {
            "event": "session.end",
            "outcome": "failed",
            "exit_code": 1,
            "steps_total": 5,
            "steps_ok": 3,
            "steps_skipped": 1,
        },
    ]


def ts_for(seq: int) -> str:
    return f"2026-03-02T09:{seq // 60:02d}:{seq % 60:02d}.000000Z"


def sealed_lines(
    events: list[dict[str, Any]], start_seq: int = 0, prev: str = ZERO_HASH
) -> tuple[list[bytes], str]:
    """The sealed lines of ``events`` (seq from ``start_seq``) and the last hash."""
    lines: list[bytes] = []
    for i, rec in enumerate(events):
        seq = start_seq + i
        fields = {k: v for k, v in rec.items() if k != "event"}
        pieces, prev = seal(seq, ts_for(seq), rec["event"], encode_fields(fields), prev)
        lines.append(b"".join(pieces))
    return lines, prev


def write_sample(path: Path, events: list[dict[str, Any]] | None = None) -> str:
    """Write a sealed sample log; return its final hash."""
    lines, last = sealed_lines(events if events is not None else sample_events())
    path.write_bytes(b"".join(lines))
    return last
