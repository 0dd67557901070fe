"""The TUI's `Operator`: the engine (its own thread and loop) asks, the UI answers.

Each question (`screens.question.Question`) creates a future on the engine loop and posts an
`OperatorAsk` message to the app. The UI answers with `Question.answer(value)`, which resolves
the future thread-safely. No engine
logic here: the engine validates the answers and asks again with `error` set.
"""

from __future__ import annotations

import asyncio
import getpass
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from textual.message import Message

from annotui.engine.operator import Decision
from screens.messages import OperatorAsk
from screens.question import Question

if TYPE_CHECKING:
    from annotui.checklist.models import Var
    from annotui.engine.planned import PlannedStep
    from annotui.events import StepFinished


class TuiOperator:
    """Implements `annotui.engine.operator.Operator` for the cockpit."""

    def __init__(self, post: Callable[[Message], object], name: str | None = None) -> None:
        self._post = post
        self.name = name or getpass.getuser()
        self.pending: Question | None = None

    async def _ask(self, question: Question) -> Any:
        loop = asyncio.get_running_loop()
        question._loop = loop
        question._future = loop.create_future()
        self.pending = question
        if self._post(OperatorAsk(question)) is False:
            # the cockpit is closing and will never show the question: stop the run safely
            self.pending = None
            return question.quit_answer()
        try:
            return await question._future
        finally:
            self.pending = None

    async def ask_var(self, name: str, var: Var, error: str | None) -> str | None:
        return await self._ask(Question("var", error=error, data={"name": name, "var": var}))

    async def confirm(self, step: PlannedStep, error: str | None) -> Decision:
        return await self._ask(Question("confirm", step, error))

    async def evidence(self, step: PlannedStep, prompt: str, error: str | None) -> str | None:
        return await self._ask(Question("evidence", step, error, {"prompt": prompt}))

    async def resolve_unknown(self, step: PlannedStep, reason: str) -> Decision:
        return await self._ask(Question("unknown", step, data={"reason": reason}))

    async def after_failure(self, step: PlannedStep, result: StepFinished) -> Decision:
        return await self._ask(Question("failure", step, data={"result": result}))

    async def takeover_lock(self, holder: str, word: str) -> bool:
        return bool(await self._ask(Question("lock", data={"holder": holder, "word": word})))
