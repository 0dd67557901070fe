"""A Ctrl-C while annotui is still loading the modules of its command is an interruption: one
line and exit 3, never a KeyboardInterrupt traceback (issue 12). Found by sending SIGINT at
random moments: the first half second of `annotui run` loads asyncio and the engine.

The signal is real: the process sends SIGINT to itself as the command's handler module is
imported, the moment a random Ctrl-C hit most often."""

from __future__ import annotations

import subprocess
import sys

import pytest

SELF_INTERRUPT = """
import importlib, os, signal
import annotui.cli as cli
real = importlib.import_module
def interrupted(name):
    os.kill(os.getpid(), signal.SIGINT)  # Python raises KeyboardInterrupt at the next step
    return real(name)
importlib.import_module = interrupted
raise SystemExit(cli.main({argv!r}))
"""


@pytest.mark.parametrize("argv", [["run", "x.toml", "--plain"], ["check", "x.toml"]])
def test_ctrl_c_while_loading_is_one_line(argv: list[str]) -> None:
    r = subprocess.run(
        [sys.executable, "-c", SELF_INTERRUPT.format(argv=argv)],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert "Traceback" not in r.stderr, r.stderr
    assert r.stderr.strip() == "annotui: interrupted"
    assert r.returncode == 3
