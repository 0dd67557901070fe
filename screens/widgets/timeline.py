"""The audit timeline: a virtual list of the index's entries (output chunks folded), newest at the
bottom. Only the rows on screen are ever built (toolong's way): a million-record log costs what
its visible rows cost to draw, and scrolling or filtering never makes a widget per record."""

from __future__ import annotations

import threading
from bisect import bisect_left
from collections.abc import Sequence
from typing import ClassVar

from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual import events
from textual.binding import Binding, BindingType
from textual.geometry import Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip

from screens.audit_index import Entry, LogIndex
from screens.step_key import fit_key

EVENT_STYLES = {
    "step.finished": "bold",
    "step.skipped": "yellow",
    "step.unknown": "bold magenta",
    "error": "bold red",
    "session.interrupted": "bold red",
    "session.start": "cyan",
    "session.resume": "cyan",
    "session.end": "cyan",
}
OUTCOME_STYLES = {
    "ok": "green",
    "done": "green",
    "would-run": "cyan",
    "unverified": "yellow",
    "skipped": "yellow",
    "failed": "bold red",
    "timeout": "bold red",
    "cancelled": "bold red",
    "stopped": "bold red",
    "unknown": "bold magenta",
}
COLUMNS = ("line", "time", "event", "step", "outcome", "summary")
TIME_WIDTH = 8
EVENT_WIDTH = 14
NARROW = 100
"""Below this width the event column drops the "step." of step events and the step column
takes a smaller share, so that the summary keeps room (at 80 columns: 19 cells or more)."""
NARROW_EVENT_WIDTH = 13
OUTCOME_WIDTH = 10
"""Fits every outcome ("unverified" is the longest)."""
STEP_SHARE = 0.3
NARROW_STEP_SHARE = 0.255
"""At most this share of the width goes to the step column; the summary has the rest."""
MIN_SUMMARY = 12
STRIP_CACHE = 2000
"""Rows drawn kept for reuse, at most."""


class Timeline(ScrollView, can_focus=True):
    """Line, time, event, step, outcome, summary; one header row; a row cursor."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("up,k", "cursor(-1)", "Up", show=False),
        Binding("down,j", "cursor(1)", "Down", show=False),
        Binding("pageup", "page(-1)", "Page up", show=False),
        Binding("pagedown", "page(1)", "Page down", show=False),
        Binding("home", "jump(0)", "First", show=False),
        Binding("end", "jump(-1)", "Last", show=False),
    ]
    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "timeline--header",
        "timeline--cursor",
        "timeline--even",
    }
    DEFAULT_CSS = """
    Timeline { height: 1fr; background: $surface; scrollbar-size-vertical: 1; }
    Timeline > .timeline--header { text-style: bold; background: $panel; color: $foreground; }
    Timeline > .timeline--cursor { background: $block-cursor-blurred-background; }
    Timeline:focus > .timeline--cursor {
        background: $block-cursor-background;
        color: $block-cursor-foreground;
        text-style: bold;
    }
    Timeline > .timeline--even { background: $surface-lighten-1; }
    """

    cursor_row: reactive[int] = reactive(0, always_update=True, layout=False)

    class RowHighlighted(Message):
        """The cursor moved to another row."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.bad_line: int | None = None
        self._index: LogIndex | None = None
        self._lock = threading.Lock()
        self._view: Sequence[int] | None = None
        """Positions of the rows shown (a filter's), or None for every entry of the index."""
        self._count = 0
        self._strips: dict[tuple[int, int, int, bool, int | None], Strip] = {}
        """Rows drawn, by (position, width, kind: 0/1 plain or even, 2 cursor, focus, bad
        line): a scroll by one row draws one new row, not every visible one."""

    def attach(self, index: LogIndex, lock: threading.Lock) -> None:
        """Show ``index``'s entries; ``lock`` guards it against the thread that fills it."""
        self._index = index
        self._lock = lock

    # -- rows ------------------------------------------------------------------------------------

    @property
    def row_count(self) -> int:
        return self._count

    def _position(self, row: int) -> int:
        return row if self._view is None else self._view[row]

    def entry_at(self, row: int) -> Entry:
        assert self._index is not None
        with self._lock:
            return self._index.entry(self._position(row))

    def get_row_index(self, line: str | int) -> int:
        """The row showing the entry whose first log line is ``line``."""
        assert self._index is not None
        with self._lock:
            pos = self._index.position_of(int(line))
        if pos is None or self._index.line_at(pos) != int(line):
            raise KeyError(line)
        if self._view is None:
            return pos
        row = bisect_left(self._view, pos)  # a view is ascending
        if row < len(self._view) and self._view[row] == pos:
            return row
        raise KeyError(line)

    def current_line(self) -> int | None:
        """The log line number of the row under the cursor, if any."""
        if not self._count or self._index is None:
            return None
        with self._lock:
            return self._index.line_at(self._position(min(self.cursor_row, self._count - 1)))

    def show(self, view: Sequence[int] | None) -> None:
        """Show these positions (None: every entry), keeping the cursor on the same line when it
        is still shown."""
        keep = self.current_line()
        self._view = view
        self._resize()
        row = 0
        if keep is not None:
            try:
                row = self.get_row_index(keep)
            except KeyError:
                row = 0
        self.move_cursor(row=row)
        self.refresh()

    def grew(self, changed: Sequence[int] = ()) -> None:
        """The index has more entries (shown when no filter is on) or ``changed`` ones grew."""
        self._strips.clear()  # a step's outcome shows on each of its rows
        if self._view is None:
            self._resize()
        self.refresh()

    def _resize(self) -> None:
        assert self._index is not None
        with self._lock:
            self._count = len(self._index) if self._view is None else len(self._view)
        size = Size(self.scrollable_content_region.width, self._count + 1)
        if size != self.virtual_size:
            # set without the reactive's layout of the whole screen (~15 ms a filter keystroke
            # on 2 loaded cores): only the scrollbar follows, and it asks for a layout itself
            # when it comes or goes (show_vertical_scrollbar)
            self.set_reactive(Timeline.virtual_size, size)
            self._scroll_update(size)
            self.refresh()

    # -- cursor ----------------------------------------------------------------------------------

    def move_cursor(self, *, row: int, animate: bool = False) -> None:
        self.cursor_row = max(0, min(row, self._count - 1))

    def watch_cursor_row(self, old: int, new: int) -> None:
        body = self.scrollable_content_region.height - 1
        top = round(self.scroll_y)
        if new < top:
            self.scroll_to(y=new, animate=False)
        elif body > 0 and new >= top + body:
            self.scroll_to(y=new - body + 1, animate=False)
        self.refresh()
        self.post_message(self.RowHighlighted())

    def _page(self) -> int:
        return max(1, self.scrollable_content_region.height - 2)

    def action_cursor(self, delta: int) -> None:
        self.move_cursor(row=self.cursor_row + delta)

    def action_page(self, delta: int) -> None:
        self.move_cursor(row=self.cursor_row + delta * self._page())

    def action_jump(self, row: int) -> None:
        self.move_cursor(row=row if row >= 0 else self._count - 1)

    def on_click(self, event: events.Click) -> None:
        y = event.y
        if y >= 1:
            self.move_cursor(row=round(self.scroll_y) + y - 1)

    # -- drawing ---------------------------------------------------------------------------------

    def _widths(self, width: int) -> list[int]:
        index = self._index
        records, longest, needed = (
            (index.records, index.longest_step, index.fit_step) if index else (0, 4, 4)
        )
        digits = max(4, len(str(records)))
        narrow = width < NARROW
        event = NARROW_EVENT_WIDTH if narrow else EVENT_WIDTH
        share = NARROW_STEP_SHARE if narrow else STEP_SHARE
        fixed = digits + TIME_WIDTH + event + OUTCOME_WIDTH + len(COLUMNS) - 1
        rest = max(2 * MIN_SUMMARY, width - fixed)
        # room for every key's shortest fit (its [value] and step id whole), at the summary's cost
        step = min(max(4, longest), max(10, int(width * share), needed), rest - MIN_SUMMARY)
        return [digits, TIME_WIDTH, event, step, OUTCOME_WIDTH, rest - step - 1]

    def _cells(self, row: int, entry: Entry, widths: list[int], narrow: bool) -> list[Text]:
        assert self._index is not None
        bad = self.bad_line is not None and entry.line <= self.bad_line <= entry.last_line
        style = "bold white on red" if bad else ""
        if not bad and row == self.cursor_row:
            style = "not dim"  # the cursor's colours, not red or cyan on its blue
        with self._lock:
            outcome = self._index.outcome_at(self._position(row)) or ""
        return [
            Text(str(entry.line), style=style or "dim", justify="right"),
            Text(entry.time, style=style),
            Text(
                entry.event.removeprefix("step.") if narrow else entry.event,
                style=style or EVENT_STYLES.get(entry.event, ""),
            ),
            Text(fit_key(entry.step_key or "", widths[3]), style=style),
            Text(outcome, style=style or OUTCOME_STYLES.get(outcome, "")),
            Text(("✗ " if bad else "") + entry.summary, style=style),
        ]

    def _line(self, cells: Sequence[Text], widths: list[int], style: Style) -> list[Segment]:
        row = Text(style=style, no_wrap=True, end="")
        for i, (cell, width) in enumerate(zip(cells, widths, strict=True)):
            if i:
                row.append(" ")
            cell = cell.copy()
            cell.truncate(width, overflow="ellipsis", pad=True)
            if cell.justify == "right":
                cell = Text(" " * (width - cell.cell_len)) + cell
                cell.truncate(width)
            row.append_text(cell)
        return list(row.render(self.app.console))

    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width
        widths = self._widths(width)
        base = self.rich_style
        if y == 0:
            header = [Text(name, justify="right" if i == 0 else "left") for i, name in
                      enumerate(COLUMNS)]  # fmt: skip
            style = self.get_component_rich_style("timeline--header")
            return Strip(self._line(header, widths, style)).extend_cell_length(width, base + style)
        row = round(self.scroll_y) + y - 1
        if row >= self._count:
            return Strip.blank(width, base)
        kind = 2 if row == self.cursor_row else row % 2
        key = (self._position(row), width, kind, self.has_focus, self.bad_line)
        cached = self._strips.get(key)
        if cached is not None:
            return cached
        if len(self._strips) > STRIP_CACHE:
            self._strips.clear()
        if row == self.cursor_row:
            style = base + self.get_component_rich_style("timeline--cursor")
        elif row % 2:
            style = base + self.get_component_rich_style("timeline--even")
        else:
            style = base
        cells = self._cells(row, self.entry_at(row), widths, width < NARROW)
        strip = Strip(self._line(cells, widths, style)).extend_cell_length(width, style)
        self._strips[key] = strip
        return strip

    def notify_style_update(self) -> None:
        self._strips.clear()  # another theme, or the focus's colours
        super().notify_style_update()
