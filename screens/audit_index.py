"""A bounded, incremental index of an audit log for the reviewer's viewer (no Textual here).

The viewer never holds a whole log in memory: `LogReader` reads only the bytes appended since its
last call (always in binary, read-only mode), and `LogIndex` keeps one light `Entry` per record
(consecutive output chunks of one step folded into one entry) and one `StepInfo` per step with the
first and last few output lines and the byte spans of its output records, so the full output can be
streamed back from the file on demand (`read_output_page`). Verification is not done here: the
viewer calls `annotui.audit.reader.verify`.
"""

from __future__ import annotations

import json
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from annotui.audit.reader import StepHeader, output_lines

HEAD_LINES = 5
"""Output lines kept from the start of each step's output."""
TAIL_LINES = 5
"""Output lines kept from the end of each step's output."""
READ_CHUNK = 1 << 20
"""Bytes read per call while catching up with a file."""
SUMMARY_WIDTH = 120


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
    output_spans: list[tuple[int, int, int]] = field(default_factory=list)
    """(byte offset, byte length, number of lines) of each output record, in order."""

    @property
    def outcome(self) -> str:
        """The step's last known outcome: a StepFinished outcome, skipped, unknown, running..."""
        if self.finished is not None:
            return str(self.finished.get("outcome", "?"))
        if self.skipped is not None:
            return "skipped"
        if self.unknown is not None:
            return "unknown"
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
        value = json.loads(raw)
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
        text = f"{g('probe')} = {g('value')} holds={g('holds')} ({g('streak')}/{g('needed')})"
        if g("error"):
            text += f"; {g('error')}"
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


class LogIndex:
    """Timeline entries and per-step facts, built record by record (in order)."""

    def __init__(self) -> None:
        self.entries: list[Entry] = []
        self.by_line: dict[int, Entry] = {}
        self.steps: dict[str, StepInfo] = {}
        self.stages: list[str] = []
        self.header: dict[str, Any] = {}
        self.records = 0

    def step_for(self, key: str, stage_key: str | None = None) -> StepInfo:
        info = self.steps.get(key)
        if info is None:
            stage = stage_key or key.rsplit("/", 1)[0]
            info = self.steps[key] = StepInfo(key=key, stage_key=stage)
            self._add_stage(stage)
        return info

    def _add_stage(self, stage: str) -> None:
        if stage and stage not in self.stages:
            self.stages.append(stage)

    def add(self, records: list[RawRecord]) -> tuple[list[Entry], list[Entry]]:
        """Fold records in; return (new entries, existing entries whose row changed)."""
        new: list[Entry] = []
        changed: list[Entry] = []
        for raw in records:
            self.records += 1
            entry, grew = self._add_one(raw)
            if grew is not None:
                if grew not in new and grew not in changed:
                    changed.append(grew)
            elif entry is not None:
                new.append(entry)
        return new, changed

    def _add_one(self, raw: RawRecord) -> tuple[Entry | None, Entry | None]:
        rec = raw.data
        if rec is None:
            entry = Entry(raw.line, raw.line, "", "(unreadable)", None, None, "not a JSON object")
            self.entries.append(entry)
            self.by_line[entry.line] = entry
            return entry, None
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
        if ev == "step.output" and self.entries:
            last = self.entries[-1]
            n = len(output_lines(rec))
            if (
                last.event == "step.output"
                and last.step_key == step_key
                and last.stream == rec.get("stream")
            ):
                last.last_line = raw.line
                last.lines += n
                last.summary = f"{last.lines} lines ({last.stream})"
                return None, last
        entry = Entry(
            raw.line, raw.line, str(rec.get("ts", "")), ev, step_key, stage_key, summarize(rec)
        )
        if ev == "step.output":
            entry.lines = len(output_lines(rec))
            entry.stream = str(rec.get("stream"))
        self.entries.append(entry)
        self.by_line[entry.line] = entry
        return entry, None

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
        if ev == "step.shown":
            info.take(rec)
        elif ev == "step.confirmed":
            info.confirmations.append({k: rec.get(k) for k in ("ts", "operator", "word", "auto")})
        elif ev == "step.started":
            info.started += 1
            info.finished = None
            info.unknown = None
        elif ev == "step.output":
            lines = output_lines(rec)
            room = HEAD_LINES - len(info.head)
            if room > 0:
                info.head.extend(lines[:room])
            info.tail.extend(lines[-TAIL_LINES:])
            info.output_lines += len(lines)
            info.output_spans.append((raw.offset, raw.length, len(lines)))
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
            info.gates.append(dict(rec))
        elif ev in ("announce", "error", "session.interrupted"):
            info.notes.append(summarize(rec))

    def outcome_of(self, entry: Entry) -> str | None:
        if entry.step_key is None:
            return None
        info = self.steps.get(entry.step_key)
        return info.outcome if info else None

    def outcomes(self) -> list[str]:
        return sorted({info.outcome for info in self.steps.values()})

    def matches(self, entry: Entry, stage: str | None, step: str, outcome: str | None) -> bool:
        """Whether an entry passes the filters (stage key, step substring, step outcome)."""
        if stage and entry.stage_key != stage:
            return False
        if step and (entry.step_key is None or step.lower() not in entry.step_key.lower()):
            return False
        return not outcome or self.outcome_of(entry) == outcome


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
