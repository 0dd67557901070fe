"""Streaming lines of a log file in large binary blocks, with bounded memory."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Protocol

BLOCK = 1 << 20


class Readable(Protocol):
    """What lines are read from: a binary file, or anything with its ``read``."""

    def read(self, n: int, /) -> bytes: ...


class Lines:
    """Iterate the complete lines (without ``\\n``) of a binary file from its current position.

    After the iteration, ``tail`` holds the bytes after the last newline (a torn last line, or
    ``b""``). A line longer than the block is still returned whole.
    """

    def __init__(self, f: Readable) -> None:
        self._f = f
        self.tail = b""

    def __iter__(self) -> Iterator[bytes]:
        for batch in self.batches():
            yield from batch

    def batches(self) -> Iterator[list[bytes]]:
        """The same lines, as the list of those complete in each block read (for a hot loop:
        no generator step per line). ``tail`` is set as by the iteration."""
        rest = b""
        read = self._f.read
        while block := read(BLOCK):
            parts = block.split(b"\n")
            if rest:  # the line begun in the block before: joined to its end, not the block
                parts[0] = rest + parts[0]
            rest = parts.pop()
            if parts:
                yield parts
        self.tail = rest
