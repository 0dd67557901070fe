"""Hash-valid audit records of any shape, as someone who computes the hashes could write them.

The chain (``annotui.audit.chain``) computes every hash, so the lines pass the fast path of
``verify``: a reader meets them as it would meet a log of another writer, or of a bug.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from annotui.audit import chain

TS = "2026-01-01T00:00:00.000000Z"


def sealed(body: bytes) -> tuple[bytes, str]:
    """A line (with its newline) for ``body``: every byte of a record but its hash member,
    ending in ``"prev":"..."}``; and its hash. ``body`` need not be JSON."""
    digest = hashlib.sha256(body).hexdigest()
    return body[:-1] + chain.HASH_KEY + digest.encode() + b'"}\n', digest


class Forger:
    """Appends hash-valid lines to a log, chained one to the next."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.seq = 0
        self.prev = chain.ZERO_HASH
        self.lines: list[bytes] = []

    def raw(self, middle: bytes) -> bytes:
        """A line ``{"seq":N,"ts":"`` + ``middle`` + ``,"prev":"..."}``: hash-valid, JSON only if
        ``middle`` makes it so."""
        body = b'{"seq":%d,"ts":"' % self.seq + middle + b',"prev":"%s"}' % self.prev.encode()
        return self._add(body)

    def record(self, event: Any, fields: dict[str, Any], ts: Any = TS) -> bytes:
        """A canonical record whose fields (and even ts and event) may be any JSON value."""
        head = b'{"seq":%d,"ts":%b,"event":%b' % (self.seq, chain.encode(ts), chain.encode(event))
        members = chain.encode_fields(fields)
        body = head + (b"," + b"".join(members) if members else b"")
        return self._add(body + b',"prev":"%s"}' % self.prev.encode())

    def _add(self, body: bytes) -> bytes:
        line, self.prev = sealed(body)
        self.seq += 1
        self.lines.append(line)
        return line

    def write(self) -> Path:
        self.path.write_bytes(b"".join(self.lines))
        return self.path
