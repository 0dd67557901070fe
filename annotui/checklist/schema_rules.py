"""What `annotui check` enforces beyond the field types, added to the JSON Schema pydantic makes.

pydantic writes a schema from the types and `Field` constraints of the models. Several rules of
the language live elsewhere (validators, :mod:`annotui.checklist.references`) or come out of
pydantic in a form JSON Schema validators ignore (constrained dict keys become
``patternProperties``, which lets any other key through). :func:`tighten` says each of them in
JSON Schema, so that an editor rejects what ``check`` rejects wherever JSON Schema can say it:
``tests/checklist/test_schema_agreement.py`` feeds the same documents to both.

What stays with ``check`` alone: references between tables, duplicate ids, templates and their
scope, regular expressions and the values that must match them, quoting in shell commands, an
IPv6 address's digits, URLs or SSH targets that hold a placeholder (checked once rendered), and
an approval step's `min` against the number of its different `approvers`.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from annotui.checklist import syntax

NO_NUL = {"not": {"pattern": "\\x00"}}
"""No NUL character anywhere in a string."""


def _subschemas(node: Any) -> Iterator[dict[str, Any]]:
    stack = [node]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            yield item
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)


def _identifier_keys(schema: dict[str, Any]) -> None:
    """`dict[Identifier, X]`: every key must be a name, every value an X."""
    for node in list(_subschemas(schema)):
        pattern_props = node.get("patternProperties")
        if isinstance(pattern_props, dict) and list(pattern_props) == [syntax.IDENTIFIER]:
            node["additionalProperties"] = pattern_props[syntax.IDENTIFIER]
            del node["patternProperties"]
            names = node.setdefault("propertyNames", {})
            names["pattern"] = syntax.IDENTIFIER


def _no_nul(schema: dict[str, Any]) -> None:
    for node in list(_subschemas(schema)):
        if node.get("type") == "string" and "enum" not in node and "const" not in node:
            node.update(NO_NUL)


def _either_templated(pattern: str, description: str) -> dict[str, Any]:
    return {"anyOf": [{"pattern": syntax.TEMPLATED}, {"pattern": pattern}], "$comment": description}


def _steps_by_kind(defs: dict[str, Any]) -> None:
    """A step is chosen by its `kind`: `kind` is one of the kinds, and if/then per kind applies
    that kind's schema. An editor then names the allowed kinds on a bad `kind`, and the allowed
    keys of the step's own kind on a typo, where a bare `oneOf` only says that no branch fits."""
    for key in ("steps", "rollback"):
        _by_kind(defs["Stage"]["properties"][key]["items"])


def _by_kind(items: dict[str, Any]) -> None:
    mapping = items["discriminator"]["mapping"]
    del items["oneOf"]
    items.update(
        type="object",
        required=["kind"],
        properties={
            "kind": {"enum": list(mapping), "description": "The step kind: " + ", ".join(mapping)}
        },
        allOf=[
            {"if": {"properties": {"kind": {"const": kind}}}, "then": {"$ref": ref}}
            for kind, ref in mapping.items()
        ],
    )


def tighten(schema: dict[str, Any]) -> dict[str, Any]:
    """The schema with the rules `check` enforces that pydantic's schema leaves out (in place)."""
    defs = schema["$defs"]
    url = _either_templated(syntax.URL, "an http(s) URL, port 1-65535; or a template")
    defs["Supervisor"]["properties"]["url"].update(url)
    notify_url = _either_templated(syntax.NOTIFY_URL, "an Apprise URL, or empty; or a template")
    defs["Notify"]["properties"]["url"].update(notify_url)
    ssh = _either_templated(syntax.SSH_TARGET, "local, a Host alias or user@host:port")
    defs["Host"]["properties"]["ssh"].update(ssh)

    # confirm = "none" only on a step that changes nothing
    defs["CommandStep"]["if"] = {
        "properties": {"confirm": {"const": "none"}},
        "required": ["confirm"],
    }
    defs["CommandStep"]["then"] = {
        "properties": {"changes": {"const": False}},
        "required": ["changes"],
        "$comment": 'confirm = "none" is allowed only with changes = false',
    }
    defs["AnsibleStep"]["if"] = defs["CommandStep"]["if"]
    defs["AnsibleStep"]["then"] = defs["CommandStep"]["then"]
    defs["SupervisorStep"]["allOf"] = [
        {
            "if": {"properties": {"action": {"const": "signal"}}, "required": ["action"]},
            "then": {"required": ["signal"]},
            "else": {"not": {"required": ["signal"]}},
            "$comment": 'signal = "HUP" goes with action = "signal", and only with it',
        }
    ]
    defs["SupervisorStep"]["not"] = {
        "properties": {"confirm": {"const": "none"}},
        "required": ["confirm"],
        "$comment": 'a supervisor action changes something: confirm = "none" is not allowed',
    }

    defs["Var"]["not"] = {
        "properties": {"list": {"const": True}, "secret": {"const": True}},
        "required": ["list", "secret"],
        "$comment": "a list var cannot be secret: its values name steps and stages in the log",
    }

    # for_each: exactly one var, at least one value, each value once (or "{{ a list var }}")
    loops = [
        d["properties"]["for_each"] for d in defs.values() if "for_each" in d.get("properties", {})
    ]
    for for_each in loops:
        for branch in for_each.get("anyOf", [for_each]):
            if branch.get("type") == "object":
                branch.update(minProperties=1, maxProperties=1)
                for values in branch.get("patternProperties", {}).values():
                    values.update(minItems=1, uniqueItems=True)

    _identifier_keys(schema)
    _steps_by_kind(defs)
    headers = defs["HttpStep"]["properties"]["headers"]
    headers["propertyNames"] = {"pattern": syntax.HEADER_NAME}
    headers["additionalProperties"] = {"type": "string"}
    headers.pop("patternProperties", None)

    # the host `local` is built in: it may only be redefined as itself
    hosts = schema["properties"]["hosts"]
    hosts["properties"] = {
        "local": {
            **hosts["additionalProperties"],
            "properties": {"ssh": {"const": "local"}},
            "$comment": "host 'local' is built in and always runs here",
        }
    }
    _no_nul(schema)
    return schema
