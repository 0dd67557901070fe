"""Concurrent polling of probes and supervisord endpoints, for the status panel and `status`.

Each source is polled by its own asyncio task at its own interval, so a slow or dead source never
delays another, a running step or the UI. Every value is kept as a reading with the time of the
last success, the last error and its age; a reading older than twice its interval is stale. After
a failure the next poll backs off exponentially (bounded by `max_backoff`).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from annotui.status.probes import run_probe
from annotui.status.supervisor import ProcessInfo, SupervisorError, SupervisorPool
from annotui.transport.pool import HostState, TransportPool

if TYPE_CHECKING:
    from annotui.checklist.models import Probe

STALE_FACTOR = 2.0


@dataclass(frozen=True, slots=True)
class Reading:
    """Common to every reading: when it last succeeded, its last error and its interval."""

    every: float
    at: float | None = None
    """time.time() of the last successful poll (None: never)."""
    error: str | None = None
    """The last poll's error (None when the last poll succeeded)."""
    error_at: float | None = None
    failures: int = 0
    """Consecutive failed polls."""

    def age(self, now: float | None = None) -> float | None:
        return None if self.at is None else max(0.0, (now or time.time()) - self.at)

    def stale(self, now: float | None = None) -> bool:
        age = self.age(now)
        return age is None or age > STALE_FACTOR * self.every

    def next_delay(self, max_backoff: float) -> float:
        if not self.failures:
            return self.every
        return float(min(self.every * 2**self.failures, max(max_backoff, self.every)))


@dataclass(frozen=True, slots=True)
class ProbeReading(Reading):
    name: str = ""
    host: str = ""
    title: str = ""
    value: int | None = None
    """The last good value (kept, and marked stale, while the probe fails)."""


@dataclass(frozen=True, slots=True)
class SupervisorReading(Reading):
    name: str = ""
    where: str = ""
    state: str | None = None
    """supervisord's own state (RUNNING, ...) at the last success."""
    processes: tuple[ProcessInfo, ...] = ()
    error_kind: str | None = None
    """unauthorized | unreachable | timeout | fault | protocol."""


@dataclass(frozen=True, slots=True)
class Snapshot:
    taken: float
    probes: dict[str, ProbeReading] = field(default_factory=dict)
    supervisors: dict[str, SupervisorReading] = field(default_factory=dict)
    hosts: dict[str, HostState] = field(default_factory=dict)


Callback = Callable[[Snapshot], None]


class Poller:
    """Polls `probes` (rendered) and every supervisor of `supervisors` until `stop()`."""

    def __init__(
        self,
        probes: Mapping[str, Probe],
        supervisors: SupervisorPool,
        transports: TransportPool,
        *,
        supervisor_every: float = 5.0,
        max_backoff: float = 30.0,
        on_update: Callback | None = None,
    ) -> None:
        self.probes = dict(probes)
        self.supervisors = supervisors
        self.transports = transports
        self.max_backoff = max_backoff
        self._probe_readings = {
            n: ProbeReading(every=p.every, name=n, host=p.host, title=p.title)
            for n, p in self.probes.items()
        }
        self._sv_readings = {
            n: SupervisorReading(every=supervisor_every, name=n, where=supervisors.get(n).where)
            for n in supervisors.names()
        }
        self._callbacks: list[Callback] = [on_update] if on_update else []
        self._tasks: list[asyncio.Task[None]] = []

    def subscribe(self, callback: Callback) -> Callable[[], None]:
        """Call `callback(snapshot)` after every poll; returns an unsubscribe function."""
        self._callbacks.append(callback)
        return lambda: self._callbacks.remove(callback)

    def snapshot(self) -> Snapshot:
        return Snapshot(
            taken=time.time(),
            probes=dict(self._probe_readings),
            supervisors=dict(self._sv_readings),
            hosts=self.transports.states(),
        )

    @property
    def running(self) -> bool:
        return any(not t.done() for t in self._tasks)

    async def refresh(self) -> Snapshot:
        """Poll every source once, concurrently, and return the snapshot."""
        await asyncio.gather(
            *(self.poll_probe(n) for n in self.probes),
            *(self.poll_supervisor(n) for n in self._sv_readings),
        )
        return self.snapshot()

    def start(self) -> None:
        """Start one polling task per source (call from a running event loop)."""
        if self.running:
            return
        self._tasks = [
            asyncio.create_task(self._loop(self.poll_probe, n, self._probe_readings))
            for n in self.probes
        ]
        self._tasks += [
            asyncio.create_task(self._loop(self.poll_supervisor, n, self._sv_readings))
            for n in self._sv_readings
        ]

    async def stop(self) -> None:
        for t in self._tasks:
            t.cancel()
        for t in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await t
        self._tasks = []

    async def _loop(
        self,
        poll: Callable[[str], Awaitable[None]],
        name: str,
        readings: Mapping[str, Reading],
    ) -> None:
        while True:
            await poll(name)
            await asyncio.sleep(readings[name].next_delay(self.max_backoff))

    async def poll_probe(self, name: str) -> None:
        result = await run_probe(name, self.probes[name], self.transports)
        old = self._probe_readings[name]
        if result.error is None:
            new = dataclasses.replace(old, value=result.value, at=result.at, error=None, failures=0)
        else:
            new = dataclasses.replace(
                old, error=result.error, error_at=result.at, failures=old.failures + 1
            )
        self._probe_readings[name] = new
        self._notify()

    async def poll_supervisor(self, name: str) -> None:
        client = self.supervisors.get(name)
        old = self._sv_readings[name]
        try:
            state, processes = await client.get_overview()
        except SupervisorError as e:
            new = dataclasses.replace(
                old,
                error=e.message,
                error_kind=e.kind,
                error_at=time.time(),
                failures=old.failures + 1,
            )
        else:
            new = dataclasses.replace(
                old,
                state=state,
                processes=tuple(processes),
                at=time.time(),
                error=None,
                error_kind=None,
                failures=0,
            )
        self._sv_readings[name] = new
        self._notify()

    def _notify(self) -> None:
        if not self._callbacks:
            return
        snap = self.snapshot()
        for cb in list(self._callbacks):
            cb(snap)
