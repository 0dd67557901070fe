"""What a step runner gets: the planned step, the event sink and the run's shared resources."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from annotui.engine.operator import Operator
from annotui.engine.planned import PlannedStep
from annotui.engine.redact import Redactor
from annotui.events import Event
from annotui.transport.pool import TransportPool

if TYPE_CHECKING:
    from annotui.checklist.models import Probe
    from annotui.status.supervisor import SupervisorPool


@dataclass(slots=True)
class StepContext:
    planned: PlannedStep
    emit: Callable[[Event], None]
    """Send an event to every consumer (audit log first). Values must already be redacted."""
    redact: Redactor
    """Replace every secret value in a string with '***'."""
    transports: TransportPool
    supervisors: SupervisorPool
    probes: Mapping[str, Probe]
    """Probe definitions with `run`/`cwd` already rendered (shell-quoted)."""
    operator: Operator
    rehearse: bool
    yes: bool = False
    """--yes was given (a rehearsal answers evidence prompts with it)."""
    checklist_dir: Path | None = None
    """The checklist's directory: paths in steps (an ansible playbook) are relative to it."""
    state_dir: Path | None = None
    """Where a step keeps its own files (ansible-runner's artifacts), beside the audit log."""
    captured: dict[str, str] = field(default_factory=dict)
    """Values captured so far (`capture`): a step that captures one adds it here."""
    audit_path: Path | None = None
    """The run's audit log (an approval step reads ``PATH.approvals`` beside it)."""
    allowed_signers: Path | None = None
    """--allowed-signers, else ``[checklist] allowed_signers`` (relative to the checklist)."""
    after_simulation: bool = False
    """A rehearsal simulated a change earlier in the run: a read-only step's retries are not
    waited out (nothing in a rehearsal changes what they would wait for)."""
    signer_key: str | None = None
    """The ``SHA256:`` fingerprint of the run's own --sign-with key (never an approver)."""
    begin: Callable[[], None] | None = None
    """Set for a kind with ``begins = True``: its ``step.started`` is recorded but not yet
    fsynced, and the kind must call this just before its action can begin (a transport's
    ``begin``: after the command's process started, before it gets the command), so that the
    fsync overlaps the process's start. It raises `StopRun` when the log cannot be written.
    None: the record was durable before the step ran."""

    def attempts(self, retries: int) -> int:
        """Attempts a step with `retries` makes: one in a rehearsal after a simulated change (its
        retries would wait for a change that happened only in the rehearsal's story; a failure
        is then recorded `unverified` at once, not waited out)."""
        return 1 if self.after_simulation else retries + 1
