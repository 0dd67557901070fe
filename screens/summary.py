"""Summary: how the run ended, the announcement rendered from vars, the audit log and its final
chain hash, the log's checkpoint to paste into the release issue, the resume command when it
stopped early, and export of the report."""

from __future__ import annotations

import asyncio

from rich.markup import escape
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.content import Content
from textual.screen import Screen
from textual.widgets import Footer, Static

from annotui.text import for_terminal
from screens.widgets.status_panel import StatusPanel

OUTCOME_TEXT = {
    0: "[b green]Run complete[/]",
    1: "[b red]Run ended: a step failed[/]",
    2: "[b red]The run could not go on (bad input)[/]",
    3: "[b yellow]Run stopped: it can be resumed[/]",
    4: "[b red]Run stopped: the audit log could not be written[/]",
}


class SummaryScreen(Screen[None]):
    CSS_PATH = "summary.tcss"
    checkpoint: str | None = None
    BINDINGS = [
        Binding("m", "export('markdown')", "Export Markdown"),
        Binding("h", "export('html')", "Export HTML"),
        Binding("v", "viewer", "Audit viewer"),
        Binding("escape,b", "back", "Back to the steps"),
    ]

    def compose(self) -> ComposeResult:
        app = self.app
        yield app.make_banner()  # type: ignore[attr-defined]
        with Horizontal(id="body"):
            with VerticalScroll(id="summary"):
                yield Static(self.outcome_text(), id="outcome")
                text = app.announcement  # type: ignore[attr-defined]
                if text:
                    yield Static("[b]Announcement[/b] (rendered from the run's vars; copy as is)")
                    # as plain text, line for line, as it is to be posted: <dato> and <nr> are
                    # placeholders the operator fills in, not markup to hide
                    yield Static(Content(for_terminal(text)), id="announcement")
                yield Static(self.facts(), id="facts")
                yield Static(id="checkpoint")
            yield StatusPanel()
        yield Footer()

    def on_mount(self) -> None:
        session = self.app.session  # type: ignore[attr-defined]
        if session is not None:
            self.load_checkpoint(session.audit_path)

    @work(exclusive=True, group="checkpoint")
    async def load_checkpoint(self, log) -> None:
        """The checkpoint of the sealed log (it verifies the whole log: off the UI thread)."""
        from annotui.audit.errors import AuditError
        from annotui.audit.proof import checkpoint_of

        try:
            text = await asyncio.to_thread(checkpoint_of, log)
        except (AuditError, OSError) as e:
            text = None
            why = str(e)
        else:
            why = "the log is not intact and sealed: see annotui audit verify"
        self.show_checkpoint(text, why)

    def show_checkpoint(self, text: str | None, why: str = "") -> None:
        self.checkpoint = text
        widget = self.query_one("#checkpoint", Static)
        if text is None:
            widget.update(Content.from_markup("[b]Checkpoint[/b]  [dim]$why[/]", why=why))
        else:
            head = Content.from_markup("[b]Checkpoint[/b] (paste into the release issue or chat)\n")
            widget.update(head + Content(for_terminal(text.rstrip("\n"))))

    def outcome_text(self) -> str:
        app = self.app
        code = app.exit_code  # type: ignore[attr-defined]
        text = OUTCOME_TEXT.get(code, f"exit {code}")
        ended = app.ended  # type: ignore[attr-defined]
        walk = app.walk  # type: ignore[attr-defined]
        if ended is not None and walk is not None:
            from annotui.audit.outcomes import count
            from screens.widgets.step_list import StepList

            # each step's last outcome, counted as the reports and the audit viewer count them
            lists = walk.query(StepList)
            states = lists.first().states.values() if lists else []
            text += f"\n{escape(count(states).text())} · exit code {ended.exit_code}"
        if app.error:  # type: ignore[attr-defined]
            text += f"\n[red]{escape(app.error)}[/red]"  # type: ignore[attr-defined]
        return text

    def facts(self) -> str:
        from screens.paths import shown_path

        app = self.app
        session = app.session  # type: ignore[attr-defined]
        lines = []
        if session is not None:
            lines.append(f"[b]Audit log[/b]   {escape(shown_path(session.audit_path))}")
            lines.append(f"[b]Final hash[/b]  {escape(session.final_hash or '—')}")
            shown = escape(shown_path(session.audit_path))
            lines.append(f"[dim]verify with: annotui audit verify {shown}[/]")
        if app.exit_code == 3:  # type: ignore[attr-defined]
            lines.append(f"[b]Resume with[/b] {escape(app.resume_command())}")  # type: ignore[attr-defined]
        return "\n".join(lines)

    def action_export(self, fmt: str) -> None:
        session = self.app.session  # type: ignore[attr-defined]
        if session is None:
            return
        suffix = ".report.md" if fmt == "markdown" else ".report.html"
        self.export(session.audit_path, fmt, session.audit_path.with_suffix(suffix))

    @work(exclusive=True, group="export")
    async def export(self, log, fmt: str, out) -> None:
        from screens.audit_viewer import write_report

        try:
            path = await asyncio.to_thread(write_report, log, fmt, out)
        except (OSError, ValueError, ImportError) as e:
            self.app.notify(f"export failed: {e}", severity="error")
            return
        self.app.notify(f"report written: {path}")

    def action_viewer(self) -> None:
        self.app.action_audit_viewer()  # type: ignore[attr-defined]

    def action_back(self) -> None:
        self.app.pop_screen()
