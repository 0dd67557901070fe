"""A TCP proxy on 127.0.0.1 that delays all data by a fixed one-way latency in each direction.

The WAN link model of bench_status.py (this kernel has no `netem` qdisc). Every chunk read from
one side is written to the other `DELAY_MS` after it arrived, in order; nothing else is changed
(no bandwidth limit, no jitter, no loss; connection set-up itself is not delayed).

Usage: python link_delay.py DELAY_MS TARGET_PORT...
Prints the port it listens on for each target, one a line in the targets' order, then serves
until SIGTERM.
"""

from __future__ import annotations

import asyncio
import sys


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, delay: float) -> None:
    """Copy reader to writer, each chunk (and the end of stream) `delay` seconds late."""
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[tuple[float, bytes]] = asyncio.Queue()

    async def deliver() -> None:
        while True:
            due, data = await queue.get()
            await asyncio.sleep(due - loop.time())
            if not data:
                writer.close()
                return
            writer.write(data)
            await writer.drain()

    delivery = asyncio.create_task(deliver())
    try:
        while data := await reader.read(65536):
            queue.put_nowait((loop.time() + delay, data))
    except OSError:
        pass
    queue.put_nowait((loop.time() + delay, b""))
    try:
        await delivery
    except OSError:
        writer.close()


async def _serve(delay: float, targets: list[int]) -> None:
    async def handle(target: int, r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
        try:
            tr, tw = await asyncio.open_connection("127.0.0.1", target)
        except OSError:
            w.close()
            return
        await asyncio.gather(_pipe(r, tw, delay), _pipe(tr, w, delay))

    servers = []  # kept referenced while serving
    for target in targets:
        server = await asyncio.start_server(lambda r, w, t=target: handle(t, r, w), "127.0.0.1", 0)
        servers.append(server)
        print(server.sockets[0].getsockname()[1], flush=True)
    await asyncio.Event().wait()  # until SIGTERM ends the process (nothing to clean up)


if __name__ == "__main__":
    asyncio.run(_serve(float(sys.argv[1]) / 1000, [int(p) for p in sys.argv[2:]]))
