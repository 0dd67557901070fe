"""Variables: one field per var the operator gives (stage-bound vars are not asked), prefilled
from --var, --vars-file, the environment and defaults, validated inline, secrets masked."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from rich.markup import escape
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.screen import Screen
from textual.widgets import Button, Footer, Input, Label, Static

from annotui.checklist.loader import LoadedChecklist
from annotui.checklist.template import names as placeholders
from annotui.checklist.template import preview
from annotui.engine.vars import VarError, load_vars_file, stage_bound, validate_value
from screens.widgets.status_panel import StatusPanel

if TYPE_CHECKING:
    from annotui.checklist.models import Var


def prefill(var: Var, name: str, cli: dict[str, str], file: dict[str, str]) -> tuple[str, str]:
    """The value the run would take without asking (same precedence as the engine), and where
    it comes from ('' when nothing gives one)."""
    if name in cli:
        return cli[name], "--var"
    if name in file:
        return file[name], "the vars file"
    if var.from_env and var.from_env in os.environ:
        return os.environ[var.from_env], f"${var.from_env}"
    if var.default is not None:
        return var.default, "the default"
    return "", ""


class VariablesScreen(Screen[None]):
    CSS_PATH = "variables.tcss"
    BINDINGS = [
        Binding("ctrl+s", "start", "Start the run"),
        Binding("escape", "back", "Back"),
    ]

    def __init__(self, loaded: LoadedChecklist) -> None:
        super().__init__()
        self.loaded = loaded
        bound = stage_bound(loaded.model)
        self.vars = {n: v for n, v in loaded.model.vars.items() if n not in bound}
        self.initial: dict[str, str] = {}
        self.file_error: str | None = None

    def compose(self) -> ComposeResult:
        opts = self.app.options  # type: ignore[attr-defined]
        file: dict[str, str] = {}
        if opts.vars_file:
            try:
                file = load_vars_file(opts.vars_file)
            except VarError as e:
                self.file_error = str(e)
        yield self.app.make_banner()  # type: ignore[attr-defined]
        with Horizontal(id="body"):
            with VerticalScroll(id="form") as form:
                self.form = form
                if not self.vars:
                    yield Static("This checklist has no variables.")
                for name, var in self.vars.items():
                    value, source = prefill(var, name, opts.cli_vars, file)
                    self.initial[name] = value
                    hint = var.prompt or var.description
                    where = f"  [dim](from {escape(source)})[/]" if source else ""
                    yield Label(
                        f"[b]{escape(name)}[/b]" + (f"  {escape(hint)}" if hint else "") + where
                    )
                    placeholder = var.example or ""
                    if var.choices:
                        placeholder = "one of: " + ", ".join(var.choices)
                    yield Input(
                        value,
                        placeholder=placeholder,
                        password=var.secret,
                        id=f"var-{name}",
                        name=name,
                        compact=True,
                    )
                    yield Static("", id=f"err-{name}", classes="error")
                yield Static(escape(self.file_error or ""), id="error", classes="error")
                yield Button("Start the run", id="start", variant="primary", compact=True)
            yield StatusPanel()
        yield Footer()

    def on_mount(self) -> None:
        for name in self.vars:
            self.check(name)
        self.show_title()
        first_bad = next((n for n in self.vars if self.error_of(n)), None)
        if first_bad:
            self.query_one(f"#var-{first_bad}", Input).focus()
        else:
            self.query_one("#start", Button).focus()

    def error_of(self, name: str) -> str | None:
        return validate_value(self.vars[name], self.value_of(name))

    def check(self, name: str) -> str | None:
        error = self.error_of(name)
        shown = self.query_one(f"#err-{name}", Static)
        shown.update(escape(error or ""))
        shown.display = bool(error)  # no empty row under a good value
        return error

    def show_title(self) -> None:
        """The checklist's title over the form: a placeholder shows the value of its var once
        that value is acceptable, its name in angle quotes until then (`preview`; a secret or
        a list var is never in the title: check refuses it)."""
        template = self.loaded.model.checklist.title
        used = [n for n, _ in placeholders(template) if n in self.vars]
        known = {n: v for n in used if (v := self.value_of(n)) and not self.error_of(n)}
        title = preview(template, known)
        self.form.border_title = f"Variables of {escape(title)}"

    def value_of(self, name: str) -> str:
        return self.query_one(f"#var-{name}", Input).value

    def on_input_changed(self, event: Input.Changed) -> None:
        if event.input.name in self.vars:
            self.check(event.input.name)
            self.show_title()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        if event.input.name in self.vars and self.check(event.input.name):
            return
        names = list(self.vars)
        index = names.index(event.input.name) if event.input.name in names else len(names)
        if index + 1 < len(names):
            self.query_one(f"#var-{names[index + 1]}", Input).focus()
        else:
            self.query_one("#start", Button).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.action_start()

    def action_start(self) -> None:
        bad = [n for n in self.vars if self.check(n)]
        if bad:
            self.query_one(f"#var-{bad[0]}", Input).focus()
            self.query_one("#error", Static).update(f"fix {', '.join(bad)} first")
            return
        values = {n: self.query_one(f"#var-{n}", Input).value for n in self.vars}
        changed = {n: v for n, v in values.items() if v != self.initial.get(n) or not v}
        # values that came from the file, env or defaults keep their recorded source
        opts = self.app.options  # type: ignore[attr-defined]
        changed.update({n: v for n, v in values.items() if n in opts.cli_vars})
        self.app.start_session(changed)  # type: ignore[attr-defined]

    def action_back(self) -> None:
        self.app.pop_screen()
