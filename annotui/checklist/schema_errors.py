"""pydantic validation errors, rewritten in an author's words with the data path they concern."""

from __future__ import annotations

import datetime
import types
import typing
from typing import Any, Union

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from annotui.checklist import syntax
from annotui.checklist.diagnostics import Finding, did_you_mean, listing
from annotui.checklist.models import STEP_KINDS, Checklist
from annotui.checklist.positions import Path

KINDS = tuple(STEP_KINDS)

PATTERN_HINTS = {
    "id": "must be a name of letters, digits, _ and - (not starting with a digit or -)",
    "until": "must be a comparison with a whole number of at most 18 digits, e.g. '== 0' or '< 5'",
    "mode_at_least": "must be an octal file mode of 3 or 4 digits, e.g. '774'",
    "run": "must not be empty: write the command to run",
    "from_env": "must be an environment variable name (letters, digits and _), e.g. 'API_TOKEN'",
    "process": ("must be a process name, or group:* for a whole group, without control characters"),
}
"""What a pattern mismatch means, by the name of the key."""

PATTERN_WORDS = {
    syntax.FOR_EACH_VALUE: (
        "must not be empty or hold '/', '[', ']', control characters or invisible formatting "
        "ones (zero-width, bidirectional): each value names a stage, as in deploy[staging]"
    ),
}
"""What a pattern mismatch means, by the pattern (for values that have no key of their own)."""

KEYED = {
    "vars": "var",
    "hosts": "host",
    "supervisors": "supervisor",
    "probes": "probe",
    "for_each": "for_each var",
}

TYPE_WORDS = {
    "string_type": "a string",
    "int_type": "a whole number",
    "int_from_float": "a whole number",
    "float_type": "a number",
    "bool_type": "true or false",
    "list_type": "an array",
    "dict_type": "a table",
    "model_type": "a table",
    "model_attributes_type": "a table",
}


def toml_type(value: Any) -> str:
    """How an author would name the TOML type of a parsed value."""
    if isinstance(value, bool):
        return f"a boolean ({str(value).lower()})"
    if isinstance(value, int):
        return f"a whole number ({value})"
    if isinstance(value, float):
        return f"a number ({value})"
    if isinstance(value, str):
        return f"a string ({value!r})" if len(value) < 40 else "a string"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, datetime.date | datetime.time):
        return "a date/time"
    return type(value).__name__


def _unwrap(tp: Any, node: Any) -> Any:
    """Strip Annotated/Optional; pick the step model of a union by the node's `kind`."""
    while True:
        if typing.get_origin(tp) is typing.Annotated:
            tp = typing.get_args(tp)[0]
            continue
        if typing.get_origin(tp) in (Union, types.UnionType):
            options = [a for a in typing.get_args(tp) if a is not type(None)]
            if len(options) == 1:
                tp = options[0]
                continue
            kind = node.get("kind") if isinstance(node, dict) else None
            for option in options:
                field = getattr(option, "model_fields", {}).get("kind")
                if field is not None and kind in typing.get_args(field.annotation):
                    return option
            return None
        return tp


def model_at(path: Path, data: Any) -> type[BaseModel] | None:
    """The model class that describes the table at path, or None."""
    tp: Any = Checklist
    node = data
    for part in path:
        tp = _unwrap(tp, node)
        if isinstance(tp, type) and issubclass(tp, BaseModel):
            field = tp.model_fields.get(str(part))
            if field is None:
                return None
            tp = field.annotation
        elif typing.get_origin(tp) is dict:
            tp = typing.get_args(tp)[1]
        elif typing.get_origin(tp) is list:
            tp = typing.get_args(tp)[0]
        else:
            return None
        try:
            node = node[part]
        except (KeyError, IndexError, TypeError):
            node = None
    tp = _unwrap(tp, node)
    return tp if isinstance(tp, type) and issubclass(tp, BaseModel) else None


def data_path(loc: tuple[str | int, ...], data: Any) -> Path:
    """pydantic's loc without the discriminator tags it inserts for step kinds."""
    path: list[str | int] = []
    node = data
    for part in loc:
        # the tag follows a step's index, also when the step has a key of the kind's name
        # (supervisor = "...": an error there pointed at that key)
        tag = isinstance(node, dict) and node.get("kind") == part
        if tag and (part not in node or (path and isinstance(path[-1], int))):
            continue
        if isinstance(part, str) and not isinstance(node, dict) and node is not None:
            continue  # the member of a union pydantic tried (list[...] or a string)
        path.append(part)
        try:
            node = node[part]
        except (KeyError, IndexError, TypeError):
            node = None
    return tuple(path)


def describe(path: Path, data: Any) -> str:
    """How a message names the table at path: "step 'swap' (expect)", "stage 'deploy'", ..."""
    node: Any = data
    names: list[str] = []
    for k, part in enumerate(path):
        container: Any = node
        node = container[part] if isinstance(node, dict | list) and _has(node, part) else None
        lists = (("stages",), ("steps",), ("rollback",))
        if k in (1, 3) and path[0] == "stages" and path[k - 1 : k] in lists:
            ident = node.get("id") if isinstance(node, dict) else None
            what = "stage" if k == 1 else "rollback step" if path[2] == "rollback" else "step"
            names = [f"{what} {ident!r}" if isinstance(ident, str) else f"{what} #{int(part) + 1}"]
    if path[:1] == ("stages",) and len(path) > 4:
        return f"{names[-1]} ({'.'.join(map(str, path[4:]))})" if names else "step"
    if names:
        return names[-1]
    return "[" + ".".join(map(str, path)) + "]" if path else "the checklist"


def _has(node: dict[Any, Any] | list[Any], part: str | int) -> bool:
    if isinstance(node, dict):
        return part in node
    return isinstance(part, int) and 0 <= part < len(node)


def translate(error: ErrorDetails, data: Any) -> tuple[Path, str, str]:
    """(data path, what to point at: key/value/table, message) for one pydantic error."""
    path = data_path(tuple(error["loc"]), data)
    kind = error["type"]
    ctx = error.get("ctx") or {}
    name = str(path[-1]) if path else ""
    if len(path) > 1 and isinstance(path[-1], int):
        name = f"{path[-2]}[{path[-1]}]"  # an element of a list: 'n[0]', not '0'
    value = error.get("input")
    if name == "[key]":  # a table key that must be a name (vars, hosts, ...)
        path = path[:-1]
        what = KEYED.get(str(path[-2]) if len(path) > 1 else "", "name")
        hint = "must be letters, digits, _ and - (not starting with a digit or -)"
        return path, "key", f"{what} name {path[-1]!r} {hint}"
    if kind == "missing":
        owner = path[:-1]
        if path == ("stages",):
            return owner, "table", "a checklist needs at least one [[stages]] table"
        if path == ("checklist",):
            return owner, "table", "missing the [checklist] table (id and title)"
        if name == "steps":
            msg = f"{describe(owner, data)} has no steps: add at least one [[stages.steps]]"
            return owner, "table", msg
        return owner, "table", f"{describe(owner, data)} is missing required key {name!r}"
    if kind == "extra_forbidden" and path == ("checklist", "notify"):
        msg = (
            "'notify' moved out of [checklist]: write one [[notify]] table per URL at the "
            'top level, e.g. [[notify]] url = "..." on = ["stage_end", "failure"]'
        )
        return path, "key", msg
    if kind == "extra_forbidden":
        model = model_at(path[:-1], data)
        fields = [f for f in model.model_fields if f != "kind"] if model else []
        where = describe(path[:-1], data)
        hint = did_you_mean(name, fields) or f" (allowed: {listing(fields)})"
        owners = [k for k, m in STEP_KINDS.items() if name in m.model_fields and model is not m]
        if model in STEP_KINDS.values() and owners:
            hint = (
                f": {name!r} is a key of {listing(owners)} steps (allowed here: {listing(fields)})"
            )
        if len(path) == 1:
            what = "table" if isinstance(value, dict | list) else "key"
            return path, "key", f"unknown top-level {what} {name!r}{hint}"
        return path, "key", f"unknown key {name!r} in {where}{hint}"
    if kind == "union_tag_invalid":
        hint = did_you_mean(str(ctx.get("tag")), KINDS)
        return (
            (*path, "kind"),
            "value",
            f"unknown step kind {ctx.get('tag')!r}{hint} (valid kinds: {listing(KINDS)})",
        )
    if kind == "union_tag_not_found":
        return path, "table", f"{describe(path, data)} has no 'kind' (one of: {listing(KINDS)})"
    if kind in TYPE_WORDS:
        return path, "value", f"{name!r} must be {TYPE_WORDS[kind]}, not {toml_type(value)}"
    if kind == "literal_error":
        return path, "value", f"{name!r} must be one of {ctx.get('expected')}, not {value!r}"
    if kind == "string_pattern_mismatch":
        pattern = ctx.get("pattern")
        if pattern in PATTERN_WORDS:
            return path, "value", f"{value!r}: {PATTERN_WORDS[pattern]}"
        hint = PATTERN_HINTS.get(name, f"must match {pattern}")
        return path, "value", f"{name!r} {hint}; got {value!r}"
    if kind in ("greater_than", "greater_than_equal", "less_than", "less_than_equal"):
        words = {"gt": "greater than", "ge": "at least", "lt": "less than", "le": "at most"}
        ((bound, limit),) = ctx.items()
        if isinstance(value, float) and value != value:
            return path, "value", f"{name!r} must be a number, not nan"
        if isinstance(limit, float) and limit.is_integer():
            limit = int(limit)
        return path, "value", f"{name!r} must be {words[bound]} {limit}, not {value!r}"
    if kind == "too_short":
        if path == ("stages",):
            return path, "value", "a checklist needs at least one [[stages]] table"
        if name == "steps":
            return path, "value", "a stage needs at least one [[stages.steps]] step"
        return path, "value", f"{name!r} must not be empty"
    if kind == "value_error":
        message = str(ctx.get("error", error["msg"]))
        if not path:
            return ("hosts", "local"), "key", message
        return path, "value", message
    plain = error["msg"].replace("Input should be", "must be")
    return path, "value", f"{name!r}: {plain}" if name else plain


def _other_member(loc: tuple[str | int, ...], data: Any) -> bool:
    """The error is the complaint of a union's member of another shape than the value: a list
    member's about a string (`for_each = { n = "{{ apps }}" }`) or a string member's about a
    list (`{ n = ["a", 1] }`); the member of the value's own shape says what is wrong."""
    node = data
    for part in loc:
        if isinstance(part, str) and isinstance(node, list | str):
            return part.startswith("list[") is isinstance(node, str)
        try:
            node = node[part]
        except (KeyError, IndexError, TypeError):
            return False
    return False


def validate(data: Any) -> tuple[Checklist | None, list[Finding]]:
    """Validate the parsed document: the model, or None and every schema problem."""
    try:
        return Checklist.model_validate(data, strict=True), []
    except ValidationError as exc:
        errors = [e for e in exc.errors(include_url=False) if not _other_member(e["loc"], data)]
        return None, [Finding(*translate(error, data)) for error in errors]
