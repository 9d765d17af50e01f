"""Admin's list filter grammar, built from values rather than written as strings.

``fn(field,value)`` terms joined by ``+`` (AND only); several values for ``value_in`` and
``value_not_in`` separated by ``;``; fields are columns, optionally prefixed by an entity
(``execution.``, ``launch_plan.``, ...). See ADMIN-SEMANTICS.md, "Listing and filtering".

    eq("phase", "RUNNING") & value_in("execution_tag.key", ["team", "owner"])
    -> "eq(phase,RUNNING)+value_in(execution_tag.key,team;owner)"
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timezone

ENTITIES = ("execution", "launch_plan", "workflow", "task", "execution_tag", "admin_tag", "project")
FUNCTIONS = ("eq", "ne", "gt", "gte", "lt", "lte", "contains", "value_in", "value_not_in")
_FIELD = re.compile(r"(?:(?P<entity>[a-z_]+)\.)?(?P<column>[a-z_][a-z0-9_]*)")
# Admin's parser has no escaping, so these characters cannot appear inside a value.
_RESERVED = set(",()+;")

Value = str | int | bool | datetime | enum.Enum


@dataclass(frozen=True)
class Filters:
    terms: tuple[str, ...] = ()

    def __and__(self, other: Filters) -> Filters:
        return Filters(self.terms + other.terms)

    def __str__(self) -> str:
        return "+".join(self.terms)

    def __bool__(self) -> bool:
        return bool(self.terms)


def _term(function: str, field: str, values: Iterable[Value]) -> Filters:
    match = _FIELD.fullmatch(field)
    if match is None or (match["entity"] and match["entity"] not in ENTITIES):
        raise ValueError(f"invalid filter field {field!r}")
    rendered = [_render(v) for v in values]
    if not rendered:
        raise ValueError(f"{function}({field}) needs at least one value")
    return Filters((f"{function}({field},{';'.join(rendered)})",))


def expressible(value: Value) -> bool:
    """Whether ``value`` can stand in a filter (a name holding ``,`` or ``(`` cannot)."""
    try:
        _render(value)
    except ValueError:
        return False
    return True


def _render(value: Value) -> str:
    if isinstance(value, bool):
        text = "true" if value else "false"
    elif isinstance(value, enum.Enum):
        text = str(value.name)
    elif isinstance(value, datetime):
        aware = value if value.tzinfo else value.replace(tzinfo=timezone.utc)
        text = aware.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    else:
        text = str(value)
    bad = _RESERVED.intersection(text)
    if bad or not text:
        raise ValueError(f"filter value {text!r} cannot be expressed in Admin's filter grammar")
    return text


def eq(field: str, value: Value) -> Filters:
    return _term("eq", field, [value])


def ne(field: str, value: Value) -> Filters:
    return _term("ne", field, [value])


def gt(field: str, value: Value) -> Filters:
    return _term("gt", field, [value])


def gte(field: str, value: Value) -> Filters:
    return _term("gte", field, [value])


def lt(field: str, value: Value) -> Filters:
    return _term("lt", field, [value])


def lte(field: str, value: Value) -> Filters:
    return _term("lte", field, [value])


def contains(field: str, value: Value) -> Filters:
    return _term("contains", field, [value])


def value_in(field: str, values: Iterable[Value]) -> Filters:
    return _term("value_in", field, values)


def value_not_in(field: str, values: Iterable[Value]) -> Filters:
    return _term("value_not_in", field, values)
