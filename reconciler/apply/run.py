"""Carry out a plan: the operations each change holds, in a safe order, with bounded
parallelism, each one idempotent. Apply reads nothing but the plan (STYLE.md 2).

Order: registrations, launch plans (created, then activated), executions, backfills, signals;
within a step, changes run concurrently (``--parallelism``), and a change's operations run in
sequence. Conflicts are refused and reported; everything else that can be applied is.

Idempotence (DESIGN.md, Guarantees): a create that meets ALREADY_EXISTS succeeds only when what
Admin stores is what we asked for (the same launch plan spec; an execution with our spec
digest; a recovery that references the same run), so a run killed midway and started again
converges without duplicates.
"""

from __future__ import annotations

import base64
import contextlib
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

from reconciler.admin.client import AdminClient, fetch_all
from reconciler.admin.console import console_url
from reconciler.admin.literals import to_literal
from reconciler.errors import AlreadyExists, ConfigError, FailedPrecondition, ReconcilerError
from reconciler.manifests.envref import substitute
from reconciler.plan.backfill import BACKFILL_KEY
from reconciler.plan.common import SPEC_KEY
from reconciler.plan.model import Action, Change, Operation, Plan
from reconciler.plan.secrets import TEXT, reveal_text

STEPS = ("Registration", "LaunchPlan", "Execution", "Backfill", "Signal")
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


@dataclass(frozen=True)
class Result:
    change: Change
    ok: bool
    message: str
    url: str | None = None
    launched: tuple[Any, ...] = ()  # ids of the executions this change started
    started: bool = True  # False: skipped because apply was asked to stop before it began


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
    for step in STEPS:
        batch = [c for c in plan.changes if c.action.writes and c.address.split("/", 1)[0] == step]
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
    try:
        for batch in _batches(change.operations):
            if stop is not None and stop.is_set():
                return Result(
                    change, False, "stopped midway: apply again to finish", launched=tuple(launched)
                )
            outcomes = fetch_all(lambda op: _execute(op, client), batch, parallelism=parallelism)
            for outcome in outcomes:
                if outcome is not None:
                    url = console_url(console, outcome)
                    launched.append(outcome)
    except ReconcilerError as exc:
        return Result(change, False, str(exc), launched=tuple(launched))
    return Result(change, True, _done(change.action), url, tuple(launched))


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


def _execute(
    operation: Operation, client: AdminClient
) -> identifier_pb2.WorkflowExecutionIdentifier | None:
    """Run one operation; returns the id of an execution it started, if any."""
    request = decode(operation)
    call = operation.call
    if call in _IDENTICAL_WHEN_EXISTING:
        with contextlib.suppress(AlreadyExists):
            client.call(call, request)
        return None
    if call == "UploadPackage":
        _upload(client, request, operation.payload)
        return None
    if call == "CreateExecution":
        execution_id = identifier_pb2.WorkflowExecutionIdentifier(
            project=request.project, domain=request.domain, name=request.name
        )
        # An execution of that name is ours only if it carries our marks: the spec digest of an
        # Execution manifest, or the backfill label of a Backfill run.
        marks = (SPEC_KEY, BACKFILL_KEY)
        wanted = [request.spec.labels.values.get(key) for key in marks]
        client.create(
            call,
            request,
            stored=lambda: _get_execution(client, execution_id).spec.labels.values,
            same=lambda labels: [labels.get(key) for key in marks] == wanted and any(wanted),
        )
        return execution_id
    if call in ("RecoverExecution", "RelaunchExecution"):
        new_id = identifier_pb2.WorkflowExecutionIdentifier(
            project=request.id.project, domain=request.id.domain, name=request.name
        )
        client.create(
            call,
            request,
            stored=lambda: _get_execution(client, new_id).spec.metadata.reference_execution,
            same=lambda reference: reference.name in (request.id.name, ""),
        )
        return new_id
    if call == "TerminateExecution":
        # FAILED_PRECONDITION: it reached a terminal phase between plan and apply; the goal holds
        with contextlib.suppress(FailedPrecondition):
            client.call(call, request)
        return None
    client.call(call, request, service="signals" if call == "SetSignal" else "admin")
    return None


def _upload(client: AdminClient, request: Any, data: bytes) -> None:
    """The code tarball: an upload location from DataProxy, then an HTTP PUT with Content-MD5
    (as flytekit and flytectl upload it)."""
    if hashlib.md5(data).digest() != request.content_md5:
        raise ReconcilerError("the code tarball in the plan does not match its checksum")
    location = client.call("CreateUploadLocation", request, service="data_proxy")
    headers = {"Content-MD5": base64.b64encode(request.content_md5).decode("ascii")}
    headers.update(dict(location.headers))
    put = urllib.request.Request(location.signed_url, data=data, method="PUT", headers=headers)
    try:
        with urllib.request.urlopen(put, timeout=120) as response:
            status = response.status
    except urllib.error.HTTPError as exc:
        raise ReconcilerError(f"uploading the code tarball failed: HTTP {exc.code}") from None
    except (urllib.error.URLError, OSError) as exc:
        raise ReconcilerError(f"uploading the code tarball failed: {exc}") from None
    if status >= 300:
        raise ReconcilerError(f"uploading the code tarball failed: HTTP {status}")


def _get_execution(client: AdminClient, execution_id: Any) -> Any:
    return client.call("GetExecution", execution_pb2.WorkflowExecutionGetRequest(id=execution_id))


def failures(results: Sequence[Result]) -> list[Result]:
    return [r for r in results if not r.ok]
