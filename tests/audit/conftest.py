"""A realistic audit log written by the real writer, used across the audit tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from annotui import events as ev
from annotui.audit.writer import AuditWriter

SECRET = "s3cr3t-Pa55"
STAGING = "deploy[staging]"


def header() -> ev.SessionStarted:
    return ev.SessionStarted(
        checklist_path="/home/alice/anno-release.toml",
        checklist_sha256="ab" * 32,
        checklist_id="anno-release",
        checklist_title="Release and deployment of the anno system",
        checklist_version="2026.1",
        operator="alice",
        ssh_connection="10.0.0.5 52144 10.0.0.9 22",
        host="jump1",
        annotui_version="0.1.0",
        mode="live",
        argv=["run", "anno-release"],
    )


def planned(
    stage: str,
    step_id: str,
    title: str,
    kind: str,
    host: str | None = None,
    command: str | None = None,
    *,
    mutating: bool = False,
    critical: bool = False,
    confirm_word: str | None = None,
) -> dict[str, object]:
    """One step of a `run.plan` record, as the session writes it."""
    return {
        "key": f"{stage}/{step_id}",
        "id": step_id,
        "title": title,
        "kind": kind,
        "host": host,
        "cwd": None,
        "command": command,
        "mutating": mutating,
        "critical": critical,
        "confirm_word": confirm_word,
    }


PLAN = [
    {
        "key": STAGING,
        "title": "Deploy to staging",
        "steps": [
            planned(STAGING, "no-jobs", "No analyses running", "gate", None, "active_jobs == 0"),
            planned(STAGING, "stop-anno", "Stop anno", "supervisor", "supervisor:anno",
                    "stop anno-staging:*", mutating=True, critical=True, confirm_word="staging"),
            planned(STAGING, "image-perms", "Image permissions", "check", "tsd",
                    "stat -L -c %a anno.sif"),
            planned(STAGING, "release-issue", "Release issue", "manual"),
            planned(STAGING, "notify", "Notify | users", "announce"),
        ],
    },
    {
        "key": "deploy[prod]",
        "title": "Deploy to prod",
        "steps": [
            planned("deploy[prod]", "stop-anno", "Stop anno", "supervisor", "supervisor:anno",
                    "stop anno-prod:*", mutating=True, critical=True, confirm_word="prod"),
        ],
    },
]  # fmt: skip


def shown(key: str, kind: str, command: str | None) -> ev.StepShown:
    return ev.StepShown(
        key,
        STAGING,
        key.rsplit("/", 1)[1],
        kind,
        "t",
        "tsd",
        None,
        command,
        False,
        False,
        "yes",
        None,
        False,
    )


def write_run(w: AuditWriter, *, output_lines: int = 5, end: bool = True) -> None:
    """A run of the staging stage: gate, supervisor stop (typed), a failing check, a manual step
    with evidence, a skipped step; prod is planned and never reached."""
    w(header())
    w(ev.VarSet("release", "v2.4.1", "cli"))
    w(ev.VarSet("supervisor_password", "***", "env", secret=True))
    w(ev.RunPlanned(PLAN))
    w(ev.StageStarted(STAGING, "Deploy to staging", 1, 2))
    k = f"{STAGING}/no-jobs"
    w(shown(k, "gate", None))
    w(ev.StepConfirmed(k, "alice", auto=True))
    w(ev.StepStarted(k))
    w(ev.GateEvaluated(k, "active_jobs", 3, False, 0, 2))
    w(ev.GateEvaluated(k, "active_jobs", 0, True, 2, 2))
    w(ev.StepFinished(k, "ok", None, 10.0))
    k = f"{STAGING}/stop-anno"
    w(shown(k, "supervisor", "stop anno-staging:*"))
    w(ev.StepConfirmed(k, "alice", word="staging"))
    w(ev.StepStarted(k))
    w(ev.SupervisorState(k, "anno", "before", {"anno-staging:web": "RUNNING"}))
    w(ev.SupervisorState(k, "anno", "after", {"anno-staging:web": "STOPPED"}))
    w(ev.StepFinished(k, "ok", None, 1.5))
    k = f"{STAGING}/image-perms"
    w(shown(k, "check", "stat -L -c %a anno.sif"))
    w(ev.StepConfirmed(k, "alice"))
    w(ev.StepStarted(k))
    for i in range(0, output_lines, 1000):
        n = min(1000, output_lines - i)
        w(ev.StepOutput(k, "stdout", "\n".join(f"out line {j}" for j in range(i, i + n))))
    w(ev.StepOutput(k, "stderr", "stat: warning <b>&amp;</b>"))
    w(ev.StepFinished(k, "failed", 0, 0.25, "expected mode at least 774, got 770"))
    k = f"{STAGING}/release-issue"
    w(shown(k, "manual", None))
    w(ev.StepConfirmed(k, "alice"))
    w(ev.EvidenceRecorded(k, "Release issue URL", "https://example.org/issues/42", "alice"))
    w(ev.StepFinished(k, "done", None, 30.0))
    w(ev.StepSkipped(f"{STAGING}/notify", "users were told in the standup", "alice"))
    w(ev.StageFinished(STAGING, "failed"))
    w(ev.Sealed(w.seal_text()))  # the stage's seal, as the session writes it
    if end:
        w(ev.SessionEnded("failed", 1, 6, 3, 1))
        w(ev.Sealed(w.seal_text()))  # the final seal


@pytest.fixture
def log(tmp_path: Path) -> Path:
    path = tmp_path / "audit.jsonl"
    with AuditWriter.create(path) as w:
        write_run(w)
    return path
