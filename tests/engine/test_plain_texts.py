"""Plain mode shows each step's description and instructions (rendered), not only its title;
an evidence label is templated like every other text shown to the operator."""

from __future__ import annotations

from engine_cli import read_log


def test_plain_mode_shows_descriptions_and_instructions(run_plain) -> None:
    r, audit = run_plain("texts", input="y\nhttps://tags/v2.4.1\ny\n", with_work=False)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "   Tag v2.4.1 in GitLab.\n" in r.stdout
    assert "   Open the **Tags** page and create v2.4.1.\n" in r.stdout
    assert "   The tree is clean before v2.4.1.\n" in r.stdout
    assert "URL of the v2.4.1 tag" in r.stdout and "{{" not in r.stdout
    evidence = next(x for x in read_log(audit) if x["event"] == "step.evidence")
    assert evidence["prompt"] == "URL of the v2.4.1 tag"
    shown = next(x for x in read_log(audit) if x["event"] == "step.shown")
    assert shown["description"] == "Tag v2.4.1 in GitLab."
