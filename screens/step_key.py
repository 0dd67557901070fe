"""A step key (`deploy[staging]/stop-anno`, `roll/restart[es1]`, `stage/rollback/id`) shortened
for a narrow column without losing what tells two keys apart: the `[value]` of a `for_each`
(the environment, the host) and the last path component (the step id) are kept whole; the
middle of the names before them is elided, the longest name first. The full key is shown in
the viewer's detail pane."""

from __future__ import annotations

import re

ELLIPSIS = "…"
KEEP = 3
"""An elided name keeps at least this many cells (`d…y`), while the column allows it."""

_PART = re.compile(r"([^/\[]*)((?:\[[^\]]*\])*)")
"""One path component: its name, then its `[value]` suffixes (a value may hold `/`)."""


def _components(key: str) -> list[tuple[str, str]]:
    """(name, bracketed suffix) per path component, or one component (the whole key) when the
    key does not parse as components."""
    parts: list[tuple[str, str]] = []
    pos = 0
    while True:
        match = _PART.match(key, pos)
        assert match is not None  # both groups may be empty
        parts.append((match.group(1), match.group(2)))
        pos = match.end()
        if pos == len(key):
            return parts
        if key[pos] != "/":
            return [(key, "")]
        pos += 1


def _elide(name: str, width: int) -> str:
    """``name`` in ``width`` cells, its middle elided (`deploy` in 3: `d…y`)."""
    if len(name) <= width:
        return name
    if width <= 1:
        return ELLIPSIS[:width]
    head = width // 2
    tail = width - 1 - head
    return name[:head] + ELLIPSIS + (name[len(name) - tail :] if tail else "")


def _fit_names(key: str, width: int, floor: int) -> str | None:
    """``key`` with its elidable names (every component's but the last) cut, longest first,
    down to ``floor`` cells each; None if that is not enough."""
    parts = _components(key)
    if len(parts) < 2:
        return None
    names = [len(name) for name, _ in parts[:-1]]
    excess = len(key) - width
    while excess > 0:
        longest = max(range(len(names)), key=lambda i: names[i])
        if names[longest] <= floor:
            return None
        names[longest] -= 1
        excess -= 1
    shown = [_elide(name, n) + suffix for (name, suffix), n in zip(parts, names, strict=False)]
    return "/".join([*shown, parts[-1][0] + parts[-1][1]])


def fit_key(key: str, width: int) -> str:
    """``key`` in at most ``width`` cells: its names elided in the middle (longest first, each
    down to `d…y`, then to one cell), never its `[values]` or its last component; only when even
    those do not fit, the middle of the whole key."""
    if len(key) <= width:
        return key
    for floor in (KEEP, 1):
        fitted = _fit_names(key, width, floor)
        if fitted is not None:
            return fitted
    if width <= 1:
        return ELLIPSIS[:width]
    head = (width - 1) // 2
    return key[:head] + ELLIPSIS + key[len(key) - (width - 1 - head) :]


def shortest_fit(key: str) -> int:
    """The width ``key`` needs to keep its values, its last component and `d…y` of each name."""
    parts = _components(key)
    if len(parts) < 2:
        return len(key)
    return len(key) - sum(max(0, len(name) - KEEP) for name, _ in parts[:-1])
