"""`annotui schema`: the JSON Schema editors use for completion."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from annotui.checklist.models import STEP_KINDS


def test_schema_is_json_with_every_step_kind() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "annotui.cli", "schema"], capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 0, proc.stderr
    schema = json.loads(proc.stdout)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["title"] == "annotui checklist"
    assert schema["description"]
    assert set(schema["required"]) == {"checklist", "stages"}
    assert schema["additionalProperties"] is False
    defs = schema["$defs"]
    kinds = {d["properties"]["kind"]["const"] for d in defs.values() if "kind" in d["properties"]}
    assert kinds == set(STEP_KINDS)
    steps = defs["Stage"]["properties"]["steps"]["items"]
    assert steps["discriminator"]["propertyName"] == "kind"
    assert defs["CommandStep"]["properties"]["changes"]["default"] is True
    assert defs["Var"]["properties"]["secret"]["description"]


def test_schema_validates_a_real_checklist() -> None:
    """The schema accepts what the loader accepts (checked with a tiny structural walk)."""
    import tomlkit

    from annotui.checklist.commands import json_schema

    schema = json_schema()
    text = (Path(__file__).parent / "valid" / "every-kind.toml").read_text()
    data = tomlkit.parse(text).unwrap()
    top = set(schema["properties"])
    assert set(data) <= top
    step_keys = set().union(
        *(set(schema["$defs"][m.__name__]["properties"]) for m in STEP_KINDS.values())
    )
    for stage in data["stages"]:
        for step in stage["steps"]:
            assert set(step) <= step_keys


ANSIBLE_HOST = """\
[checklist]
id = "a"
title = "A"

[hosts.deployer]
ssh = "deploy@deployer.example"

[[stages]]
id = "s"

  [[stages.steps]]
  id = "play"
  kind = "ansible"
  playbook = "site.yml"
  inventory = ["web1"]
  host = "{host}"
"""


def test_the_ansible_host_says_what_check_accepts(tmp_path: Path) -> None:
    """`host` of an ansible step: the schema's description names both forms `check` takes
    (`local`, a declared SSH host where ansible-runner's worker runs) and check refuses the rest."""
    from annotui.checklist.commands import check_one, json_schema

    described = json_schema()["$defs"]["AnsibleStep"]["properties"]["host"]
    assert described["default"] == "local" and described["type"] == "string"
    text = described["description"]
    assert "`local`" in text and "declared [hosts] entry" in text
    assert "SSH" in text and "ansible-runner's worker" in text
    (tmp_path / "site.yml").write_text("- hosts: all\n  tasks: []\n")
    for host, ok in (("local", True), ("deployer", True), ("elsewhere", False)):
        path = tmp_path / f"{host}.toml"
        path.write_text(ANSIBLE_HOST.format(host=host))
        valid, report = check_one(str(path))
        assert valid is ok, report
        if not ok:
            assert f"{path}:" in report and "'elsewhere'" in report
