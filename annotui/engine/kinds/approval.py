"""The `approval` step: the two-person rule. The run waits until `min` of the `approvers`
(principals of the allowed signers file) have approved from another terminal with
`annotui audit approve` (see ``annotui.audit.approvals``).

Each approval is verified by ``ssh-keygen -Y verify`` against the allowed signers (namespace
``annotui-approval``); the run's own --sign-with key never counts, nor a principal who is not an
approver, nor the same principal twice. The approvals file is polled and every check runs in a
thread: the event loop never waits on a file or on ssh-keygen. In rehearsal the step is recorded
as "would wait for approval" and does not block.
"""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, cast

from annotui.audit.approvals import (
    APPROVAL_NAMESPACE,
    Offered,
    approval_text,
    how_to_approve,
    read_new,
)
from annotui.audit.errors import AuditError
from annotui.audit.sshsig import AllowedSigners, SignError, key_fingerprint
from annotui.engine.context import StepContext
from annotui.engine.kinds.base import Shown
from annotui.events import ApprovalGranted, ApprovalRefused, ApprovalWaiting, Event, StepFinished

if TYPE_CHECKING:
    from annotui.checklist.models import ApprovalStep

POLL = 0.5
"""Seconds between reads of ``PATH.approvals``."""


def _judge(
    offered: Offered, signers: AllowedSigners, own_key: str | None, approvers: list[str]
) -> tuple[str | None, str]:
    """(the approving principal, '') or (None, why it does not count). Runs in a thread."""
    try:
        named = key_fingerprint(offered.signature)
        if named != offered.key:
            return None, f"names key {offered.key} but is signed by {named}"
        if own_key is not None and named == own_key:
            return None, "the run's own signer cannot approve it"
        principal = signers.check(offered.signed, offered.signature, APPROVAL_NAMESPACE, None)
    except SignError as e:
        return None, str(e)
    if principal not in approvers:
        return None, f"{principal} is not an approver of this step"
    return principal, ""


class ApprovalKind:
    name = "approval"
    starts = True
    records: tuple[type[Event], ...] = (ApprovalWaiting, ApprovalGranted, ApprovalRefused)

    def show(self, step: Any, scope: Mapping[str, str]) -> Shown:
        who = ", ".join(step.approvers)
        command = f"wait for {step.min} approval(s) by: {who}"
        return Shown(command=command, instructions=step.instructions or step.description)

    async def run(self, ctx: StepContext) -> StepFinished:
        step = cast("ApprovalStep", ctx.planned.step)
        key = ctx.planned.key
        start = time.monotonic()
        who = ", ".join(step.approvers)

        def finished(outcome: str, message: str) -> StepFinished:
            return StepFinished(
                key,
                outcome,  # type: ignore[arg-type]
                duration=time.monotonic() - start,
                expectation=f"{step.min} approval(s) by {who}",
                message=ctx.redact(message),
            )

        if ctx.rehearse:
            return finished("would-run", f"rehearsal: would wait for approval by {who}")
        if ctx.audit_path is None or ctx.allowed_signers is None:
            return finished(
                "failed",
                "no allowed signers file: set [checklist] allowed_signers or give "
                "annotui run --allowed-signers FILE",
            )
        try:
            signers = AllowedSigners(ctx.allowed_signers)
        except AuditError as e:
            return finished("failed", str(e))
        wait = secrets.token_hex(16)
        how = how_to_approve(ctx.audit_path, key)
        ctx.emit(ApprovalWaiting(key, list(step.approvers), step.min, wait, how, step.timeout))
        approved: dict[str, str] = {}
        offset = 0
        deadline = start + step.timeout if step.timeout else None
        while True:
            lines, offset = await asyncio.to_thread(read_new, ctx.audit_path, offset)
            for offered in lines:
                if offered is None or offered.step != key or offered.wait != wait:
                    continue  # another step's, an older wait's, or not an approval
                if offered.signed != approval_text(key, wait, offered.note):
                    ctx.emit(ApprovalRefused(key, offered.key, "does not sign this wait"))
                    continue
                principal, why = await asyncio.to_thread(
                    _judge, offered, signers, ctx.signer_key, list(step.approvers)
                )
                if principal is not None and principal in approved:
                    principal, why = None, f"{principal} has approved already"
                if principal is None:
                    ctx.emit(ApprovalRefused(key, offered.key, ctx.redact(why)))
                    continue
                approved[principal] = offered.key
                ctx.emit(
                    ApprovalGranted(
                        key,
                        principal,
                        offered.key,
                        ctx.redact(offered.note),
                        offered.signed,
                        offered.signature,
                    )
                )
                if len(approved) >= step.min:
                    return finished("ok", f"approved by {', '.join(approved)}")
            if deadline is not None and time.monotonic() >= deadline:
                got = f"{len(approved)} of {step.min}"
                return finished("timeout", f"{got} approval(s) within {step.timeout:g} s")
            await asyncio.sleep(POLL)

    rehearse = run
    """Never simulated (it changes nothing): ``run`` itself does not block in rehearsal."""


KIND = ApprovalKind()
