"""Status refresh across 20 supervisord endpoints (20 real supervisord processes on 127.0.0.1).

One refresh = `Poller.refresh()` over 20 `SupervisorClient`s (distinct keep-alive connections),
each reading supervisord's state and all process infos in one `system.multicall`. Baseline: one
endpoint's call, measured side by side (warm connections, medians of ROUNDS interleaved rounds).
Target: the refresh takes at most 1.5x one call's latency, i.e. ratio = 1.5 * one call /
refresh >= 1.

The budget is about concurrency, which only pays where there is latency to overlap. Real
endpoints are remote (WAN, often through SSH), so the budget rows put a link between the client
and every supervisord, the single call's endpoint included: `link_delay.py`, one proxy process
that delays all data by a fixed time in each direction (this kernel has no netem qdisc): 10 and
25 ms each way, i.e. 20 and 50 ms round trips, the range we expect of links to remote endpoints.
The 20 supervisord and the proxy share this machine's 2 cores with the client, so their CPU
(which remote hosts would spend in parallel, each on its own) still lengthens a refresh here;
each row's note gives the CPU of every part.
The raw-loopback row is context: without latency a call and a refresh are pure CPU.

Every round also times the testbed's floor: the same 20 requests (same bytes, same warm
connections, same proxy and servers) from a client that only writes them and counts the
answers' bytes, parsing nothing. No client can refresh faster than that here; the gap between
it and annotui's refresh is the client's own share (HTTP and XML-RPC work in Python).

A last row compares the refresh through the 10 ms link with polling the 20 endpoints one after
another.
"""

from __future__ import annotations

import asyncio
import base64
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from rows import row
from supervisord_fixture import Supervisord, running_supervisord

from annotui.checklist.models import Supervisor
from annotui.sandbox_files.supervisord import terminate
from annotui.status.poller import Poller
from annotui.status.supervisor import OVERVIEW, SupervisorPool
from annotui.transport.pool import TransportPool

ENDPOINTS = 20
ROUNDS = 30
SEQUENTIAL_ROUNDS = 5
LINK_DELAYS_MS = (10, 25)
PROGRAM = {"anno": "/bin/sh -c 'exec sleep 86400'"}
LINK_DELAY = Path(__file__).resolve().parent / "link_delay.py"


def _cpu_seconds(pids: list[int]) -> float:
    """utime + stime of these processes, summed (from /proc, in clock ticks)."""
    ticks = 0
    for pid in pids:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
        ticks += int(fields[11]) + int(fields[12])
    return ticks / os.sysconf("SC_CLK_TCK")


class _FloorConnection(asyncio.Protocol):
    """The least a client can do per call: write prebuilt bytes, count the answer's bytes."""

    def __init__(self) -> None:
        self.buffer = bytearray()
        self.need: int | None = None
        self.done: asyncio.Future[None] | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        if self.need is None and (end := self.buffer.find(b"\r\n\r\n")) >= 0:
            length = re.search(rb"(?i)content-length: *(\d+)", self.buffer[:end])
            assert length, "supervisord answered without Content-Length"
            self.need = end + 4 + int(length[1])
        if self.need is not None and len(self.buffer) >= self.need:
            del self.buffer[: self.need]
            self.need = None
            assert self.done is not None
            self.done.set_result(None)


class _FloorClient:
    """One keep-alive connection per endpoint sending the poll's exact request (auth, the same
    system.multicall body) and reading the whole answer, with no HTTP or XML-RPC parsing: what
    any client must at least cost. Its refresh is this testbed's floor (link, 20 supervisord
    and the proxy on 2 cores), against which the real client's own share shows."""

    def __init__(self) -> None:
        self.connections: list[tuple[_FloorConnection, bytes]] = []

    async def connect(self, svs: list[Supervisord], urls: list[str]) -> None:
        loop = asyncio.get_running_loop()
        for sv, url in zip(svs, urls, strict=True):
            netloc = url.partition("//")[2]
            host, _, port = netloc.partition(":")
            _, conn = await loop.create_connection(_FloorConnection, host, int(port))
            token = base64.b64encode(f"{sv.username}:{sv.password}".encode()).decode()
            head = (
                f"POST /RPC2 HTTP/1.1\r\nHost: {netloc}\r\nContent-Type: text/xml\r\n"
                f"Authorization: Basic {token}\r\nContent-Length: {len(OVERVIEW)}\r\n\r\n"
            )
            self.connections.append((conn, head.encode() + OVERVIEW))

    async def refresh(self) -> None:
        loop = asyncio.get_running_loop()
        for conn, request in self.connections:
            conn.done = loop.create_future()
            conn.transport.write(request)  # type: ignore[attr-defined]
        for conn, _ in self.connections:
            await conn.done  # type: ignore[misc]

    def close(self) -> None:
        for conn, _ in self.connections:
            conn.transport.close()


async def _measure(
    svs: list[Supervisord], urls: list[str], proxy: int | None = None
) -> dict[str, float]:
    transports = TransportPool({})
    settings = {
        f"sv{i}": Supervisor(url=url, username=sv.username, password=sv.password)
        for i, (sv, url) in enumerate(zip(svs, urls, strict=True))
    }
    pool = SupervisorPool(settings, transports)
    poller = Poller({}, pool, transports)
    one = pool.get("sv0")
    floor = _FloorClient()
    await floor.connect(svs, urls)
    servers = [sv.pid for sv in svs if sv.pid is not None]
    proxies = [proxy] if proxy is not None else []
    try:
        await poller.refresh()  # open every keep-alive connection
        await floor.refresh()
        singles, refreshes, cpu, refresh_cpu, floors = [], [], [], [], []
        server_cpu, proxy_cpu = _cpu_seconds(servers), _cpu_seconds(proxies)
        for _ in range(ROUNDS):
            t, c = time.perf_counter(), time.process_time()
            await one.get_overview()
            singles.append(time.perf_counter() - t)
            cpu.append(time.process_time() - c)
            t, c = time.perf_counter(), time.process_time()
            snap = await poller.refresh()
            refreshes.append(time.perf_counter() - t)
            refresh_cpu.append(time.process_time() - c)
            assert all(r.error is None for r in snap.supervisors.values())
            t = time.perf_counter()
            await floor.refresh()
            floors.append(time.perf_counter() - t)
        server_cpu = _cpu_seconds(servers) - server_cpu
        proxy_cpu = _cpu_seconds(proxies) - proxy_cpu
        sequential = []
        for _ in range(SEQUENTIAL_ROUNDS):
            t = time.perf_counter()
            for name in settings:
                await pool.get(name).get_overview()
            sequential.append(time.perf_counter() - t)
    finally:
        floor.close()
        await pool.aclose()
    calls = ROUNDS * (1 + 2 * ENDPOINTS)
    return {
        "one": statistics.median(singles),
        "refresh": statistics.median(refreshes),
        "sequential": statistics.median(sequential),
        "floor": statistics.median(floors),
        "cpu": statistics.median(cpu),
        "refresh_cpu": statistics.median(refresh_cpu),
        "server_cpu": server_cpu / calls,
        "proxy_cpu": proxy_cpu / calls,
    }


@contextmanager
def _delayed_links(svs: list[Supervisord], delay_ms: int) -> Iterator[tuple[list[str], int]]:
    """Start link_delay.py in front of every supervisord; yield their URLs through it, its PID."""
    proc = subprocess.Popen(
        [sys.executable, str(LINK_DELAY), str(delay_ms)] + [str(sv.port) for sv in svs],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        yield [f"http://127.0.0.1:{int(proc.stdout.readline())}" for _ in svs], proc.pid
    finally:
        terminate(proc.pid)
        proc.wait(timeout=10)


def _conditions(m: dict[str, float]) -> str:
    proxy = f", link_delay.py {m['proxy_cpu'] * 1e3:.2f} ms" if m["proxy_cpu"] else ""
    return (
        f"one call {m['one'] * 1e3:.2f} ms, refresh {m['refresh'] * 1e3:.1f} ms = "
        f"{m['refresh'] / m['one']:.2f}x one call; client CPU {m['cpu'] * 1e3:.2f} ms per call, "
        f"{m['refresh_cpu'] * 1e3:.1f} ms per refresh; CPU per call of each supervisord "
        f"{m['server_cpu'] * 1e3:.2f} ms{proxy}; this testbed's floor (the same 20 requests "
        f"from a client that only writes prebuilt bytes and counts the answers') "
        f"{m['floor'] * 1e3:.1f} ms = {m['floor'] / m['one']:.2f}x one call"
    )


def run() -> list[dict[str, Any]]:
    with tempfile.TemporaryDirectory(prefix="annotui-bench-status-") as tmp, ExitStack() as st:
        svs = [
            st.enter_context(running_supervisord(Path(tmp) / f"sv{i}", programs=PROGRAM))
            for i in range(ENDPOINTS)
        ]
        loopback = asyncio.run(_measure(svs, [sv.url for sv in svs]))
        links = {}
        for delay in LINK_DELAYS_MS:
            with _delayed_links(svs, delay) as (urls, proxy):
                links[delay] = asyncio.run(_measure(svs, urls, proxy))
    rows = []
    for delay, m in links.items():
        ratio = 1.5 * m["one"] / m["refresh"]
        rows.append(
            row(
                name=f"status refresh, {ENDPOINTS} supervisord endpoints, {delay} ms link",
                annotui=m["refresh"],
                baseline=m["one"],
                unit="s",
                ratio=ratio,
                target="<= 1.5x one call",
                ok=ratio >= 1.0,
                note=f"every endpoint, the single call's included, behind link_delay.py: one "
                f"proxy process delaying all data {delay} ms each way ({2 * delay} ms round "
                f"trip, no bandwidth limit or jitter); warm keep-alive connections; medians of "
                f"{ROUNDS} interleaved rounds; client, 20 supervisord and proxy on the same 2 "
                f"shared cores; {_conditions(m)}",
            )
        )
    link = links[LINK_DELAYS_MS[0]]
    return [
        *rows,
        row(
            name=f"status refresh, {ENDPOINTS} supervisord endpoints, raw loopback",
            annotui=loopback["refresh"],
            baseline=loopback["one"],
            unit="s",
            ratio=1.5 * loopback["one"] / loopback["refresh"],
            target="context",
            ok=True,
            note=f"no latency to overlap: a refresh is 20 calls of client CPU and 20 of "
            f"supervisord CPU on 2 shared cores; {_conditions(loopback)}; the 20 calls one "
            f"after another {loopback['sequential'] * 1e3:.1f} ms",
        ),
        row(
            name=f"status refresh vs sequential polling of {ENDPOINTS}, "
            f"{LINK_DELAYS_MS[0]} ms link",
            annotui=link["refresh"],
            baseline=link["sequential"],
            unit="s",
            ratio=link["sequential"] / link["refresh"],
            target="> 1x (context)",
            ok=link["sequential"] > link["refresh"],
            note=f"the same 20 calls awaited one after another (median of {SEQUENTIAL_ROUNDS})",
        ),
    ]


if __name__ == "__main__":
    for r in run():
        print(r)
