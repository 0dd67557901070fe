"""A question the engine asks the person, answered from the UI thread."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from annotui.engine.operator import QUIT

if TYPE_CHECKING:
    from annotui.engine.planned import PlannedStep

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
