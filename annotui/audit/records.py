"""The JSON half of ``verify`` for a large log, in a second process.

``verify`` proves two things of every line: its hash chain (sha256 over the exact bytes) and
that it is the JSON object every reader will see, with its seq. Each costs about as much as the
other, and they do not depend on each other, so for a large log this module checks the second
in another process (``python -m annotui.audit.records PATH`` prints how many lines from the start
are such records, then the records of the events the seals are judged by, one JSON line each,
``[seq, record]``) while ``verify`` hashes. Only a log where the two disagree is read again, the
slow way, to name its first bad line.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import orjson

from annotui.audit.chain import HASH_SUFFIX_LEN, LineError, parse_line
from annotui.audit.lines import Lines
from annotui.audit.seal import MARKED

Marks = list[tuple[int, dict[str, Any]]]

ANSWER_WITHIN = 600.0
"""Seconds the checker may take after ``verify`` has hashed the log (then: no answer)."""


def leading_records(path: Path | str, marks: Marks) -> int:
    """How many lines from the start of ``path`` are each one JSON object whose seq is its
    index, judged as ``verify``'s fast path judges them (orjson on the line without its hash
    member; ``chain.parse_line`` for what orjson refuses). The records of MARKED events among
    them are appended to ``marks`` as (seq, record)."""
    loads, decode_error = orjson.loads, orjson.JSONDecodeError
    marked = MARKED
    n = 0
    with open(path, "rb") as f:
        for batch in Lines(f).batches():
            for line in batch:
                try:
                    rec = loads(line[:-HASH_SUFFIX_LEN] + b"}")
                except decode_error:
                    try:
                        rec = parse_line(line)
                    except LineError:
                        return n
                if type(rec) is not dict:
                    return n
                seq = rec.get("seq")
                if seq != n or type(seq) is not int:
                    return n
                if rec.get("event") in marked:
                    marks.append((n, rec))
                n += 1
    return n


class Checker:
    """A running ``leading_records`` in another process."""

    def __init__(self, proc: subprocess.Popen[bytes]) -> None:
        self._proc = proc

    def result(self) -> tuple[int, Marks] | None:
        """Its answer (the count, the marks), or None if it gave none (then the caller checks
        for itself)."""
        try:
            out, _ = self._proc.communicate(timeout=ANSWER_WITHIN)
            if self._proc.returncode != 0:
                return None
            count, *rest = out.splitlines()
            marks = [orjson.loads(line) for line in rest]
            return int(count), [(int(seq), rec) for seq, rec in marks]
        except (subprocess.TimeoutExpired, ValueError, TypeError, OSError):
            return None

    def stop(self) -> None:
        if self._proc.poll() is None:
            with contextlib.suppress(OSError):
                self._proc.kill()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self._proc.wait(timeout=30)
        if self._proc.stdout is not None:
            self._proc.stdout.close()


def start(path: Path) -> Checker | None:
    """Start checking ``path`` in another process (None if it cannot be started)."""
    env = dict(os.environ)
    here = str(Path(__file__).resolve().parents[2])  # where this annotui is imported from
    env["PYTHONPATH"] = os.pathsep.join(p for p in (here, env.get("PYTHONPATH")) if p)
    try:
        proc = subprocess.Popen(
            [sys.executable, "-m", "annotui.audit.records", str(path)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env=env,
        )
    except OSError:
        return None
    return Checker(proc)


if __name__ == "__main__":
    found: Marks = []
    try:
        count = leading_records(sys.argv[1], found)
    except OSError:
        sys.exit(1)
    out = sys.stdout.buffer
    out.write(b"%d\n" % count)
    for mark in found:
        out.write(orjson.dumps(list(mark)) + b"\n")
