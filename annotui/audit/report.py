"""`annotui audit report`: the run as a Markdown or a self-contained HTML page for the release
issue. Built from one streaming pass over the log; output is counted, never kept."""

from __future__ import annotations

import html
import io
import json
from array import array
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from annotui.audit.errors import AuditError
from annotui.audit.lines import Lines
from annotui.audit.outcomes import count, record_outcome
from annotui.audit.proof import SealSigner, SignOff, check_seals, checkpoint, read_signoffs
from annotui.audit.reader import StepHeader, output_lines
from annotui.audit.shape import problem
from annotui.audit.show import RECAP_COUNTS, clean, host_counts, recap_text, summarize
from annotui.audit.sshsig import AllowedSigners
from annotui.audit.verify import VerifyResult, verify
from annotui.text import for_terminal, markdown_code_block, markdown_inline

APPROVAL_EVENTS = ("approval.wait", "approval.granted", "approval.refused")
FAILED_OUTPUT_LINES = 10
"""Last output lines kept for a step that did not succeed."""
FIRST_OUTPUT_LINES = 5
"""First output lines of a step's last attempt, shown with its last ones."""
ANSIBLE_BAD_RESULTS = 20
"""Failed or unreachable ansible results named in a step's rows (all are counted)."""


@dataclass(slots=True)
class AttemptOutput:
    """Where the whole output of one attempt of a step is in the log (for the HTML report):
    the byte spans of its ``step.output`` records, read again when the page is written."""

    attempt: int
    lines: int = 0
    spans: array[int] = field(default_factory=lambda: array("q"))
    """Byte offset and length of each record, in pairs."""


@dataclass(slots=True)
class StepReport(StepHeader):
    outcome: str = "not reached"
    confirmations: list[str] = field(default_factory=list)
    evidence: list[str] = field(default_factory=list)
    exit_code: int | None = None
    duration: float | None = None
    expectation: str | None = None
    message: str | None = None
    skip: str | None = None
    supervisor: list[str] = field(default_factory=list)
    gate: str | None = None
    gate_evals: int = 0
    notes: list[str] = field(default_factory=list)
    output_lines: int = 0
    last_output: deque[str] = field(default_factory=lambda: deque(maxlen=FAILED_OUTPUT_LINES))
    first_output: list[str] = field(default_factory=list)
    started: str | None = None
    """When the step first started (its first step.started), else None."""
    ended: str | None = None
    """When its last attempt ended (finished or skipped)."""
    attempts: list[str] = field(default_factory=list)
    """Every attempt in order: 'attempt 1 failed (exit 1) at TS', 'skipped at TS: why'."""
    ansible_results: dict[str, int] = field(default_factory=dict)
    """An ansible step's last attempt: status -> how many host x task results."""
    ansible_tasks: int = 0
    ansible_bad: list[str] = field(default_factory=list)
    """Its first failed / unreachable results: 'web2 | restart: failed: the message'."""
    ansible_recap: dict[str, Any] | None = None
    outputs: list[AttemptOutput] = field(default_factory=list)
    """Each attempt's whole output, when the report keeps it (``collect(whole_output=True)``)."""

    def confirmed(self) -> str:
        return "; ".join(self.confirmations) or "—"


@dataclass(slots=True)
class StageReport:
    key: str
    title: str
    steps: dict[str, StepReport] = field(default_factory=dict)


@dataclass(slots=True)
class Notification:
    ts: str
    notify: Any
    on: str
    target: str
    title: str
    step: str
    result: str = "no result record"


@dataclass(slots=True)
class RunReport:
    path: Path
    verify: VerifyResult
    header: dict[str, Any] = field(default_factory=dict)
    started: str | None = None
    ended: str | None = None
    end: dict[str, Any] | None = None
    vars: dict[str, tuple[str, str]] = field(default_factory=dict)
    """name -> (value, source); secrets are '***'."""
    stages: dict[str, StageReport] = field(default_factory=dict)
    events: list[str] = field(default_factory=list)
    """Resumes, interruptions and errors, as 'time: text'."""
    malformed: list[str] = field(default_factory=list)
    """Records left out because their readers cannot use them (``shape.RecordError``)."""
    last_ts: str | None = None
    signoffs: list[SignOff] = field(default_factory=list)
    """The sign-offs of ``PATH.signoffs``, each judged (``annotui.audit.proof``)."""
    notifications: list[Notification] = field(default_factory=list)
    whole_output: bool = False
    """Keep every attempt's whole output (the HTML report shows it, collapsible)."""
    sealers: list[SealSigner] = field(default_factory=list)
    """With allowed signers: each seal's signer (principal) or why it does not verify."""

    def step(self, key: str) -> StepReport:
        stage_key = key.rsplit("/", 1)[0]
        stage = self.stages.setdefault(stage_key, StageReport(stage_key, stage_key))
        return stage.steps.setdefault(key, StepReport(key, stage_key))


def _plan(report: RunReport, stages: list[dict[str, Any]]) -> None:
    for st in stages:
        stage = report.stages.setdefault(st["key"], StageReport(st["key"], st.get("title", "")))
        stage.title = st.get("title") or stage.title
        for s in st.get("steps", []):
            report.step(s["key"]).take(s)


def _records_at(path: Path) -> Iterator[tuple[int, int, dict[str, Any]]]:
    """(byte offset, length, record) of every record (as ``reader.read_records`` skips what is
    not a JSON object), streamed."""
    try:
        f = open(path, "rb")  # noqa: SIM115 - closed by the with below, inside the generator
    except OSError as e:
        raise AuditError(f"cannot read {path}: {e.strerror}") from None
    offset = 0
    with f:
        for line in Lines(f):
            at, offset = offset, offset + len(line) + 1
            try:
                record = json.loads(line)
            except (ValueError, RecursionError):
                continue
            if isinstance(record, dict):
                yield at, len(line), record


def collect(
    path: Path, *, whole_output: bool = False, signers: AllowedSigners | None = None
) -> RunReport:
    """The report's facts; with ``signers`` every seal and sign-off names its principal (as
    ``audit verify --allowed-signers`` does), or why it does not verify."""
    report = RunReport(path=path, verify=verify(path), whole_output=whole_output)
    report.signoffs = read_signoffs(path, report.verify, signers)
    if signers is not None:
        report.sealers = check_seals(report.verify, signers)
    for at, length, rec in _records_at(path):
        _add(report, rec, at, length)
    return report


def _add(report: RunReport, rec: dict[str, Any], at: int = 0, length: int = 0) -> None:
    bad = problem(rec)
    if bad is not None:
        report.malformed.append(str(bad))
        return
    e, g, ts = rec.get("event"), rec.get, str(rec.get("ts", ""))
    report.last_ts = ts
    if e == "session.start":
        report.header = {k: v for k, v in rec.items() if k not in ("seq", "prev", "hash", "event")}
        report.started = ts
        return
    if e in ("session.resume", "session.interrupted", "error"):
        report.events.append(f"{ts}: {e}: {summarize(rec)}")
    if e == "notify.send":
        step = g("step_key") or ""
        report.notifications.append(
            Notification(ts, g("notify"), str(g("on")), str(g("target")), str(g("title")), step)
        )
    elif e == "notify.result":
        for n in report.notifications:  # the oldest notification of that table still waiting
            if n.notify == g("notify") and n.on == g("on") and n.result == "no result record":
                took = (
                    f" in {g('duration'):.2f} s" if isinstance(g("duration"), int | float) else ""
                )
                said = f": {g('message')}" if g("message") else ""
                n.result = f"{g('status')}{took}{said}"
                break
    if e == "session.end":
        report.end, report.ended = rec, ts
    elif e == "var.set":
        report.vars[str(g("name"))] = (str(g("value")), str(g("source")))
    elif e == "run.plan":
        _plan(report, g("stages") or [])
        if g("title"):  # the title rendered with the run's values (session.start: as written)
            report.header["checklist_title"] = g("title")
    elif e == "stage.start":
        key = str(g("stage_key"))
        report.stages.setdefault(key, StageReport(key, str(g("title")))).title = str(g("title"))
    step_key: Any = g("step_key")
    if not isinstance(step_key, str):
        return
    step = report.step(step_key)
    if e == "step.shown":
        step.take(rec)
    elif e == "step.confirmed":
        said = summarize(rec)
        step.confirmations.append(said.removeprefix("confirmed by ").removeprefix("confirmed: "))
    elif e == "step.started":
        step.outcome = "would-run" if g("simulated") else "started, no finish record"
        step.started = step.started or ts
        step.output_lines = 0
        step.last_output.clear()
        step.first_output.clear()
        step.ansible_results, step.ansible_tasks, step.ansible_bad = {}, 0, []
        step.ansible_recap = None
        if report.whole_output:
            step.outputs.append(AttemptOutput(len(step.outputs) + 1))
    elif e == "step.output":
        lines = output_lines(rec)
        if report.whole_output:
            if not step.outputs:
                step.outputs.append(AttemptOutput(1))
            step.outputs[-1].lines += len(lines)
            step.outputs[-1].spans.extend((at, length))
        step.output_lines += len(lines)
        missing = FIRST_OUTPUT_LINES - len(step.first_output)
        if missing > 0:
            step.first_output.extend(clean(x) for x in lines[:missing])
        step.last_output.extend(clean(x) for x in lines[-FAILED_OUTPUT_LINES:])
    elif e == "step.finished":
        step.outcome = str(record_outcome(rec))
        step.exit_code, step.duration = g("exit_code"), g("duration")
        step.expectation, step.message = g("expectation"), g("message")
        step.ended = ts
        code = f" (exit {g('exit_code')})" if g("exit_code") is not None else ""
        step.attempts.append(f"attempt {len(step.attempts) + 1}: {g('outcome')}{code} at {ts}")
    elif e == "step.skipped":
        step.outcome, step.skip = str(record_outcome(rec)), f"{g('reason')} (by {g('operator')})"
        step.ended = ts
        step.attempts.append(f"skipped at {ts} by {g('operator')}: {g('reason')}")
    elif e == "ansible.task":
        step.ansible_tasks += 1
    elif e == "ansible.result":
        status = str(g("status"))
        step.ansible_results[status] = step.ansible_results.get(status, 0) + 1
        if status in ("failed", "unreachable") and len(step.ansible_bad) < ANSIBLE_BAD_RESULTS:
            step.ansible_bad.append(f"{g('host')} | {g('task')}: {status}: {g('message')}")
    elif e == "ansible.recap":
        step.ansible_recap = rec
    elif e == "step.evidence":
        step.evidence.append(f"{g('prompt')}: {g('text')} (by {g('operator')})")
    elif e == "step.unknown":
        step.outcome = str(record_outcome(rec))
        step.notes.append(f"{ts}: outcome unknown: {g('reason')}")
    elif e == "supervisor.state":
        step.supervisor.append(summarize(rec))
    elif e == "gate.eval":
        step.gate_evals += 1
        step.gate = summarize(rec)
    elif e in ("session.interrupted", "error", "announce") or e in APPROVAL_EVENTS:
        step.notes.append(f"{ts}: {summarize(rec)}")


def _header_rows(r: RunReport) -> list[tuple[str, str]]:
    h = r.header
    end = r.end or {}
    rows = [
        (
            "checklist",
            f"{h.get('checklist_id')} {h.get('checklist_version')}: {h.get('checklist_title')}",
        ),
        ("checklist file", str(h.get("checklist_path"))),
        ("checklist sha256", str(h.get("checklist_sha256"))),
        ("operator", str(h.get("operator"))),
        ("SSH_CONNECTION", str(h.get("ssh_connection") or "none (local terminal)")),
        ("host", str(h.get("host"))),
        ("annotui version", str(h.get("annotui_version"))),
        ("mode", str(h.get("mode"))),
        ("started", str(r.started)),
        ("ended", str(r.ended) if r.ended else f"no session.end (last record {r.last_ts})"),
    ]
    if end:
        rows.append(("outcome", f"{summarize(end)}"))
    steps = [s.outcome for stage in r.stages.values() for s in stage.steps.values()]
    rows.append(("steps", count(steps).text()))
    return rows


def _step_rows(step: StepReport) -> list[tuple[str, str]]:
    rows = [("outcome", step.outcome)]
    rows += [(k, v) for k, v in (("started", step.started), ("ended", step.ended)) if v]
    if len(step.attempts) > 1:
        rows += [("attempt", a) for a in step.attempts]
    if step.host or step.cwd:
        rows.append(("where", f"{step.host or 'local'}" + (f" in {step.cwd}" if step.cwd else "")))
    rows.append(("confirmed", step.confirmed()))
    if step.exit_code is not None:
        rows.append(("exit code", str(step.exit_code)))
    if step.duration is not None:
        rows.append(("duration", f"{step.duration:.2f} s"))
    for label, value in (
        ("expectation", step.expectation),
        ("message", step.message),
        ("skipped", step.skip),
        ("gate", f"{step.gate} (after {step.gate_evals} evaluations)" if step.gate else None),
    ):
        if value:
            rows.append((label, str(value)))
    rows += [("evidence", x) for x in step.evidence]
    rows += [("supervisor", x) for x in step.supervisor]
    rows += [("note", x) for x in step.notes]
    rows += _ansible_rows(step)
    if step.output_lines:
        rows.append(("output", f"{step.output_lines} lines"))
    return rows


def _ansible_rows(step: StepReport) -> list[tuple[str, str]]:
    if not step.ansible_results and step.ansible_recap is None:
        return []
    n = sum(step.ansible_results.values())
    by = ", ".join(f"{k} {v}" for k, v in sorted(step.ansible_results.items()))
    rows = [("ansible", f"{n} host x task results over {step.ansible_tasks} tasks: {by or 'none'}")]
    bad = sum(step.ansible_results.get(k, 0) for k in ("failed", "unreachable"))
    rows += [("ansible failure", x) for x in step.ansible_bad]
    if bad > len(step.ansible_bad):
        rows.append(("ansible failure", f"... {bad - len(step.ansible_bad)} more in the log"))
    if step.ansible_recap is not None:
        rows.append(("ansible recap", recap_text(step.ansible_recap)))
    return rows


def _hosts_table(step: StepReport) -> tuple[list[str], list[list[str]]]:
    """The recap per host: its header and one row per host (nothing without a recap)."""
    if step.ansible_recap is None:
        return [], []
    hosts = host_counts(step.ansible_recap)
    unfinished = set(map(str, step.ansible_recap.get("unfinished") or []))
    rows = [
        [h, *(str(c.get(k, 0)) for k in RECAP_COUNTS), "yes" if h in unfinished else ""]
        for h, c in hosts.items()
    ]
    return ["host", *RECAP_COUNTS, "not finished"], rows


def _notification_rows(r: RunReport) -> list[list[str]]:
    return [
        [n.ts, f"#{n.notify}", n.on, n.target, n.step, n.title, n.result] for n in r.notifications
    ]


NOTIFICATION_HEADER = ["time", "notify", "on", "to", "step", "title", "result"]


def _excerpt(step: StepReport) -> list[str]:
    """The first and the last lines of a step's last attempt, the lines between counted."""
    if step.output_lines <= len(step.last_output):
        return list(step.last_output)
    first = step.first_output
    between = step.output_lines - len(first) - len(step.last_output)
    if between <= 0:  # the first and the last lines overlap: the last ones hold the rest
        return first[: step.output_lines - len(step.last_output)] + list(step.last_output)
    return [*first, f"[... {between} lines ...]", *step.last_output]


def _failed(step: StepReport) -> bool:
    return step.outcome not in ("ok", "done", "skipped", "would-run", "not reached")


def _verify_text(r: RunReport) -> str:
    return r.verify.describe(r.path) if r.verify.ok else f"NOT INTACT: {r.verify.describe(r.path)}"


def _proof_rows(r: RunReport) -> list[tuple[str, str]]:
    """Seal status, who sealed each stage and the sign-offs, for the top of both reports."""
    v = r.verify
    if v.ok and v.sealed:
        rows = [("seal", f"sealed: the final seal is record {v.seals[-1].seq}")]
    elif v.ok:
        rows = [("seal", f"UNSEALED: the log ends at seq {v.records - 1} without its final seal")]
    else:
        rows = [("seal", "not judged: the log is not intact")]
    judged = {c.seal.seq: c for c in r.sealers}
    for s in v.seals:
        signer = f"key {s.key}" if s.key else "unsigned"
        c = judged.get(s.seq)
        if c is not None and c.problem is not None:
            signer = f"NOT PROVEN: {c.problem}" + (f" (key {s.key})" if s.key else "")
        elif c is not None and c.principal is not None:
            signer = f"signed by {c.principal} (key {s.key})"
        rows.append((f"seal {s.seq}", f"{s.covers}: {signer}"))
    for so in r.signoffs:
        state = f"REJECTED ({so.problem})" if so.problem else "signature good"
        note = f": {so.note}" if so.note else ""
        who = f"{so.principal} " if so.principal and not so.problem else ""
        rows.append(("sign-off", f"{who}{so.key} at {so.ts}{note} [{state}]"))
    if not r.signoffs:
        rows.append(("sign-off", f"none yet (annotui audit sign-off {r.path} --sign-with KEY)"))
    return rows


def _checkpoint(r: RunReport) -> str | None:
    return checkpoint(r.verify) if r.verify.ok and r.verify.sealed else None


# -- Markdown --------------------------------------------------------------------------------


_md = markdown_inline
"""Every text from the log goes through this (or into ``markdown_code_block``): it renders as
the text on one line and creates no structure (see ``annotui.text``)."""


def markdown(r: RunReport) -> str:
    title = r.header.get("checklist_title") or r.header.get("checklist_id") or r.path.name
    out = [
        f"# Audit report: {_md(title)}",
        "",
        f"**Audit log:** {_md(r.path)}  ",
        f"**Verification:** {_md(_verify_text(r))}",
        *_malformed_note(r),
        "",
        "## Proof",
        "",
        "| | |",
        "|---|---|",
        *(f"| {_md(k)} | {_md(v)} |" for k, v in _proof_rows(r)),
        "",
    ]
    cp = _checkpoint(r)
    if cp is not None:
        out += [
            "Checkpoint (`annotui audit checkpoint`):",
            "",
            markdown_code_block(cp.rstrip()),
            "",
        ]
    out += [
        "## Session",
        "",
        "| | |",
        "|---|---|",
    ]
    out += [f"| {_md(k)} | {_md(v)} |" for k, v in _header_rows(r)]
    out += ["", "## Variables", "", "| name | value | source |", "|---|---|---|"]
    out += [f"| {_md(n)} | {_md(v)} | {_md(s)} |" for n, (v, s) in r.vars.items()]
    out += [
        "",
        "## Steps",
        "",
        "| step | outcome | confirmed | exit | duration |",
        "|---|---|---|---|---|",
    ]
    for stage in r.stages.values():
        for s in stage.steps.values():
            dur = f"{s.duration:.2f} s" if s.duration is not None else ""
            ex = "" if s.exit_code is None else s.exit_code
            cells = (s.key, s.outcome, s.confirmed(), ex, dur)
            out.append("| " + " | ".join(map(_md, cells)) + " |")
    for stage in r.stages.values():
        out += ["", f"## Stage {_md(stage.key)}: {_md(stage.title)}"]
        for s in stage.steps.values():
            crit = " (critical)" if s.critical else ""
            out += ["", f"### {_md(s.key)}: {_md(s.title)} [{_md(s.kind)}]{crit}", ""]
            out += [f"- **{_md(k)}:** {_md(v)}" for k, v in _step_rows(s)]
            if s.command:
                out += ["", markdown_code_block(s.command)]
            head, hosts = _hosts_table(s)
            if hosts:
                out += ["", f"Ansible recap of {_md(s.key)} per host:", ""]
                out += _md_table(head, hosts)
            if s.output_lines:
                out += [
                    "",
                    f"Output of {_md(s.key)} ({s.output_lines} lines; the first and the last):",
                    "",
                    markdown_code_block("\n".join(_excerpt(s))),
                ]
    if r.notifications:
        out += ["", "## Notifications", ""]
        out += _md_table(NOTIFICATION_HEADER, _notification_rows(r))
    if r.events:
        out += ["", "## Resumes, interruptions and errors", ""]
        out += [f"- {_md(x)}" for x in r.events]
    if r.malformed:
        out += ["", "## Malformed records", ""]
        out += [f"- {_md(x)}" for x in r.malformed]
    out += [
        "",
        "## Chain",
        "",
        f"Final chain hash: `{r.verify.last_hash}` ({r.verify.records} records)",
        "",
    ]
    return "\n".join(out)


def _md_table(head: list[str], rows: list[list[str]]) -> list[str]:
    return [
        "| " + " | ".join(map(_md, head)) + " |",
        "|" + "---|" * len(head),
        *("| " + " | ".join(map(_md, row)) + " |" for row in rows),
    ]


# -- HTML ------------------------------------------------------------------------------------

_CSS = """
body{font-family:system-ui,sans-serif;max-width:70rem;margin:2rem auto;padding:0 1rem;color:#222}
table{border-collapse:collapse;margin:.5rem 0}td,th{border:1px solid #ccc;padding:.25rem .5rem;
text-align:left;vertical-align:top}th{background:#f3f3f3}pre{background:#f6f6f6;padding:.5rem;
overflow-x:auto;white-space:pre-wrap}code{font-family:ui-monospace,monospace}
.ok,.done{color:#11661a}.failed,.unknown,.cancelled,.timeout{color:#b00020;font-weight:bold}
.skipped,.would-run{color:#8a6d00}.bad{color:#b00020;font-weight:bold}.good{color:#11661a}
"""


def _h(text: Any) -> str:
    """Every text from the log, in an element or an attribute: no markup, no control character."""
    return html.escape(for_terminal(text), quote=True)


def _malformed_note(r: RunReport) -> list[str]:
    if not r.malformed:
        return []
    n = len(r.malformed)
    return [f"  \n**Malformed records:** {n} left out (listed at the end)"]


def _table(rows: list[tuple[str, str]]) -> str:
    body = "".join(f"<tr><th>{_h(k)}</th><td>{_h(v)}</td></tr>" for k, v in rows)
    return f"<table>{body}</table>"


def _html_outputs(r: RunReport, step: StepReport) -> Iterator[str]:
    """Each attempt's whole output, collapsible, read from the log record by record; a step
    that did not succeed shows its last attempt's open."""
    shown = [o for o in step.outputs if o.lines]
    if not shown:
        return
    with open(r.path, "rb") as f:
        for o in shown:
            which = f"attempt {o.attempt}, " if len(step.outputs) > 1 else ""
            opened = " open" if o is shown[-1] and _failed(step) else ""
            yield (
                f"<details{opened}><summary>Output of {_h(step.key)} ({which}{o.lines} lines)"
                "</summary><pre>"
            )
            for i in range(0, len(o.spans), 2):
                f.seek(o.spans[i])
                text = "\n".join(output_lines(json.loads(f.read(o.spans[i + 1]))))
                yield _h(text if i == 0 else "\n" + text)
            yield "</pre></details>\n"


def _grid(head: list[str], rows: list[list[str]]) -> str:
    top = "".join(f"<th>{_h(x)}</th>" for x in head)
    body = "".join("<tr>" + "".join(f"<td>{_h(x)}</td>" for x in row) + "</tr>" for row in rows)
    return f"<table><tr>{top}</tr>{body}</table>"


def html_page(r: RunReport) -> Iterator[str]:
    """The page, piece by piece (a step's whole output is read from the log as it is written)."""
    title = r.header.get("checklist_title") or r.header.get("checklist_id") or r.path.name
    cls = "good" if r.verify.ok else "bad"
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>Audit report: {_h(title)}</title><style>{_CSS}</style></head><body>",
        f"<h1>Audit report: {_h(title)}</h1>",
        f"<p>Audit log: <code>{_h(r.path)}</code><br>",
        f'Verification: <span class="{cls}">{_h(_verify_text(r))}</span>',
        (
            f'<br><span class="bad">Malformed records: {len(r.malformed)} left out (listed at '
            "the end)</span>"
            if r.malformed
            else ""
        )
        + "</p>",
        "<h2>Proof</h2>",
        _table(_proof_rows(r)),
    ]
    cp = _checkpoint(r)
    if cp is not None:
        parts.append(
            f"<p>Checkpoint (<code>annotui audit checkpoint</code>):</p><pre>{_h(cp)}</pre>"
        )
    parts += [
        "<h2>Session</h2>",
        _table(_header_rows(r)),
        "<h2>Variables</h2><table><tr><th>name</th><th>value</th><th>source</th></tr>",
    ]
    parts += [
        f"<tr><td>{_h(n)}</td><td>{_h(v)}</td><td>{_h(s)}</td></tr>" for n, (v, s) in r.vars.items()
    ]
    parts.append(
        "</table><h2>Steps</h2><table><tr><th>step</th><th>outcome</th><th>confirmed</th>"
        "<th>exit</th><th>duration</th></tr>"
    )
    for stage in r.stages.values():
        for s in stage.steps.values():
            dur = f"{s.duration:.2f} s" if s.duration is not None else ""
            ex = "" if s.exit_code is None else s.exit_code
            parts.append(
                f'<tr><td>{_h(s.key)}</td><td class="{_h(s.outcome)}">{_h(s.outcome)}</td>'
                f"<td>{_h(s.confirmed())}</td><td>{_h(ex)}</td><td>{_h(dur)}</td></tr>"
            )
    parts.append("</table>")
    for stage in r.stages.values():
        parts.append(f"<h2>Stage {_h(stage.key)}: {_h(stage.title)}</h2>")
        for s in stage.steps.values():
            crit = " (critical)" if s.critical else ""
            parts.append(f"<h3>{_h(s.key)}: {_h(s.title)} [{_h(s.kind)}]{crit}</h3>")
            parts.append(_table(_step_rows(s)))
            if s.command:
                parts.append(f"<pre><code>{_h(s.command)}</code></pre>")
            head, hosts = _hosts_table(s)
            if hosts:
                parts.append(f"<p>Ansible recap of {_h(s.key)} per host:</p>")
                parts.append(_grid(head, hosts))
            yield "\n".join(parts) + "\n"
            parts = []
            yield from _html_outputs(r, s)
    if r.notifications:
        parts.append("<h2>Notifications</h2>")
        parts.append(_grid(NOTIFICATION_HEADER, _notification_rows(r)))
    if r.events:
        parts.append("<h2>Resumes, interruptions and errors</h2><ul>")
        parts += [f"<li>{_h(x)}</li>" for x in r.events]
        parts.append("</ul>")
    if r.malformed:
        parts.append("<h2>Malformed records</h2><ul>")
        parts += [f"<li>{_h(x)}</li>" for x in r.malformed]
        parts.append("</ul>")
    parts.append(
        f"<h2>Chain</h2><p>Final chain hash: <code>{_h(r.verify.last_hash)}</code> "
        f"({r.verify.records} records)</p></body></html>"
    )
    yield "\n".join(parts) + "\n"


def write(path: Path, fmt: str, out: TextIO, signers: AllowedSigners | None = None) -> None:
    """Write the Markdown or HTML report of ``path`` to ``out``, streamed: the HTML page holds
    every step's whole output, which is never all in memory."""
    report = collect(path, whole_output=fmt == "html", signers=signers)
    if fmt == "html":
        for piece in html_page(report):
            out.write(piece)
    else:
        out.write(markdown(report))


def render(path: Path, fmt: str) -> str:
    """The report as one string (``write`` streams it)."""
    buffer = io.StringIO()
    write(path, fmt, buffer)
    return buffer.getvalue()
