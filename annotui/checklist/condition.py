"""`when = '...'` conditions: a small expression language, parsed by hand, never `eval`.

    when = 'environment == "prod" and release not in ["v0.9", "v1.0"]'
    when = 'not (mode == "dry" or count != 3)'

Operands are string literals ('...' or "...", backslash escapes the quote and itself), integer
literals, lists of literals in brackets, names (vars and captured values) and parenthesised
expressions; operators are `==`, `!=`, `in`, `not in`, `and`, `or` and `not`, in that order of
precedence from the comparisons down. Values are strings: a comparison with an integer literal
compares the value as a whole number. `x in [...]` is membership, `x in name` membership in a
list var (a list of strings) or a substring of a string value. A list in brackets can only be
the right side of `in` or `not in`. A name alone is true when its value is not empty.

A value may be unknown (a value captured from a step a rehearsal only simulated): the result is
then unknown (None) unless the known part decides it (`false and ?` is false).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

MAX_DEPTH = 32
"""Parentheses and `not`s nested in one condition."""
MAX_OPERATORS = 64
"""`and`, `or` and comparisons in one condition (each nests the expression a level deeper)."""

_TOKEN = re.compile(
    r"""(?P<space>\s+)|(?P<string>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')|(?P<int>-?[0-9]+)"""
    r"""|(?P<op>==|!=|\(|\)|\[|\]|,)|(?P<name>[A-Za-z_][A-Za-z0-9_-]*)"""
)
KEYWORDS = {"and", "or", "not", "in"}


class ConditionError(ValueError):
    """A condition that does not parse, with the character offset of the problem."""

    def __init__(self, message: str, offset: int) -> None:
        super().__init__(message)
        self.message = message
        self.offset = offset


@dataclass(frozen=True, slots=True)
class Token:
    kind: str
    """'string', 'int', 'op', 'name', 'keyword' or 'end'."""
    text: str
    offset: int


Expr = tuple[Any, ...]
"""('lit', value) | ('name', name, offset) | ('list', [Expr], offset) | ('not', Expr) |
(op, Expr, Expr) for op in 'or', 'and', '==', '!=', 'in', 'not in'."""


def _tokens(text: str) -> list[Token]:
    out = []
    pos = 0
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None:
            ch = text[pos]
            if ch in "\"'":
                raise ConditionError("unterminated string in condition", pos)
            if ch in "=!<>":
                msg = f"{ch!r} is not an operator here: compare with == or !="
                raise ConditionError(msg, pos)
            raise ConditionError(f"unexpected character {ch!r} in condition", pos)
        kind = m.lastgroup or ""
        if kind != "space":
            word = m.group(0)
            if kind == "name" and word in KEYWORDS:
                kind = "keyword"
            out.append(Token(kind, word, pos))
        pos = m.end()
    out.append(Token("end", "", len(text)))
    return out


def _unquote(literal: str) -> str:
    return re.sub(r"\\(.)", r"\1", literal[1:-1])


class _Parser:
    def __init__(self, text: str) -> None:
        self.tokens = _tokens(text)
        self.i = 0
        self.depth = 0
        self.operators = 0

    @property
    def tok(self) -> Token:
        return self.tokens[self.i]

    def take(self, kind: str, text: str | None = None) -> Token | None:
        tok = self.tok
        if tok.kind == kind and (text is None or tok.text == text):
            self.i += 1
            return tok
        return None

    def expect(self, kind: str, text: str, what: str) -> None:
        if self.take(kind, text) is None:
            raise ConditionError(
                f"expected {what} in condition, found {self._found()}", self.tok.offset
            )

    def _found(self) -> str:
        return "the end" if self.tok.kind == "end" else repr(self.tok.text)

    def _count(self, offset: int) -> None:
        self.operators += 1
        if self.operators > MAX_OPERATORS:
            msg = f"condition has more than {MAX_OPERATORS} operators: split it, or use a list"
            raise ConditionError(msg, offset)

    def _nest(self, offset: int) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise ConditionError(f"condition nested more than {MAX_DEPTH} deep", offset)

    def parse(self) -> Expr:
        expr = self.or_()
        if self.tok.kind != "end":
            raise ConditionError(
                f"unexpected {self._found()} in condition: expected and, or, or the end",
                self.tok.offset,
            )
        return expr

    def or_(self) -> Expr:
        left = self.and_()
        while (tok := self.take("keyword", "or")) is not None:
            self._count(tok.offset)
            left = ("or", left, self.and_())
        return left

    def and_(self) -> Expr:
        left = self.not_()
        while (tok := self.take("keyword", "and")) is not None:
            self._count(tok.offset)
            left = ("and", left, self.not_())
        return left

    def not_(self) -> Expr:
        tok = self.tok
        if self.take("keyword", "not"):
            self._nest(tok.offset)
            inner = self.not_()
            self.depth -= 1
            return ("not", inner)
        return self.comparison()

    def comparison(self) -> Expr:
        left = self.operand()
        if self.tok.kind in ("keyword", "op") and self.tok.text in ("in", "not", "==", "!="):
            self._count(self.tok.offset)
        if self.take("keyword", "in"):
            return ("in", _single(left), self.operand())
        if self.tok.kind == "keyword" and self.tok.text == "not":
            self.i += 1
            self.expect("keyword", "in", "'in' after 'not'")
            return ("not in", _single(left), self.operand())
        for op in ("==", "!="):
            if self.take("op", op):
                return (op, _single(left), _single(self.operand()))
        return _single(left)

    def operand(self) -> Expr:
        tok = self.tok
        if self.take("string"):
            return ("lit", _unquote(tok.text))
        if self.take("int"):
            return ("lit", int(tok.text))
        if self.take("name"):
            return ("name", tok.text, tok.offset)
        if self.take("op", "("):
            self._nest(tok.offset)
            inner = self.or_()
            self.expect("op", ")", "')'")
            self.depth -= 1
            return inner
        if self.take("op", "["):
            items: list[Expr] = []
            if not self.take("op", "]"):
                while True:
                    item = self.tok
                    if not (self.take("string") or self.take("int")):
                        raise ConditionError(
                            f"expected a string or integer in the list, found {self._found()}",
                            item.offset,
                        )
                    items.append(
                        ("lit", _unquote(item.text) if item.kind == "string" else int(item.text))
                    )
                    if self.take("op", "]"):
                        break
                    self.expect("op", ",", "',' or ']'")
            return ("list", items, tok.offset)
        raise ConditionError(
            f"expected a name, a string, an integer, '(' or '[' in condition, found "
            f"{self._found()}",
            tok.offset,
        )


def _single(expr: Expr) -> Expr:
    """The operand, unless it is a list in brackets outside the right side of `in`."""
    if expr[0] == "list":
        raise ConditionError(
            "a list [...] can only follow 'in' or 'not in' in condition (x in [\"a\", \"b\"])",
            expr[2],
        )
    return expr


def parse(text: str) -> Expr:
    """The condition's expression; raises ConditionError (with the offset) when it is not one."""
    if not text.strip():
        raise ConditionError("empty condition", 0)
    return _Parser(text).parse()


def names(expr: Expr) -> Iterator[tuple[str, int]]:
    """(name, offset) of every name the condition uses."""
    for name, offset, _ in uses(expr):
        yield name, offset


def uses(expr: Expr) -> Iterator[tuple[str, int, bool]]:
    """(name, offset, searched) of every name the condition uses; searched: the name is the
    right side of `in` or `not in` (a list var, or a string searched for a substring)."""
    kind = expr[0]
    if kind == "name":
        yield expr[1], expr[2], False
    elif kind in ("in", "not in") and expr[2][0] == "name":
        yield from uses(expr[1])
        yield expr[2][1], expr[2][2], True
    elif kind not in ("list", "lit"):
        for part in expr[1:]:
            yield from uses(part)


UNKNOWN = object()
"""A value that is not known yet (captured from a simulated step)."""


def _equal(a: Any, b: Any) -> bool:
    if isinstance(a, int) and isinstance(b, str):
        a, b = b, a
    if isinstance(a, str) and isinstance(b, int) and not isinstance(b, bool):
        return bool(re.fullmatch(r"\s*-?[0-9]+\s*", a)) and int(a) == b
    return bool(type(a) is type(b) and a == b)


def _value(expr: Expr, values: Mapping[str, Any]) -> Any:
    kind = expr[0]
    if kind == "lit":
        return expr[1]
    if kind == "name":
        return values[expr[1]]
    if kind == "list":
        return [item[1] for item in expr[1]]
    return evaluate(expr, values)


def _truth(value: Any) -> bool | None:
    if value is UNKNOWN or value is None:
        return None
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return value != 0
    return len(value) > 0


def evaluate(expr: Expr, values: Mapping[str, Any]) -> bool | None:
    """True or False; None when it depends on an unknown value. Every name must be in values
    (a string, a list of strings, or UNKNOWN)."""
    kind = expr[0]
    if kind in ("or", "and"):
        left = _truth(_value(expr[1], values))
        decided = kind == "or"
        if left is decided:
            return decided
        right = _truth(_value(expr[2], values))
        if right is decided:
            return decided
        return None if left is None or right is None else not decided
    if kind == "not":
        inner = _truth(_value(expr[1], values))
        return None if inner is None else not inner
    if kind in ("==", "!=", "in", "not in"):
        a, b = _value(expr[1], values), _value(expr[2], values)
        if a is UNKNOWN or b is UNKNOWN or a is None or b is None:
            return None
        if kind in ("==", "!="):
            return _equal(a, b) is (kind in ("==",))
        if isinstance(b, list):
            found = any(_equal(a, item) for item in b)
        elif isinstance(b, str) and isinstance(a, str | int) and not isinstance(a, bool):
            found = str(a) in b
        else:
            found = False
        return found is (kind in ("in",))
    return _truth(_value(expr, values))
