"""`when` on steps and stages, end to end through `annotui run --plain` (real shell, real log)."""

from __future__ import annotations

from pathlib import Path

from engine_cli import read_log


def _run(run_plain, environment: str) -> list[dict]:
    r, audit = run_plain(
        "when", "--yes", "--var", f"environment={environment}", audit=f"{environment}.jsonl"
    )
    assert r.returncode == 0, r.stdout + r.stderr
    return read_log(audit)


def test_false_conditions_skip_without_asking(run_plain, work: Path) -> None:
    recs = _run(run_plain, "staging")
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


def test_true_conditions_run(run_plain, tmp_path: Path, work: Path) -> None:
    recs = _run(run_plain, "prod")
    assert sorted(p.name for p in work.iterdir()) == ["prod-only", "prod-stage"]
    skipped = [r for r in recs if r["event"] == "step.skipped"]
    assert [r["step_key"] for r in skipped] == ["always/not-prod"]
    # a secret the condition saw is masked in the record
    assert skipped[0]["seen"] == {"environment": "prod", "token": "***"}
    assert "s3cret-token" not in (tmp_path / "prod.jsonl").read_text()
