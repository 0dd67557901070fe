"""SIGTERM and SIGHUP (a kill, a dropped SSH session) while a run goes on stop it safely: the
caller's `stop` is called on its event loop with the signal's name. Once the run has ended they
are ignored: the log is complete and the exit code says how the run ended, which a late signal
must not turn into a kill. (asyncio's `add_signal_handler` puts the default action back when its
loop closes, and a signal in the last milliseconds then killed annotui: exit -15.)"""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import Callable
from types import FrameType

STOP_SIGNALS = (signal.SIGTERM, signal.SIGHUP)


def stop_on_signals(loop: asyncio.AbstractEventLoop, stop: Callable[[str], object]) -> None:
    """From now on each of STOP_SIGNALS calls `stop(name)` on `loop` (main thread only)."""

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        with contextlib.suppress(RuntimeError):  # the loop has closed: the run is over
            loop.call_soon_threadsafe(stop, signal.Signals(signum).name)

    for sig in STOP_SIGNALS:
        signal.signal(sig, on_signal)


def ignore_stop_signals() -> None:
    """The run has ended: STOP_SIGNALS change nothing any more (main thread only)."""
    for sig in STOP_SIGNALS:
        signal.signal(sig, signal.SIG_IGN)
