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
