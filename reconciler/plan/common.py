"""Helpers shared by the per-kind planners: protobuf normalization, digests, provenance."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from flyteidl.admin import common_pb2
from flyteidl.core import execution_pb2 as core_execution
from google.protobuf import json_format
from google.protobuf.message import Message

from reconciler.diagnostics import Diagnostic, FieldPath
from reconciler.plan.model import SecretInput
from reconciler.shard import Shard

# Labels and annotations the reconciler writes; never shown as user changes.
OWNER_KEY = "reconciler.flyte.org/owner"
COMMIT_KEY = "reconciler.flyte.org/commit"
SPEC_KEY = "reconciler.flyte.org/spec"
PROVENANCE_KEYS = frozenset({OWNER_KEY, COMMIT_KEY, SPEC_KEY})


@dataclass(frozen=True)
class Context:
    """What the planners know besides desired and actual state."""

    owner_id: str | None = None
    commit: str | None = None
    prune: bool = False
    shard: Shard | None = None


@dataclass
class Problems:
    """Plan-time errors, collected like validation errors (every one, not the first)."""

    items: list[Diagnostic] = field(default_factory=list)

    def add(self, diagnostic: Diagnostic) -> None:
        self.items.append(diagnostic)


def normalized(message: Message) -> dict[str, Any]:
    """A protobuf message as a canonical dict: proto field names, empty values dropped, so that
    a field Admin echoes back empty equals a field never set."""
    data = json_format.MessageToDict(message, preserving_proto_field_name=True)
    return pruned(data)


def pruned(data: dict[str, Any]) -> dict[str, Any]:
    """``data`` without empty values, at any depth (what ``normalized`` gives)."""
    kept = _prune(data)
    return kept if isinstance(kept, dict) else {}


def _prune(value: Any) -> Any:
    if isinstance(value, dict):
        kept = {k: _prune(v) for k, v in value.items()}
        return {k: v for k, v in kept.items() if v not in ({}, [], None, "", False, 0)}
    if isinstance(value, list):
        return [_prune(v) for v in value]
    return value


def digest(value: Any, length: int = 16) -> str:
    """A short content hash, the same on every machine and Python version."""
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:length]


def message_digest(message: Message) -> str:
    return digest(normalized(message))


def redact(view: dict[str, Any], secrets: Mapping[FieldPath, str], prefix: FieldPath) -> None:
    """Replace, in a manifest-shaped view, each value that came from ``${env:...}`` by the
    reference as written (in place). ``prefix`` is where the view sits in the manifest."""
    for path, written in secrets.items():
        if path[: len(prefix)] != prefix:
            continue
        target: Any = view
        rest = path[len(prefix) :]
        for part in rest[:-1]:
            if not isinstance(target, dict) or part not in target:
                target = None
                break
            target = target[part]
        if isinstance(target, dict) and rest and rest[-1] in target:
            target[rest[-1]] = written


def mask_values(value: Any, values: Mapping[str, str]) -> Any:
    """``value`` with every string equal to a resolved secret replaced by its reference as
    written: for what comes back from Admin, where a secret may sit at a path that holds none
    in the manifest today."""
    if isinstance(value, str):
        return values.get(value, value)
    if isinstance(value, dict):
        return {k: mask_values(v, values) for k, v in value.items()}
    if isinstance(value, list):
        return [mask_values(v, values) for v in value]
    return value


_PHASES = {
    name: core_execution.WorkflowExecution.Phase.Value(name)
    for name in ("SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED")
}


def notification(manifest_notification: Any) -> common_pb2.Notification:
    """A manifest's ``notifications`` entry as Admin's ``Notification``."""
    out = common_pb2.Notification(phases=[_PHASES[p] for p in manifest_notification.phases])
    if manifest_notification.email:
        out.email.CopyFrom(
            common_pb2.EmailNotification(recipients_email=manifest_notification.email)
        )
    elif manifest_notification.slack:
        out.slack.CopyFrom(
            common_pb2.SlackNotification(recipients_email=manifest_notification.slack)
        )
    elif manifest_notification.pager_duty:
        out.pager_duty.CopyFrom(
            common_pb2.PagerDutyNotification(recipients_email=manifest_notification.pager_duty)
        )
    return out


def secret_inputs(
    secrets: Mapping[FieldPath, str],
    prefix: FieldPath,
    field_name: str,
    types: Mapping[str, Any],
    problems: Problems,
    manifest: Any,
) -> tuple[SecretInput, ...]:
    """The inputs under ``prefix`` (``("spec", "inputs")``) whose whole value is an
    ``${env:...}`` template, to be left out of the plan and resolved by apply."""
    found = []
    for path, template in sorted(secrets.items(), key=lambda item: str(item[0])):
        if path[: len(prefix)] != prefix or len(path) <= len(prefix):
            continue
        name = str(path[len(prefix)])
        if len(path) > len(prefix) + 1:
            problems.add(
                manifest.diagnostic(
                    path,
                    "${env:...} can give a whole input, not a part of a structured one",
                )
            )
            continue
        if name in types:
            literal_type = types[name].SerializeToString(deterministic=True)
            found.append(SecretInput(field_name, name, template, literal_type))
    return tuple(found)


def decoded(literal: Any, literal_type: Any) -> Any:
    """A literal as a plain value for plan output; never fails the plan over display."""
    from reconciler.admin.literals import from_literal
    from reconciler.errors import LiteralError

    try:
        return from_literal(literal, literal_type)
    except LiteralError:
        return "(a value this tool cannot show)"
