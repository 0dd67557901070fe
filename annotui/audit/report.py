"""`annotui audit report`: the run as a Markdown or a self-contained HTML page for the release
issue. Built from one streaming pass over the log; output is counted, never kept."""

from __future__ import annotations

import html
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from annotui.audit.proof import SignOff, checkpoint, read_signoffs
from annotui.audit.reader import StepHeader, output_lines, read_records
from annotui.audit.shape import problem
from annotui.audit.show import clean, summarize
from annotui.audit.verify import VerifyResult, verify
from annotui.text import for_terminal, markdown_code_block, markdown_inline

APPROVAL_EVENTS = ("approval.wait", "approval.granted", "approval.refused")
FAILED_OUTPUT_LINES = 10
"""Last output lines kept for a step that did not succeed."""
FIRST_OUTPUT_LINES = 5
"""First output lines of a step's last attempt, shown with its last ones."""


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

    def confirmed(self) -> str:
        return "; ".join(self.confirmations) or "—"


@dataclass(slots=True)
class StageReport:
    key: str
    title: str
    steps: dict[str, StepReport] = field(default_factory=dict)


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


def collect(path: Path) -> RunReport:
    report = RunReport(path=path, verify=verify(path))
    report.signoffs = read_signoffs(path, report.verify, None)
    for rec in read_records(path):
        _add(report, rec)
    return report


def _add(report: RunReport, rec: dict[str, Any]) -> None:
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
    elif e == "step.output":
        lines = output_lines(rec)
        step.output_lines += len(lines)
        missing = FIRST_OUTPUT_LINES - len(step.first_output)
        if missing > 0:
            step.first_output.extend(clean(x) for x in lines[:missing])
        step.last_output.extend(clean(x) for x in lines[-FAILED_OUTPUT_LINES:])
    elif e == "step.finished":
        step.outcome = str(g("outcome"))
        step.exit_code, step.duration = g("exit_code"), g("duration")
        step.expectation, step.message = g("expectation"), g("message")
        step.ended = ts
        code = f" (exit {g('exit_code')})" if g("exit_code") is not None else ""
        step.attempts.append(f"attempt {len(step.attempts) + 1}: {g('outcome')}{code} at {ts}")
    elif e == "step.skipped":
        step.outcome, step.skip = "skipped", f"{g('reason')} (by {g('operator')})"
        step.ended = ts
        step.attempts.append(f"skipped at {ts} by {g('operator')}: {g('reason')}")
    elif e == "step.evidence":
        step.evidence.append(f"{g('prompt')}: {g('text')} (by {g('operator')})")
    elif e == "step.unknown":
        step.outcome = "unknown"
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
    if step.output_lines:
        rows.append(("output", f"{step.output_lines} lines"))
    return rows


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
    for s in v.seals:
        rows.append((f"seal {s.seq}", f"{s.covers}: {f'key {s.key}' if s.key else 'unsigned'}"))
    for so in r.signoffs:
        state = f"REJECTED ({so.problem})" if so.problem else "signature good"
        note = f": {so.note}" if so.note else ""
        rows.append(("sign-off", f"{so.key} at {so.ts}{note} [{state}]"))
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
            if s.output_lines:
                out += [
                    "",
                    f"Output of {_md(s.key)} ({s.output_lines} lines; the first and the last):",
                    "",
                    markdown_code_block("\n".join(_excerpt(s))),
                ]
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


def html_page(r: RunReport) -> str:
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
            if _failed(s) and s.last_output:
                parts.append(
                    f"<p>Last output lines:</p><pre>{_h(chr(10).join(s.last_output))}</pre>"
                )
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
    return "\n".join(parts) + "\n"


def render(path: Path, fmt: str) -> str:
    report = collect(path)
    return html_page(report) if fmt == "html" else markdown(report)
