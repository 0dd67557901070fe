"""SshTransport against a real OpenSSH sshd on 127.0.0.1 (no mocks)."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from sshd_fixture import Sshd, keygen, write_ssh_config

from annotui.transport.base import ConnectionLost, HostKeyError, TransportError
from annotui.transport.ssh import SshTransport

pytestmark = pytest.mark.timeout(60)


class Lines:
    def __init__(self) -> None:
        self.out: list[str] = []
        self.err: list[str] = []

    def __call__(self, stream: str, line: str) -> None:
        (self.out if stream == "stdout" else self.err).append(line)


async def _wait_for(pred, timeout: float = 10.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not pred():
        assert time.monotonic() < deadline, "condition not reached"
        await asyncio.sleep(0.05)


@pytest.fixture
async def tsd(sshd: Sshd):  # type: ignore[no-untyped-def]
    t = SshTransport("tsd", "tsd", config_path=sshd.ssh_config)
    yield t
    await t.close()


async def test_output_stderr_and_exit_codes(tsd: SshTransport) -> None:
    got = Lines()
    r = await tsd.run("echo one; echo oops >&2; echo two; printf 'no-newline'; exit 3", on_line=got)
    assert r.exit_code == 3 and not r.timed_out and r.signal is None
    assert got.out == ["one", "two", "no-newline"]
    assert got.err == ["oops"]
    ok = await tsd.run("true", on_line=got)
    assert ok.exit_code == 0


async def test_many_lines_in_order_per_stream(tsd: SshTransport) -> None:
    got = Lines()
    r = await tsd.run("seq 200000; seq 5000 >&2", on_line=got)
    assert r.exit_code == 0
    assert got.out == [str(i) for i in range(1, 200001)]
    assert got.err == [str(i) for i in range(1, 5001)]


class Blocks:
    """A sink that takes blocks of lines (`text`), the first one slowly (it blocks the loop)."""

    def __init__(self, stall: float = 0.0) -> None:
        self.stall = stall
        self.sizes: list[int] = []
        self.lines: dict[str, list[str]] = {"stdout": [], "stderr": []}

    def __call__(self, stream: str, line: str) -> None:
        raise AssertionError("a sink with text() gets blocks")

    def text(self, stream: str, text: str) -> None:
        if not self.sizes:
            time.sleep(self.stall)
        self.sizes.append(len(text))
        self.lines[stream] += text.split("\n")


async def test_blocks_of_whole_lines_and_empty_and_overlong_lines(tsd: SshTransport) -> None:
    got = Blocks()
    cmd = "printf 'a\\n\\nb\\n'; head -c 1500000 /dev/zero | tr '\\0' x; printf '\\nend'"
    r = await tsd.run(cmd, on_line=got)
    assert r.exit_code == 0
    out = got.lines["stdout"]
    assert out[:3] == ["a", "", "b"] and out[-1] == "end"
    assert "".join(out[3:-1]) == "x" * 1500000  # an overlong line comes in pieces, none lost
    assert got.lines["stderr"] == []


async def test_a_slow_consumer_makes_the_server_wait(tsd: SshTransport) -> None:
    """Flow control: while the loop is blocked, no more than the channel's window (2 MiB) of a
    20 MB flood may pile up in memory; everything still arrives."""
    got = Blocks(stall=2.0)
    r = await tsd.run("seq 3000000", on_line=got)
    assert r.exit_code == 0
    assert got.lines["stdout"] == [str(i) for i in range(1, 3000001)]
    assert max(got.sizes) <= (2 << 20) + (1 << 20)


async def test_cwd_with_spaces_and_quotes(tsd: SshTransport, tmp_path: Path) -> None:
    odd = tmp_path / "a dir 'with' \"quotes\" $(x) ;"
    odd.mkdir()
    got = Lines()
    r = await tsd.run("pwd", on_line=got, cwd=str(odd))
    assert r.exit_code == 0 and got.out == [str(odd)]
    missing = await tsd.run("pwd", on_line=got, cwd=str(tmp_path / "missing"))
    assert missing.exit_code != 0 and "missing" in got.err[-1]


async def test_env_values_are_quoted(tsd: SshTransport, tmp_path: Path) -> None:
    canary = tmp_path / "canary"
    hostile = f"$(touch {canary}) `touch {canary}`; touch {canary} 'q' \"d\" \\ \n2nd line * ~"
    got = Lines()
    r = await tsd.run(
        'printf %s "$HOSTILE" | base64 -w0; echo; echo "$PLAIN"',
        on_line=got,
        env={"HOSTILE": hostile, "PLAIN": "x y"},
    )
    assert r.exit_code == 0
    assert base64.b64decode(got.out[0]).decode() == hostile
    assert got.out[1] == "x y"
    assert not canary.exists()
    with pytest.raises(TransportError, match="invalid environment variable"):
        await tsd.run("true", on_line=got, env={"A;touch x": "1"})


async def test_signal_reported(tsd: SshTransport) -> None:
    r = await tsd.run("kill -TERM $$", on_line=Lines())
    assert r.exit_code is None and r.signal == "SIGTERM"


async def test_timeout_stops_the_remote_command(tsd: SshTransport, sshd: Sshd) -> None:
    task = asyncio.create_task(tsd.run("sleep 41.25", on_line=Lines(), timeout=1.0))
    pid, _ = await _wait_started(sshd, "sleep 41.25")
    r = await task
    assert r.timed_out and r.exit_code is None
    await _wait_for(lambda: _gone(pid))


@pytest.mark.parametrize("pty", [False, True])
async def test_cancel_stops_the_remote_command(tsd: SshTransport, sshd: Sshd, pty: bool) -> None:
    token = f"sleep 42.{int(pty)}5"
    got = Lines()
    task = asyncio.create_task(tsd.run(f"echo started; {token}; echo after", on_line=got, pty=pty))
    pid, _ = await _wait_started(sshd, token)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await _wait_for(lambda: _gone(pid))
    assert got.out[0] == "started" and "after" not in got.out  # a pty also echoes the ^C
    # The connection is still good for the next command.
    assert (await tsd.run("true", on_line=got)).exit_code == 0
    assert tsd.connections == 1


async def test_alias_from_ssh_config(tsd: SshTransport, sshd: Sshd) -> None:
    assert tsd.state.state == "idle"
    got = Lines()
    r = await tsd.run("id -un; echo $SSH_CONNECTION", on_line=got)
    assert r.exit_code == 0
    assert got.out[0] == sshd.user
    assert got.out[1].endswith(f"127.0.0.1 {sshd.port}")
    assert tsd.state.state == "connected"
    assert tsd.state.detail == f"{sshd.user}@127.0.0.1:{sshd.port}"
    await tsd.close()
    assert tsd.state.state == "closed"


async def test_config_from_environment_variable(
    sshd: Sshd, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ANNOTUI_SSH_CONFIG", str(sshd.ssh_config))
    t = SshTransport("tsd", "tsd")
    try:
        assert (await t.run("true", on_line=Lines())).exit_code == 0
    finally:
        await t.close()


async def test_user_at_host_port_target(sshd: Sshd, tmp_path: Path) -> None:
    cfg = tmp_path / "config"
    cfg.write_text(
        f"Host 127.0.0.1\n    IdentityFile {sshd.client_key}\n"
        f"    UserKnownHostsFile {sshd.known_hosts}\n"
    )
    t = SshTransport("tsd", f"{sshd.user}@127.0.0.1:{sshd.port}", config_path=cfg)
    try:
        got = Lines()
        assert (await t.run("echo ok", on_line=got)).exit_code == 0 and got.out == ["ok"]
    finally:
        await t.close()


async def test_proxyjump_hop(sshd: Sshd) -> None:
    before = sshd.accepted()
    t = SshTransport("tsd", "tsd-jump", config_path=sshd.ssh_config)
    try:
        got = Lines()
        r = await t.run("echo via-jump", on_line=got)
        assert r.exit_code == 0 and got.out == ["via-jump"]
        # Two authenticated connections: the hop, then the target through the hop's channel.
        await _wait_for(lambda: sshd.accepted() == before + 2)
        assert len(t._chain) == 2
    finally:
        await t.close()


async def test_proxyjump_hop_host_key_is_verified(sshd: Sshd, tmp_path: Path) -> None:
    empty = tmp_path / "empty_known_hosts"
    empty.write_text("")
    cfg = tmp_path / "config"
    write_ssh_config(sshd, cfg, sshd.known_hosts)
    # The hop alias gets an empty known_hosts: the connection must stop at the hop.
    cfg.write_text(
        cfg.read_text().replace("Host tsd\n", "Host tsd\n    UserKnownHostsFile " + f"{empty}\n")
    )
    t = SshTransport("tsd", "tsd-jump", config_path=cfg)
    with pytest.raises(HostKeyError, match="unknown host key"):
        await t.run(f"touch {tmp_path / 'canary'}", on_line=Lines())
    assert not (tmp_path / "canary").exists()
    await t.close()


def _config_with_known_hosts(sshd: Sshd, tmp_path: Path, content: str, **opts: str) -> Path:
    kh = tmp_path / "known_hosts"
    kh.write_text(content)
    cfg = tmp_path / "config"
    write_ssh_config(sshd, cfg, kh)
    for k, v in opts.items():
        cfg.write_text(cfg.read_text().replace("    BatchMode yes\n", f"    {k} {v}\n"))
    return cfg


async def _refused(
    sshd: Sshd, tmp_path: Path, content: str, **opts: str
) -> tuple[str, SshTransport]:
    """A command against sshd with this known_hosts content (and ssh_config options): it must
    raise HostKeyError, run nothing and leave known_hosts as it was. Returns the error's message
    and the transport (still to be closed)."""
    cfg = _config_with_known_hosts(sshd, tmp_path, content, **opts)
    kh = tmp_path / "known_hosts"
    before = kh.read_bytes()
    canary = tmp_path / "canary"
    t = SshTransport("tsd", "tsd", config_path=cfg)
    with pytest.raises(HostKeyError) as e:
        await t.run(f"touch {canary}", on_line=Lines())
    assert not canary.exists()
    assert kh.read_bytes() == before
    return str(e.value), t


async def test_unknown_host_key_refused(sshd: Sshd, tmp_path: Path) -> None:
    content = "# nothing here\nother.example ssh-ed25519 " + sshd.host_key_pub.split()[1] + "\n"
    # StrictHostKeyChecking no must not make annotui add anything.
    msg, t = await _refused(sshd, tmp_path, content, StrictHostKeyChecking="no")
    assert "unknown host key" in msg and f"[127.0.0.1]:{sshd.port}" in msg
    assert f"ssh-keyscan -p {sshd.port} 127.0.0.1 | ssh-keygen -lf -" in msg
    assert "SHA256:" in msg
    assert t.state.state == "failed" and "unknown host key" in t.state.detail
    await t.close()


def _fingerprint(pub: Path) -> str:
    out = subprocess.run(["ssh-keygen", "-lf", str(pub)], capture_output=True, text=True)
    return out.stdout.split()[1]


async def test_changed_host_key_refused_loudly(sshd: Sshd, tmp_path: Path) -> None:
    other = keygen(tmp_path / "other_host_key")
    content = f"# line 1\n[127.0.0.1]:{sshd.port} {other}\n"
    msg, t = await _refused(sshd, tmp_path, content)
    assert "REMOTE HOST IDENTIFICATION HAS CHANGED" in msg
    assert _fingerprint(tmp_path / "other_host_key.pub") in msg  # what known_hosts expects
    assert _fingerprint(sshd.dir / "ssh_host_ed25519_key.pub") in msg  # what the server offered
    assert f"{tmp_path / 'known_hosts'}:2" in msg
    await t.close()


def _hashed(name: str, key: str) -> str:
    """A hashed known_hosts line, as `ssh-keygen -H` writes it."""
    import hashlib
    import hmac

    salt = os.urandom(20)
    digest = hmac.new(salt, name.encode(), hashlib.sha1).digest()
    return f"|1|{base64.b64encode(salt).decode()}|{base64.b64encode(digest).decode()} {key}\n"


async def test_hashed_known_hosts_entries(sshd: Sshd, tmp_path: Path) -> None:
    name = f"[127.0.0.1]:{sshd.port}"
    good = _config_with_known_hosts(sshd, tmp_path, _hashed(name, sshd.host_key_pub))
    t = SshTransport("tsd", "tsd", config_path=good)
    assert (await t.run("true", on_line=Lines())).exit_code == 0
    await t.close()
    other = keygen(tmp_path / "other_host_key")
    bad = _config_with_known_hosts(sshd, tmp_path, _hashed(name, other))
    t = SshTransport("tsd", "tsd", config_path=bad)
    with pytest.raises(HostKeyError, match="HAS CHANGED"):
        await t.run("true", on_line=Lines())
    await t.close()


async def test_known_hosts_unchanged_after_success(tsd: SshTransport, sshd: Sshd) -> None:
    before = sshd.known_hosts.read_bytes()
    await tsd.run("true", on_line=Lines())
    await tsd.close()
    assert sshd.known_hosts.read_bytes() == before


async def test_connection_refused(sshd: Sshd, tmp_path: Path) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # bound, not listening: refused
        cfg = tmp_path / "config"
        cfg.write_text(f"Host p22-submit-dev\n    HostName 127.0.0.1\n    Port {port}\n")
        t = SshTransport("tsd", "p22-submit-dev", config_path=cfg)
        with pytest.raises(TransportError) as e:
            await t.run("true", on_line=Lines())
    assert str(e.value) == f"tsd (p22-submit-dev -> 127.0.0.1:{port}): connection refused"
    assert t.state.state == "failed" and "connection refused" in t.state.detail


async def test_auth_failure_lists_what_was_tried(sshd: Sshd, tmp_path: Path) -> None:
    keygen(tmp_path / "stranger")
    cfg = tmp_path / "config"
    write_ssh_config(sshd, cfg, sshd.known_hosts)
    cfg.write_text(cfg.read_text().replace(str(sshd.client_key), str(tmp_path / "stranger")))
    t = SshTransport("tsd", "tsd", config_path=cfg)
    with pytest.raises(TransportError) as e:
        await t.run("true", on_line=Lines())
    assert f"authentication failed for user {sshd.user}" in str(e.value)
    assert f"{tmp_path / 'stranger'} (rejected)" in str(e.value)


async def test_encrypted_key_asks_for_passphrase(sshd: Sshd, tmp_path: Path) -> None:
    key = tmp_path / "locked"
    secret = "correct horse battery"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", secret, "-f", str(key)], check=True)
    auth = sshd.dir / "authorized_keys"
    auth.write_text(auth.read_text() + key.with_suffix(".pub").read_text())
    cfg = tmp_path / "config"
    write_ssh_config(sshd, cfg, sshd.known_hosts)
    cfg.write_text(cfg.read_text().replace(str(sshd.client_key), str(key)))
    no_prompt = SshTransport("tsd", "tsd", config_path=cfg)
    with pytest.raises(TransportError, match="encrypted, no passphrase prompt"):
        await no_prompt.run("true", on_line=Lines())
    asked: list[str] = []

    def prompt(text: str) -> str:
        asked.append(text)
        return "wrong" if len(asked) == 1 else secret

    t = SshTransport("tsd", "tsd", config_path=cfg, passphrase_prompt=prompt)
    try:
        assert (await t.run("true", on_line=Lines())).exit_code == 0
        assert len(asked) == 2 and str(key) in asked[0]
        assert secret not in t.state.detail
    finally:
        await t.close()


async def test_one_connection_for_twenty_commands(sshd: Sshd) -> None:
    t = SshTransport("tsd", "tsd", config_path=sshd.ssh_config)
    before = sshd.accepted()
    try:
        for i in range(20):
            got = Lines()
            assert (await t.run(f"echo {i}", on_line=got)).exit_code == 0
            assert got.out == [str(i)]
    finally:
        await t.close()
    assert sshd.accepted() == before + 1
    assert t.connections == 1


async def test_concurrent_channels(tsd: SshTransport) -> None:
    slow = asyncio.create_task(tsd.run("sleep 0.5; echo slow", on_line=Lines()))
    probes = [tsd.run(f"echo {i}", on_line=Lines()) for i in range(8)]
    results = await asyncio.gather(slow, *probes)
    assert all(r.exit_code == 0 for r in results)
    assert tsd.connections == 1


async def _wait_started(sshd: Sshd, argv: str) -> tuple[int, int]:
    return await asyncio.to_thread(sshd.wait_command, argv)


def _gone(pid: int) -> bool:
    return not Path(f"/proc/{pid}").exists()


async def test_connection_lost_mid_command_then_reconnect(tsd: SshTransport, sshd: Sshd) -> None:
    got = Lines()
    task = asyncio.create_task(tsd.run("echo started; sleep 43.5", on_line=got))
    pid, session = await _wait_started(sshd, "sleep 43.5")
    os.kill(session, signal.SIGKILL)
    with pytest.raises(ConnectionLost, match="outcome is unknown"):
        await task
    assert got.out == ["started"]
    assert tsd.state.state == "failed" and "connection lost" in tsd.state.detail
    await _wait_for(lambda: _gone(pid))  # the remote lifeline ended the orphaned command
    # The next run (e.g. a probe) reconnects.
    r = await tsd.run("echo again", on_line=got)
    assert r.exit_code == 0 and got.out[-1] == "again"
    assert tsd.connections == 2 and tsd.state.state == "connected"


async def test_keepalive_detects_a_silent_server(sshd: Sshd, tmp_path: Path) -> None:
    cfg = tmp_path / "config"
    write_ssh_config(sshd, cfg, sshd.known_hosts)
    cfg.write_text(
        cfg.read_text().replace(
            "Host tsd\n", "Host tsd\n    ServerAliveInterval 1\n    ServerAliveCountMax 1\n", 1
        )
    )
    t = SshTransport("tsd", "tsd", config_path=cfg)
    got = Lines()
    task = asyncio.create_task(t.run("echo started; sleep 44.5", on_line=got))
    pid, session = await _wait_started(sshd, "sleep 44.5")
    os.kill(session, signal.SIGSTOP)  # the server stops answering, the TCP link stays up
    try:
        with pytest.raises(ConnectionLost, match="no keepalive answer"):
            await asyncio.wait_for(task, 10)
        assert t.state.state == "failed" and "no keepalive answer" in t.state.detail
    finally:
        os.kill(session, signal.SIGKILL)
        with contextlib.suppress(ProcessLookupError):  # the lifeline may have ended it first
            os.kill(pid, signal.SIGKILL)
        await t.close()


async def test_open_tcp_reaches_a_port_through_the_connection(tsd: SshTransport) -> None:
    server = socket.create_server(("127.0.0.1", 0))
    port = server.getsockname()[1]

    def echo_once() -> None:
        conn, _ = server.accept()
        with conn:
            conn.sendall(conn.recv(100).upper())

    th = threading.Thread(target=echo_once, daemon=True)
    th.start()
    chan = await asyncio.to_thread(tsd.open_tcp, "127.0.0.1", port)
    try:
        chan.sendall(b"ping")
        assert chan.recv(100) == b"PING"
    finally:
        chan.close()
        server.close()
    th.join(5)


RELAY = """
import os, socket, sys, threading
open(sys.argv[3], "w").write(str(os.getpid()))
s = socket.create_connection((sys.argv[1], int(sys.argv[2])))
def up():
    while data := os.read(0, 65536):
        s.sendall(data)
    s.shutdown(socket.SHUT_WR)
threading.Thread(target=up, daemon=True).start()
while data := s.recv(65536):
    os.write(1, data)
"""


def _gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    # a zombie is gone too: its parent (paramiko) has not reaped it yet
    return Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0] == "Z"


def _proxy_config(sshd: Sshd, tmp_path: Path, known_hosts: Path) -> tuple[Path, Path]:
    """An ssh config whose alias `tsd-proxy` is reached through the relay script; returns it
    and the file where the relay writes its PID."""
    relay = tmp_path / "relay.py"
    relay.write_text(RELAY)
    marker = tmp_path / "relay.pid"
    cfg = tmp_path / "config"
    write_ssh_config(sshd, cfg, known_hosts)
    tsd_block = cfg.read_text().split("\nHost tsd-jump\n")[0]
    cfg.write_text(
        tsd_block.replace("Host tsd\n", "Host tsd-proxy\n")
        + f"    ProxyCommand {sys.executable} {relay} %h %p {marker}\n"
    )
    return cfg, marker


async def test_proxycommand_relays_the_connection_and_ends_with_it(
    sshd: Sshd, tmp_path: Path
) -> None:
    """A site reached through `ProxyCommand` (ours: a relay script, as `ssh -W` or `nc` would
    be): %h and %p are expanded, and closing the transport ends the command."""
    cfg, marker = _proxy_config(sshd, tmp_path, sshd.known_hosts)
    before = sshd.accepted()
    t = SshTransport("tsd", "tsd-proxy", config_path=cfg)
    try:
        got = Lines()
        r = await t.run("echo through-the-proxy", on_line=got)
        assert r.exit_code == 0 and got.out == ["through-the-proxy"]
        pid = int(marker.read_text())
        assert not _gone(pid)
        await _wait_for(lambda: sshd.accepted() == before + 1)
    finally:
        await t.close()
    await _wait_for(lambda: _gone(pid))


async def test_proxycommand_still_verifies_the_host_key(sshd: Sshd, tmp_path: Path) -> None:
    other = tmp_path / "other_key"
    keygen(other)
    known = tmp_path / "known_hosts"
    known.write_text(f"[127.0.0.1]:{sshd.port} " + other.with_suffix(".pub").read_text())
    cfg, marker = _proxy_config(sshd, tmp_path, known)
    t = SshTransport("tsd", "tsd-proxy", config_path=cfg)
    with pytest.raises(HostKeyError):
        await t.run(f"touch {tmp_path / 'canary'}", on_line=Lines())
    await t.close()
    assert marker.exists(), "the relay was not used"
    assert not (tmp_path / "canary").exists()
    await _wait_for(lambda: _gone(int(marker.read_text())))


@pytest.fixture
def agent(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    """A real ssh-agent (foreground, our child) on its own socket, as SSH_AUTH_SOCK."""
    sock = tmp_path / "agent.sock"
    proc = subprocess.Popen(
        ["ssh-agent", "-D", "-a", str(sock)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        deadline = time.monotonic() + 10
        while not sock.exists():
            assert time.monotonic() < deadline, "ssh-agent did not start"
            time.sleep(0.02)
        monkeypatch.setenv("SSH_AUTH_SOCK", str(sock))
        yield sock
    finally:
        proc.terminate()
        proc.wait(timeout=10)


async def test_a_key_held_by_ssh_agent_authenticates(
    sshd: Sshd, agent: Path, tmp_path: Path
) -> None:
    """Operators keep their keys in ssh-agent: with no usable identity file, the agent's key
    logs in (and without it, the same config is refused)."""
    cfg = tmp_path / "config"
    write_ssh_config(sshd, cfg, sshd.known_hosts)
    cfg.write_text(
        cfg.read_text()
        .replace(f"IdentityFile {sshd.client_key}", f"IdentityFile {tmp_path / 'no-such-key'}")
        .replace("IdentitiesOnly yes", "IdentitiesOnly no")
    )
    t = SshTransport("tsd", "tsd", config_path=cfg)
    with pytest.raises(TransportError, match="authentication failed"):
        await t.run("true", on_line=Lines())
    await t.close()
    env = {**os.environ, "SSH_AUTH_SOCK": str(agent)}
    subprocess.run(["ssh-add", "-q", str(sshd.client_key)], env=env, check=True)
    t = SshTransport("tsd", "tsd", config_path=cfg)
    try:
        got = Lines()
        r = await t.run("echo agent-key", on_line=got)
        assert r.exit_code == 0 and got.out == ["agent-key"]
    finally:
        await t.close()
