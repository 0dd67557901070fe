"""`list = true` vars and `for_each` over them (issue 13), through `annotui run --plain`: values
from --var (commas, `\\,`), a TOML array in --vars-file, a prompt, an answers file keyed by the
copies' keys, a resume; real shell, real files, the real log."""

from __future__ import annotations

import json
from pathlib import Path

from engine_cli import read_log

HOSTILE = 'it\'s "q" $(touch PWNED) `touch PWNED2` a  b;x'


def _keys(audit: Path, event: str) -> list[str]:
    return [r.get("step_key") or r.get("stage_key") for r in read_log(audit) if r["event"] == event]


def test_values_from_var_loop_stages_and_host_steps_one_word_each(run_plain, work: Path) -> None:
    apps = "web," + HOSTILE + r",a\,b"
    r, audit = run_plain("lists", "--yes", "--var", f"apps={apps}")
    assert r.returncode == 0, r.stdout + r.stderr
    # each value, quotes, $(...) and an escaped comma included, reached printf as one word
    assert (work / "apps.txt").read_text() == f"[web]\n[{HOSTILE}]\n[a,b]\n"
    assert not (work / "PWNED").exists() and not (work / "PWNED2").exists()
    stages = ["deploy[web]", f"deploy[{HOSTILE}]", "deploy[a,b]", "roll"]
    assert _keys(audit, "stage.start") == stages
    # the host loop over the list var's default: one copy per declared host
    assert (work / "nodes.txt").read_text() == "n1\nn2\n"
    fin = _keys(audit, "step.finished")
    assert fin[-2:] == ["roll/touch[n1]", "roll/touch[n2]"]
    shown = {x["step_key"]: x["host"] for x in read_log(audit) if x["event"] == "step.shown"}
    assert shown["roll/touch[n2]"] == "n2"
    # recorded as given (commas between values, \, inside one): resume reads it back exactly
    var = {x["name"]: x["value"] for x in read_log(audit) if x["event"] == "var.set"}
    assert var["apps"] == apps and var["nodes"] == "n1,n2"


def test_a_toml_array_in_the_vars_file(run_plain, tmp_path: Path, work: Path) -> None:
    vars_file = tmp_path / "vars.toml"
    values = ["web", "a,b", "back\\slash", HOSTILE]
    vars_file.write_text(f"apps = [{', '.join(map(json.dumps, values))}]\n")  # TOML strings
    r, audit = run_plain("lists", "--yes", "--vars-file", vars_file)
    assert r.returncode == 0, r.stdout + r.stderr
    assert (work / "apps.txt").read_text() == f"[web]\n[a,b]\n[back\\slash]\n[{HOSTILE}]\n"
    var = {x["name"]: x for x in read_log(audit) if x["event"] == "var.set"}
    assert var["apps"]["value"] == "web,a\\,b,back\\\\slash," + HOSTILE
    assert var["apps"]["source"] == "file"


def test_bad_list_values_are_refused_before_anything_runs(
    run_plain, tmp_path: Path, work: Path
) -> None:
    vars_file = tmp_path / "vars.toml"
    cases = {
        ('apps = ["web", "x\\ny"]', ()): "so a value cannot hold /, [, ] or a control character",
        ("release = ['a', 'b']", ("--var", "apps=web")): "release is not a list var",
        ("", ("--var", "apps=web,web")): "lists 'web' twice",
        ("", ("--var", "apps=web,")): "value '' must not be empty",
        ("", ("--var", "apps=a/b")): "cannot hold /, [, ]",
        ("", ("--var", "apps=web", "--var", "nodes=n1,n3")): (
            "the for_each of step roll/touch runs touch on host '{{ node }}', and 'n3' is not a "
            "declared host (declared: local, n1, n2)"
        ),
    }
    for (text, args), words in cases.items():
        vars_file.write_text(text + "\n")
        r, _ = run_plain("lists", "--yes", "--vars-file", vars_file, *args, audit="bad.jsonl")
        assert r.returncode == 2, (text, args, r.stdout + r.stderr)
        last = r.stderr.strip().splitlines()
        assert len(last) == 1 and words in last[0], (words, r.stderr)
        assert "Traceback" not in r.stdout + r.stderr
        assert list(work.iterdir()) == []  # nothing ran
        (tmp_path / "bad.jsonl").unlink()


def test_a_list_var_asked_for_on_stdin(run_plain, work: Path) -> None:
    r, audit = run_plain("lists", "--yes", input="web,,api\nweb,api\n")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "value '' must not be empty" in r.stdout
    assert (work / "apps.txt").read_text() == "[web]\n[api]\n"
    var = {x["name"]: x for x in read_log(audit) if x["event"] == "var.set"}
    assert var["apps"]["value"] == "web,api" and var["apps"]["source"] == "prompt"


def test_an_answers_file_answers_each_copy_by_its_key(
    run_plain, tmp_path: Path, work: Path
) -> None:
    answers = tmp_path / "answers.toml"
    answers.write_text(
        '["deploy[web]/write"]\nanswer = "run"\n'
        '["deploy[api]/write"]\nanswer = "skip"\nreason = "api is frozen"\n'
        '["roll/touch[n1]"]\nanswer = "run"\n'
        '["roll/touch[n2]"]\nanswer = "skip"\nreason = "n2 is drained"\n'
    )
    r, audit = run_plain("lists", "--answers", answers, "--var", "apps=web,api")
    assert r.returncode == 0, r.stdout + r.stderr
    assert (work / "apps.txt").read_text() == "[web]\n"
    assert (work / "nodes.txt").read_text() == "n1\n"
    skipped = {x["step_key"]: x["reason"] for x in read_log(audit) if x["event"] == "step.skipped"}
    assert skipped == {
        "deploy[api]/write": "api is frozen (answers file)",
        "roll/touch[n2]": "n2 is drained (answers file)",
    }


def test_a_resumed_run_keeps_its_list(run_plain, work: Path) -> None:
    r, audit = run_plain("lists", "--var", "apps=web,api", input="y\nq\n")
    assert r.returncode == 3, r.stdout + r.stderr
    assert (work / "apps.txt").read_text() == "[web]\n"
    r, _ = run_plain("lists", "--resume", "--yes", "--var", "apps=web,db")
    assert r.returncode == 2 and "a resumed run keeps its values" in r.stderr, r.stderr
    r, _ = run_plain("lists", "--resume", "--yes")
    assert r.returncode == 0, r.stdout + r.stderr
    assert (work / "apps.txt").read_text() == "[web]\n[api]\n"
    fin = _keys(audit, "step.finished")
    assert fin == ["deploy[web]/write", "deploy[api]/write", "roll/touch[n1]", "roll/touch[n2]"]
