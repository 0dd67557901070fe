"""The audit timeline: one row per record (output chunks folded), newest appended at the bottom."""

from __future__ import annotations

from collections.abc import Iterable

from rich.text import Text
from textual.widgets import DataTable
from textual.widgets.data_table import CellDoesNotExist, ColumnKey

from screens.audit_index import Entry

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


class Timeline(DataTable[Text]):
    """Time, event, step, summary. Rows are keyed by the entry's first log line number."""

    DEFAULT_CSS = """
    Timeline { height: 1fr; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id, cursor_type="row", zebra_stripes=True)
        self.bad_line: int | None = None

    def on_mount(self) -> None:
        self.add_column("line", key="line")
        self.add_column("time", key="time")
        self.add_column("event", key="event")
        self.add_column("step", key="step")
        self.add_column("summary", key="summary", width=40)

    def on_resize(self) -> None:
        self.fit_summary()

    def fit_summary(self) -> None:
        """Give the summary column exactly the width left over, so nothing scrolls sideways."""
        others = sum(
            col.get_render_width(self) for key, col in self.columns.items() if key != "summary"
        )
        width = max(12, self.scrollable_content_region.width - others - 2 * self.cell_padding - 1)
        column = self.columns[ColumnKey("summary")]
        if column.width != width:
            column.width = width
            # DataTable has no public setter for a column's width; this is how it re-measures.
            self._require_update_dimensions = True
            self.refresh()

    def _cells(self, entry: Entry) -> list[Text]:
        bad = self.bad_line is not None and entry.line <= self.bad_line <= entry.last_line
        style = "bold white on red" if bad else ""
        return [
            Text(str(entry.line), style=style or "dim", justify="right"),
            Text(entry.time, style=style),
            Text(entry.event, style=style or EVENT_STYLES.get(entry.event, "")),
            Text(entry.step_key or "", style=style),
            Text(("✗ " if bad else "") + entry.summary, style=style),
        ]

    def show(self, entries: Iterable[Entry]) -> None:
        """Replace all rows, keeping the cursor on the same line when it is still shown."""
        keep = self.current_line()
        self.clear()
        for entry in entries:
            self.add_row(*self._cells(entry), key=str(entry.line))
        if keep is not None and str(keep) in self.rows:
            self.move_cursor(row=self.get_row_index(str(keep)), animate=False)
        self.fit_summary()

    def append(self, entries: Iterable[Entry]) -> None:
        for entry in entries:
            self.add_row(*self._cells(entry), key=str(entry.line))
        self.fit_summary()

    def update_entry(self, entry: Entry) -> None:
        key = str(entry.line)
        if key not in self.rows:
            return
        for column, cell in zip(
            ("line", "time", "event", "step", "summary"), self._cells(entry), strict=True
        ):
            self.update_cell(key, column, cell)

    def current_line(self) -> int | None:
        """The log line number of the row under the cursor, if any."""
        if not self.row_count:
            return None
        try:
            key = self.coordinate_to_cell_key(self.cursor_coordinate).row_key
        except CellDoesNotExist:
            return None
        return int(key.value) if key.value is not None else None
