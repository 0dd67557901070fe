"""The cockpit's modal questions. Each dismisses with the answer, or None for "back" (Escape):
the question then stays pending and Enter on the walk screen opens it again. Quitting always goes
through the app's quit confirmation, never through a modal's key.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from rich.markup import escape
from textual.app import ComposeResult
from textual.await_complete import AwaitComplete
from textual.binding import Binding
from textual.containers import Vertical
from textual.events import Key
from textual.screen import ModalScreen
from textual.widgets import Footer, Input, Label, Static

from annotui.engine.operator import Decision

if TYPE_CHECKING:
    from annotui.checklist.models import Var
    from annotui.engine.planned import PlannedStep
    from annotui.events import StepFinished

T = TypeVar("T")
S = TypeVar("S")


def step_where(step: PlannedStep) -> str:
    """'on HOST in CWD' for a step, as shown before it runs."""
    parts = []
    if step.host:
        parts.append(f"on [b]{escape(step.host)}[/b]")
    if step.cwd:
        parts.append(f"in [b]{escape(step.cwd)}[/b]")
    return " ".join(parts)


class OnceModal(ModalScreen[T]):
    """A modal that answers once, and only while on top.

    Textual's dismiss pops whatever screen is on top. A key pressed twice (a laggy link, a
    bouncing key) can deliver a second answer after the first has closed the modal: it then
    closed the screen below too (the walk, the audit viewer), losing the operator's place.
    """

    _answered = False

    def dismiss(self, result: T | None = None) -> AwaitComplete:
        if self._answered or not self.is_active:
            return AwaitComplete.nothing()
        self._answered = True
        return super().dismiss(result)


class AskModal(OnceModal[T | None], Generic[T]):
    """A dialog docked at the bottom, so the step it is about stays visible above it."""

    CSS_PATH = "modals.tcss"
    BINDINGS = [Binding("escape", "back", "Back")]

    def __init__(self, title: str, error: str | None = None) -> None:
        super().__init__()
        self.dialog_title = title
        self.error = error
        self._asking = False

    def ask(self, modal: AskModal[S], then: Callable[[S | None], object]) -> None:
        """Ask a follow-up question in `modal` (a skip reason, evidence). Until it is answered
        this dialog neither answers nor asks again: the second press of a key pressed twice
        reaches this dialog before the follow-up's answer does, and must not run the step."""
        if self._asking or self._answered:
            return
        self._asking = True

        def answered(result: S | None) -> None:
            self._asking = False
            then(result)

        self.app.push_screen(modal, answered)

    def dismiss(self, result: T | None = None) -> AwaitComplete:
        if self._asking:
            return AwaitComplete.nothing()
        return super().dismiss(result)

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog") as dialog:
            dialog.border_title = self.dialog_title
            yield from self.body()
            yield Label(escape(self.error or ""), id="error", classes="error")
        yield Footer()

    def body(self) -> ComposeResult:
        yield from ()

    def show_error(self, message: str) -> None:
        self.query_one("#error", Label).update(escape(message))

    def on_key(self, event: Key) -> None:
        """A character typed while the dialog was still mounting (before its input had focus)
        goes to the input, not nowhere: fast typists over SSH must not lose letters."""
        inputs = self.query(Input)
        if not inputs or not event.is_printable or not event.character:
            return
        field = inputs.first()
        if self.focused is not field:
            field.focus()
            field.insert_text_at_cursor(event.character)
            event.stop()
            event.prevent_default()

    def action_back(self) -> None:
        self.dismiss(None)


class TextModal(AskModal[str]):
    """One line of text, never empty (skip reason, evidence, typed words, var values)."""

    def __init__(
        self,
        title: str,
        prompt: str,
        error: str | None = None,
        *,
        password: bool = False,
        value: str = "",
        placeholder: str = "",
    ) -> None:
        super().__init__(title, error)
        self.prompt = prompt
        self.password = password
        self.value = value
        self.placeholder = placeholder

    def body(self) -> ComposeResult:
        yield Static(self.prompt, id="prompt")
        yield Input(
            self.value,
            placeholder=self.placeholder,
            password=self.password,
            id="answer",
        )

    def check(self, value: str) -> str | None:
        """Error text for a value the engine would refuse anyway (comfort only)."""
        return None if value.strip() else "this cannot be empty"

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        error = self.check(event.value)
        if error:
            self.show_error(error)
            return
        self.dismiss(event.value.strip())


class SkipReasonModal(TextModal):
    def __init__(self, step: PlannedStep) -> None:
        super().__init__(
            "Skip with a reason",
            f"Why is [b]{escape(step.title)}[/b] skipped? The reason is recorded.",
            placeholder="reason (required)",
        )

    def check(self, value: str) -> str | None:
        return None if value.strip() else "a reason is required to skip a step"


class VarModal(TextModal):
    """A value for a var the engine still needs (e.g. a secret on resume)."""

    def __init__(self, name: str, var: Var, error: str | None) -> None:
        hint = var.prompt or var.description or name
        if var.example:
            hint += f" (e.g. {var.example})"
        super().__init__(f"Value for {name}", escape(hint), error, password=var.secret)
        self.var_name = name
        self.var = var

    def check(self, value: str) -> str | None:
        from annotui.engine.vars import validate_value

        return validate_value(self.var, value)


class ConfirmModal(AskModal[Decision]):
    """Run, skip (with a reason; never a critical step) or go back and read the step first."""

    BINDINGS = [
        Binding("escape", "back", "Back to the step"),
        Binding("y", "run", "Run"),
        Binding("s", "skip", "Skip…"),
    ]

    def __init__(self, step: PlannedStep, error: str | None = None) -> None:
        verb = "Simulate" if step.simulated else "Run"
        super().__init__(f"{verb}: {step.title}", error)
        self.step = step

    def body(self) -> ComposeResult:
        step = self.step
        if step.command:
            yield Static(escape(step.command), id="command", classes="command")
        marks = []
        if step.mutating:
            marks.append("[b red]CHANGES THE TARGET[/]")
        if step.critical:
            marks.append("[b magenta]CRITICAL: cannot be skipped[/]")
        if step.simulated:
            marks.append("[b #87afff]simulated in rehearsal[/]")
        where = step_where(step)
        line = " · ".join(x for x in [where, *marks] if x)
        if line:
            yield Static(line, id="where")
        keys = "[b]y[/b]/[b]Enter[/b] run"
        if step.confirm_word:
            yield Input(placeholder=f"type {step.confirm_word} to confirm", id="word")
            keys = f"type [b]{escape(step.confirm_word)}[/b] then [b]Enter[/b]"
        skip = "[b]Ctrl+S[/b] skip" if step.confirm_word else "[b]s[/b] skip"
        yield Static(f"{keys} · {skip} · [b]Esc[/b] back to the step", id="hint")

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        # With a typed word the letters belong to the input.
        return not (self.step.confirm_word and action in ("run", "skip"))

    def key_enter(self) -> None:
        if not self.step.confirm_word:
            self.action_run()

    def key_ctrl_s(self) -> None:
        self._skip()

    def action_run(self) -> None:
        self.dismiss(Decision("run"))

    def action_skip(self) -> None:
        self._skip()

    def _skip(self) -> None:
        ask_skip(self, self.step)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        word = self.step.confirm_word
        if event.value != word:
            self.show_error(f"that is not the confirm word: type exactly {word}")
            event.input.value = ""
            return
        self.dismiss(Decision("run", word=event.value))


class UnknownOutcomeModal(AskModal[Decision]):
    """Resume found a step that started and never finished: look, then re-run or mark done."""

    BINDINGS = [
        Binding("escape", "back", "Back to the step"),
        Binding("r", "rerun", "Re-run…"),
        Binding("d", "done", "Mark done…"),
    ]

    def __init__(self, step: PlannedStep, reason: str) -> None:
        super().__init__(f"Outcome unknown: {step.title}")
        self.step = step
        self.reason = reason

    def body(self) -> ComposeResult:
        yield Static(
            f"[b]{escape(self.reason)}[/b]\nLook at the target first. Nothing re-runs silently.",
            id="prompt",
        )
        if self.step.command:
            yield Static(escape(self.step.command), id="command", classes="command")
        yield Static(
            "[b]r[/b] re-run (confirmed again) · [b]d[/b] mark done with evidence · "
            "[b]Esc[/b] back",
            id="hint",
        )

    def action_rerun(self) -> None:
        self.dismiss(Decision("rerun"))

    def action_done(self) -> None:
        def done(text: str | None) -> None:
            if text:
                self.dismiss(Decision("done", text=text))

        self.ask(TextModal("Mark done", "What shows that the step is done? It is recorded."), done)


class FailureModal(AskModal[Decision]):
    """A step failed: retry, skip with a reason (not a critical step), or back."""

    BINDINGS = [
        Binding("escape", "back", "Back to the output"),
        Binding("r", "retry", "Retry"),
        Binding("s", "skip", "Skip…"),
    ]

    def __init__(self, step: PlannedStep, result: StepFinished) -> None:
        super().__init__(f"Failed: {step.title}")
        self.step = step
        self.result = result

    def body(self) -> ComposeResult:
        r = self.result
        lines = [
            f"[b red]{escape(r.outcome)}[/]" + (f", exit {r.exit_code}" if r.exit_code else "")
        ]
        if r.expectation:
            lines.append(escape(r.expectation))
        if r.message:
            lines.append(escape(r.message))
        yield Static("\n".join(lines), id="prompt")
        skip = "[dim]cannot skip: critical[/]" if self.step.critical else "[b]s[/b] skip"
        yield Static(f"[b]r[/b] retry · {skip} · [b]Esc[/b] back to the output", id="hint")

    def action_retry(self) -> None:
        self.dismiss(Decision("retry"))

    def action_skip(self) -> None:
        ask_skip(self, self.step)


def ask_skip(modal: AskModal[Decision], step: PlannedStep) -> None:
    """Skip `step` once the operator gave a reason; a critical step cannot be skipped."""
    if step.critical:
        modal.show_error("this step is critical: it cannot be skipped")
        return

    def done(reason: str | None) -> None:
        if reason:
            modal.dismiss(Decision("skip", text=reason))

    modal.ask(SkipReasonModal(step), done)


class LockModal(TextModal):
    """Another run holds the target lock: take it over only by typing the word."""

    def __init__(self, holder: str, word: str) -> None:
        super().__init__(
            "Target locked",
            f"The target is locked by:\n[b]{escape(holder)}[/b]\n"
            f"Type [b]{escape(word)}[/b] to take the lock over, Esc to go back.",
        )
        self.word = word

    def check(self, value: str) -> str | None:
        return None if value.strip() == self.word else f"type exactly {self.word}"


class YesNoModal(AskModal[bool]):
    """A yes/no question (cancel the running step, quit)."""

    BINDINGS = [
        Binding("y", "yes", "Yes"),
        Binding("n,escape", "no", "No"),
    ]

    def __init__(self, title: str, text: str) -> None:
        super().__init__(title)
        self.text = text

    def body(self) -> ComposeResult:
        yield Static(self.text, id="prompt")
        yield Static("[b]y[/b] yes · [b]n[/b]/[b]Esc[/b] no", id="hint")

    def action_yes(self) -> None:
        self.dismiss(True)

    def action_no(self) -> None:
        self.dismiss(False)


def question_modal(kind: str, step: PlannedStep | None, error: str | None, data: dict[str, Any]):
    """The modal screen for an engine question (see `screens.question.Question`)."""
    if kind == "confirm" and step is not None:
        return ConfirmModal(step, error)
    if kind == "var":
        return VarModal(data["name"], data["var"], error)
    if kind == "evidence" and step is not None:
        return TextModal(
            f"Evidence: {step.title}", escape(data["prompt"]), error, placeholder="required"
        )
    if kind == "unknown" and step is not None:
        return UnknownOutcomeModal(step, data["reason"])
    if kind == "failure" and step is not None:
        return FailureModal(step, data["result"])
    if kind == "lock":
        return LockModal(data["holder"], data["word"])
    raise ValueError(f"no modal for question {kind!r}")
