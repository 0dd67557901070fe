"""The engine's two ways a run ends early, shared by the session and the step kinds."""

from __future__ import annotations


class SessionError(Exception):
    """Bad input found before any step ran (exit 2)."""


class StopRun(Exception):
    """The operator chose to stop, or the session was interrupted (exit 3)."""
