"""A step with confirm = "none" is reported as confirmed automatically by that rule, not by
--yes (issue 13's fixes): the record says how, the report and `audit show` say it in words."""

from __future__ import annotations

from pathlib import Path

from engine_cli import read_log


def test_confirm_none_is_not_called_yes(run_cli, run_plain, tmp_path: Path) -> None:
    r, audit = run_plain("confirm-none", "--yes", with_work=False)
    assert r.returncode == 0, r.stdout + r.stderr
    how = {x["step_key"]: x["how"] for x in read_log(audit) if x["event"] == "step.confirmed"}
    assert how == {"s/look": "confirm = none", "s/act": "--yes"}
    report = tmp_path / "report.md"
    r = run_cli("audit", "report", audit, "-o", report)
    assert r.returncode == 0, r.stdout + r.stderr
    look = next(line for line in report.read_text().splitlines() if line.startswith("| s/look"))
    assert "automatic \\(confirm \\= none\\)" in look and "yes" not in look  # Markdown-escaped
    html = tmp_path / "report.html"
    assert run_cli("audit", "report", audit, "--format", "html", "-o", html).returncode == 0
    assert "automatic (confirm = none)" in html.read_text()
    shown = run_cli("audit", "show", audit).stdout
    assert "confirmed: automatic (confirm = none)" in shown
