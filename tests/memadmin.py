"""``MemoryAdmin``: the ``Admin`` interface held in dictionaries, for table-driven unit tests of
``make_plan`` and apply (STYLE.md 7). No gRPC, no engine: runs move only when a test says so.

It keeps the rules of FlyteAdmin that the planner and apply rely on (ADMIN-SEMANTICS.md), and
no more:

- registration: an identical spec under an existing id is ALREADY_EXISTS, a different one
  INVALID_ARGUMENT; a launch plan needs its workflow (NOT_FOUND), is stored INACTIVE, with its
  default inputs replaced by the expected inputs (required where neither default nor fixed);
- one active version per launch plan name: activating one deactivates the other; states other
  than ACTIVE and INACTIVE are INVALID_ARGUMENT;
- an execution name is taken once per project/domain (ALREADY_EXISTS); its launch plan must
  exist (NOT_FOUND); terminating a finished run is FAILED_PRECONDITION; recover and relaunch
  copy the run under a new name with their mode and reference;
- a signal exists once its run reaches the gate (``gate``); setting an unknown one is
  INVALID_ARGUMENT, setting a set one overwrites it (Admin has no compare-and-set);
- projects can be read; no matchable attributes are held (the Project and Attributes kinds
  are tested against the local Admin, which has Admin's rules for them).

Integration tests keep using the local Admin over gRPC, whose fidelity flytekit checks.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Sequence
from typing import TypeVar

from flyteidl.admin import (
    execution_pb2,
    launch_plan_pb2,
    matchable_resource_pb2,
    project_pb2,
    signal_pb2,
    task_pb2,
    workflow_pb2,
)
from flyteidl.core import compiler_pb2, identifier_pb2, interface_pb2, literals_pb2, types_pb2
from flyteidl.core import execution_pb2 as core_execution
from flyteidl.service import dataproxy_pb2

from reconciler.admin.api import AttributesAnswer, ExecutionId
from reconciler.errors import AlreadyExists, FailedPrecondition, InvalidArgument, NotFound

Phase = core_execution.WorkflowExecution.Phase
Key = tuple[str, str, str]
VersionedKey = tuple[str, str, str, str]
_K = TypeVar("_K")
_V = TypeVar("_V")
_M = TypeVar("_M")
_FINISHED = (Phase.SUCCEEDED, Phase.FAILED, Phase.ABORTED, Phase.TIMED_OUT)


class MemoryAdmin:
    """``projects``: project id -> its domains. ``calls`` counts every method called."""

    def __init__(self, projects: dict[str, tuple[str, ...]] | None = None) -> None:
        self.projects = projects or {"flytesnacks": ("development", "production")}
        self.tasks: dict[VersionedKey, task_pb2.Task] = {}
        self.workflows: dict[VersionedKey, workflow_pb2.Workflow] = {}
        self.launch_plans: dict[VersionedKey, launch_plan_pb2.LaunchPlan] = {}
        self.executions: dict[Key, execution_pb2.Execution] = {}
        self.inputs: dict[Key, literals_pb2.LiteralMap] = {}
        self.signals: dict[tuple[Key, str], signal_pb2.Signal] = {}
        self.uploads: dict[str, bytes] = {}
        self.calls: Counter[str] = Counter()
        self._specs: dict[tuple[str, VersionedKey], bytes] = {}

    # --- what a test does to Admin besides the interface -------------------------------------

    def finish(self, execution: Key, phase: int = Phase.SUCCEEDED) -> None:
        """The engine moved the run to ``phase``."""
        self.executions[execution].closure.phase = phase  # type: ignore[assignment]

    def gate(self, execution: Key, signal_id: str, literal_type: types_pb2.LiteralType) -> None:
        """The run reached a gate node: its signal now exists, unset."""
        project, domain, name = execution
        self.signals[(execution, signal_id)] = signal_pb2.Signal(
            id=identifier_pb2.SignalIdentifier(
                signal_id=signal_id,
                execution_id=ExecutionId(project=project, domain=domain, name=name),
            ),
            type=literal_type,
        )

    # --- reads -------------------------------------------------------------------------------

    def get_version(self) -> str:
        self.calls["get_version"] += 1
        return "memory"

    def list_projects(self) -> list[project_pb2.Project]:
        self.calls["list_projects"] += 1
        return [self._project(project) for project in sorted(self.projects)]

    def _project(self, project: str) -> project_pb2.Project:
        return project_pb2.Project(
            id=project,
            name=project,
            domains=[project_pb2.Domain(id=d, name=d) for d in self.projects[project]],
        )

    def get_project(self, identifier: str) -> project_pb2.Project:
        self.calls["get_project"] += 1
        if identifier not in self.projects:
            raise NotFound(f"project [{identifier}] not found")
        return self._project(identifier)

    def get_attributes(
        self, project: str, domain: str, workflow: str, resource_type: int
    ) -> AttributesAnswer:
        self.calls["get_attributes"] += 1
        kind = matchable_resource_pb2.MatchableResource.Name(resource_type)
        raise NotFound(f"Resource [{project} {domain} {workflow} {kind}] not found")

    def list_matchable_attributes(self, resource_type: int) -> list[AttributesAnswer]:
        self.calls["list_matchable_attributes"] += 1
        return []

    def list_launch_plans(
        self, project: str, domain: str, names: Sequence[str]
    ) -> list[launch_plan_pb2.LaunchPlan]:
        self.calls["list_launch_plans"] += 1
        return [
            _copy(lp)
            for (p, d, n, _), lp in sorted(self.launch_plans.items())
            if (p, d) == (project, domain) and n in names
        ]

    def list_active_launch_plans(
        self, project: str, domain: str
    ) -> list[launch_plan_pb2.LaunchPlan]:
        self.calls["list_active_launch_plans"] += 1
        return [
            _copy(lp)
            for (p, d, _, _), lp in sorted(self.launch_plans.items())
            if (p, d) == (project, domain) and lp.closure.state == launch_plan_pb2.ACTIVE
        ]

    def list_executions(
        self, project: str, domain: str, names: Sequence[str]
    ) -> list[execution_pb2.Execution]:
        self.calls["list_executions"] += 1
        return [
            _copy(ex)
            for (p, d, n), ex in sorted(self.executions.items())
            if (p, d) == (project, domain) and n in names
        ]

    def get_task(self, identifier: identifier_pb2.Identifier) -> task_pb2.Task:
        self.calls["get_task"] += 1
        return _copy(_found(self.tasks, _versioned(identifier), "task"))

    def get_workflow(self, identifier: identifier_pb2.Identifier) -> workflow_pb2.Workflow:
        self.calls["get_workflow"] += 1
        return _copy(_found(self.workflows, _versioned(identifier), "workflow"))

    def get_launch_plan(self, identifier: identifier_pb2.Identifier) -> launch_plan_pb2.LaunchPlan:
        self.calls["get_launch_plan"] += 1
        return _copy(_found(self.launch_plans, _versioned(identifier), "launch plan"))

    def get_execution(self, identifier: ExecutionId) -> execution_pb2.Execution:
        self.calls["get_execution"] += 1
        return _copy(_found(self.executions, _key(identifier), "execution"))

    def get_execution_data(
        self, identifier: ExecutionId
    ) -> execution_pb2.WorkflowExecutionGetDataResponse:
        self.calls["get_execution_data"] += 1
        _found(self.executions, _key(identifier), "execution")
        inputs = self.inputs.get(_key(identifier), literals_pb2.LiteralMap())
        return execution_pb2.WorkflowExecutionGetDataResponse(full_inputs=inputs)

    def get_execution_metrics(
        self, identifier: ExecutionId, depth: int
    ) -> execution_pb2.WorkflowExecutionGetMetricsResponse:
        self.calls["get_execution_metrics"] += 1
        _found(self.executions, _key(identifier), "execution")
        return execution_pb2.WorkflowExecutionGetMetricsResponse()

    def list_signals(self, execution: ExecutionId) -> list[signal_pb2.Signal]:
        self.calls["list_signals"] += 1
        return [
            _copy(signal)
            for (key, _), signal in sorted(self.signals.items())
            if key == _key(execution)
        ]

    def create_upload_location(
        self, request: dataproxy_pb2.CreateUploadLocationRequest
    ) -> dataproxy_pb2.CreateUploadLocationResponse:
        self.calls["create_upload_location"] += 1
        url = f"memory://{request.project}/{request.domain}/{request.filename_root}/"
        url += request.filename
        return dataproxy_pb2.CreateUploadLocationResponse(signed_url=url, native_url=url)

    def create_download_location(
        self, request: dataproxy_pb2.CreateDownloadLocationRequest
    ) -> dataproxy_pb2.CreateDownloadLocationResponse:
        self.calls["create_download_location"] += 1
        return dataproxy_pb2.CreateDownloadLocationResponse(signed_url=request.native_url)

    # --- writes ------------------------------------------------------------------------------

    def create_task(self, request: task_pb2.TaskCreateRequest) -> None:
        self.calls["create_task"] += 1
        key = self._register("task", request.id, request.spec)
        template = compiler_pb2.CompiledTask(template=request.spec.template)
        template.template.id.CopyFrom(request.id)
        self.tasks[key] = task_pb2.Task(
            id=request.id, closure=task_pb2.TaskClosure(compiled_task=template)
        )

    def create_workflow(self, request: workflow_pb2.WorkflowCreateRequest) -> None:
        self.calls["create_workflow"] += 1
        key = self._register("workflow", request.id, request.spec)
        primary = compiler_pb2.CompiledWorkflow(template=request.spec.template)
        primary.template.id.CopyFrom(request.id)
        self.workflows[key] = workflow_pb2.Workflow(
            id=request.id,
            closure=workflow_pb2.WorkflowClosure(
                compiled_workflow=compiler_pb2.CompiledWorkflowClosure(primary=primary)
            ),
        )

    def create_launch_plan(self, request: launch_plan_pb2.LaunchPlanCreateRequest) -> None:
        self.calls["create_launch_plan"] += 1
        workflow = _found(self.workflows, _versioned(request.spec.workflow_id), "workflow")
        interface = workflow.closure.compiled_workflow.primary.template.interface
        spec = _copy(request.spec)
        spec.default_inputs.CopyFrom(_expected_inputs(interface, request.spec))
        key = self._register("launch plan", request.id, spec)
        self.launch_plans[key] = launch_plan_pb2.LaunchPlan(
            id=request.id,
            spec=spec,
            closure=launch_plan_pb2.LaunchPlanClosure(
                # A new launch plan is always stored INACTIVE, see ADMIN-SEMANTICS.md
                state=launch_plan_pb2.INACTIVE,
                expected_inputs=spec.default_inputs,
            ),
        )

    def update_launch_plan(self, request: launch_plan_pb2.LaunchPlanUpdateRequest) -> None:
        self.calls["update_launch_plan"] += 1
        if request.state not in (launch_plan_pb2.ACTIVE, launch_plan_pb2.INACTIVE):
            raise InvalidArgument(f"Unrecognized launch plan state {request.state} for update")
        target = _found(self.launch_plans, _versioned(request.id), "launch plan")
        if request.state == launch_plan_pb2.ACTIVE:
            # one active version per name (gormimpl/launch_plan_repo.go SetActive)
            for key, other in self.launch_plans.items():
                if key[:3] == _versioned(request.id)[:3]:
                    other.closure.state = launch_plan_pb2.INACTIVE
        target.closure.state = request.state

    def create_execution(self, request: execution_pb2.ExecutionCreateRequest) -> None:
        self.calls["create_execution"] += 1
        if request.spec.HasField("launch_plan"):
            _found(self.launch_plans, _versioned(request.spec.launch_plan), "launch plan")
        spec = _copy(request.spec)
        spec.metadata.principal = "memory-admin"  # the server overwrites the principal
        self._launch((request.project, request.domain, request.name), spec, request.inputs)

    def terminate_execution(self, request: execution_pb2.ExecutionTerminateRequest) -> None:
        self.calls["terminate_execution"] += 1
        execution = _found(self.executions, _key(request.id), "execution")
        if execution.closure.phase in _FINISHED:
            raise FailedPrecondition("Cannot abort an already terminated workflow execution")
        execution.closure.phase = Phase.ABORTING

    def recover_execution(self, request: execution_pb2.ExecutionRecoverRequest) -> None:
        self.calls["recover_execution"] += 1
        self._again(request.id, request.name, execution_pb2.ExecutionMetadata.RECOVERED)

    def relaunch_execution(self, request: execution_pb2.ExecutionRelaunchRequest) -> None:
        self.calls["relaunch_execution"] += 1
        self._again(request.id, request.name, execution_pb2.ExecutionMetadata.RELAUNCH)

    def set_signal(self, request: signal_pb2.SignalSetRequest) -> None:
        self.calls["set_signal"] += 1
        key = (_key(request.id.execution_id), request.id.signal_id)
        if key not in self.signals:
            raise InvalidArgument(f"signal {request.id.signal_id} does not exist")
        # an already-set signal is silently overwritten, see ADMIN-SEMANTICS.md
        self.signals[key].value.CopyFrom(request.value)

    def upload(self, request: dataproxy_pb2.CreateUploadLocationRequest, data: bytes) -> None:
        location = self.create_upload_location(request)
        if hashlib.md5(data).digest() != request.content_md5:
            raise InvalidArgument("Content-MD5 does not match")
        self.uploads[location.native_url] = data

    # --- the rules ---------------------------------------------------------------------------

    def _register(
        self, kind: str, identifier: identifier_pb2.Identifier, spec: object
    ) -> VersionedKey:
        """The key to store a new entity at; ALREADY_EXISTS for an identical spec there,
        INVALID_ARGUMENT for another (ADMIN-SEMANTICS.md, Registration)."""
        key = _versioned(identifier)
        data = spec.SerializeToString(deterministic=True)  # type: ignore[attr-defined]
        stored = self._specs.get((kind, key))
        if stored == data:
            raise AlreadyExists(f"{kind} with identical structure already exists")
        if stored is not None:
            raise InvalidArgument(
                f"{identifier.name} {kind} with different structure already exists"
            )
        self._specs[(kind, key)] = data
        return key

    def _launch(
        self, key: Key, spec: execution_pb2.ExecutionSpec, inputs: literals_pb2.LiteralMap
    ) -> None:
        if key in self.executions:
            raise AlreadyExists(f"execution {key[2]} already exists")
        project, domain, name = key
        self.executions[key] = execution_pb2.Execution(
            id=ExecutionId(project=project, domain=domain, name=name),
            spec=spec,
            closure=execution_pb2.ExecutionClosure(phase=Phase.QUEUED),
        )
        self.inputs[key] = _copy(inputs)

    def _again(self, original: ExecutionId, name: str, mode: int) -> None:
        """Recover or relaunch: the original's spec and inputs, under a new name."""
        source = _found(self.executions, _key(original), "execution")
        spec = _copy(source.spec)
        spec.metadata.mode = mode  # type: ignore[assignment]
        spec.metadata.reference_execution.CopyFrom(original)
        key = (original.project, original.domain, name)
        self._launch(key, spec, self.inputs.get(_key(original), literals_pb2.LiteralMap()))


def _expected_inputs(
    interface: interface_pb2.TypedInterface, spec: launch_plan_pb2.LaunchPlanSpec
) -> interface_pb2.ParameterMap:
    """Admin's stored default inputs: the defaults, and every other unfixed input required."""
    expected = interface_pb2.ParameterMap()
    for name, variable in interface.inputs.variables.items():
        if name in spec.default_inputs.parameters:
            expected.parameters[name].CopyFrom(spec.default_inputs.parameters[name])
        elif name not in spec.fixed_inputs.literals:
            expected.parameters[name].CopyFrom(
                interface_pb2.Parameter(
                    var=interface_pb2.Variable(
                        type=variable.type, description=variable.description
                    ),
                    required=True,
                )
            )
    return expected


def _versioned(identifier: identifier_pb2.Identifier) -> VersionedKey:
    return (identifier.project, identifier.domain, identifier.name, identifier.version)


def _key(identifier: ExecutionId) -> Key:
    return (identifier.project, identifier.domain, identifier.name)


def _found(table: dict[_K, _V], key: _K, what: str) -> _V:
    if key not in table:
        raise NotFound(f"{what} {'/'.join(map(str, key))} does not exist")  # type: ignore[call-overload]
    return table[key]


def _copy(message: _M) -> _M:
    """A copy, so that callers cannot change what Admin holds (nor Admin what they hold)."""
    copied = type(message)()
    copied.CopyFrom(message)  # type: ignore[attr-defined]
    return copied
