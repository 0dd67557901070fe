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
PREV_MEMBER_LEN = len(PREV_KEY) + 64 + 1
"""Length of ``,"prev":"<64 hex>"`` just before the hash member."""

_encode = json.JSONEncoder(
    sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str
).encode
_HEX64 = re.compile(r"[0-9a-f]{64}")


class LineError(ValueError):
    """One line is not a well-formed audit record; the message says why."""


def encode_fields(fields: dict[str, Any]) -> str:
    """Canonical JSON of an event's fields (an object, keys sorted)."""
    return _encode(fields)


def body(seq: int, ts: str, event: str, fields_json: str, prev: str) -> bytes:
    """The hashed bytes of a record: everything but the hash member."""
    inner = fields_json[1:-1]
    text = (
        f'{{"seq":{seq:d},"ts":{_encode(ts)},"event":{_encode(event)}'
        + ("," + inner if inner else "")
        + f',"prev":"{prev}"}}'
    )
    # A lone surrogate (undecodable output) cannot be UTF-8: it becomes "?", the same way for the
    # writer and for a verifier re-serializing the parsed record.
    return text.encode("utf-8", "replace")


def seal(record_body: bytes) -> tuple[bytes, str]:
    """(the full line with its newline, the hash) for a record body."""
    digest = hashlib.sha256(record_body).hexdigest()
    return record_body[:-1] + HASH_KEY + digest.encode() + b'"}\n', digest


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
