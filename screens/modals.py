"""The cockpit's modal questions. Each dismisses with the answer, or None for "back" (Escape):
the question then stays pending and Enter on the walk screen opens it again. Quitting always goes
through the app's quit confirmation, never through a modal's key.
"""

from __future__ import annotations

from collections.abc import Callable
from time import monotonic
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from rich.markup import escape
from textual import work
from textual.app import ComposeResult
from textual.await_complete import AwaitComplete
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.content import Content
from textual.css.query import NoMatches
from textual.events import Key, Resize
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import Footer, Input, Label, Static

from annotui.engine.operator import Decision
from annotui.engine.runas import described
from annotui.text import for_terminal

if TYPE_CHECKING:
    from pathlib import Path

    from annotui.checklist.models import Var
    from annotui.engine.planned import PlannedStep
    from annotui.events import StepFinished
    from screens.step_output import StepOutput

T = TypeVar("T")
S = TypeVar("S")

ROWS_ABOVE = 1
"""Rows a question leaves above its dialog: the LIVE / REHEARSAL banner stays in sight."""


def step_where(step: PlannedStep) -> str:
    """'on HOST in CWD' for a step, as shown before it runs."""
    parts = []
    if step.host:
        parts.append(f"on [b]{escape(step.host)}[/b]")
    if who := described(step.user, step.login, step.shell):
        parts.append(f"[b]{escape(who)}[/b]")
    if step.cwd:
        parts.append(f"in [b]{escape(step.cwd)}[/b]")
    return " ".join(parts)


class _CommandScroll(VerticalScroll, can_focus=False):
    """The command's viewport: its counts are redone whenever its size settles."""

    def on_resize(self, event: Resize) -> None:
        self.call_after_refresh(self.query_ancestor(CommandView).moved)


class CommandView(Vertical):
    """A command shown whole: where it is taller than the room it is given it scrolls, and a
    line under it counts the lines out of view. It remembers how far down it has been read
    (`unread`), so a question can refuse to run what nobody has seen."""

    DEFAULT_CSS = """
    CommandView { height: auto; }
    CommandView > _CommandScroll {
        height: auto;
        max-height: 5;
        scrollbar-size-vertical: 1;
    }
    CommandView > #command-more {
        display: none;
        background: #5f5f00;
        color: #ffffff;
        text-style: bold;
        padding: 0 1;
    }
    """

    def __init__(self, command: str) -> None:
        super().__init__()
        self.command = for_terminal(command.strip("\n"))
        self._read_to = 0
        """How many rows from the top have been on screen."""

    def compose(self) -> ComposeResult:
        with _CommandScroll():
            yield Static(Content(self.command), id="command", classes="command")
        yield Static("", id="command-more")

    def on_mount(self) -> None:
        self.watch(self.scroller, "scroll_y", self.moved, init=False)

    @property
    def scroller(self) -> VerticalScroll:
        return self.query_one(_CommandScroll)

    @property
    def rows(self) -> int:
        """The command's height on screen (wrapped at this width)."""
        return self.scroller.virtual_size.height

    @property
    def unread(self) -> int:
        """Rows below what has been on screen so far (0: the whole command was seen)."""
        return max(0, self.rows - self._read_to)

    def fit(self, room: int) -> None:
        """Take at most `room` rows (the line counting hidden rows included)."""
        rows = self.rows
        if not rows:
            return
        tall = rows > room
        self.scroller.styles.max_height = max(2, room - 1) if tall else rows
        self.query_one("#command-more").display = tall
        self.call_after_refresh(self.moved)  # the counts, once the new height is laid out

    def scroll_by_rows(self, rows: int) -> None:
        self.scroller.scroll_relative(y=rows, animate=False)

    def scroll_pages(self, pages: int) -> None:
        view = self.scroller.scrollable_content_region.height
        self.scroll_by_rows(pages * max(1, view - 1))

    def moved(self, *_: object) -> None:
        """Count the rows above and below the view, and how far the command has been read."""
        try:
            scroller = self.scroller
            more = self.query_one("#command-more", Static)
        except NoMatches:  # a count asked for after the refresh, when the question had closed
            return
        view = scroller.scrollable_content_region.height
        limit = scroller.styles.max_height
        if limit is not None and limit.is_cells and view < min(limit.value, self.rows):
            self.call_after_refresh(self.moved)  # not laid out at its new height yet
        top = round(scroller.scroll_y)
        self._read_to = max(self._read_to, top + view)
        below = max(0, self.rows - top - view)
        parts = []
        if top:
            parts.append(f"▲ {top} line{'s' * (top != 1)} above")
        if below:
            parts.append(f"▼ {below} line{'s' * (below != 1)} below: ↓ PgDn to read on")
        else:
            parts.append("end of the command")
        more.update(" · ".join(parts))
        self.post_message(self.Moved(self))

    class Moved(Message):
        """The view moved or settled: what is hidden or unread may have changed."""

        def __init__(self, view: CommandView) -> None:
            super().__init__()
            self.view = view


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
        self._shown_at: float | None = None
        """When the dialog was first on screen (after its first refresh)."""

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

    def on_mount(self) -> None:
        self.call_after_refresh(self.fit_command)
        # published right after each layout is drawn; the first one is the dialog appearing
        self.screen_layout_refresh_signal.subscribe(self, self._drawn, immediate=True)

    def _drawn(self, screen: object) -> None:
        if self._shown_at is None and self.is_current:
            self._shown_at = monotonic()  # the clock Textual stamps each key with as it is read

    def on_unmount(self) -> None:
        release = getattr(self.app, "release_toasts", None)
        if release is not None:
            self.app.call_later(release)  # toasts held while this question was open

    def on_resize(self, event: Resize) -> None:
        self.call_after_refresh(self.fit_command)

    def fit_command(self) -> None:
        """Give a command shown in this dialog every row the rest of the dialog leaves free
        (the mode banner above stays in sight): a long one scrolls instead of being cut."""
        views = self.query(CommandView)
        if not views:
            return
        view = views.first()
        try:
            dialog = self.query_one("#dialog")
            footer = self.query_one(Footer).outer_size.height
            rest = sum(c.outer_size.height for c in dialog.children if c is not view and c.display)
            chrome = dialog.styles.gutter.height + dialog.styles.margin.height
            view.fit(self.size.height - ROWS_ABOVE - footer - chrome - rest)
        except NoMatches:  # asked for after a refresh, when the question was closing
            return

    def show_error(self, message: str) -> None:
        self.query_one("#error", Label).update(escape(message))
        self.call_after_refresh(self.fit_command)

    def on_key(self, event: Key) -> None:
        """No key answers a question it was not meant for: one read before this dialog was on
        screen (a key pressed twice for the question before, an Enter meant for the output, a
        burst over a laggy link) is dropped, and the dialog says so. Only letters typed early
        are kept, in the dialog's input (fast typists over SSH must not lose letters); they
        never submit it."""
        inputs = self.query(Input)
        letter = event.is_printable and event.character is not None
        early = self._shown_at is None or event.time < self._shown_at
        if letter and inputs:
            field = inputs.first()
            if self.focused is not field:
                field.focus()
                field.insert_text_at_cursor(event.character or "")
                event.stop()
                event.prevent_default()
        elif early:
            event.stop()
            event.prevent_default()
            self.show_error(f"{event.key} was pressed before this question was shown: ignored")

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

    BINDINGS = [Binding("escape", "back", "Stop the run")]

    def __init__(self, name: str, var: Var, error: str | None) -> None:
        hint = var.prompt or var.description or name
        if var.example:
            hint += f" (e.g. {var.example})"
        prompt = escape(hint)
        if var.secret:
            # asked again on a resume: why, and what happens to it
            prompt += "\n[dim]A secret: typed hidden, never written to the audit log"
            if var.from_env:
                prompt += f" (or set {escape(var.from_env)} before starting)"
            prompt += ".[/]"
        prompt += "\n[b]Enter[/b] use it · [b]Esc[/b] stop the run"
        super().__init__(f"Value for {name}", prompt, error, password=var.secret)
        self.var_name = name
        self.var = var

    def check(self, value: str) -> str | None:
        from annotui.engine.vars import validate_value

        return validate_value(self.var, value)


class CommandModal(AskModal[T]):
    """A question about a step whose command it shows whole (`CommandView`): the arrow and page
    keys scroll it, and q asks to stop the run (as everywhere in the cockpit)."""

    BINDINGS = [
        # priority: the typed word's Input would take them (it scrolls, sideways)
        Binding("pagedown", "read(1)", "Read on", key_display="PgDn", priority=True),
        Binding("down", "read_rows(1)", "Read on", show=False, priority=True),
        Binding("pageup", "read(-1)", "Back up", show=False, priority=True),
        Binding("up", "read_rows(-1)", "Back up", show=False, priority=True),
        Binding("q", "stop", "Stop…"),
    ]

    def __init__(self, step: PlannedStep, title: str, error: str | None = None) -> None:
        super().__init__(title, error)
        self.step = step
        self._unread_said = False

    @property
    def command_view(self) -> CommandView | None:
        views = self.query(CommandView)
        return views.first() if views else None

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "read" and parameters == (1,):
            view = self.command_view
            return view is not None and view.unread > 0  # in the footer while rows wait
        return True

    def action_read(self, pages: int) -> None:
        if self.command_view is not None:
            self.command_view.scroll_pages(pages)

    def action_read_rows(self, rows: int) -> None:
        if self.command_view is not None:
            self.command_view.scroll_by_rows(rows)

    def action_stop(self) -> None:
        self.app.action_request_quit()  # type: ignore[attr-defined]

    def on_command_view_moved(self, event: CommandView.Moved) -> None:
        self.refresh_bindings()
        if self._unread_said and not event.view.unread:
            self._unread_said = False
            self.show_error("")

    def unread_error(self) -> str | None:
        """Why the command cannot be run yet: part of it was never on screen."""
        view = self.command_view
        if view is None or not view.unread:
            return None
        self._unread_said = True
        n = view.unread
        return f"read the whole command first: {n} line{'s' * (n != 1)} not shown yet (↓ PgDn)"


class ConfirmModal(CommandModal[Decision]):
    """Run (done, for a manual step), skip with a reason (never a critical step: it is not
    offered, and a try is recorded), or go back and read the step first."""

    BINDINGS = [
        Binding("escape", "back", "Back to the step"),
        Binding("y", "run", "Run"),
        Binding("y", "run_manual", "Done"),
        Binding("s", "skip", "Skip…"),
        Binding("ctrl+s", "skip_typed", "Skip…"),
        Binding("s,ctrl+s", "refuse_skip", "", show=False),
    ]

    def __init__(self, step: PlannedStep, error: str | None = None) -> None:
        verb = "Simulate:" if step.simulated else "Done?" if step.kind == "manual" else "Run:"
        super().__init__(step, f"{verb} {step.title}", error)

    def body(self) -> ComposeResult:
        step = self.step
        if step.command:
            yield CommandView(step.command)
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
        verb = "done" if step.kind == "manual" else "run"
        keys = [f"[b]y[/b]/[b]Enter[/b] {verb}"]
        if step.confirm_word:
            yield Input(placeholder=f"type {step.confirm_word} to confirm", id="word")
            keys = [f"type [b]{escape(step.confirm_word)}[/b] then [b]Enter[/b]"]
        if not step.critical:
            keys.append("[b]Ctrl+S[/b] skip" if step.confirm_word else "[b]s[/b] skip")
        keys += ["[b]Esc[/b] back to the step", "[b]q[/b] stop"]
        if step.confirm_word:
            keys[-1] = "[b]Ctrl+Q[/b] stop"  # q belongs to the word
        yield Static(" · ".join(keys), id="hint")

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        step = self.step
        typed = step.confirm_word is not None
        manual = step.kind == "manual"
        allowed = {
            # with a typed word the letters belong to the input
            "run": not typed and not manual,
            "run_manual": not typed and manual,
            "skip": not typed and not step.critical,
            "skip_typed": typed and not step.critical,
            "refuse_skip": step.critical,
            "stop": not typed,
        }
        if action in allowed:
            return allowed[action]
        return super().check_action(action, parameters)

    def key_enter(self) -> None:
        if not self.step.confirm_word:
            self.action_run()

    def action_run(self) -> None:
        error = self.unread_error()
        if error:
            self.show_error(error)
            return
        self.dismiss(Decision("run"))

    def action_run_manual(self) -> None:
        self.action_run()

    def action_skip(self) -> None:
        ask_skip(self, self.step)

    def action_skip_typed(self) -> None:
        ask_skip(self, self.step)

    def action_refuse_skip(self) -> None:
        ask_skip(self, self.step)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        word = self.step.confirm_word
        if event.value != word:
            self.show_error(f"that is not the confirm word: type exactly {word}")
            event.input.value = ""
            return
        error = self.unread_error()
        if error:
            self.show_error(error)
            return
        self.dismiss(Decision("run", word=event.value))


class UnknownOutcomeModal(CommandModal[Decision]):
    """Resume found a step that started and never finished: look (its command, and the output of
    the interrupted attempt, read from the log), then re-run or mark done."""

    BINDINGS = [
        Binding("r", "rerun", "Re-run…"),
        Binding("d", "done", "Mark done…"),
        Binding("escape", "back", "Back to the step"),
    ]
    PARTIAL_LINES = 6
    """Last lines of the interrupted attempt's output shown in the box."""

    def __init__(self, step: PlannedStep, reason: str) -> None:
        super().__init__(step, f"Outcome unknown: {step.title}")
        self.reason = reason

    def body(self) -> ComposeResult:
        yield Static(
            f"[b]{escape(self.reason)}[/b]\nLook at the target first. Nothing re-runs silently.",
            id="prompt",
        )
        if self.step.command:
            yield CommandView(self.step.command)
        yield Static("[dim]reading the interrupted attempt's output…[/]", id="partial")
        yield Static(
            "[b]r[/b] re-run (confirmed again) · [b]d[/b] mark done with evidence · "
            "[b]Esc[/b] back · [b]q[/b] stop",
            id="hint",
        )

    def on_mount(self) -> None:
        super().on_mount()
        session = getattr(self.app, "session", None)
        if session is not None:
            self.load_partial(session.audit_path)

    @work(thread=True, exclusive=True, exit_on_error=False)
    def load_partial(self, path: Path) -> None:
        from screens.step_output import last_attempt_output

        found = last_attempt_output(path, self.step.key, self.PARTIAL_LINES)
        self.app.call_from_thread(self._show_partial, found)

    def _show_partial(self, found: StepOutput) -> None:
        if not self.is_mounted:
            return
        if not found.total:
            text = "[dim]the interrupted attempt printed nothing[/]"
        else:
            earlier = found.total - len(found.lines)
            head = f"output of attempt {found.attempt} before it was cut off"
            head += f" (last {len(found.lines)} of {found.total} lines)" if earlier else ":"
            text = f"[b]{head}[/b]\n" + escape(for_terminal("\n".join(found.lines)))
        self.query_one("#partial", Static).update(text)
        self.call_after_refresh(self.fit_command)

    def action_rerun(self) -> None:
        self.dismiss(Decision("rerun"))

    def action_done(self) -> None:
        def done(text: str | None) -> None:
            if text:
                self.dismiss(Decision("done", text=text))

        self.ask(TextModal("Mark done", "What shows that the step is done? It is recorded."), done)


class FailureModal(CommandModal[Decision]):
    """A step failed: retry, skip with a reason (never a critical step: not offered, a try is
    recorded), roll the stage back (when it has `[[stages.rollback]]` steps: they then run in
    order, each confirmed, and the run stops), back to its output, or stop."""

    BINDINGS = [
        Binding("r", "retry", "Retry"),
        Binding("s", "skip", "Skip…"),
        Binding("s", "refuse_skip", "", show=False),
        Binding("b", "rollback", "Roll back"),
        Binding("escape", "back", "Back to the output"),
    ]

    def __init__(self, step: PlannedStep, result: StepFinished) -> None:
        super().__init__(step, f"Failed: {step.title}")
        self.result = result

    def body(self) -> ComposeResult:
        r = self.result
        head = f"[b red]{escape(r.outcome.upper())}[/]"
        if r.exit_code is not None:
            head += f" · exit code {r.exit_code}"
        lines = [head]
        if r.expectation:
            lines.append(escape(r.expectation))
        if r.message and r.message != f"exit code {r.exit_code}":
            lines.append(escape(r.message))
        yield Static("\n".join(lines), id="prompt")
        keys = ["[b]r[/b] retry"]
        if self.step.critical:
            keys.append("[dim]critical: cannot be skipped[/]")
        else:
            keys.append("[b]s[/b] skip")
        if self.step.rollback:
            keys.append("[b]b[/b] roll the stage back")
        keys += ["[b]Esc[/b] back to the output", "[b]q[/b] stop"]
        yield Static(" · ".join(keys), id="hint")

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "rollback":
            return self.step.rollback
        if action == "skip":
            return not self.step.critical
        if action == "refuse_skip":
            return self.step.critical
        return super().check_action(action, parameters)

    def action_retry(self) -> None:
        self.dismiss(Decision("retry"))

    def action_rollback(self) -> None:
        self.dismiss(Decision("rollback"))

    def action_skip(self) -> None:
        ask_skip(self, self.step)

    def action_refuse_skip(self) -> None:
        ask_skip(self, self.step)


def ask_skip(modal: AskModal[Decision], step: PlannedStep) -> None:
    """Skip `step` once the operator gave a reason; a critical step cannot be skipped."""
    if step.critical:
        modal.show_error("this step is critical: it cannot be skipped (the try is recorded)")
        modal.app.record_refused(step.key, "skip")  # type: ignore[attr-defined]
        return

    def done(reason: str | None) -> None:
        if reason:
            modal.dismiss(Decision("skip", text=reason))

    modal.ask(SkipReasonModal(step), done)


class LockModal(TextModal):
    """Another run holds the target lock: take it over only by typing the word."""

    BINDINGS = [Binding("escape", "back", "Stop the run")]

    def __init__(self, holder: str, word: str) -> None:
        super().__init__(
            "Target locked",
            # holder: "the target is locked (PATH), held by operator=…, pid=…, …"
            f"[b]{escape(holder[:1].upper() + holder[1:])}[/b]\n"
            f"Type [b]{escape(word)}[/b] to take the lock over (only when that run is gone), "
            "or Esc to leave it: this run then stops.",
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

    def dismiss_stale(self) -> None:
        """Close without an answer: what it asked about is over. (Under another screen, such as
        the help, it stays, and its answer no longer does anything: see the asker's callback.)"""
        if self.is_active and not self._answered:
            self._answered = True
            self.app.pop_screen()

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
