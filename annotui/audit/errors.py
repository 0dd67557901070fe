"""Errors of the audit log. Every message is meant for a person (no traceback needed)."""

from __future__ import annotations


class AuditError(Exception):
    """The audit log cannot be written, read or resumed; the message says why."""


class AuditLocked(AuditError):
    """Another process holds the log's exclusive lock; the message names the holder."""
