# ruff: noqa: RUF001 - the angle quotes are what the operator sees
"""`preview`: a template shown before every value is known (the cockpit's var form title)."""

from __future__ import annotations

from annotui.checklist.template import preview


def test_missing_values_show_as_their_names_in_angle_quotes() -> None:
    template = "Ship {{ release }} to {{environment}} ({{ release }})"
    assert preview(template, {}) == "Ship ‹release› to ‹environment› (‹release›)"
    assert preview(template, {"release": "v2"}) == "Ship v2 to ‹environment› (v2)"
    assert (
        preview(template, {"release": "", "environment": "prod"})
        == "Ship ‹release› to prod (‹release›)"
    )
    # shell braces and ${VAR} are no placeholders: as written
    assert preview("a ${X} {x} {{ 1x }}", {}) == "a ${X} {x} {{ 1x }}"
