"""Reading an XML-RPC answer: the element tree's C parser, then a walk of the few value types
supervisord sends (string, int, boolean, double, nil, array, struct).

`xmlrpc.client.loads` hands every element to Python callbacks; on a status poll's answer (~150
elements) that costs about twice the tree parse plus this walk, and a refresh reads 20 of them
on the same cores as everything else. Anything else (a fault, dateTime, base64, a shape that is
not a one-value answer, XML that does not parse) is read by `xmlrpc.client.loads` itself, so
its errors and faults are what they were.
"""

from __future__ import annotations

import xmlrpc.client
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from xml.etree.ElementTree import Element


class _Other(Exception):
    """Not a shape this reader knows: `xmlrpc.client` reads it."""


def _bool(text: str) -> bool:
    if text not in ("0", "1"):
        raise _Other
    return text == "1"


_SCALARS: dict[str, Callable[[str], Any]] = {
    "string": str,
    "int": int,
    "i4": int,
    "i8": int,
    "boolean": _bool,
    "double": float,
}


def _value(element: Element) -> Any:
    if element.tag != "value" or len(element) > 1:
        raise _Other
    if not len(element):
        return element.text or ""
    typed = element[0]
    tag = typed.tag
    if tag == "struct":
        members = {}
        for member in typed:
            if member.tag != "member" or len(member) != 2 or member[0].tag != "name":
                raise _Other
            members[member[0].text or ""] = _value(member[1])
        return members
    if tag == "array":
        if len(typed) != 1 or typed[0].tag != "data":
            raise _Other
        return [_value(v) for v in typed[0]]
    if tag == "nil":
        return None
    convert = _SCALARS.get(tag)
    if convert is None or len(typed):
        raise _Other
    return convert(typed.text or "")


def loads(data: bytes) -> Any:
    """The one value of an XML-RPC answer; raises what `xmlrpc.client.loads` raises (a
    `xmlrpc.client.Fault` for a fault, expat's errors, ValueError for another shape)."""
    import xml.etree.ElementTree as ET  # on the first answer: not in the cockpit's start

    try:
        root = ET.fromstring(data)
        if root.tag != "methodResponse" or len(root) != 1 or root[0].tag != "params":
            raise _Other
        params = root[0]
        if len(params) != 1 or params[0].tag != "param" or len(params[0]) != 1:
            raise _Other
        return _value(params[0][0])
    except (_Other, ET.ParseError, ValueError):
        (result,), _ = xmlrpc.client.loads(data, use_builtin_types=True)
        return result
