"""`annotui status FILE [--var ...] [--vars-file F] [--watch]`: probes, supervisors and hosts.

One-shot mode polls every source once (concurrently) and prints a table; exit 0 when every
source answered, 1 when one failed, 2 on bad input. `--watch` keeps polling and redraws until
Ctrl+C.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from rich.console import Console, Group
from rich.live import Live
from rich.table import Table
from rich.text import Text

from annotui.checklist.template import names
from annotui.engine.plan import render_sources
from annotui.engine.redact import Redactor
from annotui.status.poller import Poller, Reading, Snapshot
from annotui.status.supervisor import SupervisorPool
from annotui.transport.pool import TransportPool

if TYPE_CHECKING:
    from annotui.checklist.models import Checklist

WATCH_REDRAW = 1.0


def needed_vars(checklist: Checklist) -> set[str]:
    """Vars that the hosts, supervisors and probes need to be rendered."""
    templates = [h.ssh for h in checklist.hosts.values()]
    for s in checklist.supervisors.values():
        templates += [s.url, s.username or "", s.password or ""]
    for p in checklist.probes.values():
        templates += [p.run, p.cwd or ""]
    return {n for t in templates for n, _ in names(t)}


def _age(r: Reading, now: float) -> str:
    age = r.age(now)
    return "never" if age is None else f"{age:.0f} s ago"


def _state_style(state: str) -> str:
    if state == "RUNNING":
        return "green"
    if state in ("STOPPED", "EXITED"):
        return "yellow"
    return "red"


def render_snapshot(snap: Snapshot, redact: Callable[[str], str]) -> Group:
    """Tables of probes, supervisor processes and hosts (every text redacted)."""
    now = time.time()
    probes = Table(title="Probes", title_justify="left", expand=False)
    for col in ("probe", "host", "value", "age", "status"):
        probes.add_column(col)
    for name, r in snap.probes.items():
        status = (
            Text(redact(r.error), style="red")
            if r.error
            else Text("stale", style="yellow")
            if r.stale(now)
            else Text("ok", style="green")
        )
        value = "-" if r.value is None else str(r.value)
        probes.add_row(name, r.host, value, _age(r, now), status)

    procs = Table(title="Supervisor processes", title_justify="left", expand=False)
    procs.add_column("supervisor", no_wrap=True)
    procs.add_column("process", no_wrap=True)
    procs.add_column("state", no_wrap=True)
    procs.add_column("description")
    for name, s in snap.supervisors.items():
        if s.error:
            kind = (s.error_kind or "error").upper()
            procs.add_row(name, "supervisord", Text(kind, style="red"), Text(redact(s.error)))
        elif s.state is not None:
            state = Text(s.state, style=_state_style(s.state))
            procs.add_row(name, "supervisord", state, f"{s.where}, {_age(s, now)}")
        stale = " (last known, stale)" if s.stale(now) else ""
        for p in s.processes:
            desc = redact(p.spawnerr or p.description) + stale
            procs.add_row(name, p.full_name, Text(p.state, style=_state_style(p.state)), desc)

    hosts = Table(title="Hosts", title_justify="left", expand=False)
    for col in ("host", "state", "detail"):
        hosts.add_column(col)
    for name, h in snap.hosts.items():
        style = {"connected": "green", "failed": "red"}.get(h.state, "")
        hosts.add_row(name, Text(h.state, style=style), redact(h.detail))
    return Group(probes, procs, hosts)


def failed(snap: Snapshot) -> bool:
    return any(r.error for r in snap.probes.values()) or any(
        s.error for s in snap.supervisors.values()
    )


async def _status(poller: Poller, console: Console, redact: Redactor, watch: bool) -> int:
    try:
        if not watch:
            snap = await poller.refresh()
            console.print(render_snapshot(snap, redact))
            return 1 if failed(snap) else 0
        poller.start()
        with Live(
            render_snapshot(poller.snapshot(), redact), console=console, auto_refresh=False
        ) as live:
            while True:
                live.update(render_snapshot(poller.snapshot(), redact), refresh=True)
                await asyncio.sleep(WATCH_REDRAW)
    finally:
        await poller.stop()
        await poller.supervisors.aclose()
        await poller.transports.close()


def status(args: argparse.Namespace) -> int:
    from annotui.checklist.loader import ChecklistError, load_checklist, resolve_checklist
    from annotui.engine.vars import (
        VarError,
        load_vars_file,
        parse_assignments,
        resolve_noninteractive,
    )

    def err(message: str) -> None:
        print(message, file=sys.stderr)

    try:
        checklist = load_checklist(resolve_checklist(args.file)).model
        cli = parse_assignments(args.var or [])
        file_vars = load_vars_file(Path(args.vars_file)) if args.vars_file else {}
        res = resolve_noninteractive(checklist, cli, file_vars, os.environ)
    except ChecklistError as e:
        for d in e.diagnostics:
            err(str(d))
        return 2
    except VarError as e:
        err(f"annotui status: {e}")
        return 2
    missing = sorted(needed_vars(checklist) & set(res.missing))
    if missing:
        hints = " ".join(f"--var {n}=..." for n in missing)
        err(f"annotui status: no value for {', '.join(missing)} (give {hints})")
        return 2
    redact = Redactor(v for n, v in res.values.items() if checklist.vars[n].secret)
    targets, probes, supervisors = render_sources(checklist, res.values)
    transports = TransportPool(targets)
    poller = Poller(probes, SupervisorPool(supervisors, transports), transports)
    console = Console(highlight=False)
    try:
        return asyncio.run(_status(poller, console, redact, args.watch))
    except KeyboardInterrupt:
        return 0 if args.watch else 3
