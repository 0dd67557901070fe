"""`via = host`: supervisord reached through a real OpenSSH sshd (direct-tcpip channels)."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from status_helpers import error_of
from supervisord_fixture import Supervisord

from annotui.sandbox_files.supervisord import free_port
from annotui.status.supervisor import SupervisorClient
from annotui.transport.ssh import SshTransport

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from sshd_fixture import Sshd, running_sshd


@pytest.fixture(scope="module")
def sshd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sshd]:
    with running_sshd(tmp_path_factory.mktemp("sshd")) as d:
        yield d


async def test_supervisor_through_ssh_keeps_one_channel(
    supervisord: Supervisord, sshd: Sshd
) -> None:
    ssh = SshTransport("tsd", "tsd", config_path=sshd.ssh_config)
    c = SupervisorClient(
        "anno", supervisord.url, supervisord.username, supervisord.password, via=ssh
    )
    try:
        assert await c.get_state() == "RUNNING"
        await c.stop_process("alpha:*")
        infos = {i.full_name: i.state for i in await c.get_all_process_info()}
        assert infos == {"alpha:alpha": "STOPPED", "beta:beta": "RUNNING"}
        await c.start_process("alpha")
        assert ssh.connections == 1
        assert "via tsd" in c._label()
    finally:
        await c.aclose()
        await ssh.close()


async def test_nothing_listening_behind_the_tunnel_is_unreachable(sshd: Sshd) -> None:
    ssh = SshTransport("tsd", "tsd", config_path=sshd.ssh_config)
    port = free_port()
    c = SupervisorClient("anno", f"http://127.0.0.1:{port}", "admin", "pw", via=ssh, timeout=5)
    try:
        e = await error_of(c, c.get_state)
    finally:
        await ssh.close()
    assert e.kind == "unreachable"
    assert f"127.0.0.1:{port}" in e.message and "tsd" in e.message
