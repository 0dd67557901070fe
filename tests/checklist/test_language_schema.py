"""The keys of the runbook language (issue 13) in `annotui check` and in the JSON Schema of
`annotui schema`: the same documents are fed to both, and both accept or both reject them."""

from __future__ import annotations

import tomllib
from pathlib import Path

import jsonschema
import pytest

from annotui.checklist.commands import check_one, json_schema

HEAD = """\
[checklist]
id = "lang"
title = "Language"
{meta}
[vars.release]
default = "v1"

[hosts.db]
ssh = "local"
{host}
[supervisors.web]
url = "http://127.0.0.1:9001"

[probes.jobs]
host = "db"
run = "echo 0"
{probe}
[[stages]]
id = "s"
{stage}
  [[stages.steps]]
  id = "a"
  kind = "{kind}"
{step}
"""

STEP_DEFAULTS = {
    "command": 'run = "true"\nhost = "db"',
    "check": 'run = "true"\nhost = "db"',
    "gate": 'probe = "jobs"\nuntil = "== 0"',
    "manual": "",
    "supervisor": 'supervisor = "web"\nprocess = "web"',
    "http": 'url = "http://127.0.0.1:9200/health"',
}


def doc(
    step: str = "", kind: str = "command", meta: str = "", host: str = "", probe: str = "",
    stage: str = "",
) -> str:  # fmt: skip
    body = "\n".join(f"  {line}" for line in (STEP_DEFAULTS[kind] + "\n" + step).splitlines())
    return HEAD.format(meta=meta, host=host, probe=probe, stage=stage, kind=kind, step=body)


APPS = '\n[vars.apps]\nlist = true\ndefault = "web,worker"\n'
"""A list var (the meta slot ends [checklist] and opens [vars.apps])."""
LOOP = 'for_each = {{ release = "{}" }}'

CASES: list[tuple[str, str, bool]] = [
    ("user on a command", doc('user = "postgres"'), True),
    ("user and login on a check", doc('user = "postgres"\nlogin = true', "check"), True),
    ("a host's user, login, shell", doc(host='user = "pg"\nlogin = true\nshell = "bash"'), True),
    ("user on a probe", doc(probe='user = "postgres"'), True),
    ("shell on the checklist", doc(meta='shell = "/bin/bash"'), True),
    ("shell on a step", doc('shell = "bash"', "check"), True),
    ("a user with a space", doc('user = "post gres"'), False),
    ("a user with a template", doc('user = "{{ release }}"'), False),
    ("user on a gate", doc('user = "postgres"', "gate"), False),
    ("user on a manual step", doc('user = "postgres"', "manual"), False),
    ("a shell with arguments", doc('shell = "bash -x"'), False),
    ("login not a bool", doc('user = "postgres"\nlogin = "yes"'), False),
    ("shell on a gate", doc('shell = "bash"', "gate"), False),
    ("when on a step", doc("when = 'release == \"v1\" or not release'"), True),
    ("when on a gate", doc("when = 'release in [\"v1\", 2]'", "gate"), True),
    ("when on a stage", doc(stage="when = 'release != \"v1\"'"), True),
    ("when not a string", doc("when = true"), False),
    ("capture a name", doc('capture = "out"\nsecret = true', "check"), True),
    ("capture a regex", doc("capture = { name = 'v', regex = 'v=(\\\\S+)' }"), True),
    ("capture on a gate", doc('capture = "out"', "gate"), False),
    ("capture a bad name", doc('capture = "a b"'), False),
    ("capture without regex", doc("capture = { name = 'v' }"), False),
    ("capture with a typo", doc("capture = { name = 'v', regexp = 'x' }"), False),
    ("secret not a bool", doc('capture = "out"\nsecret = "yes"'), False),
    ("for_each on a step", doc("for_each = { release = ['a', 'b'] }"), True),
    ("for_each on a step, twice a value", doc("for_each = { release = ['a', 'a'] }"), False),
    ("for_each on a step, two vars", doc("for_each = { release = ['a'], x = ['b'] }"), False),
    ("for_each on a step, no value", doc("for_each = { release = [] }"), False),
    ("retries and delay on a check", doc("retries = 3\ndelay = 0.5", "check"), True),
    ("retries on a command", doc("retries = 3"), False),
    ("negative retries", doc("retries = -1", "check"), False),
    ("retries not whole", doc("retries = 1.5", "check"), False),
    ("delay a string", doc('delay = "5"', "check"), False),
    ("signal HUP", doc('action = "signal"\nsignal = "HUP"', "supervisor"), True),
    ("signal without a signal", doc('action = "signal"', "supervisor"), False),
    ("a signal on a restart", doc('action = "restart"\nsignal = "HUP"', "supervisor"), False),
    ("restart", doc('action = "restart"', "supervisor"), True),
    ("a lower-case signal", doc('action = "signal"\nsignal = "hup"', "supervisor"), False),
    ("http", doc('via = "db"\nexpect = { status = 204, body_matches = "ok" }', "http"), True),
    ("http headers", doc('headers = { Authorization = "Bearer {{ release }}" }', "http"), True),
    ("http bad method", doc('method = "FETCH"', "http"), False),
    ("http bad status", doc("expect = { status = 99 }", "http"), False),
    ("http expect typo", doc("expect = { code = 200 }", "http"), False),
    ("http bad header name", doc('headers = { "Bad Header" = "x" }', "http"), False),
    ("http retries", doc("retries = 2\ndelay = 1", "http"), True),
    ("rollback", doc(stage='[[stages.rollback]]\nid = "undo"\nkind = "command"\nrun = "x"'), True),
    ("rollback typo", doc(stage='[[stages.rollback]]\nid = "u"\nkind = "command"\nrn = ""'), False),
    ("a list var", doc(meta=APPS), True),
    ("a list var, secret", doc(meta=APPS + "secret = true"), False),
    ("list not a bool", doc(meta='\n[vars.apps]\nlist = "yes"\n'), False),
    ("for_each on a step over a list var", doc(LOOP.format("{{ apps }}"), meta=APPS), True),
    ("for_each on a stage over a list var", doc(stage=LOOP.format("{{apps}}"), meta=APPS), True),
    ("for_each over a bare name", doc(LOOP.format("apps"), meta=APPS), False),
    ("for_each over a template with text", doc(LOOP.format("x{{ apps }}"), meta=APPS), False),
    ("for_each over a number", doc("for_each = { release = 3 }", meta=APPS), False),
]  # fmt: skip


@pytest.fixture(scope="module")
def validator() -> jsonschema.Draft202012Validator:
    return jsonschema.Draft202012Validator(json_schema())


@pytest.mark.parametrize(("name", "text", "valid"), CASES, ids=[c[0] for c in CASES])
def test_check_and_schema_agree(
    name: str, text: str, valid: bool, tmp_path: Path, validator: jsonschema.Draft202012Validator
) -> None:
    path = tmp_path / "c.toml"
    path.write_text(text)
    ok, report = check_one(str(path))
    assert ok == valid, report
    errors = [e.message for e in validator.iter_errors(tomllib.loads(text))]
    assert (not errors) == valid, errors
    if not valid:
        assert report.startswith(f"{path}:") and "Traceback" not in report


def test_steps_are_chosen_by_kind_not_by_a_bare_one_of(
    validator: jsonschema.Draft202012Validator, tmp_path: Path
) -> None:
    """A typo names the step's own kind's keys; a bad kind names the kinds (taplo, Even
    Better TOML report the deepest error: with a bare oneOf they said only that no schema fit)."""
    steps = json_schema()["$defs"]["Stage"]["properties"]["steps"]["items"]
    assert "oneOf" not in steps and "anyOf" not in steps
    assert {c["if"]["properties"]["kind"]["const"] for c in steps["allOf"]} >= {"check", "http"}
    typo = tomllib.loads(doc("tiemout = 3", "check"))
    messages = [e.message for e in validator.iter_errors(typo)]
    assert any("'tiemout' was unexpected" in m for m in messages), messages
    bad_kind = tomllib.loads(doc().replace('kind = "command"', 'kind = "comand"'))
    errors = list(validator.iter_errors(bad_kind))
    assert any("'comand' is not one of" in e.message and "'command'" in e.message for e in errors)
