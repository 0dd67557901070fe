"""Plain mode: prompts on stdout, answers on stdin, one per line. Works without a TTY.

Answers: `y` runs the step, `s REASON` skips it, `q` stops (resumable); a typed confirmation accepts
only the exact word. For a step whose outcome is unknown: `r` runs it again, `d EVIDENCE` marks it
done. After a failure: `r` retries, `s REASON` skips, `q` stops.
"""

from __future__ import annotations

import asyncio
import contextlib
import getpass
import sys
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, TextIO

from annotui import events as ev
from annotui.engine.answers import SOURCE, Answer
from annotui.engine.errors import SessionError
from annotui.engine.operator import QUIT, Decision
from annotui.engine.planned import PlannedStep

if TYPE_CHECKING:
    from annotui.checklist.models import Var


class StdinLines:
    """Lines of stdin delivered to the event loop by a reader thread (EOF -> None)."""

    def __init__(self, loop: asyncio.AbstractEventLoop, stream: TextIO | None = None) -> None:
        self._queue: asyncio.Queue[str | None] = asyncio.Queue()
        self._loop = loop
        self._stream = stream or sys.stdin
        self._thread = threading.Thread(target=self._read, name="annotui-stdin", daemon=True)
        self._started = False
        self.tty = self._stream.isatty()

    def _read(self) -> None:
        while True:
            try:
                line = self._stream.readline()
            except (OSError, ValueError):
                line = ""
            value = line.rstrip("\r\n") if line else None
            self._loop.call_soon_threadsafe(self._queue.put_nowait, value)
            if value is None:
                return

    async def get(self) -> str | None:
        if not self._started:
            self._started = True
            self._thread.start()
        return await self._queue.get()


class PlainOperator:
    def __init__(
        self,
        name: str,
        out: TextIO,
        lines: StdinLines,
        yes: bool,
        answers: Mapping[str, Answer] | None = None,
    ) -> None:
        self.name = name
        self._out = out
        self._lines = lines
        self._yes = yes
        self._answers = dict(answers or {})
        """--answers: by step key; used once each (a refused answer is asked on stdin)."""

    def _say(self, text: str) -> None:
        from annotui.text import for_terminal  # no escape sequence reaches the terminal

        with contextlib.suppress(OSError, ValueError):
            self._out.write(for_terminal(text))
            self._out.flush()

    async def _ask(self, prompt: str, *, secret: bool = False) -> str | None:
        self._say(prompt)
        line = await self._lines.get()
        if line is None:
            self._say("\n(end of input)\n")
        elif not self._lines.tty:
            self._say(("(hidden)" if secret else line) + "\n")  # keep a piped transcript readable
        return line

    async def ask_var(self, name: str, var: Var, error: str | None) -> str | None:
        if error:
            self._say(f"  ! {name}: {error}\n")
        label = var.prompt or var.description or name
        hint = f" (e.g. {var.example})" if var.example else ""
        hint += f" [{'/'.join(var.choices)}]" if var.choices else ""
        hint += " (a list: commas between values, \\, for a comma in one)" if var.list else ""
        if var.secret and sys.stdin.isatty():
            return await asyncio.to_thread(getpass.getpass, f"{name}: {label}{hint} (hidden): ")
        answer = await self._ask(f"{name}: {label}{hint}: ", secret=var.secret)
        if answer is None:  # no input left: bad input (exit 2), not a run to resume
            raise SessionError(
                f"var {name!r} has no value and the input ended: give it with "
                f"--var {name}=VALUE, --vars-file FILE"
                + (f" or ${var.from_env}" if var.from_env else "")
            )
        return answer

    async def confirm(self, step: PlannedStep, error: str | None) -> Decision:
        if error:
            self._say(f"  ! {error}\n")
        given = self._answers.get(step.key)
        if given is not None and error is None:
            self._say(f"  ({SOURCE}: {given.answer})\n")
            if given.answer == "skip":
                return Decision("skip", text=given.reason, source=SOURCE)
            return Decision("run", word=given.word, source=SOURCE)
        skip = "" if step.critical else ", 's REASON' to skip"
        if step.confirm_word:
            prompt = f"  Type '{step.confirm_word}' to run{skip}, 'q' to stop: "
        elif step.kind == "manual":
            prompt = f"  'y' when done{skip}, 'q' to stop: "
        else:
            prompt = f"  Run it? 'y' to run{skip}, 'q' to stop: "
        line = await self._ask(prompt)
        if line is None:
            return QUIT
        answer = line.strip()
        if answer == "q":
            return QUIT
        if answer == "s" or answer.startswith("s "):
            return Decision("skip", text=answer[2:].strip())
        if step.confirm_word:
            return Decision("run", word=answer)
        if answer in ("y", "yes"):
            return Decision("run")
        return await self.confirm(step, f"answer 'y', 's REASON' or 'q' (got {answer!r})")

    async def evidence(self, step: PlannedStep, prompt: str, error: str | None) -> str | None:
        if error:
            self._say(f"  ! {error}\n")
        given = self._answers.get(step.key)
        if given is not None and given.evidence and error is None:
            self._say(f"  {prompt}: {given.evidence} ({SOURCE})\n")
            return given.evidence
        return await self._ask(f"  {prompt}: ")

    async def resolve_unknown(self, step: PlannedStep, reason: str) -> Decision:
        line = await self._ask("  'r' to run it again, 'd EVIDENCE' to mark it done, 'q' to stop: ")
        answer = (line or "q").strip()
        if answer == "r":
            return Decision("rerun")
        if answer.startswith("d ") and answer[2:].strip():
            return Decision("done", text=answer[2:].strip())
        if answer == "q":
            return QUIT
        self._say("  ! answer 'r', 'd EVIDENCE' or 'q'\n")
        return await self.resolve_unknown(step, reason)

    async def after_failure(self, step: PlannedStep, result: ev.StepFinished) -> Decision:
        if self._yes:
            return QUIT
        skip = "" if step.critical else ", 's REASON' to skip"
        back = ", 'b' to roll the stage back" if step.rollback else ""
        line = await self._ask(f"  'r' to retry{skip}{back}, 'q' to stop: ")
        answer = (line or "q").strip()
        if answer == "r":
            return Decision("retry")
        if answer == "b" and step.rollback:
            return Decision("rollback")
        if answer.startswith("s ") and not step.critical and answer[2:].strip():
            return Decision("skip", text=answer[2:].strip())
        if answer == "q":
            return QUIT
        return await self.after_failure(step, result)

    async def takeover_lock(self, holder: str, word: str) -> bool:
        self._say(f"  ! the target is locked: {holder}\n")
        line = await self._ask(f"  If that run is dead, type '{word}' to take the lock over: ")
        return (line or "").strip() == word


ANNOUNCE_LATER = "The text is rendered from the run's vars when the step runs."
ANNOUNCE_START = "---- announcement (as it is to be posted; copy the lines as they are) ----"
ANNOUNCE_END = "---- end of the announcement ----"


TICK = 30.0
"""Seconds between the lines that show an approval wait's time left, on a terminal (elsewhere,
such a line comes only when an approval arrives or is refused)."""


def _clock(seconds: float) -> str:
    whole = max(0, int(seconds + 0.999))
    minutes, secs = divmod(whole, 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


@dataclass(slots=True)
class _Wait:
    """The approval step the run waits at, as plain mode shows it."""

    step_key: str
    needed: int
    timeout: float | None
    since: float = field(default_factory=time.monotonic)
    granted: list[str] = field(default_factory=list)

    def status(self) -> str:
        """'approvals: 1 of 2 (bob@example) · 4:51 left'."""
        by = f" ({', '.join(self.granted)})" if self.granted else ""
        spent = time.monotonic() - self.since
        if self.timeout is not None:
            left = f"{_clock(self.timeout - spent)} left"
        else:
            left = f"no time limit, waiting for {_clock(spent)}"
        return f"   approvals: {len(self.granted)} of {self.needed}{by} · {left}\n"


class PlainPresenter:
    """Renders engine events as lines of text (a sink)."""

    def __init__(self, out: TextIO, tick: float = TICK) -> None:
        self._out = out
        self._tick = tick
        try:
            self._tty = out.isatty()
        except (OSError, ValueError):
            self._tty = False
        self._wait: _Wait | None = None
        """The approval wait shown, until its step finishes."""
        self._timer: asyncio.TimerHandle | None = None
        self._per_task = False
        """The step shown is an ansible step: one line per host x task instead of its output."""
        self._title_pending = False
        """The checklist's title is templated: shown with the run's values at run.plan."""

    def _w(self, text: str) -> None:
        from annotui.text import for_terminal  # output and var values are shown, never obeyed

        with contextlib.suppress(OSError, ValueError):
            self._out.write(for_terminal(text))
            self._out.flush()

    def _ticked(self) -> None:
        self._timer = None
        if self._wait is not None:
            self._w(self._wait.status())
            self._schedule()

    def _schedule(self) -> None:
        """On a terminal, the wait's line again in ``tick`` seconds (in the run's loop)."""
        if not self._tty:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return
        self._timer = loop.call_later(self._tick, self._ticked)

    def _waited(self, e: ev.Event) -> None:
        """Follow the approval wait shown: its count on each approval or refusal, its end."""
        wait = self._wait
        if wait is None or getattr(e, "step_key", wait.step_key) != wait.step_key:
            return
        if isinstance(e, ev.ApprovalGranted):
            wait.granted.append(e.principal)
        if isinstance(e, ev.ApprovalGranted | ev.ApprovalRefused):
            self._w(wait.status())
        elif isinstance(e, ev.StepFinished | ev.Interrupted | ev.SessionEnded):
            self._wait = None
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None

    def __call__(self, e: ev.Event) -> None:
        if isinstance(e, ev.StepFinished | ev.Interrupted | ev.SessionEnded):
            self._waited(e)  # the wait's line stops before the step's end is shown
        match e:
            case ev.SessionStarted():
                mode = "REHEARSAL (changes are simulated)" if e.mode == "rehearsal" else "LIVE"
                # a templated title is shown once the vars have values (run.plan)
                self._title_pending = "{{" in e.checklist_title
                title = e.checklist_id if self._title_pending else e.checklist_title
                self._w(f"annotui {e.annotui_version}: {title} [{mode}]\n")
            case ev.RunPlanned() if self._title_pending:
                self._title_pending = False
                self._w(f"\n{e.title}\n")
            case ev.SessionResumed():
                self._w(f"Resuming ({e.mode}).\n")
                if e.torn_tail:
                    self._w("  ! the log ended with a torn line (a crash mid-write): recorded\n")
                if e.checklist_changed:
                    self._w("  ! the checklist changed since the run began (recorded)\n")
            case ev.VarSet():
                self._w(f"  var {e.name} = {e.value}  ({e.source})\n")
            case ev.StageStarted():
                self._w(f"\n== Stage {e.index}/{e.total}: {e.title} [{e.stage_key}]\n")
            case ev.StepShown():
                self._per_task = e.kind == "ansible"
                tags = [e.kind]
                if e.changes:
                    tags.append("changes")
                if e.critical:
                    tags.append("critical")
                if e.simulated:
                    tags.append("simulated in rehearsal")
                self._w(f"\n-- {e.step_key}: {e.title}  ({', '.join(tags)})\n")
                if e.host:
                    self._w(f"   host: {e.host}" + (f"   cwd: {e.cwd}" if e.cwd else "") + "\n")
                if e.run_as:
                    self._w(f"   runs {e.run_as}\n")
                texts = [e.description, e.instructions if e.instructions != e.description else None]
                if e.kind == "announce":
                    # its text is printed once, as the engine rendered and recorded it (as the
                    # cockpit's step view shows it), when the step runs
                    texts = [*texts, ANNOUNCE_LATER]
                for said in filter(None, texts):
                    self._w("".join(f"   {line}\n" for line in said.splitlines()))
                if e.command:
                    self._w(f"   $ {e.command}\n")
            case ev.StepOutput() if self._per_task:
                if e.text.startswith("rehearsal: "):
                    self._w(f"   ! {e.text}\n")
            case ev.AnsibleResult():
                took = f" ({e.duration:.2f} s)" if e.duration is not None else ""
                say = f": {e.message}" if e.message and e.status != "ok" else ""
                self._w(f"   [{e.status}] {e.host} | {e.task}{took}{say}\n")
            case ev.AnsibleRecap() if e.unfinished:
                self._w(f"   ! not finished (outcome unknown): {', '.join(e.unfinished)}\n")
            case ev.StepOutput():
                mark = "|" if e.stream == "stdout" else "!"
                self._w("".join(f"   {mark} {line}\n" for line in e.lines))
            case ev.StepFinished():
                extra = f" exit {e.exit_code}" if e.exit_code is not None else ""
                extra += f" in {e.duration:.2f} s" if e.duration else ""
                self._w(f"   => {e.outcome}{extra}\n")
                for text in (e.expectation, e.message):
                    if text:
                        self._w(f"      {text}\n")
            case ev.StepAttempt():
                self._w(
                    f"   attempt {e.attempt}/{e.attempts}: {e.outcome}: {e.message}; again in "
                    f"{e.delay:g} s\n"
                )
            case ev.ValueCaptured():
                self._w(f"   captured {e.name} = {e.value}\n")
            case ev.StepSkipped():
                self._w(f"   => skipped: {e.reason}\n")
            case ev.OutcomeUnknown():
                self._w(f"   ! outcome unknown: {e.reason}\n")
            case ev.GateEvaluated():
                value = e.error or e.value
                state = "holds" if e.holds else "does not hold yet"
                self._w(f"   gate {e.probe} = {value}: {state} ({e.streak}/{e.needed} in a row)\n")
            case ev.SupervisorState():
                states = ", ".join(f"{k}={v}" for k, v in e.processes.items())
                self._w(f"   supervisor {e.supervisor} {e.when}: {states}\n")
            case ev.Announcement():
                # line for line as it is to be posted (no indent: copied as is), between rulers
                self._w(f"   {ANNOUNCE_START}\n")
                self._w("".join(f"{line}\n" for line in e.text.strip("\n").splitlines()))
                self._w(f"   {ANNOUNCE_END}\n")
            case ev.ApprovalWaiting():
                limit = f" (for at most {e.timeout:g} s)" if e.timeout else ""
                self._w(
                    f"   waiting for {e.needed} approval(s) by {', '.join(e.approvers)}{limit}\n"
                    f"   an approver runs, in another terminal:\n     {e.how}\n"
                )
                self._wait = _Wait(e.step_key, e.needed, e.timeout)
                self._w(self._wait.status())
                self._schedule()
            case ev.ApprovalGranted():
                self._w(f"   approved by {e.principal} ({e.key})\n")
                self._waited(e)
            case ev.ApprovalRefused():
                self._w(f"   ! approval refused ({e.key}): {e.reason}\n")
                self._waited(e)
            case ev.Interrupted():
                self._w(f"\n!! interrupted: {e.reason}\n")
            case ev.ErrorEvent():
                self._w(f"!! {e.message}\n")
            case ev.NotificationResult() if e.status != "sent":
                self._w(
                    f"!! notification #{e.notify} ({e.on}, {e.target}) {e.status}: {e.message}\n"
                )
            case ev.NotificationResult():
                self._w(f"   notification #{e.notify} ({e.on}, {e.target}) sent\n")
            case ev.SessionEnded() if not e.steps_total:
                self._w(f"\nRun {e.outcome} before any step (exit {e.exit_code}).\n")
            case ev.SessionEnded():
                rehearsed = (
                    f"{e.steps_would_run} would run, {e.steps_unverified} unverified, "
                    if e.steps_would_run or e.steps_unverified
                    else ""
                )
                self._w(
                    f"\nRun {e.outcome}: {e.steps_ok} done, {rehearsed}{e.steps_skipped} skipped "
                    f"of {e.steps_total} steps (exit {e.exit_code}).\n"
                )
            case _:
                pass
