"""Streaming lines of a log file in large binary blocks, with bounded memory."""

from __future__ import annotations

from collections.abc import Iterator
from typing import BinaryIO

BLOCK = 1 << 20


class Lines:
    """Iterate the complete lines (without ``\\n``) of a binary file from its current position.

    After the iteration, ``tail`` holds the bytes after the last newline (a torn last line, or
    ``b""``). A line longer than the block is still returned whole.
    """

    def __init__(self, f: BinaryIO) -> None:
        self._f = f
        self.tail = b""

    def __iter__(self) -> Iterator[bytes]:
        rest = b""
        read = self._f.read
        while block := read(BLOCK):
            parts = (rest + block).split(b"\n") if rest else block.split(b"\n")
            rest = parts.pop()
            yield from parts
        self.tail = rest

    def batches(self) -> Iterator[list[bytes]]:
        """The same lines, as the list of those complete in each block read (for a hot loop:
        no generator step per line). ``tail`` is set as by the iteration."""
        rest = b""
        read = self._f.read
        while block := read(BLOCK):
            parts = (rest + block).split(b"\n") if rest else block.split(b"\n")
            rest = parts.pop()
            if parts:
                yield parts
        self.tail = rest
