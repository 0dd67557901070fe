"""Verifying an audit log: every byte hashed, the chain unbroken, the tail complete.

The fast path checks each line by slicing its raw bytes (see chain.py): the seq prefix, the prev
member against the previous hash, and sha256 over exactly the bytes the writer hashed; then that
the line is a JSON object whose seq is that seq (orjson, the parser every reader tries first:
see ``reader.parse_record``), so that a line someone hashed without writing JSON is never called
intact, and what verify vouches for is what show, report and resume read. Only a line that fails
is parsed in full, to name the problem precisely.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

import orjson

from annotui.audit import records
from annotui.audit.chain import (
    HASH_KEY,
    HASH_SUFFIX_LEN,
    PREV_KEY,
    ZERO_HASH,
    LineError,
    parse_line,
)
from annotui.audit.errors import AuditError
from annotui.audit.lines import Lines
from annotui.audit.seal import MARKED, SealInfo, judge
from annotui.text import one_line

PREV_TO_HASH = b'"' + HASH_KEY
"""Between the prev member's value and the hash member's value."""


@dataclass(frozen=True, slots=True)
class VerifyResult:
    ok: bool
    records: int
    """Good records before the first bad line (all of them when ok)."""
    last_hash: str | None
    """Hash of the last good record."""
    bad_line: int | None
    """1-based number of the first bad line."""
    reason: str | None
    torn_tail: bool
    """The first bad line is the last line and was cut short (a crash mid-write)."""
    good_size: int
    """Bytes of the file up to the end of the last good line."""
    ended: bool
    """The last good record is session.end, or the final seal just after one (``sealed``)."""
    first_hash: str | None = None
    """Hash of the first record: the ``log`` every seal names."""
    seals: tuple[SealInfo, ...] = ()
    """The seals of the good records, in order, each checked to sign its place."""
    sealed: bool = False
    """The log ends with its final seal (``annotui.audit.seal``)."""

    def describe(self, path: Path | str) -> str:
        """'intact and sealed: N records, last hash H', 'intact but unsealed: ...' or
        'PATH:LINE: why', on one printable line (the path and the reason may quote anything:
        ``annotui.text.one_line``)."""
        if self.ok and self.sealed:
            return f"intact and sealed: {self.records} records, last hash {self.last_hash}"
        if self.ok:
            last = f"last seal at seq {self.seals[-1].seq}" if self.seals else "no seal"
            return (
                f"intact but unsealed: ends at seq {self.records - 1} without its final seal "
                f"({last}; interrupted, still running, or cut), last hash {self.last_hash}"
            )
        return f"{one_line(path)}:{self.bad_line}: {one_line(self.reason)}"


def _explain(line: bytes, seq: int, prev: str, hashed: bool) -> str:
    """Why ``line`` is not the record expected at ``seq`` after ``prev`` (``hashed``: its hash
    member is the sha256 of its bytes)."""
    try:
        record = parse_line(line)
    except LineError as e:
        if hashed and str(e).startswith("bad JSON"):
            return f"{e} (the line is hashed as written: not a torn write, a forged line)"
        return str(e)
    if record["seq"] < seq:
        return f"sequence goes backwards: seq {record['seq']} after {seq - 1} (lines reordered?)"
    if record["seq"] > seq:
        return f"sequence gap: expected seq {seq}, found {record['seq']} (a line was deleted?)"
    if record["prev"] != prev:
        return "prev does not match the previous record's hash (a line was inserted or removed?)"
    if seq == 0 and record["event"] != "session.start":
        return f"the first record must be session.start, not {record['event']}"
    return "malformed record"


def _strict_record(line: bytes, seq: int) -> Any:
    """The record of a line whose hash, prev and seq prefix are right, if it is the one JSON
    object every reader sees with that seq (else None). orjson refuses a few things the JSON
    module takes (an integer beyond 64 bits, a lone surrogate, very deep nesting): such a line
    is judged by ``parse_line``, which checks its canonical form too."""
    try:
        rec = parse_line(line)
    except LineError:
        return None
    return rec if rec["seq"] == seq else None


PARALLEL_FROM = 32 << 20
"""From this size on, the JSON check runs in a second process (``annotui.audit.records``) while
this one hashes: each costs about as much as the other, and both are needed."""


def verify(path: Path | str) -> VerifyResult:
    """Verify the whole log. Raises AuditError when the file cannot be read."""
    path = Path(path)
    try:
        f = open(path, "rb")  # noqa: SIM115 - closed below, the loop is the hot path
    except OSError as e:
        raise AuditError(f"cannot read {one_line(path)}: {e.strerror}") from None
    with f:
        checker = records.start(path) if os.fstat(f.fileno()).st_size >= PARALLEL_FROM else None
        marks: list[tuple[int, dict[str, Any]]] = []
        if checker is None:
            return _sealed(_scan(f, marks), marks)
        try:
            result = _scan(f, None)
            answer = checker.result()
        finally:
            checker.stop()
        if answer is not None and answer[0] >= result.records:
            return _sealed(result, [m for m in answer[1] if m[0] < result.records])
        f.seek(0)  # a line that is not the record it should be (or no answer): find and name it
        return _sealed(_scan(f, marks), marks)


def _sealed(result: VerifyResult, marks: list[tuple[int, dict[str, Any]]]) -> VerifyResult:
    """``result`` with its seals judged: one that does not sign its place is a bad line."""
    judged = judge(result.first_hash, marks, result.records)
    if judged.bad is None:
        ended = result.ended or judged.sealed
        return dataclasses.replace(result, seals=judged.seals, sealed=judged.sealed, ended=ended)
    line, why = judged.bad
    return dataclasses.replace(
        result,
        ok=False,
        records=line - 1,
        last_hash=None,
        bad_line=line,
        reason=why,
        torn_tail=False,
        seals=judged.seals,
        sealed=False,
    )


def _scan(f: BinaryIO, marks: list[tuple[int, dict[str, Any]]] | None) -> VerifyResult:
    """Verify the log read from ``f``, keeping the records of the MARKED events in ``marks``;
    without ``marks`` the lines are not checked to be JSON objects with their seq (the caller
    has that done elsewhere, marks too), only the first and the last."""
    parse = marks is not None
    sha256 = hashlib.sha256
    loads = orjson.loads
    decode_error = orjson.JSONDecodeError
    seq = 0
    prev = ZERO_HASH.encode()
    first = b""
    size = 0
    event: Any = None
    last = b""
    bad: tuple[int, str, bool] | None = None
    end = PREV_KEY + prev + PREV_TO_HASH
    """What a line holds between its fields and its hash, given the previous record's hash."""
    lines = Lines(f)
    batches = lines.batches()
    for batch in batches:
        start = seq
        for line in batch:
            # Fast path: the hash over the exact bytes, the line's fixed-width end (prev
            # member, hash member), the seq prefix, then the one JSON object with that seq.
            body = line[:-HASH_SUFFIX_LEN] + b"}"
            digest = sha256(body).hexdigest().encode()
            if (
                line.endswith(digest + b'"}')
                and line.endswith(end, 0, -66)
                and line.startswith(b'{"seq":%d,"ts":"' % seq)
            ):
                if parse or not seq:
                    try:
                        rec = loads(body)  # the line but its hash member, checked above
                    except decode_error:
                        rec = _strict_record(line, seq)
                    number = rec.get("seq") if type(rec) is dict else None
                    good = type(number) is int and number == seq
                    if good:
                        event = rec.get("event")
                        good = bool(seq) or event == "session.start"
                        if event in MARKED and marks is not None:
                            marks.append((seq, rec))
                else:  # the other process checks this line's JSON
                    last, good = line, True
                if good:
                    end = PREV_KEY + digest + PREV_TO_HASH
                    if not seq:
                        first = digest
                    prev = digest
                    seq += 1
                    size += len(line) + 1
                    continue
            hashed = line.endswith(PREV_TO_HASH + digest + b'"}')
            reason = _explain(line, seq, prev.decode(), hashed)
            last_in_batch = seq - start == len(batch) - 1
            at_end = last_in_batch and next(batches, None) is None and not lines.tail
            torn = at_end and not hashed and reason.startswith("bad JSON")
            bad = (seq + 1, f"torn last line: {reason}" if torn else reason, torn)
            break
        if bad is not None:
            break
    else:
        if lines.tail:
            bad = (seq + 1, "torn last line: no trailing newline (cut short mid-write)", True)
    if last:  # the JSON of the other lines is checked elsewhere; the last one's event is needed
        rec = _strict_record(last, seq - 1)
        event = rec.get("event") if isinstance(rec, dict) else None
    if seq == 0 and bad is None:
        bad = (1, "empty log: no session.start record", False)
    return VerifyResult(
        ok=bad is None,
        records=seq,
        last_hash=prev.decode() if seq else None,
        bad_line=bad[0] if bad else None,
        reason=bad[1] if bad else None,
        torn_tail=bad[2] if bad else False,
        good_size=size,
        ended=seq > 0 and event == "session.end",
        first_hash=first.decode() if seq else None,
    )
