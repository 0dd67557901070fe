"""The shape every reader of a log needs of a record: which fields it uses, of which JSON type.

A record can pass ``verify`` (its hash is right) and still not be what annotui writes: someone
who computed the hashes, or a bug. Every reader (``audit show``, ``audit report``, the run state
for ``--resume``, the cockpit's viewer) checks a record with ``problem(rec)`` before using it and
treats one that does not fit as malformed: it names the record's seq, the field, what was found
and what was expected, instead of failing on it with a traceback.

Only fields a reader uses are described, as the events define them (``annotui.events``); a field
the event declares with a default may be missing (older logs), others must be there. Records of
an event no reader knows are only checked for ``seq``, ``ts`` and ``event``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from annotui.audit.errors import AuditError
from annotui.text import one_line


@dataclass(frozen=True, slots=True)
class Kind:
    """A JSON type a field must have."""

    expected: str
    """What it must be, as a message says it: 'a string', 'an integer or null'."""
    fits: Callable[[Any], bool]


def _is_str(v: Any) -> bool:
    return isinstance(v, str)


def _is_int(v: Any) -> bool:
    return type(v) is int


def _is_number(v: Any) -> bool:
    return type(v) in (int, float)


def _is_bool(v: Any) -> bool:
    return type(v) is bool


def _or_null(fits: Callable[[Any], bool]) -> Callable[[Any], bool]:
    return lambda v: v is None or fits(v)


STR = Kind("a string", _is_str)
OPT_STR = Kind("a string or null", _or_null(_is_str))
INT = Kind("an integer", _is_int)
OPT_INT = Kind("an integer or null", _or_null(_is_int))
OPT_NUMBER = Kind("a number or null", _or_null(_is_number))
BOOL = Kind("true or false", _is_bool)
LIST_STR = Kind("a list of strings", lambda v: type(v) is list and all(map(_is_str, v)))
OBJECT_STR = Kind(
    "an object of strings",
    lambda v: type(v) is dict and all(map(_is_str, v.values())),
)
LIST = Kind("a list", lambda v: type(v) is list)
OBJECT = Kind("an object", lambda v: type(v) is dict)


@dataclass(frozen=True, slots=True)
class Field:
    kind: Kind
    required: bool = True


def _req(kind: Kind) -> Field:
    return Field(kind)


def _opt(kind: Kind) -> Field:
    return Field(kind, required=False)


COMMON: dict[str, Field] = {"seq": _req(INT), "ts": _req(STR), "event": _req(STR)}
STEP_HEADER: dict[str, Field] = {
    "title": _opt(STR),
    "kind": _opt(STR),
    "host": _opt(OPT_STR),
    "cwd": _opt(OPT_STR),
    "command": _opt(OPT_STR),
    "critical": _opt(BOOL),
}
"""What ``reader.StepHeader.take`` reads, from a plan entry or a step.shown record."""
PLAN_STAGE: dict[str, Field] = {"key": _req(STR), "title": _opt(STR), "steps": _opt(LIST)}
PLAN_STEP: dict[str, Field] = {"key": _req(STR), **STEP_HEADER}
_STEP = {"step_key": _req(STR)}

EVENTS: dict[str, dict[str, Field]] = {
    "session.start": {
        "checklist_id": _req(STR),
        "checklist_sha256": _req(STR),
        "mode": _req(STR),
    },
    "session.resume": {
        "torn_tail": _opt(OPT_STR),
        "checklist_changed": _opt(BOOL),
        "checklist_sha256": _opt(STR),
        "unknown_steps": _opt(LIST_STR),
    },
    "var.set": {"name": _req(STR), "value": _req(STR), "source": _opt(STR), "secret": _opt(BOOL)},
    "run.plan": {"stages": _req(LIST), "title": _opt(STR)},
    "stage.start": {"stage_key": _req(STR), "title": _opt(STR)},
    "stage.end": {"stage_key": _opt(STR), "outcome": _opt(STR)},
    "step.shown": {**_STEP, **STEP_HEADER, "simulated": _opt(BOOL)},
    "step.confirmed": {
        **_STEP,
        "operator": _req(STR),
        "word": _opt(OPT_STR),
        "auto": _opt(BOOL),
        "how": _opt(OPT_STR),
    },
    "step.started": {**_STEP, "simulated": _opt(BOOL), "attempt": _opt(INT)},
    "step.spawned": {
        **_STEP,
        "host": _req(STR),
        "pgid": _req(INT),
        "starttime": _opt(OPT_INT),
        "boot_id": _opt(OPT_STR),
    },
    "step.output": {**_STEP, "stream": _opt(STR), "text": _req(STR)},
    "step.finished": {
        **_STEP,
        "outcome": _req(STR),
        "exit_code": _opt(OPT_INT),
        "duration": _opt(OPT_NUMBER),
        "expectation": _opt(OPT_STR),
        "message": _opt(OPT_STR),
    },
    "step.skipped": {**_STEP, "reason": _req(STR), "operator": _req(STR)},
    "stage.rollback": {
        "stage_key": _req(STR),
        "phase": _req(STR),
        "step_key": _opt(OPT_STR),
        "outcome": _opt(OPT_STR),
    },
    "step.captured": {**_STEP, "name": _req(STR), "value": _req(STR), "secret": _opt(BOOL)},
    "step.attempt": {
        **_STEP,
        "attempt": _req(INT),
        "attempts": _req(INT),
        "outcome": _req(STR),
        "message": _opt(STR),
    },
    "step.refused": {
        **_STEP,
        "action": _req(STR),
        "reason": _req(STR),
        "operator": _req(STR),
    },
    "step.evidence": {**_STEP, "prompt": _req(STR), "text": _req(STR), "operator": _req(STR)},
    "step.unknown": {**_STEP, "reason": _req(STR)},
    "supervisor.state": {
        **_STEP,
        "supervisor": _req(STR),
        "when": _req(STR),
        "processes": _req(OBJECT_STR),
    },
    "gate.eval": {
        **_STEP,
        "probe": _req(STR),
        "value": _req(OPT_NUMBER),
        "holds": _req(BOOL),
        "streak": _req(INT),
        "needed": _req(INT),
        "error": _opt(OPT_STR),
    },
    "announce": {**_STEP, "text": _req(STR)},
    "session.interrupted": {"reason": _req(STR), "step_key": _opt(OPT_STR)},
    "error": {"message": _req(STR), "step_key": _opt(OPT_STR)},
    "session.end": {
        "outcome": _req(STR),
        "exit_code": _req(INT),
        "steps_total": _req(INT),
        "steps_ok": _req(INT),
        "steps_skipped": _req(INT),
    },
    "seal": {"signed": _req(STR), "signature": _opt(STR), "key": _opt(STR)},
    "approval.wait": {
        **_STEP,
        "approvers": _req(LIST_STR),
        "needed": _req(INT),
        "wait": _req(STR),
        "how": _req(STR),
        "timeout": _opt(OPT_NUMBER),
    },
    "approval.granted": {
        **_STEP,
        "principal": _req(STR),
        "key": _req(STR),
        "note": _req(STR),
        "signed": _req(STR),
        "signature": _req(STR),
    },
    "approval.refused": {**_STEP, "key": _req(STR), "reason": _req(STR)},
    "ansible.task": {**_STEP, "play": _req(STR), "task": _req(STR)},
    "ansible.result": {
        **_STEP,
        "host": _req(STR),
        "task": _req(STR),
        "action": _req(STR),
        "status": _req(STR),
        "duration": _req(OPT_NUMBER),
        "message": _req(STR),
        "event_sha256": _req(STR),
    },
    "ansible.recap": {
        **_STEP,
        "hosts": _req(OBJECT),
        "rc": _req(OPT_INT),
        "status": _req(STR),
        "unfinished": _opt(LIST_STR),
    },
    "notify.send": {
        "notify": _req(INT),
        "on": _req(STR),
        "target": _req(STR),
        "title": _req(STR),
        "body": _req(STR),
        "step_key": _opt(OPT_STR),
    },
    "notify.result": {
        "notify": _req(INT),
        "on": _req(STR),
        "target": _req(STR),
        "status": _req(STR),
        "message": _req(STR),
        "duration": _req(OPT_NUMBER),
    },
}


_TYPE_NAMES: dict[type, str] = {
    str: "a string",
    int: "an integer",
    float: "a number",
    list: "a list",
    dict: "an object",
}


def _type_name(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    return _TYPE_NAMES.get(type(value), type(value).__name__)


class RecordError(AuditError):
    """A record that does not have the shape its readers need; the message names the record's
    seq and event, the field (a path inside a plan: ``stages[0].steps[1].key``), what it holds
    and what it should."""

    def __init__(self, rec: Mapping[str, Any], field: str, expected: str, found: str) -> None:
        self.seq = rec.get("seq")
        self.event = rec.get("event")
        self.field = field
        self.expected = expected
        self.found = found
        seq = self.seq if type(self.seq) is int else one_line(repr(self.seq))
        event = one_line(self.event) if isinstance(self.event, str) else "?"
        super().__init__(
            f"record seq {seq} ({event}): field {one_line(repr(field))} {found}, "
            f"expected {expected}"
        )


def _check(rec: Mapping[str, Any], values: Any, fields: dict[str, Field], where: str) -> None:
    for name, spec in fields.items():
        path = f"{where}.{name}" if where else name
        if name not in values:
            if spec.required:
                raise RecordError(rec, path, spec.kind.expected, "is missing")
            continue
        value = values[name]
        if not spec.kind.fits(value):
            raise RecordError(rec, path, spec.kind.expected, f"is {_type_name(value)}")


def check(rec: Mapping[str, Any]) -> None:
    """Raise RecordError for the first field of ``rec`` that its readers cannot use."""
    _check(rec, rec, COMMON, "")
    fields = EVENTS.get(rec["event"])
    if fields is None:
        return
    _check(rec, rec, fields, "")
    if rec["event"] == "run.plan":
        for i, stage in enumerate(rec["stages"]):
            where = f"stages[{i}]"
            if type(stage) is not dict:
                raise RecordError(rec, where, "an object", f"is {_type_name(stage)}")
            _check(rec, stage, PLAN_STAGE, where)
            for j, step in enumerate(stage.get("steps", [])):
                here = f"{where}.steps[{j}]"
                if type(step) is not dict:
                    raise RecordError(rec, here, "an object", f"is {_type_name(step)}")
                _check(rec, step, PLAN_STEP, here)


def problem(rec: Mapping[str, Any]) -> RecordError | None:
    """What is wrong with ``rec`` for its readers (see ``check``), or None."""
    try:
        check(rec)
    except RecordError as e:
        return e
    return None
