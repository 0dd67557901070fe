"""The options of one run (what `annotui run` was asked to do). Light: no pydantic here, so the
cockpit can hold them before its first frame."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass(slots=True)
class RunOptions:
    cli_vars: dict[str, str] = field(default_factory=dict)
    vars_file: Path | None = None
    rehearse: bool = False
    audit_path: Path | None = None
    resume: bool = False
    yes: bool = False
    allow_changed_checklist: bool = False
    notify: bool = False
    """--notify: a rehearsal sends the `[[notify]]` notifications too (marked REHEARSAL)."""
    sign_with: str | None = None
    """--sign-with / ANNOTUI_SIGN_WITH: the SSH key every seal is signed with."""
    allowed_signers: Path | None = None
    """--allowed-signers: the approvers' allowed_signers file (else the checklist's)."""
    answers: Path | None = None
    """--answers: plain mode's answers given in advance (`annotui.engine.answers`)."""
    argv: list[str] = field(default_factory=list)
    ssh_options: dict[str, Any] = field(default_factory=dict)
    """Passed to every SSH transport, e.g. `passphrase_prompt` (plain mode: getpass on a TTY)."""
