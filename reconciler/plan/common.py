"""Helpers shared by the per-kind planners: provenance, secret inputs.

The canonical forms and digests live in ``reconciler.canonical`` (the package reader needs them
too) and are re-exported here."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from flyteidl.admin import common_pb2
from flyteidl.core import execution_pb2 as core_execution
from flyteidl.core import literals_pb2, types_pb2

from reconciler.canonical import digest, message_digest, normalized, pruned
from reconciler.diagnostics import Diagnostic, FieldPath
from reconciler.errors import LiteralError
from reconciler.manifests.fields import Notification
from reconciler.manifests.manifest import Manifest
from reconciler.plan.model import SecretInput
from reconciler.shard import Shard

__all__ = [
    "BACKFILL_KEY",
    "COMMIT_KEY",
    "OWNER_KEY",
    "PROVENANCE_KEYS",
    "SPEC_KEY",
    "Context",
    "Problems",
    "decoded",
    "digest",
    "message_digest",
    "normalized",
    "notification",
    "pruned",
    "secret_inputs",
]

# Labels and annotations the reconciler writes; never shown as user changes.
OWNER_KEY = "reconciler.flyte.org/owner"
COMMIT_KEY = "reconciler.flyte.org/commit"
SPEC_KEY = "reconciler.flyte.org/spec"
PROVENANCE_KEYS = frozenset({OWNER_KEY, COMMIT_KEY, SPEC_KEY})
BACKFILL_KEY = "reconciler.flyte.org/backfill"
"""The label on a backfill's runs: the Backfill manifest's name."""


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

    def literals(self, manifest: Manifest, error: LiteralError) -> None:
        """Each value of ``manifest`` that does not fit its type, on the field that holds it."""
        for problem in error.problems:
            self.add(manifest.diagnostic(problem.path, problem.message))


_PHASES = {
    name: core_execution.WorkflowExecution.Phase.Value(name)
    for name in ("SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED")
}


def notification(manifest_notification: Notification) -> common_pb2.Notification:
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
    types: Mapping[str, types_pb2.LiteralType],
    problems: Problems,
    manifest: Manifest,
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


def decoded(literal: literals_pb2.Literal, literal_type: types_pb2.LiteralType | None) -> Any:
    """A literal as a plain value for plan output; never fails the plan over display."""
    from reconciler.admin.literals import from_literal

    try:
        return from_literal(literal, literal_type)
    except LiteralError:
        return "(a value this tool cannot show)"
