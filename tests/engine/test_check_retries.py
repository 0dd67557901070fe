"""`retries` and `delay` on check steps, end to end (real shell, real files, the real log)."""

from __future__ import annotations

import time
from pathlib import Path

from engine_cli import read_log


def test_a_check_is_retried_until_it_holds(run_plain, work: Path) -> None:
    start = time.monotonic()
    r, audit = run_plain("retries", "--yes")
    assert r.returncode == 1, r.stdout + r.stderr  # the second never holds
    recs = read_log(audit)
    attempts = [x for x in recs if x["event"] == "step.attempt"]
    first = [x for x in attempts if x["step_key"] == "s/third-time"]
    assert [(x["attempt"], x["attempts"], x["outcome"]) for x in first] == [
        (1, 6, "failed"),
        (2, 6, "failed"),
    ]
    assert "equals" in first[0]["message"] or "1" in first[0]["message"]
    fin = {x["step_key"]: x for x in recs if x["event"] == "step.finished"}
    assert fin["s/third-time"]["outcome"] == "ok"
    assert "held on attempt 3 of 6" in fin["s/third-time"]["message"]
    assert (work / "n").read_text() == "3\n"
    # every attempt's output is on record
    out = [
        x["text"] for x in recs if x["event"] == "step.output" and x["step_key"] == "s/third-time"
    ]
    assert out == ["1", "2", "3"]
    never = [x for x in attempts if x["step_key"] == "s/never"]
    assert [x["attempt"] for x in never] == [1, 2]
    assert fin["s/never"]["outcome"] == "failed"
    assert "did not hold in 3 attempts" in fin["s/never"]["message"]
    assert (work / "never").read_text() == "attempt\n" * 3
    assert time.monotonic() - start >= 2 * 0.2 + 2 * 0.1  # the delays were waited
    assert "attempt 1/6: failed" in r.stdout


def test_a_rehearsal_waits_out_no_retries_after_a_simulated_change(run_plain, work: Path) -> None:
    """The change was only simulated, so nothing would come true however long the check after
    it waited (5 x 10 s here): it is tried once and recorded unverified. A check before any
    simulated change is retried as in a live run."""
    start = time.monotonic()
    r, audit = run_plain("retries-rehearsal", "--rehearse", "--yes")
    assert r.returncode == 0, r.stdout + r.stderr
    assert time.monotonic() - start < 9, "the check's retries were waited out"
    fin = {x["step_key"]: x for x in read_log(audit) if x["event"] == "step.finished"}
    assert fin["s/before"]["outcome"] == "ok"
    assert "held on attempt 2 of 4" in fin["s/before"]["message"]
    assert fin["s/change"]["outcome"] == "would-run"
    assert not (work / "changed").exists()
    assert fin["s/after"]["outcome"] == "unverified"
    assert "tried once, not retried" in fin["s/after"]["message"]
    assert (work / "after").read_text() == "attempt\n"
