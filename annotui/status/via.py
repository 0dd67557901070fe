"""Reaching a supervisord endpoint through a host's SSH connection (`via = "host"`).

A network backend for the client's pool (`http.PoolTransport`) whose connections are SSH
`direct-tcpip` channels opened with `SshTransport.open_tcp(host, port)`. Opening, reading and
writing a channel (paramiko `Channel`, blocking and socket-like) run in worker threads; the
keep-alive pool of httpcore reuses a channel across requests just as it would a TCP socket.
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Iterable
from typing import Any, Protocol

import httpcore

from annotui.status.http import Backend, Stream


class Channel(Protocol):
    def recv(self, nbytes: int) -> bytes: ...
    def sendall(self, data: bytes) -> None: ...
    def settimeout(self, timeout: float | None) -> None: ...
    def close(self) -> None: ...


class TcpOpener(Protocol):
    """What `via` needs of a transport (SshTransport provides it; the call blocks)."""

    name: str

    def open_tcp(self, dest_host: str, dest_port: int) -> Channel: ...


class ChannelStream(Stream):
    def __init__(self, channel: Channel) -> None:
        self._channel = channel

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        def recv() -> bytes:
            self._channel.settimeout(timeout)
            return self._channel.recv(max_bytes)

        try:
            return await asyncio.to_thread(recv)
        except TimeoutError as e:
            raise httpcore.ReadTimeout(str(e) or "read timed out") from e
        except OSError as e:
            raise httpcore.ReadError(str(e)) from e

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:
        def send() -> None:
            self._channel.settimeout(timeout)
            self._channel.sendall(buffer)

        try:
            await asyncio.to_thread(send)
        except TimeoutError as e:
            raise httpcore.WriteTimeout(str(e) or "write timed out") from e
        except OSError as e:
            raise httpcore.WriteError(str(e)) from e

    async def aclose(self) -> None:
        await asyncio.to_thread(self._channel.close)

    async def _tls(self, ssl_context: ssl.SSLContext, server_hostname: str | None) -> None:
        raise httpcore.ConnectError("https through an SSH channel is not supported")

    def get_extra_info(self, info: str) -> Any:
        return None


class ViaBackend(Backend):
    errors = (Exception,)  # TransportError, paramiko ChannelException, ...

    def __init__(self, opener: TcpOpener) -> None:
        self.opener = opener

    async def _open(self, host: str, port: int) -> httpcore.AsyncNetworkStream:
        return ChannelStream(await asyncio.to_thread(self.opener.open_tcp, host, port))

    def _timed_out(self, host: str, port: int) -> str:
        return f"opening {host}:{port} through ssh timed out"

    def _failed(self, host: str, port: int, e: Exception) -> str:
        return f"cannot open {host}:{port} through {self.opener.name}: {e}"

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise httpcore.ConnectError("unix sockets are not supported through ssh")

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)
