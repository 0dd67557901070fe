"""Canonical form: format 2 (orjson, sorted keys) parses back to what was written, and logs of
format 1 (json.dumps) still pass every check."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from annotui.audit import chain

TS = "2026-01-01T00:00:00.000000Z"
json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**63 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20,
)


def line_of(fields: dict[str, Any]) -> bytes:
    pieces, _ = chain.seal(3, TS, "step.output", chain.encode_fields(fields), "0" * 64)
    return b"".join(pieces).rstrip(b"\n")


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.text().filter(lambda k: k not in chain.RESERVED), json_values))
def test_any_record_parses_back_to_its_fields(fields: dict[str, Any]) -> None:
    record = chain.parse_line(line_of(fields))
    # a lone surrogate cannot be UTF-8: it is written as "?" (format 1 did the same)
    expected = json.loads(chain.encode(fields))
    assert {k: v for k, v in record.items() if k not in chain.RESERVED} == expected


def test_long_output_with_every_character() -> None:
    text = "".join(chr(c) for c in range(0x2100)) * 40 + "\udcff"
    fields = {"step_key": "s/x", "stream": "stdout", "text": text}
    record = chain.parse_line(line_of(fields))
    assert record["text"] == text.replace("\udcff", "?")


def test_what_orjson_refuses_falls_back_to_format_1() -> None:
    fields = {"big": 2**70, "nested": {"k": "\udc80"}}
    record = chain.parse_line(line_of(fields))
    assert record["big"] == 2**70 and record["nested"] == {"k": "?"}


def legacy_line(seq: int, fields: dict[str, Any], prev: str) -> bytes:
    """A record exactly as annotui 0.1 wrote it (format 1: json.dumps)."""
    dump = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode
    inner = dump(fields)[1:-1]
    body = f'{{"seq":{seq},"ts":"{TS}","event":"step.finished",{inner},"prev":"{prev}"}}'
    digest = hashlib.sha256(body.encode()).hexdigest()
    return body[:-1].encode() + chain.HASH_KEY + digest.encode() + b'"}'


def test_format_1_records_still_pass_the_canonical_check() -> None:
    fields = {"duration": 5e-07, "outcome": "ok", "step_key": "s/é", "x": [1.5e16, 0.1]}
    line = legacy_line(0, fields, "0" * 64)
    assert b"5e-07" in line  # orjson would write 5e-7: the two formats differ here
    assert chain.parse_line(line)["duration"] == 5e-07


def test_an_edited_record_is_named() -> None:
    line = line_of({"outcome": "ok", "step_key": "s/x"})
    edited = line.replace(b'"ok"', b'"no"')
    with pytest.raises(chain.LineError, match="hash mismatch"):
        chain.parse_line(edited)
    respaced = line.replace(b'"outcome":', b'"outcome": ')
    with pytest.raises(chain.LineError, match="canonical"):
        chain.parse_line(respaced)
