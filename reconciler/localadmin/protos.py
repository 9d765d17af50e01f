"""Small protobuf helpers shared by the local Admin's modules."""

from __future__ import annotations

import hashlib
import sqlite3
from typing import TypeVar, cast

from flyteidl.admin import execution_pb2, node_execution_pb2, task_execution_pb2
from flyteidl.core import identifier_pb2, literals_pb2
from google.protobuf import duration_pb2, timestamp_pb2
from google.protobuf.json_format import MessageToDict
from google.protobuf.message import Message

M = TypeVar("M", bound=Message)
D = TypeVar(
    "D",
    execution_pb2.WorkflowExecutionGetDataResponse,
    node_execution_pb2.NodeExecutionGetDataResponse,
    task_execution_pb2.TaskExecutionGetDataResponse,
)


def timestamp(seconds: float) -> timestamp_pb2.Timestamp:
    ts = timestamp_pb2.Timestamp()
    ts.FromNanoseconds(round(seconds * 1e9))
    return ts


def duration(seconds: float) -> duration_pb2.Duration:
    value = duration_pb2.Duration()
    value.FromNanoseconds(round(max(seconds, 0.0) * 1e9))
    return value


def parse(cls: type[M], data: bytes) -> M:
    message = cls()
    message.ParseFromString(data)
    return cast(M, message)


def digest(message: Message) -> str:
    """Stable identity of a spec, like Admin's digests (impl/util/digests.go)."""
    return hashlib.sha256(message.SerializeToString(deterministic=True)).hexdigest()


def as_dict(message: Message) -> dict[str, object]:
    result: dict[str, object] = MessageToDict(message, preserving_proto_field_name=True)
    return result


def json_diff(old: Message, new: Message) -> list[str]:
    """Path-by-path differences, shaped like the diff Admin appends to its conflict errors."""
    lines: list[str] = []
    _diff(as_dict(old), as_dict(new), "", lines)
    return lines


def _diff(old: object, new: object, path: str, lines: list[str]) -> None:
    if isinstance(old, dict) and isinstance(new, dict):
        for key in sorted(set(old) | set(new)):
            _diff(old.get(key), new.get(key), f"{path}/{key}", lines)
    elif isinstance(old, list) and isinstance(new, list) and len(old) == len(new):
        for index, (a, b) in enumerate(zip(old, new, strict=True)):
            _diff(a, b, f"{path}/{index}", lines)
    elif old != new:
        lines.append(f"{path}:\n\t- {old} \n\t+ {new}")


def id_text(identifier: identifier_pb2.Identifier) -> str:
    kind = identifier_pb2.ResourceType.Name(identifier.resource_type)
    return (
        f"resource_type:{kind} project:{identifier.project!r} domain:{identifier.domain!r} "
        f"name:{identifier.name!r} version:{identifier.version!r}"
    )


def missing(entity: str, identifier_text: str) -> str:
    """Admin's NOT_FOUND wording (repositories/errors/errors.go)."""
    return f"missing entity of type {entity} with identifier {identifier_text}"


def execution_text(identifier: identifier_pb2.WorkflowExecutionIdentifier) -> str:
    return f"{identifier.project}/{identifier.domain}/{identifier.name}"


def data_response(response_type: type[D], row: sqlite3.Row) -> D:
    """What ``Get*Data`` answers for a stored run, node or task attempt: its inputs, and its
    outputs once it has some (a row's ``inputs`` and ``outputs`` columns)."""
    response = response_type(full_inputs=parse(literals_pb2.LiteralMap, row["inputs"]))
    if row["outputs"] is not None:
        response.full_outputs.CopyFrom(parse(literals_pb2.LiteralMap, row["outputs"]))
    return response
