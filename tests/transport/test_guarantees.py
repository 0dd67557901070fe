"""What both transports promise, tried on the real thing (LocalTransport with /bin/sh, and
SshTransport against the test sshd on 127.0.0.1, whose processes /proc shows here too):

- the command's text (and its environment) is in no process's argv while it runs;
- the text runs exactly as `sh -c TEXT` would run it;
- the command's whole process group dies with annotui (`kill -9` included), on a cancel and on
  a timeout, TERM-ignoring children too, while what a finished command left running stays;
- `on_spawn` gets the process group, alive during the run and gone after; `is_alive` says so.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
from sshd_fixture import Sshd, group_members, pids_with_in_argv

from annotui.transport.base import KILL_GRACE, Transport, TransportError, is_alive
from annotui.transport.local import LocalTransport
from annotui.transport.shell import MAX_SCRIPT
from annotui.transport.ssh import SshTransport

pytestmark = pytest.mark.timeout(120)
KINDS = ["local", "ssh"]


class Lines:
    def __init__(self) -> None:
        self.out: list[str] = []
        self.err: list[str] = []
        self.seen = asyncio.Event()

    def __call__(self, stream: str, line: str) -> None:
        (self.out if stream == "stdout" else self.err).append(line)
        self.seen.set()


async def _until(pred: Callable[[], bool], timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not pred():
        assert time.monotonic() < deadline, "condition not reached"
        await asyncio.sleep(0.05)


def _make(kind: str, sshd: Sshd) -> Transport:
    if kind == "local":
        return LocalTransport()
    return SshTransport("tsd", "tsd", config_path=sshd.ssh_config)


@pytest.fixture(params=KINDS)
async def transport(request: pytest.FixtureRequest, sshd: Sshd) -> AsyncIterator[Transport]:
    t = _make(request.param, sshd)
    yield t
    await t.close()


def _alive(pid: int) -> bool:
    return pid in group_members(os.getpgid(pid)) if Path(f"/proc/{pid}").exists() else False


# -- secrets out of argv ---------------------------------------------------------------------


@pytest.mark.parametrize("pty", [False, True])
async def test_the_command_text_and_env_are_in_no_argv(transport: Transport, pty: bool) -> None:
    secret = "s3cr3t-" + secrets.token_hex(8)
    token = "t0ken-" + secrets.token_hex(8)
    got = Lines()
    pgids: list[int] = []
    task = asyncio.create_task(
        transport.run(
            f"printf '%s\\n' \"started ${{#TOKEN}}\"; : '{secret}'\"'\"'q'; sleep 1.5; echo done",
            on_line=got,
            env={"TOKEN": token},
            pty=pty,
            on_spawn=pgids.append,
        )
    )
    await asyncio.wait_for(got.seen.wait(), 20)
    assert got.out[0].strip() == f"started {len(token)}"  # the environment reached the command
    assert group_members(pgids[0]), "the command is running"
    assert pids_with_in_argv(secret.encode()) == []
    assert pids_with_in_argv(token.encode()) == []
    # Nor is the environment in that of the command's shell (only its children get it).
    assert token.encode() not in Path(f"/proc/{pgids[0]}/environ").read_bytes()
    r = await task
    assert r.exit_code == 0 and got.out[-1].strip() == "done"


# -- the text runs exactly -------------------------------------------------------------------

EXACT = [
    "printf '%s' \"it's $(printf 'sub\\n\\n') \\\"q\\\" `echo bt`\" > out",
    "printf 'tail\\n\\n\\n' > out\n\n\n",
    "printf '%s' 'caf\udce9 \udcff\udcfe' > out",  # bytes that are not UTF-8
    "cat > out <<'EOF'\n  keep   spaces\t\n\n$(not run) \\\nEOF\n",
    "x='a'\"'\"'b'; printf '%s|%s' \"$x\" \"$#\" > out",
    "printf '%s' \"$(cat <<'E'\nx\n\n\nE\n)\" > out; exit 7",
    "cat > out; printf x >> out \\",  # stdin is empty; the text ends in a backslash
    "printf a > out; kill -s TERM $$; printf b >> out",
    "printf '%s\\n' \"$$\" > pid; set > vars; printf ok > out",
]


@pytest.mark.parametrize("command", EXACT, ids=range(len(EXACT)))
async def test_the_text_runs_as_sh_c_would(
    transport: Transport, tmp_path: Path, command: str
) -> None:
    mine, theirs = tmp_path / "mine", tmp_path / "theirs"
    mine.mkdir()
    theirs.mkdir()
    r = await transport.run(command, on_line=Lines(), cwd=str(mine))
    plain = subprocess.run(
        ["/bin/sh", "-c", command], cwd=theirs, stdin=subprocess.DEVNULL, capture_output=True
    )
    assert (mine / "out").read_bytes() == (theirs / "out").read_bytes()
    if plain.returncode < 0:
        assert r.signal == signal.Signals(-plain.returncode).name and r.exit_code != 0
    else:
        assert r.exit_code == plain.returncode and r.signal is None
    if (mine / "vars").exists():  # nothing of the bootstrap is left in the shell's variables
        assert b"__" not in (mine / "vars").read_bytes()


async def test_the_text_runs_exactly_with_a_pty(sshd: Sshd, tmp_path: Path) -> None:
    t = SshTransport("tsd", "tsd", config_path=sshd.ssh_config)
    try:
        command = EXACT[0] + "; printf '%s' 'caf\udce9\n\n' >> out; [ -t 0 ] && echo tty"
        got = Lines()
        r = await t.run(command, on_line=got, cwd=str(tmp_path), pty=True)
    finally:
        await t.close()
    theirs = tmp_path / "theirs"
    theirs.mkdir()
    subprocess.run(["/bin/sh", "-c", command], cwd=theirs, stdin=subprocess.DEVNULL)
    assert r.exit_code == 0 and got.out == ["tty"]  # no echo of the payload, no marker
    assert (tmp_path / "out").read_bytes() == (theirs / "out").read_bytes()


async def test_a_nul_byte_or_an_oversized_text_is_refused(transport: Transport) -> None:
    with pytest.raises(TransportError, match="NUL byte"):
        await transport.run("echo a\0b", on_line=Lines())
    with pytest.raises(TransportError, match="too long"):
        await transport.run(": " + "x" * MAX_SCRIPT, on_line=Lines())
    got = Lines()  # far beyond a pipe's default 64 KiB and the 128 KiB of one argv string
    r = await transport.run(f": '{'y' * 300_000}'; echo big", on_line=got)
    assert r.exit_code == 0 and got.out == ["big"]


# -- the process group dies with annotui -------------------------------------------------------

CHILD = """
import asyncio, sys
from pathlib import Path
from annotui.transport.local import LocalTransport
from annotui.transport.ssh import SshTransport
kind, command, config, pty = sys.argv[1:]
if kind == "local":
    t = LocalTransport()
else:
    t = SshTransport("tsd", "tsd", config_path=Path(config))
asyncio.run(t.run(command, on_line=lambda stream, line: None, pty=pty == "1"))
"""

STUBBORN = (
    "echo $$ > {pidfile}; (trap '' TERM; sleep 300) & "
    "(trap '' TERM; exec sleep 301 >/dev/null 2>&1) & sleep 302"
)
"""A group with a child that ignores TERM and holds the output, one that ignores TERM and does
not, and the command's own child."""


async def _pgid_from(pidfile: Path, proc: subprocess.Popen[bytes] | None = None) -> int:
    def written() -> bool:
        assert proc is None or proc.poll() is None, "the annotui process ended early"
        return pidfile.exists() and pidfile.read_text().endswith("\n")

    await _until(written, 30)
    pgid = int(pidfile.read_text())
    await _until(lambda: len(group_members(pgid)) >= 4)  # sh, its two subshells, sleep
    return pgid


@pytest.mark.parametrize(("kind", "pty"), [("local", False), ("ssh", False), ("ssh", True)])
async def test_kill_9_of_annotui_ends_the_command_group(
    sshd: Sshd, tmp_path: Path, kind: str, pty: bool
) -> None:
    pidfile = tmp_path / "pid"
    command = STUBBORN.format(pidfile=pidfile)
    proc = subprocess.Popen(
        [sys.executable, "-c", CHILD, kind, command, str(sshd.ssh_config), str(int(pty))]
    )
    try:
        pgid = await _pgid_from(pidfile, proc)
        proc.kill()
        proc.wait()
        # TERM at once, KILL for those that ignore it after the grace period.
        await _until(lambda: not group_members(pgid), KILL_GRACE + 10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


@pytest.mark.parametrize("how", ["cancel", "timeout"])
async def test_cancel_and_timeout_stop_the_whole_group(
    transport: Transport, tmp_path: Path, how: str
) -> None:
    pidfile = tmp_path / "pid"
    timeout = 2.0 if how == "timeout" else None
    task = asyncio.create_task(
        transport.run(STUBBORN.format(pidfile=pidfile), on_line=Lines(), timeout=timeout)
    )
    pgid = await _pgid_from(pidfile)
    if how == "cancel":
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    else:
        r = await task
        assert r.timed_out and r.exit_code is None
    await _until(lambda: not group_members(pgid), 5)


async def test_what_a_finished_command_left_running_stays(transport: Transport) -> None:
    got = Lines()
    r = await transport.run("sleep 30 >/dev/null 2>&1 & echo $!", on_line=got)
    pid = int(got.out[0])
    try:
        assert r.exit_code == 0
        await asyncio.sleep(1.0)  # the lifeline had its chance
        assert _alive(pid)
    finally:
        os.kill(pid, signal.SIGKILL)


# -- on_spawn and is_alive ---------------------------------------------------------------------


async def test_on_spawn_reports_the_group_alive_during_the_run_and_gone_after(
    transport: Transport,
) -> None:
    pgids: list[int] = []
    got = Lines()
    task = asyncio.create_task(
        transport.run("echo $$; sleep 1.5", on_line=got, on_spawn=pgids.append)
    )
    await asyncio.wait_for(got.seen.wait(), 20)
    assert len(pgids) == 1 and pgids[0] == int(got.out[0])
    pgid = pgids[0]
    assert group_members(pgid)
    assert await is_alive(transport, pgid)
    assert (await task).exit_code == 0
    assert pgids == [pgid]
    await _until(lambda: not group_members(pgid), 5)
    assert not await is_alive(transport, pgid)


async def test_is_alive_refuses_what_is_no_process_group(transport: Transport) -> None:
    for pid in (0, 1, -5):
        with pytest.raises(ValueError, match="not a process group"):
            await is_alive(transport, pid)


async def test_a_failing_on_spawn_stops_the_command(transport: Transport, tmp_path: Path) -> None:
    canary = tmp_path / "canary"
    seen: list[int] = []

    def refuse(pgid: int) -> None:
        seen.append(pgid)
        raise OSError(28, "No space left on device")

    with pytest.raises(OSError, match="No space left"):
        await transport.run(f"sleep 1; touch {canary}; sleep 300", on_line=Lines(), on_spawn=refuse)
    await _until(lambda: not group_members(seen[0]), 5)
    assert not canary.exists()
    assert not await is_alive(transport, seen[0])
