"""The canonical form of an audit record and its hash: the ONE implementation shared by the writer
and the verifier.

A record is written as one line of UTF-8 JSON in a fixed layout::

    {"seq":N,"ts":"...","event":"...",<event fields, sorted>,"prev":"<64 hex>","hash":"<64 hex>"}

The event fields (nested objects too) use ``sort_keys=True, separators=(",", ":"),
ensure_ascii=False``. ``hash`` is the sha256 hex of the *body*: the same line without the
``,"hash":"..."`` member (that is, ending in ``"prev":"..."}``). Because seq comes first and prev
and hash have a fixed width at the end, the verifier can check the chain by slicing the raw bytes
and hashing exactly the bytes the writer wrote; a record is parsed in full only to explain a
failure.
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

ZERO_HASH = "0" * 64
RESERVED = ("seq", "ts", "event", "prev", "hash")
HASH_KEY = b',"hash":"'
PREV_KEY = b',"prev":"'
HASH_SUFFIX_LEN = len(HASH_KEY) + 64 + 2
"""Length of ``,"hash":"<64 hex>"}`` at the end of a line."""

_encode = json.JSONEncoder(
    sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str
).encode
FAST_STRING = 4096
"""Strings from this length on are escaped by ``_escaped`` (shorter ones are not worth it)."""
ESCAPE_STEP = 1 << 16
_HEX64 = re.compile(r"[0-9a-f]{64}")


class LineError(ValueError):
    """One line is not a well-formed audit record; the message says why."""


def _utf8(text: str) -> bytes:
    # A lone surrogate (undecodable output) cannot be UTF-8: it becomes "?", the same way for the
    # writer and for a verifier re-serializing the parsed record.
    return text.encode("utf-8", "replace")


def _escaped(value: str) -> list[bytes] | None:
    """The inside of ``_encode(value)`` (without the quotes) in UTF-8, in pieces of at most
    ``ESCAPE_STEP`` characters' worth, for ASCII text without a backslash; else None.

    The ``unicode_escape`` codec writes printable ASCII as is and tab, newline and carriage return
    as ``\\t \\n \\r``, exactly as JSON does, in one pass about three times as fast as the
    JSON encoder's; it does not escape ``"`` (added here) and writes any other control character
    as ``\\xNN`` (not JSON: such text is left to the JSON encoder). Without a backslash in the
    input, a ``\\x`` in the output can only be such an escape. Slices keep each allocation small
    (the codec first allocates four bytes per character), which is measurably faster.
    """
    if not value.isascii() or "\\" in value:
        return None
    pieces = []
    for start in range(0, len(value), ESCAPE_STEP):
        out = value[start : start + ESCAPE_STEP].encode("unicode_escape")
        if b"x" in out and b"\\x" in out:  # the first test is much the faster
            return None
        pieces.append(out.replace(b'"', b'\\"'))
    return pieces


def encode_fields(fields: dict[str, Any]) -> list[bytes]:
    """Canonical JSON of an event's fields (keys sorted) without the enclosing braces, in UTF-8,
    as pieces to concatenate (none for no fields).

    A long ASCII string (a step's output) is escaped by ``_escaped`` into pieces of their own, so
    that its megabyte is neither re-encoded nor copied to be joined; the pieces around them end
    with its opening quote and start with its closing quote.
    """
    long = {k for k, v in fields.items() if type(v) is str and len(v) >= FAST_STRING}
    if not long:
        inner = _utf8(_encode(fields))[1:-1]
        return [inner] if inner else []
    pieces: list[bytes] = []
    text, sep = "", ""
    for key in sorted(fields):
        value = fields[key]
        text += f"{sep}{_encode(key)}:"
        sep = ","
        escaped = _escaped(value) if key in long else None
        if escaped is None:
            text += _encode(value)
        else:
            pieces += (_utf8(text + '"'), *escaped)
            text = '"'
    pieces.append(_utf8(text))
    return pieces


def _unclosed(seq: int, ts: str, event: str, members: list[bytes], prev: str) -> list[bytes]:
    """A record's pieces up to its closing brace, without the hash member."""
    head = _utf8(f'{{"seq":{seq:d},"ts":{_encode(ts)},"event":{_encode(event)}')
    prev_member = f',"prev":"{prev}"'.encode()
    return [head, b",", *members, prev_member] if members else [head, prev_member]


def body(seq: int, ts: str, event: str, members: list[bytes], prev: str) -> bytes:
    """The hashed bytes of a record (``members`` from ``encode_fields``): all but the hash."""
    return b"".join((*_unclosed(seq, ts, event, members, prev), b"}"))


def seal(seq: int, ts: str, event: str, members: list[bytes], prev: str) -> tuple[list[bytes], str]:
    """(the record's line with its newline, in pieces to write as they are; its hash)."""
    pieces = _unclosed(seq, ts, event, members, prev)
    h = hashlib.sha256()
    for piece in pieces:
        h.update(piece)
    h.update(b"}")
    digest = h.hexdigest()
    pieces.append(HASH_KEY + digest.encode() + b'"}\n')
    return pieces, digest


def canonical(record: dict[str, Any]) -> bytes:
    """The body of a parsed record (without its hash), in canonical form."""
    fields = {k: v for k, v in record.items() if k not in RESERVED}
    return body(record["seq"], record["ts"], record["event"], encode_fields(fields), record["prev"])


def parse_line(line: bytes) -> dict[str, Any]:
    """Check one line on its own (JSON, fields, canonical form, hash) and return the record.

    Raises LineError naming the first problem. Chain checks (seq, prev) are the caller's.
    """
    try:
        record = json.loads(line)
    except (UnicodeDecodeError, ValueError) as e:
        raise LineError(f"bad JSON: {e}") from None
    if not isinstance(record, dict):
        raise LineError("not a JSON object")
    missing = [k for k in RESERVED if k not in record]
    if missing:
        raise LineError(f"missing field(s): {', '.join(missing)}")
    seq, ts, event, prev, digest = (record[k] for k in RESERVED)
    if type(seq) is not int or seq < 0:
        raise LineError(f"seq is not a non-negative integer: {seq!r}")
    if not isinstance(ts, str) or not isinstance(event, str):
        raise LineError("ts and event must be strings")
    for name, value in (("prev", prev), ("hash", digest)):
        if not isinstance(value, str) or not _HEX64.fullmatch(value):
            raise LineError(f"{name} is not a sha256 hex digest")
    expected_body = canonical({k: v for k, v in record.items() if k != "hash"})
    if expected_body[:-1] + HASH_KEY + digest.encode() + b'"}' != line:
        raise LineError("not in canonical form (the record was re-serialized or edited)")
    if hashlib.sha256(expected_body).hexdigest() != digest:
        raise LineError("hash mismatch (the record was changed)")
    return record
