"""The poller against a real supervisord and real probe commands (local transport)."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from supervisord_fixture import Supervisord

from annotui.checklist.models import Probe, Supervisor
from annotui.status.poller import Poller, Snapshot
from annotui.status.supervisor import SupervisorPool
from annotui.transport.pool import TransportPool


def _poller(
    sv: Supervisord, probes: dict[str, Probe], password: str | None = None, every: float = 0.2
) -> Poller:
    transports = TransportPool({})
    settings = {
        "anno": Supervisor(
            url=sv.url, username=sv.username, password=password or sv.password, timeout=2
        )
    }
    return Poller(
        probes,
        SupervisorPool(settings, transports),
        transports,
        supervisor_every=every,
        max_backoff=0.4,
    )


async def _close(p: Poller) -> None:
    await p.stop()
    await p.supervisors.aclose()


async def test_refresh_reads_processes_probes_and_hosts(
    supervisord: Supervisord, tmp_path: Path
) -> None:
    count = tmp_path / "jobs"
    count.write_text("3\n")
    probes = {
        "jobs": Probe(run=f"cat {count}", every=1),
        "broken": Probe(run="echo foo", every=1),
        "failing": Probe(run="echo oops >&2; exit 4", every=1),
    }
    p = _poller(supervisord, probes)
    try:
        snap = await p.refresh()
    finally:
        await _close(p)
    assert snap.probes["jobs"].value == 3 and snap.probes["jobs"].error is None
    assert snap.probes["jobs"].age(snap.taken) < 1 and not snap.probes["jobs"].stale(snap.taken)
    assert snap.probes["broken"].error == "probe broken: expected an integer, got 'foo'"
    assert snap.probes["broken"].value is None and snap.probes["broken"].stale()
    assert snap.probes["failing"].error == "probe failing on local: exit 4: oops"
    sv = snap.supervisors["anno"]
    assert sv.state == "RUNNING" and sv.error is None
    assert {(i.full_name, i.state) for i in sv.processes} == {
        ("alpha:alpha", "RUNNING"),
        ("beta:beta", "RUNNING"),
    }
    assert snap.hosts["local"].state == "connected"


async def test_wrong_password_shows_as_unauthorized(supervisord: Supervisord) -> None:
    p = _poller(supervisord, {}, password="not-the-password")
    try:
        snap = await p.refresh()
    finally:
        await _close(p)
    reading = snap.supervisors["anno"]
    assert reading.error_kind == "unauthorized"
    assert "401" in (reading.error or "") and reading.processes == ()


async def test_outage_shows_unreachable_within_two_polls_and_recovers(
    own_supervisord: Supervisord,
) -> None:
    sv = own_supervisord
    snaps: list[Snapshot] = []
    p = _poller(sv, {}, every=0.2)
    p.subscribe(snaps.append)
    p.start()
    try:
        while not snaps:
            await asyncio.sleep(0.05)
        assert snaps[-1].supervisors["anno"].state == "RUNNING"
        await asyncio.to_thread(sv.stop)
        polls_before = len(snaps)
        while snaps[-1].supervisors["anno"].error_kind != "unreachable":
            await asyncio.sleep(0.02)
        assert len(snaps) - polls_before <= 2
        down = snaps[-1].supervisors["anno"]
        assert f"127.0.0.1:{sv.port}" in (down.error or "")
        assert [i.full_name for i in down.processes] == ["alpha:alpha", "beta:beta"]  # last known
        await asyncio.sleep(0.5)
        assert p.snapshot().supervisors["anno"].stale()
        await asyncio.to_thread(sv.start)  # same port
        t0 = time.monotonic()
        while p.snapshot().supervisors["anno"].error is not None:
            await asyncio.sleep(0.05)
            assert time.monotonic() - t0 < 5, "did not recover"
        up = p.snapshot().supervisors["anno"]
        assert up.state == "RUNNING" and up.failures == 0 and not up.stale()
    finally:
        await _close(p)
    assert not p.running


async def test_backoff_is_bounded() -> None:
    from annotui.status.poller import ProbeReading

    r = ProbeReading(every=5.0, failures=1)
    assert r.next_delay(30) == 10
    assert ProbeReading(every=5.0, failures=10).next_delay(30) == 30
    assert ProbeReading(every=5.0).next_delay(30) == 5
