"""The reviewer's audit viewer: read-only, any log, following one that is still being written.

A verify banner (INTACT / BROKEN at line N / TORN tail), the timeline, filters by stage, step and
outcome, per-step detail (command, host, cwd, confirmation, evidence, output head and tail, the
expectation, supervisor before/after), the full output of a step paged from the file on demand,
and Markdown / HTML export through `annotui.audit.report`. All file I/O runs in thread workers; the
log is only ever opened for reading.
"""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any, ClassVar

from rich.text import Text
from textual import on, work
from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.screen import ModalScreen, Screen
from textual.widgets import Footer, Input, Label, Log, Select, Static

import annotui
from annotui.audit.errors import AuditError
from annotui.audit.verify import VerifyResult, verify
from annotui.text import one_line
from screens.audit_index import (
    Entry,
    LogIndex,
    LogReader,
    StepInfo,
    gate_text,
    read_output_page,
)
from screens.modals import OnceModal
from screens.sign import SignScreen
from screens.widgets.timeline import Timeline

POLL_SECONDS = 1.0
OUTPUT_PAGE = 2000
"""Lines of a step's output loaded at a time in the output view."""
FORMATS = {"markdown": ".md", "html": ".html"}
READ_BYTES = 256 << 10
"""Bytes indexed between two updates of the screen while a log is read."""
POST_SECONDS = 0.1
"""While a log is being indexed: how often the screen is told (the timeline's length)."""
REFRESH_SECONDS = 0.5
"""While a log is being indexed: how often a filtered view, the detail and the banner follow."""
OUTCOMES = (
    "ok", "done", "failed", "cancelled", "timeout", "unknown", "skipped", "would-run",
    "unverified", "running",
)  # fmt: skip
"""Offered by the outcome filter whether or not the log has them yet (and any other it has)."""
CHILD_VERIFY_FROM = 8 << 20
"""From this size on, a log is verified in a child process: in a thread of this one, `verify`
holds the GIL for seconds of CPU (a 1,000,000-event log: 3-4 s), and the reviewer's keys waited
for it (716 ms once)."""
_VERIFY_CHILD = """
import os, pickle, sys
os.nice(5)
from annotui.audit.errors import AuditError
from annotui.audit.verify import verify
try:
    answer = ("ok", verify(sys.argv[1]))
except AuditError as exc:
    answer = ("error", str(exc))
sys.stdout.buffer.write(pickle.dumps(answer))
"""
"""The child's program: its answer (a `VerifyResult`, or the `AuditError`'s text) pickled on
its stdout. At a lower priority: the screen's keys come first."""


class VerifyChild:
    """`verify(path)` in a child Python (this interpreter, this tree's `annotui`), which
    `stop` ends (a thread worker waiting for it cannot be cancelled)."""

    def __init__(self) -> None:
        self._proc: subprocess.Popen[bytes] | None = None
        self._stopped = False

    def run(self, path: Path) -> VerifyResult:
        """The verdict; raises AuditError as `verify` does, and when the child fails or was
        stopped."""
        env = dict(os.environ)
        root = str(Path(annotui.__file__).resolve().parent.parent)
        env["PYTHONPATH"] = os.pathsep.join(x for x in (root, env.get("PYTHONPATH")) if x)
        if self._stopped:
            raise AuditError("verification stopped")
        self._proc = proc = subprocess.Popen(
            [sys.executable, "-c", _VERIFY_CHILD, str(path)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
        )
        out, err = proc.communicate()
        if proc.returncode != 0 or not out:
            why = err.decode(errors="replace").strip().splitlines()[-1:] or ["no answer"]
            raise AuditError(f"verification failed: {one_line(why[0])}")
        kind, value = pickle.loads(out)  # our own child's answer
        if kind == "error":
            raise AuditError(str(value))
        assert isinstance(value, VerifyResult)
        return value

    def stop(self) -> None:
        self._stopped = True
        proc = self._proc
        if proc is not None and proc.poll() is None:
            proc.kill()


def write_report(log: Path, fmt: str, out: Path) -> Path:
    """Write a Markdown or HTML report of ``log`` to ``out`` (never to the log itself)."""
    from annotui.audit import report

    if out.exists() and out.samefile(log):
        raise ValueError("refusing to write the report over the audit log")
    with open(out, "w", encoding="utf-8") as f:  # streamed: the HTML holds the whole output
        report.write(log, fmt, f)
    return out


class OutputScreen(ModalScreen[None]):
    """The full output of one step, read page by page from the log."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q", "dismiss(None)", "Back"),
        Binding("n,pagedown", "page(1)", "Next page"),
        Binding("p,pageup", "page(-1)", "Previous page"),
    ]

    def __init__(self, path: Path, info: StepInfo) -> None:
        super().__init__()
        self.path = path
        self.step_key = info.key
        self.spans = list(info.output_spans)
        self.total = info.output_lines
        self.first = 0

    def compose(self) -> ComposeResult:
        with Vertical(id="output-box"):
            yield Static(id="output-title")
            yield Log(id="output-log", max_lines=OUTPUT_PAGE, auto_scroll=False)
            yield Footer()

    def on_mount(self) -> None:
        self._load()

    def action_page(self, delta: int) -> None:
        first = self.first + delta * OUTPUT_PAGE
        if 0 <= first < max(self.total, 1):
            self.first = first
            self._load()

    @work(thread=True, exclusive=True, group="output")
    def _load(self) -> None:
        lines = read_output_page(self.path, self.spans, self.first, OUTPUT_PAGE)
        self.app.call_from_thread(self._show, lines)

    def _show(self, lines: list[str]) -> None:
        last = self.first + len(lines)
        self.query_one("#output-title", Static).update(
            Text(f"{self.step_key}: output lines {self.first + 1}-{last} of {self.total}")
        )
        log = self.query_one("#output-log", Log)
        log.clear()
        log.write_lines(lines)
        log.scroll_home(animate=False)


class ExportScreen(OnceModal[Path | None]):
    """Ask where the report goes (prefilled next to the log)."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "dismiss(None)", "Cancel")]

    def __init__(self, fmt: str, default: Path) -> None:
        super().__init__()
        self.fmt = fmt
        self.default = default

    def compose(self) -> ComposeResult:
        with Vertical(id="export-box"):
            yield Label(f"Export a {self.fmt} report to (Enter writes, Esc cancels):")
            yield Input(str(self.default), id="export-path")

    @on(Input.Submitted, "#export-path")
    def _submitted(self, event: Input.Submitted) -> None:
        value = event.value.strip()
        self.dismiss(Path(value).expanduser() if value else None)


class AuditViewerScreen(Screen[None]):
    """Read-only reviewer mode for one audit log."""

    CSS_PATH = "audit_viewer.tcss"
    HORIZONTAL_BREAKPOINTS: ClassVar[list[tuple[int, str]] | None] = [
        (0, "-narrow"),
        (110, "-wide"),
    ]
    BINDINGS: ClassVar[list[BindingType]] = [
        # first, so that it is never cut off the footer at 80 columns
        Binding("q", "close", "Back"),
        Binding("q", "close_app", "Quit"),
        Binding("escape", "escape", "Back", show=False),
        Binding("slash", "filter", "Filter"),
        Binding("c", "clear_filters", "Clear"),
        Binding("o", "output", "Output"),
        Binding("m", "export('markdown')", "Markdown"),
        Binding("h", "export('html')", "HTML"),
        Binding("f", "toggle_follow", "Follow"),
        Binding("r", "reverify", "Verify"),
        Binding("s", "sign_off", "Sign off"),
        Binding("a", "approve", "Approve"),
        Binding("question_mark,f1", "viewer_help", "Help", show=False, priority=True),
    ]

    class Loaded(Message):
        """New records were folded into the index (posted from the reader thread)."""

        def __init__(
            self, changed: list[int], read: int, size: int, caught_up: bool = False
        ) -> None:
            super().__init__()
            self.changed = changed
            """Positions of entries that were there before and grew (folded output)."""
            self.read = read
            self.size = size
            self.caught_up = caught_up
            """True on the last message of one read: the file was read to its end."""

    class Verified(Message):
        def __init__(self, verdict: VerifyResult | None, error: str | None = None) -> None:
            super().__init__()
            self.verdict = verdict
            self.error = error

    def __init__(self, path: Path, *, follow: bool = True, poll: float = POLL_SECONDS) -> None:
        super().__init__()
        self.path = path
        self.follow = follow
        self.poll = poll
        self.index = LogIndex(path)
        self.verdict: VerifyResult | None = None
        self.last_export: Path | None = None
        self._reader = LogReader(path)
        self._lock = threading.Lock()
        self._reading = False
        self._verified_size = -1
        self._caught_up = False
        self._verifying = False
        self._verify_again = False
        self._refreshed = 0.0
        self._verify_child = VerifyChild()
        self._detail_line: int | None = -1
        """The log line whose detail is shown (None: no record), -1 before any."""

    # -- layout -------------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield Static(Text("checking…"), id="banner", classes="checking")
        yield Static("", id="proof-result")
        with Horizontal(id="filters"):
            yield Label("stage", classes="flabel")
            yield Select[str]([], prompt="any", id="f-stage", compact=True)
            yield Label("step", classes="flabel")
            yield Input(placeholder="any", id="f-step", compact=True)
            yield Label("outcome", classes="flabel")
            yield Select[str]([], prompt="any", id="f-outcome", compact=True)
            yield Static("", id="follow-state")
        with Horizontal(id="body"):
            yield Timeline(id="timeline")
            with VerticalScroll(id="detail"):
                yield Static(Text("Select a row to see its step."), id="detail-text")
        yield Footer()

    def on_mount(self) -> None:
        self._show_follow()
        timeline = self.query_one(Timeline)
        timeline.attach(self.index, self._lock)
        timeline.focus()
        self._reading = True
        self._read()
        self.set_interval(self.poll, self._tick)

    # -- reading and verifying (thread workers) ------------------------------------------------

    def _tick(self) -> None:
        if self.follow and not self._reading:
            self._reading = True
            self._read()

    @work(thread=True, group="read")
    def _read(self) -> None:
        try:
            size = self._reader.size()
            if size < self._reader.offset:
                self.post_message(self.Verified(None, "the log shrank: it was truncated"))
                return
            # the first batch at once (the first screen), then at most one message per
            # POST_SECONDS: each one costs the screen a frame, taken from the indexing
            posted = 0.0
            changed: list[int] = []
            while batch := self._reader.read_new(READ_BYTES):
                with self._lock:
                    changed.extend(self.index.add(batch)[1])
                if time.monotonic() - posted >= POST_SECONDS:
                    self.post_message(self.Loaded(changed, self._reader.offset, size))
                    changed, posted = [], time.monotonic()
            self.post_message(self.Loaded(changed, self._reader.offset, size, caught_up=True))
        except OSError as exc:
            self.post_message(self.Verified(None, f"cannot read the log: {exc.strerror or exc}"))
        finally:
            self._reading = False

    def _start_verify(self, size: int) -> None:
        if self._verifying:
            self._verify_again = True
            return
        self._verifying = True
        self._verified_size = size
        self._verify()

    @work(thread=True, group="verify")
    def _verify(self) -> None:
        try:
            if self._verified_size >= CHILD_VERIFY_FROM:
                self.post_message(self.Verified(self._verify_child.run(self.path)))
            else:
                self.post_message(self.Verified(verify(self.path)))
        except AuditError as exc:
            self.post_message(self.Verified(None, str(exc)))

    # -- applying results (UI thread) ----------------------------------------------------------

    @on(Loaded)
    def _loaded(self, message: Loaded) -> None:
        timeline = self.query_one(Timeline)
        before = timeline.row_count
        at_bottom = before > 0 and timeline.cursor_row >= before - 1
        now = time.monotonic()
        due = message.caught_up or before == 0 or now - self._refreshed >= REFRESH_SECONDS
        if self._filtering():
            if due:
                self._rebuild()
        else:
            timeline.grew(message.changed)
        if self._caught_up and self.follow and at_bottom:
            timeline.move_cursor(row=timeline.row_count - 1)
        if due:
            self._refreshed = now
            self._show_detail()
            self._refresh_filter_options()
            if self.verdict is None and not self._verifying and not message.caught_up:
                self._show_progress(message.read, message.size)
        if message.caught_up:
            self._caught_up = True
            if message.size != self._verified_size:
                self._start_verify(message.size)

    def _show_progress(self, read: int, size: int) -> None:
        with self._lock:
            records = self.index.records
        share = f"{100 * read // size}% " if size else ""
        self.query_one("#banner", Static).update(
            Text(f"checking… indexing {share}({records:,} records so far)")
        )

    @on(Verified)
    def _verified(self, message: Verified) -> None:
        self._verifying = False
        banner = self.query_one("#banner", Static)
        banner.remove_class("checking", "intact", "broken", "torn")
        if message.verdict is None:
            banner.add_class("broken")
            banner.update(Text(f"✘ CANNOT VERIFY: {message.error}"))
            self._verify_pending()
            return
        v = self.verdict = message.verdict
        name = self.path.name
        if v.torn_tail:
            banner.add_class("torn")
            banner.update(
                Text(
                    f"⚠ TORN TAIL after {v.records} intact records: last line incomplete "
                    f"(mid-write?)\nfinal hash {v.last_hash}"
                )
            )
        elif not v.ok:
            banner.add_class("broken")
            banner.update(
                Text(
                    f"✘ BROKEN at line {v.bad_line}: {v.reason}\n"
                    f"{name}: records before line {v.bad_line} verify; "
                    "from there on nothing can be trusted"
                )
            )
        else:
            banner.add_class("intact")
            end = "" if v.ended else "  · no session.end yet"
            banner.update(
                Text(f"✔ INTACT  {v.records} records  {name}{end}\nfinal hash {v.last_hash}")
            )
        timeline = self.query_one(Timeline)
        bad = None if v.ok else v.bad_line
        if bad != timeline.bad_line:
            timeline.bad_line = bad
            timeline.refresh()
        self._verify_pending()

    def _verify_pending(self) -> None:
        if self._verify_again:
            self._verify_again = False
            self._start_verify(self._reader.offset + len(self._reader.pending_tail))

    # -- filters -------------------------------------------------------------------------------

    def _stage_filter(self) -> str | None:
        value = self.query_one("#f-stage", Select).value
        return value if isinstance(value, str) else None

    def _outcome_filter(self) -> str | None:
        value = self.query_one("#f-outcome", Select).value
        return value if isinstance(value, str) else None

    def _step_filter(self) -> str:
        return self.query_one("#f-step", Input).value.strip()

    def _filtering(self) -> bool:
        return bool(self._stage_filter() or self._step_filter() or self._outcome_filter())

    def _refresh_filter_options(self) -> None:
        with self._lock:
            stages = list(self.index.stages)
            seen = self.index.outcomes()
        outcomes = [*OUTCOMES, *sorted(set(seen) - set(OUTCOMES))]
        for sel_id, values in (("#f-stage", stages), ("#f-outcome", outcomes)):
            select = self.query_one(sel_id, Select)
            if getattr(select, "_annotui_options", None) == values:
                continue
            current = select.value
            select.set_options([(v, v) for v in values])
            select._annotui_options = values  # type: ignore[attr-defined]
            if isinstance(current, str) and current in values:
                select.value = current

    def _rebuild(self) -> None:
        stage, step, outcome = self._stage_filter(), self._step_filter(), self._outcome_filter()
        with self._lock:
            view = self.index.view(stage, step, outcome)
        self.query_one(Timeline).show(view)  # its RowHighlighted shows the detail

    @on(Select.Changed)
    @on(Input.Changed, "#f-step")
    def _filters_changed(self) -> None:
        self._rebuild()

    @on(Input.Submitted, "#f-step")
    def _step_submitted(self) -> None:
        self.query_one(Timeline).focus()

    # -- detail --------------------------------------------------------------------------------

    @on(Timeline.RowHighlighted)
    def _highlighted(self) -> None:
        self._show_detail(force=False)

    def selected(self) -> tuple[Entry | None, StepInfo | None]:
        line = self.query_one(Timeline).current_line()
        with self._lock:
            pos = self.index.position_of(line) if line is not None else None
            entry = self.index.entry(pos) if pos is not None else None
            info = self.index.steps.get(entry.step_key) if entry and entry.step_key else None
        return entry, info

    def _show_detail(self, *, force: bool = True) -> None:
        """Show the selected row's detail; unless ``force``, only when the row is another (a
        filter that keeps the cursor's line costs no new layout of the detail pane)."""
        entry, info = self.selected()
        shown = entry.line if entry is not None else None
        if not force and shown == self._detail_line:
            return
        self._detail_line = shown
        detail = self.query_one("#detail-text", Static)
        if entry is None:
            detail.update(Text("No record selected."))
        elif info is None:
            detail.update(self._record_text(entry))
        else:
            with self._lock:
                detail.update(step_text(info))

    def _record_text(self, entry: Entry) -> Text:
        text = Text()
        text.append(f"line {entry.line}  {entry.ts}\n", style="dim")
        text.append(f"{entry.event}\n", style="bold")
        text.append(entry.summary + "\n")
        if entry.event == "session.start":
            for key, value in self.index.header.items():
                if key not in ("event", "seq", "ts"):
                    text.append(f"{key}: ", style="bold")
                    text.append(f"{value}\n")
        if entry.event == "session.end":
            from annotui.audit.outcomes import count

            # each step's last outcome, counted as the reports and the Summary count them
            counted = count(info.outcome for info in self.index.steps.values())
            text.append("steps: ", style="bold")
            text.append(counted.text() + "\n")
        return text

    # -- actions -------------------------------------------------------------------------------

    def action_filter(self) -> None:
        self.query_one("#f-step", Input).focus()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        # inside the cockpit q goes back to the run; `annotui review` on its own quits
        if action == "close":
            return not isinstance(self.app, ReviewApp)
        if action == "close_app":
            return isinstance(self.app, ReviewApp)
        if action in ("sign_off", "approve"):
            # the reviewer's own viewer only: not the operator's cockpit, and not a browser's
            # session (annotui review --serve holds no key and writes no file)
            return isinstance(self.app, ReviewApp) and not self.app.served
        return True

    def action_escape(self) -> None:
        """Esc: back to the timeline; from the timeline, back to the run (in the cockpit)."""
        timeline = self.query_one(Timeline)
        if self.focused is timeline and not isinstance(self.app, ReviewApp):
            self.action_close()
        else:
            timeline.focus()

    def action_close_app(self) -> None:
        self.action_close()

    def action_viewer_help(self) -> None:
        from screens.help import VIEWER_KEYS, HelpScreen

        if self.app.screen is self:
            self.app.push_screen(HelpScreen(VIEWER_KEYS))

    def action_clear_filters(self) -> None:
        self.query_one("#f-stage", Select).clear()
        self.query_one("#f-outcome", Select).clear()
        self.query_one("#f-step", Input).value = ""
        self._rebuild()

    def action_output(self) -> None:
        _entry, info = self.selected()
        if info is None or not info.output_spans:
            self.notify("The selected step has no output in the log.", severity="warning")
            return
        with self._lock:
            screen = OutputScreen(self.path, info)
        self.app.push_screen(screen)

    def action_toggle_follow(self) -> None:
        self.follow = not self.follow
        self._show_follow()
        if self.follow:
            self._tick()

    def on_unmount(self) -> None:
        self._verify_child.stop()
        with self._lock:
            self.index.close()

    def _show_follow(self) -> None:
        self.query_one("#follow-state", Static).update("following" if self.follow else "paused")

    def action_reverify(self) -> None:
        self._start_verify(self._reader.offset + len(self._reader.pending_tail))

    def action_export(self, fmt: str) -> None:
        default = self.path.with_name(self.path.name + ".report" + FORMATS[fmt])
        if getattr(self.app, "served", False):
            # in a browser (annotui review --serve): the report is downloaded from the page;
            # the served viewer writes no file
            self._deliver(fmt, default.name)
            return

        def chosen(out: Path | None) -> None:
            if out is not None:
                self._export(fmt, out)

        self.app.push_screen(ExportScreen(fmt, default), chosen)

    @work(thread=True, group="export")
    def _export(self, fmt: str, out: Path) -> None:
        try:
            written = write_report(self.path, fmt, out)
        except (OSError, ValueError) as exc:
            msg = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
            self.app.call_from_thread(
                self.notify, f"Export failed: {msg}", severity="error", timeout=10
            )
            return
        self.last_export = written
        self.app.call_from_thread(self.notify, f"Report written to {written}", timeout=10)

    @work(thread=True, group="export")
    def _deliver(self, fmt: str, filename: str) -> None:
        import io

        from annotui.audit import report

        try:
            text = report.render(self.path, fmt)
        except (OSError, ValueError) as exc:
            self.app.call_from_thread(self.notify, f"Report failed: {exc}", severity="error")
            return
        self.app.call_from_thread(self.app.deliver_text, io.StringIO(text), save_filename=filename)
        self.app.call_from_thread(self.notify, f"Report {filename} sent to the browser")

    # -- signing (annotui review): the code paths of `audit sign-off` and `audit approve` --------

    def _sign_key(self) -> str:
        app = self.app
        return (app.sign_with or "") if isinstance(app, ReviewApp) else ""

    def action_sign_off(self) -> None:
        what = (
            f"Signs the final seal of {self.path} with your key (namespace annotui-signoff) "
            f"into {self.path.name}.signoffs; the log itself is not changed."
        )

        def chosen(answer: tuple[str, str] | None) -> None:
            if answer is not None:
                self._result("signing off…", "busy")
                self._sign_off(*answer)

        self.app.push_screen(SignScreen("Sign off this log", what, self._sign_key()), chosen)

    @work(thread=True, exclusive=True, group="sign")
    def _sign_off(self, key: str, note: str) -> None:
        from annotui.audit.proof import sign_off_log

        try:
            done = sign_off_log(self.path, key, note)
        except AuditError as exc:
            self.app.call_from_thread(self._result, f"✘ NOT SIGNED OFF: {exc}", "failed")
            return
        self.app.call_from_thread(self._result, f"✔ {done}", "done")
        self.app.call_from_thread(self.action_reverify)

    def action_approve(self) -> None:
        _entry, info = self.selected()
        self._find_wait(info.key if info else None)

    @work(thread=True, exclusive=True, group="sign")
    def _find_wait(self, selected: str | None) -> None:
        from annotui.audit.approvals import open_waits

        try:
            waits = list(open_waits(self.path))
        except AuditError as exc:
            self.app.call_from_thread(self._result, f"✘ cannot read the log: {exc}", "failed")
            return
        step = selected if selected in waits else (waits[0] if len(waits) == 1 else None)
        if step is None:
            why = (
                "no step of this log is waiting for approval"
                if not waits
                else f"several steps wait ({', '.join(waits)}): select the one to approve"
            )
            self.app.call_from_thread(self._result, f"✘ nothing approved: {why}", "failed")
            return
        self.app.call_from_thread(self._ask_approval, step)

    def _ask_approval(self, step: str) -> None:
        what = (
            f"Approves {step}, which waits in the run of {self.path}: your signed approval "
            "(namespace annotui-approval) goes to the run, which checks it and goes on."
        )

        def chosen(answer: tuple[str, str] | None) -> None:
            if answer is not None:
                self._result(f"approving {step}…", "busy")
                self._approve(step, *answer)

        self.app.push_screen(SignScreen(f"Approve {step}", what, self._sign_key()), chosen)

    @work(thread=True, exclusive=True, group="sign")
    def _approve(self, step: str, key: str, note: str) -> None:
        from annotui.audit.approvals import approve

        try:
            done = approve(self.path, step, key, note)
        except AuditError as exc:
            self.app.call_from_thread(self._result, f"✘ NOT APPROVED: {exc}", "failed")
            return
        self.app.call_from_thread(self._result, f"✔ {done}", "done")

    def _result(self, text: str, state: str) -> None:
        """The outcome of a sign-off or an approval, kept on screen under the banner."""
        box = self.query_one("#proof-result", Static)
        box.remove_class("busy", "done", "failed")
        box.add_class(state)
        box.update(Text(one_line(text)))
        if state != "busy":
            self.notify(one_line(text), severity="error" if state == "failed" else "information")

    def action_close(self) -> None:
        if isinstance(self.app, ReviewApp):
            self.app.exit()
        else:
            self.dismiss()


def step_text(info: StepInfo) -> Text:
    """The per-step detail: what ran where, who confirmed, evidence, output, result."""
    t = Text()
    t.append(info.key, style="bold")
    t.append(f"  [{info.outcome}]", style=_outcome_style(info.outcome))
    if info.critical:
        t.append("  critical", style="bold red")
    t.append("\n")
    if info.title:
        t.append(info.title + "\n")
    if info.host or info.cwd:
        t.append(f"host {info.host or '-'}  cwd {info.cwd or '-'}\n", style="dim")
    if info.command:
        t.append("$ ", style="bold")
        t.append(info.command + "\n", style="bold cyan")
    for c in info.confirmations:
        how = " (--yes)" if c.get("auto") else ""
        word = f", typed {c['word']!r}" if c.get("word") else ""
        t.append(f"confirmed by {c.get('operator')}{word}{how} at {_time(c.get('ts'))}\n")
    if info.skipped:
        t.append(
            f"skipped by {info.skipped.get('operator')}: {info.skipped.get('reason')}\n",
            style="yellow",
        )
    for s in info.supervisor:
        procs = ", ".join(f"{k}={v}" for k, v in (s.get("processes") or {}).items())
        t.append(f"supervisor {s.get('supervisor')} {s.get('when')}: {procs}\n")
    for g in info.gates:
        t.append(f"gate {gate_text(g)}\n")
    if info.finished:
        f = info.finished
        line = f"finished {f.get('outcome')}"
        if f.get("exit_code") is not None:
            line += f", exit {f.get('exit_code')}"
        line += f", {float(f.get('duration') or 0):.2f} s\n"
        t.append(line, style=_outcome_style(str(f.get("outcome"))))
        if f.get("expectation"):
            t.append(f"expectation: {f.get('expectation')}\n")
        if f.get("message"):
            t.append(f"{f.get('message')}\n")
    if info.unknown:
        t.append(f"outcome unknown: {info.unknown}\n", style="bold magenta")
    for e in info.evidence:
        t.append(f"evidence ({e.get('operator')}): ", style="bold")
        t.append(f"{e.get('text')}\n")
    for note in info.notes:
        t.append(note + "\n")
    if info.output_lines:
        t.append(f"output: {info.output_lines} lines (o: full output)\n", style="bold")
        for line in info.head:
            t.append("  " + line + "\n", style="dim")
        hidden = info.output_lines - len(info.head)
        tail = list(info.tail)[-max(0, min(len(info.tail), hidden)) :] if hidden > 0 else []
        if hidden > len(tail):
            t.append(f"  … {hidden - len(tail)} more lines …\n", style="dim italic")
        for line in tail:
            t.append("  " + line + "\n", style="dim")
    return t


def _time(ts: Any) -> str:
    s = str(ts or "")
    return s[11:19] if len(s) >= 19 else s


def _outcome_style(outcome: str) -> str:
    return {
        "ok": "bold green",
        "done": "bold green",
        "would-run": "bold cyan",
        "skipped": "bold yellow",
        "failed": "bold red",
        "timeout": "bold red",
        "cancelled": "bold red",
        "unknown": "bold magenta",
    }.get(outcome, "bold")


class ReviewApp(App[None]):
    """`annotui review PATH`: the audit viewer on its own."""

    TITLE = "annotui review"

    def __init__(
        self,
        path: Path,
        *,
        follow: bool = True,
        poll: float = POLL_SECONDS,
        served: bool = False,
        sign_with: str | None = None,
    ) -> None:
        super().__init__()
        self.log_path = path
        self.sign_with = sign_with
        """--sign-with / ANNOTUI_SIGN_WITH: the key the sign-off and approve dialogs offer."""
        self._follow = follow
        self._poll = poll
        self.served = served
        """Run for a browser by `annotui review --serve`: reports are downloaded, not written."""

    def on_mount(self) -> None:
        self.push_screen(AuditViewerScreen(self.log_path, follow=self._follow, poll=self._poll))
