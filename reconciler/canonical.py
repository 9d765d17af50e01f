"""Canonical forms and content digests: what makes two specs compare equal, and the short hash
of a value that is the same on every machine.

Shared by the package reader (``version: auto`` of a Registration) and the planners (spec
digests, launch plan versions), so it sits below both.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from google.protobuf import json_format
from google.protobuf.message import Message

from reconciler.jsontypes import JSON


def normalized(message: Message) -> dict[str, Any]:
    """A protobuf message as a canonical dict: proto field names, empty values dropped, so that
    a field Admin echoes back empty equals a field never set. (JSON, but ``Any``: its readers
    know the message, hence the shape, and index it directly.)"""
    data = json_format.MessageToDict(message, preserving_proto_field_name=True)
    return pruned(data)


def pruned(data: dict[str, Any]) -> dict[str, Any]:
    """``data`` without empty values, at any depth (what ``normalized`` gives)."""
    kept = _prune(data)
    return kept if isinstance(kept, dict) else {}


def _prune(value: JSON) -> JSON:
    if isinstance(value, dict):
        kept = {k: _prune(v) for k, v in value.items()}
        return {k: v for k, v in kept.items() if v not in ({}, [], None, "", False, 0)}
    if isinstance(value, list):
        return [_prune(v) for v in value]
    return value


def digest(value: object, length: int = 16) -> str:
    """A short content hash, the same on every machine and Python version."""
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:length]


def message_digest(message: Message) -> str:
    return digest(normalized(message))
