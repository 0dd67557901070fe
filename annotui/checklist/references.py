"""Checks that need the whole checklist: names that refer to hosts, probes, supervisors and vars;
templates and their scope; regular expressions; duplicate ids; unsafe confirmations.

They run on the parsed TOML data (not the model), so they still report everything they can when
the schema check found problems elsewhere; anything malformed is left to the schema check.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterator
from typing import Any

from annotui.checklist import condition, syntax
from annotui.checklist.diagnostics import Finding, did_you_mean, listing
from annotui.checklist.limits import MAX_RUN_STEPS, REGEX_SECONDS, fullmatch_within
from annotui.checklist.models import STEP_KINDS
from annotui.checklist.positions import Path
from annotui.checklist.shell import unsafe_placeholders
from annotui.checklist.tables import is_mutating
from annotui.checklist.template import PLACEHOLDER, names, split_list

# Something written like a placeholder that is not one, e.g. `{{ release | upper }}`.
MALFORMED = re.compile(r"\{\{\s*[A-Za-z_][^{}\n]*\}\}")
NOT_TEMPLATED = {"id", "kind", "when"}
"""Keys whose strings are not templates (a condition names values without braces)."""
SHELL_KINDS = ("command", "check")
"""Step kinds whose `run` is a shell context."""
STEP_LISTS = ("steps", "rollback")
"""A stage's lists of steps: its steps and its `[[stages.rollback]]` steps, checked alike."""

MAX_SHOWN_NAMES = 20
"""Names listed in a message before '... (N in all)'."""
MAX_SUGGESTED_FROM = 200
"""Names beyond which no 'did you mean' is looked for (difflib is slow)."""
MAX_SUGGESTED_LENGTH = 100
MAX_SUGGESTIONS = 200
"""'did you mean' lookups for one file: enough for every problem shown."""
_suggestions_left = [MAX_SUGGESTIONS]
MAX_PER_STRING = 10
"""Template problems reported in one string before the rest are counted."""

NUL = (
    "a NUL character (\\u0000) cannot be passed to a command or shown: remove it "
    "(write \\u0000 nowhere in a checklist)"
)
NESTED_QUOTING = (
    "placeholder {{{{ {name} }}}} is {where}: annotui quotes a value as one word for the shell "
    "that runs this command, not for quotes or a nested shell inside it, so a value holding "
    "quotes could run commands there. Write the placeholder unquoted (ls {{{{ dir }}}}, not "
    'ls "{{{{ dir }}}}"): annotui quotes every value. For a nested shell, pass the value as an '
    "argument (sh -c 'echo \"$1\"' sh {{{{ {name} }}}}) or an environment variable "
    "(X={{{{ {name} }}}} sh -c 'echo \"$X\"')"
)


_LIST_USE = (
    "var {name!r} is a list: it has no single value to put here; loop over it with "
    'for_each = {{ x = "{{{{ {name} }}}}" }} on a stage or step and use {{{{ x }}}}'
)

_LIST_IN_CONDITION = (
    "var {name!r} is a list: it has no single value to put here; in a condition it can only "
    "follow 'in' or 'not in' (\"web\" in {name}, app not in {name})"
)
_NOT_A_LIST = (
    "var {name!r} is not a list: 'in' and 'not in' need a list on their right: a list var "
    '(list = true), or the values in brackets ({name} in ["a", "b"])'
)


def _hint(word: str, known: list[str]) -> str:
    """'; did you mean ...?' when it can be found cheaply, else ''."""
    if len(known) > MAX_SUGGESTED_FROM or len(word) > MAX_SUGGESTED_LENGTH:
        return ""
    if _suggestions_left[0] <= 0:
        return ""
    _suggestions_left[0] -= 1
    return did_you_mean(word, known)


def _short(word: str) -> str:
    return word if len(word) <= MAX_SUGGESTED_LENGTH else word[:MAX_SUGGESTED_LENGTH] + "..."


def _names(known: list[str]) -> str:
    """The names, at most MAX_SHOWN_NAMES of them."""
    if len(known) <= MAX_SHOWN_NAMES:
        return listing(known)
    return f"{listing(known[:MAX_SHOWN_NAMES])}, ... ({len(known)} in all)"


def _table(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _tables(value: Any) -> list[tuple[int, dict[str, Any]]]:
    if not isinstance(value, list):
        return []
    return [(i, v) for i, v in enumerate(value) if isinstance(v, dict)]


def _all_steps(data: dict[str, Any]) -> list[tuple[Path, int, dict[str, Any]]]:
    """(data path, stage index, table) of every step, rollback steps included."""
    return [
        (("stages", i, key, j), i, step)
        for i, stage in _tables(data.get("stages"))
        for key in STEP_LISTS
        for j, step in _tables(stage.get(key))
    ]


def _regex(pattern: Any, path: Path, what: str, out: list[Finding]) -> re.Pattern[str] | None:
    """The compiled regex; an invalid one is reported at the offending character."""
    if not isinstance(pattern, str):
        return None
    try:
        with warnings.catch_warnings():  # FutureWarning about possible nested sets
            warnings.simplefilter("ignore")
            return re.compile(pattern)
    except re.error as exc:
        msg = f"invalid regular expression in {what}: {exc.msg}"
        out.append(Finding(path, "inside", msg, exc.pos or 0))
    except OverflowError as exc:  # a{99999999999}
        out.append(Finding(path, "value", f"invalid regular expression in {what}: {exc}"))
    except RecursionError:
        msg = f"invalid regular expression in {what}: groups nested too deeply"
        out.append(Finding(path, "value", msg))
    return None


def _value_ok(value: str, var: dict[str, Any], regex: re.Pattern[str] | None) -> str | None:
    """Why value does not satisfy the var's choices/pattern, or None."""
    choices = var.get("choices")
    if isinstance(choices, list) and value not in choices:
        return f"is not one of its choices ({_names(list(map(str, choices)))})"
    if regex is not None:
        matched = fullmatch_within(regex, value)
        if matched is None:
            return (
                f"took its pattern over {REGEX_SECONDS:g} s to match: the pattern backtracks "
                "catastrophically (nested repeats such as (a+)+ or (a|a)*); simplify it"
            )
        if not matched:
            return f"does not match its pattern {regex.pattern}"
    return None


def _check_vars(data: dict[str, Any], out: list[Finding]) -> dict[str, re.Pattern[str] | None]:
    patterns: dict[str, re.Pattern[str] | None] = {}
    for name, var in _table(data.get("vars")).items():
        if not isinstance(var, dict):
            continue
        base = ("vars", name)
        regex = _regex(var.get("pattern"), (*base, "pattern"), f"var {name!r}", out)
        patterns[name] = regex
        for key in ("default", "example"):
            value = var.get(key)
            if not isinstance(value, str):
                continue
            if key == "default" and (m := PLACEHOLDER.search(value)):
                what = "itself" if m.group(1) == name else f"var {m.group(1)!r}"
                msg = (
                    f"default of var {name!r} names {what} ({m.group(0)}): a default is not a "
                    "template, the value would be that text as written; give the value itself"
                )
                out.append(Finding((*base, key), "inside", msg, m.start()))
                continue
            if var.get("list") is True:
                why = _list_ok(value, var, regex)
            else:
                why = _value_ok(value, var, regex)
            if why:
                out.append(Finding((*base, key), "value", f"{key} {value!r} {why}"))
    return patterns


def _list_ok(value: str, var: dict[str, Any], regex: re.Pattern[str] | None) -> str | None:
    """Why a list var's value (a,b as for --var) does not satisfy its choices/pattern, or None."""
    items = split_list(value)
    if not items:
        return "has no value: a list var's value is one or more values, a,b"
    twice = syntax.repeated(items)
    for item in items:
        why = "is listed twice" if item == twice else _value_ok(item, var, regex)
        if why:
            return f"holds {item!r}, which {why}"
    return None


def _lists(data: dict[str, Any]) -> set[str]:
    """The vars declared with list = true."""
    return {n for n, v in _table(data.get("vars")).items() if _table(v).get("list") is True}


def _listed(
    name: str, values: Any, data: dict[str, Any], path: Path, out: list[Finding]
) -> list[Any]:
    """The values a for_each over `name` can take that check can see: its own, or for
    `"{{ apps }}"` the choices and default of that list var (the rest is checked when the vars
    are resolved). A loop var that is a list var, or a reference to a var that is not one,
    is reported."""
    declared = _table(data.get("vars"))
    if name in _lists(data):
        msg = (
            f"for_each gives {name!r} one value at a time: it cannot be a list var (loop over "
            f'one with {{ x = "{{{{ {name} }}}}" }})'
        )
        out.append(Finding(path, "key", msg))
    if isinstance(values, list):
        return values
    m = PLACEHOLDER.fullmatch(values) if isinstance(values, str) else None
    if m is None:
        return []  # the schema check names it
    listed = m.group(1)
    if listed not in declared and listed in {name for _, _, name in _captures(data)}:
        msg = (
            f"for_each over {listed!r}, a captured value: a loop's copies are known before the "
            "run starts: loop over a list var (list = true) or values written here"
        )
        out.append(Finding(path, "value", msg))
        return []
    if listed not in declared:
        hint = _hint(listed, list(declared)) or f"; declare it as [vars.{listed}] with list = true"
        out.append(Finding(path, "value", f"for_each over unknown var {listed!r}{hint}"))
        return []
    var = _table(declared[listed])
    if var.get("list") is not True:
        msg = (
            f"for_each over {listed!r}, which is not a list var: declare it with list = true, "
            'or list the values here ({ x = ["a", "b"] })'
        )
        out.append(Finding(path, "value", msg))
        return []
    choices = var.get("choices")
    default = var.get("default")
    static = list(choices) if isinstance(choices, list) else []
    static += split_list(default) if isinstance(default, str) else []
    return list(dict.fromkeys(static))


def _loop_values_ok(
    name: str,
    values: Any,
    static: list[Any],
    declared: dict[str, Any],
    patterns: dict[str, re.Pattern[str] | None],
    path: Path,
    out: list[Finding],
) -> None:
    """Each value a for_each gives its loop var satisfies that var's choices and pattern (for a
    list var: each of its choices and its default's values, reported at the reference)."""
    var = _table(declared[name])
    for k, value in enumerate(static):
        why = isinstance(value, str) and _value_ok(value, var, patterns.get(name))
        if not why:
            continue
        if isinstance(values, list):
            out.append(Finding((*path, k), "value", f"for_each value {value!r} {why}"))
        else:
            ref = values.strip()
            msg = f"for_each over {ref} could give {name!r} the value {value!r}, which {why}"
            out.append(Finding(path, "value", msg))


def _ref(
    value: Any, known: list[str], path: Path, what: str, table: str, out: list[Finding]
) -> None:
    if isinstance(value, str) and value not in known:
        shown = _short(value)
        hint = _hint(value, known) or (
            f" (declared: {_names(known)}); add a [{table}.{shown}] table"
        )
        out.append(Finding(path, "value", f"unknown {what} {shown!r}{hint}"))


def _check_steps(data: dict[str, Any], out: list[Finding]) -> None:
    hosts = ["local", *_table(data.get("hosts"))]
    probes = list(_table(data.get("probes")))
    supervisors = list(_table(data.get("supervisors")))
    stage_ids: dict[str, int] = {}
    for i, stage in _tables(data.get("stages")):
        sid = stage.get("id")
        if isinstance(sid, str):
            if sid in stage_ids:
                out.append(Finding(("stages", i, "id"), "value", f"duplicate stage id {sid!r}"))
            stage_ids.setdefault(sid, i)
        ids: dict[str, set[str]] = {key: set() for key in STEP_LISTS}
        for key, j, step in ((k, j, x) for k in STEP_LISTS for j, x in _tables(stage.get(k))):
            base: Path = ("stages", i, key, j)
            step_id = step.get("id")
            if isinstance(step_id, str):
                if step_id in ids[key]:
                    what = "rollback step" if key == "rollback" else "step"
                    msg = f"duplicate {what} id {step_id!r} in stage {sid!r}"
                    out.append(Finding((*base, "id"), "value", msg))
                ids[key].add(step_id)
            kind = step.get("kind")
            if kind in ("command", "check", "ansible"):
                _host_ref(step, hosts, base, out)
            if kind == "gate":
                _ref(step.get("probe"), probes, (*base, "probe"), "probe", "probes", out)
            if kind == "http" and "via" in step:
                _ref(step["via"], hosts, (*base, "via"), "host", "hosts", out)
            if kind == "supervisor":
                sup = step.get("supervisor")
                _ref(sup, supervisors, (*base, "supervisor"), "supervisor", "supervisors", out)
            run = step.get("run")
            if kind in SHELL_KINDS and isinstance(run, str):
                _check_shell(run, (*base, "run"), out)
            expect = _table(step.get("expect"))
            _regex(expect.get("stdout_matches"), (*base, "expect", "stdout_matches"), "expect", out)
            _regex(expect.get("body_matches"), (*base, "expect", "body_matches"), "expect", out)
            model = STEP_KINDS.get(kind) if isinstance(kind, str) else None
            # model_construct: judge the step as written even when the schema check rejects a key
            unchecked = model.model_construct(**step) if model else None
            if step.get("confirm") == "none" and unchecked and is_mutating(unchecked):
                msg = (
                    'confirm = "none" is not allowed on a step that changes something '
                    "(a command without changes = false, or a supervisor action)"
                )
                out.append(Finding((*base, "confirm"), "value", msg))


def _check_hosts(data: dict[str, Any], out: list[Finding]) -> None:
    hosts = ["local", *_table(data.get("hosts"))]
    for name, sup in _table(data.get("supervisors")).items():
        if isinstance(sup, dict) and "via" in sup:
            _ref(sup["via"], hosts, ("supervisors", name, "via"), "host", "hosts", out)
    for name, probe in _table(data.get("probes")).items():
        if isinstance(probe, dict):
            _ref(probe.get("host", "local"), hosts, ("probes", name, "host"), "host", "hosts", out)
            if isinstance(probe.get("run"), str):
                _check_shell(probe["run"], ("probes", name, "run"), out)
    lock = _table(_table(data.get("checklist")).get("lock"))
    _ref(lock.get("host", "local"), hosts, ("checklist", "lock", "host"), "host", "hosts", out)


def _loops_host(host: Any) -> bool:
    """`host = "{{ node }}"`: a host taken from a for_each value (checked by `_check_loops`)."""
    return isinstance(host, str) and PLACEHOLDER.fullmatch(host.strip()) is not None


def _host_ref(step: dict[str, Any], hosts: list[str], base: Path, out: list[Finding]) -> None:
    """A step's `host` names a declared host (a for_each placeholder is `_check_loops`'s)."""
    if not _loops_host(step.get("host")):
        _ref(step.get("host", "local"), hosts, (*base, "host"), "host", "hosts", out)


def _step_bound(data: dict[str, Any]) -> dict[Path, tuple[str, list[Any] | str]]:
    """A step's data path -> the var its for_each binds, and its values (or the
    `"{{ list var }}"` it loops over)."""
    out: dict[Path, tuple[str, list[Any] | str]] = {}
    for base, _, step in _all_steps(data):
        for_each = step.get("for_each")
        if isinstance(for_each, dict) and len(for_each) == 1:
            ((name, values),) = for_each.items()
            out[base] = (name, values if isinstance(values, list | str) else [])
    return out


def _check_loops(
    data: dict[str, Any], patterns: dict[str, re.Pattern[str] | None], out: list[Finding]
) -> None:
    """A step's for_each over a declared var, its values valid for it; `host = "{{ x }}"` only
    with x bound by a for_each of the step or its stage, every value a declared host."""
    declared = _table(data.get("vars"))
    hosts = ["local", *_table(data.get("hosts"))]
    loops = _step_bound(data)
    static: dict[Path, list[Any]] = {}
    for base, (name, values) in loops.items():
        path: Path = (*base, "for_each", name)
        static[base] = _listed(name, values, data, path, out)
        if name not in declared:
            hint = _hint(name, list(declared)) or f"; declare it as [vars.{name}]"
            out.append(Finding(path, "key", f"for_each over undeclared var {name!r}{hint}"))
            continue
        _loop_values_ok(name, values, static[base], declared, patterns, path, out)
    stages = dict(_tables(data.get("stages")))
    for base, i, step in _all_steps(data):
        stage_loop = stages[i].get("for_each")
        host = step.get("host")
        if not isinstance(host, str) or not _loops_host(host):
            continue
        m = PLACEHOLDER.fullmatch(host.strip())
        name = m.group(1) if m else ""
        if base in loops and loops[base][0] == name:
            values = static[base]
        elif isinstance(stage_loop, dict) and name in stage_loop:
            values = _listed(name, stage_loop[name], data, ("stages", i, "for_each"), [])
        else:
            msg = (
                f"host {host!r}: {name!r} must be bound by a for_each of this step or its "
                "stage, whose values are declared hosts"
            )
            out.append(Finding((*base, "host"), "value", msg))
            continue
        for value in values:
            if isinstance(value, str) and value not in hosts:
                hint = _hint(value, hosts) or f" (declared: {_names(hosts)})"
                msg = f"host {host!r} would be {value!r}, which is not a declared host{hint}"
                out.append(Finding((*base, "host"), "value", msg))


def _copies(for_each: Any, data: dict[str, Any]) -> int:
    """How many copies a for_each makes that check can see (a list var's default and
    choices: its real values are counted when the vars are resolved)."""
    if not isinstance(for_each, dict) or len(for_each) != 1:
        return 1
    ((name, values),) = for_each.items()
    return len(_listed(name, values, data, (), [])) or 1


def _check_expansion(data: dict[str, Any], bound: dict[int, str], out: list[Finding]) -> None:
    """At most MAX_RUN_STEPS steps once the loops are expanded; a step's for_each must not
    bind the name its stage's for_each binds (the step's would hide the stage's)."""
    total = 0
    for i, stage in _tables(data.get("stages")):
        steps = 0
        for key in STEP_LISTS:
            for j, step in _tables(stage.get(key)):
                for_each = step.get("for_each")
                steps += _copies(for_each, data)
                if i in bound and isinstance(for_each, dict) and bound[i] in for_each:
                    msg = (
                        f"for_each binds {bound[i]!r}, which the stage's for_each binds already: "
                        "loop over another var"
                    )
                    out.append(Finding(("stages", i, key, j, "for_each", bound[i]), "key", msg))
        copies = _copies(stage.get("for_each"), data)
        total += copies * steps
        if total > MAX_RUN_STEPS:
            where: Path = ("stages", i, "for_each") if "for_each" in stage else ("stages", i, "id")
            msg = (
                f"the run would have {total:,} steps by this stage ({copies:,} copies of "
                f"{steps:,} step{'s' * (steps != 1)} here): a run has at most {MAX_RUN_STEPS:,}; "
                "split the checklist or loop over fewer values"
            )
            out.append(Finding(where, "key", msg))
            return


def _bindings(
    data: dict[str, Any], patterns: dict[str, re.Pattern[str] | None], out: list[Finding]
) -> dict[int, str]:
    """Stage index -> the var its for_each binds; checks the var and its values."""
    declared = _table(data.get("vars"))
    bound: dict[int, str] = {}
    for i, stage in _tables(data.get("stages")):
        for_each = stage.get("for_each")
        if not isinstance(for_each, dict) or len(for_each) != 1:
            continue
        ((name, values),) = for_each.items()
        bound[i] = name
        path: Path = ("stages", i, "for_each", name)
        static = _listed(name, values, data, path, out)
        if name not in declared:
            hint = _hint(name, list(declared)) or f"; declare it as [vars.{name}]"
            msg = f"for_each over undeclared var {name!r}{hint}"
            out.append(Finding(path, "key", msg))
            continue
        _loop_values_ok(name, values, static, declared, patterns, path, out)
    return bound


def _strings(value: Any, path: Path) -> Iterator[tuple[Path, str]]:
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, dict):
        for key, item in value.items():
            if key not in NOT_TEMPLATED:
                yield from _strings(item, (*path, key))
    elif isinstance(value, list):
        for k, item in enumerate(value):
            yield from _strings(item, (*path, k))


def _scoped(
    data: dict[str, Any], bound: dict[int, str], everywhere: list[str]
) -> list[tuple[Path, dict[str, Any], list[str]]]:
    """(path, table, names in scope) of each stage (its own keys, not for_each or steps), then
    each of its steps: ``everywhere`` less the names a step loop binds, the stage's for_each
    name, the names earlier steps capture and the step's own loop name. A rollback step sees
    what the steps of its stage capture (a value its failed step never reached stops the run
    before the rollback step runs, as for any step)."""
    captured = _captures(data)
    loops = _step_bound(data)
    everywhere = [n for n in everywhere if n not in {name for name, _ in loops.values()}]
    found: list[tuple[Path, dict[str, Any], list[str]]] = []
    for i, stage in _tables(data.get("stages")):
        scope = everywhere + ([bound[i]] if i in bound else [])
        content = {k: v for k, v in stage.items() if k not in ("for_each", *STEP_LISTS)}
        found.append((("stages", i), content, scope))
        for key in STEP_LISTS:
            for j, step in _tables(stage.get(key)):
                base: Path = ("stages", i, key, j)
                before = [
                    name
                    for (at, _, name) in captured
                    if (at < (i, j) if key == "steps" else at[0] <= i)
                ]
                before += [loops[base][0]] if base in loops else []
                # a for_each over a list var ("{{ apps }}") is a reference, not a template
                over_list = base in loops and isinstance(loops[base][1], str)
                table = {k: v for k, v in step.items() if k != "for_each" or not over_list}
                found.append((base, table, scope + before))
    return found


def _later(data: dict[str, Any]) -> dict[str, str]:
    """Each captured name, with the 'stage/step' that captures it."""
    return {name: where for (_, where, name) in _captures(data)}


def _check_templates(data: dict[str, Any], bound: dict[int, str], out: list[Finding]) -> None:
    declared = list(_table(data.get("vars")))
    lists = _lists(data)
    everywhere = [n for n in declared if n not in bound.values() and n not in lists]
    checklist_id = _table(data.get("checklist")).get("id")
    if isinstance(checklist_id, str) and "{{" in checklist_id:
        msg = "checklist.id cannot use templates: it names the checklist in audit logs"
        out.append(Finding(("checklist", "id"), "inside", msg, checklist_id.index("{{")))
    places: list[tuple[Path, Any, list[str]]] = [
        ((key,), data.get(key), everywhere)
        for key in data
        if key not in ("vars", "stages", "notify")
    ]
    for k, notify in _tables(data.get("notify")):
        places.append((("notify", k), {"url": notify.get("url")}, everywhere))
        texts = {key: notify.get(key) for key in ("title", "body")}
        places.append((("notify", k), texts, everywhere + list(syntax.NOTIFY_FIELDS)))
    later = _later(data)
    places += _scoped(data, bound, everywhere)
    for base, value, scope in places:
        for path, text in _strings(value, base):
            if "{{" in text:
                out += _capped(path, _template_problems(text, declared, scope, later, lists))
    _check_title(data, out)


def _check_title(data: dict[str, Any], out: list[Finding]) -> None:
    """`[checklist] title` is shown on every screen and recorded in the audit log and the
    report: a secret var cannot be in it."""
    title = _table(data.get("checklist")).get("title")
    declared = _table(data.get("vars"))
    if not isinstance(title, str):
        return
    for name, index in names(title):
        if _table(declared.get(name)).get("secret") is True:
            msg = (
                f"var {name!r} is secret: the title is shown on every screen and recorded in "
                "the audit log and the report, so a secret cannot be in it"
            )
            out.append(Finding(("checklist", "title"), "inside", msg, index))


def _check_notify(data: dict[str, Any], out: list[Finding]) -> None:
    """A `[[notify]]` URL holds tokens: every var it uses must be a secret (masked everywhere,
    never recorded)."""
    declared = _table(data.get("vars"))
    for k, notify in _tables(data.get("notify")):
        url = notify.get("url")
        if not isinstance(url, str):
            continue
        for name, index in names(url):
            if name in declared and not _table(declared[name]).get("secret"):
                msg = (
                    f"var {name!r} is used in a notify url, which holds tokens: "
                    f"declare it with secret = true"
                )
                out.append(Finding(("notify", k, "url"), "inside", msg, index))


def _template_problems(
    text: str,
    declared: list[str],
    scope: list[str],
    later: dict[str, str] | None = None,
    lists: set[str] | None = None,
) -> Iterator[Finding]:
    for name, index in names(text):
        if name in scope:
            continue
        if lists and name in lists:
            msg = _LIST_USE.format(name=name)
        elif later and name in later:
            msg = f"{name!r} is used before the step that captures it ({later[name]})"
        elif name in declared:
            msg = (
                f"var {name!r} is used before it can have a value: it is only set "
                "inside stages whose for_each is over it"
            )
        else:
            hint = _hint(name, scope) or f" (declared: {_names(scope)})"
            msg = f"unknown var {_short(name)!r} in template{hint}"
        yield Finding((), "inside", msg, index)
    for m in MALFORMED.finditer(text):
        if not PLACEHOLDER.fullmatch(m.group(0)):
            shown = m.group(0) if len(m.group(0)) <= 60 else m.group(0)[:57] + "..."
            msg = f"malformed template {shown!r}: write {{{{ name }}}} with a var name"
            yield Finding((), "inside", msg, m.start())


def _capped(path: Path, findings: Iterator[Finding]) -> list[Finding]:
    """The findings of one string, placed at path; past MAX_PER_STRING only counted."""
    out: list[Finding] = []
    more, first = 0, 0
    for f in findings:
        if len(out) < MAX_PER_STRING:
            out.append(f._replace(path=path))
        else:
            more += 1
            first = first if more > 1 else f.index
    if more:
        msg = f"... and {more:,} more template problem{'s' * (more > 1)} in this string"
        out.append(Finding(path, "inside", msg, first))
    return out


def _check_shell(command: str, path: Path, out: list[Finding]) -> None:
    """Placeholders that the shell would not read as one plain word."""
    if "{{" not in command:
        return
    found = (
        Finding((), "inside", NESTED_QUOTING.format(name=m.group(1), where=where), offset)
        for offset, where in unsafe_placeholders(command)
        if (m := PLACEHOLDER.match(command, offset))
    )
    out += _capped(path, found)


def _check_text(value: Any, path: Path, out: list[Finding]) -> None:
    """NUL in any string (a key with one is never valid: the schema check names it)."""
    stack: list[tuple[Path, Any]] = [(path, value)]
    while stack:
        where, item = stack.pop()
        if isinstance(item, str):
            if "\x00" in item:
                out.append(Finding(where, "inside", NUL, item.index("\x00")))
        elif isinstance(item, dict):
            stack += [((*where, k), v) for k, v in item.items()]
        elif isinstance(item, list):
            stack += [((*where, k), v) for k, v in enumerate(item)]


def _condition(
    text: Any,
    path: Path,
    scope: list[str],
    out: list[Finding],
    later: dict[str, str],
    lists: set[str],
    captured: set[str],
) -> None:
    """A `when` that does not parse, that names something without a value there, that uses a
    list var as one value, or that searches a var that is not a list with `in`."""
    if not isinstance(text, str):
        return
    try:
        expr = condition.parse(text)
    except condition.ConditionError as e:
        out.append(Finding(path, "inside", e.message, e.offset))
        return
    for name, offset, searched in condition.uses(expr):
        if name in lists:
            if not searched:
                out.append(Finding(path, "inside", _LIST_IN_CONDITION.format(name=name), offset))
        elif searched and name in scope and name not in captured:
            out.append(Finding(path, "inside", _NOT_A_LIST.format(name=name), offset))
        elif name in later and name not in scope:
            msg = f"{name!r} is used before the step that captures it ({later[name]})"
            out.append(Finding(path, "inside", msg, offset))
        elif name not in scope:
            searchable = sorted(lists) + [n for n in scope if n in captured]
            hint = (searched and _hint(name, searchable)) or _hint(name, scope)
            hint = hint or f" (known here: {_names(scope)})"
            msg = f"unknown name {_short(name)!r} in condition{hint}"
            out.append(Finding(path, "inside", msg, offset))


def _check_conditions(data: dict[str, Any], bound: dict[int, str], out: list[Finding]) -> None:
    declared = list(_table(data.get("vars")))
    lists = _lists(data)
    everywhere = [n for n in declared if n not in bound.values() and n not in lists]
    later = _later(data)
    captured = {name for _, _, name in _captures(data)}
    for path, table, scope in _scoped(data, bound, everywhere):
        scope = scope + sorted(lists)
        _condition(table.get("when"), (*path, "when"), scope, out, later, lists, captured)


def _captures(data: dict[str, Any]) -> list[tuple[tuple[int, int], str, str]]:
    """((stage index, step index), 'stage/step', name) of every step that captures a value."""
    found = []
    for i, stage in _tables(data.get("stages")):
        for j, step in _tables(stage.get("steps")):
            capture = step.get("capture")
            name = capture.get("name") if isinstance(capture, dict) else capture
            if isinstance(name, str):
                found.append(((i, j), f"{stage.get('id')}/{step.get('id')}", name))
    return found


def _check_captures(data: dict[str, Any], out: list[Finding]) -> None:
    """A captured name that is also a var or captured twice; a regex without a group;
    `secret` without `capture`."""
    declared = set(_table(data.get("vars")))
    seen: dict[str, str] = {}
    for at, _, step in _all_steps(data):
        if at[2] == "rollback" and "capture" in step:
            msg = (
                "a rollback step cannot capture a value: the run stops after its rollback; "
                "capture it in a step of the stage (rollback steps may use it)"
            )
            out.append(Finding((*at, "capture"), "key", msg))
    for i, stage in _tables(data.get("stages")):
        for j, step in _tables(stage.get("steps")):
            base: Path = ("stages", i, "steps", j)
            capture = step.get("capture")
            if step.get("secret") is True and capture is None:
                msg = "secret = true marks a captured value: this step has no capture"
                out.append(Finding((*base, "secret"), "key", msg))
            path: Path = (*base, "capture")
            if isinstance(capture, dict):
                regex = _regex(capture.get("regex"), (*path, "regex"), "capture", out)
                if regex is not None and regex.groups < 1:
                    msg = (
                        "capture regex needs a group: its first group is the value, e.g. 'v=(\\S+)'"
                    )
                    out.append(Finding((*path, "regex"), "value", msg))
                path = (*path, "name")
                capture = capture.get("name")
            if not isinstance(capture, str):
                continue
            where = f"{stage.get('id')}/{step.get('id')}"
            if capture in declared:
                msg = f"capture {capture!r} has the name of a var: choose another name"
                out.append(Finding(path, "value", msg))
            elif capture in seen:
                msg = f"{capture!r} is already captured by {seen[capture]}: choose another name"
                out.append(Finding(path, "value", msg))
            seen.setdefault(capture, where)


def check(data: dict[str, Any]) -> list[Finding]:
    """Every reference, scope, regex, duplicate and safety problem in the parsed data."""
    out: list[Finding] = []
    _suggestions_left[0] = MAX_SUGGESTIONS
    _check_text(data, (), out)
    patterns = _check_vars(data, out)
    bound = _bindings(data, patterns, out)
    _check_hosts(data, out)
    _check_steps(data, out)
    _check_templates(data, bound, out)
    _check_notify(data, out)
    _check_conditions(data, bound, out)
    _check_captures(data, out)
    _check_loops(data, patterns, out)
    _check_expansion(data, bound, out)
    return out
