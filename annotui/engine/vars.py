"""Var values: from --var, a vars file, the environment, defaults or a prompt; validated first."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from annotui.checklist.models import Checklist, Var


class VarError(ValueError):
    """Bad var input (exit 2)."""


def validate_value(var: Var, value: str) -> str | None:
    """Why `value` is not acceptable for `var`, or None when it is."""
    if var.choices is not None and value not in var.choices:
        return f"must be one of {', '.join(var.choices)}"
    if var.pattern is not None and not re.fullmatch(var.pattern, value):
        hint = f" (e.g. {var.example})" if var.example else ""
        return f"must match {var.pattern}{hint}"
    if value == "" and var.default != "":
        return "must not be empty"
    return None


def parse_assignments(items: list[str]) -> dict[str, str]:
    """`NAME=VALUE` strings from --var."""
    out: dict[str, str] = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise VarError(f"--var {item!r}: expected NAME=VALUE")
        out[name] = value
    return out


def load_vars_file(path: Path) -> dict[str, str]:
    """A flat TOML table of string values (as written by `annotui sandbox`)."""
    import tomllib  # only runs given --vars-file need the parser

    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as e:
        raise VarError(f"--vars-file {path}: {e.strerror}") from e
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
        raise VarError(f"--vars-file {path}: not valid TOML: {e}") from e
    bad = [k for k, v in data.items() if not isinstance(v, str | int | float | bool)]
    if bad:
        raise VarError(f"--vars-file {path}: {bad[0]!r} must be a plain value")
    return {k: str(v).lower() if isinstance(v, bool) else str(v) for k, v in data.items()}


def stage_bound(checklist: Checklist) -> set[str]:
    """Vars given their value by a stage's for_each (never prompted)."""
    return {name for s in checklist.stages if s.for_each for name in s.for_each}


@dataclass(slots=True)
class Resolution:
    values: dict[str, str] = field(default_factory=dict)
    sources: dict[str, str] = field(default_factory=dict)
    missing: list[str] = field(default_factory=list)


def resolve_noninteractive(
    checklist: Checklist,
    cli: Mapping[str, str],
    file: Mapping[str, str],
    environ: Mapping[str, str],
) -> Resolution:
    """Values in order of precedence: --var, --vars-file, from_env, default. Raises VarError for
    an unknown name or an invalid value; lists the vars still without a value in `missing`."""
    declared = checklist.vars
    bound = stage_bound(checklist)
    for origin, given in (("--var", cli), ("--vars-file", file)):
        for name in given:
            if name in bound and origin == "--var":
                raise VarError(f"{origin} {name}: set by the stages that run for each value")
            if name not in declared and origin == "--var":
                known = ", ".join(sorted(declared)) or "none"
                raise VarError(f"{origin} {name}: no such var in the checklist (vars: {known})")
    res = Resolution()
    for name, var in declared.items():
        if name in bound:
            continue
        if name in cli:
            value, source = cli[name], "cli"
        elif name in file:
            value, source = file[name], "file"
        elif var.from_env and var.from_env in environ:
            value, source = environ[var.from_env], "env"
        elif var.default is not None:
            value, source = var.default, "default"
        else:
            res.missing.append(name)
            continue
        problem = validate_value(var, value)
        if problem:
            shown = "***" if var.secret else repr(value)
            raise VarError(f"var {name} = {shown} ({source}): {problem}")
        res.values[name] = value
        res.sources[name] = source
    return res
