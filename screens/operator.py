"""The TUI's `Operator`: the engine (its own thread and loop) asks, the UI answers.

Each question creates a future on the engine loop and posts an `OperatorAsk` message to the app.
The UI answers with `Question.answer(value)`, which resolves the future thread-safely. No engine
logic here: the engine validates the answers and asks again with `error` set.
"""

from __future__ import annotations

import asyncio
import getpass
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from textual.message import Message

from annotui.engine.operator import QUIT, Decision
from screens.messages import OperatorAsk

if TYPE_CHECKING:
    from annotui.checklist.models import Var
    from annotui.engine.events import StepFinished
    from annotui.engine.plan import PlannedStep

QuestionKind = Literal["var", "confirm", "evidence", "unknown", "failure", "lock"]


@dataclass(eq=False)
class Question:
    kind: QuestionKind
    step: PlannedStep | None = None
    error: str | None = None
    data: dict[str, Any] = field(default_factory=dict)
    """var: name, var; evidence: prompt; unknown: reason; failure: result; lock: holder, word."""
    _loop: asyncio.AbstractEventLoop | None = field(default=None, repr=False)
    _future: asyncio.Future[Any] | None = field(default=None, repr=False)

    @property
    def answered(self) -> bool:
        return self._future is None or self._future.done()

    def answer(self, value: Any) -> None:
        """Resolve the question (any thread). A second answer is ignored."""
        if self._loop is None or self._future is None:
            return
        fut = self._future

        def settle() -> None:
            if not fut.done():
                fut.set_result(value)

        if not self._loop.is_closed():
            self._loop.call_soon_threadsafe(settle)

    def quit_answer(self) -> Any:
        """The answer that stops the run for this kind of question."""
        return {"var": None, "evidence": None, "lock": False}.get(self.kind, QUIT)


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
