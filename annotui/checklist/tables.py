"""A validated checklist as light, read-only tables: what the engine, the status panel and the
screens work with.

The pydantic models (:mod:`annotui.checklist.models`) define and validate the language. A run does
not need them once a file is known to be valid: importing pydantic and building the models costs
more than running twenty local steps. So the loader turns every validated model into
:class:`Table` objects, which have exactly the attributes and defaults of their models (a test
holds them to it), and :mod:`annotui.checklist.cache` keeps them by the file's bytes. Code that
uses a table is annotated with the model it mirrors; dispatch on a step's ``kind``, never on
``isinstance``.
"""

from __future__ import annotations

from typing import Any, TypeVar, cast

T = TypeVar("T")


class Table:
    """One validated table of a checklist (the checklist, a var, a stage, a step, an expect...)."""

    def __init__(self, fields: dict[str, Any]) -> None:
        object.__setattr__(self, "__dict__", fields)

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"a checklist table is read-only (setting {name!r})")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"a checklist table is read-only (deleting {name!r})")

    def __eq__(self, other: object) -> bool:
        return type(other) is Table and self.__dict__ == other.__dict__

    __hash__ = None  # type: ignore[assignment]  # tables may hold lists

    def __repr__(self) -> str:
        return "Table(" + ", ".join(f"{k}={v!r}" for k, v in self.__dict__.items()) + ")"

    def replace(self, **changes: Any) -> Table:
        """A copy with some fields changed (a table is never modified in place)."""
        unknown = changes.keys() - self.__dict__.keys()
        if unknown:
            raise TypeError(f"no such field: {', '.join(sorted(unknown))}")
        return Table({**self.__dict__, **changes})

    def fields(self, exclude_none: bool = False) -> dict[str, Any]:
        """The fields in declaration order (without the ones that are None, if asked)."""
        if exclude_none:
            return {k: v for k, v in self.__dict__.items() if v is not None}
        return dict(self.__dict__)


def replace(table: T, **changes: Any) -> T:
    """A copy of a table (typed as the model it mirrors) with some fields changed."""
    return cast(T, Table.replace(cast(Table, table), **changes))


def fields(table: object, exclude_none: bool = False) -> dict[str, Any]:
    """A table's fields in declaration order (without the ones that are None, if asked)."""
    return Table.fields(cast(Table, table), exclude_none)


def is_mutating(step: Any) -> bool:
    """Whether a step (its model or its table) changes the target: simulated in rehearsal."""
    if step.kind in ("command", "ansible", "http"):
        return bool(step.changes)
    return bool(step.kind == "supervisor")


def from_model(value: Any) -> Any:
    """A validated pydantic model (and everything in it) as tables, lists, dicts and scalars."""
    model_fields = getattr(type(value), "model_fields", None)
    if model_fields is not None:
        return Table({name: from_model(getattr(value, name)) for name in model_fields})
    if isinstance(value, list):
        return [from_model(v) for v in value]
    if isinstance(value, dict):
        return {k: from_model(v) for k, v in value.items()}
    return value


def encode(value: Any) -> Any:
    """JSON-ready form. Every dict becomes a one-key wrapper, {"t": ...} for a table and
    {"m": ...} for a mapping, so no key an author writes can be mistaken for either."""
    if isinstance(value, Table):
        return {"t": {k: encode(v) for k, v in value.__dict__.items()}}
    if isinstance(value, dict):
        return {"m": {k: encode(v) for k, v in value.items()}}
    if isinstance(value, list):
        return [encode(v) for v in value]
    return value


def decode(value: Any) -> Any:
    """The inverse of :func:`encode`; raises ValueError on anything it did not write."""
    if isinstance(value, dict):
        if len(value) != 1:
            raise ValueError("not an encoded checklist table")
        ((tag, inner),) = value.items()
        if tag not in ("t", "m") or not isinstance(inner, dict):
            raise ValueError("not an encoded checklist table")
        items = {k: decode(v) for k, v in inner.items()}
        return Table(items) if tag == "t" else items
    if isinstance(value, list):
        return [decode(v) for v in value]
    return value
