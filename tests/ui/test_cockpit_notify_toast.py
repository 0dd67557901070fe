"""A notification that was sent is shown in the cockpit (a toast), as a failed one is: the real
engine and a real webhook receiver on 127.0.0.1 (tests/engine/test_notify.py's)."""

from __future__ import annotations

import sys
from pathlib import Path

from cockpit_helpers import make_app, question_kind, screen_text, wait_for

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "engine"))
from test_notify import TOKEN, Receiver


async def test_a_sent_notification_is_a_toast(tmp_path: Path) -> None:
    from textual.widgets._toast import Toast

    receiver = Receiver()
    receiver.thread.start()
    try:
        hook = f"json://127.0.0.1:{receiver.port}/hook/{TOKEN}"
        app = make_app("notify-toast.toml", tmp_path / "run.jsonl", cli_vars={"hook": hook})
        async with app.run_test(size=(80, 24), notifications=True) as pilot:
            await pilot.press("enter")  # Welcome: Start
            await wait_for(pilot, lambda: app.screen.__class__.__name__ == "VariablesScreen")
            await pilot.press("ctrl+s")
            said = "notification #1 (stage_end, json://***) sent in "

            def told() -> bool:
                return any(said in n.message for n in app._notifications)

            await wait_for(pilot, told, timeout=60)
            assert receiver.posts, "the receiver got nothing"
            await wait_for(pilot, lambda: question_kind(app) == "confirm")
            await pilot.press("escape")  # back to the step: the toast shows
            await wait_for(pilot, lambda: bool(app.screen.query(Toast)), open_held=False)
            shown = " ".join(screen_text(app).split())
            assert "notification #1 (stage_end," in shown and "sent in" in shown, shown
            assert TOKEN not in screen_text(app)
            app.exit()
    finally:
        receiver.server.shutdown()
        receiver.server.server_close()
        receiver.thread.join(5)
