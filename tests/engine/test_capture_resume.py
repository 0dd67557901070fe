"""Captured values across `--resume` (issue 13): read back from the audit log; a secret one,
which the log never holds, is captured again by re-running its step (a person confirms one
that changes something); in rehearsal a simulated step's capture stays unknown. Real shell,
real files, the real log."""

from __future__ import annotations

from pathlib import Path

from engine_cli import read_log

HOSTILE = 'it\'s "q" $(touch PWNED) `touch PWNED2` a  b;x'


def test_values_are_read_back_and_secrets_captured_again(run_plain, work: Path) -> None:
    (work / "value.txt").write_text(HOSTILE + "\n")
    (work / "token.txt").write_text("tok-5ecret-9\n")
    r, audit = run_plain("capture-resume", input="y\ny\ny\nq\n")  # stop at pause/wait
    assert r.returncode == 3, r.stdout + r.stderr
    (work / "value.txt").unlink()  # v can only come from the log now
    # --yes runs the read-only token check again; the mint changes something: a person says y
    r, _ = run_plain("capture-resume", "--resume", "--yes", input="y\n")
    assert r.returncode == 0, r.stdout + r.stderr
    assert (work / "words.txt").read_text() == f"[{HOSTILE}]\n"  # one word, from the log
    assert not (work / "PWNED").exists() and not (work / "PWNED2").exists()
    assert (work / "token-out.txt").read_text() == "tok-5ecret-9 m-7secret\n"
    assert (work / "token-reads").read_text() == "read\nread\n"
    assert (work / "mints").read_text() == "minted\nminted\n"
    recs = read_log(audit)
    resumed = next(i for i, x in enumerate(recs) if x["event"] == "session.resume")
    after = recs[resumed:]
    notes = [x["message"] for x in after if x["event"] == "error"]
    assert notes == [
        "resume: token, captured by read/token before the resume, is secret, so it was never "
        "written to the audit log; a step still to run uses it, so read/token runs again to "
        "capture it",
        "resume: minted, captured by read/mint before the resume, is secret, so it was never "
        "written to the audit log; a step still to run uses it, so read/mint runs again to "
        "capture it (it changes something: a person confirms it)",
    ]
    confirmed = {x["step_key"]: x["auto"] for x in after if x["event"] == "step.confirmed"}
    assert confirmed["read/token"] is True and confirmed["read/mint"] is False
    assert "read/value" not in confirmed  # not run again: its value came from the log
    text = audit.read_text()
    assert "tok-5ecret-9" not in text and "m-7secret" not in text
    assert "tok-5ecret-9" not in r.stdout + r.stderr


def test_a_secret_nobody_needs_any_more_is_not_captured_again(run_plain, work: Path) -> None:
    (work / "value.txt").write_text("x\n")
    (work / "token.txt").write_text("tok\n")
    r, audit = run_plain("capture-resume", input="y\n" * 6 + "q\n")  # stop at end/close
    assert r.returncode == 3, r.stdout + r.stderr
    assert (work / "token-out.txt").read_text() == "tok m-7secret\n"
    r, _ = run_plain("capture-resume", "--resume", "--yes")
    assert r.returncode == 0, r.stdout + r.stderr
    assert (work / "token-reads").read_text() == "read\n"  # the only user of it is done
    assert (work / "mints").read_text() == "minted\n"
    recs = read_log(audit)
    resumed = next(i for i, x in enumerate(recs) if x["event"] == "session.resume")
    assert not [x for x in recs[resumed:] if x["event"] == "error"]


def test_a_rehearsal_resumed_still_decides_at_run_time(run_plain, work: Path) -> None:
    r, audit = run_plain("capture-rehearsal", "--rehearse", input="y\nq\n")
    assert r.returncode == 3, r.stdout + r.stderr
    r, _ = run_plain("capture-rehearsal", "--rehearse", "--resume", "--yes")
    assert r.returncode == 0, r.stdout + r.stderr
    fin = {x["step_key"]: x for x in read_log(audit) if x["event"] == "step.finished"}
    assert fin["t/look"]["outcome"] == "would-run"
    assert fin["t/look"]["message"].startswith("decided at run time: it depends on dir")
