"""The `http` step: one request through httpx, judged by its status and body; with `retries`,
asked again `delay` seconds apart until it holds (a health endpoint awaited without shell).

Reached directly, or `via` a host's SSH link like a supervisor (`annotui.status.via`). The
status line and the first lines of the body are recorded as output (redacted); header values
(tokens) never are. A step with `changes = false` (the default) is read-only: it really runs in
rehearsal; with `changes = true` the rehearsal only describes it.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from annotui.checklist.template import render
from annotui.engine.context import StepContext
from annotui.engine.kinds.base import Shown
from annotui.events import Event, StepAttempt, StepFinished, StepOutput

if TYPE_CHECKING:
    from annotui.checklist.models import HttpStep

BODY_LINES = 20
"""Lines of a response body recorded as the step's output."""


def _request(step: HttpStep, scope: Mapping[str, str]) -> tuple[str, dict[str, str], str | None]:
    """(url, headers, body regex) with the run's values filled in."""
    escaped = {k: re.escape(v) for k, v in scope.items()}
    url = render(step.url, scope, shell=False)
    headers = {k: render(v, scope, shell=False) for k, v in step.headers.items()}
    body = step.expect.body_matches
    return url, headers, render(body, escaped, shell=False) if body is not None else None


async def _attempt(ctx: StepContext, step: HttpStep) -> tuple[bool, str]:
    """(held, what happened) for one request."""
    import httpx

    from annotui.status.http import AsyncioBackend, PoolTransport
    from annotui.status.via import ViaBackend

    url, headers, body_re = _request(step, ctx.planned.values)
    opener: Any = ctx.transports.get(step.via) if step.via else None
    backend = AsyncioBackend() if opener is None else ViaBackend(opener)
    what = f"{step.method} {url}"
    async with httpx.AsyncClient(transport=PoolTransport(backend), timeout=step.timeout) as client:
        try:
            response = await client.request(step.method, url, headers=headers)
        except httpx.HTTPError as e:
            return False, f"{what}: {type(e).__name__}: {e}".rstrip(": ")
        except Exception as e:  # the link through `via` failed (ssh, channel)
            return False, f"{what}: {e}"
    text = response.text
    lines = [
        f"HTTP {response.status_code} {response.reason_phrase}",
        *text.splitlines()[:BODY_LINES],
    ]
    ctx.emit(StepOutput(ctx.planned.key, "stdout", ctx.redact("\n".join(lines))))
    want = step.expect.status
    if response.status_code != want:
        return False, f"{what}: status {response.status_code}, expected {want}"
    if body_re is not None and not re.search(body_re, text, re.MULTILINE):
        return False, f"{what}: status {want}, but the body does not match {body_re!r}"
    held = f"{what}: status {want}" + (f", body matches {body_re!r}" if body_re else "")
    return True, held


class HttpKind:
    name = "http"
    starts = True
    records: tuple[type[Event], ...] = (StepOutput, StepAttempt)

    def show(self, step: Any, scope: Mapping[str, str]) -> Shown:
        url, _, body_re = _request(step, scope)
        expect = f"expect status {step.expect.status}"
        expect += f" and a body matching {body_re!r}" if body_re else ""
        return Shown(
            host=step.via,
            command=f"{step.method} {url} ({expect})",
            instructions=step.instructions,
            default_word=step.via or "local",
        )

    async def run(self, ctx: StepContext) -> StepFinished:
        step: HttpStep = ctx.planned.step  # type: ignore[assignment]
        start = time.monotonic()
        attempts = ctx.attempts(step.retries)
        attempt = 1
        while True:
            held, message = await _attempt(ctx, step)
            if held or attempt == attempts:
                if attempts > 1:
                    message += f" (attempt {attempt} of {attempts})"
                return StepFinished(
                    ctx.planned.key,
                    "ok" if held else "failed",
                    duration=time.monotonic() - start,
                    expectation=ctx.redact(message),
                )
            key = ctx.planned.key
            ctx.emit(StepAttempt(key, attempt, attempts, "failed", ctx.redact(message), step.delay))
            await asyncio.sleep(step.delay)
            attempt += 1

    async def rehearse(self, ctx: StepContext) -> StepFinished:
        planned = ctx.planned
        message = f"would send {planned.command}"
        return StepFinished(planned.key, "would-run", message=ctx.redact(message))


KIND = HttpKind()
