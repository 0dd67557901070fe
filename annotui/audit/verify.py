"""Verifying an audit log: every byte hashed, the chain unbroken, the tail complete.

The fast path checks each line by slicing its raw bytes (see chain.py): the seq prefix, the prev
member against the previous hash, and sha256 over exactly the bytes the writer hashed. Only a line
that fails is parsed in full, to name the problem precisely.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

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
    """The last good record is session.end."""

    def describe(self, path: Path | str) -> str:
        """'intact: N records, last hash H' or 'PATH:LINE: why'."""
        if self.ok:
            end = "" if self.ended else " (no session.end: interrupted or still running)"
            return f"intact: {self.records} records, last hash {self.last_hash}{end}"
        return f"{path}:{self.bad_line}: {self.reason}"


def _explain(line: bytes, seq: int, prev: str) -> str:
    """Why ``line`` is not the record expected at ``seq`` after ``prev``."""
    try:
        record = parse_line(line)
    except LineError as e:
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


def verify(path: Path | str) -> VerifyResult:
    """Verify the whole log. Raises AuditError when the file cannot be read."""
    path = Path(path)
    try:
        f = open(path, "rb")  # noqa: SIM115 - closed below, the loop is the hot path
    except OSError as e:
        raise AuditError(f"cannot read {path}: {e.strerror}") from None
    sha256 = hashlib.sha256
    seq = 0
    prev = ZERO_HASH.encode()
    size = 0
    last = b""
    bad: tuple[int, str, bool] | None = None
    with f:
        lines = Lines(f)
        it = iter(lines)
        for line in it:
            # Fast path: the hash over the exact bytes, then the line's fixed-width end (prev
            # member, hash member) compared in one go, and the seq prefix.
            digest = sha256(line[:-HASH_SUFFIX_LEN] + b"}").hexdigest().encode()
            if (
                line.endswith(PREV_KEY + prev + PREV_TO_HASH + digest + b'"}')
                and line.startswith(b'{"seq":%d,"ts":"' % seq)
                and (seq or _is_header(line))
            ):
                prev = digest
                seq += 1
                size += len(line) + 1
                last = line
                continue
            reason = _explain(line, seq, prev.decode())
            at_end = next(it, None) is None and not lines.tail
            torn = at_end and reason.startswith("bad JSON")
            bad = (seq + 1, f"torn last line: {reason}" if torn else reason, torn)
            break
        else:
            if lines.tail:
                bad = (seq + 1, "torn last line: no trailing newline (cut short mid-write)", True)
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
        ended=bool(last) and parse_line(last)["event"] == "session.end",
    )


def _is_header(line: bytes) -> bool:
    try:
        return parse_line(line)["event"] == "session.start"
    except LineError:
        return False
