"""A bounded, incremental index of an audit log for the reviewer's viewer (no Textual here).

The viewer never holds a whole log in memory: `LogReader` reads only the bytes appended since its
last call (always in binary, read-only mode), and `LogIndex` keeps each timeline entry as a few
integers in columns (consecutive output chunks of one step folded into one entry; its time and
summary are read back from the file when it is drawn) and one `StepInfo` per step with the
first and last few output lines and the byte spans of its output records, so the full output can be
streamed back from the file on demand (`read_output_page`). Verification is not done here: the
viewer calls `annotui.audit.reader.verify`.
"""

from __future__ import annotations

from array import array
from bisect import bisect_right
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

import orjson

from annotui.audit.outcomes import record_outcome
from annotui.audit.reader import StepHeader, output_lines
from screens.step_key import shortest_fit

HEAD_LINES = 5
"""Output lines kept from the start of each step's output."""
TAIL_LINES = 5
"""Output lines kept from the end of each step's output."""
READ_CHUNK = 1 << 20
"""Bytes read per call while catching up with a file."""
SUMMARY_WIDTH = 120
CACHE_ENTRIES = 4096
"""Entries whose time and summary are kept after reading them back from the log."""
UNREADABLE = "(unreadable)"
GATE_FIELDS = ("ts", "probe", "value", "holds", "streak", "needed", "error")


@dataclass(frozen=True, slots=True)
class RawRecord:
    """One complete line of the log: where it is, and its parsed JSON (None if unparseable)."""

    line: int
    offset: int
    length: int
    data: dict[str, Any] | None


@dataclass(slots=True)
class Entry:
    """One row of the timeline. Output records of one step and stream fold into one entry."""

    line: int
    last_line: int
    ts: str
    event: str
    step_key: str | None
    stage_key: str | None
    summary: str
    lines: int = 0
    stream: str | None = None

    @property
    def time(self) -> str:
        """HH:MM:SS of the record's UTC timestamp."""
        return self.ts[11:19] if len(self.ts) >= 19 else self.ts


@dataclass(slots=True)
class StepInfo(StepHeader):
    """Everything the log says about one step (bounded: output is kept as head, tail, spans)."""

    confirmations: list[dict[str, Any]] = field(default_factory=list)
    evidence: list[dict[str, Any]] = field(default_factory=list)
    finished: dict[str, Any] | None = None
    skipped: dict[str, Any] | None = None
    unknown: str | None = None
    supervisor: list[dict[str, Any]] = field(default_factory=list)
    gates: list[dict[str, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    started: int = 0
    head: list[str] = field(default_factory=list)
    tail: deque[str] = field(default_factory=lambda: deque(maxlen=TAIL_LINES))
    output_lines: int = 0
    span_offsets: array[int] = field(default_factory=lambda: array("q"))
    """Byte offset of each output record, in order (with its length and number of lines)."""
    span_lengths: array[int] = field(default_factory=lambda: array("q"))
    span_lines: array[int] = field(default_factory=lambda: array("q"))

    @property
    def output_spans(self) -> list[tuple[int, int, int]]:
        """(byte offset, byte length, number of lines) of each output record, in order."""
        return list(zip(self.span_offsets, self.span_lengths, self.span_lines, strict=True))

    last: str | None = None
    """The outcome its records gave last (``annotui.audit.outcomes``: a step that failed and
    was then skipped is skipped), None while an attempt runs."""

    @property
    def outcome(self) -> str:
        """The step's last known outcome (as the reports and the Summary count it), else
        running, confirmed or shown."""
        if self.last is not None:
            return self.last
        if self.started:
            return "running"
        if self.confirmations:
            return "confirmed"
        return "shown"


class LogReader:
    """Reads complete lines appended to a log since the last call; never opens it for writing."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.offset = 0
        self.line = 0
        self._partial = b""

    @property
    def pending_tail(self) -> bytes:
        """Bytes after the last newline seen so far (a line still being written, or torn)."""
        return self._partial

    def size(self) -> int:
        return self.path.stat().st_size

    def read_new(self, max_bytes: int = READ_CHUNK) -> list[RawRecord]:
        """Parse up to ``max_bytes`` of new bytes into records; an unfinished line waits."""
        start = self.offset + len(self._partial)
        with self.path.open("rb") as f:
            f.seek(start)
            data = f.read(max_bytes)
        if not data:
            return []
        buf = self._partial + data
        records: list[RawRecord] = []
        pos = 0
        while True:
            nl = buf.find(b"\n", pos)
            if nl < 0:
                break
            raw = buf[pos:nl]
            self.line += 1
            records.append(RawRecord(self.line, self.offset + pos, len(raw), _parse(raw)))
            pos = nl + 1
        self.offset += pos
        self._partial = buf[pos:]
        return records


def _parse(raw: bytes) -> dict[str, Any] | None:
    try:
        value = orjson.loads(raw)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def _short(text: object, width: int = SUMMARY_WIDTH) -> str:
    one = " ".join(str(text).split())
    return one if len(one) <= width else one[: width - 1] + "…"


def summarize(rec: dict[str, Any]) -> str:
    """A one-line, human summary of one record for the timeline."""
    ev = rec.get("event", "?")
    g = rec.get
    if ev == "session.start":
        text = (
            f"{g('checklist_id')} {g('checklist_version')} ({g('mode')}) "
            f"by {g('operator')}@{g('host')}"
        )
    elif ev == "session.resume":
        text = f"resumed by {g('operator')}@{g('host')} ({g('mode')})"
        if g("torn_tail"):
            text += " — torn tail recorded"
        if g("unknown_steps"):
            text += f" — outcome unknown: {', '.join(g('unknown_steps'))}"
    elif ev == "var.set":
        text = f"{g('name')} = {g('value')} ({g('source')})"
    elif ev == "run.plan":
        stages = g("stages") or []
        steps = sum(len(s.get("steps", [])) for s in stages if isinstance(s, dict))
        text = f"{len(stages)} stages, {steps} steps"
    elif ev == "stage.start":
        text = f"[{g('index')}/{g('total')}] {g('title')}"
    elif ev == "stage.end":
        text = str(g("outcome"))
    elif ev == "step.shown":
        where = f" on {g('host')}" if g("host") else ""
        text = f"{g('title')}{where}" + (f": {g('command')}" if g("command") else "")
    elif ev == "step.confirmed":
        text = f"by {g('operator')}" + (f", typed {g('word')!r}" if g("word") else "")
        text += " (--yes)" if g("auto") else ""
    elif ev == "step.started":
        text = ("simulated" if g("simulated") else "running") + f", attempt {g('attempt', 1)}"
    elif ev == "step.output":
        text = f"{len(output_lines(rec))} lines ({g('stream')})"
    elif ev == "step.finished":
        text = str(g("outcome"))
        if g("exit_code") is not None:
            text += f", exit {g('exit_code')}"
        text += f", {float(g('duration') or 0):.2f} s"
        if g("expectation"):
            text += f"; {g('expectation')}"
        if g("message"):
            text += f"; {g('message')}"
    elif ev == "step.skipped":
        text = f"skipped by {g('operator')}: {g('reason')}"
    elif ev == "step.evidence":
        text = f"{g('operator')}: {g('text')}"
    elif ev == "step.unknown":
        text = str(g("reason"))
    elif ev == "supervisor.state":
        procs = g("processes") or {}
        text = f"{g('supervisor')} {g('when')}: " + ", ".join(f"{k}={v}" for k, v in procs.items())
    elif ev == "gate.eval":
        text = gate_text(rec)
    elif ev == "announce":
        text = str(g("text"))
    elif ev == "session.interrupted":
        text = str(g("reason"))
    elif ev == "error":
        text = str(g("message"))
    elif ev == "session.end":
        text = (
            f"{g('outcome')}, exit {g('exit_code')}: {g('steps_ok')} ok, "
            f"{g('steps_skipped')} skipped of {g('steps_total')}"
        )
    else:
        text = ", ".join(sorted(k for k in rec if k not in ("seq", "ts", "event", "prev", "hash")))
    return _short(text)


def gate_text(rec: dict[str, Any]) -> str:
    """One gate evaluation as the operator saw it (plain mode's words)."""
    value = rec.get("error") or rec.get("value")
    state = "holds" if rec.get("holds") else "does not hold yet"
    streak = f"{rec.get('streak')}/{rec.get('needed')} in a row"
    return f"{rec.get('probe')} = {value}: {state} ({streak})"


class LogIndex:
    """Timeline entries and per-step facts, built record by record (in order).

    Entries are columns of machine integers (a million records cost a few tens of MB, not one
    object each); an entry's time and summary are read back from the log when it is shown
    (`entry`), a few hundred at a time at most, through a small cache.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.steps: dict[str, StepInfo] = {}
        self.stages: list[str] = []
        self.header: dict[str, Any] = {}
        self.records = 0
        self.longest_step = 0
        """Length of the longest step key (the timeline's step column)."""
        self.fit_step = 0
        """The widest of the keys' shortest fits (`screens.step_key.shortest_fit`)."""
        self._first = array("q")
        """Log line of each entry's first record (ascending)."""
        self._last = array("q")
        self._offset = array("q")
        self._length = array("q")
        self._lines = array("q")
        """Output lines of an output entry (its records folded), else 0."""
        self._event = array("l")
        self._stream = array("l")
        self._step = array("l")
        self._stage = array("l")
        self._names: list[str] = []
        self._ids: dict[str, int] = {}
        self._groups: dict[tuple[int, int], array[int]] = {}
        """Entry positions by (stage name id, step key id), -1 for none: what filters pick."""
        self._lowers: dict[int, str] = {}
        self._cache: dict[int, tuple[str, str]] = {}
        self._file: BinaryIO | None = None

    def __len__(self) -> int:
        return len(self._first)

    def _id(self, name: str | None) -> int:
        if name is None:
            return -1
        found = self._ids.get(name)
        if found is None:
            found = self._ids[name] = len(self._names)
            self._names.append(name)
        return found

    def _name(self, ident: int) -> str | None:
        return self._names[ident] if ident >= 0 else None

    def step_for(self, key: str, stage_key: str | None = None) -> StepInfo:
        info = self.steps.get(key)
        if info is None:
            stage = stage_key or key.rsplit("/", 1)[0]
            info = self.steps[key] = StepInfo(key=key, stage_key=stage)
            self.longest_step = max(self.longest_step, len(key))
            self.fit_step = max(self.fit_step, shortest_fit(key))
            self._add_stage(stage)
        return info

    def _add_stage(self, stage: str) -> None:
        if stage and stage not in self.stages:
            self.stages.append(stage)

    def add(self, records: list[RawRecord]) -> tuple[int, list[int]]:
        """Fold records in; return (entries before them, positions of older entries that grew)."""
        before = len(self._first)
        changed: list[int] = []
        for raw in records:
            self.records += 1
            grew = self._add_one(raw)
            if grew is not None and grew < before and grew not in changed:
                changed.append(grew)
        for pos in changed:
            self._cache.pop(pos, None)
        return before, changed

    def _append(self, raw: RawRecord, event: str, step: str | None, stage: str | None) -> None:
        pos = len(self._first)
        self._first.append(raw.line)
        self._last.append(raw.line)
        self._offset.append(raw.offset)
        self._length.append(raw.length)
        self._lines.append(0)
        self._event.append(self._id(event))
        self._stream.append(-1)
        step_id, stage_id = self._id(step), self._id(stage)
        self._step.append(step_id)
        self._stage.append(stage_id)
        group = self._groups.get((stage_id, step_id))
        if group is None:
            group = self._groups[stage_id, step_id] = array("q")
        group.append(pos)

    def _add_one(self, raw: RawRecord) -> int | None:
        """Fold one record in; the position of the existing entry it grew, if it did."""
        rec = raw.data
        if rec is None:
            self._append(raw, UNREADABLE, None, None)
            return None
        ev = str(rec.get("event", "?"))
        step_key = rec.get("step_key") if isinstance(rec.get("step_key"), str) else None
        stage_key = rec.get("stage_key") if isinstance(rec.get("stage_key"), str) else None
        if ev == "session.start" and not self.header:
            self.header = {k: v for k, v in rec.items() if k not in ("prev", "hash")}
        if ev == "run.plan":
            self._plan(rec)
        if ev == "stage.start" and stage_key:
            self._add_stage(stage_key)
        info = self.step_for(step_key, stage_key) if step_key else None
        if info is not None:
            self._step_fact(info, ev, rec, raw)
            stage_key = info.stage_key
        if ev == "step.output":
            n = len(output_lines(rec))
            stream = self._id(str(rec.get("stream")))
            last = len(self._first) - 1
            if (
                last >= 0
                and self._name(self._event[last]) == "step.output"
                and self._name(self._step[last]) == step_key
                and self._stream[last] == stream
            ):
                self._last[last] = raw.line
                self._lines[last] += n
                return last
            self._append(raw, ev, step_key, stage_key)
            self._lines[-1] = n
            self._stream[-1] = stream
            return None
        self._append(raw, ev, step_key, stage_key)
        return None

    def _plan(self, rec: dict[str, Any]) -> None:
        for stage in rec.get("stages") or []:
            if not isinstance(stage, dict):
                continue
            self._add_stage(str(stage.get("key", "")))
            for step in stage.get("steps") or []:
                if isinstance(step, dict) and step.get("key"):
                    info = self.step_for(str(step["key"]), str(stage.get("key", "")))
                    info.take(step)

    def _step_fact(self, info: StepInfo, ev: str, rec: dict[str, Any], raw: RawRecord) -> None:
        info.last = record_outcome(rec) or info.last
        if ev == "step.shown":
            info.take(rec)
        elif ev == "step.confirmed":
            info.confirmations.append({k: rec.get(k) for k in ("ts", "operator", "word", "auto")})
        elif ev == "step.started":
            info.started += 1
            info.finished = None
            info.unknown = None
            info.last = None
        elif ev == "step.output":
            lines = output_lines(rec)
            room = HEAD_LINES - len(info.head)
            if room > 0:
                info.head.extend(lines[:room])
            info.tail.extend(lines[-TAIL_LINES:])
            info.output_lines += len(lines)
            info.span_offsets.append(raw.offset)
            info.span_lengths.append(raw.length)
            info.span_lines.append(len(lines))
        elif ev == "step.finished":
            info.finished = {
                k: rec.get(k)
                for k in ("outcome", "exit_code", "duration", "expectation", "message")
            }
        elif ev == "step.skipped":
            info.skipped = {k: rec.get(k) for k in ("reason", "operator", "ts")}
        elif ev == "step.evidence":
            info.evidence.append({k: rec.get(k) for k in ("prompt", "text", "operator", "ts")})
        elif ev == "step.unknown":
            info.unknown = str(rec.get("reason"))
        elif ev == "supervisor.state":
            info.supervisor.append({k: rec.get(k) for k in ("supervisor", "when", "processes")})
        elif ev == "gate.eval":
            info.gates.append({k: rec.get(k) for k in GATE_FIELDS})
        elif ev in ("announce", "error", "session.interrupted"):
            info.notes.append(summarize(rec))

    # -- entries, read back from the log -------------------------------------------------------

    def entry(self, pos: int) -> Entry:
        """The timeline row at position ``pos`` (its time and summary read from the log)."""
        event = self._names[self._event[pos]]
        step, stage = self._name(self._step[pos]), self._name(self._stage[pos])
        lines, stream = self._lines[pos], self._name(self._stream[pos])
        cached = self._cache.get(pos)
        if cached is None:
            rec = self._record(pos)
            if rec is None:
                cached = ("", "not a JSON object")
            elif event == "step.output":
                cached = (str(rec.get("ts", "")), "")
            else:
                cached = (str(rec.get("ts", "")), summarize(rec))
            if len(self._cache) >= CACHE_ENTRIES:
                self._cache.clear()
            self._cache[pos] = cached
        ts, summary = cached
        if event == "step.output":
            summary = f"{lines} lines ({stream})"
        return Entry(
            self._first[pos], self._last[pos], ts, event, step, stage, summary, lines, stream
        )

    def _record(self, pos: int) -> dict[str, Any] | None:
        if self._file is None:
            self._file = self.path.open("rb")
        self._file.seek(self._offset[pos])
        return _parse(self._file.read(self._length[pos]))

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None

    @property
    def entries(self) -> list[Entry]:
        """Every entry (reads the whole log back: for small logs and tests)."""
        return [self.entry(pos) for pos in range(len(self._first))]

    def position_of(self, line: int) -> int | None:
        """The position of the entry that holds log line ``line``, if any."""
        pos = bisect_right(self._first, line) - 1
        return pos if pos >= 0 and line <= self._last[pos] else None

    def line_at(self, pos: int) -> int:
        return self._first[pos]

    def outcome_at(self, pos: int) -> str | None:
        """The step's outcome for a step's row; a stage's or the session's for their ends."""
        step = self._name(self._step[pos])
        if step is not None:
            info = self.steps.get(step)
            return info.outcome if info else None
        if self._names[self._event[pos]] in ("stage.end", "session.end"):
            rec = self._record(pos)
            return str(rec.get("outcome")) if rec else None
        return None

    def outcomes(self) -> list[str]:
        return sorted({info.outcome for info in self.steps.values()})

    def view(self, stage: str | None, step: str, outcome: str | None) -> Sequence[int] | None:
        """Positions of the entries that pass the filters (stage key, step substring, step
        outcome), ascending; None when nothing filters (every entry)."""
        if not (stage or step or outcome):
            return None
        picked: list[array[int]] = []
        needle = step.lower()
        for (stage_id, step_id), group in self._groups.items():
            key = self._name(step_id)
            if stage and self._name(stage_id) != stage:
                continue
            if step and (key is None or needle not in self._lower(step_id)):
                continue
            if outcome:
                info = self.steps.get(key) if key is not None else None
                if info is None or info.outcome != outcome:
                    continue
            picked.append(group)
        if len(picked) == 1:
            return picked[0]
        if sum(len(group) for group in picked) == len(self._first):
            return range(len(self._first))  # every entry passes: nothing to merge
        merged = array("q")
        ordered = True
        for group in picked:
            if ordered and merged and group and group[0] < merged[-1]:
                ordered = False
            merged.extend(group)
        if ordered:
            # groups picked in the order they first appear; each one a single run (a step
            # seen once, as in a run without resume) leaves nothing to sort
            return merged
        # runs of ascending positions: Timsort merges them in linear time
        return array("q", sorted(merged))

    def _lower(self, ident: int) -> str:
        """A name in lower case (the step filter's), made once per name."""
        lower = self._lowers.get(ident)
        if lower is None:
            lower = self._lowers[ident] = self._names[ident].lower()
        return lower


def read_output_page(
    path: Path, spans: list[tuple[int, int, int]], first: int, count: int
) -> list[str]:
    """Lines ``first`` .. ``first+count`` of a step's output, read from the log by byte spans.

    Only the records that hold those lines are read; the file is opened read-only.
    """
    out: list[str] = []
    index = 0
    with path.open("rb") as f:
        for offset, length, n in spans:
            if index + n <= first:
                index += n
                continue
            if len(out) >= count:
                break
            f.seek(offset)
            rec = _parse(f.read(length)) or {}
            lines = output_lines(rec)
            skip = max(0, first - index)
            out.extend(lines[skip : skip + count - len(out)])
            index += n
    return out
