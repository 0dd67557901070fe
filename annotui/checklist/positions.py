"""Source positions for every key, value and table header of a TOML document.

tomlkit keeps formatting but no positions, so we parse with a tomlkit ``Parser`` subclass that
notes the source offset whenever it starts a table header, a key or a value, and tracks where in
the document it is (tables, arrays of tables, inline tables, arrays, dotted keys). The result maps
a *data path* such as ``("stages", 1, "steps", 0, "host")`` to offsets in the text.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field
from typing import Any

from tomlkit.items import Key
from tomlkit.parser import Parser
from tomlkit.toml_document import TOMLDocument

Path = tuple[str | int, ...]


@dataclass
class Positions:
    """Offsets (0-based, in characters of the text) of what the parser saw, by data path."""

    text: str
    keys: dict[Path, int] = field(default_factory=dict)
    values: dict[Path, tuple[int, int]] = field(default_factory=dict)
    """Value path -> (start, end) offsets of its source text."""
    headers: dict[Path, int] = field(default_factory=dict)
    duplicates: list[tuple[Path, int]] = field(default_factory=list)
    """Keys and table headers defined a second time (path, offset of the repeat)."""
    _line_starts: list[int] = field(default_factory=list, repr=False)
    _has_escapes: dict[Path, bool] = field(default_factory=dict, repr=False)

    def line_col(self, offset: int) -> tuple[int, int]:
        """1-based (line, column) of a character offset."""
        if not self._line_starts:
            self._line_starts = [0] + [i + 1 for i, c in enumerate(self.text) if c == "\n"]
        line = bisect.bisect_right(self._line_starts, offset)
        return line, offset - self._line_starts[line - 1] + 1

    def _nearest(self, path: Path, *tables: dict[Path, Any]) -> int:
        for n in range(len(path), -1, -1):
            for table in tables:
                hit = table.get(path[:n])
                if hit is not None:
                    return int(hit[0] if isinstance(hit, tuple) else hit)
        return 0

    def value(self, path: Path) -> int:
        """Where the value at path starts (a table: its header), else the nearest ancestor."""
        return self._nearest(path, self.values, self.headers, self.keys)

    def key(self, path: Path) -> int:
        """Where the key of path is written, else the nearest ancestor."""
        return self._nearest(path, self.keys, self.headers, self.values)

    def table(self, path: Path) -> int:
        """Where the table at path is opened: its header, or the inline table's brace."""
        return self._nearest(path, self.headers, self.values, self.keys)

    def inside(self, path: Path, index: int) -> int:
        """Offset of character `index` of the string value at path, when the source spells the
        string without escapes (exact column); otherwise where the value starts."""
        span = self.values.get(path)
        if span is None:
            return self.value(path)
        start, end = span
        text = self.text  # no slices: a file may have many findings in one long string
        for quote in ('"""', "'''", '"', "'"):
            q = len(quote)
            if (
                end - start >= 2 * q
                and text.startswith(quote, start)
                and text.endswith(quote, 0, end)
            ):
                body_start, body_end = start + q, end - q
                if q == 3 and text.startswith("\n", body_start):
                    body_start += 1
                elif q == 3 and text.startswith("\r\n", body_start):
                    body_start += 2
                if quote.startswith("'") or not self._escapes(path, body_start, body_end):
                    return body_start + min(index, max(body_end - body_start, 0))
                return start
        return start

    def _escapes(self, path: Path, start: int, end: int) -> bool:
        """Whether the string body text[start:end] holds a backslash (remembered per path)."""
        known = self._has_escapes.get(path)
        if known is None:
            known = self._has_escapes[path] = self.text.find("\\", start, end) >= 0
        return known


class _Frame:
    __slots__ = ("count", "is_array", "path")

    def __init__(self, path: Path, is_array: bool) -> None:
        self.path = path
        self.is_array = is_array
        self.count = 0


class PositionParser(Parser):
    """A tomlkit parser that records where every key, value and table header starts."""

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self.positions = Positions(text)
        self._frames: list[_Frame] = [_Frame((), False)]
        self._pending: tuple[tuple[str, ...], int] | None = None
        self._header_next: tuple[int, bool] | None = None
        self._aot_counts: dict[Path, int] = {}

    def _skip_spaces(self) -> int:
        i = self._idx
        while i < len(self.positions.text) and self.positions.text[i] in " \t":
            i += 1
        return i

    def _parse_table(self, parent_name: Key | None = None, parent: Any = None) -> Any:
        self._header_next = (self._idx, self.positions.text.startswith("[[", self._idx))
        return super()._parse_table(parent_name, parent)

    def _parse_key(self) -> Key:
        start = self._skip_spaces()
        header, self._header_next = self._header_next, None
        key = super()._parse_key()
        parts = tuple(k.key for k in key)
        if header:
            self._enter_table(parts, start, *header)
        else:
            self._pending = (parts, start)
        return key

    def _enter_table(
        self, parts: tuple[str, ...], start: int, header_start: int, is_aot: bool
    ) -> None:
        pos = self.positions
        path: Path = ()
        for i, part in enumerate(parts):
            path += (part,)
            pos.keys.setdefault(path, start)
            last = i == len(parts) - 1
            if last and is_aot:
                n = self._aot_counts.get(path, 0)
                self._aot_counts[path] = n + 1
                path += (n,)
            elif path in self._aot_counts:
                path += (self._aot_counts[path] - 1,)
        if path in pos.headers and not is_aot:
            pos.duplicates.append((path, header_start))
        pos.headers.setdefault(path, header_start)
        self._frames = [_Frame(path, False)]

    def _parse_value(self) -> Any:
        frame = self._frames[-1]
        pos = self.positions
        if frame.is_array:
            path = (*frame.path, frame.count)
            frame.count += 1
        else:
            parts, key_start = self._pending or ((), self._idx)
            self._pending = None
            path = frame.path + parts
            if path in pos.values or path in pos.headers:
                pos.duplicates.append((path, key_start))
            pos.keys.setdefault(path, key_start)
            for n in range(len(frame.path) + 1, len(path)):
                pos.keys.setdefault(path[:n], key_start)
        start = self._idx
        nested = self._current in "[{"
        if nested:
            self._frames.append(_Frame(path, self._current == "["))
        try:
            item = super()._parse_value()
        finally:
            if nested:
                self._frames.pop()
        pos.values.setdefault(path, (start, self._idx))
        return item


def parse(text: str) -> tuple[TOMLDocument, Positions]:
    """Parse TOML text; raises tomlkit's ParseError (with line and column) on a syntax error."""
    parser = PositionParser(text)
    return parser.parse(), parser.positions
