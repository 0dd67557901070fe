"""Seals: the records that close a stage and a session, and what ``verify`` makes of them.

A ``seal`` record's ``signed`` field is exactly::

    annotui-audit-seal v1
    log: <hash of the log's first record (its session.start)>
    seq: <seq of the seal record>
    head: <hash of the record before the seal>

every line ending in ``\\n``, the last one too (the text is what ``ssh-keygen -Y sign`` signed,
byte for byte). When the run signs, ``signature`` holds the armored OpenSSH signature of those
bytes (namespace ``annotui-audit``) and ``key`` the signing key's ``SHA256:`` fingerprint.

The writer appends a seal after every ``stage.end`` and as the last record of a session (after
its ``session.end``). A log is *sealed* when its last record is a seal and a ``session.end``
lies between that seal and the one before it: a log cut anywhere else ends unsealed. A resumed
session appends to the same log: its seals name the same ``log`` and chain on.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

SEAL_EVENT = "seal"
HEADER = "annotui-audit-seal v1"
MARKED = (SEAL_EVENT, "stage.end", "session.end")
"""The events ``verify`` keeps (seq and fields) to judge the seals (a tuple: a forged record's
event may be any JSON value, a list too, and ``in`` must not need its hash)."""


def seal_text(log: str, seq: int, head: str) -> str:
    """The exact text a seal at ``seq`` signs."""
    return f"{HEADER}\nlog: {log}\nseq: {seq}\nhead: {head}\n"


@dataclass(frozen=True, slots=True)
class SealInfo:
    """One seal as ``verify`` found it (its place checked against the chain)."""

    seq: int
    ts: str
    signed: str
    signature: str | None
    key: str | None
    stage: str | None
    """The stage it closes (the stage.end since the seal before it: the stage's notifications
    may lie between), else None."""
    final: bool
    """It closes a session: a session.end lies between it and the seal before it."""

    @property
    def head(self) -> str:
        return self.signed.rsplit("head: ", 1)[-1].strip()

    @property
    def covers(self) -> str:
        """What it seals, for a person: 'stage deploy[staging]', 'session end', 'records'."""
        if self.final:
            return "session end"
        return f"stage {self.stage}" if self.stage is not None else "records"


@dataclass(frozen=True, slots=True)
class Judged:
    seals: tuple[SealInfo, ...]
    sealed: bool
    bad: tuple[int, str] | None
    """(1-based line, why) of the first seal that does not fit its place."""


def judge(
    first_hash: str | None, marks: Iterable[tuple[int, dict[str, Any]]], records: int
) -> Judged:
    """The seals among ``marks`` (the MARKED records of an intact chain of ``records``
    records, in order, as (seq, record)), each checked to sign exactly its place."""
    seals: list[SealInfo] = []
    stage_end: dict[str, Any] | None = None
    """The last stage.end since the seal before."""
    ended = False
    for seq, rec in marks:
        event = rec.get("event")
        if event != SEAL_EVENT:
            stage_end = rec if event == "stage.end" else stage_end
            ended = ended or event == "session.end"
            continue
        signed, signature, key = rec.get("signed"), rec.get("signature"), rec.get("key")
        prev = rec.get("prev")
        if not isinstance(signed, str) or first_hash is None or not isinstance(prev, str):
            return Judged(tuple(seals), False, (seq + 1, "seal without its signed text"))
        if signed != seal_text(first_hash, seq, prev):
            why = "seal does not sign its place in the log (log, seq or head differ)"
            return Judged(tuple(seals), False, (seq + 1, why))
        if signature is not None and not isinstance(signature, str):
            return Judged(tuple(seals), False, (seq + 1, "seal's signature is not a string"))
        if key is not None and not isinstance(key, str):
            return Judged(tuple(seals), False, (seq + 1, "seal's key is not a string"))
        key_of = stage_end.get("stage_key") if stage_end is not None else None
        stage = key_of if isinstance(key_of, str) else None
        ts = rec.get("ts")
        seals.append(
            SealInfo(seq, ts if isinstance(ts, str) else "", signed, signature, key, stage, ended)
        )
        stage_end = None
        ended = False
    sealed = bool(seals) and seals[-1].seq == records - 1 and seals[-1].final
    return Judged(tuple(seals), sealed, None)
