"""The engine's two ways a run ends early, shared by the session and the step kinds."""

from __future__ import annotations


class SessionError(Exception):
    """Bad input found before any step ran (exit 2)."""


class StopRun(Exception):
    """The operator chose to stop, or the session was interrupted (exit 3)."""


class AuditLost(Exception):
    """The audit log could not be written (a full disk, a read-only or vanished file system):
    the run was stopped, its running command too (exit 4). The message says what and where."""
