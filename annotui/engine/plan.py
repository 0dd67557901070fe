"""Expanding a checklist into the concrete, rendered steps of one run."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import TYPE_CHECKING

from annotui.checklist import condition
from annotui.checklist.tables import fields, is_mutating, replace
from annotui.checklist.template import names, render
from annotui.engine.kinds import Shown, step_kind
from annotui.engine.planned import PlannedStage, PlannedStep
from annotui.engine.planned import replace as replace_planned
from annotui.engine.runas import wrap
from annotui.engine.vars import loop_of

if TYPE_CHECKING:
    from annotui.checklist.models import (
        Capture,
        Checklist,
        Expect,
        Host,
        Probe,
        Step,
        Supervisor,
    )

RUNS_SHELL = ("command", "check")
"""Step kinds whose command may run as another user, with another shell."""


def capture_name(capture: str | Capture) -> str:
    """The name a `capture` keeps its value under."""
    return capture if isinstance(capture, str) else capture.name


def step_capture(step: Step) -> tuple[str, bool] | None:
    """(name, secret) of the value a command or check step captures, else None."""
    capture: str | Capture | None = getattr(step, "capture", None)
    if step.kind not in RUNS_SHELL or capture is None:
        return None
    return capture_name(capture), bool(getattr(step, "secret", False))


def captures(checklist: Checklist) -> list[str]:
    """Every name a step captures, in order."""
    found = (step_capture(step) for stage in checklist.stages for step in stage.steps)
    return [c[0] for c in found if c is not None]


def _template_names(value: object) -> set[str]:
    if isinstance(value, str):
        return {name for name, _ in names(value)}
    if isinstance(value, list | tuple):
        return set().union(*map(_template_names, value)) if value else set()
    if isinstance(value, dict):
        return _template_names(list(value.values()))
    if hasattr(value, "__dict__"):
        return _template_names(list(fields(value).values()))
    return set()


def captured_names(step: Step) -> set[str]:
    """Every name the step's templates and `when` use (vars and captured values alike)."""
    used = _template_names({k: v for k, v in fields(step).items() if k != "when"})
    if step.when:
        used |= {name for name, _ in condition.names(condition.parse(step.when))}
    return used


def _loop(step: Step, values: Mapping[str, str]) -> list[tuple[dict[str, str], str | None]]:
    """(binding, value) for each repetition of a step: one per value of its for_each (its own
    values, or those of the list var it names)."""
    if not step.for_each:
        return [({}, None)]
    var, listed = loop_of(step.for_each, values)
    return [({var: value}, value) for value in listed]


def stage_keys(
    checklist: Checklist, values: Mapping[str, str] | None = None
) -> list[tuple[int, str, dict[str, str]]]:
    """(stage index, stage key, for_each binding) for every expanded stage, in order (a stage
    over a list var without a value in `values` has none)."""
    values = values or {}
    out = []
    for i, stage in enumerate(checklist.stages):
        if stage.for_each:
            var, listed = loop_of(stage.for_each, values)
            out += [(i, f"{stage.id}[{v}]", {var: v}) for v in listed]
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


def run_as(
    step: Step | Probe, hosts: Mapping[str, Host], shell: str | None
) -> tuple[str | None, bool, str | None]:
    """(user, login, shell) of a step or probe: its own, else its host's, else the checklist's
    shell (None: the login user, /bin/sh)."""
    host = hosts.get(getattr(step, "host", "local"))
    user = getattr(step, "user", None) or (host.user if host else None)
    login = getattr(step, "login", None)
    if login is None:
        login = bool(host.login) if host else False
    own_shell = getattr(step, "shell", None)
    return user, bool(login) and user is not None, own_shell or (host and host.shell) or shell


def plan_step(
    step: Step,
    stage_key: str,
    binding: Mapping[str, str],
    values: Mapping[str, str],
    rehearse: bool,
    hosts: Mapping[str, Host] | None = None,
    shell: str | None = None,
    loop: str | None = None,
) -> PlannedStep:
    """One step rendered; `loop`: the value of the step's own for_each (in its key)."""
    scope = {**values, **binding}
    host = getattr(step, "host", None)
    if step.kind in RUNS_SHELL and isinstance(host, str) and "{{" in host:
        step = replace(step, host=render(host, scope, shell=False))  # host = "{{ node }}"
    user, login, step_shell = (
        run_as(step, hosts or {}, shell) if step.kind in RUNS_SHELL else (None, False, None)
    )
    shown = step_kind(step.kind).show(step, scope)
    shell_step = step.kind in RUNS_SHELL
    word = None
    if step.confirm == "typed":
        word = render(step.confirm_word, scope, shell=False) if step.confirm_word else None
        word = word or _default_word(binding, values, shown)
    mutating = is_mutating(step)
    return PlannedStep(
        key=f"{stage_key}/{step.id}" + (f"[{loop}]" if loop is not None else ""),
        stage_key=stage_key,
        step=step,
        title=render(step.title or step.id, scope, shell=False),
        host=shown.host,
        cwd=shown.cwd,
        command=shown.command,
        instructions=render(shown.instructions, scope, shell=False),
        text=render(shown.text, scope, shell=False) if shown.text is not None else None,
        description=render(step.description, scope, shell=False),
        confirm_word=word,
        mutating=mutating,
        simulated=rehearse and mutating,
        values=scope,
        expect=render_expect(getattr(step, "expect", None), scope) if shell_step else None,
        user=user,
        login=login,
        shell=step_shell,
        when=step.when,
        loop=loop,
    )


def plan(checklist: Checklist, values: Mapping[str, str], rehearse: bool) -> list[PlannedStage]:
    """Render every stage and step with the resolved var values. A value captured at run time
    is shown as its placeholder (the session renders such a step again before it runs)."""
    values = {**{name: f"{{{{ {name} }}}}" for name in captures(checklist)}, **values}
    stages = []
    shell = checklist.checklist.shell
    hosts = checklist.hosts
    for index, key, binding in stage_keys(checklist, values):
        stage = checklist.stages[index]
        scope = {**values, **binding}
        stages.append(
            PlannedStage(
                key=key,
                title=render(stage.title or stage.id, scope, shell=False),
                description=render(stage.description, scope, shell=False),
                steps=[
                    replace_planned(
                        plan_step(
                            s, key, {**binding, **bound}, values, rehearse, hosts, shell, loop
                        ),
                        rollback=bool(stage.rollback),
                    )
                    for s in stage.steps
                    for bound, loop in _loop(s, values)
                ],
                rollback=[
                    plan_step(
                        s,
                        f"{key}/rollback",
                        {**binding, **bound},
                        values,
                        rehearse,
                        hosts,
                        shell,
                        loop,
                    )
                    for s in stage.rollback
                    for bound, loop in _loop(s, values)
                ],
                values=scope,
                when=stage.when,
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
    probes = {}
    for n, p in checklist.probes.items():
        user, login, shell = run_as(p, checklist.hosts, checklist.checklist.shell)
        run, cwd = wrap(
            render(p.run, values, shell=True),
            cwd=opt(p.cwd),
            user=user,
            login=login,
            shell=shell,
            host=p.host,
        )
        probes[n] = replace(p, run=run, cwd=cwd)
    supervisors = {
        n: replace(s, url=opt(s.url), username=opt(s.username), password=opt(s.password))
        for n, s in checklist.supervisors.items()
    }
    return targets, probes, supervisors
