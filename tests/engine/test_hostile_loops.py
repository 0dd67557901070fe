"""Loops a hostile or careless list can blow up (issue 13): a for_each inside a for_each over
list vars whose values come at run time. Refused in one line before anything runs, never a
MemoryError (2,400 x 2,400 copies did that) or a hang."""

from __future__ import annotations

import time

from engine_cli import read_log


def test_a_run_of_more_than_5000_expanded_steps_is_refused(run_plain) -> None:
    apps = ",".join(f"a{i}" for i in range(2400))
    started = time.monotonic()
    r, audit = run_plain("loops-product", "--yes", "--var", f"apps={apps}", with_work=False)
    assert time.monotonic() - started < 30
    assert r.returncode == 2, r.stdout + r.stderr
    assert r.stderr.strip().splitlines() == [
        "annotui: with these values the run would have 5,760,000 steps (every for_each "
        "expanded): a run has at most 5,000; give the list vars fewer values"
    ]
    assert "Traceback" not in r.stdout + r.stderr
    if audit.exists():
        assert not [x for x in read_log(audit) if x["event"].startswith("step.")]


def test_70_by_70_copies_run(run_plain) -> None:
    apps = ",".join(f"a{i}" for i in range(70))  # 4,900 steps: under the limit
    r, audit = run_plain(
        "loops-product", "--rehearse", "--var", f"apps={apps}", with_work=False, input=""
    )
    assert "Traceback" not in r.stdout + r.stderr  # the first manual step finds stdin empty
    plan = next(x for x in read_log(audit) if x["event"] == "run.plan")
    assert sum(len(s["steps"]) for s in plan["stages"]) == 4900
    assert plan["stages"][69]["key"] == "s[a69]"
    assert plan["stages"][69]["steps"][-1]["key"] == "s[a69]/t[a69]"


def test_list_values_that_look_alike_or_hide_characters_are_refused(run_plain, work) -> None:
    cases = {
        "web,we\u200bb": "an invisible formatting one (zero-width, bidirectional)",
        "web,x\u202ey": "an invisible formatting one",
        # the same text, composed and decomposed
        "\u00e9,e\u0301": "twice (written 'e\\u0301': compared as read): each value once",
    }
    for apps, words in cases.items():
        r, audit = run_plain("lists", "--yes", "--var", f"apps={apps}", audit="bad.jsonl")
        assert r.returncode == 2, (apps, r.stdout + r.stderr)
        assert words in r.stderr and "Traceback" not in r.stdout + r.stderr, (apps, r.stderr)
        assert list(work.iterdir()) == []  # nothing ran
        audit.unlink(missing_ok=True)
