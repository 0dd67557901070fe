"""A var's value reaches an ansible step's extra vars as text, never as an Ansible template.

Ansible evaluates `{{ ... }}` in the extra vars it is given, so a value such as
`{{ lookup('pipe', 'touch FILE') }}`, passed through `extra_vars = { release = "{{ release }}" }`,
used to run a command on the controller when the playbook used the var. Real ansible-core
through ansible-runner, from a real `annotui run --plain`, with the checklist and playbook of
tests/engine/test_ansible.py; a public var (on ansible's command line) and a secret one (in its
private `-e @FILE`) each try it.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from engine_cli import annotui_cmd
from test_ansible import CHECKLIST, env, inventory

pytestmark = pytest.mark.timeout(240)


def test_a_template_in_a_value_is_not_run_by_ansible(tmp_path: Path) -> None:
    inv = inventory(tmp_path / "inv.ini", ["l1"], [])
    work = tmp_path / "work"
    work.mkdir()
    public_canary, secret_canary = tmp_path / "from-release", tmp_path / "from-token"
    release = f"{{{{ lookup('pipe', 'touch {public_canary}') }}}}"
    e = env(tmp_path)
    e["ANSIBLE_TEST_TOKEN"] = f"tok-{{{{ lookup('pipe', 'touch {secret_canary}') }}}}"
    r = subprocess.run(
        annotui_cmd("run", CHECKLIST, "--plain", "--yes", "--var", f"work={work}",
                    "--var", f"inventory={inv}", "--var", f"release={release}",
                    "--audit", tmp_path / "a.jsonl"),
        capture_output=True, text=True, env=e, timeout=200,
    )  # fmt: skip
    assert r.returncode == 0, r.stdout + r.stderr
    assert not public_canary.exists(), "ansible ran the template of a public var's value"
    assert not secret_canary.exists(), "ansible ran the template of a secret var's value"
    written = (work / "l1.txt").read_text()
    assert written == f"{release} {e['ANSIBLE_TEST_TOKEN']}\n"  # the values, as text
