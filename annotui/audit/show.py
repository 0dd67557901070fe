"""`annotui audit show`: a human-readable timeline of an audit log, streamed record by record."""

from __future__ import annotations

import sys
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from annotui.audit.reader import output_lines, read_records
from annotui.audit.shape import problem
from annotui.audit.verify import VerifyResult, verify
from annotui.text import for_terminal, one_line

OUTPUT_EDGE = 3
"""Output lines shown at the start and at the end of a step's output."""
MALFORMED = "MALFORMED"
"""How a row starts for a record its readers cannot use (see ``annotui.audit.shape``)."""


def clean(text: Any) -> str:
    """One printable line (``annotui.text.one_line``: newlines shown as '⏎', terminal escape
    sequences and other control characters in a visible form), tabs as spaces."""
    return one_line(text).replace("\t", " ")


def _states(processes: dict[str, str]) -> str:
    return ", ".join(f"{name} {state}" for name, state in sorted(processes.items())) or "none"


TEMPLATES = {
    "stage.start": "stage {index}/{total}: {title}",
    "stage.end": "stage {outcome}",
    "step.spawned": "command running as process group {pgid} on {host}",
    "step.skipped": "skipped by {operator}: {reason}",
    "step.refused": "refused: {operator} tried to {action}: {reason}",
    "step.evidence": "evidence by {operator}: {prompt}: {text}",
    "step.unknown": "outcome unknown: {reason}",
    "announce": "{text}",
    "approval.refused": "approval refused ({key}): {reason}",
    "ansible.task": "task started: {task} (play {play})",
    "notify.send": "notification #{notify} ({on}) to {target}: {title}",
    "session.interrupted": "interrupted: {reason}",
    "error": "error: {message}",
    "session.end": (
        "{outcome}, exit {exit_code}: {steps_ok}/{steps_total} steps ok, {steps_skipped} skipped"
    ),
}
"""The summary of each event that only names its fields (a missing field reads None)."""


class _Fields(dict[str, Any]):
    def __missing__(self, key: str) -> None:
        return None


def summarize(rec: dict[str, Any]) -> str:
    """A one-line description of one record (not step.output: see OutputGroup)."""
    e = rec.get("event")
    if isinstance(e, str) and e in TEMPLATES:  # a forged event may be any JSON value, a list too
        return TEMPLATES[e].format_map(_Fields(rec))
    g = rec.get
    if e == "session.start":
        return (
            f"{g('checklist_id')} {g('checklist_version')} ({g('mode')}) by {g('operator')} on "
            f"{g('host')} from {g('ssh_connection') or 'a local terminal'}; "
            f"{g('checklist_path')} sha256 {g('checklist_sha256')}"
        )
    if e == "session.resume":
        extra = []
        if g("torn_tail") is not None:
            extra.append(f"torn last line recorded: {g('torn_tail')!r}")
        if g("checklist_changed"):
            extra.append(f"checklist CHANGED (sha256 {g('checklist_sha256')})")
        unknown: list[str] = g("unknown_steps") or []
        if unknown:
            extra.append(f"outcome unknown: {', '.join(unknown)}")
        head = f"resumed by {g('operator')} on {g('host')} ({g('mode')})"
        return "; ".join([head, *extra])
    if e == "var.set":
        return f"{g('name')} = {g('value')} ({g('source')}{', secret' if g('secret') else ''})"
    if e == "run.plan":
        stages = g("stages") or []
        return f"{len(stages)} stages, {sum(len(s.get('steps', [])) for s in stages)} steps"
    if e == "step.shown":
        where = f" on {g('host')}" if g("host") else ""
        cwd = f" in {g('cwd')}" if g("cwd") else ""
        sim = " (rehearsal: simulated)" if g("simulated") else ""
        cmd = f": {g('command')}" if g("command") else ""
        return f"{g('kind')} {g('title')!r}{where}{cwd}{sim}{cmd}"
    if e == "step.confirmed":
        word = f' typing "{g("word")}"' if g("word") else ""
        if g("how") == "confirm = none":
            return "confirmed: automatic (confirm = none)"
        return f"confirmed by {g('operator')}{word}{' (--yes)' if g('auto') else ''}"
    if e == "step.started":
        attempt = f" (attempt {g('attempt')})" if (g("attempt") or 1) > 1 else ""
        return ("simulated (would run)" if g("simulated") else "started") + attempt
    if e == "step.finished":
        parts = [str(g("outcome"))]
        if g("exit_code") is not None:
            parts.append(f"exit {g('exit_code')}")
        parts.append(f"{g('duration') or 0:.2f} s")
        parts += [str(g(k)) for k in ("expectation", "message") if g(k)]
        return ", ".join(parts)
    if e == "supervisor.state":
        return f"{g('supervisor')} {g('when')}: {_states(g('processes') or {})}"
    if e == "gate.eval":
        holds = "holds" if g("holds") else "does not hold"
        err = f" (error: {g('error')})" if g("error") else ""
        return f"{g('probe')} = {g('value')}: {holds}, {g('streak')}/{g('needed')}{err}"
    if e == "approval.wait":
        who = ", ".join(map(str, g("approvers") or []))
        return f"waiting for {g('needed')} approval(s) by {who}"
    if e == "approval.granted":
        note = f": {g('note')}" if g("note") else ""
        return f"approved by {g('principal')} ({g('key')}){note}"
    if e == "seal":
        return f"seal, signed by {g('key')}" if g("key") else "seal (unsigned)"
    if e == "ansible.result":
        took = f", {g('duration'):.2f} s" if isinstance(g("duration"), int | float) else ""
        said = f": {g('message')}" if g("message") else ""
        return f"{g('host')} | {g('task')}: {g('status')} ({g('action')}{took}){said}"
    if e == "ansible.recap":
        return recap_text(rec)
    if e == "notify.result":
        took = f" in {g('duration'):.2f} s" if isinstance(g("duration"), int | float) else ""
        said = f": {g('message')}" if g("message") else ""
        return (
            f"notification #{g('notify')} ({g('on')}) to {g('target')}: {g('status')}{took}{said}"
        )
    rest = {k: v for k, v in rec.items() if k not in ("seq", "ts", "event", "prev", "hash")}
    return str(rest)


RECAP_COUNTS = ("ok", "changed", "failed", "unreachable", "skipped", "rescued", "ignored")


def host_counts(rec: dict[str, Any]) -> dict[str, dict[str, int]]:
    """An ansible.recap's hosts and their whole-number counts (anything else in them is left
    out: the shape check only knows `hosts` is an object)."""
    hosts = rec.get("hosts")
    out: dict[str, dict[str, int]] = {}
    for host, counts in hosts.items() if isinstance(hosts, dict) else ():
        items = counts.items() if isinstance(counts, dict) else ()
        out[str(host)] = {str(k): v for k, v in items if type(v) is int}
    return out


def recap_text(rec: dict[str, Any]) -> str:
    """'recap successful, exit 0: 3 hosts, ok 6, changed 3; failed on web2; not finished: ...'"""
    hosts = host_counts(rec)
    totals = {k: sum(c.get(k, 0) for c in hosts.values()) for k in RECAP_COUNTS}
    counts = ", ".join(f"{k} {n}" for k, n in totals.items() if n)
    head = f"recap {rec.get('status')}, exit {rec.get('rc')}: {len(hosts)} hosts"
    parts = [f"{head}, {counts}" if counts else head]
    failed = [h for h, c in hosts.items() if c.get("failed")]
    unreachable = [h for h, c in hosts.items() if c.get("unreachable")]
    if failed:
        parts.append(f"failed on {', '.join(failed)}")
    if unreachable:
        parts.append(f"unreachable: {', '.join(unreachable)}")
    if rec.get("unfinished"):
        parts.append(f"not finished (outcome unknown): {', '.join(map(str, rec['unfinished']))}")
    return "; ".join(parts)


@dataclass(slots=True)
class OutputGroup:
    """Consecutive step.output records of one step, kept as counts plus the first and last lines
    (bounded memory however long the output)."""

    first: dict[str, Any]
    counts: dict[str, int] = field(default_factory=dict)
    head: list[str] = field(default_factory=list)
    tail: deque[str] = field(default_factory=lambda: deque(maxlen=OUTPUT_EDGE))

    def add(self, rec: dict[str, Any]) -> None:
        stream = rec.get("stream", "stdout")
        lines = output_lines(rec)
        self.counts[stream] = self.counts.get(stream, 0) + len(lines)
        mark = "! " if stream == "stderr" else "  "
        for line in lines:
            if len(self.head) < OUTPUT_EDGE:
                self.head.append(mark + clean(line))
            else:
                self.tail.append(mark + clean(line))

    def render(self) -> list[str]:
        total = sum(self.counts.values())
        by = ", ".join(f"{s} {n}" for s, n in sorted(self.counts.items()))
        out = [f"output: {total} line{'s' if total != 1 else ''} ({by})"]
        out += self.head
        hidden = total - len(self.head) - len(self.tail)
        if hidden > 0:
            out.append(f"  … {hidden} more line{'s' if hidden != 1 else ''} …")
        out += self.tail
        return out


@dataclass(frozen=True, slots=True)
class Row:
    ts: str
    seq: Any
    event: str
    step: str
    lines: list[str]
    """The summary line, then (for output) the output lines."""


def _row(rec: dict[str, Any], lines: list[str]) -> Row:
    ts = str(rec.get("ts", ""))
    seq = rec.get("seq")
    return Row(
        clean(ts[11:23]),
        seq if type(seq) is int else clean(repr(seq)),
        clean(rec.get("event")),
        clean(rec.get("step_key") or ""),
        lines,
    )


def rows(records: Iterable[dict[str, Any]], match: Callable[[str], bool] | None) -> Iterator[Row]:
    """Timeline rows; consecutive output records of one step become one row."""
    group: OutputGroup | None = None
    for rec in records:
        key = rec.get("step_key")
        if match is not None and not (isinstance(key, str) and match(key)):
            continue
        bad = problem(rec)
        if group is not None and (
            bad is not None
            or rec.get("event") != "step.output"
            or key != group.first.get("step_key")
        ):
            yield _row(group.first, group.render())
            group = None
        if bad is not None:
            yield _row(rec, [f"{MALFORMED}: {bad}"])
        elif rec.get("event") == "step.output":
            if group is None:
                group = OutputGroup(rec)
            group.add(rec)
        else:
            yield _row(rec, [clean(summarize(rec))])
    if group is not None:
        yield _row(group.first, group.render())


def step_matcher(step: str) -> Callable[[str], bool]:
    """A full key (`deploy[staging]/stop-anno`) matches itself; a step id (`stop-anno`) matches
    that step in every stage."""
    if "/" in step:
        return lambda key: key == step
    return lambda key: key.rsplit("/", 1)[-1] == step


def planned_keys(path: Path) -> list[str]:
    keys: list[str] = []
    for rec in read_records(path):
        if rec.get("event") == "run.plan" and problem(rec) is None:
            keys = [s["key"] for st in rec["stages"] for s in st.get("steps", [])]
    return keys


def status_line(result: VerifyResult, path: Path) -> str:
    if result.ok:
        return f"verify: {result.describe(path)}"
    return f"verify: NOT INTACT: {result.describe(path)}"


def show(path: Path, step: str | None, out: TextIO | None = None) -> int:
    """Print the timeline (to stdout by default); returns the exit code (2: no such step)."""
    out = out or sys.stdout
    result = verify(path)
    match = step_matcher(step) if step else None
    tty = out.isatty()
    printer = _rich_printer(out) if tty else None
    _emit(out, printer, status_line(result, path), "bold green" if result.ok else "bold red")
    shown = 0
    for row in rows(read_records(path), match):
        shown += 1
        head = f"{row.ts}  #{row.seq!s:<6} {row.event:<19} {row.step:<28} {row.lines[0]}"
        _emit(out, printer, head, _style(row))
        for line in row.lines[1:]:
            _emit(out, printer, " " * 8 + line, "dim")
    if step and not shown:
        match = step_matcher(step)
        if any(match(k) for k in planned_keys(path)):
            _emit(out, printer, f"step {step}: planned but never reached", "yellow")
            return 0
        print(f"annotui audit show: no step {clean(repr(step))} in {clean(path)}", file=sys.stderr)
        return 2
    return 0


def _style(row: Row) -> str:
    text = row.lines[0]
    if text.startswith(MALFORMED):
        return "bold red"
    if row.event in ("error", "session.interrupted", "step.unknown") or text.startswith(
        ("failed", "cancelled", "timeout")
    ):
        return "red"
    if row.event == "step.finished" and text.startswith(("ok", "done")):
        return "green"
    if row.event in ("ansible.result", "notify.result"):  # styling only: a guess is harmless
        if any(f": {s}" in text for s in ("failed", "unreachable", "timeout")):
            return "red"
        return "yellow" if ": changed (" in text else ""
    if row.event == "ansible.recap" and ("failed on" in text or "unreachable:" in text):
        return "red"
    if row.event in ("step.skipped",) or text.startswith("would-run"):
        return "yellow"
    return ""


def _rich_printer(out: TextIO) -> Callable[[str, str], None]:
    from rich.console import Console
    from rich.text import Text

    console = Console(file=out, highlight=False, soft_wrap=True)
    return lambda line, style: console.print(Text(line, style=style))


def _emit(out: TextIO, printer: Callable[[str, str], None] | None, line: str, style: str) -> None:
    line = for_terminal(line)  # every row is built clean: this holds whatever a later change does
    if printer is None:
        out.write(line + "\n")
    else:
        printer(line, style)
