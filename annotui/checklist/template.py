"""`{{ name }}` templates: strict, and shell-quoted wherever the result is a shell word.

Only `{{ name }}` (an identifier between double braces, spaces optional) is a placeholder, so shell
braces, awk programs and `${VAR}` pass through untouched.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterator, Mapping

PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_-]*)\s*\}\}")


class TemplateError(ValueError):
    """A template names a var that has no value."""

    def __init__(self, name: str, offset: int) -> None:
        super().__init__(f"unknown template var {name!r}")
        self.name = name
        self.offset = offset


def names(template: str) -> Iterator[tuple[str, int]]:
    """Yield (var name, character offset) for every placeholder in the template."""
    for m in PLACEHOLDER.finditer(template):
        yield m.group(1), m.start()


def render(template: str, values: Mapping[str, str], *, shell: bool) -> str:
    """Substitute every placeholder; in a shell context each value becomes one quoted word."""

    def sub(m: re.Match[str]) -> str:
        name = m.group(1)
        if name not in values:
            raise TemplateError(name, m.start())
        value = str(values[name])
        return shlex.quote(value) if shell else value

    return PLACEHOLDER.sub(sub, template)


UNSET = "\u2039{}\u203a"
"""How `preview` shows a placeholder still without a value: its name in single angle quotes."""


def preview(template: str, values: Mapping[str, str]) -> str:
    """The template for reading before every value is known (a title while the vars are being
    set): a placeholder with a non-empty value shows it, the others show as UNSET. Never for a
    shell or anything that runs."""

    def sub(m: re.Match[str]) -> str:
        return values.get(m.group(1)) or UNSET.format(m.group(1))

    return PLACEHOLDER.sub(sub, template)


def split_list(text: str) -> list[str]:
    """The values of a list var written as for --var: separated by commas, `\\,` is a comma
    inside a value and `\\\\` a backslash (any other backslash is kept as written); the empty
    text is no value."""
    items: list[str] = []
    current: list[str] = []
    i = 0
    while i < len(text):
        char = text[i]
        if char == "\\" and i + 1 < len(text) and text[i + 1] in ",\\":
            current.append(text[i + 1])
            i += 2
            continue
        if char == ",":
            items.append("".join(current))
            current = []
        else:
            current.append(char)
        i += 1
    if text:
        items.append("".join(current))
    return items


def join_list(items: list[str]) -> str:
    """The values as one text that `split_list` reads back exactly (how a list var's value is
    recorded in `var.set` and taken back on resume)."""
    return ",".join(v.replace("\\", "\\\\").replace(",", "\\,") for v in items)
