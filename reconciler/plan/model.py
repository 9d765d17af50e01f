"""The plan as data: what each resource needs, why, and what apply must send.

A plan is a pure value: ``make_plan`` builds it without I/O, renderers print it, ``apply``
consumes it and nothing else (STYLE.md 1-2). Display-only fields (``reason``, ``before``,
``after``, ``diff``, ``summary``) never steer apply: only ``operations`` do.

JSON format version 1 (``to_json``/``from_json``; ``plan -o json`` prints it, ``plan --out``
saves it)::

    {"format_version": 1,
     "source": {"repo": "/src/manifests-repo", "commit": "<40 hex>", "ref": "v3", "dirty": false},
     "changes": [{"address": "LaunchPlan/flytesnacks/production/daily_report",
                  "action": "create", "before": null, "after": {...},
                  "diff": [{"path": "spec.schedule.cron", "before": ..., "after": ...}],
                  "reason": "...",
                  "operations": [{"call": "CreateLaunchPlan", "request": "<base64 protobuf>"}],
                  "observed": {"launch_plans": [[project, domain, name]], "digest": "..."}}],
     "summary": {"noop": 3, "create": 1, ...}}

``source`` is null when the manifests are not in a git repository (see ``Source``).

Payloads (the bytes an upload sends: a Registration's code tarball, a local file given as an
input) are in the saved plan only, so that ``apply --plan`` reads nothing but the plan
(STYLE.md 2). Every other output shows an operation's payload as its size and MD5
(``payload_bytes``, ``payload_md5``; saved plans carry them too): a 60 MB input must not land in
a CI log as base64, and DESIGN.md promises that plans show a file's path and digest, never its
content. A plan without the payloads its operations declare (a printed one) is refused by
``from_json``, before anything is applied.

What ``before`` and ``after`` mean per action (Terraform documents the same per action):

- ``create``: before null; after the resource as it will be created.
- ``update`` / ``deactivate`` / ``terminate`` / ``set``: before the current state; after the
  state apply leaves.
- ``delete`` (attributes pruned): before what Admin has; after null.
- ``recover`` / ``relaunch``: before the failed run; after the run apply starts.
- ``noop``: before and after are the same current state.
- ``conflict``: before what Admin has; after what git asks for; apply refuses it.
- ``wait``: before what Admin has (possibly null); after what git asks for once possible.
"""

from __future__ import annotations

import base64
import enum
import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, cast

from reconciler.manifests.source import Source
from reconciler.read import Observed

FORMAT_VERSION = 1


class Action(enum.Enum):
    NOOP = "noop"
    CREATE = "create"
    UPDATE = "update"
    DEACTIVATE = "deactivate"
    DELETE = "delete"
    TERMINATE = "terminate"
    RECOVER = "recover"
    RELAUNCH = "relaunch"
    SET = "set"
    WAIT = "wait"
    CONFLICT = "conflict"

    @property
    def marker(self) -> str:
        """The text renderer's column: ``+`` create, ``~`` change, ``-`` deactivate or
        terminate, ``!`` conflict, ``?`` waiting (DESIGN.md, "Plan output")."""
        return _MARKERS[self]

    @property
    def writes(self) -> bool:
        """Whether apply changes Admin for this action."""
        return self not in (Action.NOOP, Action.WAIT, Action.CONFLICT)

    @property
    def is_change(self) -> bool:
        """Whether this action makes a plan non-empty (``--detailed-exitcode`` 2, or 3 for a
        conflict): something apply would do, or refuse. Waiting is not: nothing can be done
        about it now."""
        return self not in (Action.NOOP, Action.WAIT)


_MARKERS = {
    Action.NOOP: " ",
    Action.CREATE: "+",
    Action.RECOVER: "+",
    Action.RELAUNCH: "+",
    Action.UPDATE: "~",
    Action.SET: "~",
    Action.DEACTIVATE: "-",
    Action.DELETE: "-",
    Action.TERMINATE: "-",
    Action.CONFLICT: "!",
    Action.WAIT: "?",
}


@dataclass(frozen=True)
class FieldDiff:
    """One field that differs: ``path`` in manifest terms (``spec.schedule.cron``)."""

    path: str
    before: Any
    after: Any

    def to_json(self) -> dict[str, Any]:
        return {"path": self.path, "before": self.before, "after": self.after}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> FieldDiff:
        return cls(str(data["path"]), data.get("before"), data.get("after"))


@dataclass(frozen=True)
class SecretInput:
    """An input whose value comes from ``${env:...}``: the request holds no value for it; apply
    resolves ``template`` from its own environment and encodes it with ``literal_type`` (a
    serialized ``LiteralType``). So no plan, printed or saved, ever holds a secret."""

    field: str  # "inputs" (CreateExecution), "defaultInputs" or "fixedInputs" (CreateLaunchPlan)
    name: str
    template: str
    literal_type: bytes

    def to_json(self) -> dict[str, Any]:
        return {
            "field": self.field,
            "name": self.name,
            "template": self.template,
            "literal_type": base64.b64encode(self.literal_type).decode("ascii"),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> SecretInput:
        return cls(
            str(data["field"]),
            str(data["name"]),
            str(data["template"]),
            base64.b64decode(str(data["literal_type"]), validate=True),
        )


@dataclass(frozen=True)
class Operation:
    """One call apply makes, with the exact request (a serialized protobuf message), less the
    values of ``secrets``."""

    call: str
    request: bytes
    secrets: tuple[SecretInput, ...] = ()
    payload: bytes = b""
    """Bytes the call sends besides the request (the content ``UploadPackage`` uploads)."""

    def to_json(self, *, payloads: bool = False) -> dict[str, Any]:
        """The operation as plans write it; the payload's bytes only with ``payloads`` (the
        saved plan), its size and MD5 always (see the module docstring)."""
        data: dict[str, Any] = {
            "call": self.call,
            "request": base64.b64encode(self.request).decode("ascii"),
        }
        if self.secrets:
            data["secrets"] = [s.to_json() for s in self.secrets]
        if self.payload:
            data["payload_bytes"] = len(self.payload)
            data["payload_md5"] = _md5(self.payload)
            if payloads:
                data["payload"] = base64.b64encode(self.payload).decode("ascii")
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Operation:
        payload = base64.b64decode(str(data.get("payload", "")), validate=True)
        size = data.get("payload_bytes")
        if size and not payload:
            raise ValueError(
                f"it holds no content for its {data['call']} operations (plan -o json prints "
                "plans without file content); save plans with --out to apply them"
            )
        if size is not None and (size != len(payload) or data.get("payload_md5") != _md5(payload)):
            raise ValueError(
                f"the content of a {data['call']} operation does not match its size and MD5"
            )
        return cls(
            str(data["call"]),
            base64.b64decode(str(data["request"]), validate=True),
            tuple(SecretInput.from_json(s) for s in data.get("secrets", ())),
            payload,
        )


def _md5(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()  # DataProxy's content address, not security


@dataclass(frozen=True)
class Change:
    address: str
    action: Action
    before: Any = None
    after: Any = None
    diff: tuple[FieldDiff, ...] = ()
    reason: str = ""
    operations: tuple[Operation, ...] = ()
    observed: Observed = field(default_factory=Observed)
    """What Admin state the change was planned against: the keys read and their digest, so
    that ``apply --plan`` can read them again and refuse a stale plan."""

    def to_json(self, *, payloads: bool = False) -> dict[str, Any]:
        return {
            "address": self.address,
            "action": self.action.value,
            "before": self.before,
            "after": self.after,
            "diff": [d.to_json() for d in self.diff],
            "reason": self.reason,
            "operations": [o.to_json(payloads=payloads) for o in self.operations],
            "observed": dict(self.observed),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Change:
        return cls(
            address=str(data["address"]),
            action=Action(data["action"]),
            before=data.get("before"),
            after=data.get("after"),
            diff=tuple(FieldDiff.from_json(d) for d in data.get("diff", ())),
            reason=str(data.get("reason", "")),
            operations=tuple(Operation.from_json(o) for o in data.get("operations", ())),
            # a plan file holds what to_json wrote; the kinds read its keys with str()
            observed=cast(Observed, dict(data.get("observed") or {})),
        )


@dataclass(frozen=True)
class Plan:
    changes: tuple[Change, ...] = ()
    metadata: Mapping[str, Any] = field(default_factory=dict)
    source: Source | None = None

    @classmethod
    def of(cls, changes: Iterable[Change], **metadata: Any) -> Plan:
        ordered = sorted(changes, key=lambda c: c.address)
        addresses = [c.address for c in ordered]
        if len(set(addresses)) != len(addresses):
            raise ValueError("a plan holds one change per address")
        return cls(tuple(ordered), metadata)

    @property
    def summary(self) -> dict[str, int]:
        counts = {action.value: 0 for action in Action}
        for change in self.changes:
            counts[change.action.value] += 1
        return counts

    @property
    def has_changes(self) -> bool:
        return any(c.action.is_change for c in self.changes)

    @property
    def conflicts(self) -> Sequence[Change]:
        return [c for c in self.changes if c.action is Action.CONFLICT]

    def to_json(self, *, payloads: bool = False) -> dict[str, Any]:
        """The plan as JSON: as printed, or with ``payloads`` as saved for ``apply --plan``."""
        return {
            "format_version": FORMAT_VERSION,
            "source": self.source.to_json() if self.source is not None else None,
            "changes": [c.to_json(payloads=payloads) for c in self.changes],
            "summary": self.summary,
            **({"metadata": dict(self.metadata)} if self.metadata else {}),
        }

    def dumps(self, *, payloads: bool = False) -> str:
        data = self.to_json(payloads=payloads)
        return json.dumps(data, indent=2, sort_keys=False, default=json_default) + "\n"

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Plan:
        version = data.get("format_version")
        if version != FORMAT_VERSION:
            raise ValueError(
                f"plan format_version {version!r} is not supported (this reconciler reads "
                f"{FORMAT_VERSION})"
            )
        changes = tuple(Change.from_json(c) for c in data.get("changes", ()))
        source = data.get("source")  # absent in plans saved before sources were recorded
        return cls(
            changes,
            dict(data.get("metadata", {})),
            Source.from_json(source) if source is not None else None,
        )


def json_default(value: Any) -> str:
    """Timestamps as ISO 8601 with ``Z``, like the manifests write them."""
    if isinstance(value, datetime):
        return value.isoformat().replace("+00:00", "Z")
    return str(value)
