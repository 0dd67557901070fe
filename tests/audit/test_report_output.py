"""The report a reviewer signs off, its output and its text: in HTML every attempt's whole
output, collapsible (<details>), escaped; in Markdown the first and last lines only, and no
HTML entity or character reference anywhere (operator text is escaped the Markdown way)."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

from annotui import events as ev
from annotui.audit.report import render
from annotui.audit.writer import AuditWriter

from .conftest import PLAN, STAGING, header, shown
from .markdown_view import view
from .sshkeys import Key, allowed_signers, keys  # noqa: F401

KEY = f"{STAGING}/image-perms"
OTHER = f"{STAGING}/notify"
HOSTILE = "  a & b &amp; <b>x</b> &#32; &lt; "
ENTITY = re.compile(r"(?<!\\)&(#[0-9]+|#[xX][0-9a-fA-F]+|[A-Za-z][A-Za-z0-9]*);")
"""An HTML entity or character reference that Markdown would decode (not a backslash-escaped
``\\&``)."""


class Details(HTMLParser):
    """Each <details>: (open?, its summary, the text of its <pre>)."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[tuple[bool, str, str]] = []
        self._inside = False
        self._where: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "details":
            self._inside = True
            self.found.append(("open" in dict(attrs), "", ""))
        elif tag in ("summary", "pre") and self._inside:
            self._where = tag

    def handle_endtag(self, tag: str) -> None:
        if tag == "details":
            self._inside = False
        self._where = None if tag in ("summary", "pre") else self._where

    def handle_data(self, data: str) -> None:
        if self._where and self._inside:
            opened, summary, pre = self.found[-1]
            if self._where == "summary":
                summary += data
            else:
                pre += data
            self.found[-1] = (opened, summary, pre)


def _log(path: Path) -> Path:
    with AuditWriter.create(path) as w:
        w(header().replace(operator=HOSTILE))
        w(ev.VarSet("note", HOSTILE, "cli"))
        w(ev.RunPlanned(PLAN))
        w(ev.StageStarted(STAGING, "Deploy to staging", 1, 2))
        w(shown(KEY, "check", "stat -L -c %a anno.sif"))
        for attempt in (1, 2):
            w(ev.StepConfirmed(KEY, HOSTILE, HOSTILE))
            w(ev.StepStarted(KEY, attempt=attempt))
            for part in range(3):  # several records per attempt
                lines = [f"try {attempt} line {part * 1000 + i}" for i in range(1000)]
                w(ev.StepOutput(KEY, "stdout", "\n".join(lines)))
            w(ev.StepOutput(KEY, "stderr", HOSTILE))
            w(ev.StepFinished(KEY, "failed", 1, 0.5, "expected exit 0, got 1", HOSTILE))
        w(ev.StepSkipped(KEY, HOSTILE, HOSTILE))
        w(shown(OTHER, "command", "echo hi"))
        w(ev.StepStarted(OTHER))
        w(ev.StepOutput(OTHER, "stdout", "hi"))
        w(ev.StepFinished(OTHER, "failed", 2, 0.1))
        w(ev.StageFinished(STAGING, "failed"))
        w(ev.Sealed(w.seal_text()))
    return path


def test_the_html_report_holds_every_attempts_whole_output_collapsible(tmp_path: Path) -> None:
    page = render(_log(tmp_path / "audit.jsonl"), "html")
    parser = Details()
    parser.feed(page)
    found = parser.found
    assert [(o, s) for o, s, _ in found] == [
        (False, f"Output of {KEY} (attempt 1, 3001 lines)"),
        (False, f"Output of {KEY} (attempt 2, 3001 lines)"),  # skipped in the end: closed
        (True, f"Output of {OTHER} (1 lines)"),  # it failed: its output is open
    ]
    for attempt, (_, _, text) in enumerate(found[:2], 1):
        lines = text.split("\n")
        assert lines[:-1] == [f"try {attempt} line {i}" for i in range(3000)]
        assert lines[-1] == HOSTILE  # escaped in the page, the same text once parsed
    assert found[2][2] == "hi"
    assert "<b>x</b>" not in page


def test_the_markdown_report_holds_no_html_entity(tmp_path: Path) -> None:
    md = render(_log(tmp_path / "audit.jsonl"), "markdown")
    # a fenced code block shows its text literally (the output as it was): no entity there
    # is decoded, so only the text around the fences is looked at
    fences = re.findall(r"^(`{3,})\n.*?\n\1$", md, flags=re.M | re.S)
    assert fences
    prose = re.sub(r"^(`{3,})\n.*?\n\1$", "", md, flags=re.M | re.S)
    assert not ENTITY.findall(prose), ENTITY.findall(prose)[:5]
    # the operator's text is there, escaped the Markdown way (edge spaces shown as ␠)
    assert "␠␠a \\& b \\&amp; \\<b\\>x\\</b\\> \\&\\#32; \\&lt;␠" in md
    assert "try 2 line 2999" in md and "try 2 line 1500" not in md  # an excerpt only


def test_the_report_is_never_written_over_its_log(tmp_path: Path) -> None:
    """The report is streamed into its file: that file must not be the log it reads."""
    log = _log(tmp_path / "audit.jsonl")
    link = tmp_path / "link.jsonl"
    link.hardlink_to(log)
    before = log.read_bytes()
    for target in (log, link):
        r = subprocess.run(
            [sys.executable, "-m", "annotui.cli", "audit", "report", str(log), "-o", str(target)],
            capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        assert r.returncode == 2 and "refusing to write the report over the audit log" in r.stderr
        assert len(r.stderr.splitlines()) == 1
    assert log.read_bytes() == before


def test_with_allowed_signers_the_report_names_who_sealed_and_who_signed_off(
    tmp_path: Path,
    keys: dict[str, Key],  # noqa: F811
) -> None:
    checklist = tmp_path / "approval.toml"
    shutil.copy(Path(__file__).parents[1] / "ui" / "checklists" / "approval.toml", checklist)
    signers = allowed_signers(
        tmp_path / "allowed_signers",
        ("alice@example", keys["operator"], ""),
        ("bob@example", keys["reviewer"], ""),
    )
    log = tmp_path / "a.jsonl"
    cli = [sys.executable, "-m", "annotui.cli"]
    subprocess.run(
        [*cli, "run", str(checklist), "--plain", "--yes", "--rehearse", "--var", f"work={tmp_path}",
         "--audit", str(log), "--sign-with", str(keys["operator"].private)],
        capture_output=True, timeout=120, check=True,
    )  # fmt: skip
    subprocess.run(
        [*cli, "audit", "sign-off", str(log), "--sign-with", str(keys["reviewer"].private),
         "--note", "fine"],
        capture_output=True, timeout=60, check=True,
    )  # fmt: skip

    def report(allowed: Path) -> str:
        r = subprocess.run(
            [*cli, "audit", "report", str(log), "--allowed-signers", str(allowed)],
            capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        assert r.returncode == 0, r.stderr
        return "\n".join(view(r.stdout))

    md = report(signers)
    operator, reviewer = keys["operator"].fingerprint(), keys["reviewer"].fingerprint()
    seals = [line for line in md.splitlines() if re.match(r"\| seal \d", line)]
    assert seals and all(f"signed by alice@example (key {operator})" in s for s in seals), seals
    assert f"| sign-off | bob@example {reviewer} at " in md and ": fine [signature good] |" in md
    # a file that does not list the run's key: no seal is proven, the sign-off still is
    only_bob = allowed_signers(tmp_path / "only_bob", ("bob@example", keys["reviewer"], ""))
    md = report(only_bob)
    seals = [line for line in md.splitlines() if re.match(r"\| seal \d", line)]
    assert seals and all(": NOT PROVEN: " in s for s in seals), seals
