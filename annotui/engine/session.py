"""A run of a checklist: vars, plan, the walk through stages and steps, resume and stop.

The session knows nothing about who watches: it emits events to its sinks (the audit writer is
always first, so nothing is shown that is not already durable) and asks an `Operator`.
"""

from __future__ import annotations

import asyncio
import contextlib
import getpass
import os
import shutil
import socket
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from annotui import __version__
from annotui import events as ev
from annotui.audit.errors import AuditError
from annotui.audit.proof import last_seal_checkpoint
from annotui.audit.reader import RunState, load_run_state
from annotui.audit.sshsig import AUDIT_NAMESPACE, Signature, SignError, probe, sign_async
from annotui.audit.writer import AuditWriter
from annotui.checklist import condition
from annotui.checklist.template import join_list, render, split_list
from annotui.engine.context import StepContext
from annotui.engine.errors import AuditLost, SessionError, StopRun
from annotui.engine.kinds import step_kind
from annotui.engine.operator import Decision, Operator
from annotui.engine.options import RunOptions
from annotui.engine.plan import (
    captured_names,
    captures,
    plan,
    plan_step,
    render_sources,
    step_capture,
)
from annotui.engine.planned import PlannedStage, PlannedStep
from annotui.engine.planned import replace as replace_planned
from annotui.engine.redact import MASK, Redactor
from annotui.engine.runas import described
from annotui.engine.vars import (
    VarError,
    check_loops,
    load_vars_file,
    resolve_noninteractive,
    validate_value,
)
from annotui.transport.base import KILL_GRACE, HostKeyError, TransportError, is_alive
from annotui.transport.pool import TransportPool

if TYPE_CHECKING:
    from annotui.checklist.loader import LoadedChecklist
    from annotui.checklist.models import Probe
    from annotui.engine.notify import Notifier
    from annotui.status.supervisor import SupervisorPool

DONE_OUTCOMES = {"ok", "would-run", "unverified", "done"}
COUNTED = {"would-run": "would_run", "unverified": "unverified"}
"""The summary's count of each outcome that lets a run go on (the others count as done)."""


async def shell_syntax_error(step: PlannedStep) -> str | None:
    """'shell syntax error (sh -n: ...)' when the step's command does not parse (exit 2 of
    `sh -n`, its text on stdin), else None: such a step failed, whatever was simulated."""
    if step.kind not in ("command", "check") or not step.command:
        return None
    shell = step.shell if step.shell and shutil.which(step.shell) else "/bin/sh"
    proc = await asyncio.create_subprocess_exec(
        shell, "-n",
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    _, err = await proc.communicate(step.command.encode("utf-8", "surrogateescape"))
    if proc.returncode == 0:
        return None
    first = err.decode("utf-8", "replace").strip().splitlines()[:1]
    return "shell syntax error (sh -n" + (f": {first[0]}" if first else "") + ")"


AUDIT_WATCH = 1.0
"""Seconds between checks that the audit log can still be written (`AuditWriter.check`)."""
GONE_WAIT = KILL_GRACE + 2.0
"""Seconds a resume waits for a step's recorded command to end before it refuses the step
(its lifeline stops it within KILL_GRACE of annotui's death; over SSH once sshd sees the drop)."""


def state_dir() -> Path:
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "annotui" / "runs"


def _shown_value(value: object) -> str:
    """A value a condition saw, as recorded: a list var's as it was given (`join_list`)."""
    return join_list(value) if isinstance(value, list) else str(value)


def default_audit_path(checklist_id: str) -> Path:
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    return state_dir() / f"{checklist_id}-{stamp}-{os.getpid()}.jsonl"


class Session:
    def __init__(
        self,
        loaded: LoadedChecklist,
        options: RunOptions,
        operator: Operator,
        sinks: Sequence[Callable[[ev.Event], None]] = (),
    ) -> None:
        self.loaded = loaded
        self.checklist = loaded.model
        self.options = options
        self.operator = operator
        self.sinks = list(sinks)
        self.redact = Redactor()
        self.values: dict[str, str] = {}
        self.plan: list[PlannedStage] | None = None
        self.audit_path = options.audit_path or default_audit_path(self.checklist.checklist.id)
        self.final_hash: str | None = None
        self._sealed_at = -1
        """The writer's seq right after the last seal (equal to it now: nothing since)."""
        self.transports = TransportPool({})
        self.supervisors: SupervisorPool | None = None
        self.probes: dict[str, Probe] = {}
        self._writer: AuditWriter | None = None
        self._step_task: asyncio.Task[ev.StepFinished] | None = None
        self._stop_reason: str | None = None
        self._run_task: asyncio.Task[object] | None = None
        self._lock_held: tuple[str, str, dict[str, object]] | None = None
        """(host, path, holder info) of the target lock asked for (released only if ours)."""
        self._counts = {"ok": 0, "skipped": 0, "would_run": 0, "unverified": 0}
        self._simulated_changes = False
        self._rollback_after: str | None = None
        """The failed step after which the operator chose to roll its stage back."""
        """Rehearsal: a step that changes something was simulated (not skipped) so far."""
        self._current_key: str | None = None
        self._audit_lost: str | None = None
        """Why the audit log cannot be written: the run stops, nothing more is shown."""
        self._cut_off: set[str] = set()
        """Resume: steps whose log records their finish as `unknown` (cut off while running)."""
        self._spawned: dict[str, tuple[str, int, int | None, str | None]] = {}
        """step_key -> (host, process group, its leader's start time, boot id) of its command's
        last start (on resume: of the outcome-unknown steps, from the log)."""
        self.captured: dict[str, str] = {}
        """Values captured by the steps run so far (`capture`)."""
        self._capturable = frozenset(captures(self.checklist))
        """Every name a step of the checklist captures."""
        self._recapture: set[str] = set()
        """Resume: steps that change something, run again for a secret value they captured."""
        self._unknown_captures: set[str] = set()
        """Rehearsal: captures of steps that were only simulated (their values are unknown)."""
        self._secret_captures: set[str] = set()
        self._env_secrets: dict[str, str] = {}
        self.signed_by: Signature | None = None
        """The probe signature of --sign-with (its ``key`` is the run's own signer)."""
        self._notifier: Notifier | None = None
        """`from_env` secrets taken out of os.environ (read by var resolution from here)."""

    # ---- events -------------------------------------------------------------------------
    def emit(self, event: ev.Event, *, durable: bool = True) -> None:
        """Record `event` (durable at once, or with `durable=False` once `_begin` ran), then
        show it."""
        if self._audit_lost is not None:
            return  # nothing is shown that is not in the log
        if self._writer is not None:
            try:
                self.final_hash = self._writer(event, sync=durable)
            except AuditError as e:
                self._lose_audit(e)
                return
            if isinstance(event, ev.StepSpawned):
                spawn = (event.host, event.pgid, event.starttime, event.boot_id)
                self._spawned[event.step_key] = spawn
        for sink in self.sinks:
            sink(event)
        if self._notifier is not None:
            self._notifier.observe(event)

    def _begin(self) -> None:
        """A step's command is about to begin (`StepContext.begin`): its ``step.started`` is made
        durable first; if it cannot be, the run stops and the command never begins."""
        if self._writer is not None and self._audit_lost is None:
            try:
                self._writer.sync()
            except AuditError as e:
                self._lose_audit(e)
        if self._audit_lost is not None:
            raise StopRun(self._audit_lost)

    def _lose_audit(self, error: AuditError) -> None:
        """The log cannot be written (called where a record failed, or by the writer when a
        deferred fsync failed): stop the run, its running command first; `run` raises AuditLost."""
        if self._audit_lost is None:
            what = "the running command was stopped" if self.step_running else "the run was stopped"
            self._audit_lost = f"{error}; {what}"
            # from the loop, not here: called inside the run itself, a cancel of the running
            # task that met no await before the run's end would end it cancelled, not with exit 4
            asyncio.get_running_loop().call_soon(
                self.request_stop, "the audit log cannot be written"
            )

    async def _watch_audit(self) -> None:
        """Every AUDIT_WATCH seconds: the log can still be written (a command that prints nothing
        writes no record that would fail)."""
        while self._audit_lost is None:
            await asyncio.sleep(AUDIT_WATCH)
            if self._writer is not None:
                try:
                    self._writer.check()
                except AuditError as e:
                    self._lose_audit(e)

    # ---- control from outside (UI thread via call_soon_threadsafe, signal handlers) -------
    @property
    def step_running(self) -> bool:
        return self._step_task is not None and not self._step_task.done()

    def cancel_step(self) -> None:
        """Cancel the running step (the operator already confirmed)."""
        if self._step_task is not None and not self._step_task.done():
            self._step_task.cancel()

    def refuse(self, step_key: str, action: str, reason: str) -> None:
        """Record an answer the operator tried that was refused (a skip of a critical step)."""
        self.emit(ev.StepRefused(step_key, action, reason, self.operator.name))

    def request_stop(self, reason: str) -> None:
        """Stop safely: the running command is stopped, the interruption recorded, exit 3."""
        self._stop_reason = reason
        if self._run_task is not None and not self._run_task.done():
            self._run_task.cancel()

    # ---- the run --------------------------------------------------------------------------
    async def run(self) -> int:
        self._run_task = asyncio.current_task()
        watch = asyncio.ensure_future(self._watch_audit())
        try:
            code = await self._run()
        finally:
            # The end is recorded: a SIGTERM/SIGHUP now has nothing to stop and must not cut the
            # cleanup short (a traceback, the target lock left held; the crash loop found it).
            self._run_task = None
            watch.cancel()
            await self._cleanup()
        if self._audit_lost is not None:
            raise AuditLost(self._audit_lost)
        return code

    def _known_secrets(self) -> None:
        """Register every secret value given on the command line, in the vars file or in the
        environment before anything is recorded: `session.start` holds the argv, which may
        hold `--var token=...`. A `from_env` secret is then removed from this process's
        environment, so that no child (a command, ssh, ansible) inherits it."""
        given = dict(self.options.cli_vars)
        if self.options.vars_file is not None:
            with contextlib.suppress(VarError, OSError):
                given = {**load_vars_file(self.options.vars_file), **given}
        for name, var in self.checklist.vars.items():
            if not var.secret:
                continue
            if name in given:
                self.redact.add(given[name])
            if var.from_env and var.from_env in os.environ:
                self.redact.add(os.environ[var.from_env])
                self._env_secrets[var.from_env] = os.environ.pop(var.from_env)

    async def _run(self) -> int:
        self._known_secrets()
        if self.options.sign_with:
            try:  # before anything is written or done: a run asked to sign that cannot stops
                self.signed_by = await asyncio.to_thread(probe, self.options.sign_with)
            except SignError as e:
                raise SessionError(f"--sign-with: {e}; nothing was run") from e
        try:
            state = self._open_audit()
        except (AuditError, SessionError, OSError) as e:
            raise SessionError(str(e)) from e
        try:
            await self._resolve_vars(state)
            self._build_plan()
            await self._take_target_lock()
            code = await self._walk(state)
        except asyncio.CancelledError:
            reason = self._stop_reason or "cancelled"
            self.emit(ev.Interrupted(reason, self._current_key))
            return await self._end("stopped", 3)
        except StopRun as e:
            self.emit(ev.Interrupted(str(e) or "stopped by the operator", self._current_key))
            return await self._end("stopped", 3)
        except (SessionError, VarError, TransportError) as e:
            self.emit(ev.ErrorEvent(self.redact(str(e))))
            await self._end("failed", 2)
            raise SessionError(str(e)) from e
        return await self._end("done" if code == 0 else "failed", code)

    async def _end(self, outcome: str, code: int) -> int:
        if self._notifier is not None:
            # session_end is posted and every notification's result recorded before session.end
            with contextlib.suppress(asyncio.CancelledError):  # stopped again: end all the same
                told = await self._end_checkpoint() if self._notifier.wants("session_end") else None
                await self._notifier.finish(outcome, told)
            self._notifier = None
        total = sum(len(s.steps) for s in self.plan or [])
        self.emit(
            ev.SessionEnded(
                outcome,  # type: ignore[arg-type]
                code,
                total,
                self._counts["ok"],
                self._counts["skipped"],
                self._counts["would_run"],
                self._counts["unverified"],
            )
        )
        return code

    async def _cleanup(self) -> None:
        if self._lock_held is not None:
            from annotui.transport.lock import release

            host, path, holder = self._lock_held
            try:
                await asyncio.wait_for(release(self.transports.get(host), path, holder), 15)
            except (TransportError, TimeoutError, OSError) as e:
                # recorded (the writer is still open): the next operator must know why it is held
                self.emit(
                    ev.ErrorEvent(self.redact(f"could not release the target lock {path}: {e}"))
                )
        if self.supervisors is not None:
            await self.supervisors.aclose()
        await self.transports.close()
        if self._writer is not None:
            with contextlib.suppress(asyncio.CancelledError):  # stopped again: seal all the same
                await self._seal()
            self._writer.close()
            self._writer = None

    # ---- audit ----------------------------------------------------------------------------
    def _header_common(self) -> dict[str, object]:
        return {
            "operator": self.operator.name,
            "ssh_connection": os.environ.get("SSH_CONNECTION"),
            "host": socket.gethostname(),
            "mode": "rehearsal" if self.options.rehearse else "live",
        }

    def _open_audit(self) -> RunState | None:
        path = self.audit_path
        if self.options.resume:
            if not path.exists():
                raise SessionError(f"--resume: no audit log at {path}")
            self._writer, tail = AuditWriter.open_append(path)  # takes the lock first
            self._writer.on_failure = self._lose_audit
            state = load_run_state(path)
            self._spawned = {
                key: (host, pgid, *state.spawned_as.get(key, (None, None)))
                for key, (host, pgid) in state.spawned.items()
            }
            header = state.header
            mode = "rehearsal" if self.options.rehearse else "live"
            if header.get("mode") != mode:
                raise SessionError(
                    f"--resume: {path} is a {header.get('mode')} run; resume it the same way"
                )
            if header.get("checklist_id") != self.checklist.checklist.id:
                raise SessionError(
                    f"--resume: {path} records checklist {header.get('checklist_id')!r}, "
                    f"not {self.checklist.checklist.id!r}"
                )
            changed = header.get("checklist_sha256") != self.loaded.sha256
            if changed and not self.options.allow_changed_checklist:
                raise SessionError(
                    f"--resume: {self.loaded.path} changed since the run began "
                    f"(sha256 now {self.loaded.sha256[:12]}, "
                    f"recorded {str(header.get('checklist_sha256'))[:12]}); "
                    "use --allow-changed-checklist to go on anyway (it is recorded)"
                )
            self.emit(
                ev.SessionResumed(
                    **self._header_common(),  # type: ignore[arg-type]
                    torn_tail=tail.torn_tail,
                    checklist_changed=changed,
                    checklist_sha256=self.loaded.sha256,
                    unknown_steps=list(state.unknown),
                )
            )
            return state
        path.parent.mkdir(parents=True, exist_ok=True)
        self._writer = AuditWriter.create(path)
        self._writer.on_failure = self._lose_audit
        meta = self.checklist.checklist
        self.emit(
            ev.SessionStarted(
                checklist_path=str(self.loaded.path.resolve()),
                checklist_sha256=self.loaded.sha256,
                checklist_id=meta.id,
                checklist_title=meta.title,
                checklist_version=meta.version,
                annotui_version=__version__,
                argv=[self.redact(a) for a in self.options.argv],
                **self._header_common(),  # type: ignore[arg-type]
            )
        )
        return None

    # ---- vars -----------------------------------------------------------------------------
    async def _resolve_vars(self, state: RunState | None) -> None:
        declared = self.checklist.vars
        file_vars = load_vars_file(self.options.vars_file) if self.options.vars_file else {}
        cli = dict(self.options.cli_vars)
        if state is not None:
            for name, value in state.vars.items():
                if name not in declared or declared[name].secret:
                    continue
                if name in cli and cli[name] != value:
                    raise SessionError(
                        f"--var {name}: this run was started with {name}={value!r}; "
                        "a resumed run keeps its values"
                    )
                cli[name] = value
        environ = {**os.environ, **self._env_secrets}
        res = resolve_noninteractive(self.checklist, cli, file_vars, environ)
        for name in declared:
            if declared[name].secret and name in res.values:
                self.redact.add(res.values[name])
        for name in res.missing:
            var = declared[name]
            error: str | None = None
            while True:
                answer = await self.operator.ask_var(name, var, error)
                if answer is None:
                    raise StopRun("stopped while asking for vars")
                error = validate_value(var, answer)
                if error is None:
                    break
            res.values[name] = answer
            res.sources[name] = "prompt"
            if var.secret:
                self.redact.add(answer)
        if res.missing:  # a list var asked for: its values must fit the loops over it too
            check_loops(self.checklist, res.values)
        self.values = res.values
        recorded = state.vars if state is not None else {}
        for name, value in res.values.items():
            if recorded.get(name) == value and not declared[name].secret:
                continue
            secret = declared[name].secret
            source = "resume" if state is not None and name in recorded else res.sources[name]
            self.emit(ev.VarSet(name, MASK if secret else value, source, secret))  # type: ignore[arg-type]

    # ---- plan -----------------------------------------------------------------------------
    def _build_plan(self) -> None:
        values = self.values
        self.plan = plan(self.checklist, values, self.options.rehearse)
        targets, self.probes, supervisors = render_sources(self.checklist, values)
        self.transports = TransportPool(targets, ssh_options=self.options.ssh_options)
        if supervisors:
            from annotui.status.supervisor import SupervisorPool

            self.supervisors = SupervisorPool(supervisors, self.transports)
        stages = [
            {
                "key": st.key,
                "title": self.redact(st.title),
                "steps": [
                    {
                        "key": p.key,
                        "id": p.step.id,
                        "title": self.redact(p.title),
                        "kind": p.kind,
                        "host": p.host,
                        "cwd": self.redact(p.cwd) if p.cwd else None,
                        "command": self.redact(p.command) if p.command else None,
                        "mutating": p.mutating,
                        "critical": p.critical,
                        "confirm_word": self.redact(p.confirm_word) if p.confirm_word else None,
                        "run_as": described(p.user, p.login, p.shell) or None,
                    }
                    for p in st.steps
                ],
            }
            for st in self.plan
        ]
        self.emit(ev.RunPlanned(stages, self.title))
        self._start_notifier()

    @property
    def title(self) -> str:
        """`[checklist] title` with the run's values (`check` keeps secrets and values known
        only later out of it); as written until the vars are resolved."""
        meta = self.checklist.checklist
        if not self.values:
            return meta.title
        return self.redact(render(meta.title, self.values, shell=False))

    def _start_notifier(self) -> None:
        """`[[notify]]`: in rehearsal only with --notify; a URL that renders empty sends nothing."""
        specs = self.checklist.notify
        if not specs or (self.options.rehearse and not self.options.notify):
            return
        from annotui.engine.notify import Notifier, WatchedOperator, targets

        found = targets(specs, self.values)
        if not found:
            return
        meta = self.checklist.checklist
        public = {n: v for n, v in self.values.items() if not self.checklist.vars[n].secret}
        base = {
            "checklist": f"{meta.id} ({self.title})",
            "mode": "rehearsal" if self.options.rehearse else "live",
            "operator": self.operator.name,
            "audit": str(self.audit_path),
        }
        stages = {st.key: st.values for st in self.plan or []}
        self._notifier = Notifier(
            found, self.emit, self.redact, self.values, public, base, stages, self.options.rehearse
        )
        self.operator = WatchedOperator(self.operator, self._notifier)

    async def _take_target_lock(self) -> None:
        lock = self.checklist.checklist.lock
        if lock is None:
            return
        from annotui.transport.lock import LockHeld, acquire, takeover

        path = render(lock.path, self.values, shell=False)
        transport = self.transports.get(lock.host)
        holder = {
            "operator": self.operator.name,
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "since": datetime.now(UTC).isoformat(),
            "checklist": self.checklist.checklist.id,
            "audit": str(self.audit_path),
        }
        if self.options.rehearse:
            return  # a rehearsal changes nothing, not even a lock directory
        # Noted before it is asked for: a stop that lands once the lock directory is made but
        # before `acquire` returns must release it too (only while our holder info is inside).
        self._lock_held = (lock.host, path, holder)
        try:
            await acquire(transport, path, holder)
        except LockHeld as e:
            word = "take-over"
            if not await self.operator.takeover_lock(str(e), word):
                raise SessionError(f"target {lock.host}:{path} is locked: {e}") from e
            await takeover(transport, path, holder)
            self.emit(ev.ErrorEvent(f"took over the target lock {path} from: {e}"))

    # ---- the walk -------------------------------------------------------------------------
    async def _walk(self, state: RunState | None) -> int:
        assert self.plan is not None
        finished = dict(state.finished) if state else {}
        if state is not None:
            for key in self._restore_captures(state, finished):
                del finished[key]  # it runs again, to capture what the log cannot give back
        unknown = set(state.unknown) if state else set()
        cut_off = {key for key, outcome in finished.items() if outcome == "unknown"}
        self._cut_off = cut_off - unknown
        unknown |= cut_off
        total = len(self.plan)
        for index, stage in enumerate(self.plan, 1):
            if all(finished.get(p.key) in DONE_OUTCOMES | {"skipped"} for p in stage.steps):
                self._counts["ok"] += sum(finished[p.key] != "skipped" for p in stage.steps)
                self._counts["skipped"] += sum(finished[p.key] == "skipped" for p in stage.steps)
                continue
            self.emit(ev.StageStarted(stage.key, self.redact(stage.title), index, total))
            for step in stage.steps:
                done = finished.get(step.key)
                if done in DONE_OUTCOMES:
                    self._counts["ok"] += 1
                    continue
                if done == "skipped":
                    self._counts["skipped"] += 1
                    continue
                step = self._with_captures(stage, step)
                if self._decided_before_running(stage, step):
                    continue
                code = await self._do_step(step, step.key in unknown)
                if code is not None:
                    if self._rollback_after is not None:
                        await self._roll_back(stage, self._rollback_after)
                    self.emit(ev.StageFinished(stage.key, "failed"))
                    await self._seal()
                    return code
            self.emit(ev.StageFinished(stage.key, "ok"))
            await self._seal()
        return 0

    def _allowed_signers(self) -> Path | None:
        """--allowed-signers, else ``[checklist] allowed_signers`` beside the checklist."""
        if self.options.allowed_signers is not None:
            return self.options.allowed_signers
        named = self.checklist.checklist.allowed_signers
        return self.loaded.path.resolve().parent / named if named else None

    async def _end_checkpoint(self) -> str | None:
        """For the session_end notification: the log sealed as it stands and its checkpoint
        (``annotui audit checkpoint``). The final seal follows the notifications' results; this
        one pins everything before them (``audit verify --expect`` holds the final log to it)."""
        if self._writer is None or self._audit_lost is not None:
            return None
        if self._sealed_at != self._writer.seq:  # not when the last record is a seal
            await self._seal()
        try:
            return await asyncio.to_thread(last_seal_checkpoint, self.audit_path)
        except (AuditError, OSError):
            return None

    async def _seal(self) -> None:
        """Append a seal (``annotui.audit.seal``), signed with --sign-with off the event loop.
        A record written while ssh-keygen signed moves the head: the new head is signed. A seal
        that cannot be signed is written unsigned, the reason recorded before it (a reviewer's
        ``verify --allowed-signers`` then refuses it), and the run goes on."""
        writer = self._writer
        if writer is None or self._audit_lost is not None:
            return
        key = self.options.sign_with
        text = writer.seal_text()
        signature: Signature | None = None
        while key:
            try:
                signature = await sign_async(key, text, AUDIT_NAMESPACE)
            except SignError as e:
                self.emit(ev.ErrorEvent(self.redact(f"seal at seq {writer.seq} unsigned: {e}")))
                signature = None
                text = writer.seal_text()
                break
            if writer.seal_text() == text:
                break
            text = writer.seal_text()
        sealed = ev.Sealed(text, signature.armored, signature.key) if signature else ev.Sealed(text)
        self.emit(sealed)
        self._sealed_at = writer.seq

    async def _do_step(self, step: PlannedStep, unknown: bool) -> int | None:
        """Walk one step to an end. Returns an exit code to stop the run, else None."""
        self._current_key = step.key
        self.emit(self._shown(step))
        if unknown:
            await self._until_gone(step)
            reason = "it started but no finish was recorded (crash, kill or lost connection)"
            if step.key in self._cut_off:
                reason = "it was cut off while it ran (a lost connection or an interruption)"
            self.emit(ev.OutcomeUnknown(step.key, reason))
            decision = await self.operator.resolve_unknown(step, reason)
            if decision.action == "done":
                text = (decision.text or "").strip()
                if not text:
                    raise StopRun("marking an unknown step done needs evidence")
                self.emit(
                    ev.EvidenceRecorded(
                        step.key,
                        "marked done after unknown outcome",
                        self.redact(text),
                        self.operator.name,
                    )
                )
                self.emit(ev.StepFinished(step.key, "done", message="marked done by the operator"))
                self._counts["ok"] += 1
                return None
            if decision.action != "rerun":
                raise StopRun("stopped at a step with unknown outcome")
        attempt = 0
        while True:
            attempt += 1
            # a step whose effect may already have happened is confirmed by a person, never
            # by --yes
            again = step.key in self._recapture  # it captures a secret the log cannot give back
            decision = await self._confirm(step, ask=(unknown or again) and attempt == 1)
            if decision.action == "skip":
                reason = (decision.text or "") + (
                    f" ({decision.source})" if decision.source else ""
                )
                self.emit(ev.StepSkipped(step.key, self.redact(reason), self.operator.name))
                self._counts["skipped"] += 1
                return None
            result = await self._execute(step, attempt)
            self._after_capture(step, result)
            if result.outcome == "failed" and self._depends_on_simulation(step):
                syntax = await shell_syntax_error(step)
                result = (
                    result.replace(message=f"{result.message or 'failed'}; {syntax}")
                    if syntax
                    else result.replace(
                        outcome="unverified",
                        message="rehearsal: may depend on a change simulated earlier in the run"
                        + ("; tried once, not retried" if getattr(step.step, "retries", 0) else ""),
                    )
                )
            if result.outcome == "would-run" and step.simulated:
                self._simulated_changes = True
            self.emit(result)
            if result.outcome in DONE_OUTCOMES:
                self._counts[COUNTED.get(result.outcome, "ok")] += 1
                return None
            choice = await self.operator.after_failure(step, result)
            if choice.action == "retry":
                if result.outcome == "unknown":  # cut off (a lost link): it may still be running
                    await self._until_gone(step)
                continue
            if choice.action == "skip" and not step.critical and (choice.text or "").strip():
                self.emit(
                    ev.StepSkipped(step.key, self.redact(choice.text or ""), self.operator.name)
                )
                self._counts["skipped"] += 1
                return None
            if choice.action == "rollback" and step.rollback:
                self._rollback_after = step.key
            return 1

    async def _roll_back(self, stage: PlannedStage, failed: str) -> None:
        """Run the stage's rollback steps in order, each confirmed as usual (a failure of one
        is asked about as for any step; the rollback goes on only past a done or skipped one)."""
        self._rollback_after = None
        self.emit(ev.StageRollback(stage.key, "start", failed))
        outcome = "ok"
        for step in list(stage.rollback):
            step = self._with_captures(stage, step)
            if self._decided_before_running(stage, step):
                continue
            if await self._do_step(step, False) is not None:
                outcome = "failed"
                break
        self.emit(ev.StageRollback(stage.key, "end", outcome=outcome))

    async def _until_gone(self, step: PlannedStep) -> None:
        """Before an outcome-unknown step is offered: the command its log records must not be
        running any more on its host (waited for up to GONE_WAIT), else the run stops (exit 3)."""
        spawned = self._spawned.get(step.key)
        if spawned is None:
            return
        host, pgid, started, boot = spawned
        deadline = time.monotonic() + GONE_WAIT
        try:
            transport = self.transports.get(host)
            while await is_alive(transport, pgid, started, boot):
                if time.monotonic() >= deadline:
                    raise StopRun(
                        f"{step.key}: its command is still running on {host} (process group "
                        f"{pgid}, recorded when it started); let it end, or stop it there "
                        f"(kill -TERM -- -{pgid}), then resume again"
                    )
                await asyncio.sleep(0.2)
        except HostKeyError:
            raise
        except (TransportError, KeyError, ValueError) as e:
            raise StopRun(
                f"{step.key}: cannot tell whether its command (process group {pgid} on {host}) "
                f"is still running: {e}; resume again when {host} can be asked"
            ) from e

    def _restore_captures(self, state: RunState, finished: dict[str, str]) -> list[str]:
        """On resume: the values captured before it, read back from the log. A secret one was
        never written (nor one whose record was masked: it held a secret): when a step still to
        run uses it, the step that captured it runs again (recorded as an `error` note; one
        that changes something is confirmed by a person). Returns those steps' keys. In
        rehearsal a capture of a simulated step stays unknown."""
        assert self.plan is not None
        todo = [
            p
            for stage in self.plan
            for p in [*stage.steps, *stage.rollback]
            if finished.get(p.key) not in DONE_OUTCOMES | {"skipped"}
        ]
        needed = set().union(*(captured_names(p.step) for p in todo))
        again = []
        for p in (p for stage in self.plan for p in stage.steps):
            capture = step_capture(p.step)
            if capture is None:
                continue
            name, secret = capture
            value, key, was_secret = state.captured.get(name, ("", "", False))
            if key != p.key:
                if finished.get(p.key) in ("would-run", "unverified"):
                    self._unknown_captures.add(name)
                continue
            if not (secret or was_secret) and MASK not in value:
                self.captured[name] = value
                continue
            if secret:
                self._secret_captures.add(name)
            if name not in needed or finished.get(p.key) not in DONE_OUTCOMES:
                continue
            again.append(p.key)
            if p.mutating:
                self._recapture.add(p.key)
            why = "is secret, so it was never written to the audit log"
            if not secret:
                why = "was recorded masked (it held a secret)"
            confirm = " (it changes something: a person confirms it)" if p.mutating else ""
            self.emit(
                ev.ErrorEvent(
                    f"resume: {name}, captured by {p.key} before the resume, {why}; a step "
                    f"still to run uses it, so {p.key} runs again to capture it{confirm}"
                )
            )
        return again

    def _with_captures(self, stage: PlannedStage, step: PlannedStep) -> PlannedStep:
        """The step rendered again with the values captured so far, if it uses any (the plan
        shows such a placeholder as itself)."""
        if not self._capturable and not self.captured:
            return step  # nothing is captured in this run (no walk over the step per step)
        used = captured_names(step.step)
        missing = used & self._capturable - self.captured.keys() - self._unknown_captures
        if missing:  # never run a placeholder: its capture was skipped, or this run resumed
            names = ", ".join(sorted(missing))
            raise SessionError(
                f"{step.key} uses {names}, which no step of this run has captured (the "
                "capturing step was skipped); nothing of it ran"
            )
        if not used & self.captured.keys():
            return step
        values = {**self.values, **self.captured}
        binding = {k: v for k, v in step.values.items() if k not in values}
        options = self.options
        new = plan_step(
            step.step, step.stage_key, binding, values, options.rehearse,
            self.checklist.hosts, self.checklist.checklist.shell, step.loop,
        )  # fmt: skip
        new = replace_planned(new, rollback=step.rollback)
        steps = stage.rollback if step in stage.rollback else stage.steps
        steps[steps.index(step)] = new
        return new

    def _decided_before_running(self, stage: PlannedStage, step: PlannedStep) -> bool:
        """Record a step whose stage's or own `when` is false as skipped by condition; in
        rehearsal, one that depends on a value captured from a simulated step as decided at
        run time. True when the step is recorded (nothing is asked, nothing runs)."""
        unknown = (
            sorted(captured_names(step.step) & self._unknown_captures)
            if self._unknown_captures
            else []
        )
        for when in (stage.when, step.when):
            if when is None:
                continue
            expr = condition.parse(when)
            values = self._condition_values(step)
            holds = condition.evaluate(expr, values)
            if holds is None:
                unknown += [n for n, _ in condition.names(expr) if n in self._unknown_captures]
                continue
            if holds:
                continue
            seen = {
                name: MASK if self._is_secret(name) else self.redact(_shown_value(values[name]))
                for name, _ in condition.names(expr)
            }
            shown = ", ".join(f"{k}={v!r}" for k, v in seen.items())
            reason = f"condition is false: {when}" + (f" ({shown})" if shown else "")
            self.emit(self._shown(step))
            self.emit(ev.StepSkipped(step.key, self.redact(reason), "condition", when, seen))
            self._counts["skipped"] += 1
            return True
        if not unknown:
            return False
        names = ", ".join(dict.fromkeys(unknown))
        message = f"decided at run time: it depends on {names}, captured from a simulated step"
        self.emit(self._shown(step))
        self.emit(ev.StepFinished(step.key, "would-run", message=message))
        self._counts["would_run"] += 1
        if (capture := step_capture(step.step)) is not None:
            self._unknown_captures.add(capture[0])
        return True

    def _condition_values(self, step: PlannedStep) -> dict[str, object]:
        """The values a `when` sees: a list var's as its list of values."""
        unknown = dict.fromkeys(self._unknown_captures, condition.UNKNOWN)
        values: dict[str, object] = {**step.values, **self.captured, **unknown}
        for name, var in self.checklist.vars.items():
            text = values.get(name)
            if var.list and isinstance(text, str):
                values[name] = split_list(text)
        return values

    def _is_secret(self, name: str) -> bool:
        var = self.checklist.vars.get(name)
        return bool(var is not None and var.secret) or name in self._secret_captures

    def _after_capture(self, step: PlannedStep, result: ev.StepFinished) -> None:
        """In rehearsal, a simulated step's capture is unknown to the steps after it."""
        capture = step_capture(step.step)
        if capture is None:
            return
        name, secret = capture
        if secret:
            self._secret_captures.add(name)
        if name not in self.captured and result.outcome in ("would-run", "unverified"):
            self._unknown_captures.add(name)

    def _depends_on_simulation(self, step: PlannedStep) -> bool:
        """In rehearsal: a read-only step after a change simulated anywhere earlier in the run
        (a simulated step that was skipped changed nothing, even in the rehearsal's story)."""
        return self.options.rehearse and not step.mutating and self._simulated_changes

    def _shown(self, step: PlannedStep) -> ev.StepShown:
        red = self.redact
        return ev.StepShown(
            step_key=step.key,
            stage_key=step.stage_key,
            step_id=step.step.id,
            kind=step.kind,
            title=red(step.title),
            host=step.host,
            cwd=red(step.cwd) if step.cwd else None,
            command=red(step.command) if step.command else None,
            changes=step.mutating,
            critical=step.critical,
            confirm=step.step.confirm,
            confirm_word=red(step.confirm_word) if step.confirm_word else None,
            simulated=step.simulated,
            run_as=described(step.user, step.login, step.shell) or None,
            description=red(step.description) if step.description else None,
            instructions=red(step.instructions) if step.instructions else None,
        )

    async def _confirm(self, step: PlannedStep, ask: bool = False) -> Decision:
        """Ask until the answer is acceptable; record the confirmation. ``ask``: a person must
        answer (neither --yes nor ``confirm = "none"`` does)."""
        typed = step.confirm_word is not None
        auto = self.options.yes and (not typed or self.options.rehearse) and not ask
        if step.step.confirm == "none" and not step.mutating and not ask:
            self.emit(ev.StepConfirmed(step.key, self.operator.name, None, True, "confirm = none"))
            return Decision("run")
        if auto:
            word = self.redact(step.confirm_word) if step.confirm_word else None
            self.emit(ev.StepConfirmed(step.key, self.operator.name, word, True, "--yes"))
            return Decision("run", step.confirm_word)
        error = None
        while True:
            d = await self.operator.confirm(step, error)
            if d.action == "quit":
                raise StopRun("stopped by the operator")
            if d.action == "skip":
                if step.critical:
                    error = "this step is critical and cannot be skipped"
                    self.refuse(step.key, "skip", error)
                elif not (d.text or "").strip():
                    error = "skipping needs a reason"
                else:
                    return d
            elif d.action == "run":
                if typed and (d.word or "").strip() != step.confirm_word:
                    error = f"type {step.confirm_word!r} exactly to run this step"
                else:
                    self.emit(
                        ev.StepConfirmed(
                            step.key,
                            self.operator.name,
                            self.redact(d.word) if d.word else d.word,
                            auto=False,
                            how=d.source,
                        )
                    )
                    return d
            else:
                error = f"unexpected answer {d.action!r}"

    async def _execute(self, step: PlannedStep, attempt: int) -> ev.StepFinished:
        kind = step_kind(step.kind)
        # a kind that calls ctx.begin() itself just before its action has its step.started
        # fsynced there, while its command's process starts (see `StepContext.begin`)
        late = kind.starts and not step.simulated and getattr(kind, "begins", False)
        ctx = StepContext(
            planned=step,
            emit=self.emit,
            redact=self.redact,
            transports=self.transports,
            supervisors=self.supervisors,  # type: ignore[arg-type]
            probes=self.probes,
            operator=self.operator,
            rehearse=self.options.rehearse,
            yes=self.options.yes,
            after_simulation=self._depends_on_simulation(step),
            checklist_dir=self.loaded.path.resolve().parent,
            state_dir=self.audit_path.parent,
            captured=self.captured,
            audit_path=self.audit_path,
            allowed_signers=self._allowed_signers(),
            signer_key=self.signed_by.key if self.signed_by else None,
            begin=self._begin if late else None,
        )
        coro = kind.rehearse(ctx) if step.simulated else kind.run(ctx)
        if not kind.starts:
            return await coro
        started = ev.StepStarted(step.key, simulated=step.simulated, attempt=attempt)
        self.emit(started, durable=not late)
        if self._audit_lost is not None:  # nothing runs that the log cannot record
            coro.close()
            raise StopRun(self._audit_lost)
        begun = time.monotonic()  # a cancelled step records how long it ran, too
        self._step_task = asyncio.ensure_future(coro)
        try:
            result = await asyncio.shield(self._step_task)
        except asyncio.CancelledError:
            if self._stop_reason is None and self._step_task.cancelled():
                if (
                    step.mutating and not step.simulated
                ):  # stopped midway: it may have had its effect
                    message = "cancelled by the operator: outcome unknown, the command was stopped"
                    result = ev.StepFinished(
                        step.key, "unknown", duration=time.monotonic() - begun, message=message
                    )
                else:
                    result = ev.StepFinished(
                        step.key,
                        "cancelled",
                        duration=time.monotonic() - begun,
                        message="cancelled by the operator",
                    )
            else:
                # the whole run is stopping: end the command first, then record it
                self._step_task.cancel()
                with contextlib.suppress(BaseException):
                    await self._step_task
                why = self._stop_reason or "interrupted"
                if step.mutating and not step.simulated:
                    # cut off midway, it may have had its effect: resume asks the operator
                    message = f"interrupted ({why}): outcome unknown, the command was stopped"
                    took = time.monotonic() - begun
                    self.emit(ev.StepFinished(step.key, "unknown", duration=took, message=message))
                else:
                    took = time.monotonic() - begun
                    stopped = ev.StepFinished(
                        step.key, "cancelled", duration=took, message=f"stopped: {why}"
                    )
                    self.emit(stopped)
                raise
        except HostKeyError as e:
            # nothing ran, and nothing should run against a host we cannot trust: the run ends
            self.emit(ev.StepFinished(step.key, "failed", message=self.redact(str(e))))
            raise
        except TransportError as e:
            # the command could not start (unreachable host, missing directory, ...): a failed
            # step; the operator may fix the cause and retry, skip, or stop
            result = ev.StepFinished(step.key, "failed", message=self.redact(str(e)))
        finally:
            self._step_task = None
        return result


def operator_name() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return str(os.getuid())
