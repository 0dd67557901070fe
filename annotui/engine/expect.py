"""Expectations of `check` steps: every given expectation must hold."""

from __future__ import annotations

import posixpath
import re
from typing import TYPE_CHECKING

from annotui.checklist.tables import fields

if TYPE_CHECKING:
    from annotui.checklist.models import Expect


def _short(text: str, limit: int = 200) -> str:
    text = text.strip()
    return repr(text if len(text) <= limit else text[:limit] + "...")


def mode_satisfies(actual: int, required: int) -> bool:
    """Every permission bit of `required` is set in `actual` (775 satisfies 774, 770 does not)."""
    return actual & required == required


def _check_mode(required: str, stdout: str) -> str | None:
    want = int(required, 8)
    lines = [ln.strip() for ln in stdout.splitlines() if ln.strip()]
    if not lines:
        return f"expected mode at least {required}, got no output"
    for line in lines:
        word = line.split()[0]
        if not re.fullmatch(r"[0-7]{1,4}", word):
            return f"expected mode at least {required}, got {_short(line)} (not an octal mode)"
        if not mode_satisfies(int(word, 8), want):
            return f"expected mode at least {required}, got {word}"
    return None


def _same_target(actual: str, wanted: str) -> bool:
    a, w = posixpath.normpath(actual), posixpath.normpath(wanted)
    return a == w or a.endswith("/" + w.lstrip("./")) or w.endswith("/" + a.lstrip("./"))


def evaluate(expect: Expect, exit_code: int | None, stdout: str) -> tuple[bool, str]:
    """(holds, message). The message is 'expected ..., got ...' for the first failure."""
    if expect.exit is not None and exit_code != expect.exit:
        return False, f"expected exit {expect.exit}, got {exit_code}"
    if expect.equals is not None and stdout.strip() != expect.equals.strip():
        return False, f"expected {_short(expect.equals)}, got {_short(stdout)}"
    if expect.stdout_matches is not None and not re.search(expect.stdout_matches, stdout, re.M):
        return False, f"expected output matching {expect.stdout_matches!r}, got {_short(stdout)}"
    if expect.mode_at_least is not None:
        problem = _check_mode(expect.mode_at_least, stdout)
        if problem:
            return False, problem
    if expect.symlink_to is not None and not _same_target(stdout.strip(), expect.symlink_to):
        return False, f"expected a symlink to {expect.symlink_to!r}, got {_short(stdout)}"
    held = [f"{name} {value}" for name, value in fields(expect, exclude_none=True).items()]
    return True, "held: " + ", ".join(held)
