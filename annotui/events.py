"""The shared contract of annotui: the typed events the engine emits, the audit log records and
the presenters (plain mode, the cockpit) render.

Every event is a frozen, slotted dataclass with a dotted ``event`` name. ``to_fields()`` gives
the JSON fields written to the audit log (the writer adds seq, ts, prev and hash). Values are
already redacted when an event is built: no consumer ever sees a secret.

This module imports no other part of annotui: the engine, the audit package and the screens all
depend on it, and it on none of them.

Step keys: ``stage_key`` is the expanded stage id (``deploy[staging]`` for a ``for_each`` stage,
else the stage id) and ``step_key`` is ``"<stage_key>/<step id>"``.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal, Self

Mode = Literal["live", "rehearsal"]
Outcome = Literal[
    "ok", "failed", "would-run", "unverified", "cancelled", "timeout", "unknown", "done"
]
"""Step outcomes. would-run: simulated in rehearsal. unverified: a rehearsal check that failed
after a simulated change in its stage (it may depend on that change). done: marked done by the
operator after an unknown outcome."""


@dataclass(frozen=True, slots=True)
class Event:
    event: ClassVar[str] = "event"

    def replace(self, **changes: Any) -> Self:
        """A copy with some fields changed."""
        return dataclasses.replace(self, **changes)

    def to_fields(self) -> dict[str, Any]:
        """The event's fields by name, in declaration order."""
        names: tuple[str, ...] = self.__match_args__
        return {name: getattr(self, name) for name in names}


@dataclass(frozen=True, slots=True)
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


@dataclass(frozen=True, slots=True)
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


@dataclass(frozen=True, slots=True)
class VarSet(Event):
    event: ClassVar[str] = "var.set"
    name: str
    value: str
    """'***' for secrets."""
    source: Literal["cli", "file", "env", "default", "prompt", "resume"]
    secret: bool = False


@dataclass(frozen=True, slots=True)
class RunPlanned(Event):
    """Every expanded stage and step of the run, rendered, before the first one is shown.

    ``stages`` is a list of {key, title, steps: [{key, id, title, kind, host, cwd, command,
    mutating, critical, confirm_word}]} (redacted).
    """

    event: ClassVar[str] = "run.plan"
    stages: list[dict[str, Any]]
    title: str = ""
    """`[checklist] title` rendered with the run's values (session.start holds it as written)."""


@dataclass(frozen=True, slots=True)
class StageStarted(Event):
    event: ClassVar[str] = "stage.start"
    stage_key: str
    title: str
    index: int
    total: int


@dataclass(frozen=True, slots=True)
class StageFinished(Event):
    event: ClassVar[str] = "stage.end"
    stage_key: str
    outcome: Literal["ok", "failed", "stopped"]


@dataclass(frozen=True, slots=True)
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
    run_as: str | None = None
    """'as postgres (login, bash)': the user (`sudo -n`) and shell it runs with, if not the
    login user's /bin/sh."""
    description: str | None = None
    """The step's description, rendered (Markdown)."""
    instructions: str | None = None
    """The step's instructions, rendered (Markdown; a manual step's description without)."""


@dataclass(frozen=True, slots=True)
class StepConfirmed(Event):
    event: ClassVar[str] = "step.confirmed"
    step_key: str
    operator: str
    word: str | None = None
    auto: bool = False
    """True when nobody answered: --yes, or the step's `confirm = "none"` (`how`)."""
    how: str | None = None
    """What confirmed it without a person: "confirm = none" or "--yes"."""


@dataclass(frozen=True, slots=True)
class StepStarted(Event):
    event: ClassVar[str] = "step.started"
    step_key: str
    simulated: bool = False
    attempt: int = 1


@dataclass(frozen=True, slots=True)
class StepSpawned(Event):
    """A step's command started: its process group on its host. A resume asks that host
    whether the group still runs before it offers the step again."""

    event: ClassVar[str] = "step.spawned"
    step_key: str
    host: str
    """The checklist's host id (``local`` or a ``[hosts.X]``)."""
    pgid: int
    starttime: int | None = None
    """The group leader's start time on its host (/proc/PID/stat field 22, clock ticks since
    boot), None where unknown: with `boot_id`, it tells the command's group from a later process
    that reuses its id (a log without them is asked about by the id alone)."""
    boot_id: str | None = None
    """The host's /proc/sys/kernel/random/boot_id when the command started, None where unknown."""


@dataclass(frozen=True, slots=True)
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


@dataclass(frozen=True, slots=True)
class StepFinished(Event):
    event: ClassVar[str] = "step.finished"
    step_key: str
    outcome: Outcome
    exit_code: int | None = None
    duration: float = 0.0
    expectation: str | None = None
    """'expected ..., got ...' when an expectation failed; a summary when it held."""
    message: str | None = None


@dataclass(frozen=True, slots=True)
class StageRollback(Event):
    """A stage's rollback steps start ("start", after `step_key` failed) or end ("end":
    outcome ok when every one ended done, else failed)."""

    event: ClassVar[str] = "stage.rollback"
    stage_key: str
    phase: Literal["start", "end"]
    step_key: str | None = None
    outcome: str | None = None


@dataclass(frozen=True, slots=True)
class StepAttempt(Event):
    """An attempt of a check with `retries` that did not hold; the next one follows `delay`
    seconds later (the last attempt's result is the step's `step.finished`)."""

    event: ClassVar[str] = "step.attempt"
    step_key: str
    attempt: int
    attempts: int
    outcome: str
    message: str
    delay: float


@dataclass(frozen=True, slots=True)
class ValueCaptured(Event):
    """A step's output kept as a value for later steps (`capture`); a secret one is masked."""

    event: ClassVar[str] = "step.captured"
    step_key: str
    name: str
    value: str
    secret: bool


@dataclass(frozen=True, slots=True)
class StepSkipped(Event):
    event: ClassVar[str] = "step.skipped"
    step_key: str
    reason: str
    operator: str
    condition: str | None = None
    """Skipped by condition: the `when` that was false (the operator was not asked)."""
    seen: dict[str, str] | None = None
    """The values the condition saw (secrets masked)."""


@dataclass(frozen=True, slots=True)
class StepRefused(Event):
    """An answer that was refused and not carried out (a skip of a critical step): recorded, so a
    reviewer sees that it was tried."""

    event: ClassVar[str] = "step.refused"
    step_key: str
    action: str
    reason: str
    operator: str


@dataclass(frozen=True, slots=True)
class EvidenceRecorded(Event):
    event: ClassVar[str] = "step.evidence"
    step_key: str
    prompt: str
    text: str
    operator: str


@dataclass(frozen=True, slots=True)
class OutcomeUnknown(Event):
    """On resume: a step started and never finished. The operator must decide."""

    event: ClassVar[str] = "step.unknown"
    step_key: str
    reason: str


@dataclass(frozen=True, slots=True)
class SupervisorState(Event):
    event: ClassVar[str] = "supervisor.state"
    step_key: str
    supervisor: str
    when: Literal["before", "after"]
    processes: dict[str, str]
    """process full name (group:name) -> state name (RUNNING, STOPPED, ...)."""


@dataclass(frozen=True, slots=True)
class GateEvaluated(Event):
    event: ClassVar[str] = "gate.eval"
    step_key: str
    probe: str
    value: int | None
    holds: bool
    streak: int
    needed: int
    error: str | None = None


@dataclass(frozen=True, slots=True)
class Announcement(Event):
    event: ClassVar[str] = "announce"
    step_key: str
    text: str


@dataclass(frozen=True, slots=True)
class Interrupted(Event):
    event: ClassVar[str] = "session.interrupted"
    reason: str
    step_key: str | None = None


@dataclass(frozen=True, slots=True)
class ErrorEvent(Event):
    event: ClassVar[str] = "error"
    message: str
    step_key: str | None = None


AnsibleStatus = Literal["ok", "changed", "failed", "skipped", "unreachable"]


@dataclass(frozen=True, slots=True)
class AnsibleTask(Event):
    """A play's task starts (what a grid of hosts x tasks shows as the current column)."""

    event: ClassVar[str] = "ansible.task"
    step_key: str
    play: str
    task: str


@dataclass(frozen=True, slots=True)
class AnsibleResult(Event):
    """One host's result of one task of an `ansible` step."""

    event: ClassVar[str] = "ansible.result"
    step_key: str
    host: str
    task: str
    action: str
    status: AnsibleStatus
    duration: float | None
    message: str
    """A short message (the module's msg, else its first line of stderr/stdout); redacted."""
    event_sha256: str
    """sha256 of ansible-runner's whole event (canonical JSON): ties this line to the raw event."""


@dataclass(frozen=True, slots=True)
class AnsibleRecap(Event):
    """The play recap and the exit status of ansible-playbook."""

    event: ClassVar[str] = "ansible.recap"
    step_key: str
    hosts: dict[str, dict[str, int]]
    """host -> {ok, changed, failed, unreachable, skipped, rescued, ignored}."""
    rc: int | None
    status: str
    """ansible-runner's final status: successful, failed, canceled, timeout."""
    unfinished: list[str] = field(default_factory=list)
    """Hosts that had started and were not done when the run was cancelled: outcome unknown."""


@dataclass(frozen=True, slots=True)
class NotificationSent(Event):
    """A notification handed to Apprise (``[[notify]]`` table number ``notify``)."""

    event: ClassVar[str] = "notify.send"
    notify: int
    on: Literal["stage_end", "failure", "waiting", "session_end"]
    target: str
    """The URL's scheme only (``json://***``): the URL holds tokens."""
    title: str
    body: str
    step_key: str | None = None


@dataclass(frozen=True, slots=True)
class NotificationResult(Event):
    """What became of a notification: sent, failed (the run goes on) or timeout."""

    event: ClassVar[str] = "notify.result"
    notify: int
    on: Literal["stage_end", "failure", "waiting", "session_end"]
    target: str
    status: Literal["sent", "failed", "timeout"]
    message: str
    duration: float


@dataclass(frozen=True, slots=True)
class SessionEnded(Event):
    event: ClassVar[str] = "session.end"
    outcome: Literal["done", "failed", "stopped"]
    exit_code: int
    steps_total: int
    steps_ok: int
    """Steps done (for real; in rehearsal the checks and read-only commands that ran)."""
    steps_skipped: int
    steps_would_run: int = 0
    """Rehearsal: steps simulated, or decided at run time."""
    steps_unverified: int = 0
    """Rehearsal: read-only steps that failed after a simulated change."""


@dataclass(frozen=True, slots=True)
class ApprovalWaiting(Event):
    """An approval step waits: who may approve, how many are needed, and how to approve. An
    approval must sign ``wait`` (a random value of this wait only)."""

    event: ClassVar[str] = "approval.wait"
    step_key: str
    approvers: list[str]
    needed: int
    wait: str
    how: str
    timeout: float | None = None


@dataclass(frozen=True, slots=True)
class ApprovalGranted(Event):
    """A valid approval: ``signed`` (namespace ``annotui-approval``) verified for
    ``principal`` by ``ssh-keygen -Y verify`` against the run's allowed signers."""

    event: ClassVar[str] = "approval.granted"
    step_key: str
    principal: str
    key: str
    note: str
    signed: str
    signature: str


@dataclass(frozen=True, slots=True)
class ApprovalRefused(Event):
    """An approval that does not count (the run's own signer, not an approver, a signature
    that does not verify, a second one by the same principal)."""

    event: ClassVar[str] = "approval.refused"
    step_key: str
    key: str
    reason: str


@dataclass(frozen=True, slots=True)
class Sealed(Event):
    """Closes a stage or a session: ``signed`` is exactly the text signed (see
    ``annotui.audit.seal``); ``signature`` (armored OpenSSH, namespace ``annotui-audit``) and
    ``key`` (``SHA256:`` fingerprint) when the run signs, else left out of the record."""

    event: ClassVar[str] = "seal"
    signed: str
    signature: str | None = None
    key: str | None = None

    def to_fields(self) -> dict[str, Any]:
        fields = {"signed": self.signed}
        if self.signature is not None:
            fields["signature"] = self.signature
        if self.key is not None:
            fields["key"] = self.key
        return fields


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
        StepSpawned,
        StepOutput,
        StepFinished,
        StepSkipped,
        ValueCaptured,
        StepAttempt,
        StageRollback,
        StepRefused,
        EvidenceRecorded,
        OutcomeUnknown,
        SupervisorState,
        GateEvaluated,
        Announcement,
        Interrupted,
        ErrorEvent,
        AnsibleTask,
        AnsibleResult,
        AnsibleRecap,
        NotificationSent,
        NotificationResult,
        SessionEnded,
        Sealed,
        ApprovalWaiting,
        ApprovalGranted,
        ApprovalRefused,
    )
}
