"""The live grid of an `ansible` step: hosts x tasks, fed by the engine's ansible.* events.

One row per host, one column per task (in the order the tasks started), one glyph per result;
the task running now is the last column. Where the grid does not fit the space the widget has
(many hosts, many tasks, a small terminal), it shows one line per host instead: its counts and
its current task, the hosts that failed or are unreachable first, and a line for the rest.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field

from rich.text import Text
from textual.geometry import Size
from textual.widget import Widget

from annotui import events as ev

GLYPHS: dict[str, tuple[str, str]] = {
    "ok": ("●", "#5fd75f"),
    "changed": ("◆", "#ffd75f"),
    "failed": ("✗", "bold #ff5f5f"),
    "unreachable": ("!", "bold #ff87ff"),
    "skipped": ("-", "#8a8a8a"),
    "running": ("…", "#5fd7ff"),
    "pending": ("·", "#585858"),
    "unknown": ("?", "bold #ff87ff"),
}
COUNTED = ("ok", "changed", "failed", "unreachable", "skipped")
CELL = 2
"""Columns per task in the grid (its glyph and a space)."""
BAD = ("failed", "unreachable", "unknown")


@dataclass(slots=True)
class HostRow:
    cells: dict[int, str] = field(default_factory=dict)
    """Task index -> the host's status for it."""
    counts: Counter[str] = field(default_factory=Counter)

    def state(self, task: int | None, done: bool) -> str:
        if task is None:
            return "pending"
        return self.cells.get(task, "pending" if done else "running")

    @property
    def bad(self) -> bool:
        return any(self.counts[s] for s in BAD)


class Play:
    """The hosts x tasks of one step, from its events (no textual: a plain model)."""

    def __init__(self, step_key: str) -> None:
        self.step_key = step_key
        self.tasks: list[str] = []
        self.hosts: dict[str, HostRow] = {}
        self.done = False
        self.status = ""
        self.unfinished: list[str] = []

    def task(self, name: str) -> None:
        self.tasks.append(name)

    def result(self, host: str, task: str, status: str) -> None:
        row = self.hosts.setdefault(host, HostRow())
        index = self._index(task)
        row.cells[index] = status
        row.counts[status] += 1

    def recap(self, hosts: list[str], status: str, unfinished: list[str]) -> None:
        for host in [*hosts, *unfinished]:
            self.hosts.setdefault(host, HostRow())
        current = len(self.tasks) - 1 if self.tasks else None
        for host in unfinished:
            if current is not None:
                self.hosts[host].cells.setdefault(current, "unknown")
            self.hosts[host].counts["unknown"] += 1
        self.done, self.status, self.unfinished = True, status, list(unfinished)

    def _index(self, task: str) -> int:
        for i in range(len(self.tasks) - 1, -1, -1):
            if self.tasks[i] == task:
                return i
        self.tasks.append(task)  # a result before its task's start: a column of its own
        return len(self.tasks) - 1

    @property
    def current(self) -> int | None:
        return len(self.tasks) - 1 if self.tasks else None

    def totals(self) -> Counter[str]:
        out: Counter[str] = Counter()
        for row in self.hosts.values():
            out.update(row.counts)
        return out

    def summary(self) -> str:
        totals = self.totals()
        counts = " ".join(f"{GLYPHS[s][0]}{totals[s]}" for s in (*COUNTED, "unknown") if totals[s])
        n = len(self.hosts)
        where = f"{n} host{'s' * (n != 1)}"
        if self.tasks:
            where += f" · task {len(self.tasks)}"
        head = f"Ansible: {where}"
        if self.done:
            head += f" · {self.status}"
        return f"{head} · {counts}" if counts else head

    def fits(self, width: int, height: int) -> bool:
        """Whether the whole grid (a header and one row per host) fits; the line naming the
        current task follows when there is room."""
        return (
            self.name_width() + 1 + CELL * len(self.tasks) <= width
            and len(self.hosts) + 1 <= height
        )

    def rows(self) -> list[tuple[str, HostRow]]:
        """The hosts in natural order (web2 before web10), whatever order results came in."""
        return sorted(self.hosts.items(), key=lambda kv: _natural(kv[0]))

    def name_width(self) -> int:
        return max([4, *(len(h) for h in self.hosts)])

    def grid(self, width: int, height: int) -> list[Text]:
        w = self.name_width()
        head = Text("host".ljust(w) + " ", style="bold")
        for i in range(len(self.tasks)):
            head.append(f"{(i + 1) % 10:<{CELL}}", style="bold" if i == self.current else "dim")
        head.rstrip()
        lines = [head]
        for host, row in self.rows():
            line = Text(host.ljust(w) + " ", style="bold #ff5f5f" if row.bad else "")
            for i in range(len(self.tasks)):
                glyph, style = GLYPHS[row.state(i, self.done or i != self.current)]
                line.append(glyph.ljust(CELL), style=style)
            line.rstrip()
            lines.append(line)
        if len(lines) < height:
            lines.append(self._footer(width))
        return lines

    def compact(self, width: int, height: int) -> list[Text]:
        """One line per host (bad ones first) with its counts and current task, as many as fit;
        the last line sums up the hosts left out."""
        rows = sorted(self.rows(), key=lambda kv: not kv[1].bad)
        room = max(height - 1, 1)  # the last line: the rest, or the current task
        shown = rows[:room]
        w = min(self.name_width(), max(width // 3, 4))
        lines = []
        current = self.current
        for host, row in shown:
            line = Text(host[:w].ljust(w) + " ", style="bold #ff5f5f" if row.bad else "bold")
            for s in COUNTED:
                if row.counts[s]:
                    glyph, style = GLYPHS[s]
                    line.append(f"{glyph}{row.counts[s]} ", style=style)
            state = row.state(current, self.done)
            if state == "running" and current is not None:
                line.append(f"now: {self.tasks[current]}", style=GLYPHS["running"][1])
            elif state == "unknown":
                line.append("not finished (outcome unknown)", style=GLYPHS["unknown"][1])
            line.truncate(width)
            lines.append(line)
        left = rows[len(shown) :]
        if left:
            counts: Counter[str] = Counter()
            for _host, row in left:
                counts.update(row.counts)
            text = f"… {len(left)} more hosts: " + " ".join(
                f"{s} {counts[s]}" for s in COUNTED if counts[s]
            )
            lines.append(Text(text[:width], style="dim"))
        else:
            lines.append(self._footer(width))
        return lines[:height]

    def _footer(self, width: int) -> Text:
        if self.done:
            text = f"ended {self.status}"
            if self.unfinished:
                text += f" · not finished: {', '.join(self.unfinished)}"
        elif self.current is not None:
            text = f"now {self.current + 1}: {self.tasks[self.current]}"
        else:
            text = "starting…"
        return Text(text[:width], style="dim" if self.done else GLYPHS["running"][1])


def _natural(name: str) -> list[tuple[int, int | str]]:
    return [(1, int(p)) if p.isdigit() else (0, p) for p in re.split(r"(\d+)", name) if p]


class AnsibleGrid(Widget):
    """Shows the `Play` of the step viewed, when that step is an ansible step with events."""

    def __init__(self) -> None:
        super().__init__(id="ansible-grid")
        self.plays: dict[str, Play] = {}
        self.following: str | None = None
        self._rows = -1
        self.display = False

    def handle(self, event: ev.Event, show: bool = True) -> None:
        """Take an ansible event into its play; `show`: redraw now (else call `show` once for a
        batch of them)."""
        if isinstance(event, ev.AnsibleTask):
            self._play(event.step_key).task(event.task)
        elif isinstance(event, ev.AnsibleResult):
            self._play(event.step_key).result(event.host, event.task, event.status)
        elif isinstance(event, ev.AnsibleRecap):
            play = self._play(event.step_key)
            play.recap(list(event.hosts), event.status, event.unfinished)
        else:
            return
        if show and event.step_key == self.following:
            self.show()

    def started(self, step_key: str) -> None:
        """A new attempt of an ansible step: its grid starts empty."""
        self.plays[step_key] = Play(step_key)

    def follow(self, step_key: str | None) -> None:
        """Show the grid of `step_key` (nothing when it has none)."""
        self.following = step_key
        self.show()

    def _play(self, step_key: str) -> Play:
        return self.plays.setdefault(step_key, Play(step_key))

    def show(self) -> None:
        play = self.plays.get(self.following or "")
        self.display = play is not None
        if play is not None:
            self.border_title = play.summary()
            rows = len(play.hosts)
            self.refresh(layout=rows != self._rows)  # its height follows the hosts' count
            self._rows = rows

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        play = self.plays.get(self.following or "")
        return len(play.hosts) + 2 if play is not None else 0

    def render(self) -> Text:
        play = self.plays.get(self.following or "")
        if play is None:
            return Text()
        width, height = self.content_region.width, self.content_region.height
        fits = play.fits(width, height)
        lines = play.grid(width, height) if fits else play.compact(width, height)
        return Text("\n").join(lines)
