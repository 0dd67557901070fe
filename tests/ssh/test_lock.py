"""The run-wide target lock, with a real sshd and with the local transport."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sshd_fixture import Sshd

from annotui.transport.base import Transport
from annotui.transport.local import LocalTransport
from annotui.transport.lock import LockHeld, acquire, release, takeover
from annotui.transport.ssh import SshTransport

pytestmark = pytest.mark.timeout(60)

ALICE = {
    "operator": "alice",
    "pid": 101,
    "host": "jump1",
    "ts": "2026-01-01T10:00:00Z",
    "checklist": "anno-release",
    "audit": "/var/log/a.jsonl",
}
BOB = {
    "operator": "bob",
    "pid": 202,
    "host": "jump2",
    "ts": "2026-01-01T11:00:00Z",
    "checklist": "anno-release",
    "audit": "/var/log/b.jsonl",
}


@pytest.fixture(params=["local", "ssh"])
async def transport(request: pytest.FixtureRequest, sshd: Sshd) -> AsyncIterator[Transport]:
    t: Transport
    if request.param == "local":
        t = LocalTransport()
    else:
        t = SshTransport("tsd", "tsd", config_path=sshd.ssh_config)
    yield t
    await t.close()


async def test_second_acquire_is_refused_naming_the_holder(
    transport: Transport, tmp_path: Path
) -> None:
    path = str(tmp_path / "odd 'root'" / ".annotui.lock")
    Path(path).parent.mkdir()
    await acquire(transport, path, ALICE)
    assert Path(path, "holder.json").exists()
    with pytest.raises(LockHeld) as e:
        await acquire(transport, path, BOB)
    assert "operator=alice" in str(e.value) and "host=jump1" in str(e.value)
    assert '"operator": "alice"' in e.value.holder
    # Bob cannot release Alice's lock; Alice can.
    assert await release(transport, path, BOB) is False
    assert Path(path).is_dir()
    assert await release(transport, path, ALICE) is True
    assert not Path(path).exists()
    await acquire(transport, path, BOB)
    assert await release(transport, path, BOB) is True


async def test_release_without_holder_uses_what_this_process_wrote(
    transport: Transport, tmp_path: Path
) -> None:
    path = str(tmp_path / "lock")
    await acquire(transport, path, ALICE)
    Path(path, "holder.json").write_text('{"operator": "carol"}\n')  # taken over elsewhere
    assert await release(transport, path) is False  # not ours any more: untouched
    assert Path(path).is_dir()
    Path(path, "holder.json").unlink()
    Path(path).rmdir()
    await acquire(transport, path, ALICE)
    assert await release(transport, path) is True
    assert not Path(path).exists()


async def test_takeover_replaces_a_stale_holder(transport: Transport, tmp_path: Path) -> None:
    path = str(tmp_path / "lock")
    await acquire(transport, path, ALICE)
    with pytest.raises(LockHeld) as e:
        await acquire(transport, path, BOB)
    # The holder changed since the operator confirmed: refused.
    with pytest.raises(LockHeld):
        await takeover(transport, path, BOB, expected='{"operator": "carol"}')
    await takeover(transport, path, BOB, expected=e.value.holder)
    with pytest.raises(LockHeld, match="operator=bob"):
        await acquire(transport, path, ALICE)
    assert await release(transport, path, ALICE) is False
    assert await release(transport, path, BOB) is True
    assert not Path(path).exists()


async def test_lock_errors_are_clear(transport: Transport, tmp_path: Path) -> None:
    with pytest.raises(Exception, match="cannot create the lock") as e:
        await acquire(transport, str(tmp_path / "missing" / "lock"), ALICE)
    assert not isinstance(e.value, LockHeld)
