"""A change's fields as plans show them, for every output that shows them (the text and
Markdown plans, the status page, ``/api/state``). Plain data in, plain data out: no click, so
that the loop can use it without terminal I/O."""

from __future__ import annotations

import json
from typing import Any

from reconciler.plan.model import Action, Change, FieldDiff, json_default


def field_lines(change: Change) -> tuple[FieldDiff, ...]:
    """The fields a change shows, one line each, as the text plan shows them (the status page
    and ``/api/state`` use this): every field of a new resource, from nothing to its value
    (like terraform, a new resource is shown whole), then the diff."""
    return created_fields(change) + change.diff


def created_fields(change: Change) -> tuple[FieldDiff, ...]:
    if change.action is Action.CREATE and isinstance(change.after, dict):
        return tuple(FieldDiff(path, None, value) for path, value in _flatten(change.after))
    return ()


def _flatten(value: Any, prefix: str = "") -> list[tuple[str, Any]]:
    if isinstance(value, dict) and value:
        out: list[tuple[str, Any]] = []
        for key, item in value.items():
            out.extend(_flatten(item, f"{prefix}.{key}" if prefix else str(key)))
        return out
    if value in ({}, [], None, ""):
        return []
    return [(prefix, value)]


def value_text(value: Any) -> str:
    """A field's value as plans print it: JSON, keys sorted; ``(none)`` for no value."""
    if value is None:
        return "(none)"
    return json.dumps(value, default=json_default, sort_keys=True)
