"""Property: whatever the var values, a rendered `run` executed by `sh -c` receives each value as
one intact argument, and nothing else runs (a real /bin/sh, no mocks)."""

from __future__ import annotations

import subprocess
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from annotui.checklist.template import render

HOSTILE = [
    "$(touch CANARY)",
    "`touch CANARY`",
    "; touch CANARY",
    "' ; touch CANARY ; '",
    '" ; touch CANARY ; "',
    "*",
    "--help",
    "\n touch CANARY \n",
    "${IFS}touch${IFS}CANARY",
    "{{ b }}",
    "",
    "a\\",
]
# argv cannot hold NUL; everything else goes, including newlines, quotes and non-ASCII.
VALUES = st.one_of(
    st.sampled_from(HOSTILE),
    st.text(st.characters(blacklist_characters="\x00", blacklist_categories=("Cs",))),
)
# printf repeats its format for every argument: each argument comes out NUL-terminated.
TEMPLATE = r"printf '%s\000' {{ a }} {{b}} x{{ a }}y | cat"


@settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(a=VALUES, b=VALUES)
def test_each_value_is_one_intact_argument(tmp_path: Path, a: str, b: str) -> None:
    command = render(TEMPLATE, {"a": a, "b": b}, shell=True)
    proc = subprocess.run(["sh", "-c", command], cwd=tmp_path, capture_output=True, timeout=20)
    assert proc.returncode == 0, proc.stderr
    args = proc.stdout.decode().split("\0")
    assert args == [a, b, f"x{a}y", ""]
    assert not (tmp_path / "CANARY").exists()
    assert list(tmp_path.iterdir()) == []


def test_markdown_is_not_quoted() -> None:
    assert render("Released {{ a }}", {"a": "v1 'x'"}, shell=False) == "Released v1 'x'"


def test_shell_braces_stay_untouched() -> None:
    template = "awk '{ print $1 }' ${HOME}/{a,b} {{ a }}"
    assert render(template, {"a": "x y"}, shell=True) == "awk '{ print $1 }' ${HOME}/{a,b} 'x y'"
