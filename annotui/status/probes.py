"""Probes: a read-only command on a host whose output is one integer (e.g. the active job count)."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from annotui.transport.base import Stream, TransportError
from annotui.transport.pool import TransportPool

if TYPE_CHECKING:
    from annotui.checklist.models import Probe

MAX_SHOWN = 60
"""Characters of unexpected output quoted in an error."""


@dataclass(frozen=True, slots=True)
class ProbeResult:
    name: str
    value: int | None
    """The parsed integer, None when the probe failed."""
    error: str | None
    at: float
    """time.time() when the probe finished."""
    duration: float


def parse_value(name: str, output: str) -> int:
    """The probe's stdout as an integer, or ValueError with a message that quotes it."""
    text = output.strip()
    try:
        return int(text)
    except ValueError:
        shown = text if len(text) <= MAX_SHOWN else text[:MAX_SHOWN] + "..."
        raise ValueError(f"probe {name}: expected an integer, got {shown!r}") from None


def probe_timeout(probe: Probe) -> float:
    return max(10.0, 2 * probe.every)


async def run_probe(name: str, probe: Probe, transports: TransportPool) -> ProbeResult:
    """Run a rendered probe once through its host's transport. Never raises (except cancel)."""
    out: list[str] = []
    err: list[str] = []

    def on_line(stream: Stream, line: str) -> None:
        (out if stream == "stdout" else err).append(line)

    start = time.monotonic()

    def result(value: int | None, error: str | None) -> ProbeResult:
        return ProbeResult(name, value, error, time.time(), time.monotonic() - start)

    try:
        transport = transports.get(probe.host)
        res = await transport.run(
            probe.run, on_line=on_line, cwd=probe.cwd, timeout=probe_timeout(probe)
        )
    except (TransportError, OSError, KeyError) as e:
        return result(None, f"probe {name} on {probe.host}: {e}")
    if res.timed_out:
        return result(None, f"probe {name} on {probe.host}: timed out after {res.duration:.0f} s")
    if res.exit_code != 0:
        detail = (err[-1] if err else "").strip()[:MAX_SHOWN]
        how = f"signal {res.signal}" if res.signal else f"exit {res.exit_code}"
        return result(
            None, f"probe {name} on {probe.host}: {how}" + (f": {detail}" if detail else "")
        )
    try:
        return result(parse_value(name, "\n".join(out)), None)
    except ValueError as e:
        return result(None, str(e))
