"""Typed engine events: the one stream that the audit writer, plain mode and the TUI consume.

Every event is a frozen record of typed fields with a dotted ``event`` name. ``to_fields()`` gives
the JSON fields written to the audit log (the writer adds seq, ts, prev and hash). Values are
already redacted when an event is built: no consumer ever sees a secret.

Step keys: ``stage_key`` is the expanded stage id (``deploy[staging]`` for a ``for_each`` stage,
else the stage id) and ``step_key`` is ``"<stage_key>/<step id>"``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar, Literal, dataclass_transform

Mode = Literal["live", "rehearsal"]
Outcome = Literal[
    "ok", "failed", "would-run", "unverified", "cancelled", "timeout", "unknown", "done"
]
"""Step outcomes. would-run: simulated in rehearsal. unverified: a rehearsal check that failed
after a simulated change in its stage (it may depend on that change). done: marked done by the
operator after an unknown outcome."""


class _Factory:
    __slots__ = ("make",)

    def __init__(self, make: Callable[[], Any]) -> None:
        self.make = make


def field(*, default_factory: Callable[[], Any]) -> Any:
    """A default made anew for every event (a list, say)."""
    return _Factory(default_factory)


@dataclass_transform(frozen_default=True, field_specifiers=(field,))
class _EventType(type):
    """Makes every event class a frozen, slotted record of its annotated fields.

    What @dataclass(frozen=True, slots=True) gave, without its code generation: that cost ~1 ms
    per class, ~20 ms of every `annotui` start on a 2-core machine, more than a step."""

    def __new__(mcs, name: str, bases: tuple[type, ...], ns: dict[str, Any]) -> _EventType:
        own = [k for k, v in ns.get("__annotations__", {}).items() if not v.startswith("ClassVar")]
        defaults = {k: ns.pop(k) for k in own if k in ns}
        ns["__slots__"] = tuple(own)
        cls = super().__new__(mcs, name, bases, ns)
        cls._fields = (*getattr(cls, "_fields", ()), *own)
        cls._defaults = {**getattr(cls, "_defaults", {}), **defaults}
        cls.__match_args__ = cls._fields
        return cls


class Event(metaclass=_EventType):
    event: ClassVar[str] = "event"
    _fields: ClassVar[tuple[str, ...]]
    _defaults: ClassVar[dict[str, Any]]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        name, fields = type(self).__name__, self._fields
        if len(args) > len(fields):
            raise TypeError(f"{name} takes {len(fields)} fields, {len(args)} were given")
        values = dict(zip(fields, args, strict=False))
        for key, value in kwargs.items():
            if key not in fields or key in values:
                raise TypeError(f"{name}: unexpected or repeated field {key!r}")
            values[key] = value
        for f in fields:
            if f not in values:
                if f not in self._defaults:
                    raise TypeError(f"{name}: missing field {f!r}")
                default = self._defaults[f]
                values[f] = default.make() if isinstance(default, _Factory) else default
            object.__setattr__(self, f, values[f])

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"an event is frozen (setting {name!r})")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"an event is frozen (deleting {name!r})")

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and self.to_fields() == other.to_fields()  # type: ignore[attr-defined]

    def __hash__(self) -> int:
        return hash((type(self), *(getattr(self, f) for f in self._fields)))

    def __repr__(self) -> str:
        inner = ", ".join(f"{f}={getattr(self, f)!r}" for f in self._fields)
        return f"{type(self).__name__}({inner})"

    def replace(self, **changes: Any) -> Any:
        """A copy with some fields changed."""
        return type(self)(**{**self.to_fields(), **changes})

    def to_fields(self) -> dict[str, Any]:
        return {f: getattr(self, f) for f in self._fields}


class SessionStarted(Event):
    """The session header (first record of an audit log)."""

    event: ClassVar[str] = "session.start"
    checklist_path: str
    checklist_sha256: str
    checklist_id: str
    checklist_title: str
    checklist_version: str
    operator: str
    ssh_connection: str | None
    host: str
    annotui_version: str
    mode: Mode
    argv: list[str] = field(default_factory=list)


class SessionResumed(Event):
    event: ClassVar[str] = "session.resume"
    operator: str
    ssh_connection: str | None
    host: str
    mode: Mode
    torn_tail: str | None = None
    """The torn last line found on resume (kept verbatim, never dropped), else None."""
    checklist_changed: bool = False
    checklist_sha256: str = ""
    unknown_steps: list[str] = field(default_factory=list)


class VarSet(Event):
    event: ClassVar[str] = "var.set"
    name: str
    value: str
    """'***' for secrets."""
    source: Literal["cli", "file", "env", "default", "prompt", "resume"]
    secret: bool = False


class RunPlanned(Event):
    """Every expanded stage and step of the run, rendered, before the first one is shown.

    ``stages`` is a list of {key, title, steps: [{key, id, title, kind, host, cwd, command,
    mutating, critical, confirm_word}]} (redacted).
    """

    event: ClassVar[str] = "run.plan"
    stages: list[dict[str, Any]]


class StageStarted(Event):
    event: ClassVar[str] = "stage.start"
    stage_key: str
    title: str
    index: int
    total: int


class StageFinished(Event):
    event: ClassVar[str] = "stage.end"
    stage_key: str
    outcome: Literal["ok", "failed", "stopped"]


class StepShown(Event):
    """A step is presented: exactly what will run, where."""

    event: ClassVar[str] = "step.shown"
    step_key: str
    stage_key: str
    step_id: str
    kind: str
    title: str
    host: str | None
    cwd: str | None
    command: str | None
    changes: bool
    critical: bool
    confirm: str
    confirm_word: str | None
    simulated: bool
    """True when rehearsal will simulate this step instead of running it."""


class StepConfirmed(Event):
    event: ClassVar[str] = "step.confirmed"
    step_key: str
    operator: str
    word: str | None = None
    auto: bool = False
    """True when --yes answered."""


class StepStarted(Event):
    event: ClassVar[str] = "step.started"
    step_key: str
    simulated: bool = False
    attempt: int = 1


class StepOutput(Event):
    """A chunk of output of one stream, in arrival order: whole lines joined by newlines (no
    trailing newline). Stored as one string: a flood is encoded and hashed at string speed."""

    event: ClassVar[str] = "step.output"
    step_key: str
    stream: Literal["stdout", "stderr"]
    text: str

    @property
    def lines(self) -> list[str]:
        return self.text.split("\n")


class StepFinished(Event):
    event: ClassVar[str] = "step.finished"
    step_key: str
    outcome: Outcome
    exit_code: int | None = None
    duration: float = 0.0
    expectation: str | None = None
    """'expected ..., got ...' when an expectation failed; a summary when it held."""
    message: str | None = None


class StepSkipped(Event):
    event: ClassVar[str] = "step.skipped"
    step_key: str
    reason: str
    operator: str


class EvidenceRecorded(Event):
    event: ClassVar[str] = "step.evidence"
    step_key: str
    prompt: str
    text: str
    operator: str


class OutcomeUnknown(Event):
    """On resume: a step started and never finished. The operator must decide."""

    event: ClassVar[str] = "step.unknown"
    step_key: str
    reason: str


class SupervisorState(Event):
    event: ClassVar[str] = "supervisor.state"
    step_key: str
    supervisor: str
    when: Literal["before", "after"]
    processes: dict[str, str]
    """process full name (group:name) -> state name (RUNNING, STOPPED, ...)."""


class GateEvaluated(Event):
    event: ClassVar[str] = "gate.eval"
    step_key: str
    probe: str
    value: int | None
    holds: bool
    streak: int
    needed: int
    error: str | None = None


class Announcement(Event):
    event: ClassVar[str] = "announce"
    step_key: str
    text: str


class Interrupted(Event):
    event: ClassVar[str] = "session.interrupted"
    reason: str
    step_key: str | None = None


class ErrorEvent(Event):
    event: ClassVar[str] = "error"
    message: str
    step_key: str | None = None


class SessionEnded(Event):
    event: ClassVar[str] = "session.end"
    outcome: Literal["done", "failed", "stopped"]
    exit_code: int
    steps_total: int
    steps_ok: int
    steps_skipped: int


ALL_EVENTS: dict[str, type[Event]] = {
    cls.event: cls
    for cls in (
        SessionStarted,
        SessionResumed,
        VarSet,
        RunPlanned,
        StageStarted,
        StageFinished,
        StepShown,
        StepConfirmed,
        StepStarted,
        StepOutput,
        StepFinished,
        StepSkipped,
        EvidenceRecorded,
        OutcomeUnknown,
        SupervisorState,
        GateEvaluated,
        Announcement,
        Interrupted,
        ErrorEvent,
        SessionEnded,
    )
}
