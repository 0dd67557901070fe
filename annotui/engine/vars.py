"""Var values: from --var, a vars file, the environment, defaults or a prompt; validated first."""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from annotui.checklist.limits import MAX_RUN_STEPS, REGEX_SECONDS, fullmatch_within
from annotui.checklist.syntax import repeated
from annotui.checklist.template import PLACEHOLDER, join_list, names, render, split_list

if TYPE_CHECKING:
    from annotui.checklist.models import Checklist, Step, Var

MAX_VALUE_BYTES = 64 * 1024
"""A value is at most 64 KiB as the shell sees it (UTF-8, shell-quoted)."""
MAX_COMMAND_BYTES = 120 * 1024
"""A rendered command is at most 120 KiB: it is one argument of `sh -c`, and Linux refuses an
argument over 128 KiB (MAX_ARG_STRLEN) with "Argument list too long"."""
SHOWN = 40
"""Characters of a bad value quoted in an error."""


class VarError(ValueError):
    """Bad var input (exit 2)."""


def value_problem(value: str) -> str | None:
    """Why no command could be given `value` whatever the var, or None."""
    if "\x00" in value:
        return "contains a NUL character (\\u0000), which cannot be passed to a command"
    try:
        encoded = shlex.quote(value).encode("utf-8")
    except UnicodeEncodeError as e:  # a byte that was not UTF-8 (argv, environ, a file)
        byte = value[e.start]
        shown = f"0x{ord(byte) - 0xDC00:02x}" if 0xDC80 <= ord(byte) <= 0xDCFF else repr(byte)
        return f"is not UTF-8 text (it holds {shown}); give it as UTF-8"
    if len(encoded) > MAX_VALUE_BYTES:
        return (
            f"is too long ({len(encoded):,} bytes as the shell sees it, quoted; a value is at most "
            f"{MAX_VALUE_BYTES // 1024} KiB): put large data in a file and give its path"
        )
    return None


class ListValue(str):
    """A list var's value given as a TOML array in --vars-file (held as `join_list` writes it)."""

    __slots__ = ()


def validate_value(var: Var, value: str) -> str | None:
    """Why `value` is not acceptable for `var`, or None when it is (a list var: each of its
    values, at least one, none twice)."""
    problem = value_problem(value)
    if problem:
        return problem
    if var.list:
        items = split_list(value)
        if not items:
            return "needs at least one value (a,b: commas between values, \\, inside one)"
        twice = repeated(items)
        if twice is not None:
            written = "" if twice.isascii() else f" (written {twice!a}: compared as read)"
            return f"lists {shown_value(var, twice)} twice{written}: each value once"
        for item in items:
            why = _one_value(var, item)
            if why:
                return f"value {shown_value(var, item)} {why}"
        return None
    return _one_value(var, value)


def _one_value(var: Var, value: str) -> str | None:
    if var.choices is not None and value not in var.choices:
        return f"must be one of {', '.join(var.choices)}"
    if var.pattern is not None:
        matched = fullmatch_within(re.compile(var.pattern), value)
        if matched is None:
            return (
                f"took the pattern {var.pattern} over {REGEX_SECONDS:g} s to match: the "
                "checklist's pattern backtracks catastrophically; ask its author to simplify it"
            )
        if not matched:
            hint = f" (e.g. {var.example})" if var.example else ""
            return f"must match {var.pattern}{hint}"
    if value == "" and var.default != "":
        return "must not be empty"
    return None


def shown_value(var: Var, value: str) -> str:
    """How an error quotes a value: masked when secret, cut when long."""
    if var.secret:
        return "***"
    return (
        repr(value) if len(value) <= SHOWN else repr(value[:SHOWN]) + f"... ({len(value):,} chars)"
    )


def parse_assignments(items: list[str]) -> dict[str, str]:
    """`NAME=VALUE` strings from --var."""
    out: dict[str, str] = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise VarError(f"--var {item!r}: expected NAME=VALUE")
        out[name] = value
    return out


def read_toml(path: Path, flag: str, error: type[ValueError]) -> dict[str, object]:
    """The TOML file an operator named with `flag`; what is wrong with it raises `error`
    naming the flag and the file."""
    import tomllib  # only runs given such a file need the parser

    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as e:
        raise error(f"{flag} {path}: {e.strerror or e}") from e
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
        raise error(f"{flag} {path}: not valid TOML: {e}") from e


def _plain(value: object) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)


def load_vars_file(path: Path) -> dict[str, str]:
    """A flat TOML table of string values (as written by `annotui sandbox`); an array of them is
    a list var's value (a `ListValue`)."""
    data = read_toml(path, "--vars-file", VarError)
    scalar = str | int | float | bool
    out: dict[str, str] = {}
    for k, v in data.items():
        if isinstance(v, list) and all(isinstance(x, scalar) for x in v):
            out[k] = ListValue(join_list([_plain(x) for x in v]))
        elif isinstance(v, scalar):
            out[k] = _plain(v)
        else:
            raise VarError(
                f"--vars-file {path}: {k!r} must be a plain value, or an array of them (a list var)"
            )
    return out


def loop_of(
    for_each: Mapping[str, list[str] | str], values: Mapping[str, str]
) -> tuple[str, list[str]]:
    """(var, values) of a `for_each`: its own values, or those of the list var it names
    (`{ app = "{{ apps }}" }`; none while that var has no value)."""
    ((var, listed),) = for_each.items()
    if isinstance(listed, list):
        return var, listed
    ref = list_ref(for_each)
    name = ref[1] if ref else ""
    return var, split_list(values[name]) if name in values else []


def list_ref(for_each: Mapping[str, list[str] | str] | None) -> tuple[str, str] | None:
    """(loop var, list var) of a `for_each` over a list var (`{ app = "{{ apps }}" }`), else
    None."""
    if not for_each:
        return None
    ((var, listed),) = for_each.items()
    m = PLACEHOLDER.fullmatch(listed) if isinstance(listed, str) else None
    return (var, m.group(1)) if m else None


def _on_loop_host(step: Step, var: str) -> bool:
    host = getattr(step, "host", None)
    m = PLACEHOLDER.fullmatch(host.strip()) if isinstance(host, str) else None
    return m is not None and m.group(1) == var


def _loops(checklist: Checklist) -> Iterator[tuple[str, str, str, list[str]]]:
    """(where, loop var, list var, the steps that run on host `{{ loop var }}`) of each for_each
    over a list var."""
    for stage in checklist.stages:
        steps = [*stage.steps, *stage.rollback]
        if (ref := list_ref(stage.for_each)) is not None:
            on_hosts = [s.id for s in steps if _on_loop_host(s, ref[0])]
            yield f"stage {stage.id}", *ref, on_hosts
        for step in steps:
            if (ref := list_ref(step.for_each)) is not None:
                on_hosts = [step.id] if _on_loop_host(step, ref[0]) else []
                yield f"step {stage.id}/{step.id}", *ref, on_hosts


def expanded_steps(checklist: Checklist, values: Mapping[str, str]) -> int:
    """The steps of the run once every for_each is expanded with these values."""

    def copies(for_each: Mapping[str, list[str] | str] | None) -> int:
        return len(loop_of(for_each, values)[1]) if for_each else 1

    return sum(
        copies(stage.for_each) * sum(copies(s.for_each) for s in [*stage.steps, *stage.rollback])
        for stage in checklist.stages
    )


def check_loops(checklist: Checklist, values: Mapping[str, str]) -> None:
    """VarError when a list var's values do not fit a for_each over it: each must satisfy the
    loop var's own choices and pattern, and be a declared host where the loop picks the host."""
    from annotui.checklist.syntax import FOR_EACH_VALUE

    steps = expanded_steps(checklist, values)
    if steps > MAX_RUN_STEPS:
        raise VarError(
            f"with these values the run would have {steps:,} steps (every for_each expanded): "
            f"a run has at most {MAX_RUN_STEPS:,}; give the list vars fewer values"
        )
    hosts = ["local", *checklist.hosts]
    for where, var, listed, on_hosts in _loops(checklist):
        if listed not in values:
            continue
        loop_var = checklist.vars.get(var)
        for item in split_list(values[listed]):
            if not re.fullmatch(FOR_EACH_VALUE, item):
                raise VarError(
                    f"var {listed} = {item!r}: the for_each of {where} names a copy by each "
                    "value (stage[value], stage/step[value]), so a value cannot hold /, [, ] "
                    "or a control character (a newline, a tab), nor an invisible formatting one "
                    "(zero-width, bidirectional)"
                )
            why = _one_value(loop_var, item) if loop_var is not None else None
            if why:
                raise VarError(
                    f"var {listed} = {item!r}: the for_each of {where} gives it to {var}, "
                    f"whose value {why}"
                )
            if on_hosts and item not in hosts:
                raise VarError(
                    f"var {listed} = {item!r}: the for_each of {where} runs "
                    f"{', '.join(on_hosts)} on host '{{{{ {var} }}}}', and {item!r} is not a "
                    f"declared host (declared: {', '.join(hosts)})"
                )


def stage_bound(checklist: Checklist) -> set[str]:
    """Vars given their value by a stage's for_each (never prompted)."""
    stages = {name for s in checklist.stages if s.for_each for name in s.for_each}
    steps = {
        n for s in checklist.stages for t in [*s.steps, *s.rollback] if t.for_each
        for n in t.for_each
    }  # fmt: skip
    return stages | steps


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
        if isinstance(value, ListValue) and not var.list:
            raise VarError(
                f"var {name} ({source}): an array is a list var's value, and {name} is not a "
                "list var (list = true)"
            )
        problem = validate_value(var, value)
        if problem:
            raise VarError(f"var {name} = {shown_value(var, value)} ({source}): {problem}")
        res.values[name] = str(value)
        res.sources[name] = source
    check_rendered(checklist, res.values)
    check_loops(checklist, res.values)
    return res


def _rendered(
    template: str | None, values: Mapping[str, str], shell: bool
) -> tuple[str, list[str]] | None:
    """(rendered text, vars it uses) when every var it names has a value; else None."""
    if not template:
        return None
    used = list(dict.fromkeys(name for name, _ in names(template)))
    if not used or any(name not in values for name in used):
        return None
    return render(template, values, shell=shell), used


def _sources(checklist: Checklist, values: Mapping[str, str]) -> Iterator[tuple[str, str, str]]:
    """(what, kind, template) for every rendered value that reaches another program."""
    for name, host in checklist.hosts.items():
        yield f"host {name}'s ssh", "ssh", host.ssh
    for name, sup in checklist.supervisors.items():
        yield f"supervisor {name}'s url", "url", sup.url
    for k, notify in enumerate(checklist.notify):
        yield f"notify #{k + 1}'s url", "notify_url", notify.url
    for name, probe in checklist.probes.items():
        yield f"probe {name}'s command", "command", probe.run


def check_rendered(checklist: Checklist, values: Mapping[str, str]) -> None:
    """VarError when the values make a host target or a URL unusable, or a command longer than
    the system allows. Templates that name a var without a value yet are left alone."""
    from annotui.checklist.syntax import notify_url_problem, ssh_problem, url_problem

    secret = {n for n, v in checklist.vars.items() if v.secret}

    def fail(what: str, used: list[str], text: str, problem: str) -> VarError:
        shown = "" if secret & set(used) else f" {text[:80]!r}"
        label = ", ".join(used)
        return VarError(f"var {label}: {what} would be{shown}, {problem}")

    steps = [
        (f"step {stage.id}/{step.id}'s command", step.run, loop)
        for stage in checklist.stages
        for step in [*stage.steps, *stage.rollback]
        if step.kind in ("command", "check")
        for loop in [x for x in (stage.for_each, step.for_each) if x] or [{}]
    ]
    for what, kind, template in _sources(checklist, values):
        done = _rendered(template, values, shell=kind == "command")
        if done is None:
            continue
        text, used = done
        if kind == "ssh" and text != "local" and (problem := ssh_problem(text)):
            raise fail(what, used, text, f"which is {problem}")
        if kind == "url" and (problem := url_problem(text)):
            raise fail(what, used, text, f"which is {problem}")
        if kind == "notify_url" and (problem := notify_url_problem(text)):
            # an Apprise URL holds tokens: never shown, whatever the var
            raise VarError(f"var {', '.join(used)}: {what} would be {problem}")
        if kind == "command":
            _command_fits(what, text, used)
    for what, template, for_each in steps:
        var, listed = loop_of(for_each, values) if for_each else ("", [])
        bindings = [{var: v} for v in listed] or [{}]
        for binding in bindings:
            done = _rendered(template, {**values, **binding}, shell=True)
            if done is not None:
                _command_fits(what, *done)


def _command_fits(what: str, command: str, used: list[str]) -> None:
    size = len(command.encode("utf-8"))
    if size > MAX_COMMAND_BYTES:
        raise VarError(
            f"var {', '.join(used)}: {what} would be {size:,} bytes long, more than the "
            f"{MAX_COMMAND_BYTES // 1024} KiB a command may be; put large data in a file and "
            "give its path"
        )
