"""The live status on every screen: probes with their age, supervisor processes with their
states, hosts with their connection state. Stale or failing sources are marked, never hidden.

The panel only renders `annotui.status.poller.Snapshot`s (the poller runs on the engine loop);
`clock` is injectable so that ages are deterministic in tests.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from rich.markup import escape
from rich.text import Text
from textual.widgets import Static

if TYPE_CHECKING:
    from textual.screen import Screen

    from annotui.status.poller import Snapshot
    from annotui.status.supervisor import ProcessInfo

PROCESS_COLOURS = {
    "RUNNING": "green",
    "STARTING": "yellow",
    "STOPPING": "yellow",
    "BACKOFF": "red",
    "STOPPED": "#8a8a8a",
    "EXITED": "#d7af5f",
    "FATAL": "red",
}
HOST_COLOURS = {"connected": "green", "connecting": "yellow", "failed": "red", "closed": "#8a8a8a"}


def _whole_units(seconds: float) -> str:
    """'42 s', '5 min' or '3 h': the largest unit that fits, hours at most, rounded down."""
    if seconds < 60:
        return f"{seconds:.0f} s"
    if seconds < 3600:
        return f"{seconds // 60:.0f} min"
    return f"{seconds // 3600:.0f} h"


def age_text(seconds: float | None) -> str:
    return "never" if seconds is None else f"{_whole_units(seconds)} ago"


def duration_text(seconds: float) -> str:
    if seconds < 3600:
        return _whole_units(seconds)
    if seconds < 86400:
        return f"{_whole_units(seconds)} {seconds % 3600 // 60:.0f} min"
    return f"{seconds // 86400:.0f} d {seconds % 86400 // 3600:.0f} h"


def uptime_text(p: ProcessInfo) -> str:
    """' up 3 h 4 min' for a running process (supervisord's start and now), else ''."""
    if p.state != "RUNNING" or not p.start or p.now < p.start:
        return ""
    return f" [dim]up {duration_text(p.now - p.start)}[/]"


def render_snapshot(snap: Snapshot | None, now: float, *, strip: bool = False) -> str:
    """The panel's text (Rich markup): one source a line, or (`strip`) all of them in a few
    lines for a narrow terminal. A value and its age never run together: the age is in
    parentheses."""
    if snap is None:
        return "[dim]Live status starts once the run's vars are known.[/dim]"
    if strip:
        return render_strip(snap, now)
    out: list[str] = []
    if snap.probes:
        out.append("[b]Probes[/b]")
        for name, r in snap.probes.items():
            value = "-" if r.value is None else str(r.value)
            mark = ""
            if r.error:
                mark = f" [red]✗ {escape(r.error)}[/red]"
            elif r.stale(now):
                mark = " [b yellow]STALE[/]"
            out.append(
                f" {escape(r.title or name)} [b]{value}[/b] [dim]({age_text(r.age(now))})[/]{mark}"
            )
    if snap.supervisors:
        out.append("[b]Supervisors[/b]")
        for name, s in snap.supervisors.items():
            head = f" {escape(name)} {escape(s.state or '?')} [dim]({age_text(s.age(now))})[/]"
            if s.error:
                head += f" [b red]{escape(s.error_kind or 'error')}[/]"
            elif s.stale(now):
                head += " [b yellow]STALE[/]"
            out.append(head)
            if s.error:
                out.append(f"  [red]{escape(s.error)}[/red]")
            for p in s.processes:
                colour = PROCESS_COLOURS.get(p.state, "white")
                out.append(
                    f"  {escape(p.full_name)} [{colour}]{escape(p.state)}[/]{uptime_text(p)}"
                )
    if snap.hosts:
        out.append("[b]Hosts[/b]")
        for name, h in snap.hosts.items():
            colour = HOST_COLOURS.get(h.state, "white")
            detail = f" [dim]{escape(h.detail)}[/]" if h.state == "failed" and h.detail else ""
            out.append(f" {escape(name)} [{colour}]{h.state}[/]{detail}")
    return "\n".join(out) or "[dim]No probes, supervisors or remote hosts.[/dim]"


def render_strip(snap: Snapshot, now: float) -> str:
    """Every source in a few lines, for the strip shown below NARROW columns."""
    parts: list[str] = []
    for name, r in snap.probes.items():
        value = "-" if r.value is None else str(r.value)
        mark = " [red]✗[/]" if r.error else " [b yellow]STALE[/]" if r.stale(now) else ""
        parts.append(
            f"{escape(r.title or name)} [b]{value}[/b] [dim]({age_text(r.age(now))})[/]{mark}"
        )
    for name, sv in snap.supervisors.items():
        if sv.error:
            parts.append(f"{escape(name)} [b red]{escape(sv.error_kind or 'error')}[/]")
        elif sv.stale(now):
            parts.append(f"{escape(name)} [b yellow]STALE[/]")
        for p in sv.processes:
            colour = PROCESS_COLOURS.get(p.state, "white")
            parts.append(f"{escape(p.full_name)} [{colour}]{escape(p.state)}[/]{uptime_text(p)}")
    for name, h in snap.hosts.items():
        colour = HOST_COLOURS.get(h.state, "white")
        parts.append(f"{escape(name)} [{colour}]{h.state}[/]")
    return " [dim]·[/] ".join(parts) or "[dim]No probes, supervisors or remote hosts.[/dim]"


class StatusPanel(Static):
    DEFAULT_CSS = """
    StatusPanel {
        width: 34;
        height: 1fr;
        border: round $panel-lighten-2;
        padding: 0 1;
        overflow-y: auto;
    }
    StatusPanel.-hidden { display: none; }
    StatusPanel.-strip {
        dock: bottom;
        width: 100%;
        height: auto;
        max-height: 4;
        border: none;
        border-top: solid $panel-lighten-2;
        padding: 0 1;
    }
    """

    def __init__(self, clock: Callable[[], float] | None = None) -> None:
        super().__init__(id="status-panel")
        self.border_title = "Status"
        self.snapshot: Snapshot | None = None
        self.clock = clock
        self._text: str | None = None
        self._shape: list[int] = []

    def on_mount(self) -> None:
        app = self.app
        self.snapshot = getattr(app, "status_snapshot", None)
        self.sync()
        self.set_interval(1.0, self.refresh_text)
        app.screen_change_signal.subscribe(self, self._screen_changed)

    def _screen_changed(self, screen: Screen[object]) -> None:
        if screen is self.screen:
            self.sync()

    def sync(self) -> None:
        """Shown or hidden as the app says (`status_visible`), with fresh text. The app applies
        a toggle to the panel in view; the others sync when their screen comes back."""
        self.set_class(not getattr(self.app, "status_visible", True), "-hidden")
        self.set_class(bool(getattr(self.app, "status_strip", False)), "-strip")
        self.refresh_text()

    def show_snapshot(self, snap: Snapshot) -> None:
        self.snapshot = snap
        self.refresh_text()

    def refresh_text(self) -> None:
        if self.has_class("-hidden"):
            return  # nothing to draw; sync() brings the text up to date when it shows again
        clock = self.clock or getattr(self.app, "clock", time.time)
        text = render_snapshot(self.snapshot, clock(), strip=self.has_class("-strip"))
        if text == self._text:
            return
        # The panel's size is fixed by its CSS, so new text needs a layout of the screen only
        # when its own height (the scrollable content) may change: not when an age ticks over.
        # A needless layout of the whole screen every second cost 20-40 ms on the walk screen.
        shape = [len(line) for line in Text.from_markup(text).plain.splitlines()]
        self.update(text, layout=shape != self._shape)
        self._text, self._shape = text, shape
