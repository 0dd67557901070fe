"""`capture` end to end through `annotui run --plain`: real shell, real files, the real log."""

from __future__ import annotations

from pathlib import Path

from engine_cli import checklist_text, read_log

HOSTILE = 'it\'s "q" $(touch PWNED) `touch PWNED2` a  b;x'


def test_captured_values_are_reused_as_one_word(run_plain, work: Path) -> None:
    (work / "value.txt").write_text(HOSTILE + "\n")
    r, audit = run_plain("capture", "--yes")
    assert r.returncode == 0, r.stdout + r.stderr
    # the hostile value, quotes and $(...) included, reached printf as one word
    assert (work / "words.txt").read_text() == f"[{HOSTILE}]\n"
    assert not (work / "PWNED").exists() and not (work / "PWNED2").exists()
    # a regex capture, and a condition over it
    assert (work / "ver.txt").read_text() == "14.2\n"
    assert not (work / "old").exists()
    recs = read_log(audit)
    captured = {x["name"]: x for x in recs if x["event"] == "step.captured"}
    assert captured["v"]["value"] == HOSTILE and captured["v"]["step_key"] == "read/value"
    assert captured["ver"]["value"] == "14.2"
    skipped = {x["step_key"]: x for x in recs if x["event"] == "step.skipped"}
    assert skipped["use/old"]["seen"] == {"ver": "14.2"}
    # a secret capture is masked everywhere, though the command used it
    assert (work / "token.txt").read_text() == "tok-5ecret-9\n"
    assert captured["token"]["value"] == "***" and captured["token"]["secret"] is True
    assert "tok-5ecret-9" not in audit.read_text()
    assert "tok-5ecret-9" not in r.stdout + r.stderr


def test_rehearsal_decides_dependent_steps_at_run_time(run_plain, work: Path) -> None:
    r, audit = run_plain("capture-rehearsal", "--yes", "--rehearse")
    assert r.returncode == 0, r.stdout + r.stderr
    assert list(work.iterdir()) == []  # the mktemp was only simulated
    fin = {x["step_key"]: x for x in read_log(audit) if x["event"] == "step.finished"}
    assert fin["s/make"]["outcome"] == "would-run"
    for key in ("t/look", "t/maybe"):
        assert fin[key]["outcome"] == "would-run"
        assert fin[key]["message"].startswith("decided at run time: it depends on dir")
    assert fin["t/independent"]["outcome"] == "ok"


def test_a_regex_that_does_not_match_fails_the_step(run_plain, tmp_path: Path, work: Path) -> None:
    path = tmp_path / "capture.toml"
    path.write_text(checklist_text("capture").replace("version=14.2", "release 14.2"))
    (work / "value.txt").write_text("x\n")
    r, audit = run_plain(path, "--yes")
    assert r.returncode == 1, r.stdout + r.stderr
    fin = [x for x in read_log(audit) if x["event"] == "step.finished"]
    assert fin[-1]["step_key"] == "read/version" and fin[-1]["outcome"] == "failed"
    assert "does not match the output" in fin[-1]["message"]


def test_a_value_never_captured_is_never_run_as_a_placeholder(run_plain, work: Path) -> None:
    r, _ = run_plain("capture-skipped", "--yes")
    assert r.returncode == 2, r.stdout + r.stderr
    assert "s/use uses v, which no step of this run has captured" in r.stdout + r.stderr
    assert not (work / "used").exists()
