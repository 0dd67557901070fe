"""SSH transport on paramiko: one verified connection per host, one channel per command.

Connection. The target (a Host alias or `user@host:port`) is resolved through the ssh config
(`sshconfig`); ProxyJump hops are followed one by one over `direct-tcpip` channels and every hop's
host key is verified (`hostkeys`: always checked, never added). Keys come from ssh-agent and the
identity files; an encrypted key is opened with `passphrase_prompt(text)` (called from a worker
thread; the passphrase is never logged). Password and keyboard-interactive auth are not offered.

Reuse and keepalive. The connection is opened on first use and shared by every step and probe
(several channels at once). Every ServerAliveInterval seconds (default 15) a keepalive request
is sent; without an answer for ServerAliveCountMax (default 3) intervals the connection is
closed. A `run` on a dropped connection reconnects first; a command whose connection drops
while it runs raises `ConnectionLost` (its outcome is unknown).

Commands. The exec request is a fixed bootstrap (`shell.remote_command`) run by the user's login
shell, which must be POSIX-like; the command's text, cwd and environment follow on the channel's
stdin (`shell.remote_payload`), so no argv on the host ever holds them. The bootstrap's first line
(stderr; stdout with a pty) is the command's process group, handed to `on_spawn` and kept for
signals; a pty session gets its payload only once that line has come (the terminal is then in raw
mode without echo). paramiko's transport thread hands each packet of stdout and stderr straight
to the event loop (in place of the channel's receive buffers: no reader threads), where
`on_line` gets whole lines in order per stream; the SSH window is opened again only for output
the loop has taken, so a slow consumer makes the server wait and memory stays bounded by the
window whatever the output size. No pty unless asked; with a pty the two streams are merged by
the terminal. If `on_line` has a `text(stream, text)` method, everything that arrived since the
last hand-over is given to it as one block of whole lines instead of line by line (same order; a
consumer that stores output in chunks, like the audit log's `StepOutput`, then avoids a million
Python calls for a million lines).

Cancellation and timeout. A stopped command gets TERM, then KILL after a grace period, two
ways: the RFC 4254 `signal` channel request (OpenSSH honours it only for non-root users) and
`kill -s SIG -- -PGID` on a second channel; its process group gets a last KILL for what ignored
TERM, then the channel is closed. The remote lifeline (see `shell`) stops the group when the
channel or the connection closes while the command's shell is alive: on a cancel, a dropped link
or annotui killed. A pty session additionally gets a ^C, and a hangup when the channel closes.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import paramiko
from paramiko.buffered_pipe import BufferedPipe
from paramiko.common import cMSG_CHANNEL_REQUEST, cMSG_CHANNEL_WINDOW_ADJUST

from annotui.transport import hostkeys
from annotui.transport.base import (
    KILL_GRACE,
    MAX_LINE,
    Command,
    ConnectionLost,
    Deliver,
    Group,
    HostState,
    HostStateName,
    Job,
    OnSpawn,
    RunResult,
    Stream,
    Transport,
    TransportError,
    block_sink,
)
from annotui.transport.shell import (
    PGID_MARKER,
    group_alive_script,
    parse_group_alive,
    parse_marker,
    remote_command,
    remote_payload,
)
from annotui.transport.sshconfig import SshTarget, config_file, load_config, resolve

DEFAULT_CONNECT_TIMEOUT = 15.0
DEFAULT_KEEPALIVE = 15
MARKER_SCAN = 1 << 16
"""How far into its stream the bootstrap's process-group line is looked for (a login shell's
rc file may print before it)."""

PassphrasePrompt = Callable[[str], str | None]


def _channel_request(chan: paramiko.Channel, m: paramiko.Message) -> None:
    """paramiko ignores `exit-signal`: record it (and end the wait for an exit status)."""
    pos = m.packet.tell()
    if m.get_text() == "exit-signal":
        m.get_boolean()
        chan.annotui_signal = "SIG" + m.get_text()
        chan.status_event.set()
        return
    m.packet.seek(pos)
    paramiko.Channel._handle_request(chan, m)


class _Transport(paramiko.Transport):  # type: ignore[misc]  # paramiko has no types
    _channel_handler_table = {
        **paramiko.Transport._channel_handler_table,
        paramiko.common.MSG_CHANNEL_REQUEST: _channel_request,
    }

    def send_signal(self, chan: paramiko.Channel, name: str) -> None:
        """RFC 4254 6.9 `signal` request (paramiko has no API for it)."""
        m = paramiko.Message()
        m.add_byte(cMSG_CHANNEL_REQUEST)
        m.add_int(chan.remote_chanid)
        m.add_string("signal")
        m.add_boolean(False)
        m.add_string(name)
        with contextlib.suppress(EOFError, OSError, paramiko.SSHException):
            self._send_user_message(m)


class _Inbox(BufferedPipe):  # type: ignore[misc]
    """Stands in for one stream's receive buffer of a channel: paramiko's transport thread
    `feed`s it each packet's data, which is queued for the event loop as it is (no reader thread,
    no copying into and out of a buffer). `close` is paramiko's end of the stream."""

    def __init__(self, pump: _Pump, stream: Stream) -> None:
        super().__init__()
        self.pump = pump
        self.stream: Stream = stream
        self.queued: list[bytes] = []
        self.ended = False
        self.scheduled = False
        # loop side
        self.tail = b""
        self.first = stream == pump.marker_stream
        self.scanned = 0
        self.done: asyncio.Future[None] = pump.loop.create_future()

    def feed(self, data: bytes) -> None:  # transport thread: never block, never raise
        with self._lock:
            self.queued.append(data)
            self._schedule()

    def close(self) -> None:  # transport thread (or the loop's chan.close())
        super().close()
        with self._lock:
            self.ended = True
            self._schedule()

    def _schedule(self) -> None:
        """One pending hand-over per stream: what arrives meanwhile goes with it."""
        if not self.scheduled:
            self.scheduled = True
            with contextlib.suppress(RuntimeError):  # the loop was closed
                self.pump.loop.call_soon_threadsafe(self.pump.deliver, self)

    def take(self) -> tuple[list[bytes], bool]:
        """(the data queued so far, whether the stream ended) for the event loop."""
        with self._lock:
            queued, self.queued = self.queued, []
            self.scheduled = False
            return queued, self.ended


class _Pump:
    """Takes a channel's stdout and stderr from paramiko's transport thread and hands blocks of
    whole lines to `on_line` on the event loop, in order per stream. The SSH window is opened
    again only for data the event loop has taken: a slow consumer makes the server wait, so
    memory is bounded by the channel's window whatever the output size."""

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        deliver: Deliver,
        *,
        strip_cr: bool,
        on_spawn: OnSpawn | None = None,
    ) -> None:
        self.loop = loop
        self.deliver_block = deliver
        self.strip_cr = strip_cr
        self.on_spawn = on_spawn
        self.error: BaseException | None = None
        self.pgid: int | None = None
        self.spawned: asyncio.Future[None] = loop.create_future()
        """Done when the process-group line came, or its stream ended or went past
        `MARKER_SCAN` without it."""
        self.marker_stream: Stream = "stdout" if strip_cr else "stderr"
        self.chan: paramiko.Channel | None = None
        self.inboxes = (_Inbox(self, "stdout"), _Inbox(self, "stderr"))
        self.done = asyncio.gather(*(box.done for box in self.inboxes))

    def attach(self, chan: paramiko.Channel) -> None:
        """Receive the channel's output (before its command starts)."""
        self.chan = chan
        chan.in_buffer, chan.in_stderr_buffer = self.inboxes

    def _decode(self, data: bytes | memoryview) -> str:
        text = str(data, "utf-8", "replace")
        if self.strip_cr:
            text = text.replace("\r\n", "\n").removesuffix("\r")
        return text

    def _take_marker(self, box: _Inbox, text: str) -> str | None:
        """Remove the bootstrap's process-group line, the first of its stream but for what a
        login shell printed before it (passed on), and report the group to `on_spawn`; None
        when nothing is left."""
        if text.startswith(PGID_MARKER):
            at = 0
        else:
            at = text.find("\n" + PGID_MARKER)
            at = at + 1 if at >= 0 else -1
        end = text.find("\n", at) if at >= 0 else -1
        line = text[at : end if end >= 0 else None] if at >= 0 else ""
        group = parse_marker(line[len(PGID_MARKER) :]) if line.startswith(PGID_MARKER) else None
        if group is None:
            box.scanned += len(text) + 1
            if box.scanned > MARKER_SCAN:
                box.first = False
                _set_done(self.spawned)
            return text
        box.first = False
        self.pgid = group[0]
        _set_done(self.spawned)
        if self.on_spawn is not None:
            self.on_spawn(Group(*group))
        kept = [
            part
            for part in (text[: at - 1] if at > 0 else None, text[end + 1 :] if end >= 0 else None)
            if part is not None
        ]
        return "\n".join(kept) if kept else None

    def _lines(self, box: _Inbox, chunks: list[bytes], ended: bool) -> str | None:
        """The whole lines of what arrived after the stream's unfinished line (and that line
        itself at the end of the stream), or None; keeps the new unfinished line."""
        data = b"".join((box.tail, *chunks))
        if ended:
            box.tail = b""
            if not data:
                return None
            cut = len(data) - 1 if data.endswith(b"\n") else len(data)
        else:
            cut = data.rfind(b"\n")
            if cut < 0 and len(data) <= MAX_LINE:
                box.tail = data
                return None
            if cut < 0:  # an overlong line: deliver what we have as one piece
                cut = len(data)
            box.tail = data[cut + 1 :]
        text = self._decode(memoryview(data)[:cut])
        return self._take_marker(box, text) if box.first else text

    def deliver(self, box: _Inbox) -> None:
        chunks, ended = box.take()
        try:
            text = self._lines(box, chunks, ended) if self.error is None else None
            if text is not None:
                self.deliver_block(box.stream, text)
        except Exception as e:  # a consumer failed: stop reading, report it from run()
            self.error = e
            assert self.chan is not None
            self.chan.close()
        if chunks and not ended:
            self._open_window(sum(map(len, chunks)))
        if ended:
            if box.stream == self.marker_stream:
                _set_done(self.spawned)
            _set_done(box.done)

    def _open_window(self, n: int) -> None:
        """Let the server send `n` more bytes (what `Channel.recv` does after a read). paramiko
        sends it at once, except during a key re-exchange (every GiB or so), which it waits for."""
        chan = self.chan
        assert chan is not None
        ack = chan._check_add_window(n)
        if ack > 0:
            m = paramiko.Message()
            m.add_byte(cMSG_CHANNEL_WINDOW_ADJUST)
            m.add_int(chan.remote_chanid)
            m.add_int(ack)
            with contextlib.suppress(EOFError, OSError, paramiko.SSHException):
                chan.transport._send_user_message(m)


def _load_key(path: Path, passphrase: bytes | None) -> paramiko.PKey:
    try:
        return paramiko.PKey.from_path(path, passphrase)
    except TypeError as e:  # cryptography's way of saying an OpenSSH-format key is encrypted
        raise paramiko.PasswordRequiredException(str(e)) from e


def _ping(tr: paramiko.Transport, answered: threading.Event) -> None:
    """One keepalive round trip (OpenSSH answers unknown global requests with a failure)."""
    tr.global_request("keepalive@openssh.com", wait=True)
    answered.set()


def _set_done(fut: asyncio.Future[None]) -> None:
    if not fut.done():
        fut.set_result(None)


@dataclass(eq=False)
class _SshJob(Job):
    """A command on a channel (see `Job`)."""

    owner: SshTransport
    chan: paramiko.Channel
    pump: _Pump
    command: Command
    payload: bytes | None
    """Still to send (a pty session's, once its bootstrap is ready)."""

    async def finish(self) -> None:
        chan, pump = self.chan, self.pump
        if self.payload is not None:
            await asyncio.shield(pump.spawned)
            payload, self.payload = self.payload, None
            if pump.pgid is not None and not pump.done.done():
                try:
                    await asyncio.to_thread(chan.sendall, payload)
                except (paramiko.SSHException, EOFError, OSError) as e:
                    raise TransportError(
                        f"{self.owner.name}: cannot hand the command over: {e}"
                    ) from e
            elif not pump.done.done():
                raise TransportError(
                    f"{self.owner.name} ({self.owner.target}): the remote shell did not start "
                    "the command (no process-group line)"
                )
        await asyncio.shield(pump.done)
        if not chan.status_event.is_set():
            await asyncio.to_thread(chan.status_event.wait)
        if pump.error is not None:
            raise pump.error

    async def stop(self) -> None:
        """TERM, then KILL after a grace period, a last KILL for the group's stragglers, then
        close the channel."""
        chan, pump = self.chan, self.pump
        if self.command.pty:
            with contextlib.suppress(OSError, paramiko.SSHException):
                chan.send(b"\x03")
        for sig in ("TERM", "KILL"):
            await asyncio.to_thread(self.owner._signal, chan, pump.pgid, sig)
            try:
                await asyncio.wait_for(asyncio.shield(pump.done), KILL_GRACE)
                break
            except TimeoutError:
                continue
        if sig == "TERM" and pump.pgid is not None:  # what ignored TERM and left the output
            await asyncio.to_thread(self.owner._signal, chan, pump.pgid, "KILL")
        chan.close()
        with contextlib.suppress(BaseException):
            await asyncio.wait_for(asyncio.shield(pump.done), KILL_GRACE)

    def stop_signal(self) -> str:
        sig: str | None = self.chan.annotui_signal
        return sig or "SIGTERM"

    def result(self, duration: float) -> RunResult:
        chan = self.chan
        sig: str | None = chan.annotui_signal
        code: int = chan.exit_status
        if code == -1 and sig is None:
            owner = self.owner
            if not chan.get_transport().is_active():
                raise owner._lost(f"while running {self.command.text!r}: its outcome is unknown")
            raise TransportError(
                f"{owner.name}: the server closed the channel without an exit status"
            )
        return RunResult(None if sig else code, duration, signal=sig)

    async def release(self) -> None:
        self.chan.close()


class SshTransport(Transport):
    """Runs commands on one host over one reused, verified SSH connection."""

    def __init__(
        self,
        host_id: str,
        target: str,
        *,
        config_path: Path | None = None,
        known_hosts: Sequence[Path] | None = None,
        passphrase_prompt: PassphrasePrompt | None = None,
    ) -> None:
        """`known_hosts`, when given, replaces the files named by the config (user + global)."""
        self.name = host_id
        self.target = target
        self.config_path = config_path
        self.known_hosts = tuple(known_hosts) if known_hosts is not None else None
        self.passphrase_prompt = passphrase_prompt
        self.state = HostState("idle", target, time.time())
        self.connections = 0
        """How many times a connection was established (1 for a run without drops)."""
        self._lock = threading.Lock()
        self._chain: list[_Transport] = []
        self._proxies: list[paramiko.ProxyCommand] = []
        self._stop_keepalive = threading.Event()
        self._drop_reason = ""

    # -- connection -------------------------------------------------------------------------

    def _set_state(self, state: HostStateName, detail: str = "") -> None:
        self.state = HostState(state, detail, time.time())

    def _where(self, t: SshTarget) -> str:
        return f"{self.name} ({self.target} -> {t.address})"

    def _connected(self) -> _Transport | None:
        return self._chain[-1] if self._chain and self._chain[-1].is_active() else None

    def _ensure(self) -> _Transport:
        """The live connection, connecting (again) if needed. Blocking."""
        with self._lock:
            t = self._connected()
            if t is not None:
                return t
            self._teardown()
            self._set_state("connecting", self.target)
            try:
                cfg = load_config(config_file(self.config_path))
                self._chain = self._connect(resolve(self.target, cfg), cfg, None, 0)
            except TransportError as e:
                self._teardown()
                self._set_state("failed", str(e))
                raise
            self.connections += 1
            self._drop_reason = ""
            final = self._chain[-1]
            self._set_state(
                "connected", f"{final.annotui_target.user}@{final.annotui_target.address}"
            )
            self._stop_keepalive = threading.Event()
            threading.Thread(
                target=self._keepalive, args=(final, self._stop_keepalive), daemon=True
            ).start()
            return final

    def _connect(
        self, t: SshTarget, cfg: paramiko.SSHConfig, via: _Transport | None, depth: int
    ) -> list[_Transport]:
        """Connect to `t` (through `via`, or its own ProxyJump/ProxyCommand); return the chain."""
        if depth > 8:
            raise TransportError(f"{self._where(t)}: ProxyJump chain too long (a loop?)")
        chain: list[_Transport] = []
        if via is None and t.proxy_jump:
            first, *rest = t.proxy_jump
            chain = self._connect(resolve(first, cfg), cfg, None, depth + 1)
            for hop in rest:
                chain += self._connect(resolve(hop, cfg), cfg, chain[-1], depth + 1)
            via = chain[-1]
        chain.append(self._handshake(t, via))
        return chain

    def _open_socket(self, t: SshTarget, via: _Transport | None, timeout: float) -> object:
        where = self._where(t)
        if via is not None:
            try:
                return via.open_channel(
                    "direct-tcpip", (t.hostname, t.port), ("127.0.0.1", 0), timeout=timeout
                )
            except (paramiko.SSHException, EOFError, OSError) as e:
                hop = via.annotui_target.spec
                raise TransportError(f"{where}: the jump host {hop} cannot reach it: {e}") from e
        if t.proxy_command:
            try:
                proxy = paramiko.ProxyCommand(t.proxy_command)
            except paramiko.SSHException as e:
                raise TransportError(f"{where}: ProxyCommand failed: {e}") from e
            self._proxies.append(proxy)
            return proxy
        try:
            sock = socket.create_connection((t.hostname, t.port), timeout=timeout)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # as OpenSSH does
            return sock
        except socket.gaierror as e:
            raise TransportError(
                f"{where}: cannot resolve host name {t.hostname}: {e.strerror}"
            ) from e
        except ConnectionRefusedError as e:
            raise TransportError(f"{where}: connection refused") from e
        except TimeoutError as e:
            raise TransportError(f"{where}: connection timed out after {timeout:g} s") from e
        except OSError as e:
            raise TransportError(f"{where}: cannot connect: {e.strerror or e}") from e

    def _handshake(self, t: SshTarget, via: _Transport | None) -> _Transport:
        where = self._where(t)
        timeout = t.connect_timeout or DEFAULT_CONNECT_TIMEOUT
        files = self.known_hosts if self.known_hosts is not None else t.known_hosts
        sock = self._open_socket(t, via, timeout)
        tr = _Transport(sock)
        tr.annotui_target = t
        tr.banner_timeout = tr.handshake_timeout = tr.auth_timeout = timeout
        name = hostkeys.lookup_name(t.hostname, t.port, t.host_key_alias)
        opts = tr.get_security_options()
        opts.key_types = hostkeys.preferred_algorithms(
            hostkeys.known_keys(files, name), tuple(opts.key_types)
        )
        try:
            try:
                tr.start_client(timeout=timeout)
            except (paramiko.SSHException, EOFError, OSError) as e:
                raise TransportError(f"{where}: SSH handshake failed: {e}") from e
            hostkeys.verify(
                tr.get_remote_server_key(),
                hostname=t.hostname,
                port=t.port,
                alias=t.host_key_alias,
                files=files,
                where=where,
                via=via.annotui_target.spec if via else None,
            )
            self._authenticate(tr, t, where)
        except BaseException:
            tr.close()
            raise
        return tr

    def _agent_keys(self, t: SshTarget) -> list[paramiko.PKey]:
        try:
            keys = list(paramiko.Agent().get_keys())
        except paramiko.SSHException:
            return []
        if not t.identities_only:
            return keys
        wanted = set()
        for f in t.identity_files:
            with contextlib.suppress(OSError, ValueError, IndexError):
                wanted.add(f.with_name(f.name + ".pub").read_text().split()[1])
        return [k for k in keys if k.get_base64() in wanted]

    def _authenticate(self, tr: _Transport, t: SshTarget, where: str) -> None:
        tried: list[str] = []

        def attempt(key: paramiko.PKey, what: str) -> bool:
            try:
                tr.auth_publickey(t.user, key)
            except paramiko.BadAuthenticationType as e:
                raise TransportError(
                    f"{where}: the server does not accept public keys for {t.user} "
                    f"(it allows: {', '.join(e.allowed_types)})"
                ) from e
            except paramiko.AuthenticationException:
                tried.append(f"{what} (rejected)")
                return False
            except (paramiko.SSHException, EOFError, OSError) as e:
                raise TransportError(f"{where}: connection lost during authentication: {e}") from e
            return bool(tr.is_authenticated())

        for key in self._agent_keys(t):
            if attempt(key, f"agent key {hostkeys.fingerprint(key)}"):
                return
        encrypted: list[Path] = []
        for path in t.identity_files:
            try:
                key = _load_key(path, None)
            except paramiko.PasswordRequiredException:
                encrypted.append(path)
                continue
            except (OSError, paramiko.SSHException, ValueError) as e:
                tried.append(f"{path} (unusable: {e})")
                continue
            if attempt(key, str(path)):
                return
        for path in encrypted:
            if self._encrypted_key(path, tried, attempt):
                return
        if not tried:
            tried.append("no ssh-agent keys and no identity files")
        raise TransportError(
            f"{where}: authentication failed for user {t.user}; tried: {'; '.join(tried)}"
        )

    def _encrypted_key(
        self, path: Path, tried: list[str], attempt: Callable[[paramiko.PKey, str], bool]
    ) -> bool:
        if self.passphrase_prompt is None:
            tried.append(f"{path} (encrypted, no passphrase prompt available)")
            return False
        for _ in range(3):
            secret = self.passphrase_prompt(f"Enter passphrase for key '{path}': ")
            if not secret:
                tried.append(f"{path} (encrypted, no passphrase given)")
                return False
            try:
                key = _load_key(path, secret.encode())
            except (paramiko.SSHException, ValueError):
                continue
            finally:
                del secret
            return attempt(key, str(path))
        tried.append(f"{path} (wrong passphrase)")
        return False

    def _keepalive(self, tr: _Transport, stop: threading.Event) -> None:
        t: SshTarget = tr.annotui_target
        interval = t.keepalive_interval or DEFAULT_KEEPALIVE
        while not stop.wait(interval) and tr.is_active():
            answered = threading.Event()
            threading.Thread(target=_ping, args=(tr, answered), daemon=True).start()
            wait = interval * max(t.keepalive_count, 1)
            if not answered.wait(wait) and not stop.is_set():
                self._drop_reason = f"no keepalive answer from {t.address} for {wait} s"
                self._set_state("failed", f"{self._drop_reason}; disconnected")
                tr.close()
                return

    def _teardown(self) -> None:
        self._stop_keepalive.set()
        for tr in reversed(self._chain):
            tr.close()
        for proxy in self._proxies:
            with contextlib.suppress(OSError, paramiko.SSHException):
                proxy.close()
        self._chain, self._proxies = [], []

    def _lost(self, what: str) -> ConnectionLost:
        why = f" ({self._drop_reason})" if self._drop_reason else ""
        msg = f"{self.name} ({self.target}): connection lost{why} {what}"
        self._set_state("failed", msg)
        return ConnectionLost(msg)

    def _open(self, pty: bool, pump: _Pump, payload: bytes | None) -> paramiko.Channel:
        """Open a session channel (reconnecting if the link dropped), let `pump` receive its
        output, start the bootstrap and send it `payload` (unless it is None). Blocking."""
        for attempt in (1, 2):
            tr = self._ensure()
            try:
                chan = tr.open_session(timeout=DEFAULT_CONNECT_TIMEOUT)
                break
            except (paramiko.SSHException, EOFError, OSError) as e:
                if tr.is_active() or attempt == 2:
                    raise TransportError(
                        f"{self.name} ({self.target}): cannot open a channel: {e}"
                    ) from e
        chan.annotui_signal = None
        pump.attach(chan)
        try:
            if pty:
                chan.get_pty()
            chan.exec_command(remote_command())
            if payload is not None:
                chan.sendall(payload)
        except (paramiko.SSHException, EOFError, OSError) as e:
            chan.close()
            if not tr.is_active():
                raise self._lost("while starting the command (it may have started)") from e
            raise TransportError(
                f"{self.name} ({self.target}): cannot start the command: {e}"
            ) from e
        return chan

    # -- public API ---------------------------------------------------------------------------

    async def connect(self) -> None:
        """Connect now (else the first `run` does it); raises `TransportError`/`HostKeyError`."""
        await asyncio.to_thread(self._ensure)

    def open_tcp(self, dest_host: str, dest_port: int) -> paramiko.Channel:
        """A `direct-tcpip` channel to dest_host:dest_port from the remote host. Blocking."""
        tr = self._ensure()
        try:
            return tr.open_channel(
                "direct-tcpip",
                (dest_host, dest_port),
                ("127.0.0.1", 0),
                timeout=DEFAULT_CONNECT_TIMEOUT,
            )
        except (paramiko.SSHException, EOFError, OSError) as e:
            raise TransportError(
                f"{self.name} ({self.target}): cannot open a tunnel to {dest_host}:{dest_port}: {e}"
            ) from e

    async def _start(self, command: Command) -> Job:
        payload = remote_payload(command.text, command.cwd, command.env)
        pty = command.pty
        loop = asyncio.get_running_loop()
        pump = _Pump(loop, block_sink(command.on_line), strip_cr=pty, on_spawn=command.on_spawn)
        # With a pty, the payload waits for the bootstrap's first line (raw mode, no echo).
        opening = asyncio.ensure_future(
            asyncio.to_thread(self._open, pty, pump, None if pty else payload)
        )
        try:
            chan = await asyncio.shield(opening)
        except asyncio.CancelledError:  # the command may start anyway: stop it once it has
            with contextlib.suppress(Exception):
                job = _SshJob(self, await opening, pump, command, None)
                await job.stop()
                await job.release()
            raise
        return _SshJob(self, chan, pump, command, payload if pty else None)

    def _signal(self, chan: paramiko.Channel, pgid: int | None, sig: str) -> None:
        """Signal the command's process group: a `signal` channel request while the command
        runs (OpenSSH honours it only for non-root users) and `kill -s SIG -- -PGID` through a
        second channel (also once the command's shell is gone: what it left in its group)."""
        tr = chan.get_transport()
        if not isinstance(tr, _Transport) or not tr.is_active():
            return
        if not chan.closed and not chan.status_event.is_set():
            tr.send_signal(chan, sig)
        if pgid is None:
            return
        with contextlib.suppress(paramiko.SSHException, EOFError, OSError):
            killer = tr.open_session(timeout=KILL_GRACE)
            killer.exec_command(f"kill -s {sig} -- -{pgid} 2>/dev/null")
            killer.status_event.wait(KILL_GRACE)
            killer.close()

    async def group_alive(self, pgid: int, starttime: int | None, boot_id: str | None) -> bool:
        out: list[str] = []

        def on_line(stream: Stream, line: str) -> None:
            if stream == "stdout":
                out.append(line)

        check = group_alive_script(pgid, starttime, boot_id)
        result = await self.run(check, on_line=on_line, timeout=30)
        alive = parse_group_alive(out)
        if alive is None:
            how = "no answer" if result.timed_out else f"exit {result.exit_code}"
            raise TransportError(
                f"{self.name} ({self.target}): cannot tell whether process group {pgid} "
                f"is alive ({how})"
            )
        return alive

    async def close(self) -> None:
        def shut() -> None:
            with self._lock:
                self._teardown()

        await asyncio.to_thread(shut)
        self._set_state("closed", self.target)
