"""A TCP proxy on 127.0.0.1 that delays all data by a fixed one-way latency in each direction.

The WAN link model of bench_status.py (this kernel has no `netem` qdisc). Every chunk read from
one side is written to the other `DELAY_MS` after it arrived, in order, and so is the end of
the stream; nothing else is changed (no bandwidth limit, no jitter, no loss; connection set-up
itself is not delayed). Built on asyncio protocols and timers, not streams and tasks, so that it
costs the shared cores little CPU beside the client and servers being measured.

Usage: python link_delay.py DELAY_MS TARGET_PORT...
Prints the port it listens on for each target, one a line in the targets' order, then serves
until SIGTERM.
"""

from __future__ import annotations

import asyncio
import sys
from collections import deque


class _Delayed:
    """Writes what is pushed to `transport`, each chunk `delay` s later (b"": close it)."""

    def __init__(self, transport: asyncio.Transport, delay: float) -> None:
        self.transport = transport
        self.delay = delay
        self.loop = asyncio.get_running_loop()
        self.queue: deque[tuple[float, bytes]] = deque()

    def push(self, data: bytes) -> None:
        self.queue.append((self.loop.time() + self.delay, data))
        if len(self.queue) == 1:
            self.loop.call_at(self.queue[0][0], self._due)

    def _due(self) -> None:
        now = self.loop.time()
        while self.queue and self.queue[0][0] <= now:
            data = self.queue.popleft()[1]
            if data:
                self.transport.write(data)
            else:
                self.transport.close()
        if self.queue:
            self.loop.call_at(self.queue[0][0], self._due)


class _Side(asyncio.Protocol):
    """One end of a proxied connection; what it receives goes to the other end, delayed."""

    def __init__(self) -> None:
        self.to_peer: _Delayed | None = None

    def data_received(self, data: bytes) -> None:
        assert self.to_peer is not None  # reading starts once both ends are connected
        self.to_peer.push(data)

    def connection_lost(self, exc: Exception | None) -> None:
        if self.to_peer is not None:
            self.to_peer.push(b"")


class _Accepted(_Side):
    """The client's end: connects to the target, then starts reading."""

    def __init__(self, target: int, delay: float) -> None:
        super().__init__()
        self.target = target
        self.delay = delay

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        transport.pause_reading()
        self.connecting = asyncio.ensure_future(self._connect(transport))

    async def _connect(self, transport: asyncio.Transport) -> None:
        try:
            upstream, side = await asyncio.get_running_loop().create_connection(
                _Side, "127.0.0.1", self.target
            )
        except OSError:
            transport.close()
            return
        self.to_peer = _Delayed(upstream, self.delay)
        side.to_peer = _Delayed(transport, self.delay)
        transport.resume_reading()


async def _serve(delay: float, targets: list[int]) -> None:
    loop = asyncio.get_running_loop()
    servers = []  # kept referenced while serving
    for target in targets:
        server = await loop.create_server(lambda t=target: _Accepted(t, delay), "127.0.0.1", 0)
        servers.append(server)
        print(server.sockets[0].getsockname()[1], flush=True)
    await asyncio.Event().wait()  # until SIGTERM ends the process (nothing to clean up)


if __name__ == "__main__":
    asyncio.run(_serve(float(sys.argv[1]) / 1000, [int(p) for p in sys.argv[2:]]))
