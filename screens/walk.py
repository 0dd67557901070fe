"""The stage and step walk: the step list on the left, the current step in the middle (what
runs, where, its instructions, result and expectation) and its live output below.

The screen only renders engine events; the app routes the engine's questions to modals.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING

from rich.console import Group
from rich.markdown import Markdown
from rich.markup import escape
from rich.rule import Rule
from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.css.query import NoMatches
from textual.screen import Screen
from textual.widgets import Footer, Log, OptionList, Static

from annotui import events as ev
from annotui.text import for_terminal
from screens.bridge import BATCH_LINES, DISPLAY_LINES
from screens.widgets.ansible_grid import AnsibleGrid
from screens.widgets.approval_wait import ApprovalWait
from screens.widgets.status_panel import StatusPanel
from screens.widgets.step_list import StepList

if TYPE_CHECKING:
    from pathlib import Path

    from annotui.engine.planned import PlannedStep
    from screens.messages import OutputBatch

WRAP_MARK = "↪ "
"""Starts the continuation of an output line wider than the pane (lines are wrapped as they are
written: the Log widget draws one row per line)."""

KIND_LABELS = {
    "manual": "manual step",
    "command": "command",
    "check": "check (read-only)",
    "gate": "gate (waits for a probe)",
    "supervisor": "supervisor action",
    "announce": "announcement",
    "approval": "approval (two-person rule)",
}


def describe_finish(event: ev.StepFinished) -> str:
    """'ok · exit 0 · 0.4 s · expectation' as Rich markup."""
    colour = {"ok": "green", "done": "green", "would-run": "#87afff"}.get(event.outcome, "red")
    parts = [f"[b {colour}]{escape(event.outcome.upper())}[/]"]
    if event.exit_code is not None:
        parts.append(f"exit {event.exit_code}")
    if event.duration:
        parts.append(f"{event.duration:.1f} s")
    text = " · ".join(parts)
    if event.expectation:
        text += f"\n{escape(event.expectation)}"
    if event.message:
        text += f"\n{escape(event.message)}"
    return text


def wrap_lines(lines: Iterable[str], width: int) -> Iterator[str]:
    """Each line cut into rows of at most `width` characters, continuations marked."""
    width = max(width, 8)
    rest = width - len(WRAP_MARK)
    for line in lines:
        if len(line) <= width:
            yield line
            continue
        yield line[:width]
        for i in range(width, len(line), rest):
            yield WRAP_MARK + line[i : i + rest]


class WalkScreen(Screen[None]):
    CSS_PATH = ["walk.tcss", "widgets/ansible_grid.tcss"]
    BINDINGS = [
        # priority: Enter answers the pending question wherever the focus is (on the step list
        # it would otherwise only select a step); with no question it selects as usual
        Binding("enter", "answer", "Answer", priority=True),
        Binding("c", "current", "Current step"),
        Binding("l", "focus_list", "Steps"),
        Binding("o", "focus_output", "Output"),
    ]

    def __init__(self, planned: Callable[[str], PlannedStep | None]) -> None:
        super().__init__()
        self.planned = planned
        self.plan: dict[str, dict[str, object]] = {}
        self.shown: dict[str, ev.StepShown] = {}
        self.notes: dict[str, list[str]] = {}
        self.current: str | None = None
        self.viewing: str | None = None
        self.running: str | None = None
        self.output_owner: str | None = None
        """The step whose output the engine streams now (or streamed last)."""
        self.outputs: dict[str, deque[str]] = {}
        """The last output lines of each step of this session, to show a step's own output when
        it is viewed again (all of it is in the audit log)."""
        self.output_titles: dict[str, str] = {}
        self.shown_output: str | None = None
        """The step whose output the pane shows."""
        self.fresh_output = False
        """Output was written since the last question opened: the next question waits for
        Enter instead of covering it (see `CockpitApp.open_question`)."""
        self.resumed = False
        self.stage_titles: dict[str, str] = {}
        """Step key -> 'Stage i/n: title' of its stage (the header follows the step viewed)."""
        self.announcement: str | None = None
        self.early: list[ev.Event] = []
        """Events that arrived before the screen was composed (a fast run), replayed on mount."""
        self.approvals: dict[str, ApprovalWait] = {}
        """Each approval step's wait: who is asked, who approved, the time left."""

    def on_mount(self) -> None:
        early, self.early = self.early, []
        for event in early:
            self.handle(event)
        self.set_interval(1.0, self.tick_approval)

    def compose(self) -> ComposeResult:
        yield self.app.make_banner()  # type: ignore[attr-defined]
        with Horizontal(id="body"):
            yield StepList()
            with Vertical(id="center"):
                with VerticalScroll(id="step-view"):
                    yield Static("Waiting for the run to start…", id="step-title")
                    yield Static("", id="step-meta")
                    yield Static("", id="command", classes="command")
                    yield Static("", id="approval")
                    # Rich's Markdown in one Static, not Textual's Markdown widget (a widget per
                    # block): the step view is laid out again whenever its width changes (the
                    # status panel toggled), and its widgets' count is what that costs.
                    yield Static("", id="instructions")
                    yield Static("", id="notes")
                self.grid = AnsibleGrid()
                yield self.grid
                log = Log(max_lines=DISPLAY_LINES, id="output", highlight=False)
                log.border_title = "Output"
                yield log
            yield StatusPanel()
        yield Footer()

    # ---- engine events ------------------------------------------------------------------
    def handle(self, event: ev.Event) -> None:
        try:
            steps = self.query_one(StepList)
        except NoMatches:  # not composed yet, or already replaced by the summary
            if not self.is_mounted:
                self.early.append(event)
            return
        if isinstance(event, ev.AnsibleTask | ev.AnsibleResult | ev.AnsibleRecap):
            self.grid.handle(event)  # and the notes below
        if isinstance(event, ev.RunPlanned):
            steps.set_plan(event.stages)
            self.plan = {s["key"]: s for st in event.stages for s in st["steps"]}
            total = len(event.stages)
            self.stage_titles = {
                s["key"]: f"Stage {i}/{total}: {st.get('title') or st['key']}"
                for i, st in enumerate(event.stages, 1)
                for s in st["steps"]
            }
            if self.resumed and self.audit_path is not None:
                self.load_earlier_states(self.audit_path)
        elif isinstance(event, ev.SessionResumed):
            self.resumed = True
        elif isinstance(event, ev.StageStarted):
            title = f"Stage {event.index}/{event.total}: {event.title}"
            self.query_one("#center").border_title = title
        elif isinstance(event, ev.StepShown):
            self.shown[event.step_key] = event
            self.approval_shown(event)
            self.current = event.step_key
            self.viewing = None
            steps.set_state(event.step_key, "shown")
            steps.show_current(event.step_key)
            self.render_step(event.step_key)
        elif isinstance(event, ev.StepStarted):
            if self.plan.get(event.step_key, {}).get("kind") == "ansible":
                self.grid.started(event.step_key)
                self.grid.follow(self.viewing or self.current)
            self.running = event.step_key
            steps.set_state(event.step_key, "running")
            self.start_output(event)
        elif isinstance(event, ev.StepFinished):
            if self.running == event.step_key:
                self.running = None
            steps.set_state(event.step_key, event.outcome)
            self.note(event.step_key, describe_finish(event))
            self.approval_finished(event)
            if event.step_key in self.output_titles:
                self.output_titles[event.step_key] += f" · {event.outcome}"
                if self.shown_output == event.step_key:
                    self.query_one("#output", Log).border_title = self.output_titles[event.step_key]
        elif isinstance(event, ev.StepSkipped):
            steps.set_state(event.step_key, "skipped")
            self.note(
                event.step_key,
                f"[b #d7af5f]SKIPPED[/] by {escape(event.operator)}: {escape(event.reason)}",
            )
        elif isinstance(event, ev.StepRefused):
            self.note(
                event.step_key,
                f"[b magenta]REFUSED[/] {escape(event.operator)} tried to "
                f"{escape(event.action)}: {escape(event.reason)}",
            )
        elif isinstance(event, ev.StepConfirmed):
            word = f" (typed {escape(event.word)})" if event.word else ""
            how = (
                f"auto-confirmed ({event.how or '--yes'})"
                if event.auto
                else f"confirmed by {event.operator}"
            )
            self.note(event.step_key, f"{escape(how)}{word}")
        elif isinstance(event, ev.EvidenceRecorded):
            self.note(event.step_key, f"evidence ({escape(event.prompt)}): {escape(event.text)}")
        elif isinstance(event, ev.OutcomeUnknown):
            steps.set_state(event.step_key, "unknown")
            self.note(event.step_key, f"[b #ff87ff]OUTCOME UNKNOWN[/]: {escape(event.reason)}")
            if event.step_key not in self.outputs and self.audit_path is not None:
                # the cut-off attempt ran in an earlier process: its output is in the log
                self.show_output(event.step_key)
                self.load_earlier_output(self.audit_path, event.step_key)
        elif isinstance(event, ev.SupervisorState):
            procs = ", ".join(f"{escape(k)} {escape(v)}" for k, v in event.processes.items())
            self.note(event.step_key, f"{event.supervisor} {event.when}: {procs or 'no process'}")
        elif isinstance(event, ev.GateEvaluated):
            self.gate(event)
        elif isinstance(event, ev.ApprovalWaiting):
            self.approvals[event.step_key] = ApprovalWait.from_event(event)
            self.refresh_approval(event.step_key)
        elif isinstance(event, ev.ApprovalGranted | ev.ApprovalRefused):
            self.approval_event(event)
        elif isinstance(event, ev.Announcement):
            self.announcement = event.text
            self.note(event.step_key, "announcement ready (also on the summary)")
            if event.step_key == (self.viewing or self.current):
                self.render_step(event.step_key)
        elif isinstance(event, ev.NotificationResult) and event.status == "sent":
            what = f"notification #{event.notify} ({event.on}, {event.target}) sent"
            self.app.notify(f"{what} in {event.duration:.1f} s", timeout=4, markup=False)
        elif isinstance(event, ev.NotificationResult):
            what = f"notification #{event.notify} ({event.on}, {event.target}) {event.status}"
            if self.current:
                self.note(self.current, f"[yellow]{escape(what)}[/]: {escape(event.message)}")
            self.app.notify(f"{what}: {event.message}", severity="warning", markup=False)
        elif isinstance(event, ev.AnsibleResult) and event.status in ("failed", "unreachable"):
            where = f"{escape(event.host)} · {escape(event.task)}"
            self.note(event.step_key, f"[b red]{event.status}[/] {where}: {escape(event.message)}")
        elif isinstance(event, ev.AnsibleRecap):
            for host, c in event.hosts.items():
                counts = " ".join(f"{k}={v}" for k, v in c.items() if v)
                self.note(event.step_key, f"{escape(host)}: {escape(counts) or 'nothing'}")
            if event.unfinished:
                hosts = escape(", ".join(event.unfinished))
                self.note(event.step_key, f"[b #ff87ff]not finished (outcome unknown)[/]: {hosts}")
        elif isinstance(event, ev.Interrupted | ev.ErrorEvent):
            text = event.reason if isinstance(event, ev.Interrupted) else event.message
            if event.step_key:
                self.note(event.step_key, f"[b red]{escape(text)}[/]")
            self.app.notify(
                text,
                severity="warning" if isinstance(event, ev.Interrupted) else "error",
                markup=False,
            )

    def gate(self, event: ev.GateEvaluated) -> None:
        value = "?" if event.value is None else str(event.value)
        state = "[green]holds[/]" if event.holds else "[yellow]waiting[/]"
        err = f" [red]{escape(event.error)}[/]" if event.error else ""
        line = f"{event.probe} = {value} · {state} · {event.streak}/{event.needed}{err}"
        notes = self.notes.setdefault(event.step_key, [])
        if notes and notes[-1].startswith(f"{event.probe} = "):
            notes[-1] = line
        else:
            notes.append(line)
        self.refresh_notes(event.step_key)

    def approval_event(self, event: ev.ApprovalGranted | ev.ApprovalRefused) -> None:
        wait = self.approvals.get(event.step_key)
        if wait is not None:
            wait.take(event)
            self.refresh_approval(event.step_key)
        if isinstance(event, ev.ApprovalGranted):
            self.app.notify(f"{event.principal} approved {event.step_key}", markup=False)

    def approval_shown(self, event: ev.StepShown) -> None:
        """In rehearsal an approval step says, before it is confirmed, that it would wait."""
        planned = self.planned(event.step_key)
        if event.kind != "approval" or planned is None or self.app.mode != "rehearsal":  # type: ignore[attr-defined]
            return
        step = planned.step
        self.approvals[event.step_key] = ApprovalWait.rehearsed(
            event.step_key, list(step.approvers), int(step.min)
        )

    def approval_finished(self, event: ev.StepFinished) -> None:
        wait = self.approvals.get(event.step_key)
        if wait is not None and wait.waiting:
            wait.take(event)
            self.refresh_approval(event.step_key)

    def tick_approval(self) -> None:
        """The time left of the wait in view."""
        key = self.viewing or self.current
        wait = self.approvals.get(key) if key else None
        if wait is not None and wait.waiting:
            self.refresh_approval(wait.step_key)

    def refresh_approval(self, step_key: str) -> None:
        if step_key == (self.viewing or self.current):
            self.show_approval(step_key)

    def show_approval(self, step_key: str) -> None:
        wait = self.approvals.get(step_key)
        box = self.query_one("#approval", Static)
        box.update(wait.markup() if wait else "")
        box.display = wait is not None

    def note(self, step_key: str, text: str) -> None:
        self.notes.setdefault(step_key, []).append(text)
        self.refresh_notes(step_key)

    def refresh_notes(self, step_key: str) -> None:
        if step_key == (self.viewing or self.current):
            self.query_one("#notes", Static).update("\n".join(self.notes.get(step_key, [])))

    # ---- output -------------------------------------------------------------------------
    def start_output(self, event: ev.StepStarted) -> None:
        key = event.step_key
        self.output_owner = key
        title = self.plan.get(key, {}).get("title", key)
        sim = " (simulated)" if event.simulated else ""
        attempt = f" · attempt {event.attempt}" if event.attempt > 1 else ""
        self.output_titles[key] = f"Output: {title}{sim}{attempt}"
        self.outputs[key] = deque(maxlen=BATCH_LINES)  # a new attempt: its own output
        if (self.viewing or self.current) == key or self.shown_output is None:
            self.show_output(key)

    def show_batch(self, batch: OutputBatch) -> None:
        """An ansible step's results and the output lines since the last frame: the grid and
        the notes are redrawn once for all of them."""
        if batch.events:
            if not self.is_mounted:
                self.early.extend(batch.events)
            else:
                self.stream(batch.events)
        if batch.chunks or batch.dropped:
            self.write_output(batch.chunks, batch.dropped)

    def stream(self, events: list[ev.Event]) -> None:
        noted: set[str] = set()
        for event in events:
            self.grid.handle(event, show=False)
            if isinstance(event, ev.AnsibleResult) and event.status in ("failed", "unreachable"):
                where = f"{escape(event.host)} · {escape(event.task)}"
                text = f"[b red]{event.status}[/] {where}: {escape(event.message)}"
                self.notes.setdefault(event.step_key, []).append(text)
                noted.add(event.step_key)
        self.grid.show()
        for step_key in noted:
            self.refresh_notes(step_key)

    def write_output(self, chunks: list[tuple[str, list[str]]], dropped: int) -> None:
        log = self.query_one("#output", Log)
        width = log.scrollable_content_region.width or log.size.width
        if dropped and self.output_owner is not None:
            note = f"… {dropped} lines not shown here (all are in the audit log)"
            self.outputs.setdefault(self.output_owner, deque(maxlen=BATCH_LINES)).append(note)
            if self.shown_output == self.output_owner:
                log.write_line(note)
        for key, lines in chunks:
            self.outputs.setdefault(key, deque(maxlen=BATCH_LINES)).extend(lines)
            if key == self.shown_output:
                log.write_lines(wrap_lines(lines, width))
                self.fresh_output = self.fresh_output or bool(lines)

    def show_output(self, step_key: str) -> None:
        """Show `step_key`'s own output (the last lines this session saw of its last attempt)."""
        log = self.query_one("#output", Log)
        log.clear()
        self.shown_output = step_key
        lines = self.outputs.get(step_key)
        title = self.output_titles.get(step_key)
        if title is None:
            name = self.plan.get(step_key, {}).get("title", step_key)
            title = f"Output: {name}"
        if not lines and self.running != step_key:
            title += " · no output"
        log.border_title = title
        log.border_subtitle = ""
        if lines:
            width = log.scrollable_content_region.width or log.size.width
            log.write_lines(wrap_lines(lines, width))

    @property
    def audit_path(self) -> Path | None:
        session = getattr(self.app, "session", None)
        return None if session is None else session.audit_path

    @work(thread=True, exclusive=True, group="earlier-states", exit_on_error=False)
    def load_earlier_states(self, path: Path) -> None:
        """A resumed run: the steps that finished before it show as they ended, not pending."""
        from annotui.audit.errors import AuditError
        from annotui.audit.reader import load_run_state

        try:
            finished = load_run_state(path).finished
        except AuditError:
            return  # the engine reports an unreadable log itself
        self.app.call_from_thread(self._earlier_states, finished)

    def _earlier_states(self, finished: dict[str, str]) -> None:
        steps = self.query_one(StepList)
        for key, outcome in finished.items():
            if steps.states.get(key, "pending") == "pending":
                steps.set_state(key, outcome)
                self.notes.setdefault(key, []).insert(
                    0, f"[dim]{escape(outcome)} before this run was resumed[/]"
                )

    @work(thread=True, exclusive=True, group="earlier-output", exit_on_error=False)
    def load_earlier_output(self, path: Path, step_key: str) -> None:
        """A step of this log that ran before this process: its output, read from the log."""
        from screens.step_output import last_attempt_output

        found = last_attempt_output(path, step_key, BATCH_LINES)
        self.app.call_from_thread(self._earlier_output, step_key, found)

    def _earlier_output(self, step_key: str, found: object) -> None:
        from screens.step_output import StepOutput

        if not isinstance(found, StepOutput) or step_key in self.outputs or not found.attempt:
            return
        lines = deque(found.lines, maxlen=BATCH_LINES)
        if found.total > len(found.lines):
            lines.appendleft(f"… {found.total - len(found.lines)} earlier lines in the audit log")
        self.outputs[step_key] = lines
        name = self.plan.get(step_key, {}).get("title", step_key)
        self.output_titles[step_key] = f"Output: {name} · before the resume"
        if self.shown_output == step_key:
            self.show_output(step_key)

    def hold_question(self) -> None:
        """A question waits so the output above stays readable: say how to get to it."""
        log = self.query_one("#output", Log)
        log.border_subtitle = "Enter: next question"
        self.refresh_bindings()

    def question_opened(self) -> None:
        self.fresh_output = False
        self.query_one("#output", Log).border_subtitle = ""

    # ---- the step view ------------------------------------------------------------------
    def render_step(self, step_key: str) -> None:
        self.grid.follow(step_key)
        info = self.shown.get(step_key)
        spec = self.plan.get(step_key, {})
        planned = self.planned(step_key)
        title = info.title if info else str(spec.get("title", step_key))
        kind = info.kind if info else str(spec.get("kind", ""))
        host = info.host if info else spec.get("host")
        cwd = info.cwd if info else spec.get("cwd")
        command = info.command if info else spec.get("command")
        critical = info.critical if info else bool(spec.get("critical"))
        changes = info.changes if info else bool(spec.get("mutating"))
        simulated = info.simulated if info else False
        viewing = step_key != self.current
        head = f"[b]{escape(title)}[/b]  [dim]{escape(step_key)}[/dim]"
        if viewing:
            head += "\n[reverse] VIEWING ONLY [/reverse] the run is at another step: press c"
        self.query_one("#step-title", Static).update(head)
        marks = [KIND_LABELS.get(kind, kind)]
        if host:
            marks.append(f"host [b]{escape(str(host))}[/b]")
        if cwd:
            marks.append(f"cwd [b]{escape(str(cwd))}[/b]")
        if changes:
            marks.append("[b red]CHANGES THE TARGET[/]")
        if critical:
            marks.append("[b magenta]CRITICAL[/]")
        if simulated:
            marks.append("[b #87afff]SIMULATED (rehearsal)[/]")
        if info and info.confirm_word:
            marks.append(f"confirm by typing [b]{escape(info.confirm_word)}[/b]")
        self.query_one("#step-meta", Static).update(" · ".join(marks))
        cmd = self.query_one("#command", Static)
        cmd.update(escape(str(command)) if command else "")
        cmd.display = bool(command)
        self.show_approval(step_key)
        stage = self.stage_titles.get(step_key)
        if stage:
            self.query_one("#center").border_title = stage
        text = planned.instructions if planned else ""
        md = self.query_one("#instructions", Static)
        if planned is not None and planned.kind == "announce":
            # its instructions, then its text as it is to be posted (plain, line for line), once
            # the engine rendered it
            posted = (
                Text(for_terminal(self.announcement))
                if self.announcement
                else Text("the text is rendered from the run's vars when the step runs", "dim")
            )
            md.update(Group(Markdown(text), Rule(style="dim"), posted) if text else posted)
            md.display = True
        else:
            md.update(Markdown(text) if text else "")
            md.display = bool(text)
        self.query_one("#notes", Static).update("\n".join(self.notes.get(step_key, [])))
        self.query_one("#step-view", VerticalScroll).scroll_home(animate=False)

    def view_step(self, step_key: str) -> None:
        """Show another step (read-only) with its own output; the engine's order still decides
        what runs."""
        if step_key not in self.plan:
            return
        self.viewing = None if step_key == self.current else step_key
        self.render_step(step_key)
        self.query_one(StepList).show_current(step_key)
        output = step_key
        if self.viewing is None and step_key not in self.outputs and self.output_owner:
            output = self.output_owner  # the current step has none yet: the last output
        if output != self.shown_output:
            self.show_output(output)
        if output not in self.outputs and self.resumed and self.audit_path is not None:
            self.load_earlier_output(self.audit_path, output)

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        if event.option.id:
            self.view_step(event.option.id)

    def on_option_list_option_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        # moving through the list views each step (Enter is the question's while one waits)
        key = event.option.id
        if key and self.focused is event.option_list and key != (self.viewing or self.current):
            self.view_step(key)

    # ---- actions ------------------------------------------------------------------------
    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "answer":
            # in the footer only while a question waits; otherwise Enter selects in the list
            return bool(self.app.question_waiting())  # type: ignore[attr-defined]
        return True

    def action_answer(self) -> None:
        if self.app.question_waiting():  # type: ignore[attr-defined]
            self.app.reopen_question()  # type: ignore[attr-defined]
        elif isinstance(self.focused, StepList):
            self.focused.action_select()

    def action_current(self) -> None:
        if self.current:
            self.view_step(self.current)

    def action_focus_list(self) -> None:
        self.query_one(StepList).focus()

    def action_focus_output(self) -> None:
        self.query_one("#output", Log).focus()
