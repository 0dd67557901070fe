"""Every reader of a log survives any hash-valid record: verify, show, report (Markdown and HTML),
the run state for resume. A record of the wrong shape is named (seq, field, expected), marked
where it is shown or refused with the project's own error, never a traceback; a line that is not
JSON is never called intact, wherever it is."""

from __future__ import annotations

import html
import io
import json
import tempfile
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from annotui import events as ev
from annotui.audit.errors import AuditError
from annotui.audit.reader import load_run_state, read_records
from annotui.audit.report import render
from annotui.audit.shape import EVENTS, problem
from annotui.audit.show import show
from annotui.audit.verify import verify
from annotui.audit.writer import AuditWriter
from tests.text.processes import annotui

from .conftest import PLAN, STAGING, header, shown, write_run
from .forge import Forger
from .markdown_view import view

KEY = f"{STAGING}/stop-anno"
TEMPLATES: dict[str, dict[str, Any]] = {
    e.event: e.to_fields()
    for e in (
        header(),
        ev.SessionResumed("bob", None, "jump2", "live", "torn", True, "cd" * 32, [KEY]),
        ev.VarSet("release", "v2.4.1", "cli"),
        ev.RunPlanned(PLAN),
        ev.StageStarted(STAGING, "Deploy to staging", 1, 2),
        ev.StageFinished(STAGING, "ok"),
        shown(KEY, "command", "stop anno"),
        ev.StepConfirmed(KEY, "alice", "staging"),
        ev.StepStarted(KEY, attempt=2),
        ev.StepSpawned(KEY, "tsd", 4242),
        ev.StepOutput(KEY, "stdout", "a\nb"),
        ev.StepFinished(KEY, "ok", 0, 1.5, "held", "fine"),
        ev.StepSkipped(KEY, "not needed", "alice"),
        ev.ValueCaptured(KEY, "version", "14.2", False),
        ev.StepAttempt(KEY, 1, 3, "failed", "exit code 1", 5.0),
        ev.StageRollback(STAGING, "start", KEY),
        ev.StepRefused(KEY, "skip", "this step is critical and cannot be skipped", "alice"),
        ev.EvidenceRecorded(KEY, "URL", "https://example.org", "alice"),
        ev.OutcomeUnknown(KEY, "started, no finish record"),
        ev.SupervisorState(KEY, "anno", "before", {"anno:web": "RUNNING"}),
        ev.GateEvaluated(KEY, "active_jobs", 0, True, 1, 2),
        ev.Announcement(KEY, "hello"),
        ev.Interrupted("SIGTERM", KEY),
        ev.ErrorEvent("boom", KEY),
        ev.SessionEnded("done", 0, 6, 5, 1),
        ev.Sealed("annotui-audit-seal v1\n", "-----BEGIN SSH SIGNATURE-----", "SHA256:k"),
        ev.ApprovalWaiting(KEY, ["bob@example"], 1, "ab" * 16, "annotui audit approve ...", 60.0),
        ev.ApprovalGranted(KEY, "bob@example", "SHA256:k", "ok", "text", "sig"),
        ev.ApprovalRefused(KEY, "SHA256:k", "the run's own signer cannot approve it"),
        ev.AnsibleTask(KEY, "web", "restart anno"),
        ev.AnsibleResult(KEY, "s1", "restart anno", "service", "changed", 0.4, "", "ef" * 32),
        ev.AnsibleRecap(KEY, {"s1": {"ok": 2, "changed": 1}}, 0, "successful", ["s2"]),
        ev.NotificationSent(1, "stage_end", "json://***", "staging done", "all ok", KEY),
        ev.NotificationResult(1, "stage_end", "json://***", "failed", "HTTP 500", 0.2),
    )
}


def test_the_templates_fit_the_readers() -> None:
    """The shapes the readers demand are the events' own: real records are never malformed."""
    assert set(EVENTS) == set(TEMPLATES) == set(ev.ALL_EVENTS)
    for event, fields in TEMPLATES.items():
        assert problem({"seq": 1, "ts": "t", "event": event, **fields}) is None, event


# -- hypothesis: any JSON value in any field -------------------------------------------------

SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False),
    st.text(max_size=12),
    st.sampled_from(
        [
            *["", "\x1b]0;t\x07", "\r## forged", KEY, "ok", "session.end", "<img src=x>"],
            *["| a |", "![i](http://e/p.png)", "[l](javascript:x)", "\n# h\n", "&amp;", "```"],
        ]
    ),
)
JSON = st.recursive(
    SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=6), inner, max_size=4)
    ),
    max_leaves=12,
)


@st.composite
def mutated(draw: st.DrawFn, value: Any, depth: int = 0) -> Any:
    """``value`` with some of its parts (at any depth) replaced by any JSON, or removed."""
    if draw(st.integers(0, 9)) == 0:
        return draw(JSON)
    if isinstance(value, dict) and depth < 4:
        out: dict[str, Any] = {}
        for k, v in value.items():
            choice = draw(st.integers(0, 9))
            if choice == 0:
                continue  # a missing field
            out[k] = draw(mutated(v, depth + 1)) if choice < 4 else v
        if draw(st.booleans()):
            out.update(draw(st.dictionaries(st.text(max_size=6), JSON, max_size=2)))
        return out
    if isinstance(value, list) and depth < 4:
        return [draw(mutated(v, depth + 1)) for v in value]
    return value


@st.composite
def records(draw: st.DrawFn) -> tuple[Any, Any, dict[str, Any]]:
    """(event, ts, fields) of one record: a real event's fields, mutated."""
    event = draw(st.one_of(st.sampled_from(sorted(TEMPLATES)), JSON))
    template = TEMPLATES.get(event, {}) if isinstance(event, str) else {}
    fields = draw(mutated(template))
    if not isinstance(fields, dict):
        fields = {"value": fields}
    fields = {k: v for k, v in fields.items() if k not in ("seq", "ts", "event", "prev", "hash")}
    ts = draw(st.one_of(st.just("2026-01-01T00:00:00.000000Z"), JSON))
    return event, ts, fields


def run_every_reader(path: Path) -> list[str]:
    """Run every reader on ``path``; return the messages of the errors they raised (only
    AuditError is allowed, with a one-line message)."""
    errors: list[str] = []
    result = verify(path)
    line = result.describe(path)
    assert "\n" not in line
    for step in (None, "stop-anno", KEY, "nope"):
        out = io.StringIO()
        assert show(path, step, out) in (0, 2)
        assert "\x1b" not in out.getvalue()
    md = render(path, "markdown")
    view(md)  # asserts that no link, image, HTML or other structure came from the log
    assert "\x1b" not in md and "\r" not in md
    page = render(path, "html")
    assert "<script" not in page and "\x1b" not in page
    list(read_records(path))  # never fails on a readable file
    try:
        load_run_state(path)
    except AuditError as e:
        errors.append(str(e))
    for message in errors:
        assert message and "\n" not in message
    return errors


@given(st.lists(records(), min_size=1, max_size=8), st.booleans())
@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_every_reader_survives_any_hash_valid_record(
    recs: list[tuple[Any, Any, dict[str, Any]]], good_header: bool
) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        forger = Forger(Path(tmp) / "audit.jsonl")
        if good_header:
            forger.record("session.start", TEMPLATES["session.start"])
        for event, ts, fields in recs:
            forger.record(event, fields, ts)
        path = forger.write()
        for message in run_every_reader(path):
            assert "cannot resume" in message or "session.start" in message or "JSON" in message


@given(st.binary(max_size=40), st.integers(0, 3))
@settings(max_examples=200, deadline=None)
def test_a_hash_valid_line_that_is_not_json_is_never_intact(middle: bytes, at: int) -> None:
    """Anywhere in the log (first, middle, last), a hashed line that does not parse is named."""
    with tempfile.TemporaryDirectory() as tmp:
        forger = Forger(Path(tmp) / "audit.jsonl")
        records_before = min(at, 3)
        for i in range(4):
            if i == records_before:
                forger.raw(b'",' + middle)  # `"ts":""` then the bytes, then `,"prev":...`
            elif i == 0:
                forger.record("session.start", TEMPLATES["session.start"])
            else:
                forger.record("step.output", TEMPLATES["step.output"])
        path = forger.write()
        result = verify(path)
        raw = forger.lines[records_before]
        try:
            parsed = json.loads(raw)
        except ValueError:
            parsed = None
        if parsed is None or not isinstance(parsed, dict):
            assert not result.ok
            assert result.bad_line == records_before + 1 and not result.torn_tail
            assert result.records == records_before
        run_every_reader(path)


# -- named cases -----------------------------------------------------------------------------


def _log_with(tmp_path: Path, *middle: tuple[str, dict[str, Any]]) -> Path:
    forger = Forger(tmp_path / "audit.jsonl")
    forger.record("session.start", TEMPLATES["session.start"])
    forger.record("run.plan", TEMPLATES["run.plan"])
    for event, fields in middle:
        forger.record(event, fields)
    forger.record("session.end", TEMPLATES["session.end"])
    return forger.write()


def test_hash_valid_non_json_last_line(tmp_path: Path) -> None:
    forger = Forger(tmp_path / "audit.jsonl")
    forger.record("session.start", TEMPLATES["session.start"])
    forger.raw(b'", this is not JSON')
    path = forger.write()
    result = verify(path)
    assert not result.ok and result.bad_line == 2 and not result.torn_tail
    assert result.reason is not None and result.reason.startswith("bad JSON")
    assert "not a torn write" in result.reason
    with pytest.raises(AuditError, match="refusing to append"):
        AuditWriter.open_append(path)


def test_hash_valid_non_json_line_in_the_middle(tmp_path: Path) -> None:
    forger = Forger(tmp_path / "audit.jsonl")
    forger.record("session.start", TEMPLATES["session.start"])
    forger.raw(b'","event":"step.output","text":"x" oops')
    forger.record("session.end", TEMPLATES["session.end"])
    path = forger.write()
    result = verify(path)
    assert not result.ok and result.bad_line == 2 and result.records == 1
    out = io.StringIO()
    show(path, None, out)
    assert out.getvalue().startswith(f"verify: NOT INTACT: {path}:2: bad JSON")


def test_duplicate_seq_inside_a_record_is_not_intact(tmp_path: Path) -> None:
    """The seq every reader sees is the one verify checked."""
    forger = Forger(tmp_path / "audit.jsonl")
    forger.record("session.start", TEMPLATES["session.start"])
    forger.raw(b'","event":"x","seq":7')
    result = verify(forger.write())
    assert not result.ok and result.bad_line == 2


@pytest.mark.parametrize("depth", [100, 5000, 100_000])
def test_deeply_nested_hash_valid_record(tmp_path: Path, depth: int) -> None:
    forger = Forger(tmp_path / "audit.jsonl")
    forger.record("session.start", TEMPLATES["session.start"])
    forger.raw(b'","event":"x","v":' + b"[" * depth + b"]" * depth)
    forger.record("session.end", TEMPLATES["session.end"])
    path = forger.write()
    result = verify(path)
    if depth > 1000:
        assert not result.ok and result.bad_line == 2 and "nested too deeply" in str(result.reason)
    else:
        assert result.ok
    run_every_reader(path)


def test_a_wrong_type_is_named_by_every_reader(tmp_path: Path) -> None:
    finished = {**TEMPLATES["step.finished"], "step_key": KEY, "outcome": ["ok"]}
    path = _log_with(tmp_path, ("step.finished", finished))
    assert verify(path).ok  # the chain is fine: the shape is the readers' business
    expected = "record seq 2 (step.finished): field 'outcome' is a list, expected a string"
    out = io.StringIO()
    assert show(path, None, out) == 0
    marked = [line for line in out.getvalue().splitlines() if "MALFORMED" in line]
    assert len(marked) == 1 and marked[0].endswith(f"MALFORMED: {expected}")
    assert "**Malformed records:** 1 left out" in "\n".join(view(render(path, "markdown")))
    assert f"- {expected}" in view(render(path, "markdown"))
    assert f"<li>{html.escape(expected)}</li>" in render(path, "html")
    with pytest.raises(AuditError) as err:
        load_run_state(path)
    assert str(err.value) == f"{path}: {expected}; cannot resume from this log"


def test_a_missing_field_and_a_bad_plan_are_named(tmp_path: Path) -> None:
    plan = [{"key": STAGING, "steps": [{"key": 5}]}]
    path = _log_with(tmp_path, ("var.set", {"value": "x", "source": "cli"}))
    with pytest.raises(AuditError, match=r"seq 2 \(var.set\): field 'name' is missing, expected"):
        load_run_state(path)
    path = _log_with(tmp_path, ("run.plan", {"stages": plan}))
    with pytest.raises(
        AuditError,
        match=r"seq 2 \(run.plan\): field 'stages\[0\].steps\[0\].key' is an integer, expected a",
    ):
        load_run_state(path)
    out = io.StringIO()
    show(path, "stop-anno", out)  # the good plan of seq 1 still names the planned steps
    assert "planned but never reached" in out.getvalue()


def test_cli_on_hostile_logs(tmp_path: Path) -> None:
    """Real processes: verify names the line and exits 1; show and report mark the record and
    exit 0; nothing prints a traceback, and every problem is one line on stderr."""
    bad = tmp_path / "bad"
    bad.mkdir()
    forger = Forger(bad / "audit.jsonl")
    forger.record("session.start", TEMPLATES["session.start"])
    forger.raw(b'", not JSON \x1b]0;pwned\x07')
    nonjson = forger.write()
    p = annotui("audit", "verify", str(nonjson))
    assert p.returncode == 1 and "Traceback" not in p.stderr
    assert p.stdout.count("\n") == 1 and p.stdout.startswith(f"{nonjson}:2: bad JSON")

    shaped = _log_with(tmp_path, ("step.finished", {"step_key": KEY, "outcome": {"x": 1}}))
    p = annotui("audit", "verify", str(shaped))  # hash-valid, but no seal: exit 3
    assert p.returncode == 3 and p.stdout.startswith("intact but unsealed: ends at seq 3")
    p = annotui("audit", "show", str(shaped))
    assert p.returncode == 0 and p.stderr == ""
    assert "MALFORMED: record seq 2 (step.finished): field 'outcome' is an object" in p.stdout
    for fmt in ("markdown", "html"):
        p = annotui("audit", "report", str(shaped), "--format", fmt)
        assert p.returncode == 0 and "outcome" in p.stdout
        assert "record seq 2 (step.finished): field " in p.stdout.replace("\\", "")

    # A log that cannot be read at all: one line on stderr, exit 2.
    (tmp_path / "dir.jsonl").mkdir()
    for cmd in ("verify", "show", "report"):
        p = annotui("audit", cmd, str(tmp_path / "dir.jsonl"))
        assert p.returncode == 2 and "Traceback" not in p.stderr
        assert p.stderr.count("\n") == 1, p.stderr


def test_resume_of_a_malformed_log_is_one_line_and_non_zero(tmp_path: Path) -> None:
    """`annotui run --resume` on a log whose records resume cannot use: refused in one line."""
    path = tmp_path / "audit.jsonl"
    with AuditWriter.create(path) as w:
        write_run(w, end=False)
    forger = Forger(path)
    good = verify(path)
    forger.seq, forger.prev = good.records, str(good.last_hash)
    forger.lines = [path.read_bytes()]
    forger.record("step.finished", {"step_key": KEY, "outcome": 3})
    forger.write()
    checklist = tmp_path / "c.toml"
    checklist.write_text(
        '[checklist]\nid = "anno-release"\ntitle = "t"\nversion = "1"\n\n'
        '[[stages]]\nid = "deploy"\n  [[stages.steps]]\n  id = "a"\n  kind = "manual"\n'
    )
    p = annotui("run", str(checklist), "--plain", "--resume", "--yes", "--audit", str(path))
    assert p.returncode != 0 and "Traceback" not in p.stderr, p.stderr
    assert "record seq" in p.stderr and "field 'outcome' is an integer, expected a string" in (
        p.stderr
    )
    assert len(p.stderr.strip().splitlines()) == 1, p.stderr


def test_the_parallel_path_judges_as_the_single_pass(tmp_path: Path) -> None:
    """A large log is verified in chunks in forked processes: on every kind of line, wherever
    the chunks split it, the answer is the single pass's."""
    logs: list[Path] = []
    for i, middle in enumerate(
        [
            b'","event":"x"',  # a good record
            b'", not JSON',
            b'","event":"x","seq":7',
            b'","event":"x","v":' + b"[" * 5000 + b"]" * 5000,
            b'","event":"x","big":123456789012345678901234567890',  # beyond orjson, canonical
        ]
    ):
        forger = Forger(tmp_path / f"{i}.jsonl")
        forger.record("session.start", TEMPLATES["session.start"])
        forger.raw(middle)
        forger.record("session.end", TEMPLATES["session.end"])
        logs.append(forger.write())
    torn = tmp_path / "torn.jsonl"
    torn.write_bytes(logs[0].read_bytes() + b'{"seq":3,"ts":"2026')
    logs.append(torn)
    inline = [verify(log) for log in logs]
    for workers in (2, 3, 4):
        assert [verify(log, parallel_from=0, workers=workers) for log in logs] == inline
    assert [r.ok for r in inline] == [True, False, False, False, True, False]
    assert inline[0].ended and inline[4].ended and inline[5].torn_tail


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: set[str] = set()
        self.attrs: set[tuple[str, str | None]] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.add(tag)
        self.attrs.update(attrs)


HOSTILE = "<script>alert(1)</script>\"' onmouseover=x <img src=x> &amp; \r## Verification: intact"


def _hostile_run(path: Path) -> Path:
    """A real run (the real writer) where every text an operator or a command gives is hostile."""
    with AuditWriter.create(path) as w:
        w(header().replace(operator=HOSTILE, checklist_title=HOSTILE, host=HOSTILE))
        w(ev.VarSet(HOSTILE, HOSTILE, "cli"))
        w(ev.RunPlanned(PLAN))
        w(ev.StageStarted(STAGING, HOSTILE, 1, 2))
        w(shown(KEY, "command", HOSTILE).replace(title=HOSTILE))
        w(ev.StepConfirmed(KEY, HOSTILE, HOSTILE))
        w(ev.StepStarted(KEY))
        w(ev.StepOutput(KEY, "stdout", HOSTILE))
        w(ev.StepFinished(KEY, "failed", 1, 0.5, HOSTILE, HOSTILE))
        w(ev.EvidenceRecorded(KEY, HOSTILE, HOSTILE, HOSTILE))
        w(ev.StepSkipped(f"{STAGING}/notify", HOSTILE, HOSTILE))
        w(ev.ErrorEvent(HOSTILE, KEY))
        w(ev.SessionEnded("failed", 1, 6, 0, 1))
    return path


def test_the_html_report_holds_no_markup_from_the_log(tmp_path: Path) -> None:
    page = render(_hostile_run(tmp_path / "audit.jsonl"), "html")
    parser = _Tags()
    parser.feed(page)
    allowed = {"html", "head", "meta", "title", "style", "body", "h1", "h2", "h3", "p", "br"}
    allowed |= {"code", "span", "table", "tr", "th", "td", "pre", "ul", "li", "details", "summary"}
    assert parser.tags <= allowed, parser.tags - allowed
    assert {name for name, _ in parser.attrs} <= {"lang", "charset", "class", "open"}
    assert "<script>" not in page and "&lt;script&gt;" in page


def test_the_markdown_report_holds_no_structure_from_the_log(tmp_path: Path) -> None:
    md = render(_hostile_run(tmp_path / "audit.jsonl"), "markdown")
    lines = view(md)  # no link, image, HTML, emphasis from the log
    headings = [line for line in lines if line.startswith("#")]
    assert not [h for h in headings if h.startswith(("## Verification", "# <", "## <"))]
    sections = ("## Proof", "## Session", "## Variables", "## Steps", "## Resumes", "## Chain")
    assert all(h.startswith(("# Audit report: ", "## Stage ", "### ", *sections)) for h in headings)
    assert len([h for h in headings if h.startswith("# ")]) == 1
    assert len([h for h in headings if h.startswith("### ")]) == 6  # the steps of the plan
    assert any(HOSTILE.replace("\r", "^M") in line for line in lines)
