"""`annotui run --plain --answers FILE`: an answers file drives a whole run without stdin;
each answer that came from it is recorded as such; a bad file is one line and exit 2."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest
from engine_cli import read_log

from annotui.engine.prepare import _answers
from annotui.engine.vars import VarError

ANSWERS = """\
["deploy[staging]/ticket"]
evidence = "CHG-1234"

["deploy[staging]/write"]
word = "staging"

["deploy[staging]/optional"]
answer = "skip"
reason = "not this time"

["deploy[staging]/look"]
answer = "run"
"""


def _run(run_plain, tmp_path: Path, answers: str):
    file = tmp_path / "answers.toml"
    file.write_text(answers)
    return run_plain("answers", "--answers", file)


def test_an_answers_file_drives_a_whole_run(run_plain, tmp_path: Path, work: Path) -> None:
    r, audit = _run(run_plain, tmp_path, ANSWERS)
    assert r.returncode == 0, r.stdout + r.stderr
    assert (work / "written").read_text() == "staging\n"
    assert not (work / "optional").exists()
    recs = read_log(audit)
    how = {
        x["step_key"]: (x.get("how"), x.get("word")) for x in recs if x["event"] == "step.confirmed"
    }
    assert how == {
        "deploy[staging]/ticket": ("answers file", None),
        "deploy[staging]/write": ("answers file", "staging"),
        "deploy[staging]/look": ("answers file", None),
    }
    evidence = next(x for x in recs if x["event"] == "step.evidence")
    assert evidence["text"] == "CHG-1234"
    skipped = next(x for x in recs if x["event"] == "step.skipped")
    assert skipped["reason"] == "not this time (answers file)"
    assert "(end of input)" not in r.stdout


def test_unanswered_questions_still_go_to_stdin(run_plain, tmp_path: Path) -> None:
    partial = ANSWERS.split('["deploy[staging]/look"]')[0]
    r, audit = _run(run_plain, tmp_path, partial)
    assert r.returncode == 3, r.stdout + r.stderr  # stdin is empty: the last question stops
    assert "(end of input)" in r.stdout
    confirmed = {x["step_key"] for x in read_log(audit) if x["event"] == "step.confirmed"}
    assert "deploy[staging]/look" not in confirmed and "deploy[staging]/write" in confirmed


def test_bad_answers_files_are_one_line_and_exit_2(run_plain, tmp_path: Path) -> None:
    for text, words in [
        ('["deploy[staging]/write"]\nwrod = "x"\n', "unknown key 'wrod'"),
        ('["deploy[staging]/write"]\nanswer = "skip"\n', "a skip needs a reason"),
        ("[oops\n", "not valid TOML"),
    ]:
        r, _ = _run(run_plain, tmp_path, text)
        assert r.returncode == 2 and words in r.stderr, r.stderr
        assert "Traceback" not in r.stderr and len(r.stderr.splitlines()) == 1


def test_answers_need_plain_mode() -> None:
    """The cockpit asks the person at it (without a terminal it refuses even earlier)."""
    with pytest.raises(VarError, match="--answers works with --plain"):
        _answers(argparse.Namespace(answers="a.toml", plain=False))
