"""`CockpitApp`: Welcome -> Variables -> the walk -> Summary, with the engine in a thread worker.

The app owns the run's plumbing: the Session runs in a thread worker with its own asyncio loop;
events arrive as typed messages through the `EventBridge`; questions arrive from the
`TuiOperator` and are answered from modals. The status poller runs on the engine loop (it shares
the run's transports and supervisor clients) and posts snapshots.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import os
import shlex
import threading
import time
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

from textual import work
from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.events import Resize
from textual.notifications import SeverityLevel
from textual.screen import Screen

from annotui.signals import stop_on_signals
from screens.messages import (
    EngineEvent,
    OperatorAsk,
    OutputBatch,
    OutputReady,
    SessionDone,
    StatusUpdate,
)
from screens.widgets.banner import Banner
from screens.widgets.status_panel import StatusPanel

if TYPE_CHECKING:
    from annotui import events as ev
    from annotui.checklist.loader import LoadedChecklist
    from annotui.engine.options import RunOptions
    from annotui.engine.planned import PlannedStep
    from annotui.engine.session import Session
    from annotui.status.poller import Poller, Snapshot
    from screens.bridge import EventBridge
    from screens.modals import AskModal, YesNoModal
    from screens.operator import TuiOperator
    from screens.question import Question
    from screens.walk import WalkScreen

NARROW = 100
"""Below this many columns the status panel is a strip under the screen's panes (t hides it)."""
ABANDON_ENGINE = 30.0
"""Seconds the engine gets to stop after SIGHUP/SIGTERM before the process ends itself."""
ABANDON_GRACE = {"SIGTERM": 5.0, "SIGHUP": 1.0}
"""Seconds Textual then gets to exit on its own: after SIGTERM it puts a terminal that is still
there back as it was; after SIGHUP there is none (a dropped session, tmux kill-server), and
Textual's exit can hang writing to it."""
OUTPUT_FRAME = 0.1
"""Seconds between two writes of streamed output to the screen."""


class CockpitApp(App[int]):
    TITLE = "annotui"
    CSS_PATH = ["app.tcss", "welcome.tcss"]
    """welcome.tcss too: the Welcome is the default screen, and Textual reads a default screen's
    styles only from the app (a pushed screen's CSS_PATH is read, and everything re-parsed and
    restyled, when it is pushed)."""
    BINDINGS = [
        Binding("ctrl+c", "interrupt", "Stop", priority=True, show=False),
        Binding("ctrl+q", "request_quit", "Quit", priority=True, show=False),
        Binding("q", "request_quit", "Quit"),
        Binding("question_mark,f1", "help", "Help"),
        Binding("t", "toggle_status", "Status"),
    ]

    def __init__(
        self,
        checklist: str,
        options: RunOptions,
        *,
        clock: Callable[[], float] = time.time,
        operator_name: str | None = None,
        status_every: float = 5.0,
    ) -> None:
        super().__init__()
        self.checklist_arg = checklist
        self.options = options
        self.clock = clock
        self.operator_name = operator_name
        self.status_every = status_every
        """Seconds between supervisord polls (probes keep their own `every`)."""
        self.loaded: LoadedChecklist | None = None
        self.session: Session | None = None
        self.bridge: EventBridge | None = None
        self.engine_loop: asyncio.AbstractEventLoop | None = None
        self.poller: Poller | None = None
        self._poller_stop: asyncio.Future[None] | None = None
        self.question: Question | None = None
        self.operator: TuiOperator | None = None
        self.question_open = False
        self.question_modal: AskModal[object] | None = None
        self._held_toasts: list[tuple[str, str, SeverityLevel, float | None, bool]] = []
        self.cancel_modal: YesNoModal | None = None
        """The open "Cancel the running step?" question, if any."""
        self.ended: ev.SessionEnded | None = None
        self.step_running: str | None = None
        self.stopping = False
        self.interrupted_by: str | None = None
        """SIGHUP or SIGTERM, when one stopped the cockpit."""
        self.on_abandon: list[Callable[[], object]] = []
        """Run before the process ends itself after SIGHUP/SIGTERM (see `_abandon_watch`)."""
        self.exit_code: int | None = None
        self.error: str | None = None
        self.announcement: str | None = None
        self.environment = ""
        self.status_snapshot: Snapshot | None = None
        self.status_visible = True
        """The operator's toggle (t): shown at first, at every width."""
        self.status_strip = False
        """The panel is a strip under the panes (below NARROW columns), not a column."""
        self.walk: WalkScreen | None = None
        self.place = ""
        """What the run changes when it is not the checklist's real target: the banner says so
        ('the local sandbox' for `annotui demo`)."""
        self.resumable = True
        """False for the demo: its sandbox goes away on exit, so quitting must not offer resume."""
        self._output_shown = 0.0
        """When output was last written to the screen (time.monotonic)."""

    # ---- screens ------------------------------------------------------------------------
    def get_default_screen(self) -> Screen:
        """The Welcome, as the first screen: no empty default screen to compose and then cover.

        It is created once the driver knows the terminal's size, so the status panel starts
        shown or hidden for that size.
        """
        from screens.welcome import WelcomeScreen

        self.status_strip = self.size.width < NARROW
        return WelcomeScreen()

    def on_mount(self) -> None:
        # A dropped SSH session (SIGHUP) or a kill (SIGTERM) stops the run as a quit does: the
        # running command is stopped, the step recorded, the lock released; then exit 3.
        with contextlib.suppress(ValueError):  # not the main thread (a test's app)
            stop_on_signals(asyncio.get_running_loop(), self.on_terminal_signal)
        if os.environ.get("ANNOTUI_EXIT_AFTER_FIRST_FRAME") == "1":
            self.call_after_refresh(self.exit)  # bench/bench_ui.py: start to first frame

    @property
    def mode(self) -> str:
        return "rehearsal" if self.options.rehearse else "live"

    @property
    def running(self) -> bool:
        return self.session is not None and self.exit_code is None

    def make_banner(self) -> Banner:
        title = self.loaded.model.checklist.id if self.loaded else ""
        return Banner(self.mode, self.environment, title, self.place)

    def refresh_banners(self) -> None:
        title = self.loaded.model.checklist.id if self.loaded else ""
        for screen in self.screen_stack:
            for banner in screen.query(Banner):
                banner.mode = self.mode
                banner.environment = self.environment
                banner.checklist = title

    def checklist_chosen(self, loaded: LoadedChecklist) -> None:
        """Welcome is done: vars next, or straight to the walk when resuming."""
        from screens.variables import VariablesScreen

        self.loaded = loaded
        self.refresh_banners()
        if self.options.resume:
            self.start_session()
        else:
            self.push_screen(VariablesScreen(loaded))

    def start_session(self, form_vars: dict[str, str] | None = None) -> None:
        # The engine side is imported only now, after the Welcome screen's first frame.
        from annotui.engine.session import Session  # asyncio, audit, transports
        from screens.bridge import EventBridge
        from screens.operator import TuiOperator
        from screens.walk import WalkScreen

        assert self.loaded is not None
        if self.interrupted_by is not None:
            return  # SIGHUP/SIGTERM came before Start was handled: nothing starts (exit 3)
        if form_vars:
            self.options.cli_vars = {**self.options.cli_vars, **form_vars}
        self.environment = self.options.cli_vars.get("environment", self.environment)
        operator = self.operator = TuiOperator(self.post_message, self.operator_name)
        bridge = self.bridge = EventBridge(self.post_message)
        self.session = Session(self.loaded, self.options, operator, [bridge, self._engine_sink])
        self.walk = WalkScreen(self.planned_step)
        if len(self.screen_stack) > 1:  # in place of the Variables form
            self.switch_screen(self.walk)
        else:  # resuming: above the Welcome, which stays the first screen
            self.push_screen(self.walk)
        # What is alive now (Textual, the screens, the plan) lives as long as the run: keep it out
        # of the collector's full passes, and start them 10x less often (rendering allocates
        # many short-lived objects that reference counting frees anyway). While output floods
        # in, a full pass came every few frames and took ~80 ms: a keypress's whole budget.
        gc.collect()
        gc.freeze()
        gc.set_threshold(7000)
        self.run_engine(self.session)

    def planned_step(self, key: str) -> PlannedStep | None:
        plan = self.session.plan if self.session else None
        for stage in plan or []:
            for step in [*stage.steps, *stage.rollback]:
                if step.key == key:
                    return step
        return None

    # ---- the engine thread ----------------------------------------------------------------
    @work(thread=True, exclusive=True, group="engine", exit_on_error=False)
    def run_engine(self, session: Session) -> None:
        from annotui.engine.errors import AuditLost, SessionError

        try:
            code = asyncio.run(self._engine_main(session))
        except SessionError as e:
            self.post_message(SessionDone(2, str(e)))
        except AuditLost as e:  # the log cannot be written: the run and its command were stopped
            self.post_message(SessionDone(4, str(e)))
        except Exception as e:  # the engine crashed: say so, never lose the log's place
            self.post_message(SessionDone(2, f"internal error: {type(e).__name__}: {e}"))
        else:
            self.post_message(SessionDone(code))

    async def _engine_main(self, session: Session) -> int:
        self.engine_loop = asyncio.get_running_loop()
        if self.interrupted_by is not None:
            # SIGHUP/SIGTERM came before this loop existed (its stop request had nowhere to
            # go): stop as soon as the run starts, recorded like any interruption
            self.engine_loop.call_soon(session.request_stop, f"{self.interrupted_by} received")
        return await session.run()

    def _engine_sink(self, event: ev.Event) -> None:
        """Runs on the engine thread: starts and stops the status poller with the run."""
        from annotui import events as ev

        if isinstance(event, ev.RunPlanned) and self.session is not None:
            from annotui.status.poller import Poller
            from annotui.status.supervisor import SupervisorPool

            s = self.session
            pool = s.supervisors or SupervisorPool({}, s.transports)
            self.poller = Poller(
                s.probes,
                pool,
                s.transports,
                supervisor_every=self.status_every,
                on_update=lambda snap: self.post_message(StatusUpdate(snap)),
            )
            self.poller.start()
            self.post_message(StatusUpdate(self.poller.snapshot()))
        elif isinstance(event, ev.SessionEnded) and self.poller is not None:
            poller, self.poller = self.poller, None
            self._poller_stop = asyncio.ensure_future(poller.stop())

    def on_engine_event(self, message: EngineEvent) -> None:
        from annotui import events as ev

        event = message.event
        if isinstance(event, ev.StageStarted):
            self.stage_environment(event.stage_key)
        elif isinstance(event, ev.StepStarted):
            self.step_running = event.step_key
        elif isinstance(event, ev.StepFinished):
            self.step_running = None
            self.close_stale_cancel(event.step_key)
        elif isinstance(event, ev.Announcement):
            self.announcement = event.text
        elif isinstance(event, ev.SessionEnded):
            self.ended = event
        if self.walk is not None:
            self.walk.handle(event)

    def stage_environment(self, stage_key: str) -> None:
        plan = self.session.plan if self.session else None
        for stage in plan or []:
            if stage.key == stage_key:
                self.environment = stage.values.get("environment", "")
                self.refresh_banners()

    def on_output_ready(self, message: OutputReady) -> None:
        # Output is shown at most every OUTPUT_FRAME: during a flood each write costs a full
        # frame, and a UI that is never idle answers keys late. Lines wait in the bridge (one
        # message in flight, the last BATCH_LINES kept); other events flush them in order.
        wait = self._output_shown + OUTPUT_FRAME - time.monotonic()
        if wait > 0:
            self.set_timer(wait, lambda: self._show_output(message.generation))
        else:
            self._show_output(message.generation)

    def _show_output(self, generation: int) -> None:
        if self.bridge is None:
            return
        batch = self.bridge.drain(generation)
        if self.walk is not None and (batch.chunks or batch.dropped or batch.events):
            self._output_shown = time.monotonic()
            self.walk.show_batch(batch)

    def on_output_batch(self, message: OutputBatch) -> None:
        if self.walk is not None:
            self.walk.show_batch(message)

    def on_status_update(self, message: StatusUpdate) -> None:
        self.status_snapshot = message.snapshot
        for panel in self.all_panels():
            panel.show_snapshot(message.snapshot)

    def on_session_done(self, message: SessionDone) -> None:
        from screens.summary import SummaryScreen

        self.exit_code = message.exit_code
        self.error = message.error
        self.step_running = None
        if self.stopping:
            self.exit(message.exit_code)
            return
        self.push_screen(SummaryScreen())

    # ---- questions ------------------------------------------------------------------------
    def on_operator_ask(self, message: OperatorAsk) -> None:
        self.question = message.question
        if self.stopping:
            message.question.answer(message.question.quit_answer())
            return
        walk = self.walk
        if walk is not None and walk.fresh_output and self.screen is walk:
            # the output of the step that just ran stays readable: the question waits for Enter
            walk.hold_question()
            return
        self.open_question()

    def question_waiting(self) -> bool:
        """A question of the engine is pending and its dialog is not open (Enter opens it)."""
        q = self.question
        return q is not None and not q.answered and not self.question_open

    def open_question(self) -> None:
        from screens.modals import question_modal

        q = self.question
        if q is None or q.answered or self.question_open:
            return
        self.question_open = True

        def answered(result: object) -> None:
            self.question_open = False
            self.question_modal = None
            if result is None:
                if self.walk is not None:
                    self.walk.hold_question()  # says: Enter answers when ready
                return
            if self.question is q:
                self.question = None
            q.answer(result)

        self.question_modal = question_modal(q.kind, q.step, q.error, q.data)
        if self.walk is not None:
            self.walk.question_opened()
        self.push_screen(self.question_modal, answered)

    def reopen_question(self) -> None:
        if self.question is not None and not self.question.answered:
            self.open_question()

    # ---- stop, cancel, quit ---------------------------------------------------------------
    def action_interrupt(self) -> None:
        from screens.modals import YesNoModal

        asking = self.cancel_modal
        if asking is not None and asking.is_active:
            asking.action_yes()  # a second Ctrl+C while it asks: cancel (as in plain mode)
            return
        if self.step_running and self.session is not None:
            key = self.step_running

            def decided(cancel: bool | None) -> None:
                self.cancel_modal = None
                if cancel and self.step_running == key:
                    self.call_engine(self.session.cancel_step if self.session else None)

            self.cancel_modal = YesNoModal(
                "Cancel the running step?",
                f"[b]{key}[/b] is running. Cancel it now? The cancel is recorded; "
                "you then choose to retry, skip or stop. (Ctrl+C again: cancel)",
            )
            self.push_screen(self.cancel_modal, decided)
            return
        self.action_request_quit()

    def close_stale_cancel(self, step_key: str) -> None:
        """The step a cancel question is about has finished: the question is gone with it, never
        left behind to surface over the next step's question."""
        asking = self.cancel_modal
        if asking is not None and f"[b]{step_key}[/b]" in asking.text:
            self.cancel_modal = None
            asking.dismiss_stale()

    def record_refused(self, step_key: str, action: str) -> None:
        """The operator tried what a step refuses (skipping a critical one): the engine records
        it (the question stays open)."""
        session = self.session
        if session is not None:
            reason = "the step is critical and cannot be skipped"
            self.call_engine(lambda: session.refuse(step_key, action, reason))

    def call_engine(self, fn: Callable[[], object] | None) -> None:
        if fn is not None and self.engine_loop is not None and not self.engine_loop.is_closed():
            self.engine_loop.call_soon_threadsafe(fn)

    def resume_command(self) -> str:
        if self.session is None:
            return ""
        parts = ["annotui", "run", self.checklist_arg]
        if self.options.rehearse:
            parts.append("--rehearse")
        if self.options.vars_file:
            parts += ["--vars-file", str(self.options.vars_file)]
        parts += ["--resume", "--audit", str(self.session.audit_path)]
        return shlex.join(parts)

    def action_request_quit(self) -> None:
        from screens.modals import YesNoModal

        if isinstance(self.screen, YesNoModal):
            return
        if not self.running:
            self.exit(self.exit_code if self.exit_code is not None else 0)
            return

        def decided(stop: bool | None) -> None:
            if stop:
                self.stop_run()

        later = (
            f"can be resumed later with:\n[b]{self.resume_command()}[/b]"
            if self.resumable
            else "is kept in its audit log; the demo's sandbox is removed on exit, so this run "
            "cannot be resumed"
        )
        self.push_screen(
            YesNoModal(
                "Stop the run?",
                f"The run stops safely (a running step is stopped and recorded) and {later}",
            ),
            decided,
        )

    def on_terminal_signal(self, name: str) -> None:
        """SIGHUP or SIGTERM: stop safely without asking anyone (nobody may be watching)."""
        self.interrupted_by = name
        threading.Thread(target=self._abandon_watch, name="annotui-hangup", daemon=True).start()
        if not self.running:
            self.exit(3)
            return
        self.stopping = True
        self.stop_engine(f"{name} received")

    def _abandon_watch(self) -> None:
        """After SIGHUP/SIGTERM the terminal may be gone, and Textual cannot always shut down
        without one. Give the engine time to stop and record the step, and Textual time to
        exit; then run the cleanups (the demo's sandbox) and end the process with exit 3. The
        log is closed by then: the session ended, or never started."""
        deadline = time.monotonic() + ABANDON_ENGINE
        while self.running and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(ABANDON_GRACE.get(self.interrupted_by or "", 5.0))
        for cleanup in self.on_abandon:
            with contextlib.suppress(Exception):
                cleanup()
        os._exit(3)

    def stop_run(self) -> None:
        self.stopping = True
        self.stop_engine("stopped by the operator (quit)")
        self.call_later(self._close_question_modal)

    def stop_engine(self, reason: str) -> None:
        """Let the engine stop safely: a pending question gets its quit answer, anything else
        (a running step, a gate) is stopped and recorded; the log stays resumable."""
        q = self.question or (self.operator.pending if self.operator else None)
        if q is not None and not q.answered:
            q.answer(q.quit_answer())
        elif self.running and self.session is not None:
            session = self.session
            self.call_engine(lambda: session.request_stop(reason))

    def on_unmount(self) -> None:
        # Closing the app any other way must not leave the engine thread waiting for an answer.
        if self.running:
            self.stop_engine("the cockpit closed")

    def _close_question_modal(self) -> None:
        modal = self.question_modal
        if modal is not None and modal in self.screen_stack:
            while self.screen_stack[-1] is not modal:
                self.pop_screen()
            self.pop_screen()
        self.question_modal = None
        self.question_open = False

    # ---- notifications ----------------------------------------------------------------------
    def notify(
        self,
        message: str,
        *,
        title: str = "",
        severity: SeverityLevel = "information",
        timeout: float | None = None,
        markup: bool = True,
    ) -> None:
        """A toast, never over a question: while one is open it waits until it closes."""
        from screens.modals import AskModal

        if isinstance(self.screen, AskModal):
            self._held_toasts.append((message, title, severity, timeout, markup))
            return
        super().notify(message, title=title, severity=severity, timeout=timeout, markup=markup)

    def release_toasts(self) -> None:
        """Show the toasts held while a question was open (called when one closes)."""
        held, self._held_toasts = self._held_toasts, []
        for message, title, severity, timeout, markup in held:
            self.notify(message, title=title, severity=severity, timeout=timeout, markup=markup)

    # ---- panels, help, palette --------------------------------------------------------------
    def all_panels(self) -> Iterable[StatusPanel]:
        for screen in self.screen_stack:
            yield from screen.query(StatusPanel)

    def on_resize(self, event: Resize) -> None:
        strip = event.size.width < NARROW
        if strip != self.status_strip:
            self.status_strip = strip
            self.apply_status_visibility(self.status_visible)

    def apply_status_visibility(self, visible: bool) -> None:
        self.status_visible = visible
        # Only the panel in view: restyling one on a screen below lays that screen out again and
        # repaints the whole top screen (Textual keeps the screen below the top one "current").
        # The others sync when their screen comes back (StatusPanel.sync).
        for panel in self.screen.query(StatusPanel):
            panel.sync()

    def action_toggle_status(self) -> None:
        self.apply_status_visibility(not self.status_visible)

    def action_help(self) -> None:
        from screens.help import HelpScreen

        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen())

    def action_audit_viewer(self) -> None:
        from screens.audit_viewer import AuditViewerScreen

        if self.session is None:
            self.notify("No audit log yet: start a run first.", severity="warning")
            return
        self.push_screen(AuditViewerScreen(self.session.audit_path))

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        yield SystemCommand("Help", "The keys of the cockpit", self.action_help)
        yield SystemCommand(
            "Toggle the status panel", "Show or hide the live status", self.action_toggle_status
        )
        if self.session is not None:
            yield SystemCommand(
                "Open the audit viewer",
                "The audit log of this run, read-only, following new records",
                self.action_audit_viewer,
            )
        walk = self.walk
        if walk is not None:
            for key, spec in walk.plan.items():
                yield SystemCommand(
                    f"Jump to step: {spec.get('title', key)} ({key.rpartition('/')[0]})",
                    f"View {key} (the engine's order still decides what runs)",
                    lambda key=key: self._jump(key),
                    discover=False,
                )
        yield SystemCommand(
            "Quit", "Stop safely (the run can be resumed)", self.action_request_quit
        )

    def _jump(self, key: str) -> None:
        from screens.modals import AskModal

        if self.walk is None or self.walk not in self.screen_stack:
            return
        while self.screen is not self.walk and not isinstance(self.screen, AskModal):
            self.pop_screen()
        self.walk.view_step(key)
