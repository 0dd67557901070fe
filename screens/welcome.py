"""Welcome: pick a checklist (a path or a bundled name) and what to do: a new run, a rehearsal,
or resuming an interrupted run from its audit log."""

from __future__ import annotations

import asyncio
from pathlib import Path

from rich.markup import escape
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.screen import Screen
from textual.widgets import Button, Footer, Input, Label, RadioButton, RadioSet, Static

from annotui.checklist.bundled import bundled_checklists
from screens.widgets.status_panel import StatusPanel

MODES = ("new", "rehearse", "resume")
MODE_LABELS = (
    "New run (LIVE: changes are real)",
    "Rehearse (dry run: nothing changes)",
    "Resume an interrupted run",
)
CHOSEN = "  ◀ chosen"
"""After the chosen mode's label: said in words, not by colour only."""


class WelcomeScreen(Screen[None]):
    """The app's default screen; its styles (welcome.tcss) are loaded by the app."""

    AUTO_FOCUS = "#start"
    """Focused as the screen shows (one focus change, not one to the first input and another)."""
    BINDINGS = [
        Binding("ctrl+s", "start", "Start"),
        # on the mode list Enter chooses the highlighted mode and starts (space only chooses)
        Binding("enter", "choose_and_start", "Start", show=False, priority=True),
    ]

    def compose(self) -> ComposeResult:
        app = self.app
        opts = app.options  # type: ignore[attr-defined]
        yield app.make_banner()  # type: ignore[attr-defined]
        with Horizontal(id="body"):
            with VerticalScroll(id="welcome"):
                yield Static("[b]annotui[/b] — a guided, audited deployment", id="headline")
                yield Label("Checklist (a path, or a bundled name)")
                yield Input(app.checklist_arg, id="checklist", compact=True)  # type: ignore[attr-defined]
                bundled = ", ".join(bundled_checklists()) or "none"
                yield Static(f"[dim]bundled: {escape(bundled)}[/dim]", id="bundled")
                current = "resume" if opts.resume else "rehearse" if opts.rehearse else "new"
                with RadioSet(id="mode"):
                    for mode, label in zip(MODES, MODE_LABELS, strict=True):
                        chosen = mode == current
                        yield RadioButton(label + CHOSEN * chosen, value=chosen)
                yield Label("Audit log (to resume: the log of that run; else optional)")
                audit = str(opts.audit_path) if opts.audit_path else ""
                yield Input(
                    audit,
                    placeholder="default: a new log in the state directory",
                    id="audit",
                    compact=True,
                )
                yield Static("", id="error", classes="error")
                yield Button("Start", id="start", variant="primary", compact=True)
            yield StatusPanel()
        yield Footer()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "choose_and_start":
            return isinstance(self.focused, RadioSet)
        return True

    def action_choose_and_start(self) -> None:
        modes = self.query_one("#mode", RadioSet)
        modes.action_toggle_button()
        self.call_after_refresh(self.action_start)

    def on_radio_set_changed(self, event: RadioSet.Changed) -> None:
        for i, button in enumerate(event.radio_set.query(RadioButton)):
            button.label = MODE_LABELS[i] + CHOSEN * (i == event.index)
        mode = MODES[event.index]
        opts = self.app.options  # type: ignore[attr-defined]
        opts.rehearse = mode == "rehearse"
        opts.resume = mode == "resume"
        self.app.refresh_banners()  # type: ignore[attr-defined]

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.action_start()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.action_start()

    def action_start(self) -> None:
        name = self.query_one("#checklist", Input).value.strip()
        audit = self.query_one("#audit", Input).value.strip()
        opts = self.app.options  # type: ignore[attr-defined]
        if not name:
            self.show_error("name a checklist (a path or a bundled name)")
            return
        if opts.resume and not audit:
            self.show_error("to resume, give the audit log of the interrupted run")
            return
        opts.audit_path = Path(audit).absolute() if audit else None
        self.app.checklist_arg = name  # type: ignore[attr-defined]
        self.load(name)

    @work(exclusive=True)
    async def load(self, name: str) -> None:
        from annotui.checklist.loader import ChecklistError, load_checklist, resolve_checklist

        self.show_error("")
        try:
            loaded = await asyncio.to_thread(lambda: load_checklist(resolve_checklist(name)))
        except ChecklistError as e:
            self.show_error("\n".join(str(d) for d in e.diagnostics))
            return
        self.app.checklist_chosen(loaded)  # type: ignore[attr-defined]

    def show_error(self, text: str) -> None:
        self.query_one("#error", Static).update(escape(text))
