"""Status refresh across 20 supervisord endpoints (20 real supervisord processes on 127.0.0.1).

One refresh = `Poller.refresh()` over 20 `SupervisorClient`s (distinct keep-alive connections),
each reading supervisord's state and all process infos in one `system.multicall`. Baseline: one
endpoint's call, measured side by side (warm connections, medians of ROUNDS interleaved rounds).
Target: the refresh takes at most 1.5x one call's latency, i.e. ratio = 1.5 * one call /
refresh >= 1.

The budget is about concurrency, which only pays where there is latency to overlap. Real
endpoints are remote (WAN, often through SSH), so the budget row puts a link between the client
and every supervisord, the single call's endpoint included: `link_delay.py`, one proxy process
that delays all data LINK_DELAY_MS in each direction (this kernel has no netem qdisc). The
raw-loopback row is context: without latency both sides are pure CPU, and a refresh costs 20 calls
of client CPU and 20 of supervisord CPU on this machine's 2 cores.

A last row compares the refresh through the link with polling the 20 endpoints one after another.
"""

from __future__ import annotations

import asyncio
import os
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
from annotui.status.supervisor import SupervisorPool
from annotui.transport.pool import TransportPool

ENDPOINTS = 20
ROUNDS = 30
LINK_DELAY_MS = 10
PROGRAM = {"anno": "/bin/sh -c 'exec sleep 86400'"}
LINK_DELAY = Path(__file__).resolve().parent / "link_delay.py"


def _cpu_seconds(pid: int) -> float:
    """utime + stime of a process (from /proc, in clock ticks)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def _measure(svs: list[Supervisord], urls: list[str]) -> dict[str, float]:
    transports = TransportPool({})
    settings = {
        f"sv{i}": Supervisor(url=url, username=sv.username, password=sv.password)
        for i, (sv, url) in enumerate(zip(svs, urls, strict=True))
    }
    pool = SupervisorPool(settings, transports)
    poller = Poller({}, pool, transports)
    one = pool.get("sv0")
    clients = [pool.get(n) for n in settings]
    servers = [sv.pid for sv in svs if sv.pid is not None]
    try:
        await poller.refresh()  # open every keep-alive connection
        singles, refreshes, sequential, cpu, refresh_cpu = [], [], [], [], []
        server_cpu = sum(map(_cpu_seconds, servers))
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
            for client in clients:
                await client.get_overview()
            sequential.append(time.perf_counter() - t)
        server_cpu = sum(map(_cpu_seconds, servers)) - server_cpu
    finally:
        await pool.aclose()
    return {
        "one": statistics.median(singles),
        "refresh": statistics.median(refreshes),
        "sequential": statistics.median(sequential),
        "cpu": statistics.median(cpu),
        "refresh_cpu": statistics.median(refresh_cpu),
        "server_cpu": server_cpu / (ROUNDS * (1 + 2 * ENDPOINTS)),  # per call, all calls counted
    }


@contextmanager
def _delayed_links(svs: list[Supervisord]) -> Iterator[list[str]]:
    """Start link_delay.py in front of every supervisord; yield their URLs through it."""
    proc = subprocess.Popen(
        [sys.executable, str(LINK_DELAY), str(LINK_DELAY_MS)] + [str(sv.port) for sv in svs],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        yield [f"http://127.0.0.1:{int(proc.stdout.readline())}" for _ in svs]
    finally:
        terminate(proc.pid)
        proc.wait(timeout=10)


def _conditions(m: dict[str, float]) -> str:
    return (
        f"one call {m['one'] * 1e3:.2f} ms, refresh {m['refresh'] * 1e3:.1f} ms = "
        f"{m['refresh'] / m['one']:.2f}x one call; client CPU {m['cpu'] * 1e3:.2f} ms per call, "
        f"{m['refresh_cpu'] * 1e3:.1f} ms per refresh; supervisord CPU "
        f"{m['server_cpu'] * 1e3:.2f} ms per call"
    )


def run() -> list[dict[str, Any]]:
    with tempfile.TemporaryDirectory(prefix="annotui-bench-status-") as tmp, ExitStack() as st:
        svs = [
            st.enter_context(running_supervisord(Path(tmp) / f"sv{i}", programs=PROGRAM))
            for i in range(ENDPOINTS)
        ]
        loopback = asyncio.run(_measure(svs, [sv.url for sv in svs]))
        with _delayed_links(svs) as urls:
            link = asyncio.run(_measure(svs, urls))
    ratio = 1.5 * link["one"] / link["refresh"]
    return [
        row(
            name=f"status refresh, {ENDPOINTS} supervisord endpoints, {LINK_DELAY_MS} ms link",
            annotui=link["refresh"],
            baseline=link["one"],
            unit="s",
            ratio=ratio,
            target="<= 1.5x one call",
            ok=ratio >= 1.0,
            note=f"every endpoint, the single call's included, behind link_delay.py: one proxy "
            f"process delaying all data {LINK_DELAY_MS} ms each way ({2 * LINK_DELAY_MS} ms "
            f"round trip, no bandwidth limit or jitter), warm keep-alive connections, medians of "
            f"{ROUNDS} interleaved rounds; {_conditions(link)}",
        ),
        row(
            name=f"status refresh, {ENDPOINTS} supervisord endpoints, raw loopback",
            annotui=loopback["refresh"],
            baseline=loopback["one"],
            unit="s",
            ratio=1.5 * loopback["one"] / loopback["refresh"],
            target="context",
            ok=True,
            note=f"no latency to overlap: 20 calls of client CPU and 20 of supervisord CPU on 2 "
            f"shared cores; {_conditions(loopback)}; 20 calls one after another "
            f"{loopback['sequential'] * 1e3:.1f} ms",
        ),
        row(
            name=f"status refresh vs sequential polling of {ENDPOINTS}, {LINK_DELAY_MS} ms link",
            annotui=link["refresh"],
            baseline=link["sequential"],
            unit="s",
            ratio=link["sequential"] / link["refresh"],
            target="> 1x (context)",
            ok=link["sequential"] > link["refresh"],
            note="the same 20 calls awaited one after another",
        ),
    ]


if __name__ == "__main__":
    for r in run():
        print(r)
