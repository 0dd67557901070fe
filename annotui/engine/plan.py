"""Expanding a checklist into the concrete, rendered steps of one run."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import TYPE_CHECKING

from annotui.checklist.tables import is_mutating, replace
from annotui.checklist.template import render
from annotui.engine.kinds import Shown, step_kind
from annotui.engine.planned import PlannedStage, PlannedStep

if TYPE_CHECKING:
    from annotui.checklist.models import Checklist, Expect, Probe, Step, Supervisor


def stage_keys(checklist: Checklist) -> list[tuple[int, str, dict[str, str]]]:
    """(stage index, stage key, for_each binding) for every expanded stage, in order."""
    out = []
    for i, stage in enumerate(checklist.stages):
        if stage.for_each:
            ((var, values),) = stage.for_each.items()
            out += [(i, f"{stage.id}[{v}]", {var: v}) for v in values]
        else:
            out.append((i, stage.id, {}))
    return out


def _default_word(binding: Mapping[str, str], values: Mapping[str, str], shown: Shown) -> str:
    """The stage's bound value, else the environment, else what the kind proposes."""
    if binding:
        return next(iter(binding.values()))
    if "environment" in values:
        return values["environment"]
    return shown.default_word


def render_expect(expect: Expect | None, scope: Mapping[str, str]) -> Expect | None:
    if expect is None:
        return None
    escaped = {k: re.escape(v) for k, v in scope.items()}
    update = {}
    for name in ("equals", "symlink_to", "mode_at_least"):
        value = getattr(expect, name)
        if value is not None:
            update[name] = render(value, scope, shell=False)
    if expect.stdout_matches is not None:
        update["stdout_matches"] = render(expect.stdout_matches, escaped, shell=False)
    return replace(expect, **update)


def plan_step(
    step: Step,
    stage_key: str,
    binding: Mapping[str, str],
    values: Mapping[str, str],
    rehearse: bool,
) -> PlannedStep:
    scope = {**values, **binding}
    shown = step_kind(step.kind).show(step, scope)
    word = None
    if step.confirm == "typed":
        word = render(step.confirm_word, scope, shell=False) if step.confirm_word else None
        word = word or _default_word(binding, values, shown)
    mutating = is_mutating(step)
    return PlannedStep(
        key=f"{stage_key}/{step.id}",
        stage_key=stage_key,
        step=step,
        title=render(step.title or step.id, scope, shell=False),
        host=shown.host,
        cwd=shown.cwd,
        command=shown.command,
        instructions=render(shown.instructions, scope, shell=False),
        confirm_word=word,
        mutating=mutating,
        simulated=rehearse and mutating,
        values=scope,
        expect=render_expect(getattr(step, "expect", None), scope),
    )


def plan(checklist: Checklist, values: Mapping[str, str], rehearse: bool) -> list[PlannedStage]:
    """Render every stage and step with the resolved var values."""
    stages = []
    for index, key, binding in stage_keys(checklist):
        stage = checklist.stages[index]
        scope = {**values, **binding}
        stages.append(
            PlannedStage(
                key=key,
                title=render(stage.title or stage.id, scope, shell=False),
                description=render(stage.description, scope, shell=False),
                steps=[plan_step(s, key, binding, values, rehearse) for s in stage.steps],
                values=scope,
            )
        )
    return stages


def render_sources(
    checklist: Checklist, values: Mapping[str, str]
) -> tuple[dict[str, str], dict[str, Probe], dict[str, Supervisor]]:
    """Host targets, probes (run shell-quoted) and supervisor settings with the values filled in."""

    def opt(t: str | None) -> str | None:
        return render(t, values, shell=False) if t else None

    targets = {h: render(spec.ssh, values, shell=False) for h, spec in checklist.hosts.items()}
    probes = {
        n: replace(p, run=render(p.run, values, shell=True), cwd=opt(p.cwd))
        for n, p in checklist.probes.items()
    }
    supervisors = {
        n: replace(s, url=opt(s.url), username=opt(s.username), password=opt(s.password))
        for n, s in checklist.supervisors.items()
    }
    return targets, probes, supervisors
