"""A secret given on the command line or in the environment reaches neither the audit log (in
any form: raw, shell-quoted, JSON-escaped) nor the environment of a command that runs."""

from __future__ import annotations

import json
import shlex
from pathlib import Path

from engine_cli import CHECKLISTS, run_cli  # noqa: F401  (fixture)

SECRET = "pa'ss\\wo\"rd\tX9"


def forms(secret: str) -> list[str]:
    return [
        secret,
        shlex.quote(secret),
        json.dumps(secret)[1:-1],
        json.dumps(secret, ensure_ascii=False)[1:-1],
    ]


def test_secret_from_var_and_env_stays_out_of_log_and_children(tmp_path: Path, run_cli) -> None:  # noqa: F811
    audit = tmp_path / "a.jsonl"
    env_secret = "env'sec\"ret-77"
    proc = run_cli(
        "run",
        CHECKLISTS / "secrets.toml",
        "--plain",
        "--yes",
        "--audit",
        audit,
        "--var",
        f"token={SECRET}",
        env={"ANNOTUI_TEST_ENVTOK": env_secret},
    )
    assert proc.returncode == 0, proc.stderr
    log = audit.read_text(encoding="utf-8")
    for secret in (SECRET, env_secret):
        for form in forms(secret):
            assert form not in log, form
            assert form not in proc.stdout, form
    records = [json.loads(line) for line in log.splitlines()]
    out = "\n".join(r["text"] for r in records if r["event"] == "step.output")
    assert "ANNOTUI_TEST_ENVTOK" not in out  # the child did not inherit the from_env secret
    assert out.count("***") >= 2  # both values were printed by the command, and masked
    start = records[0]
    assert start["event"] == "session.start" and any("token=***" in a for a in start["argv"])
