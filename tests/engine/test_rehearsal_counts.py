"""Rehearsal across stages: a read-only step that fails after a change simulated in an earlier
stage is unverified (also a critical one, which does not stop the rehearsal); a shell syntax
error is a failure; the summary counts done, would-run, unverified and skipped apart."""

from __future__ import annotations

from pathlib import Path

from engine_cli import read_log

CHECKLIST = """\
[checklist]
id = "rehearse-counts"
title = "Rehearsal counts"

[vars.work]

[[stages]]
id = "change"

  [[stages.steps]]
  id = "mkdir"
  kind = "command"
  run = "mkdir {{ work }}/new"

[[stages]]
id = "verify"

  [[stages.steps]]
  id = "exists"
  kind = "check"
  critical = true
  run = "test -d {{ work }}/new"

  [[stages.steps]]
  id = "plain-check"
  kind = "check"
  run = "true"
{extra}
"""

SYNTAX = """
  [[stages.steps]]
  id = "broken"
  kind = "check"
  run = "test -d {{ work }}/new && (echo"
"""


def _rehearse(run_cli, tmp_path: Path, extra: str = ""):
    work = tmp_path / "work"
    work.mkdir(exist_ok=True)
    path = tmp_path / "c.toml"
    path.write_text(CHECKLIST.format(extra=extra))
    audit = tmp_path / f"audit{len(extra)}.jsonl"
    r = run_cli(
        "run", path, "--plain", "--yes", "--rehearse", "--var", f"work={work}", "--audit", audit
    )  # fmt: skip
    fin = {x["step_key"]: x for x in read_log(audit) if x["event"] == "step.finished"}
    end = next(x for x in read_log(audit) if x["event"] == "session.end")
    return r, fin, end


def test_unverified_across_stages_and_counted_apart(run_cli, tmp_path: Path) -> None:
    r, fin, end = _rehearse(run_cli, tmp_path)
    assert r.returncode == 0, r.stdout + r.stderr
    assert fin["change/mkdir"]["outcome"] == "would-run"
    assert fin["verify/exists"]["outcome"] == "unverified"  # critical, the rehearsal goes on
    assert "earlier in the run" in fin["verify/exists"]["message"]
    assert fin["verify/plain-check"]["outcome"] == "ok"
    assert (end["steps_ok"], end["steps_would_run"], end["steps_unverified"]) == (1, 1, 1)
    assert "1 done, 1 would run, 1 unverified, 0 skipped of 3 steps" in r.stdout


def test_a_shell_syntax_error_is_a_failure(run_cli, tmp_path: Path) -> None:
    r, fin, _ = _rehearse(run_cli, tmp_path, SYNTAX)
    assert r.returncode == 1, r.stdout + r.stderr
    assert fin["verify/broken"]["outcome"] == "failed"
    assert "shell syntax error (sh -n" in fin["verify/broken"]["message"]
