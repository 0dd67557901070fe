"""SupervisorClient against a real supervisord (nodaemon, inet_http_server, basic auth)."""

from __future__ import annotations

import asyncio
import ssl
import subprocess
from pathlib import Path

import pytest
from status_helpers import error_of
from supervisord_fixture import Supervisord

from annotui.sandbox_files.supervisord import free_port
from annotui.status.supervisor import SupervisorClient, SupervisorError


async def test_reads_real_processes_and_states(supervisord: Supervisord) -> None:
    c = SupervisorClient("t", supervisord.url, supervisord.username, supervisord.password)
    try:
        assert await c.get_state() == "RUNNING"
        infos = {i.full_name: i for i in await c.get_all_process_info()}
        assert set(infos) == {"alpha:alpha", "beta:beta"}
        assert all(i.state == "RUNNING" and i.pid > 0 for i in infos.values())
        assert (await c.get_process_info("alpha")).pid == infos["alpha:alpha"].pid
    finally:
        await c.aclose()


async def test_stop_start_group_and_faults(supervisord: Supervisord) -> None:
    c = SupervisorClient("t", supervisord.url, supervisord.username, supervisord.password)
    try:
        results = await c.stop_process("alpha:*")
        assert [r["status"] for r in results] == [80]
        assert (await c.get_process_info("alpha")).state == "STOPPED"
        with pytest.raises(SupervisorError) as e:
            await c.stop_process("alpha")
        assert e.value.kind == "fault" and e.value.fault == "NOT_RUNNING"
        await c.start_process("alpha")
        assert (await c.get_process_info("alpha")).state == "RUNNING"
        with pytest.raises(SupervisorError) as e:
            await c.start_process("alpha")
        assert e.value.fault == "ALREADY_STARTED"
        with pytest.raises(SupervisorError) as e:
            await c.get_process_info("nope")
        assert e.value.fault == "BAD_NAME" and "nope" in e.value.message
        assert "alpha up" in await c.tail_stdout("alpha", 200)
        assert (await c.read_stdout("alpha", 0, 100)).startswith("alpha up")
    finally:
        await c.aclose()


async def test_wrong_password_is_unauthorized(supervisord: Supervisord) -> None:
    c = SupervisorClient("t", supervisord.url, supervisord.username, "wrong-password")
    e = await error_of(c, c.get_state)
    assert e.kind == "unauthorized"
    assert f"127.0.0.1:{supervisord.port}" in e.message
    assert "wrong-password" not in e.message


async def test_credentials_in_the_url_are_used_and_never_shown(supervisord: Supervisord) -> None:
    sv = supervisord
    c = SupervisorClient("t", f"http://{sv.username}:{sv.password}@127.0.0.1:{sv.port}")
    wrong = SupervisorClient("t", f"http://{sv.username}:not-it@127.0.0.1:{sv.port}")
    try:
        assert await c.get_state() == "RUNNING"
        with pytest.raises(SupervisorError) as e:
            await wrong.get_state()
    finally:
        await c.aclose()
        await wrong.aclose()
    assert e.value.kind == "unauthorized"
    assert f"(127.0.0.1:{sv.port})" in e.value.message and "not-it" not in e.value.message


async def test_nothing_listening_is_unreachable_and_names_the_endpoint() -> None:
    port = free_port()
    c = SupervisorClient("t", f"http://127.0.0.1:{port}", "admin", "pw", timeout=2)
    e = await error_of(c, c.get_all_process_info)
    assert e.kind == "unreachable"
    assert f"127.0.0.1:{port}" in e.message and "refused" in e.message


async def test_a_connection_the_server_closed_is_not_reused(own_supervisord: Supervisord) -> None:
    """The first call after supervisord restarted (same port) opens a new keep-alive connection
    instead of failing on the old one, even when no event loop iteration ran in between."""
    sv = own_supervisord
    c = SupervisorClient("t", sv.url, sv.username, sv.password)
    try:
        assert await c.get_state() == "RUNNING"
        sv.stop()  # blocking on purpose: the loop does not see the connection close
        sv.start()
        assert await c.get_state() == "RUNNING"
    finally:
        await c.aclose()


async def test_https_certificates_are_verified(tmp_path: Path) -> None:
    """An https endpoint (a real TLS server) with a self-signed certificate is refused."""
    key = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    out = ["-keyout", "key.pem", "-out", "cert.pem"]
    subprocess.run(
        ["openssl", "req", "-x509", *key, *out, "-days", "1", "-subj", "/CN=127.0.0.1"],
        cwd=tmp_path,
        check=True,
        capture_output=True,
    )
    tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    tls.load_cert_chain(tmp_path / "cert.pem", tmp_path / "key.pem")
    server = await asyncio.start_server(lambda r, w: w.close(), "127.0.0.1", 0, ssl=tls)
    port = server.sockets[0].getsockname()[1]
    c = SupervisorClient("t", f"https://127.0.0.1:{port}", "admin", "pw", timeout=5)
    try:
        e = await error_of(c, c.get_state)
    finally:
        server.close()
    assert e.kind == "unreachable"
    assert "certificate verify failed" in e.message


async def test_not_supervisord_is_a_protocol_error(tmp_path) -> None:
    """A plain HTTP server that is not supervisord (python's http.server, a real process)."""
    import subprocess
    import sys

    from annotui.sandbox_files.supervisord import terminate

    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1"],
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    c = SupervisorClient("t", f"http://127.0.0.1:{port}", timeout=5)
    try:
        for _ in range(100):
            try:
                await c.get_state()
            except SupervisorError as e:
                if e.kind != "unreachable":
                    break
            import asyncio

            await asyncio.sleep(0.05)
        with pytest.raises(SupervisorError) as err:
            await c.get_state()
        assert err.value.kind == "protocol"
        assert "501" in err.value.message or "XML-RPC" in err.value.message
    finally:
        await c.aclose()
        terminate(proc.pid)
        proc.wait()


async def test_a_silent_server_is_a_timeout() -> None:
    """A real listening socket that never answers (connections wait in its backlog)."""
    import socket

    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        port = listener.getsockname()[1]
        c = SupervisorClient("t", f"http://127.0.0.1:{port}", "admin", "pw", timeout=0.5)
        e = await error_of(c, c.get_state)
    assert e.kind == "timeout"
    assert f"127.0.0.1:{port}" in e.message and "0.5 s" in e.message
