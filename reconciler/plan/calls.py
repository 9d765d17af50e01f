"""The calls a plan may hold: one registry, and the only place that names them.

A plan's operations name their call by string (``Operation.call``, saved in plan files: those
names are a format and do not change). Each name maps here to a :class:`Call`: the request
type, how it is sent through the ``Admin`` interface, and when Admin's ALREADY_EXISTS means the
call's goal already holds, so that every operation is safe to run again (DESIGN.md,
Guarantees):

- ``CreateTask``, ``CreateWorkflow``, ``CreateLaunchPlan``: always. Admin answers
  ALREADY_EXISTS to these only for an identical spec (INVALID_ARGUMENT for a different one;
  ADMIN-SEMANTICS.md, Registration), so there is nothing more to compare.
- ``CreateExecution``: when the stored run carries our marks (an Execution manifest's spec
  digest, a Backfill's name) and, for a backfill run, the same backfill workflow (its version
  is a digest of the ticks it runs, so an older run over other ticks is not this one).
- ``RecoverExecution``, ``RelaunchExecution``: when the run of that name is a recovery
  (relaunch) of the same run.
- ``RegisterProject``: when the registered project is the one asked for (Admin answers
  ALREADY_EXISTS to any registration of an existing id; ADMIN-SEMANTICS.md, Projects).
- ``UpdateProject`` and the ``Update*Attributes`` / ``Delete*Attributes`` calls replace or
  remove what is there, so they are idempotent as they stand.
- the others: never (their ALREADY_EXISTS is an error). ``TerminateExecution`` of a run that
  reached a terminal phase in the meantime (FAILED_PRECONDITION) is found done, and
  ``SetSignal`` reads the signal first, as Admin's SetSignal overwrites silently.

Planners build operations with :func:`operation`, which knows the call by the request's type.
"""

from __future__ import annotations

import enum
import hashlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar

from flyteidl.admin import (
    execution_pb2,
    launch_plan_pb2,
    project_attributes_pb2,
    project_domain_attributes_pb2,
    project_pb2,
    signal_pb2,
    task_pb2,
    workflow_attributes_pb2,
    workflow_pb2,
)
from flyteidl.service import dataproxy_pb2

from reconciler.admin.api import Admin, ExecutionId
from reconciler.errors import FailedPrecondition, ReconcilerError
from reconciler.plan.common import BACKFILL_KEY, SPEC_KEY
from reconciler.plan.model import Operation, SecretInput


class Request(Protocol):
    """A call's request: a flyteidl message. Its stubs type the fields, but protobuf's own base
    class is untyped here (no stubs installed), so the two methods a plan uses are named."""

    def ParseFromString(self, serialized: bytes, /) -> object: ...

    def SerializeToString(self, *, deterministic: bool = ...) -> bytes: ...


_Request = TypeVar("_Request", bound=Request)


class Effect(enum.Enum):
    MADE = "made"
    """This call changed Admin."""
    FOUND = "found"
    """Admin already held what the call asks for; this call changed nothing."""


@dataclass(frozen=True)
class Call(Generic[_Request]):
    name: str
    """As ``Operation.call`` spells it in plans, saved ones included."""
    request: type[_Request]
    send: Callable[[Admin, _Request, bytes], Effect | None]
    """Send the request (with the operation's payload): what it did, None for a step that is
    neither made nor found (an upload, content-addressed)."""
    found_when_exists: Callable[[Admin, _Request], bool] | None = None
    """Asked on ALREADY_EXISTS: whether what Admin holds is what the request asks for (then the
    call succeeded, found done). None: ALREADY_EXISTS is an error."""
    launches: Callable[[_Request], ExecutionId] | None = None
    """The run the call starts."""
    made: Callable[[_Request], tuple[str, str]] = lambda request: ("made", "change")
    """How a change made of several calls words this one: (verb, noun)."""

    def decode(self, data: bytes) -> _Request:
        request = self.request()
        request.ParseFromString(data)
        return request


def _registered(noun: str) -> Callable[[object], tuple[str, str]]:
    return lambda request: ("registered", noun)


def _identical(admin: Admin, request: object) -> bool:
    return True


def _upload(admin: Admin, request: dataproxy_pb2.CreateUploadLocationRequest, data: bytes) -> None:
    what = request.filename or "the upload"
    if hashlib.md5(data).digest() != request.content_md5:
        raise ReconcilerError(f"{what}: the bytes in the plan do not match their checksum")
    admin.upload(request, data)


def _terminate(admin: Admin, request: execution_pb2.ExecutionTerminateRequest) -> Effect:
    try:
        admin.terminate_execution(request)
    except FailedPrecondition:
        # it reached a terminal phase between plan and apply: the goal holds
        return Effect.FOUND
    return Effect.MADE


def _set_signal(admin: Admin, request: signal_pb2.SignalSetRequest) -> Effect:
    """Admin's SetSignal overwrites a value silently (ADMIN-SEMANTICS.md, Signals), so the
    signal is read first: already our value is done by someone else; another value, set since
    the plan was made, is refused as the plan would have refused it. (Admin has no
    compare-and-set: a value set between this read and the write is still overwritten.)"""
    execution = request.id.execution_id
    current = next(
        (s for s in admin.list_signals(execution) if s.id.signal_id == request.id.signal_id),
        None,
    )
    if current is not None and current.HasField("value") and current.value.ByteSize():
        if current.value == request.value:
            return Effect.FOUND
        raise ReconcilerError(
            f"refused: signal {request.id.signal_id!r} of {execution.name} was set to another "
            "value since the plan was made; Admin would overwrite it silently"
        )
    admin.set_signal(request)
    return Effect.MADE


def _new_run(request: execution_pb2.ExecutionCreateRequest) -> ExecutionId:
    return ExecutionId(project=request.project, domain=request.domain, name=request.name)


def _same_run(admin: Admin, request: execution_pb2.ExecutionCreateRequest) -> bool:
    """Whether the stored execution is the run ``request`` asks for (see the module)."""
    stored, wanted = admin.get_execution(_new_run(request)).spec, request.spec
    marks = (SPEC_KEY, BACKFILL_KEY)
    mine = [wanted.labels.values.get(key) for key in marks]
    theirs = [stored.labels.values.get(key) for key in marks]
    if not any(mine) or mine != theirs:
        return False
    if wanted.labels.values.get(BACKFILL_KEY):
        return _same_id(stored.launch_plan, wanted.launch_plan, versioned=True)
    return True


_Again = TypeVar(
    "_Again", execution_pb2.ExecutionRecoverRequest, execution_pb2.ExecutionRelaunchRequest
)


def _attempt(request: _Again) -> ExecutionId:
    return ExecutionId(project=request.id.project, domain=request.id.domain, name=request.name)


def _same_attempt(mode: int) -> Callable[[Admin, _Again], bool]:
    """Whether the run of the new name is a recovery (relaunch, by ``mode``) of the same run."""

    def same(admin: Admin, request: _Again) -> bool:
        metadata = admin.get_execution(_attempt(request)).spec.metadata
        return metadata.mode == mode and _same_id(metadata.reference_execution, request.id)

    return same


def _same_project(admin: Admin, request: project_pb2.ProjectRegisterRequest) -> bool:
    """Whether the registered project is the one asked for (Admin adds its domains)."""
    stored, wanted = admin.get_project(request.project.id), request.project
    same = all(getattr(stored, f) == getattr(wanted, f) for f in ("id", "description", "state"))
    return same and dict(stored.labels.values) == dict(wanted.labels.values)


def _same_id(one: object, other: object, *, versioned: bool = False) -> bool:
    fields = ("project", "domain", "name") + (("version",) if versioned else ())
    return all(getattr(one, f) == getattr(other, f) for f in fields)


def _made(send: Callable[[Admin, _Request], object]) -> Callable[[Admin, _Request, bytes], Effect]:
    """A send that always changes Admin when it returns (it has no payload)."""

    def made(admin: Admin, request: _Request, payload: bytes) -> Effect:
        send(admin, request)
        return Effect.MADE

    return made


def _activation(request: launch_plan_pb2.LaunchPlanUpdateRequest) -> tuple[str, str]:
    verb = "activated" if request.state == launch_plan_pb2.ACTIVE else "deactivated"
    return verb, "launch plan"


_Mode = execution_pb2.ExecutionMetadata
CALLS: Mapping[str, Call[Any]] = {
    call.name: call
    for call in (
        Call(
            "UploadPackage",
            dataproxy_pb2.CreateUploadLocationRequest,
            _upload,
        ),
        Call(
            "CreateTask",
            task_pb2.TaskCreateRequest,
            _made(lambda admin, request: admin.create_task(request)),
            _identical,
            made=_registered("task"),
        ),
        Call(
            "CreateWorkflow",
            workflow_pb2.WorkflowCreateRequest,
            _made(lambda admin, request: admin.create_workflow(request)),
            _identical,
            made=_registered("workflow"),
        ),
        Call(
            "CreateLaunchPlan",
            launch_plan_pb2.LaunchPlanCreateRequest,
            _made(lambda admin, request: admin.create_launch_plan(request)),
            _identical,
            made=_registered("launch plan version"),
        ),
        Call(
            "UpdateLaunchPlan",
            launch_plan_pb2.LaunchPlanUpdateRequest,
            _made(lambda admin, request: admin.update_launch_plan(request)),
            made=_activation,
        ),
        Call(
            "CreateExecution",
            execution_pb2.ExecutionCreateRequest,
            _made(lambda admin, request: admin.create_execution(request)),
            _same_run,
            launches=_new_run,
            made=lambda request: ("launched", "run"),
        ),
        Call(
            "TerminateExecution",
            execution_pb2.ExecutionTerminateRequest,
            lambda admin, request, payload: _terminate(admin, request),
        ),
        Call(
            "RecoverExecution",
            execution_pb2.ExecutionRecoverRequest,
            _made(lambda admin, request: admin.recover_execution(request)),
            _same_attempt(_Mode.RECOVERED),
            launches=_attempt,
        ),
        Call(
            "RelaunchExecution",
            execution_pb2.ExecutionRelaunchRequest,
            _made(lambda admin, request: admin.relaunch_execution(request)),
            _same_attempt(_Mode.RELAUNCH),
            launches=_attempt,
        ),
        Call(
            "SetSignal",
            signal_pb2.SignalSetRequest,
            lambda admin, request, payload: _set_signal(admin, request),
        ),
        Call(
            "RegisterProject",
            project_pb2.ProjectRegisterRequest,
            _made(lambda admin, request: admin.register_project(request)),
            _same_project,
            made=_registered("project"),
        ),
        Call(
            "UpdateProject",
            project_pb2.Project,
            _made(lambda admin, request: admin.update_project(request)),
        ),
        Call(
            "UpdateProjectAttributes",
            project_attributes_pb2.ProjectAttributesUpdateRequest,
            _made(lambda admin, request: admin.update_project_attributes(request)),
        ),
        Call(
            "UpdateProjectDomainAttributes",
            project_domain_attributes_pb2.ProjectDomainAttributesUpdateRequest,
            _made(lambda admin, request: admin.update_project_domain_attributes(request)),
        ),
        Call(
            "UpdateWorkflowAttributes",
            workflow_attributes_pb2.WorkflowAttributesUpdateRequest,
            _made(lambda admin, request: admin.update_workflow_attributes(request)),
        ),
        Call(
            "DeleteProjectAttributes",
            project_attributes_pb2.ProjectAttributesDeleteRequest,
            _made(lambda admin, request: admin.delete_project_attributes(request)),
        ),
        Call(
            "DeleteProjectDomainAttributes",
            project_domain_attributes_pb2.ProjectDomainAttributesDeleteRequest,
            _made(lambda admin, request: admin.delete_project_domain_attributes(request)),
        ),
        Call(
            "DeleteWorkflowAttributes",
            workflow_attributes_pb2.WorkflowAttributesDeleteRequest,
            _made(lambda admin, request: admin.delete_workflow_attributes(request)),
        ),
    )
}
_BY_REQUEST: Mapping[type[Request], Call[Any]] = {call.request: call for call in CALLS.values()}


def call_of(operation: Operation) -> Call[Any]:
    """The registry's entry for an operation of a plan (saved ones included)."""
    call = CALLS.get(operation.call)
    if call is None:
        raise ReconcilerError(f"the plan asks for an unknown call {operation.call!r}")
    return call


def operation(
    request: Request, secrets: Sequence[SecretInput] = (), *, payload: bytes = b""
) -> Operation:
    """The operation that sends ``request`` (its call known by the request's type), less the
    values of ``secrets``."""
    call = _BY_REQUEST[type(request)]
    return Operation(
        call.name, request.SerializeToString(deterministic=True), tuple(secrets), payload
    )


def registers_task(operation: Operation) -> bool:
    """Whether the operation registers a task (tasks do not depend on each other, so a run of
    them goes in parallel)."""
    return operation.call == "CreateTask"
