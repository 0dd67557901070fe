"""The httpx transport of a supervisor client: one keep-alive pool over a chosen network backend.

`AsyncioBackend` is TCP (and TLS) on asyncio streams. httpx's own backend goes through anyio,
whose cancel scopes and checkpoints around every read and write cost about 15% of a status
call's CPU; with 20 endpoints polled at once that CPU is what a refresh waits for.
`via.ViaBackend` tunnels the same pool through an SSH connection.
"""

from __future__ import annotations

import asyncio
import select
import ssl
from collections.abc import Iterable
from typing import Any

import httpcore
import httpx


class Stream(httpcore.AsyncNetworkStream):
    """A pool's connection: `start_tls` within its timeout, over the stream's own `_tls`."""

    async def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.AsyncNetworkStream:
        try:
            async with asyncio.timeout(timeout):
                await self._tls(ssl_context, server_hostname)
        except TimeoutError as e:
            raise httpcore.ConnectTimeout("TLS handshake timed out") from e
        except OSError as e:  # ssl.SSLError included
            raise httpcore.ConnectError(str(e) or type(e).__name__) from e
        return self

    async def _tls(self, ssl_context: ssl.SSLContext, server_hostname: str | None) -> None:
        raise httpcore.ConnectError(f"TLS is not supported over {type(self).__name__}")


class Backend(httpcore.AsyncNetworkBackend):
    """A pool's network backend: `_open(host, port)` within the timeout, its failures (those of
    `errors`) as httpcore's `ConnectTimeout` and `ConnectError`."""

    errors: tuple[type[Exception], ...] = (OSError,)

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        try:
            async with asyncio.timeout(timeout):
                return await self._open(host, port)
        except TimeoutError as e:
            raise httpcore.ConnectTimeout(self._timed_out(host, port)) from e
        except self.errors as e:
            raise httpcore.ConnectError(self._failed(host, port, e)) from e

    async def _open(self, host: str, port: int) -> httpcore.AsyncNetworkStream:
        raise NotImplementedError

    def _timed_out(self, host: str, port: int) -> str:
        return f"connecting to {host}:{port} timed out"

    def _failed(self, host: str, port: int, e: Exception) -> str:
        return str(e) or type(e).__name__


class AsyncioStream(Stream):
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._reader = reader
        self._writer = writer

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        try:
            async with asyncio.timeout(timeout):
                return await self._reader.read(max_bytes)
        except TimeoutError as e:
            raise httpcore.ReadTimeout("read timed out") from e
        except OSError as e:
            raise httpcore.ReadError(str(e) or type(e).__name__) from e

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:
        if not buffer:  # h11's end of a Content-Length body
            return
        try:
            self._writer.write(buffer)
            async with asyncio.timeout(timeout):
                await self._writer.drain()
        except TimeoutError as e:
            raise httpcore.WriteTimeout("write timed out") from e
        except OSError as e:
            raise httpcore.WriteError(str(e) or type(e).__name__) from e

    async def aclose(self) -> None:
        self._writer.close()

    async def _tls(self, ssl_context: ssl.SSLContext, server_hostname: str | None) -> None:
        await self._writer.start_tls(ssl_context, server_hostname=server_hostname)

    def get_extra_info(self, info: str) -> Any:
        if info == "is_readable":  # asked of an idle connection: has the server closed it?
            if self._writer.is_closing() or self._reader.at_eof():
                return True
            # The loop may not have run since the server's FIN arrived: ask the socket itself.
            poll = select.poll()
            poll.register(self._writer.get_extra_info("socket").fileno(), select.POLLIN)
            return bool(poll.poll(0))
        if info == "ssl_object":
            return self._writer.get_extra_info("ssl_object")
        return None


class AsyncioBackend(Backend):
    """TCP only (the pool never asks for unix sockets, nor to sleep: it does not retry).
    Refused, DNS (socket.gaierror) and unreachable network are OSErrors."""

    async def _open(self, host: str, port: int) -> httpcore.AsyncNetworkStream:
        reader, writer = await asyncio.open_connection(host, port)
        return AsyncioStream(reader, writer)


class PoolTransport(httpx.AsyncHTTPTransport):
    """httpx's transport (request/response mapping, httpx exceptions) over our own pool."""

    def __init__(self, backend: httpcore.AsyncNetworkBackend) -> None:
        # No super().__init__(): it would build a pool that is replaced here, and an SSL
        # context from the CA bundle with it (~60 ms of CPU per endpoint). An https endpoint
        # gets httpcore's verifying default context when its connection opens.
        self._pool = httpcore.AsyncConnectionPool(
            network_backend=backend, max_connections=4, max_keepalive_connections=4
        )
