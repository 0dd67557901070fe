"""`in` / `not in` over list vars in `when` (issue 13): inside a stage's and a step's for_each,
on a stage, live and in rehearsal, through `annotui run --plain` (real shell, real log)."""

from __future__ import annotations

from pathlib import Path

from engine_cli import read_log


def _skipped(audit: Path) -> dict[str, dict]:
    return {r["step_key"]: r for r in read_log(audit) if r["event"] == "step.skipped"}


def test_membership_decides_which_copies_run(run_plain, work: Path) -> None:
    r, audit = run_plain("membership", "--yes", "--var", "apps=web,api,db")
    assert r.returncode == 0, r.stdout + r.stderr
    # the canary ran for the canary only, the rest for the others; "db" in apps ran the
    # migration; the step loop ran for neither the canary nor db ('we' is no value of apps)
    assert (work / "log.txt").read_text().splitlines() == [
        "canary web",
        "rest api",
        "rest db",
        "migrate",
        "smoke api",
    ]
    skipped = _skipped(audit)
    assert sorted(skipped) == [
        "deploy[api]/canary",
        "deploy[db]/canary",
        "deploy[web]/rest",
        "smoke/probe[db]",
        "smoke/probe[web]",
    ]
    rec = skipped["deploy[api]/canary"]
    assert rec["operator"] == "condition"
    assert rec["condition"] == "app in canaries"
    assert rec["seen"] == {"app": "api", "canaries": "web"}
    assert rec["reason"] == "condition is false: app in canaries (app='api', canaries='web')"
    assert skipped["smoke/probe[web]"]["seen"] == {
        "app": "web",
        "canaries": "web",
        "apps": "web,api,db",
    }


def test_a_stage_skipped_by_membership_and_values_holding_commas(run_plain, work: Path) -> None:
    # one value holding a comma (`\,`) is one value: it is a canary, "a" alone is not
    r, audit = run_plain("membership", "--yes", "--var", r"apps=a\,b,a", "--var", r"canaries=a\,b")
    assert r.returncode == 0, r.stdout + r.stderr
    assert (work / "log.txt").read_text().splitlines() == ["canary a,b", "rest a", "smoke a"]
    skipped = _skipped(audit)
    assert skipped["db/migrate"]["condition"] == '"db" in apps'
    assert skipped["db/migrate"]["seen"] == {"apps": r"a\,b,a"}
    assert "deploy[a,b]/rest" in skipped and "deploy[a]/canary" in skipped
    # a substring of a value is no member: 'we' not in apps held above, and "a" is not "a,b"
    assert "smoke/probe[a]" not in skipped


def test_rehearsal_decides_membership_as_a_run_would(run_plain, work: Path) -> None:
    r, audit = run_plain("membership", "--yes", "--rehearse", "--var", "apps=web,api")
    assert r.returncode == 0, r.stdout + r.stderr
    out = r.stdout
    assert "=> skipped: condition is false: app in canaries (app='api', canaries='web')" in out
    assert "=> skipped: condition is false: \"db\" in apps (apps='web,api')" in out
    fin = {x["step_key"]: x["outcome"] for x in read_log(audit) if x["event"] == "step.finished"}
    assert fin == {
        "deploy[web]/canary": "would-run",
        "deploy[api]/rest": "would-run",
        "smoke/probe[api]": "ok",
    }
    assert sorted(_skipped(audit)) == [
        "db/migrate",
        "deploy[api]/canary",
        "deploy[web]/rest",
        "smoke/probe[web]",
    ]
    assert (work / "log.txt").read_text() == "smoke api\n"  # the check ran; changes did not
