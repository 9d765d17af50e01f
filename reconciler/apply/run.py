"""Carry out a plan: the operations each change holds, in a safe order, with bounded
parallelism, each one idempotent. Apply reads nothing but the plan (STYLE.md 2).

Order: that of ``KINDS`` (``reconciler.kinds``): registrations, launch plans (created, then
activated), executions, backfills, signals; within a step, changes run concurrently
(``--parallelism``), and a change's operations run in sequence. Conflicts are refused and
reported; everything else that can be applied is.

Idempotence (DESIGN.md, Guarantees): a create that meets ALREADY_EXISTS succeeds only when what
Admin stores is what we asked for (an identical task, workflow or launch plan, which is the only
case Admin answers ALREADY_EXISTS for; an execution with our spec digest; a backfill run of the
same backfill workflow; a recovery or relaunch of the same run), so a run killed midway and
started again, or two applies at once, converge without duplicates.

Truthful results: each change says whether this apply made it or found it already made (by
another client, or by an earlier attempt of this apply whose answer was lost), as :class:`Done`
records per call; both are success.
"""

from __future__ import annotations

import base64
import enum
import hashlib
import os
import threading
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from flyteidl.admin import (
    execution_pb2,
    launch_plan_pb2,
    signal_pb2,
    task_pb2,
    workflow_pb2,
)
from flyteidl.core import identifier_pb2, types_pb2
from flyteidl.service import dataproxy_pb2

from reconciler.admin.client import AdminClient, Created, fetch_all
from reconciler.admin.console import console_url
from reconciler.admin.literals import to_literal
from reconciler.errors import AlreadyExists, ConfigError, FailedPrecondition, ReconcilerError
from reconciler.kinds import KINDS
from reconciler.kinds.backfill import BACKFILL_KEY
from reconciler.manifests.address import Address
from reconciler.manifests.envref import substitute
from reconciler.plan.common import SPEC_KEY
from reconciler.plan.model import Action, Change, Operation, Plan
from reconciler.plan.secrets import TEXT, reveal_text

_REQUESTS: dict[str, type[Any]] = {
    "CreateLaunchPlan": launch_plan_pb2.LaunchPlanCreateRequest,
    "UpdateLaunchPlan": launch_plan_pb2.LaunchPlanUpdateRequest,
    "CreateExecution": execution_pb2.ExecutionCreateRequest,
    "TerminateExecution": execution_pb2.ExecutionTerminateRequest,
    "RecoverExecution": execution_pb2.ExecutionRecoverRequest,
    "RelaunchExecution": execution_pb2.ExecutionRelaunchRequest,
    "SetSignal": signal_pb2.SignalSetRequest,
    "CreateTask": task_pb2.TaskCreateRequest,
    "CreateWorkflow": workflow_pb2.WorkflowCreateRequest,
    "UploadPackage": dataproxy_pb2.CreateUploadLocationRequest,
}
# Admin answers ALREADY_EXISTS to these only when the stored spec is identical (it answers
# INVALID_ARGUMENT for a different one; ADMIN-SEMANTICS.md, Registration).
_IDENTICAL_WHEN_EXISTING = frozenset({"CreateTask", "CreateWorkflow", "CreateLaunchPlan"})


class Effect(enum.Enum):
    MADE = "made"
    """This apply's call changed Admin."""
    FOUND = "found"
    """Admin already held what the call asks for; this call changed nothing."""


@dataclass(frozen=True)
class Done:
    """What one operation did."""

    effect: Effect | None = Effect.MADE
    """None: a step that is neither (an upload, content-addressed)."""
    execution: identifier_pb2.WorkflowExecutionIdentifier | None = None
    retried: bool = False
    """Found on a retry: perhaps our own earlier attempt, whose answer was lost, made it."""
    what: str = ""
    """The call's kind, as :data:`_MADE` words it."""

    @classmethod
    def of(cls, created: Created, call: str, execution: Any = None) -> Done:
        effect = Effect.FOUND if created.existed else Effect.MADE
        return cls(effect, execution, created.existed and created.attempts > 1, call)


@dataclass(frozen=True)
class Result:
    change: Change
    ok: bool
    message: str
    url: str | None = None
    launched: tuple[Any, ...] = ()  # ids of the executions this change started (or found)
    started: bool = True  # False: skipped because apply was asked to stop before it began
    found: bool = False  # some of the change was found already done (see Done.retried)


def apply_plan(
    plan: Plan,
    client: AdminClient,
    *,
    parallelism: int = 10,
    console: str | None = None,
    on_result: Callable[[Result], None] = lambda result: None,
    stop: threading.Event | None = None,
) -> list[Result]:
    """``stop``: once set, no new operation starts (those in flight finish); the changes not
    begun come back with ``started=False``. Every operation is idempotent, so a change stopped
    midway is finished by the next apply."""
    results: list[Result] = []
    for change in plan.conflicts:
        result = Result(change, False, f"refused: {change.reason}")
        on_result(result)
        results.append(result)
    for kind in KINDS:  # the table's order is the apply order
        batch = [
            c for c in plan.changes if c.action.writes and Address.kind_of(c.address) == kind.name
        ]
        if not batch:
            continue

        def run(change: Change) -> Result:
            if stop is not None and stop.is_set():
                result = Result(change, False, "not started: stopping", started=False)
            else:
                result = _apply_change(change, client, console, parallelism, stop)
            on_result(result)
            return result

        with ThreadPoolExecutor(max_workers=max(1, min(parallelism, len(batch)))) as pool:
            results.extend(pool.map(run, batch))
    return results


def _apply_change(
    change: Change,
    client: AdminClient,
    console: str | None,
    parallelism: int = 1,
    stop: threading.Event | None = None,
) -> Result:
    url = None
    launched: list[Any] = []
    dones: list[Done] = []
    try:
        for batch in _batches(change.operations):
            if stop is not None and stop.is_set():
                return Result(
                    change, False, "stopped midway: apply again to finish", launched=tuple(launched)
                )
            outcomes = fetch_all(lambda op: _execute(op, client), batch, parallelism=parallelism)
            for outcome in outcomes:
                dones.append(outcome)
                if outcome.execution is not None:
                    url = console_url(console, outcome.execution)
                    launched.append(outcome.execution)
    except ReconcilerError as exc:
        return Result(change, False, str(exc), launched=tuple(launched))
    found = [d for d in dones if d.effect is Effect.FOUND]
    return Result(
        change, True, _message(change.action, dones), url, tuple(launched), found=bool(found)
    )


def _batches(operations: Sequence[Operation]) -> list[list[Operation]]:
    """Operations in order, with runs of task registrations together: tasks do not depend on
    each other, so they go in parallel; workflows and launch plans wait for them."""
    batches: list[list[Operation]] = []
    for operation in operations:
        if batches and operation.call == "CreateTask" and batches[-1][-1].call == "CreateTask":
            batches[-1].append(operation)
        else:
            batches.append([operation])
    return batches


# How a change made of several calls that were partly found done words each part.
_MADE = {
    "CreateTask": ("registered", "task"),
    "CreateWorkflow": ("registered", "workflow"),
    "CreateLaunchPlan": ("registered", "launch plan version"),
    "CreateExecution": ("launched", "run"),
    "activate": ("activated", "launch plan"),
    "deactivate": ("deactivated", "launch plan"),
}


def _counted(counts: dict[str, int]) -> list[tuple[str, str]]:
    """(verb, "N nouns") for each kind of call counted."""
    found = []
    for what, n in counts.items():
        verb, noun = _MADE.get(what, ("made", what))
        found.append((verb, f"{n} {noun}{'s' if n > 1 else ''}"))
    return found


def _message(action: Action, dones: Sequence[Done]) -> str:
    """What the change did, saying so when (part of) it was already done by someone else."""
    counted = [d for d in dones if d.effect is not None]
    found = [d for d in counted if d.effect is Effect.FOUND]
    if not found:
        return _done(action)
    if action is Action.TERMINATE:
        return "the run had already finished; nothing to terminate"
    who = (
        "by another client, or by an earlier attempt of this apply whose answer was lost"
        if any(d.retried for d in found)
        else "by another client"
    )
    if len(found) == len(counted):
        what = {
            Action.CREATE: "Admin already holds it as planned",
            Action.RECOVER: "the recovery was already launched",
            Action.RELAUNCH: "the relaunch was already launched",
            Action.SET: "the signal was already set to this value",
        }.get(action, "it was already done")
        return f"nothing to do: {what}, made {who}"
    made: dict[str, int] = {}
    there: dict[str, int] = {}
    for done in counted:
        into = there if done.effect is Effect.FOUND else made
        into[done.what] = into.get(done.what, 0) + 1
    did = ", ".join(f"{verb} {phrase}" for verb, phrase in _counted(made))
    already = " and ".join(phrase for _, phrase in _counted(there))
    verb = "was" if sum(there.values()) == 1 else "were"
    return f"{did}; {already} {verb} already there, made {who}"


def _done(action: Action) -> str:
    return {
        Action.CREATE: "created",
        Action.UPDATE: "updated",
        Action.DEACTIVATE: "deactivated",
        Action.TERMINATE: "terminated",
        Action.RECOVER: "recovery launched",
        Action.RELAUNCH: "relaunch launched",
        Action.SET: "set",
    }.get(action, action.value)


def decode(operation: Operation, environ: Mapping[str, str] | None = None) -> Any:
    """The request to send, with secret inputs resolved from ``environ`` (default: ours)."""
    cls = _REQUESTS.get(operation.call)
    if cls is None:
        raise ReconcilerError(f"the plan asks for an unknown call {operation.call!r}")
    request = cls()
    request.ParseFromString(operation.request)
    for secret in operation.secrets:
        missing: list[str] = []
        value = substitute(
            secret.template, dict(os.environ if environ is None else environ), missing
        )
        if missing:
            what = secret.template if secret.field == TEXT else f"input {secret.name}"
            raise ConfigError(f"environment variable {missing[0]} is not set ({what})")
        if secret.field == TEXT:
            reveal_text(request, secret, value)
            continue
        literal_type = types_pb2.LiteralType()
        literal_type.ParseFromString(secret.literal_type)
        literal = to_literal(value, literal_type, path=secret.name, redact=True)
        if secret.field == "value":
            request.value.CopyFrom(literal)
        elif secret.field == "inputs":
            request.inputs.literals[secret.name].CopyFrom(literal)
        elif secret.field == "fixedInputs":
            request.spec.fixed_inputs.literals[secret.name].CopyFrom(literal)
        else:
            request.spec.default_inputs.parameters[secret.name].default.CopyFrom(literal)
    return request


def _execute(operation: Operation, client: AdminClient) -> Done:
    """Run one operation: what it did, and the id of an execution it started, if any."""
    request = decode(operation)
    call = operation.call
    if call in _IDENTICAL_WHEN_EXISTING:
        # Admin's ALREADY_EXISTS for these already says "identical": nothing more to compare
        created = client.create(call, request, stored=lambda: None, same=lambda _: True)
        return Done.of(created, call)
    if call == "UploadPackage":
        _upload(client, request, operation.payload)
        return Done(None)
    if call == "CreateExecution":
        execution_id = identifier_pb2.WorkflowExecutionIdentifier(
            project=request.project, domain=request.domain, name=request.name
        )
        created = client.create(
            call,
            request,
            stored=lambda: _get_execution(client, execution_id).spec,
            same=lambda spec: _same_run(spec, request.spec),
        )
        return Done.of(created, call, execution_id)
    if call in ("RecoverExecution", "RelaunchExecution"):
        new_id = identifier_pb2.WorkflowExecutionIdentifier(
            project=request.id.project, domain=request.id.domain, name=request.name
        )
        mode = (
            execution_pb2.ExecutionMetadata.RECOVERED
            if call == "RecoverExecution"
            else execution_pb2.ExecutionMetadata.RELAUNCH
        )
        created = client.create(
            call,
            request,
            stored=lambda: _get_execution(client, new_id).spec.metadata,
            same=lambda metadata: (
                metadata.mode == mode and _same_id(metadata.reference_execution, request.id)
            ),
        )
        return Done.of(created, call, new_id)
    if call == "TerminateExecution":
        try:
            client.call(call, request)
        except FailedPrecondition:
            # it reached a terminal phase between plan and apply: the goal holds
            return Done(Effect.FOUND, what=call)
        return Done(what=call)
    if call == "SetSignal":
        return _set_signal(client, request)
    client.call(call, request)
    if call == "UpdateLaunchPlan":
        state = "activate" if request.state == launch_plan_pb2.ACTIVE else "deactivate"
        return Done(what=state)
    return Done(what=call)


def _same_run(stored: Any, wanted: Any) -> bool:
    """Whether the stored execution spec is the run ``wanted`` asks for: the marks the planner
    puts on its runs (an Execution manifest's spec digest, a Backfill's name) are equal, and for
    a backfill run the backfill workflow too (its version is a digest of the ticks it runs, so
    an older run over other ticks is not this one)."""
    marks = (SPEC_KEY, BACKFILL_KEY)
    mine = [wanted.labels.values.get(key) for key in marks]
    theirs = [stored.labels.values.get(key) for key in marks]
    if not any(mine) or mine != theirs:
        return False
    if wanted.labels.values.get(BACKFILL_KEY):
        return _same_id(stored.launch_plan, wanted.launch_plan, versioned=True)
    return True


def _same_id(one: Any, other: Any, *, versioned: bool = False) -> bool:
    fields = ("project", "domain", "name") + (("version",) if versioned else ())
    return all(getattr(one, f) == getattr(other, f) for f in fields)


def _set_signal(client: AdminClient, request: Any) -> Done:
    """Admin's SetSignal overwrites a value silently (ADMIN-SEMANTICS.md, Signals), so the
    signal is read first: already our value is done by someone else; another value, set since
    the plan was made, is refused as the plan would have refused it. (Admin has no
    compare-and-set: a value set between this read and the write is still overwritten.)"""
    execution = request.id.execution_id
    current = next(
        (s for s in client.list_signals(execution) if s.id.signal_id == request.id.signal_id),
        None,
    )
    if current is not None and current.HasField("value") and current.value.ByteSize():
        if current.value == request.value:
            return Done(Effect.FOUND, what="SetSignal")
        raise ReconcilerError(
            f"refused: signal {request.id.signal_id!r} of {execution.name} was set to another "
            "value since the plan was made; Admin would overwrite it silently"
        )
    client.call("SetSignal", request, service="signals")
    return Done(what="SetSignal")


def _upload(client: AdminClient, request: Any, data: bytes) -> None:
    """A code tarball or a local file given as an input: an upload location from DataProxy,
    then an HTTP PUT with Content-MD5 (as flytekit and flytectl upload). The location is
    content-addressed (``filename_root`` names the content), so content already there is not
    sent again: Admin answers ALREADY_EXISTS to a location asked for without an MD5 when a
    file is there (flyteadmin ``dataproxy/service.go``; a file of other content could not be
    at this root)."""
    what = request.filename or "the upload"
    if hashlib.md5(data).digest() != request.content_md5:
        raise ReconcilerError(f"{what}: the bytes in the plan do not match their checksum")
    if request.filename and request.filename_root:
        probe = dataproxy_pb2.CreateUploadLocationRequest()
        probe.CopyFrom(request)
        probe.ClearField("content_md5")
        try:
            client.call("CreateUploadLocation", probe, service="data_proxy")
        except AlreadyExists:
            return
    location = client.call("CreateUploadLocation", request, service="data_proxy")
    headers = {"Content-MD5": base64.b64encode(request.content_md5).decode("ascii")}
    headers.update(dict(location.headers))
    put = urllib.request.Request(location.signed_url, data=data, method="PUT", headers=headers)
    try:
        with urllib.request.urlopen(put, timeout=120) as response:
            status = response.status
    except urllib.error.HTTPError as exc:
        raise ReconcilerError(f"uploading {what} failed: HTTP {exc.code}") from None
    except (urllib.error.URLError, OSError) as exc:
        raise ReconcilerError(f"uploading {what} failed: {exc}") from None
    if status >= 300:
        raise ReconcilerError(f"uploading {what} failed: HTTP {status}")


def _get_execution(client: AdminClient, execution_id: Any) -> Any:
    return client.call("GetExecution", execution_pb2.WorkflowExecutionGetRequest(id=execution_id))


def failures(results: Sequence[Result]) -> list[Result]:
    return [r for r in results if not r.ok]
