"""`[checklist] title` is templated (issue 13): the run's values reach what the operator sees,
the `run.plan` record and the report, never the placeholder; a secret is refused by check."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from engine_cli import read_log


def test_the_title_is_rendered_with_the_runs_values(run_plain, tmp_path: Path) -> None:
    release = 'v9 "q" $(touch PWNED)'
    r, audit = run_plain("lists", "--yes", "--var", "apps=web", "--var", f"release={release}")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "{{" not in r.stdout.split("== Stage")[0]  # never the placeholder before the steps
    assert r.stdout.startswith("annotui ") and ": lists [LIVE]" in r.stdout.splitlines()[0]
    assert f"\nDeploy {release}\n" in r.stdout
    recs = read_log(audit)
    assert recs[0]["checklist_title"] == "Deploy {{ release }}"  # session.start: as written
    plan = next(x for x in recs if x["event"] == "run.plan")
    assert plan["title"] == f"Deploy {release}"
    assert not (tmp_path / "PWNED").exists()
    report = tmp_path / "report.md"
    done = subprocess.run(
        [sys.executable, "-m", "annotui.cli", "audit", "report", audit, "-o", report],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    text = report.read_text()
    assert "{{ release }}" not in text and "Deploy v9" in text


def test_a_secret_in_the_title_is_a_check_error(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text(
        '[checklist]\nid = "t"\ntitle = "Rotate {{ token }}"\n\n[vars.token]\nsecret = true\n\n'
        '[[stages]]\nid = "s"\n  [[stages.steps]]\n  id = "a"\n  kind = "manual"\n'
    )
    done = subprocess.run(
        [sys.executable, "-m", "annotui.cli", "check", path],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 2
    assert done.stderr.startswith(f"{path}:3:17: var 'token' is secret: the title is shown")
