"""Verifying an audit log: every byte hashed, the chain unbroken, the tail complete.

The fast path checks each line by slicing its raw bytes (see chain.py): the seq prefix, the prev
member against the previous hash, and sha256 over exactly the bytes the writer hashed; then that
the line is a JSON object whose seq is that seq (orjson, the parser every reader tries first:
see ``reader.parse_record``), so that a line someone hashed without writing JSON is never called
intact, and what verify vouches for is what show, report and resume read. Only a line that fails
is parsed in full, to name the problem precisely.

The links are independent given the lines, so a large log is split at line boundaries into one
chunk per CPU, verified at once in forked processes, each from the seq and prev its first line
claims; the claims are then held against where each chunk before ended (``_parallel``).
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import os
import pickle
import re
import signal
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from annotui.audit.chain import (
    HASH_KEY,
    HASH_SUFFIX_LEN,
    PREV_KEY,
    ZERO_HASH,
    LineError,
    parse_line,
)
from annotui.audit.errors import AuditError
from annotui.audit.lines import BLOCK, Lines, Readable
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


PARALLEL_FROM = 8 << 20
"""From this size on, a log is verified in one chunk per CPU, in forked processes (``_parallel``);
a smaller one costs less than a fork in one."""


@dataclass(frozen=True, slots=True)
class _At:
    """Where a scan stands: ``seq`` good records read, the last with hash ``prev`` (the zero
    hash for none), ending at byte ``size``; ``first`` is the first record's hash and ``event``
    the last one's event."""

    seq: int
    prev: bytes
    first: bytes
    size: int
    event: Any


_START = _At(0, ZERO_HASH.encode(), b"", 0, None)

_Bad = tuple[int, str, bool]
"""(1-based line, why, torn) of the first bad line."""

_Marks = list[tuple[int, dict[str, Any]]]


class _Range:
    """The bytes of an open file from ``start`` to ``stop`` (its end when None), read with
    ``pread``: processes forked from one open file each read their own range."""

    def __init__(self, fd: int, start: int, stop: int | None = None) -> None:
        self._fd, self._pos, self._stop = fd, start, stop

    def read(self, n: int) -> bytes:
        if self._stop is not None:
            n = min(n, self._stop - self._pos)
            if n <= 0:
                return b""
        block = os.pread(self._fd, n, self._pos)
        self._pos += len(block)
        return block


def verify(
    path: Path | str, parallel_from: int = PARALLEL_FROM, workers: int | None = None
) -> VerifyResult:
    """Verify the whole log. Raises AuditError when the file cannot be read.

    A log of ``parallel_from`` bytes or more is verified in ``workers`` chunks (one per CPU by
    default) at once when this process has no other thread to fork with; the answer is the
    one a single pass gives, in every case."""
    path = Path(path)
    try:
        f = open(path, "rb")  # noqa: SIM115 - closed below
    except OSError as e:
        raise AuditError(f"cannot read {one_line(path)}: {e.strerror}") from None
    with f:
        fd = f.fileno()
        jobs = workers if workers is not None else os.cpu_count() or 1
        size = os.fstat(fd).st_size
        try:
            if jobs > 1 and size >= parallel_from and threading.active_count() == 1:
                at, bad, marks = _parallel(fd, size, jobs)
            else:
                marks = []
                at, bad = _scan(_Range(fd, 0), _START, marks)
        except OSError as e:
            raise AuditError(f"cannot read {one_line(path)}: {e.strerror}") from None
    return _sealed(_result(at, bad), marks)


def _result(at: _At, bad: _Bad | None) -> VerifyResult:
    if at.seq == 0 and bad is None:
        bad = (1, "empty log: no session.start record", False)
    return VerifyResult(
        ok=bad is None,
        records=at.seq,
        last_hash=at.prev.decode() if at.seq else None,
        bad_line=bad[0] if bad else None,
        reason=bad[1] if bad else None,
        torn_tail=bad[2] if bad else False,
        good_size=at.size,
        ended=at.seq > 0 and at.event == "session.end",
        first_hash=at.first.decode() if at.seq else None,
    )


def _sealed(result: VerifyResult, marks: _Marks) -> VerifyResult:
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


_CLAIMED_SEQ = re.compile(rb'\{"seq":([0-9]{1,19}),')


def _claim(fd: int, start: int) -> _At | None:
    """Where a chunk starting at byte ``start`` says it stands: its first line's seq and prev,
    read by position (None if it has neither). The chunk is verified from that claim; the
    claim is then held against where the chunk before it ended."""
    line, _ = _line_at(fd, start)
    m = _CLAIMED_SEQ.match(line)
    prev = line[-HASH_SUFFIX_LEN - 65 : -HASH_SUFFIX_LEN - 1]
    if m is None or len(line) < HASH_SUFFIX_LEN + len(PREV_KEY) + 65:
        return None
    return _At(int(m[1]), prev, b"", start, None)


def _line_at(fd: int, pos: int) -> tuple[bytes, bool]:
    """The bytes from ``pos`` to the next newline (without it), and whether there is one."""
    line = b""
    while block := os.pread(fd, BLOCK, pos + len(line)):
        newline = block.find(b"\n")
        if newline >= 0:
            return line + block[:newline], True
        line += block
    return line, False


def _boundaries(fd: int, size: int, jobs: int) -> list[int]:
    """Where each chunk starts: the first line start at or after each equal share of the file."""
    starts = [0]
    for i in range(1, jobs):
        share = size * i // jobs
        if share <= starts[-1]:
            continue
        line, newline = _line_at(fd, share - 1)
        start = share + len(line)
        if not newline or start >= size:
            break
        starts.append(start)
    return starts


def _fork_scan(fd: int, start: int, stop: int | None, at: _At) -> tuple[int, int]:
    """Scan [start, stop) from ``at`` in a forked process; (its pid, the pipe its answer comes
    through: the pickled ``(at, bad, marks)``)."""
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child (coverage does not follow a fork)
        code = 1
        try:
            # the parent's signal handling is not the child's: a Ctrl-C to the process group
            # must not reach the parent's event loop twice through its wakeup fd
            signal.set_wakeup_fd(-1)
            for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
                signal.signal(sig, signal.SIG_DFL)
            os.close(r)
            marks: _Marks = []
            end, bad = _scan(_Range(fd, start, stop), at, marks)
            with open(w, "wb") as pipe:
                pipe.write(pickle.dumps((end, bad, marks), pickle.HIGHEST_PROTOCOL))
            code = 0
        finally:
            os._exit(code)
    os.close(w)
    return pid, r


def _answer(pid: int, r: int) -> tuple[_At, _Bad | None, _Marks] | None:
    with open(r, "rb") as pipe:
        data = pipe.read()
    _, status = os.waitpid(pid, 0)
    if not os.WIFEXITED(status) or os.WEXITSTATUS(status) != 0 or not data:
        return None
    answer: tuple[_At, _Bad | None, _Marks] = pickle.loads(data)
    return answer


def _parallel(fd: int, size: int, jobs: int) -> tuple[_At, _Bad | None, _Marks]:
    """Verify the log in chunks at once: this process scans the first, forked ones the others,
    each from the seq and prev its first line claims. Where all chunks are good and each claim
    is where the chunk before ended, the answer is the single pass's. Else the log is scanned
    on in this process from the start of the first chunk that is not (knowing where the chunk
    before it ended), to find and name the first bad line exactly as a single pass does."""
    starts = _boundaries(fd, size, jobs)
    stops: list[int | None] = [*starts[1:], None]
    claims = [_START, *(_claim(fd, s) for s in starts[1:])]
    children: dict[int, tuple[int, int]] = {}
    try:
        for i in range(1, len(starts)):
            claim = claims[i]
            if claim is not None:
                children[i] = _fork_scan(fd, starts[i], stops[i], claim)
        marks: _Marks = []
        at, bad = _scan(_Range(fd, 0, stops[0]), _START, marks)
        if bad is not None:
            marks.clear()
            at, bad = _scan(_Range(fd, 0), _START, marks)
            return at, bad, marks
        for i in range(1, len(starts)):
            claim = claims[i]
            joined = claim is not None and (claim.seq, claim.prev) == (at.seq, at.prev)
            answer = _answer(*children.pop(i)) if i in children else None
            if not joined or answer is None or answer[1] is not None:
                at, bad = _scan(_Range(fd, starts[i]), at, marks)
                return at, bad, marks
            end, _, more = answer
            at = dataclasses.replace(end, first=at.first)
            marks += more
        return at, None, marks
    finally:
        for pid, r in children.values():
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
            os.close(r)
            os.waitpid(pid, 0)


def _scan(f: Readable, at: _At, marks: _Marks) -> tuple[_At, _Bad | None]:
    """Verify the lines read from ``f``, which start where ``at`` stands, keeping the records
    of the MARKED events in ``marks``; where it stopped, and the first bad line."""
    sha256 = hashlib.sha256
    loads = orjson.loads
    decode_error = orjson.JSONDecodeError
    marked = MARKED
    seq, prev, first, size, event = at.seq, at.prev, at.first, at.size, at.event
    bad: _Bad | None = None
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
                try:
                    rec = loads(body)  # the line but its hash member, checked above
                except decode_error:
                    rec = _strict_record(line, seq)
                if type(rec) is dict:
                    number = rec.get("seq")
                    if number == seq and type(number) is int:
                        event = rec.get("event")
                        if seq or event == "session.start":
                            if event in marked:
                                marks.append((seq, rec))
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
    return _At(seq, prev, first, size, event), bad
