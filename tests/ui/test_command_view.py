"""The command view of a question: a count it asked for after a refresh must not fail once the
question has closed (seen in the tmux e2e: NoMatches '#command-more' after the answer)."""

from __future__ import annotations

from textual.app import App, ComposeResult
from textual.screen import Screen

from screens.modals import CommandView


class _Asking(Screen[None]):
    def compose(self) -> ComposeResult:
        yield CommandView("\n".join(f"echo line {i}" for i in range(40)))


async def test_a_late_count_after_the_question_closed_is_ignored() -> None:
    app = App[None]()
    async with app.run_test(size=(80, 24)) as pilot:
        screen = _Asking()
        await app.push_screen(screen)
        view = screen.query_one(CommandView)
        view.fit(6)
        await pilot.pause(0.1)
        assert view.unread > 0  # counted while open: 40 lines, 5 on screen
        await app.pop_screen()
        await pilot.pause(0.1)
        view.moved()  # what a pending call_after_refresh does after the close
        await pilot.pause(0.1)
        assert app.return_code is None  # no exception ended the app
