"""What a pass found, as data: one status per resource, the pass's outcome, and the JSON that
``/api/state``, the state file and the log lines are made of.

A resource's status comes from its plan action and, when the pass applied, from the result:

    noop -> synced      wait -> waiting      conflict -> conflict
    create, update, deactivate, terminate, recover, relaunch, set -> drifted
                                                 (failed when applying it failed)

A drifted resource that the pass applied is still ``drifted`` for that pass (with ``healed``);
the next pass sees it ``synced``. A pass's result is ``error`` when it could not plan,
``failed`` when an apply failed, ``drifted`` when something is left out of sync, ``synced``
otherwise. Everything here comes from the plan, which holds ``${env:...}`` references rather
than their values, so no secret reaches it.

Besides the last pass and the recent ones, the state keeps two milestones that outlive the
history: ``last_applied``, the last pass that applied changes (the commit Admin was last moved
to), and ``last_synced``, the last pass after which Admin matched git (its commit).
"""

from __future__ import annotations

import enum
import json
import os
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from reconciler.admin.console import resource_url
from reconciler.apply.run import Result
from reconciler.manifests.address import Address
from reconciler.plan.model import Action, Change, json_default
from reconciler.render.fields import field_lines

STATE_FORMAT_VERSION = 1
HISTORY = 50


class Status(enum.Enum):
    SYNCED = "synced"
    DRIFTED = "drifted"
    CONFLICT = "conflict"
    WAITING = "waiting"
    FAILED = "failed"


class PassResult(enum.Enum):
    SYNCED = "synced"  # nothing left to do (after applying, with --self-heal)
    DRIFTED = "drifted"  # something left out of sync: report only, a closed window, conflicts
    FAILED = "failed"  # applying a change failed
    ERROR = "error"  # the pass could not plan (source, manifests, Admin)

    @property
    def succeeded(self) -> bool:
        """Whether the pass did its job (``/readyz``, the last success timestamp)."""
        return self in (PassResult.SYNCED, PassResult.DRIFTED)


def status_of(change: Change, result: Result | None) -> Status:
    if change.action is Action.NOOP:
        return Status.SYNCED
    if change.action is Action.WAIT:
        return Status.WAITING
    if change.action is Action.CONFLICT:
        return Status.CONFLICT
    if result is not None and result.started and not result.ok:
        return Status.FAILED
    return Status.DRIFTED


@dataclass(frozen=True)
class ResourceState:
    address: str
    status: Status
    action: Action
    reason: str = ""
    diff: tuple[Mapping[str, Any], ...] = ()  # the field lines plan prints (a create: all)
    console_url: str | None = None
    healed: bool = False  # applied by this pass
    message: str | None = None  # what applying it said

    @property
    def kind(self) -> str:
        return Address.kind_of(self.address)

    def to_json(self) -> dict[str, Any]:
        try:
            parsed: Address | None = Address.parse(self.address)
        except ValueError:
            parsed = None
        name = None
        if parsed is not None:
            # a signal's name is its execution's and its id, as its address writes them
            name = parsed.name if parsed.signal_id is None else f"{parsed.name}/{parsed.signal_id}"
        return {
            "address": self.address,
            "kind": self.kind,
            "project": parsed.project if parsed is not None else None,
            "domain": parsed.domain if parsed is not None else None,
            "name": name,
            "status": self.status.value,
            "action": self.action.value,
            "reason": self.reason,
            "diff": [dict(d) for d in self.diff],
            "console_url": self.console_url,
            "healed": self.healed,
            "message": self.message,
        }

    @classmethod
    def of(cls, change: Change, result: Result | None, console: str | None) -> ResourceState:
        return cls(
            change.address,
            status_of(change, result),
            change.action,
            change.reason,
            tuple(d.to_json() for d in field_lines(change)),
            resource_url(console, change.address),
            healed=result is not None and result.ok and change.action.writes,
            message=result.message if result is not None else None,
        )


@dataclass(frozen=True)
class PassReport:
    number: int
    started: float  # epoch seconds
    duration: float
    result: PassResult
    triggers: tuple[str, ...] = ()
    commit: str | None = None
    self_heal: bool = False
    applied: bool = False  # apply ran
    not_applied: str | None = None  # why apply did not run although there was something to do
    sync_window_open: bool | None = None
    resources: tuple[ResourceState, ...] = ()
    drift: tuple[str, ...] = ()  # changed in Admin behind git's back (as ``reconciler drift``)
    failures: tuple[tuple[str, str], ...] = ()  # (address, message) of failed applies
    error: str | None = None
    console: str | None = None

    @property
    def end(self) -> float:
        return self.started + self.duration

    def addresses(self, status: Status) -> list[str]:
        return [r.address for r in self.resources if r.status is status]

    def summary(self) -> dict[str, Any]:
        """The pass in one object: the JSON log line, and an entry of the passes history."""
        actions = {action.value: 0 for action in Action}
        statuses = {status.value: 0 for status in Status}
        kinds: dict[str, dict[str, int]] = {}
        for resource in self.resources:
            actions[resource.action.value] += 1
            statuses[resource.status.value] += 1
            per_kind = kinds.setdefault(resource.kind, {})
            per_kind[resource.action.value] = per_kind.get(resource.action.value, 0) + 1
        return {
            "pass": self.number,
            "start": _iso(self.started),
            "duration_seconds": round(self.duration, 3),
            "triggers": list(self.triggers),
            "result": self.result.value,
            "commit": self.commit,
            "self_heal": self.self_heal,
            "applied": self.applied,
            "not_applied": self.not_applied,
            "sync_window_open": self.sync_window_open,
            "counts": {"action": actions, "kind": kinds, "status": statuses},
            "drifted": self.addresses(Status.DRIFTED),
            "conflicts": self.addresses(Status.CONFLICT),
            "healed": [r.address for r in self.resources if r.healed],
            "drift": list(self.drift),
            "failures": [{"address": a, "message": m} for a, m in self.failures],
            "error": self.error,
        }


def _iso(epoch: float | None) -> str | None:
    if epoch is None:
        return None
    stamp = datetime.fromtimestamp(epoch, timezone.utc).isoformat(timespec="milliseconds")
    return stamp.replace("+00:00", "Z")


@dataclass
class LoopState:
    """The last pass and the recent ones, shared between the loop and the HTTP server."""

    source: Mapping[str, Any] = field(default_factory=dict)
    loop: Mapping[str, Any] = field(default_factory=dict)  # interval_seconds, self_heal
    last_pass: dict[str, Any] | None = None
    resources: list[dict[str, Any]] = field(default_factory=list)
    last_success: float | None = None
    last_applied: dict[str, Any] | None = None
    last_synced: dict[str, Any] | None = None
    history: list[dict[str, Any]] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def record(self, report: PassReport) -> None:
        summary = report.summary()
        with self._lock:
            self.last_pass = summary
            if report.result is not PassResult.ERROR:
                # a pass that could not plan says nothing new about the resources
                self.resources = [r.to_json() for r in report.resources]
            if report.result.succeeded:
                self.last_success = report.end
            if report.applied:
                self.last_applied = _milestone(summary)
            if report.result is PassResult.SYNCED:
                self.last_synced = _milestone(summary)
            self.history = [summary, *self.history][:HISTORY]

    def to_json(self, notifications: Mapping[str, Any] | None = None) -> dict[str, Any]:
        with self._lock:
            data: dict[str, Any] = {
                "format_version": STATE_FORMAT_VERSION,
                "updated": _iso(time.time()),
                "source": dict(self.source),
                "loop": dict(self.loop),
                "last_pass": self.last_pass,
                "last_success": _iso(self.last_success),
                "last_applied": self.last_applied,
                "last_synced": self.last_synced,
                "resources": list(self.resources),
                "passes": list(self.history),
            }
        if notifications is not None:
            data["notifications"] = dict(notifications)
        return data

    def restore(self, data: Mapping[str, Any]) -> None:
        """What a state file kept from an earlier run (history and resources)."""
        with self._lock:
            self.last_pass = data.get("last_pass") or None
            self.resources = list(data.get("resources") or [])
            self.history = list(data.get("passes") or [])[:HISTORY]
            self.last_applied = data.get("last_applied") or None
            self.last_synced = data.get("last_synced") or None
            success = data.get("last_success")
            if isinstance(success, str):
                self.last_success = datetime.fromisoformat(
                    success.replace("Z", "+00:00")
                ).timestamp()


def _milestone(summary: Mapping[str, Any]) -> dict[str, Any]:
    """A pass as a milestone of the state: which pass, when, at which commit, how it ended."""
    keys = ("pass", "start", "duration_seconds", "commit", "result")
    return {key: summary.get(key) for key in keys}


def read_state_file(path: Path) -> dict[str, Any] | None:
    """A state file written earlier, or None when there is none or it cannot be read (a fresh
    start is always possible)."""
    try:
        data = json.loads(path.read_text("utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or data.get("format_version") != STATE_FORMAT_VERSION:
        return None
    return data


def write_state_file(path: Path, data: Mapping[str, Any]) -> None:
    """Atomically: a reader (or a crash) never sees half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    temporary.write_text(json.dumps(data, indent=2, default=json_default) + "\n", "utf-8")
    temporary.replace(path)


def failures_of(results: Sequence[Result]) -> tuple[tuple[str, str], ...]:
    """Applies that failed; refused conflicts and changes never started are not failures."""
    return tuple(
        (r.change.address, r.message)
        for r in results
        if not r.ok and r.started and r.change.action is not Action.CONFLICT
    )
