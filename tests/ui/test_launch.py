"""`annotui run FILE` on a terminal: a broken checklist is bad input, reported like `annotui
check` does (FILE:LINE:COL on stderr, exit 2) before the cockpit takes the screen."""

from __future__ import annotations

import os
import pty
import subprocess
import sys
from pathlib import Path

CHECKLISTS = Path(__file__).parent / "checklists"

ALT_SCREEN = b"\x1b[?1049h"
"""What Textual writes first when it takes the terminal."""


def run_on_a_terminal(args: list[str], cwd: Path) -> tuple[int, str, bytes]:
    """(exit code, stderr, what reached the terminal) of `annotui ARGS` with a pty as stdin and
    stdout, so it takes the cockpit path."""
    master, slave = pty.openpty()
    try:
        proc = subprocess.Popen(
            [sys.executable, "-m", "annotui.cli", *args],
            stdin=slave,
            stdout=slave,
            stderr=subprocess.PIPE,
            cwd=cwd,
            env={**os.environ, "TERM": "xterm-256color", "XDG_STATE_HOME": str(cwd / "state")},
        )
        os.close(slave)
        slave = -1
        try:
            _, err = proc.communicate(timeout=60)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        screen = b""
        os.set_blocking(master, False)
        try:
            while chunk := os.read(master, 65536):
                screen += chunk
        except OSError:  # EAGAIN: all read; EIO: the child's side is closed
            pass
        return proc.returncode, err.decode(), screen
    finally:
        os.close(master)
        if slave >= 0:
            os.close(slave)


def test_a_broken_checklist_exits_2_before_the_cockpit(tmp_path: Path) -> None:
    path = CHECKLISTS / "broken-kind.toml"
    code, err, screen = run_on_a_terminal(["run", str(path)], tmp_path)
    assert code == 2, err
    assert f"{path}:10:10: unknown step kind 'comand'" in err
    assert "Traceback" not in err
    assert ALT_SCREEN not in screen


def test_an_unknown_checklist_name_exits_2_before_the_cockpit(tmp_path: Path) -> None:
    code, err, screen = run_on_a_terminal(["run", "anno-relase"], tmp_path)
    assert code == 2, err
    assert "anno-relase:1:1: no such file, and no bundled checklist of that name" in err
    assert ALT_SCREEN not in screen
