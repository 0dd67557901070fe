"""Collecting a step's output: redacted, chunked into StepOutput events, bounded in memory."""

from __future__ import annotations

import asyncio
from bisect import bisect_right
from collections.abc import Callable

from annotui.engine.redact import Redactor
from annotui.events import Event, StepOutput
from annotui.transport.base import MAX_LINE, Stream

CHUNK_BYTES = 256 * 1024
KEEP_STDOUT = 1 << 20
"""Bytes of stdout kept for expectations (checks print little; a flood is cut, never stored)."""

CUT_CHARS = MAX_LINE // 4 - 1
"""The fewest characters of a piece that a transport may have cut out of an overlong line:
transports deliver such a line in pieces of at least MAX_LINE bytes without a newline, and a
character is at most 4 bytes (SSH may drop one trailing CR). A shorter piece, or one holding a
newline, ends where a line ends."""


def _merge(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Ordered spans with overlapping ones joined."""
    out: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if out and start < out[-1][1]:
            if end > out[-1][1]:
                out[-1] = (out[-1][0], end)
        else:
            out.append((start, end))
    return out


class OutputCollector:
    """The output sink handed to transports: takes single lines (`__call__`) or blocks of whole
    lines (`text`, see `annotui.transport.base.OnLine`).

    Output becomes one StepOutput event per run of one stream, flushed whenever the producer
    pauses (the event loop goes idle) or 256 KiB have gathered: a slow command shows each line at
    once, a flood is written in big chunks. Only the first 1 MiB of stdout is kept, and only when
    an expectation needs it.

    Secrets are masked in every form (`Redactor`) even where the output is cut: the events of a
    stream joined by newlines equal its pieces joined by newlines, masked, and no form of a
    secret appears in them, nor where a piece that may be a transport's cut of an overlong line
    (`CUT_CHARS`) is joined to the next without the newline. To that end a flush before the end
    keeps back the last line(s) when their end may be the start of a form: always where the last
    piece may have been cut, and where the last lines are the first lines of a multi-line form;
    otherwise nothing waits for more output. `flush()` is the final flush: it emits everything,
    held-back text of both streams included. Order is kept per stream.
    """

    def __init__(
        self,
        step_key: str,
        emit: Callable[[Event], None],
        redact: Redactor,
        keep_stdout: bool,
        *,
        cut_chars: int = CUT_CHARS,
    ) -> None:
        self.step_key = step_key
        self._emit = emit
        self._redact = redact
        self._keep = keep_stdout
        self._cut_chars = cut_chars
        self._stream: Stream = "stdout"
        self._pending: list[str] = []
        self._cuts: list[bool] = []
        """Per pending piece: it may be a cut of an overlong line (only tracked with secrets)."""
        self._size = 0
        self._held: dict[Stream, tuple[list[str], list[bool]]] = {}
        """Pieces kept back from the stream that is not the current one."""
        self._scheduled = False
        self._stdout: list[str] = []
        self._kept = 0
        self.truncated = False

    def __call__(self, stream: Stream, line: str) -> None:
        self.text(stream, line)

    def text(self, stream: Stream, text: str) -> None:
        if stream != self._stream:
            self._flush(final=False)
            if self._pending:
                self._held[self._stream] = (self._pending, self._cuts)
            self._stream = stream
            self._pending, self._cuts = self._held.pop(stream, ([], []))
            self._size = sum(map(len, self._pending)) + len(self._pending)
        self._pending.append(text)
        if self._redact.forms:
            self._cuts.append(self._may_be_cut(text))
        self._size += len(text) + 1
        if self._keep and stream == "stdout":
            if self._kept < KEEP_STDOUT:
                self._stdout.append(text)
                self._kept += len(text) + 1
            else:
                self.truncated = True
        if self._size >= CHUNK_BYTES:
            self._flush(final=False)
        elif not self._scheduled:
            self._scheduled = True
            asyncio.get_running_loop().call_soon(self._idle_flush)

    def _may_be_cut(self, piece: str) -> bool:
        return len(piece) >= self._cut_chars and "\n" not in piece

    def _idle_flush(self) -> None:
        self._scheduled = False
        self._flush(final=False)

    def flush(self) -> None:
        """Emit everything gathered, held-back text included (call it when the command ended)."""
        self._flush(final=True)
        for stream in list(self._held):
            self._stream = stream
            self._pending, self._cuts = self._held.pop(stream)
            self._flush(final=True)

    def _flush(self, *, final: bool) -> None:
        pieces = self._pending
        if not pieces:
            return
        redact = self._redact
        if not redact.forms:  # nothing to mask: no scan, nothing held
            self._pending, self._size = [], 0
            self._emit(StepOutput(self.step_key, self._stream, "\n".join(pieces)))
            return
        cuts = self._cuts
        if len(cuts) != len(pieces):  # a secret was added while output gathered
            cuts = [self._may_be_cut(p) for p in pieces]
        text = "\n".join(pieces)
        n = len(text)
        spans = redact.spans(text)
        # where pieces that may be cuts end inside the text, mask what reads as a form when
        # they are joined to the next piece without the newline (the line as the command wrote it)
        joints: list[int] = []  # positions in `joined` of the newlines left out
        at = 0
        for piece, cut in zip(pieces[:-1], cuts, strict=False):
            at += len(piece)
            if cut:
                joints.append(at - len(joints))
            at += 1
        joined = text
        if joints:
            joined = "".join(p if c else p + "\n" for p, c in zip(pieces[:-1], cuts, strict=False))
            joined += pieces[-1]

            def pos(i: int) -> int:  # a position in `joined` -> in `text`
                return i + bisect_right(joints, i)

            spans = _merge(spans + [(pos(s), pos(e - 1) + 1) for s, e in redact.spans(joined)])
        if final:
            keep = n
        else:
            keep = redact.held_from(text, newline=True)
            if joints:
                keep = min(keep, pos(redact.held_from(joined, newline=True)))
            if cuts[-1]:
                keep = min(keep, redact.held_from(text, newline=False))
                if joints:
                    keep = min(keep, pos(redact.held_from(joined, newline=False)))
        if keep >= n:
            end = n
        else:  # emit whole lines only, and never part of a masked span
            end = text.rfind("\n", 0, keep)
            for start, stop in reversed(spans):
                if end < 0:
                    break
                if start <= end < stop:
                    end = text.rfind("\n", 0, start)
            if end < 0:
                return
        self._emit(
            StepOutput(
                self.step_key,
                self._stream,
                redact.mask_spans(text[:end], [s for s in spans if s[1] <= end]),
            )
        )
        # keep what follows the newline at `end`
        rest: list[str] = []
        rest_cuts: list[bool] = []
        at = 0
        for i, piece in enumerate(pieces):
            if at + len(piece) >= end:
                if end >= n:
                    pass
                elif at + len(piece) == end:
                    rest, rest_cuts = pieces[i + 1 :], cuts[i + 1 :]
                else:
                    rest = [piece[end - at + 1 :], *pieces[i + 1 :]]
                    rest_cuts = cuts[i:]
                break
            at += len(piece) + 1
        self._pending, self._cuts = rest, rest_cuts
        self._size = sum(map(len, rest)) + len(rest)

    @property
    def stdout(self) -> str:
        return "\n".join(self._stdout)
