"""Notifications through Apprise: `[[notify]]` tables told about stage ends, failures, a step
waiting for the operator, and the end of the run.

Sending never blocks the run or the UI: Apprise (imported on first use, ~0.2 s, and ~0.4 s more
to load its plug-ins) runs in one worker thread, each notification its own ``async_notify``
call with a timeout. Every notification is recorded (``notify.send``) before it is handed to the
worker, and its result (``notify.result``: sent, failed or timeout, with Apprise's words) when
it comes back; a failed one is shown and the run goes on. The URL holds tokens: it is a secret
(masked wherever it appears) and the records name it only as ``json://***``.
"""

from __future__ import annotations

import asyncio
import contextlib
import queue
import re
import threading
import time
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from annotui import events as ev
from annotui.checklist.template import render
from annotui.engine.operator import Decision, Operator
from annotui.engine.redact import Redactor

if TYPE_CHECKING:
    from annotui.checklist.models import Notify, Var
    from annotui.engine.planned import PlannedStep

TIMEOUT = 15.0
"""Seconds one notification may take (Apprise's call deadline; the worker gives up then)."""
END_WAIT = 20.0
"""Seconds the end of the run waits for notifications still being sent."""

On = Literal["stage_end", "failure", "waiting", "session_end"]
FAILED_OUTCOMES = frozenset({"failed", "timeout", "unknown"})
_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*)://")
_WEBHOOK = {"http": "json", "https": "jsons"}
"""A plain http(s) URL is a JSON webhook (Apprise's json:// and jsons://)."""
MIN_PIECE = 8
"""Parts of a URL (path segments, query values, a password) at least this long are secrets on
their own: a token shown without the rest of its URL is still a token."""


def apprise_url(url: str) -> str:
    """The URL as Apprise reads it: http(s):// becomes a JSON webhook."""
    m = _SCHEME.match(url)
    if m and m.group(1).lower() in _WEBHOOK:
        return _WEBHOOK[m.group(1).lower()] + url[len(m.group(1)) :]
    return url


def label(url: str) -> str:
    """How records and the screen name a target: its scheme only (`json://***`)."""
    m = _SCHEME.match(url)
    return f"{m.group(1).lower() if m else '?'}://***"


def url_secrets(url: str) -> list[str]:
    """The URL and its long parts (tokens sit in the path, the query or the password)."""
    rest = url.split("://", 1)[-1]
    authority, _, tail = rest.partition("/")
    pieces = [url, apprise_url(url)]
    userinfo = authority.rpartition("@")[0]
    pieces += userinfo.split(":")
    pieces += re.split(r"[/?&=#]+", tail)
    return [p for p in dict.fromkeys(pieces) if len(p) >= MIN_PIECE]


@dataclass(slots=True)
class Target:
    index: int
    """1-based position of its `[[notify]]` table."""
    spec: Notify
    url: str
    """Rendered, as Apprise reads it."""

    @property
    def label(self) -> str:
        return label(self.url)


@dataclass(slots=True)
class _Job:
    target: Target
    on: On
    title: str
    body: str
    kind: str
    done: asyncio.Future[None]
    started: float = field(default_factory=time.monotonic)
    recorded: bool = False


class Notifier:
    """Watches the run's events (``observe``) and sends what the `[[notify]]` tables ask for."""

    def __init__(
        self,
        targets: list[Target],
        emit: Callable[[ev.Event], None],
        redact: Redactor,
        values: Mapping[str, str],
        public: Mapping[str, str],
        base: Mapping[str, str],
        stages: Mapping[str, Mapping[str, str]],
        rehearsal: bool,
    ) -> None:
        self.targets = targets
        self._emit = emit
        self._redact = redact
        self._values = dict(values)
        self._public = dict(public)
        """Non-secret var values: the release vars the message carries."""
        self._base = dict(base)
        """checklist, mode, operator, audit: the same for every message."""
        self._stages = stages
        """Stage key -> the values in its scope (its for_each binding included)."""
        self._rehearsal = rehearsal
        self._loop = asyncio.get_running_loop()
        self._queue: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._jobs: list[_Job] = []
        self._started = time.monotonic()
        self._stage: tuple[str, str, float, Mapping[str, str]] | None = None
        self._step_titles: dict[str, str] = {}
        for target in targets:
            for secret in url_secrets(target.url):
                redact.add(secret)

    # ---- what happens -------------------------------------------------------------------
    def observe(self, event: ev.Event) -> None:
        """A sink: called with every event after it is recorded."""
        match event:
            case ev.StageStarted():
                scope = self._stages.get(event.stage_key, {})
                self._stage = (event.stage_key, event.title, time.monotonic(), scope)
            case ev.StepShown():
                self._step_titles[event.step_key] = event.title
            case ev.StepFinished() if event.outcome in FAILED_OUTCOMES:
                self.send(
                    "failure",
                    step=event.step_key,
                    outcome=event.outcome,
                    duration=f"{event.duration:.1f} s",
                    message=event.message or event.expectation or "",
                )
            case ev.StageFinished():
                start = self._stage[2] if self._stage else self._started
                self.send(
                    "stage_end",
                    outcome=event.outcome,
                    duration=f"{time.monotonic() - start:.1f} s",
                )

    def send(self, on: On, target: Target | None = None, **fields: str) -> None:
        """Queue a notification to every target that asked for `on` (or to `target` only)."""
        for t in [target] if target is not None else self.targets:
            if on not in t.spec.on:
                continue
            title, body = self._message(t, on, fields)
            job = _Job(t, on, title, body, _kind(on, fields.get("outcome", "")), self._future())
            self._emit(ev.NotificationSent(t.index, on, t.label, title, body, fields.get("step")))
            self._jobs.append(job)
            self._queue.put(job)
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._work, name="annotui-notify", daemon=True
                )
                self._thread.start()

    def wants(self, on: On) -> bool:
        """Whether some `[[notify]]` table is told about `on`."""
        return any(on in t.spec.on for t in self.targets)

    async def finish(self, outcome: str, checkpoint: str | None) -> None:
        """The run ends: notify `session_end`, then wait (bounded) for everything still being
        sent, so that every result is recorded before `session.end`."""
        self.send(
            "session_end",
            outcome=outcome,
            duration=f"{time.monotonic() - self._started:.1f} s",
            checkpoint=checkpoint or "",
        )
        pending = [j.done for j in self._jobs if not j.done.done()]
        if pending:
            await asyncio.wait(pending, timeout=END_WAIT)
        for job in self._jobs:
            if not job.recorded:
                self._record(job, "timeout", f"still sending after {END_WAIT:g} s at the run's end")
        self._queue.put(None)

    @contextlib.asynccontextmanager
    async def waiting(self, step: PlannedStep | None) -> AsyncIterator[None]:
        """While the operator is asked: `waiting` fires once per target after its
        `waiting_after` seconds without an answer."""
        handles = [
            self._loop.call_later(t.spec.waiting_after, self._waited, t, step)
            for t in self.targets
            if "waiting" in t.spec.on
        ]
        try:
            yield
        finally:
            for h in handles:
                h.cancel()

    def _waited(self, target: Target, step: PlannedStep | None) -> None:
        self.send(
            "waiting",
            target,
            step=step.key if step else "",
            outcome="waiting for the operator",
            duration=f"{target.spec.waiting_after:g} s",
        )

    # ---- the message ----------------------------------------------------------------------
    def _message(self, target: Target, on: On, fields: Mapping[str, str]) -> tuple[str, str]:
        stage_key, stage_title, _, scope = self._stage or ("", "", 0.0, {})
        step = fields.get("step", "")
        values = {**self._values, **scope}
        info = {
            **self._base,
            "event": on,
            "environment": values.get("environment", ""),
            "stage": f"{stage_key} ({stage_title})" if stage_key and on != "session_end" else "",
            "step": f"{step} ({self._step_titles.get(step, step)})" if step else "",
            "outcome": fields.get("outcome", ""),
            "duration": fields.get("duration", ""),
            "message": fields.get("message", ""),
            "checkpoint": fields.get("checkpoint", ""),
        }
        if on != "session_end":
            info["checkpoint"] = ""
            info["audit"] = ""
        scope_all = {**values, **info}
        spec = target.spec
        title = render(spec.title, scope_all, shell=False) if spec.title else _title(on, info)
        if spec.body:
            body = render(spec.body, scope_all, shell=False)
        else:
            lines = [f"{k}: {v}" for k, v in info.items() if v and k != "event"]
            public = {k: v for k, v in self._public.items() if k in values}
            if public:
                lines.append(
                    "vars: " + ", ".join(f"{k}={scope.get(k, v)}" for k, v in public.items())
                )
            body = "\n".join(lines)
        if self._rehearsal:
            title = f"REHEARSAL: {title}"
        return self._redact(title), self._redact(body)

    # ---- the worker -----------------------------------------------------------------------
    def _future(self) -> asyncio.Future[None]:
        return self._loop.create_future()

    def _work(self) -> None:
        """The worker thread: one notification at a time, each with its own deadline."""
        while (job := self._queue.get()) is not None:
            try:
                status, message = asyncio.run(_deliver(job))
            except Exception as e:  # Apprise failing in any way is a failed notification
                status, message = "failed", f"{type(e).__name__}: {e}"
            with contextlib.suppress(RuntimeError):  # the loop is gone: the run is over
                self._loop.call_soon_threadsafe(self._result, job, status, message)

    def _result(self, job: _Job, status: str, message: str) -> None:
        if not job.recorded:
            self._record(job, status, message)

    def _record(self, job: _Job, status: str, message: str) -> None:
        job.recorded = True
        self._emit(
            ev.NotificationResult(
                job.target.index,
                job.on,
                job.target.label,
                status,  # type: ignore[arg-type]
                self._redact(message),
                round(time.monotonic() - job.started, 3),
            )
        )
        if not job.done.done():
            job.done.set_result(None)


def _title(on: On, info: Mapping[str, str]) -> str:
    what = {
        "stage_end": f"stage {info['stage']} {info['outcome']}",
        "failure": f"step {info['step']} {info['outcome']}",
        "waiting": f"step {info['step']} waiting for the operator for {info['duration']}",
        "session_end": f"run {info['outcome']}",
    }[on]
    return f"{info['checklist']}: {what}"


def _kind(on: On, outcome: str) -> str:
    if on == "waiting":
        return "warning"
    if on == "failure" or outcome in ("failed", "stopped"):
        return "failure"
    return "success"


async def _deliver(job: _Job) -> tuple[str, str]:
    """Send one notification with Apprise 2's ``async_notify`` (its result, not a bool)."""
    import apprise

    logs: list[str] = []

    def log(entry: Any, _service: Any = None) -> None:
        logs.append(str(getattr(entry, "message", entry)))

    app = apprise.Apprise()
    if not app.add(job.target.url):
        return "failed", "Apprise does not accept this URL (unknown scheme or a malformed URL)"
    socket_timeout = min(
        (
            float(getattr(plugin, name))
            for plugin in app
            for name in ("socket_connect_timeout", "socket_read_timeout")
            if isinstance(getattr(plugin, name, None), int | float)
        ),
        default=TIMEOUT,
    )
    started = time.monotonic()
    try:
        result = await asyncio.wait_for(
            app.async_notify(
                body=job.body,
                title=job.title,
                notify_type=job.kind,
                timeout=TIMEOUT,
                log_callback=log,
            ),
            TIMEOUT + 1,
        )
    except TimeoutError:
        return "timeout", f"no answer within {TIMEOUT:g} s"
    status = result.status
    words = "; ".join(dict.fromkeys(logs)) or str(getattr(status, "name", status)).lower()
    if status == apprise.AppriseResultStatus.SUCCESS:
        return "sent", words if logs else "delivered"
    if result.timeout_count:
        return "timeout", words
    if time.monotonic() - started >= socket_timeout * 0.95:
        # Apprise reports a socket timeout (an endpoint that holds the connection and says
        # nothing) as a connection error; only a socket timeout fails this late
        return "timeout", f"no answer within {socket_timeout:g} s ({words})"
    return "failed", words


class WatchedOperator:
    """An operator whose questions start the `waiting` clock of the notifier."""

    def __init__(self, inner: Operator, notifier: Notifier) -> None:
        self.inner = inner
        self.name = inner.name
        self._n = notifier

    async def ask_var(self, name: str, var: Var, error: str | None) -> str | None:
        async with self._n.waiting(None):
            return await self.inner.ask_var(name, var, error)

    async def confirm(self, step: PlannedStep, error: str | None) -> Decision:
        async with self._n.waiting(step):
            return await self.inner.confirm(step, error)

    async def evidence(self, step: PlannedStep, prompt: str, error: str | None) -> str | None:
        async with self._n.waiting(step):
            return await self.inner.evidence(step, prompt, error)

    async def resolve_unknown(self, step: PlannedStep, reason: str) -> Decision:
        async with self._n.waiting(step):
            return await self.inner.resolve_unknown(step, reason)

    async def after_failure(self, step: PlannedStep, result: ev.StepFinished) -> Decision:
        async with self._n.waiting(step):
            return await self.inner.after_failure(step, result)

    async def takeover_lock(self, holder: str, word: str) -> bool:
        async with self._n.waiting(None):
            return await self.inner.takeover_lock(holder, word)


def targets(specs: list[Notify], values: Mapping[str, str]) -> list[Target]:
    """The `[[notify]]` tables with their URLs rendered; an empty URL sends nothing."""
    out = []
    for k, spec in enumerate(specs, 1):
        url = render(spec.url, values, shell=False).strip()
        if url:
            out.append(Target(k, spec, apprise_url(url)))
    return out
