"""Approvals of an `approval` step, given from another terminal (the two-person rule).

The waiting run records ``approval.wait`` with a random ``wait`` value. An approver runs
``annotui audit approve PATH --step STEP_KEY --sign-with KEY``: it finds that wait in the log
(read only: the run holds its lock), signs exactly::

    annotui-audit-approval v1
    step: <step key>
    wait: <the wait value>
    note: <the note, one line>

with ``ssh-keygen -Y sign -n annotui-approval`` and appends one JSON line to ``PATH.approvals``
(``{"step", "wait", "note", "signed", "signature", "key", "ts"}``). The run reads that file,
verifies each approval against its allowed signers and records it (``approval.granted`` or
``approval.refused``) in the log itself.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from annotui.audit.errors import AuditError
from annotui.audit.proof import append_entry, clean_note, load_line, utc_now
from annotui.audit.reader import read_records
from annotui.audit.sshsig import sign
from annotui.text import one_line

APPROVAL_NAMESPACE = "annotui-approval"
HEADER = "annotui-audit-approval v1"


def approval_text(step_key: str, wait: str, note: str) -> str:
    return f"{HEADER}\nstep: {step_key}\nwait: {wait}\nnote: {note}\n"


def approvals_path(path: Path) -> Path:
    return path.with_name(path.name + ".approvals")


def how_to_approve(path: Path, step_key: str) -> str:
    """The command an approver runs (the log's absolute path and the step key shell-quoted: a
    step key of a ``for_each`` stage holds brackets, which a shell would glob)."""
    where, step = shlex.quote(str(path.absolute())), shlex.quote(step_key)
    return f"annotui audit approve {where} --step {step} --sign-with KEY [--note TEXT]"


@dataclass(frozen=True, slots=True)
class Offered:
    """One line of ``PATH.approvals``, not yet judged."""

    step: str
    wait: str
    note: str
    signed: str
    signature: str
    key: str


def _offered(entry: Any) -> Offered | None:
    if not isinstance(entry, dict):
        return None
    fields = [entry.get(k) for k in ("step", "wait", "note", "signed", "signature", "key")]
    if not all(isinstance(v, str) for v in fields):
        return None
    return Offered(*(str(v) for v in fields))


def read_new(path: Path, offset: int) -> tuple[list[Offered | None], int]:
    """The complete lines of ``PATH.approvals`` from ``offset`` (None for a line that is not an
    approval), and the offset after them."""
    try:
        with open(approvals_path(path), "rb") as f:
            f.seek(offset)
            data = f.read()
    except FileNotFoundError:
        return [], offset
    end = data.rfind(b"\n") + 1
    found: list[Offered | None] = []
    for line in data[:end].splitlines():
        found.append(_offered(load_line(line)))
    return found, offset + end


def open_waits(path: Path) -> dict[str, str]:
    """Step key -> ``wait`` value of every approval wait still open in the log, in log order."""
    waits: dict[str, str] = {}
    for rec in read_records(path):
        key = rec.get("step_key")
        if not isinstance(key, str):
            continue
        if rec.get("event") == "approval.wait" and isinstance(rec.get("wait"), str):
            waits[key] = rec["wait"]
        elif rec.get("event") == "step.finished":
            waits.pop(key, None)
    return waits


def waiting(path: Path, step_key: str) -> str:
    """The ``wait`` value of the step's wait still open in the log (raises AuditError)."""
    wait = open_waits(path).get(step_key)
    if wait is None:
        raise AuditError(f"{one_line(step_key)} is not waiting for approval in {one_line(path)}")
    return wait


def approve(path: Path, step_key: str, key: str, note: str) -> str:
    """``annotui audit approve`` (and the review viewer's approve): sign an approval of the
    open wait of ``step_key`` and offer it to the run; returns what was done, in one line
    (raises AuditError)."""
    note = clean_note(note)
    wait = waiting(path, step_key)
    text = approval_text(step_key, wait, note)
    sig = sign(key, text, APPROVAL_NAMESPACE)
    entry = {"step": step_key, "wait": wait, "note": note, "signed": text}
    entry |= {"signature": sig.armored, "key": sig.key, "ts": utc_now()}
    append_entry(approvals_path(path), entry)
    return (
        f"approval of {one_line(step_key)} signed with {sig.key}, offered in "
        f"{one_line(approvals_path(path))}: the run verifies it and records it in its log"
    )
