"""A command's process group is told from a later process that reuses its id (issue 12), locally
and through the real sshd on 127.0.0.1 (whose processes /proc shows here too):

- `on_spawn` gets, with the pgid, the group leader's start time (/proc/PID/stat field 22) and
  the host's boot id (the remote bootstrap reports both on its first line, pty or not);
- `is_alive` with them: a live process with that pid but another start time, or another boot
  id, is dead; the same start time is alive; a leader gone whose group still has a process is
  alive (the group holds its id: it cannot have been reused); without them, the pgid alone.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from sshd_fixture import Sshd, group_members

from annotui.transport.base import Group, Transport, is_alive
from annotui.transport.local import LocalTransport
from annotui.transport.ssh import SshTransport

pytestmark = pytest.mark.timeout(120)
BOOT_ID = Path("/proc/sys/kernel/random/boot_id").read_text().strip()
OTHER_BOOT = "00000000-0000-4000-8000-000000000000"


def starttime(pid: int) -> int:
    return int(Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[19])


@pytest.fixture(params=["local", "ssh"])
async def transport(request: pytest.FixtureRequest, sshd: Sshd) -> AsyncIterator[Transport]:
    t: Transport = LocalTransport()
    if request.param == "ssh":
        t = SshTransport("tsd", "tsd", config_path=sshd.ssh_config)
    yield t
    await t.close()


@pytest.fixture
def sleeper() -> Iterator[int]:
    """An unrelated live process, leader of its own session and process group."""
    proc = subprocess.Popen(["sleep", "120"], start_new_session=True)
    try:
        yield proc.pid
    finally:
        proc.kill()
        proc.wait()


@pytest.mark.parametrize("pty", [False, True])
async def test_on_spawn_gets_the_leaders_start_time_and_the_boot_id(
    transport: Transport, pty: bool
) -> None:
    if pty and isinstance(transport, LocalTransport):
        pytest.skip("the local transport has no pty")
    groups: list[Group] = []
    seen = asyncio.Event()
    out: list[str] = []

    def got(stream: str, line: str) -> None:
        if stream == "stdout" and line.strip().isdigit():
            out.append(line.strip())
            seen.set()

    task = asyncio.create_task(
        transport.run("echo $$; sleep 30", on_line=got, on_spawn=groups.append, pty=pty)
    )
    try:
        await asyncio.wait_for(seen.wait(), 20)
        (group,) = groups
        assert group == int(out[0])
        assert (group.starttime, group.boot_id) == (starttime(group), BOOT_ID)
        assert await is_alive(transport, group, group.starttime, group.boot_id)
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def test_a_reused_id_is_alive_only_with_its_start_time_and_boot(
    transport: Transport, sleeper: int
) -> None:
    started = starttime(sleeper)
    assert await is_alive(transport, sleeper, started, BOOT_ID)
    assert not await is_alive(transport, sleeper, started + 1, BOOT_ID)
    assert not await is_alive(transport, sleeper, started - 1, None)
    assert not await is_alive(transport, sleeper, started, OTHER_BOOT)
    assert not await is_alive(transport, sleeper, None, OTHER_BOOT)
    assert await is_alive(transport, sleeper)  # a record without them: the pgid alone
    assert await is_alive(transport, sleeper, started, None)


async def test_a_hostile_boot_id_is_only_text(
    transport: Transport, sleeper: int, tmp_path: Path
) -> None:
    canary = tmp_path / "pwned"
    hostile = f"x'; touch {canary}; echo '$(touch {canary})`touch {canary}`\\"
    assert not await is_alive(transport, sleeper, starttime(sleeper), hostile)
    assert not canary.exists()


async def test_a_leader_gone_with_its_group_alive_is_alive(transport: Transport) -> None:
    leader = subprocess.Popen(
        ["sh", "-c", "sleep 120 >/dev/null 2>&1 & echo $!"],
        stdout=subprocess.PIPE, text=True, start_new_session=True,
    )  # fmt: skip
    assert leader.stdout is not None
    child = int(leader.stdout.readline())
    started = starttime(leader.pid)
    leader.wait()
    try:
        assert group_members(leader.pid) == [child]
        assert await is_alive(transport, leader.pid, started, BOOT_ID)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.kill(child, signal.SIGKILL)
    deadline = asyncio.get_running_loop().time() + 5
    while await is_alive(transport, leader.pid, started, BOOT_ID):  # the whole group gone
        assert asyncio.get_running_loop().time() < deadline, "the group never ended"
        await asyncio.sleep(0.05)
