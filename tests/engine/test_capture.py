"""`capture` end to end through `annotui run --plain`: real shell, real files, the real log."""

from __future__ import annotations

from pathlib import Path

from engine_cli import read_log

HOSTILE = 'it\'s "q" $(touch PWNED) `touch PWNED2` a  b;x'

CHECKLIST = """\
[checklist]
id = "capture"
title = "Captured values"

[vars.work]

[[stages]]
id = "read"

  [[stages.steps]]
  id = "value"
  kind = "check"
  run = "cat {{ work }}/value.txt"
  capture = "v"

  [[stages.steps]]
  id = "version"
  kind = "command"
  changes = false
  run = "echo 'name=db'; echo 'version=14.2 (stable)'"
  capture = { name = "ver", regex = '^version=(\\S+)' }

  [[stages.steps]]
  id = "token"
  kind = "check"
  run = "printf 'tok-%s-9\\\\n' 5ecret"
  capture = "token"
  secret = true

[[stages]]
id = "use"

  [[stages.steps]]
  id = "reuse"
  kind = "command"
  run = "printf '[%s]\\\\n' {{ v }} > {{ work }}/words.txt"

  [[stages.steps]]
  id = "new-enough"
  kind = "command"
  when = 'ver == "14.2"'
  run = "echo {{ ver }} > {{ work }}/ver.txt"

  [[stages.steps]]
  id = "old"
  kind = "command"
  when = 'ver in ["9.6", "10"]'
  run = "touch {{ work }}/old"

  [[stages.steps]]
  id = "secret-use"
  kind = "command"
  run = "echo {{ token }} > {{ work }}/token.txt; echo {{ token }}"
"""


def _checklist(tmp_path: Path, text: str = CHECKLIST) -> Path:
    path = tmp_path / "capture.toml"
    path.write_text(text)
    return path


def test_captured_values_are_reused_as_one_word(run_cli, tmp_path: Path) -> None:
    work = tmp_path / "work"
    work.mkdir()
    (work / "value.txt").write_text(HOSTILE + "\n")
    audit = tmp_path / "audit.jsonl"
    r = run_cli(
        "run", _checklist(tmp_path), "--plain", "--yes", "--var", f"work={work}", "--audit", audit
    )  # fmt: skip
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


def test_rehearsal_decides_dependent_steps_at_run_time(run_cli, tmp_path: Path) -> None:
    text = """\
[checklist]
id = "capture-rehearsal"
title = "Captured in rehearsal"

[vars.work]

[[stages]]
id = "s"

  [[stages.steps]]
  id = "make"
  kind = "command"
  run = "mktemp -d {{ work }}/new.XXXX"
  capture = "dir"

[[stages]]
id = "t"

  [[stages.steps]]
  id = "look"
  kind = "check"
  run = "test -d {{ dir }}"

  [[stages.steps]]
  id = "maybe"
  kind = "check"
  when = 'dir != ""'
  run = "true"

  [[stages.steps]]
  id = "independent"
  kind = "check"
  run = "true"
"""
    work = tmp_path / "work"
    work.mkdir()
    audit = tmp_path / "audit.jsonl"
    r = run_cli(
        "run", _checklist(tmp_path, text), "--plain", "--yes", "--rehearse",
        "--var", f"work={work}", "--audit", audit,
    )  # fmt: skip
    assert r.returncode == 0, r.stdout + r.stderr
    assert list(work.iterdir()) == []  # the mktemp was only simulated
    fin = {x["step_key"]: x for x in read_log(audit) if x["event"] == "step.finished"}
    assert fin["s/make"]["outcome"] == "would-run"
    for key in ("t/look", "t/maybe"):
        assert fin[key]["outcome"] == "would-run"
        assert fin[key]["message"].startswith("decided at run time: it depends on dir")
    assert fin["t/independent"]["outcome"] == "ok"


def test_a_regex_that_does_not_match_fails_the_step(run_cli, tmp_path: Path) -> None:
    text = CHECKLIST.replace("version=14.2", "release 14.2")
    work = tmp_path / "work"
    work.mkdir()
    (work / "value.txt").write_text("x\n")
    audit = tmp_path / "audit.jsonl"
    r = run_cli(
        "run", _checklist(tmp_path, text), "--plain", "--yes", "--var", f"work={work}",
        "--audit", audit,
    )  # fmt: skip
    assert r.returncode == 1, r.stdout + r.stderr
    fin = [x for x in read_log(audit) if x["event"] == "step.finished"]
    assert fin[-1]["step_key"] == "read/version" and fin[-1]["outcome"] == "failed"
    assert "does not match the output" in fin[-1]["message"]


def test_a_value_never_captured_is_never_run_as_a_placeholder(run_cli, tmp_path: Path) -> None:
    text = """\
[checklist]
id = "capture-skipped"
title = "A capture skipped"

[vars.work]
[vars.mode]
default = "quick"

[[stages]]
id = "s"

  [[stages.steps]]
  id = "read"
  kind = "check"
  when = 'mode == "full"'
  run = "echo value"
  capture = "v"

  [[stages.steps]]
  id = "use"
  kind = "command"
  run = "echo {{ v }} > {{ work }}/used"
"""
    work = tmp_path / "work"
    work.mkdir()
    audit = tmp_path / "audit.jsonl"
    r = run_cli(
        "run", _checklist(tmp_path, text), "--plain", "--yes", "--var", f"work={work}",
        "--audit", audit,
    )  # fmt: skip
    assert r.returncode == 2, r.stdout + r.stderr
    assert "s/use uses v, which no step of this run has captured" in r.stdout + r.stderr
    assert not (work / "used").exists()
