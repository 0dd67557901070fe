"""`when` on steps and stages, end to end through `annotui run --plain` (real shell, real log)."""

from __future__ import annotations

from pathlib import Path

from engine_cli import read_log

CHECKLIST = """\
[checklist]
id = "when"
title = "Conditions"

[vars.environment]
choices = ["staging", "prod"]

[vars.work]

[vars.token]
secret = true
default = "s3cret-token"

[[stages]]
id = "always"

  [[stages.steps]]
  id = "prod-only"
  kind = "command"
  when = 'environment == "prod"'
  run = "touch {{ work }}/prod-only"

  [[stages.steps]]
  id = "not-prod"
  kind = "command"
  when = 'environment != "prod" and token != ""'
  run = "touch {{ work }}/not-prod"

[[stages]]
id = "prod-stage"
when = 'environment in ["prod"]'

  [[stages.steps]]
  id = "a"
  kind = "command"
  run = "touch {{ work }}/prod-stage"
"""


def _run(run_cli, tmp_path: Path, environment: str) -> tuple[Path, list[dict]]:
    work = tmp_path / environment
    work.mkdir()
    path = tmp_path / "when.toml"
    path.write_text(CHECKLIST)
    audit = tmp_path / f"{environment}.jsonl"
    r = run_cli(
        "run", path, "--plain", "--yes", "--var", f"environment={environment}",
        "--var", f"work={work}", "--audit", audit,
    )  # fmt: skip
    assert r.returncode == 0, r.stdout + r.stderr
    return work, read_log(audit)


def test_false_conditions_skip_without_asking(run_cli, tmp_path: Path) -> None:
    work, recs = _run(run_cli, tmp_path, "staging")
    assert sorted(p.name for p in work.iterdir()) == ["not-prod"]
    skipped = {r["step_key"]: r for r in recs if r["event"] == "step.skipped"}
    assert set(skipped) == {"always/prod-only", "prod-stage/a"}
    rec = skipped["always/prod-only"]
    assert rec["condition"] == 'environment == "prod"'
    assert rec["seen"] == {"environment": "staging"}
    assert rec["operator"] == "condition"
    assert rec["reason"] == "condition is false: environment == \"prod\" (environment='staging')"
    assert skipped["prod-stage/a"]["condition"] == 'environment in ["prod"]'
    # nobody confirmed a skipped step
    confirmed = {r["step_key"] for r in recs if r["event"] == "step.confirmed"}
    assert confirmed == {"always/not-prod"}
    end = (
        recs[-1]
        if recs[-1]["event"] == "session.end"
        else next(r for r in recs if r["event"] == "session.end")
    )
    assert end["steps_skipped"] == 2


def test_true_conditions_run(run_cli, tmp_path: Path) -> None:
    work, recs = _run(run_cli, tmp_path, "prod")
    assert sorted(p.name for p in work.iterdir()) == ["prod-only", "prod-stage"]
    skipped = [r for r in recs if r["event"] == "step.skipped"]
    assert [r["step_key"] for r in skipped] == ["always/not-prod"]
    # a secret the condition saw is masked in the record
    assert skipped[0]["seen"] == {"environment": "prod", "token": "***"}
    assert "s3cret-token" not in (tmp_path / "prod.jsonl").read_text()
