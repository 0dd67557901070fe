"""Local commands end through a pidfd in the event loop (annotui.transport.children), not a
thread per command, and their exit status is still right, from any thread's event loop."""

from __future__ import annotations

import asyncio
import sys
import threading

import pytest

from annotui.transport.children import PidfdWatcher
from annotui.transport.local import LocalTransport

pytestmark = pytest.mark.skipif(sys.version_info >= (3, 12), reason="3.12 uses pidfds itself")


async def _codes() -> list[tuple[int, str | None]]:
    t = LocalTransport()
    out = []
    for text in ("true", "exit 3", "kill -s TERM $$"):
        r = await t.run(text, on_line=lambda stream, line: None)
        out.append((r.exit_code, r.signal))
    return out


def test_no_thread_per_command_and_the_exit_status_is_kept() -> None:
    started: list[str] = []
    real_start = threading.Thread.start

    def counting_start(self: threading.Thread) -> None:
        started.append(self.name)
        real_start(self)

    threading.Thread.start = counting_start  # type: ignore[method-assign]
    try:
        codes = asyncio.run(_codes())
    finally:
        threading.Thread.start = real_start  # type: ignore[method-assign]
    assert codes == [(0, None), (3, None), (-15, "SIGTERM")]
    assert isinstance(asyncio.get_child_watcher(), PidfdWatcher)
    assert started == []  # asyncio's ThreadedChildWatcher starts one per command


def test_a_loop_in_another_thread_reaps_its_own_children() -> None:
    found: list[object] = []
    worker = threading.Thread(target=lambda: found.append(asyncio.run(_codes())))
    worker.start()
    worker.join(30)
    assert found == [[(0, None), (3, None), (-15, "SIGTERM")]]
