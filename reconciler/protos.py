"""Walking protobuf messages generically (the code that fills in, canonicalizes or hides parts of
the specs the reconciler builds), across the protobuf releases flyteidl allows."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from google.protobuf.message import Message


def is_repeated(field: Any) -> bool:
    """Whether a field descriptor is a list or map (protobuf 6 added ``is_repeated``, and later
    releases dropped ``label``)."""
    repeated = getattr(field, "is_repeated", None)
    return bool(repeated) if repeated is not None else field.label == field.LABEL_REPEATED


def submessages(message: Message) -> Iterator[Message]:
    """The messages directly inside ``message``: message fields, list items and map values."""
    for field, value in message.ListFields():
        if field.message_type is None:
            continue
        if is_repeated(field):
            items = value.values() if field.message_type.GetOptions().map_entry else value
            yield from (item for item in items if isinstance(item, Message))
        else:
            yield value
