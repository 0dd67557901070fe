"""Reading an audit log: streaming records, and the state of a run for ``--resume``."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from annotui.audit.errors import AuditError
from annotui.audit.lines import Lines
from annotui.audit.shape import RecordError, check


def read_records(path: Path | str) -> Iterator[dict[str, Any]]:
    """Every record of the log, in order, streamed with bounded memory.

    Lines that are not a JSON object (a torn tail, damage, nesting too deep to parse) are
    skipped: judging integrity is ``verify``'s job, and it names them. A record is not checked
    for its fields: a reader does that with ``annotui.audit.shape.problem`` before using it.
    Raises AuditError when the file cannot be read.
    """
    path = Path(path)
    try:
        f = open(path, "rb")  # noqa: SIM115 - closed by the with below, inside the generator
    except OSError as e:
        raise AuditError(f"cannot read {path}: {e.strerror}") from None
    with f:
        for line in Lines(f):
            try:
                record = json.loads(line)
            except (ValueError, RecursionError):
                continue
            if isinstance(record, dict):
                yield record


@dataclass(slots=True)
class StepHeader:
    """What the log says a step is: from its `run.plan` entry, then its `step.shown` record."""

    key: str
    stage_key: str
    title: str = ""
    kind: str = ""
    host: str | None = None
    cwd: str | None = None
    command: str | None = None
    critical: bool = False

    def take(self, rec: dict[str, Any]) -> None:
        """Take what a plan entry or a step.shown record says (a later record wins; fields it
        does not carry, or carry with a wrong type, keep their value: see ``shape.problem``)."""
        self.title = str(rec.get("title") or self.title)
        self.kind = str(rec.get("kind") or self.kind)
        self.host = _str_or_none(rec, "host", self.host)
        self.cwd = _str_or_none(rec, "cwd", self.cwd)
        self.command = _str_or_none(rec, "command", self.command)
        self.critical = bool(rec.get("critical", self.critical))


def _str_or_none(rec: dict[str, Any], name: str, default: str | None) -> str | None:
    value = rec.get(name, default)
    return value if value is None or isinstance(value, str) else default


@dataclass(slots=True)
class RunState:
    """What a log says about its run, for resuming it."""

    header: dict[str, Any]
    """The session.start record's fields (checklist_path, checklist_sha256, operator, mode...)."""
    vars: dict[str, str] = field(default_factory=dict)
    """Last value of each var.set; secrets are '***' (re-resolve them from env or a prompt)."""
    secret_vars: set[str] = field(default_factory=set)
    finished: dict[str, str] = field(default_factory=dict)
    """step_key -> outcome of its last step.finished ('skipped' for step.skipped)."""
    unknown: list[str] = field(default_factory=list)
    """Steps that started (or were marked step.unknown) and never finished nor were skipped."""
    spawned: dict[str, tuple[str, int]] = field(default_factory=dict)
    """step_key -> (host, process group) of the command of its last attempt, for the steps
    whose outcome is unknown (no finish, or finished ``unknown``): it may still be running."""
    spawned_as: dict[str, tuple[int | None, str | None]] = field(default_factory=dict)
    """step_key -> (leader's start time, boot id) of each `spawned` group, as recorded (None
    each in a log written before they were)."""
    plan: list[dict[str, Any]] = field(default_factory=list)
    """The stages of the last run.plan event."""
    captured: dict[str, tuple[str, str, bool]] = field(default_factory=dict)
    """Captured name -> (value as recorded, step_key, secret) of its last step.captured (a
    secret's value is '***': it is never written)."""
    ended: bool = False
    """A session.end record closes the log (the run is over)."""
    torn_tail: str | None = None
    """The torn last line, verbatim (undecodable bytes backslash-escaped), if any."""
    records: int = 0
    last_hash: str | None = None


def _apply(state: RunState, open_steps: dict[str, None], rec: dict[str, Any]) -> None:
    """Apply one record (``shape.check`` passed: a step event has a string step_key)."""
    event = rec.get("event")
    key: str = rec.get("step_key") or ""
    if event == "var.set":
        state.vars[rec["name"]] = rec["value"]
        if rec.get("secret"):
            state.secret_vars.add(rec["name"])
    elif event == "run.plan":
        state.plan = rec["stages"]
    elif event in ("step.started", "step.unknown"):
        state.finished.pop(key, None)
        open_steps[key] = None
        if event == "step.started":
            state.spawned.pop(key, None)
            state.spawned_as.pop(key, None)
    elif event == "step.spawned":
        state.spawned[key] = (rec["host"], rec["pgid"])
        state.spawned_as[key] = (rec.get("starttime"), rec.get("boot_id"))
    elif event == "step.captured":
        state.captured[rec["name"]] = (rec["value"], key, bool(rec.get("secret")))
    elif event == "step.finished":
        state.finished[key] = rec["outcome"]
        open_steps.pop(key, None)
        if rec["outcome"] != "unknown":
            state.spawned.pop(key, None)
            state.spawned_as.pop(key, None)
    elif event == "step.skipped":
        state.finished[key] = "skipped"
        open_steps.pop(key, None)
        state.spawned.pop(key, None)
        state.spawned_as.pop(key, None)
    elif event == "session.end":
        state.ended = True
    elif event == "session.resume":
        state.ended = False


def load_run_state(path: Path | str) -> RunState:
    """Rebuild a run's state from its log (streamed). Raises AuditError if the log cannot be read,
    does not start with session.start, or holds a line that is not a record or a record without
    the fields resume needs (``shape.RecordError``: its seq, the field, what was expected)."""
    path = Path(path)
    try:
        f = open(path, "rb")  # noqa: SIM115 - closed by the with below
    except OSError as e:
        raise AuditError(f"cannot read {path}: {e.strerror}") from None
    state: RunState | None = None
    open_steps: dict[str, None] = {}  # insertion-ordered set
    with f:
        lines = Lines(f)
        pending: bytes | None = None
        for line in lines:
            if pending is not None:
                state = _take(path, state, open_steps, pending, last=False)
            pending = line
        if pending is not None:
            state = _take(path, state, open_steps, pending, last=not lines.tail)
        if state is not None and lines.tail:
            state.torn_tail = lines.tail.decode("utf-8", "backslashreplace")
    if state is None:
        raise AuditError(f"{path} has no session.start record: not an annotui audit log")
    state.unknown = list(open_steps)
    return state


def _take(
    path: Path, state: RunState | None, open_steps: dict[str, None], line: bytes, *, last: bool
) -> RunState | None:
    try:
        rec = json.loads(line)
        if not isinstance(rec, dict):
            raise ValueError("not an object")
    except (ValueError, RecursionError):
        if last and state is not None:
            state.torn_tail = line.decode("utf-8", "backslashreplace")
            return state
        raise AuditError(
            f"{path}: a line is not a JSON record; run `annotui audit verify`"
        ) from None
    try:
        check(rec)
    except RecordError as e:
        raise AuditError(f"{path}: {e}; cannot resume from this log") from None
    if state is None:
        if rec.get("event") != "session.start":
            raise AuditError(f"{path}: the first record is not session.start")
        header = {k: v for k, v in rec.items() if k not in ("seq", "prev", "hash")}
        state = RunState(header=header)
    _apply(state, open_steps, rec)
    state.records += 1
    digest = rec.get("hash")
    state.last_hash = digest if isinstance(digest, str) else None
    return state


def output_lines(record: dict[str, Any]) -> list[str]:
    """The lines of a `step.output` record (its `text` is whole lines joined by newlines)."""
    text = record.get("text")
    return [] if text is None else str(text).split("\n")
