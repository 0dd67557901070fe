"""Canonical form: the fast path for long strings writes exactly what the JSON encoder writes."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from annotui.audit import chain


def reference(fields: dict[str, Any]) -> bytes:
    text = json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return text.encode("utf-8", "replace")


def encoded(fields: dict[str, Any]) -> bytes:
    return b"{" + b"".join(chain.encode_fields(fields)) + b"}"


def test_every_ascii_character_in_long_text() -> None:
    for code in range(128):
        text = ("line\n" * 1000 + chr(code) + "tail") * 2
        assert len(text) >= chain.FAST_STRING
        fields = {"text": text, "step_key": "s/x", "stream": "stdout", "n": 1, "z": None}
        assert encoded(fields) == reference(fields), repr(chr(code))


def test_long_non_ascii_text_and_lone_surrogates() -> None:
    for text in ("é\n" * 5000, "\udcff" + "a" * 5000, "a\\b" * 2000):
        fields = {"a": [1, "x"], "text": text}
        assert encoded(fields) == reference(fields)


def test_output_record_takes_the_fast_path_and_verifies() -> None:
    text = "\n".join(str(i) for i in range(1, 20000)) + '\t"quoted"\r'
    fields = {"step_key": "s/x", "stream": "stdout", "text": text}
    members = chain.encode_fields(fields)
    # the text is escaped in slices of its own, between the members before and after it
    assert len(members) == 2 + -(-len(text) // chain.ESCAPE_STEP)
    assert members[0].endswith(b'"text":"') and members[-1] == b'"'
    assert sum(map(len, members[1:-1])) > len(text)
    pieces, digest = chain.seal(3, "2026-01-01T00:00:00.000000Z", "step.output", members, "0" * 64)
    line = b"".join(pieces)
    assert (
        line
        == chain.body(3, "2026-01-01T00:00:00.000000Z", "step.output", members, "0" * 64)[:-1]
        + chain.HASH_KEY
        + digest.encode()
        + b'"}\n'
    )
    record = chain.parse_line(line.rstrip(b"\n"))
    assert record["text"] == text and record["hash"] == digest


@settings(max_examples=300, deadline=None)
@given(
    st.text(alphabet=st.characters(max_codepoint=0x7F), min_size=1, max_size=40),
    st.text(max_size=8),
    st.dictionaries(st.text(max_size=5), st.integers() | st.text(max_size=5), max_size=3),
)
def test_fast_path_matches_json(unit: str, other: str, extra: dict[str, Any]) -> None:
    long = unit * (chain.FAST_STRING // len(unit) + 1)
    fields: dict[str, Any] = {"text": long, "other": long + other}
    fields.update({"x" + k: v for k, v in extra.items()})
    assert encoded(fields) == reference(fields)
