"""The canonical form of an audit record and its hash: the ONE implementation shared by the writer
and the verifier.

A record is written as one line of UTF-8 JSON in a fixed layout::

    {"seq":N,"ts":"...","event":"...",<event fields, sorted>,"prev":"<64 hex>","hash":"<64 hex>"}

The event fields (nested objects too) are canonical JSON with sorted keys, no spaces and UTF-8
text as is: since format 2, orjson's output (``OPT_SORT_KEYS``); format 1 (annotui 0.1) was
``json.dumps(sort_keys=True, separators=(",", ":"), ensure_ascii=False)``, which differs only in
how some floats are written. Both verify: the chain is checked on the bytes as written.
``hash`` is the sha256 hex of the *body*: the same line without the
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

import orjson

ZERO_HASH = "0" * 64
RESERVED = ("seq", "ts", "event", "prev", "hash")
HASH_KEY = b',"hash":"'
PREV_KEY = b',"prev":"'
HASH_SUFFIX_LEN = len(HASH_KEY) + 64 + 2
"""Length of ``,"hash":"<64 hex>"}`` at the end of a line."""

_legacy = json.JSONEncoder(
    sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str
).encode
"""Format 1's encoder; still the fallback for what orjson refuses (see ``encode``)."""
_OPTIONS = orjson.OPT_SORT_KEYS | orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS
_HEX64 = re.compile(r"[0-9a-f]{64}")


class LineError(ValueError):
    """One line is not a well-formed audit record; the message says why."""


def _utf8(text: str) -> bytes:
    # A lone surrogate (undecodable output) cannot be UTF-8: it becomes "?", the same way for the
    # writer and for a verifier re-serializing the parsed record.
    return text.encode("utf-8", "replace")


def encode(value: Any) -> bytes:
    """Canonical JSON of a value in UTF-8: orjson with sorted keys (format 2). What orjson
    refuses (a lone surrogate, an integer beyond 64 bits, a non-string key) is encoded by
    format 1's ``json.dumps`` instead, lone surrogates as "?"; both parse back to the same
    value."""
    try:
        return orjson.dumps(value, default=str, option=_OPTIONS)
    except (orjson.JSONEncodeError, TypeError):
        return _utf8(_legacy(value))


def encode_fields(fields: dict[str, Any]) -> list[bytes]:
    """Canonical JSON of an event's fields (keys sorted) without the enclosing braces, in UTF-8,
    as pieces to concatenate (none for no fields)."""
    inner = encode(fields)[1:-1]
    return [inner] if inner else []


def _unclosed(seq: int, ts: str, event: str, members: list[bytes], prev: str) -> list[bytes]:
    """A record's pieces up to its closing brace, without the hash member."""
    head = b'{"seq":%d,"ts":%b,"event":%b' % (seq, encode(ts), encode(event))
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


def canonical(record: dict[str, Any], legacy: bool = False) -> bytes:
    """The body of a parsed record (without its hash), in canonical form: format 2 (orjson), or
    with ``legacy`` format 1 (``json.dumps``, which writes some floats differently: ``1e-07``
    where orjson writes ``1e-7``)."""
    fields = {k: v for k, v in record.items() if k not in RESERVED}
    if legacy:
        inner = _utf8(_legacy(fields))[1:-1]
        head = _utf8(f'{{"seq":{record["seq"]:d},"ts":{_legacy(record["ts"])},')
        head += _utf8(f'"event":{_legacy(record["event"])}')
        prev = f',"prev":"{record["prev"]}"}}'.encode()
        return head + (b"," + inner if inner else b"") + prev
    return body(record["seq"], record["ts"], record["event"], encode_fields(fields), record["prev"])


def _shown(value: Any, limit: int = 40) -> str:
    """A value as a message quotes it: its repr, cut short."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def parse_line(line: bytes) -> dict[str, Any]:
    """Check one line on its own (JSON, fields, canonical form, hash) and return the record.

    Raises LineError naming the first problem. Chain checks (seq, prev) are the caller's.
    """
    try:
        record = json.loads(line)
    except (UnicodeDecodeError, ValueError) as e:
        raise LineError(f"bad JSON: {e}") from None
    except RecursionError:
        raise LineError("bad JSON: nested too deeply to be read") from None
    if not isinstance(record, dict):
        raise LineError("not a JSON object")
    missing = [k for k in RESERVED if k not in record]
    if missing:
        raise LineError(f"missing field(s): {', '.join(missing)}")
    seq, ts, event, prev, digest = (record[k] for k in RESERVED)
    if type(seq) is not int or seq < 0:
        raise LineError(f"field 'seq' is {_shown(seq)}, expected a non-negative integer")
    for name, value in (("ts", ts), ("event", event)):
        if not isinstance(value, str):
            raise LineError(f"field {name!r} is {_shown(value)}, expected a string")
    for name, value in (("prev", prev), ("hash", digest)):
        if not isinstance(value, str) or not _HEX64.fullmatch(value):
            raise LineError(f"field {name!r} is {_shown(value)}, expected a sha256 hex digest")
    unhashed = {k: v for k, v in record.items() if k != "hash"}
    tail = HASH_KEY + digest.encode() + b'"}'
    expected_body = canonical(unhashed)
    if expected_body[:-1] + tail != line:
        expected_body = canonical(unhashed, legacy=True)  # a log written by annotui before 0.2
        if expected_body[:-1] + tail != line:
            raise LineError("not in canonical form (the record was re-serialized or edited)")
    if hashlib.sha256(expected_body).hexdigest() != digest:
        raise LineError("hash mismatch (the record was changed)")
    return record
