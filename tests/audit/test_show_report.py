"""`audit show` and `audit report` on a real log; streaming reads stay within bounded memory."""

from __future__ import annotations

import io
import re
import subprocess
import sys
from pathlib import Path

import pytest

from annotui import events as ev
from annotui.audit.show import show
from annotui.audit.verify import verify
from annotui.audit.writer import AuditWriter
from annotui.cli import main as cli

from .conftest import STAGING, header, write_run
from .markdown_view import shown


def run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = cli(args)
    out = capsys.readouterr()
    return code, out.out, out.err


def test_show_timeline(log: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(["audit", "show", str(log)], capsys)
    assert code == 0
    lines = out.splitlines()
    assert (
        lines[0] == f"verify: intact and sealed: {verify(log).records} records, "
        f"last hash {verify(log).last_hash}"
    )
    assert re.match(r"\d\d:\d\d:\d\d\.\d{3}  #0 +session.start", lines[1])
    assert "from 10.0.0.5 52144 10.0.0.9 22" in lines[1]
    assert 'confirmed by alice typing "staging"' in out
    assert "anno before: anno-staging:web RUNNING" in out
    assert "anno after: anno-staging:web STOPPED" in out
    assert "failed, exit 0, 0.25 s, expected mode at least 774, got 770" in out
    assert "skipped by alice: users were told in the standup" in out
    assert "evidence by alice: Release issue URL: https://example.org/issues/42" in out
    assert "active_jobs = 0: holds, 2/2" in out
    assert "supervisor_password = *** (env, secret)" in out
    assert "output: 6 lines (stderr 1, stdout 5)" in out


def test_show_summarizes_long_output(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "a.jsonl"
    with AuditWriter.create(path, fsync=False) as w:
        write_run(w, output_lines=2500)
    code, out, _ = run(["audit", "show", str(path), "--step", "image-perms"], capsys)
    assert code == 0
    assert "output: 2501 lines (stderr 1, stdout 2500)" in out
    assert "out line 0" in out and "out line 2" in out and "out line 3\n" not in out
    assert "… 2495 more lines …" in out
    assert "out line 2499" in out and "! stat: warning" in out


def test_show_step_filter(log: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(["audit", "show", str(log), "--step", "stop-anno"], capsys)
    assert code == 0
    body = out.splitlines()[1:]
    assert body and all(f"{STAGING}/stop-anno" in line for line in body)
    assert len(body) == 6
    code, out, _ = run(["audit", "show", str(log), "--step", f"{STAGING}/no-jobs"], capsys)
    assert code == 0 and "stop-anno" not in out and "active_jobs = 3" in out
    code, out, _ = run(["audit", "show", str(log), "--step", "deploy[prod]/stop-anno"], capsys)
    assert code == 0 and "planned but never reached" in out
    code, _, err = run(["audit", "show", str(log), "--step", "nope"], capsys)
    assert code == 2 and "no step 'nope'" in err


def test_show_neutralizes_terminal_escapes_and_reports_damage(tmp_path: Path) -> None:
    path = tmp_path / "a.jsonl"
    with AuditWriter.create(path) as w:
        w(header())
        w(ev.StepOutput("s/x", "stdout", "\x1b]0;pwned\x07\x1b[2Jclear"))
    with open(path, "ab") as f:
        f.write(b'{"seq":2,')
    out = io.StringIO()
    assert show(path, None, out) == 0
    text = out.getvalue()
    assert "\x1b" not in text and "\x07" not in text and "^[]0;pwned^G^[[2Jclear" in text
    assert text.startswith(f"verify: NOT INTACT: {path}:3: torn last line")


def test_markdown_report(log: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "report.md"
    code, _, err = run(["audit", "report", str(log), "-o", str(target)], capsys)
    assert code == 0 and "report written" in err
    md = shown(target.read_text())
    result = verify(log)
    for expected in (
        "# Audit report: Release and deployment of the anno system",
        f"intact and sealed: {result.records} records",
        f"| seal | sealed: the final seal is record {result.records - 1} |",
        "| seal 29 | stage deploy[staging]: unsigned |",
        f"```\nannotui-audit/{result.first_hash}\n{result.records - 1}\n",
        "| checklist sha256 | " + "ab" * 32 + " |",
        "| operator | alice |",
        "| SSH_CONNECTION | 10.0.0.5 52144 10.0.0.9 22 |",
        "| host | jump1 |",
        "| annotui version | 0.1.0 |",
        "| mode | live |",
        "| supervisor_password | *** | env |",
        "| release | v2.4.1 | cli |",
        f'| {STAGING}/stop-anno | ok | alice typing "staging" |  | 1.50 s |',
        f"| {STAGING}/image-perms | failed | alice | 0 | 0.25 s |",
        "- **expectation:** expected mode at least 774, got 770",
        "- **skipped:** users were told in the standup (by alice)",
        "- **evidence:** Release issue URL: https://example.org/issues/42 (by alice)",
        "- **supervisor:** anno before: anno-staging:web RUNNING",
        "- **supervisor:** anno after: anno-staging:web STOPPED",
        "| deploy[prod]/stop-anno | not reached |",
        "Notify | users",
        "```\nstop anno-staging:*\n```",
        "out line 4\nstat: warning <b>&amp;</b>\n```",  # literal inside a code fence
        f"Final chain hash: `{result.last_hash}`",
    ):
        assert expected in md, expected


def test_html_report_is_one_escaped_page(log: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, page, _ = run(["audit", "report", str(log), "--format", "html"], capsys)
    assert code == 0
    assert page.startswith("<!DOCTYPE html>") and page.rstrip().endswith("</html>")
    assert "<style>" in page and not re.search(r"(src|href)=|<link|<script|@import|url\(", page)
    assert "&lt;b&gt;&amp;amp;&lt;/b&gt;" in page and "<b>" not in page
    assert "Notify | users" in page
    assert "alice typing &quot;staging&quot;" in page
    assert "expected mode at least 774, got 770" in page
    assert verify(log).last_hash in page
    assert "10.0.0.5 52144 10.0.0.9 22" in page


def test_report_of_a_tampered_log_says_so(log: Path, capsys: pytest.CaptureFixture[str]) -> None:
    lines = log.read_bytes().splitlines(keepends=True)
    lines[2], lines[3] = lines[3], lines[2]
    log.write_bytes(b"".join(lines))
    code, md, _ = run(["audit", "report", str(log)], capsys)
    assert code == 0
    assert f"NOT INTACT: {log}:3: sequence gap" in shown(md)


MEASURE = """
import io, sys
from pathlib import Path
from annotui.audit.reader import load_run_state, read_records
from annotui.audit.report import write
from annotui.audit.show import show
from annotui.audit.verify import verify
path = Path(sys.argv[1])

def status(key):
    for line in open("/proc/self/status"):
        if line.startswith(key + ":"):
            return int(line.split()[1]) * 1024

open("/proc/self/clear_refs", "w").write("5")  # resets the peak (VmHWM) to the current RSS
base = status("VmRSS")
assert verify(path).ok
assert sum(1 for _ in read_records(path)) == 100_001
assert load_run_state(path).unknown == ["s/x"]
show(path, None, io.StringIO())
with open("/dev/null", "w") as out:  # the page holds the whole output: streamed, never kept
    write(path, "html", out)
print(status("VmHWM") - base)
"""


def test_streaming_reads_use_bounded_memory(tmp_path: Path) -> None:
    """verify, read_records, load_run_state, show and report of 100k records (40 MB) in a real
    process: its peak RSS grows by a few MB, far less than the file."""
    path = tmp_path / "big.jsonl"
    with AuditWriter.create(path, fsync=False) as w:
        w(header())
        w(ev.StepStarted("s/x"))
        for i in range(99_999):
            w(ev.StepOutput("s/x", "stdout", f"line {i} of a long step " + "x" * 200))
    size = path.stat().st_size
    assert size > 40_000_000
    p = subprocess.run(
        [sys.executable, "-c", MEASURE, str(path)], capture_output=True, text=True, timeout=120
    )
    assert p.returncode == 0, p.stderr
    growth = int(p.stdout)
    assert growth < 12_000_000, growth  # reading the file whole would add over 40 MB
