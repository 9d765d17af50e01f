"""Keep resolved ``${env:...}`` values out of the requests a plan carries.

A plan is printed and saved (``plan --out``), so the requests in it must hold no secret. Inputs
are typed literals and are left out whole (``SecretInput`` with the input's type, see
``common.secret_inputs``). Every other string a reference produced (an env var, a label, an
annotation, ...) is found in the built request by its value and replaced by the text as written
in git; the operation records where, and apply substitutes the environment again
(``apply.run.decode``). Replacing by value is safe even when another field happens to hold the
same text: apply writes that same value back.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from typing import Any

from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.message import Message

from reconciler.diagnostics import FieldPath
from reconciler.plan.model import SecretInput
from reconciler.protos import is_repeated

TEXT = "text"
"""``SecretInput.field`` of a string somewhere in the request; its ``name`` is the JSON of the
path to it (field names, list indexes, and ``["key", K]`` for map keys)."""

# The walks below go through protobuf messages and their containers, which are untyped here (no
# protobuf stubs), and through paths of field names, indexes and map keys: Any, honestly.
ProtoPath = tuple[Any, ...]


def secret_values(data: object, secrets: Mapping[FieldPath, str]) -> dict[str, str]:
    """Resolved value -> the text as written, for each path of the resolved manifest ``data``
    that held a reference. Empty values are left out (they can reveal nothing)."""
    found: dict[str, str] = {}
    for path, written in secrets.items():
        value = data
        for part in path:
            if isinstance(value, dict) and part in value:
                value = value[part]
                continue
            if isinstance(value, list) and isinstance(part, int) and part < len(value):
                value = value[part]
                continue
            value = None
            break
        if isinstance(value, str) and value:
            found[value] = written
    return found


def hide_text(
    message: Message, values: Mapping[str, str], under: ProtoPath = ()
) -> tuple[SecretInput, ...]:
    """Replace, in place, every string field of ``message`` equal to a resolved secret by the
    text as written, and say where (for apply to substitute again). ``under`` is where
    ``message`` sits in the request apply sends (``("spec",)`` for a launch plan's spec)."""
    if not values:
        return ()
    hidden = []
    for path, holder, key, text in list(_strings(message, tuple(under))):
        written = values.get(text)
        if written is None:
            continue
        _assign(holder, key, written)
        hidden.append(SecretInput(TEXT, json.dumps(list(path)), written, b""))
    return tuple(hidden)


def reveal_text(message: Message, secret: SecretInput, value: str, under: ProtoPath = ()) -> None:
    """Put ``value`` back where ``hide_text`` left the reference (``message`` sitting at
    ``under`` in the request)."""
    path = _within(secret, under)
    holder: Any = message
    for step in path[:-1]:
        holder = _step(holder, step)
    last = path[-1]
    _assign(holder, last[1] if isinstance(last, list) else last, value)


def read_text(message: Message, secret: SecretInput, under: ProtoPath = ()) -> str | None:
    """The string at the place ``secret`` names in ``message``, None where there is none."""
    holder: Any = message
    try:
        for step in _within(secret, under):
            holder = _step(holder, step)
    except (KeyError, IndexError, AttributeError, TypeError):
        return None
    return holder if isinstance(holder, str) else None


def _within(secret: SecretInput, under: ProtoPath) -> list[Any]:
    path = json.loads(secret.name)
    if path[: len(under)] != list(under):
        raise KeyError(f"{secret.name} is not under {under}")
    return list(path[len(under) :])


def _step(holder: Any, step: Any) -> Any:
    if isinstance(step, list):  # ["key", K]: a map entry
        return holder[step[1]]
    if isinstance(step, int):
        return holder[step]
    return getattr(holder, step)


def _assign(holder: Any, key: Any, value: str) -> None:
    if isinstance(holder, Message):
        setattr(holder, key, value)
    else:  # a repeated string field or a map of strings
        holder[key] = value


def _strings(message: Message, path: ProtoPath) -> Iterator[tuple[ProtoPath, Any, Any, str]]:
    """(path, holder, key in holder, value) for every string in ``message``."""
    for descriptor, value in message.ListFields():
        name = descriptor.name
        here = (*path, name)
        is_map = (
            descriptor.type == FieldDescriptor.TYPE_MESSAGE
            and descriptor.message_type.GetOptions().map_entry
        )
        if is_map:
            value_field = descriptor.message_type.fields_by_name["value"]
            for map_key in sorted(value):
                if value_field.type == FieldDescriptor.TYPE_MESSAGE:
                    yield from _strings(value[map_key], (*here, ["key", map_key]))
                elif value_field.type == FieldDescriptor.TYPE_STRING:
                    yield (*here, ["key", map_key]), value, map_key, value[map_key]
        elif is_repeated(descriptor):
            for index, item in enumerate(value):
                if descriptor.type == FieldDescriptor.TYPE_MESSAGE:
                    yield from _strings(item, (*here, index))
                elif descriptor.type == FieldDescriptor.TYPE_STRING:
                    yield (*here, index), value, index, item
        elif descriptor.type == FieldDescriptor.TYPE_MESSAGE:
            yield from _strings(value, here)
        elif descriptor.type == FieldDescriptor.TYPE_STRING:
            yield here, message, name, value
