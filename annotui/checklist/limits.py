"""Limits on what a checklist file may be, checked before the TOML parsers see the text.

The parsers are where hostile input hurts: tomllib and tomlkit recurse once per nested array or
inline table (500 levels end in a RecursionError), tomllib spends quadratic time on long dotted
keys (20,000 levels: 15 s), tomlkit is slow per line and per value (a 1 MiB file of blank lines
takes over a minute), and a 5,000-digit integer makes both raise a bare ValueError. So
:func:`prescan` reads the text once, in linear time and without recursion, and reports the first
limit it exceeds; only text within every limit reaches a parser. It is no TOML validator: on text
that is not TOML it stops early or counts roughly, and the parser then names the real problem.

:func:`fullmatch_within` bounds the other way a checklist can hang a check: a regular expression
that backtracks catastrophically (``(a|a)*b``) against its own default or example.
"""

from __future__ import annotations

import re
import signal
import threading
import time
import types
from typing import NamedTuple

MAX_BYTES = 256 * 1024
"""A checklist file is at most 256 KiB (the largest bundled one is 28 KiB)."""
MAX_LINES = 10_000
"""Lines in a file (the largest bundled checklist has under 900)."""
MAX_ITEMS = 5_000
"""Keys, table headers and array elements in a file (the largest bundled checklist has ~650)."""
MAX_DEPTH = 32
"""Levels of tables, dotted keys, arrays and inline tables together (a checklist needs 5)."""
MAX_NUMBER_CHARS = 64
"""Characters of one number (an int64 has at most 20, a float rarely more than 25)."""
MAX_RUN_STEPS = 5_000
"""Steps of one run once every for_each is expanded (a stage's copies times its steps' copies):
a loop of 2,400 values inside another of 2,400 made 5.8 million, and the plan ran out of memory.
The largest bundled checklist has 60."""
REGEX_SECONDS = 1.0
"""How long a var's pattern may take to match one of the checklist's own values."""

_SPACE = re.compile(r"[ \t\r]*")
_BARE = re.compile(r"[A-Za-z0-9_+\-.:]+")
_BASIC_STOP = re.compile(r'["\\\n]')
_ML_BASIC_STOP = re.compile(r'\\|"""')


class Exceeded(NamedTuple):
    """The first limit a text exceeds: where (a character offset) and why."""

    offset: int
    message: str


def too_large(size: int) -> str | None:
    """Why a file of this many bytes is refused, or None."""
    if size <= MAX_BYTES:
        return None
    return (
        f"the file is too large ({size:,} bytes): a checklist is at most "
        f"{MAX_BYTES // 1024} KiB; split it, or move long text out of it"
    )


def _after_space(text: str, i: int) -> int:
    m = _SPACE.match(text, i)
    return m.end() if m else i


def _skip_string(text: str, i: int) -> int:
    """Offset just after the string that starts at i (or where an unterminated one stops)."""
    n = len(text)
    if text.startswith('"""', i):
        j = i + 3
        while True:
            m = _ML_BASIC_STOP.search(text, j)
            if m is None:
                return n
            if m.group() == "\\":
                j = m.end() + 1
                continue
            end = m.end()
            while end < n and text[end] == '"' and end - m.end() < 2:
                end += 1
            return end
    if text.startswith("'''", i):
        k = text.find("'''", i + 3)
        if k < 0:
            return n
        end = k + 3
        while end < n and text[end] == "'" and end - k < 5:
            end += 1
        return end
    if text[i] == "'":
        k = text.find("'", i + 1)
        nl = text.find("\n", i + 1)
        if k < 0 or 0 <= nl < k:
            return nl if nl >= 0 else n
        return k + 1
    j = i + 1
    while True:
        m = _BASIC_STOP.search(text, j)
        if m is None:
            return n
        if m.group() == "\\":
            j = m.end() + 1
            continue
        return m.end() if m.group() == '"' else m.start()


class _Scanner:
    """One pass over the text: the state of a TOML reader, without building anything."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.items = 0

    def count(self, offset: int) -> Exceeded | None:
        self.items += 1
        if self.items > MAX_ITEMS:
            return Exceeded(
                offset,
                f"too many keys and values: a checklist has at most {MAX_ITEMS:,} "
                "(keys, table headers and array elements); split it",
            )
        return None

    def key(self, i: int, stops: str) -> tuple[int, int, int | None]:
        """(offset after the key, its number of parts, offset of its first part past the
        depth limit given by the caller) for a dotted key starting at i; stops before any
        character of `stops` or anything that cannot be part of a key."""
        text, n = self.text, len(self.text)
        parts = 1
        deepest: int | None = None
        while i < n:
            c = text[i]
            if c in " \t":
                i = _after_space(text, i)
            elif c in "\"'":
                i = _skip_string(text, i)
            elif c == ".":
                parts += 1
                if deepest is None and parts > MAX_DEPTH:
                    deepest = i + 1
                i += 1
            elif c in stops or c == "\n":
                break
            else:
                m = _BARE.match(text, i)
                if m is None:
                    break
                i = m.end()
                # a bare run may hold dots itself (`a.b.c`): count them as parts
                dots = m.group().count(".")
                if dots:
                    before = parts
                    parts += dots
                    if deepest is None and parts > MAX_DEPTH:
                        deepest = m.start() + _nth_dot(m.group(), MAX_DEPTH - before + 1) + 1
        return i, parts, deepest

    def scan(self) -> Exceeded | None:
        text, n = self.text, len(self.text)
        base = 0  # depth of the current [table]
        stack: list[tuple[str, int]] = []  # open '[' and '{' of a value, with their depth
        cur = 0  # depth of the value about to be read
        line_start = True  # at the start of an expression (key or header)
        want_key = False  # right after '{' or ',' in an inline table
        i = 0
        while i < n:
            c = text[i]
            if c in " \t\r":
                i = _after_space(text, i)
                continue
            if c == "\n":
                i += 1
                if not stack:
                    line_start, cur = True, base
                continue
            if c == "#":
                k = text.find("\n", i)
                i = n if k < 0 else k
                continue
            if line_start and not stack and c == "[":
                aot = text.startswith("[[", i)
                end, parts, deepest = self.key(i + (2 if aot else 1), "]")
                if deepest is not None:
                    return _too_deep_key(deepest, parts)
                base = cur = parts + (1 if aot else 0)
                if base > MAX_DEPTH:
                    return _too_deep(i)
                if hit := self.count(i):
                    return hit
                line_start = False
                i = max(end, i + 1)
                continue
            if (line_start and not stack) or (want_key and stack and stack[-1][0] == "{"):
                outer = stack[-1][1] if stack else base
                end, parts, deepest = self.key(i, "=,}")
                if end > i:
                    if deepest is not None:
                        return _too_deep_key(deepest, parts)
                    cur = outer + parts
                    if cur > MAX_DEPTH:
                        return _too_deep(i)
                    if hit := self.count(i):
                        return hit
                    line_start = want_key = False
                    i = end + 1 if end < n and text[end] == "=" else end
                    continue
                line_start = want_key = False
            if c in "\"'":
                i = _skip_string(text, i)
            elif c in "[{":
                if cur + 1 > MAX_DEPTH:
                    return _too_deep(i)
                # an array's elements are one level down; an inline table's keys say their own
                depth = cur + 1 if c == "[" else cur
                stack.append((c, depth))
                cur = depth
                want_key = c == "{"
                if c == "[" and (hit := self.count(i)):
                    return hit
                i += 1
            elif c in "]}":
                if stack:
                    stack.pop()
                cur = stack[-1][1] if stack else base
                i += 1
            elif c == ",":
                if stack:
                    cur = stack[-1][1]
                    want_key = stack[-1][0] == "{"
                    if stack[-1][0] == "[" and (hit := self.count(i)):
                        return hit
                i += 1
            else:
                m = _BARE.match(text, i)
                if m is None:
                    i += 1
                    continue
                token = m.group()
                if len(token) > MAX_NUMBER_CHARS and (token[0] in "+-" or token[0].isdigit()):
                    return Exceeded(
                        i,
                        f"number too long ({len(token):,} characters): a number in a checklist "
                        f"has at most {MAX_NUMBER_CHARS} (whole numbers are 64-bit)",
                    )
                i = m.end()
        return None


def _nth_dot(s: str, k: int) -> int:
    """Index of the k-th (1-based) '.' in s."""
    index = -1
    for _ in range(max(k, 1)):
        index = s.find(".", index + 1)
    return max(index, 0)


def _too_deep(offset: int) -> Exceeded:
    return Exceeded(
        offset,
        f"nested too deeply: a checklist nests tables, dotted keys, arrays and inline tables "
        f"at most {MAX_DEPTH} levels deep",
    )


def _too_deep_key(offset: int, parts: int) -> Exceeded:
    return Exceeded(
        offset,
        f"dotted key too deep ({parts:,} parts): a checklist nests tables and dotted keys "
        f"at most {MAX_DEPTH} levels deep",
    )


def prescan(text: str) -> Exceeded | None:
    """The first limit the text exceeds (lines, keys and values, depth, number length), or None.
    Linear in the length of the text; never raises."""
    lines = text.count("\n") + 1
    if lines > MAX_LINES:
        offset = 0
        for _ in range(MAX_LINES):
            offset = text.index("\n", offset) + 1
        return Exceeded(
            offset, f"too many lines ({lines:,}): a checklist has at most {MAX_LINES:,}; split it"
        )
    return _Scanner(text).scan()


class _Timeout(Exception):
    pass


def fullmatch_within(
    regex: re.Pattern[str], value: str, seconds: float = REGEX_SECONDS
) -> bool | None:
    """Whether regex matches all of value; None when it did not finish within `seconds`.

    Python's regex engine cannot be given a deadline, but it does let signal handlers run, so an
    interval timer bounds it. That works in the main thread only (elsewhere the match is
    unbounded), and it leaves an earlier timer (pytest-timeout's) alone: when that one is due
    first nothing is bounded, otherwise it is re-armed afterwards with the time it had left."""
    if threading.current_thread() is not threading.main_thread():
        return regex.fullmatch(value) is not None
    remaining, interval = signal.getitimer(signal.ITIMER_REAL)
    if remaining and remaining <= seconds:
        return regex.fullmatch(value) is not None
    armed = [True]

    def on_alarm(signum: int, frame: types.FrameType | None) -> None:
        if armed[0]:
            raise _Timeout

    start = time.monotonic()
    previous = signal.signal(signal.SIGALRM, on_alarm)
    result: bool | None
    try:
        signal.setitimer(signal.ITIMER_REAL, seconds)
        try:
            result = regex.fullmatch(value) is not None
        finally:
            armed[0] = False
    except _Timeout:
        result = None
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, signal.SIG_DFL if previous is None else previous)
        if remaining:
            left = max(remaining - (time.monotonic() - start), 0.001)
            signal.setitimer(signal.ITIMER_REAL, left, interval)
    return result
