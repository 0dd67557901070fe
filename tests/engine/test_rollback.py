"""`[[stages.rollback]]`: after a real failure the operator chooses to roll the stage back; its
steps run in order, each confirmed, recorded as the stage's rollback, and the run stops (1)."""

from __future__ import annotations

from pathlib import Path

from engine_cli import checklist_text, read_log


def test_a_real_failure_rolled_back(run_plain, work: Path) -> None:
    (work / "old").mkdir()  # `new` does not exist: the health check really fails
    # y: new-link; y: health (fails); b: roll back; y, y: the rollback's two steps
    r, audit = run_plain("rollback", input="y\ny\nb\ny\ny\n")
    assert r.returncode == 1, r.stdout + r.stderr
    assert "'b' to roll the stage back" in r.stdout
    assert (work / "current").resolve() == (work / "old").resolve()
    assert not (work / "after").exists()
    recs = read_log(audit)
    fin = [(x["step_key"], x["outcome"]) for x in recs if x["event"] == "step.finished"]
    assert fin == [
        ("swap/new-link", "ok"),
        ("swap/health", "failed"),
        ("swap/rollback/old-link", "ok"),
        ("swap/rollback/verify-old", "ok"),
    ]
    confirmed = [x["step_key"] for x in recs if x["event"] == "step.confirmed"]
    assert confirmed[-2:] == ["swap/rollback/old-link", "swap/rollback/verify-old"]
    rollback = [x for x in recs if x["event"] == "stage.rollback"]
    assert [(x["phase"], x.get("step_key"), x.get("outcome")) for x in rollback] == [
        ("start", "swap/health", None),
        ("end", None, "ok"),
    ]
    end = next(x for x in recs if x["event"] == "stage.end")
    assert end["outcome"] == "failed"


def test_a_rollback_restores_a_captured_value(run_plain, work: Path) -> None:
    """A rollback step uses a value captured by a step of its stage (with quotes and $(...): it
    stays one word), one whose `when` is false is skipped by condition, and a for_each step is
    repeated per value."""
    old = "old 'q' $(echo hacked)"
    (work / old).mkdir()
    (work / "current").symlink_to(old)
    # y: previous; y: new-link; y: health (fails); b; y: restore; y, y: mark[a], mark[b]
    r, audit = run_plain("rollback-captured", input="y\ny\ny\nb\ny\ny\ny\n")
    assert r.returncode == 1, r.stdout + r.stderr
    assert (work / "current").resolve() == (work / old).resolve()
    assert not (work / "no-previous").exists()
    assert (work / "undone-a").exists() and (work / "undone-b").exists()
    recs = read_log(audit)
    fin = [(x["step_key"], x["outcome"]) for x in recs if x["event"] == "step.finished"]
    assert fin[2:] == [
        ("swap/health", "failed"),
        ("swap/rollback/restore", "ok"),
        ("swap/rollback/mark[a]", "ok"),
        ("swap/rollback/mark[b]", "ok"),
    ]
    skipped = [x for x in recs if x["event"] == "step.skipped"]
    assert [(x["step_key"], x["operator"]) for x in skipped] == [
        ("swap/rollback/only-without-previous", "condition")
    ]
    rollback = [x for x in recs if x["event"] == "stage.rollback"]
    assert [(x["phase"], x.get("outcome")) for x in rollback] == [("start", None), ("end", "ok")]


def test_a_rollback_command_too_long_is_refused_before_the_run(
    run_plain, tmp_path: Path, work: Path
) -> None:
    """Rendered rollback commands are held to the size limit of every command, before anything
    runs (a var, twice in the rollback step, makes it too long)."""
    big = 'run = "ln -sfn {{ old }}{{ old }} {{ work }}/current"'
    text = checklist_text("rollback").replace('run = "ln -sfn old {{ work }}/current"', big)
    path = tmp_path / "big.toml"
    path.write_text(text.replace("[vars.work]", "[vars.work]\n[vars.old]"))
    r, _ = run_plain(path, "--var", "old=" + "x" * 63_000, input="y\n")
    assert r.returncode == 2, r.stdout + r.stderr
    assert "swap/old-link's command would be" in r.stderr and "Traceback" not in r.stderr
    assert not (work / "current").exists()
