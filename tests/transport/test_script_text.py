"""The script a shell is given: text that cannot be bytes is a clear TransportError."""

from __future__ import annotations

import pytest

from annotui.transport.base import TransportError
from annotui.transport.shell import script


@pytest.mark.parametrize(
    ("command", "env", "what"),
    [
        ("echo \ud800", None, "not UTF-8"),
        ("true", {"V": "x\udfff\ud83d"}, "not UTF-8"),
        ("echo a\0b", None, "NUL byte"),
    ],
)
def test_text_no_shell_can_hold_is_refused_clearly(
    command: str, env: dict[str, str] | None, what: str
) -> None:
    with pytest.raises(TransportError, match=what):
        script(command, env=env, stdin_null=True)


def test_undecodable_bytes_go_through_as_the_same_bytes() -> None:
    raw = b"echo \xff\xfe"
    text = raw.decode("utf-8", "surrogateescape")
    assert script(text, stdin_null=False) == raw
