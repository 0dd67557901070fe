"""The run-wide lock on a target: an atomic `mkdir` on the host, holder info inside.

Works with any `Transport` (ssh or local). The lock is the directory `path`; the holder (operator,
pid, host, ts, checklist id, audit path, ...) is written inside as `holder.json`. A second run
finds the directory and is refused with `LockHeld`, naming the holder. A takeover (after a typed
confirmation in the engine) rewrites the holder file in place, so the lock is never free in
between; a release removes it only while our own holder info is still inside.
"""

from __future__ import annotations

import asyncio
import json
import shlex
import weakref
from typing import Any

from annotui.transport.base import Transport, TransportError

HOLDER_FILE = "holder.json"
_HELD = 3
STOP_WAIT = 10.0
"""Seconds a stopping run waits for a lock script it was running to end (they take ms)."""
"""Exit status of the acquire script when the directory already exists."""
_ours: weakref.WeakKeyDictionary[Transport, dict[str, str]] = weakref.WeakKeyDictionary()
"""The holder info this process wrote, per transport and lock path (what `release` checks)."""


class LockHeld(TransportError):
    """Someone holds the lock; `holder` is the holder info text found inside (may be empty)."""

    def __init__(self, path: str, holder: str) -> None:
        self.path = path
        self.holder = holder
        super().__init__(f"the target is locked ({path}), held by {describe(holder)}")


def describe(holder: str) -> str:
    """A one-line description of holder info (JSON written by `acquire`, or raw text)."""
    try:
        info = json.loads(holder)
    except ValueError:
        return holder.strip() or "an unknown holder (no holder info inside)"
    if not isinstance(info, dict):
        return holder.strip()
    return ", ".join(f"{k}={v}" for k, v in info.items())


def _json(holder: dict[str, Any]) -> str:
    return json.dumps(holder, sort_keys=True, ensure_ascii=True)


async def _sh(transport: Transport, script: str) -> tuple[int | None, list[str], list[str]]:
    """Run a lock script whole, so that a lock is never left made but without its holder info,
    or emptied but not removed. A stopping run cancels what it awaits: the script is shielded
    from that (cancelled while it starts, asyncio would SIGKILL it) and awaited a while before
    the cancellation goes on, and it ignores the SIGTERM with which the lifeline ends the
    commands of an annotui that died. A hung one is still stopped (`STOP_WAIT`, the timeout)."""
    out: list[str] = []
    err: list[str] = []
    run = asyncio.ensure_future(
        transport.run(
            f"trap '' HUP INT TERM; {script}",
            on_line=lambda s, line: (out if s == "stdout" else err).append(line),
            timeout=60,
        )
    )
    try:
        result = await asyncio.shield(run)
    except asyncio.CancelledError:
        await asyncio.wait({run}, timeout=STOP_WAIT)
        run.cancel()
        raise
    return result.exit_code, out, err


def _write(path: str, info: str) -> str:
    """Shell: replace the holder file atomically (temp file + rename inside the lock dir)."""
    p = shlex.quote(f"{path}/{HOLDER_FILE}")
    return f"printf '%s\\n' {shlex.quote(info)} > {p}.$$ && mv -f -- {p}.$$ {p}"


async def acquire(transport: Transport, path: str, holder: dict[str, Any]) -> None:
    """Take the lock, or raise `LockHeld` naming the holder (`TransportError` on other errors)."""
    q = shlex.quote(path)
    script = (
        f"if mkdir -- {q} 2>/dev/null; then {_write(path, _json(holder))}; "
        f"elif [ -d {q} ]; then cat -- {shlex.quote(f'{path}/{HOLDER_FILE}')} 2>/dev/null; "
        f"exit {_HELD}; else mkdir -- {q}; fi"
    )
    code, out, err = await _sh(transport, script)
    if code == _HELD:
        raise LockHeld(path, "\n".join(out))
    if code != 0:
        raise TransportError(f"cannot create the lock {path} on {transport.name}: {' '.join(err)}")
    _ours.setdefault(transport, {})[path] = _json(holder)


async def takeover(
    transport: Transport, path: str, holder: dict[str, Any], *, expected: str | None = None
) -> None:
    """Replace a stale lock's holder with ours (the engine asks for a typed confirmation first).

    With `expected` (the holder text the operator confirmed), the takeover is refused with
    `LockHeld` if the holder changed meanwhile."""
    hf = shlex.quote(f"{path}/{HOLDER_FILE}")
    check = ""
    if expected is not None:
        check = (
            f'[ "$(cat -- {hf} 2>/dev/null)" = {shlex.quote(expected.strip())} ] || '
            f"{{ cat -- {hf} 2>/dev/null; exit {_HELD}; }}; "
        )
    q = shlex.quote(path)
    script = (
        f"mkdir -- {q} 2>/dev/null || [ -d {q} ] || exit 1; {check}{_write(path, _json(holder))}"
    )
    code, out, err = await _sh(transport, script)
    if code == _HELD:
        raise LockHeld(path, "\n".join(out))
    if code != 0:
        raise TransportError(
            f"cannot take over the lock {path} on {transport.name}: {' '.join(err)}"
        )
    _ours.setdefault(transport, {})[path] = _json(holder)


async def release(transport: Transport, path: str, holder: dict[str, Any] | None = None) -> bool:
    """Remove the lock if our holder info (`holder`, else what this process wrote through this
    transport) is still inside; False, lock untouched, otherwise."""
    ours = _json(holder) if holder is not None else _ours.get(transport, {}).get(path)
    if ours is None:
        return False
    hf = shlex.quote(f"{path}/{HOLDER_FILE}")
    script = (
        f'[ "$(cat -- {hf} 2>/dev/null)" = {shlex.quote(ours)} ] || exit {_HELD}; '
        f"rm -f -- {hf} && rmdir -- {shlex.quote(path)}"
    )
    code, _out, err = await _sh(transport, script)
    if code == _HELD:
        return False
    if code != 0:
        raise TransportError(f"cannot release the lock {path} on {transport.name}: {' '.join(err)}")
    _ours.get(transport, {}).pop(path, None)
    return True
