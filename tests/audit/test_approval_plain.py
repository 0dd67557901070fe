"""Plain mode's approval wait: who is asked, n of min, the time left (a line on each approval or
refusal; on a terminal also every few seconds), and the exact `annotui audit approve` command,
shell-quoted, that another person copies and runs."""

from __future__ import annotations

import asyncio
import io
import os
import queue
import re
import shlex
import subprocess
import sys
import threading
import time
from pathlib import Path

from annotui import events as ev
from annotui.engine.plain import PlainPresenter

from .sshkeys import Key, allowed_signers, keys  # noqa: F401

ANNOTUI = [sys.executable, "-m", "annotui.cli"]
STEP = "release[eu west]/approve"

CHECKLIST = """\
[checklist]
id = "two-person"
title = "A release that needs two more people"
allowed_signers = "allowed signers"

[vars.region]
prompt = "Region"
choices = ["eu west"]
default = "eu west"

[[stages]]
id = "release"
title = "Release"
for_each = { region = ["eu west"] }

  [[stages.steps]]
  id = "approve"
  kind = "approval"
  title = "Two people approve the release"
  approvers = ["bob@example", "mallory@example"]
  min = 2
  timeout = 300
"""


class _Lines:
    """A process's stdout, line by line, read in a thread."""

    def __init__(self, proc: subprocess.Popen[str]) -> None:
        self.seen: list[str] = []
        self._queue: queue.Queue[str | None] = queue.Queue()
        assert proc.stdout is not None
        stdout = proc.stdout
        threading.Thread(target=self._read, args=(stdout,), daemon=True).start()

    def _read(self, stdout: io.TextIOBase) -> None:
        for line in stdout:
            self._queue.put(line.rstrip("\n"))
        self._queue.put(None)

    def until(self, pattern: str, within: float = 60) -> re.Match[str]:
        deadline = time.monotonic() + within
        while True:
            line = self._queue.get(timeout=max(0.0, deadline - time.monotonic()))
            assert line is not None, f"the run ended before {pattern!r}: {self.seen}"
            self.seen.append(line)
            if m := re.search(pattern, line):
                return m


def test_plain_mode_shows_the_wait_and_a_second_process_approves(
    tmp_path: Path,
    keys: dict[str, Key],  # noqa: F811
) -> None:
    world = tmp_path / "release day"  # a space in every path: the command must quote it
    world.mkdir()
    allowed_signers(
        world / "allowed signers",
        ("alice@example", keys["operator"], ""),
        ("bob@example", keys["reviewer"], ""),
        ("mallory@example", keys["mallory"], ""),
    )
    (world / "release.toml").write_text(CHECKLIST)
    log = world / "audit log.jsonl"
    env = {**os.environ, "XDG_STATE_HOME": str(world / "state")}
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    args = ["run", str(world / "release.toml"), "--plain", "--yes", "--audit", str(log)]
    run = subprocess.Popen(
        [*ANNOTUI, *args, "--sign-with", str(keys["operator"].private)],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    out = _Lines(run)

    def approve(key: Key) -> None:
        # the command as plain mode printed it, KEY filled in, run by a shell
        command = how.replace("KEY", shlex.quote(str(key.private)))
        done = subprocess.run(
            ["bash", "-c", command.replace(" [--note TEXT]", " --note 'looks good'")],
            capture_output=True,
            text=True,
            env=env,
            timeout=60,
        )
        assert done.returncode == 0, done.stderr

    try:
        out.until(r"waiting for 2 approval\(s\) by bob@example, mallory@example")
        out.until("an approver runs, in another terminal:")
        how = out.until(r"^     annotui audit approve ").string.strip()
        assert how == (
            f"annotui audit approve '{log}' --step 'release[eu west]/approve' "
            "--sign-with KEY [--note TEXT]"
        )
        first = out.until(r"approvals: 0 of 2 · (\d):(\d\d) left")
        assert 290 <= int(first[1]) * 60 + int(first[2]) <= 300, first.string
        time.sleep(1.5)
        approve(keys["operator"])  # the run's own signer: refused, and the count is shown again
        out.until(r"approval refused .*the run's own signer cannot approve it")
        out.until(r"approvals: 0 of 2 · \d:\d\d left")
        approve(keys["reviewer"])
        out.until(r"approved by bob@example")
        second = out.until(r"approvals: 1 of 2 \(bob@example\) · (\d):(\d\d) left")
        assert int(second[1]) * 60 + int(second[2]) < int(first[1]) * 60 + int(first[2])
        assert run.poll() is None
        approve(keys["mallory"])
        out.until(r"approved by mallory@example")
        out.until(r"approvals: 2 of 2 \(bob@example, mallory@example\)")
        out.until(r"=> ok")
        assert run.wait(timeout=60) == 0
    finally:
        if run.poll() is None:
            run.kill()
            run.wait()
    # not a terminal: no line but on a change (the wait, one refusal, two approvals)
    assert sum("approvals:" in line for line in out.seen) == 4, out.seen


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_on_a_terminal_the_time_left_is_shown_every_tick_until_the_step_ends() -> None:
    screen = _Terminal()
    show = PlainPresenter(screen, tick=0.1)

    async def wait() -> None:
        how = "annotui audit approve /x --step s/a --sign-with KEY [--note TEXT]"
        show(ev.ApprovalWaiting("s/a", ["bob@example"], 1, "w" * 32, how, None))
        await asyncio.sleep(0.55)
        show(ev.ApprovalGranted("s/a", "bob@example", "SHA256:k", "", "t", "sig"))
        show(ev.StepFinished("s/a", "ok", duration=0.5, message="approved by bob@example"))
        await asyncio.sleep(0.4)  # the wait is over: no line more

    asyncio.run(wait())
    lines = screen.getvalue().splitlines()
    status = [line for line in lines if "approvals:" in line]
    assert 4 <= len(status) <= 8, lines
    assert all("0 of 1 · no time limit, waiting for 0:0" in line for line in status[:-1]), lines
    assert status[-1] == "   approvals: 1 of 1 (bob@example) · no time limit, waiting for 0:01"
    assert lines[-2:] == ["   => ok in 0.50 s", "      approved by bob@example"], lines
