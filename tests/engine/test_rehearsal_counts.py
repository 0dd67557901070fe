"""Rehearsal across stages: a read-only step that fails after a change simulated in an earlier
stage is unverified (also a critical one, which does not stop the rehearsal); a shell syntax
error is a failure; the summary counts done, would-run, unverified and skipped apart."""

from __future__ import annotations

from pathlib import Path

from engine_cli import checklist_text, read_log

SYNTAX = """
  [[stages.steps]]
  id = "broken"
  kind = "check"
  run = "test -d {{ work }}/new && (echo"
"""


def _rehearse(run_plain, tmp_path: Path, extra: str = ""):
    path = tmp_path / "c.toml"
    path.write_text(checklist_text("rehearse-counts") + extra)
    r, audit = run_plain(path, "--yes", "--rehearse", audit=f"audit{len(extra)}.jsonl")
    fin = {x["step_key"]: x for x in read_log(audit) if x["event"] == "step.finished"}
    end = next(x for x in read_log(audit) if x["event"] == "session.end")
    return r, fin, end


def test_unverified_across_stages_and_counted_apart(run_plain, tmp_path: Path) -> None:
    r, fin, end = _rehearse(run_plain, tmp_path)
    assert r.returncode == 0, r.stdout + r.stderr
    assert fin["change/mkdir"]["outcome"] == "would-run"
    assert fin["verify/exists"]["outcome"] == "unverified"  # critical, the rehearsal goes on
    assert "earlier in the run" in fin["verify/exists"]["message"]
    assert fin["verify/plain-check"]["outcome"] == "ok"
    assert (end["steps_ok"], end["steps_would_run"], end["steps_unverified"]) == (1, 1, 1)
    assert "1 done, 1 would run, 1 unverified, 0 skipped of 3 steps" in r.stdout


def test_a_shell_syntax_error_is_a_failure(run_plain, tmp_path: Path) -> None:
    r, fin, _ = _rehearse(run_plain, tmp_path, SYNTAX)
    assert r.returncode == 1, r.stdout + r.stderr
    assert fin["verify/broken"]["outcome"] == "failed"
    assert "shell syntax error (sh -n" in fin["verify/broken"]["message"]
