"""Load errors as an author reads them: ``FILE:LINE:COL: message``."""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import NamedTuple

from annotui.text import one_line


@dataclass(frozen=True, slots=True)
class Diagnostic:
    """One problem in a checklist file; line and column are 1-based. Printed as one line whatever
    the file name or the message holds (a value quoted in it may hold a newline or a terminal
    escape: see ``annotui.text.one_line``)."""

    file: str
    line: int
    col: int
    message: str

    def __str__(self) -> str:
        return f"{one_line(self.file)}:{self.line}:{self.col}: {one_line(self.message)}"


class ChecklistError(Exception):
    """A checklist that cannot be used; holds every problem found, in source order."""

    def __init__(self, diagnostics: list[Diagnostic]) -> None:
        self.diagnostics = sorted(diagnostics, key=lambda d: (d.line, d.col))
        super().__init__("\n".join(str(d) for d in self.diagnostics))


def did_you_mean(word: str, candidates: Iterable[str]) -> str:
    """' (did you mean 'x'?)' for the closest candidate, or ''."""
    close = difflib.get_close_matches(word, list(candidates), n=1, cutoff=0.6)
    return f"; did you mean {close[0]!r}?" if close else ""


def listing(names: Iterable[str]) -> str:
    """'a, b, c' or '(none)'."""
    names = list(names)
    return ", ".join(names) if names else "(none)"


class Finding(NamedTuple):
    """A problem found in the parsed data, before it is given a line and column.

    `where` says what to point at: the "key", the "value" (a table: its header), the "table"
    header, or "inside" the string value at character `index`.
    """

    path: tuple[str | int, ...]
    where: str
    message: str
    index: int = 0  # type: ignore[assignment]  # a field, shadowing tuple.index on purpose
