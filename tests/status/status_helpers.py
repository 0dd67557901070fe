"""Building a StepContext around one planned step, with real pools (no mocks); the error a
supervisor client's call raises."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import pytest

from annotui.checklist.models import Probe, Supervisor
from annotui.engine.context import StepContext
from annotui.engine.plan import plan_step
from annotui.events import Event
from annotui.status.supervisor import SupervisorClient, SupervisorError, SupervisorPool
from annotui.transport.pool import TransportPool


def make_ctx(
    step: Any,
    *,
    supervisors: Mapping[str, Supervisor] | None = None,
    probes: Mapping[str, Probe] | None = None,
    rehearse: bool = False,
    secret: str | None = None,
) -> tuple[StepContext, list[Event]]:
    events: list[Event] = []
    transports = TransportPool({})
    planned = plan_step(step, "deploy[staging]", {"environment": "staging"}, {}, rehearse)

    def redact(text: str) -> str:
        return text.replace(secret, "***") if secret else text

    ctx = StepContext(
        planned=planned,
        emit=events.append,
        redact=redact,
        transports=transports,
        supervisors=SupervisorPool(dict(supervisors or {}), transports),
        probes=dict(probes or {}),
        operator=None,  # type: ignore[arg-type]  # runners never ask the operator
        rehearse=rehearse,
    )
    return ctx, events


async def error_of(
    client: SupervisorClient, call: Callable[[], Awaitable[object]]
) -> SupervisorError:
    """The SupervisorError that `call()` (a method of `client`) raises: the test fails if it
    returns. The client is closed either way."""
    try:
        with pytest.raises(SupervisorError) as e:
            await call()
    finally:
        await client.aclose()
    return e.value
