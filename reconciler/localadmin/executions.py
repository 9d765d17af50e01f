"""Workflow executions and what hangs off them: node executions, task executions, data.

Admin rules reproduced here, with Admin's wording (``flyteadmin/pkg/manager/impl/
execution_manager.go``, ``validation/execution_validator.go``, ADMIN-SEMANTICS.md):

* names: at most 63 characters, ``^[a-z][a-z\\-0-9]*$`` checked on the lowercased name; no name
  means ``a`` + 19 random characters; a taken name is ``ALREADY_EXISTS``;
* the reference is a launch plan or a task; executing a task runs Admin's generated
  ``.flytegen.<task>`` workflow and launch plan while ``spec.launch_plan`` keeps the task id
  (``impl/util/single_task_execution.go``);
* inputs (``CheckAndFetchInputsForExecution``): a name the launch plan does not expect is
  "invalid input X" (fixed-only inputs are not expected), a missing required one "expected_inputs
  X missing", a wrong type "invalid X input wrong type", and a fixed input that is also a default
  "fixed_inputs X cannot be overridden"; defaults and fixed inputs fill the rest;
* the stored spec (what GetExecution and ListExecutions return and relaunch and recover copy) is
  the request's spec with only the server's own writes (``launchExecution``,
  ``launchSingleTaskExecution``, ``getInheritedExecMetadata`` in execution_manager.go,
  ``transformers/execution.go CreateExecutionModel``): ``metadata.principal`` is the caller, or
  for an execution launched by a node execution (which must exist) the user of that node's
  execution, whose nesting + 1 and execution cluster label it also takes;
  ``metadata.artifact_ids`` is cleared (launch plans only); ``metadata.system_metadata`` names the
  cluster and namespace; ``security_context`` and (launch plans only, not single tasks)
  ``max_parallelism`` are the resolved ones below; ``mode`` and everything else is kept as sent;
* the resolved settings (``getExecutionConfig``, ``util/shared.go MergeIntoExecConfig``), per
  field: the request, then the launch plan, then the most specific matchable
  ``WORKFLOW_EXECUTION_CONFIG`` for the workflow's name (workflow, else project-domain, else
  project), then the project's own row, then the deprecated auth roles (security context only),
  then the server defaults (``LocalAdmin(execution_defaults=...)``, Admin's ``maxParallelism: 25``
  unless given). A single-task execution resolves without a launch plan and without a workflow
  name, so workflow-level rows do not apply to it. This covers labels, annotations, envs, raw
  output data config, security context, max parallelism, interruptible and overwrite cache; an
  empty value never wins, maps are replaced, not merged, and the security context is always set
  (empty ``run_as`` when nothing names an identity); the project's labels are added to the labels
  for keys they lack (``addProjectLabels``). Admin hands these to the workflow CRD; here
  :meth:`Executions.resolved_spec` returns them and the engine runs with them;
* the request's labels must be valid Kubernetes labels; they and the request's tags (not the
  resolved labels) are the execution's tags that ``execution_tag`` filters match
  (``CreateExecutionTagModel``), and a single-task execution has none;
* notifications: the request's when it has some, none when it disables them all, else the
  launch plan's, stored in the closure (``closure.notifications``), not the spec;
* terminate on a terminal execution is ``FAILED_PRECONDITION``, otherwise ABORTING (the engine
  finishes it as ABORTED); relaunch copies spec and user inputs with mode RELAUNCH, the
  reference and the request's ``overwrite_cache``; recover does the same with mode RECOVERED and
  takes ``parent_node_execution`` from the request's metadata when it has some; neither checks
  the phase and both take the new name from the request;
* ``ARCHIVED`` executions are hidden from listings unless the filter names ``state``;
* a launch plan with a concurrency policy counts the QUEUED and RUNNING executions of all its
  versions; at ``max`` a SKIP policy refuses with ``ALREADY_EXISTS`` "concurrency limit (N)
  reached for launch plan X; skipping execution" (``checkLaunchPlanConcurrency``).

Not reproduced: the other matchable resources' effects (task resources, execution queues,
cluster labels, plugin overrides are stored and served by :mod:`attributes`, but nothing acts on
them), cluster pools (``cluster_assignment`` is kept as given, also in the resolved spec),
quality of service, identity annotations and an execution identity taken from the caller's
token, offloading of inputs to blob storage (``GetExecutionData`` returns them inline).

Execution rows start QUEUED; :mod:`engine` moves them on.
"""

from __future__ import annotations

import re
import secrets
import string
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import grpc
from flyteidl.admin import (
    common_pb2,
    execution_pb2,
    launch_plan_pb2,
    matchable_resource_pb2,
)
from flyteidl.core import execution_pb2 as core_exec_pb2
from flyteidl.core import identifier_pb2, literals_pb2

from reconciler.localadmin import filters, literals
from reconciler.localadmin.attributes import Attributes, merge_exec_config
from reconciler.localadmin.clock import Clock
from reconciler.localadmin.entities import Entities, ResourceType
from reconciler.localadmin.errors import (
    AdminError,
    already_exists,
    failed_precondition,
    invalid,
    not_found,
)
from reconciler.localadmin.launch_plans import LaunchPlans
from reconciler.localadmin.node_executions import NodeExecutions
from reconciler.localadmin.projects import Projects, check_labels
from reconciler.localadmin.protos import data_response, execution_text, missing, parse, timestamp
from reconciler.localadmin.store import Row, Store

Phase = core_exec_pb2.WorkflowExecution.Phase
Mode = execution_pb2.ExecutionMetadata.ExecutionMode
ExecutionState = execution_pb2.ExecutionState

TERMINAL = {Phase.SUCCEEDED, Phase.FAILED, Phase.ABORTED, Phase.TIMED_OUT}
MAX_NAME_LENGTH = 63
NAME_PATTERN = re.compile(r"^[a-z][a-z\-0-9]*$")
_NAME_ALPHABET = string.ascii_lowercase + string.digits


@dataclass(frozen=True)
class Caller:
    """Who is calling: the principal Admin writes into the execution metadata."""

    principal: str = ""


def generate_name() -> str:
    # Admin's generated names: 'a' then 19 random characters (execution_manager.go)
    return "a" + "".join(secrets.choice(_NAME_ALPHABET) for _ in range(19))


def check_name(name: str) -> None:
    lowered = name.lower()
    if len(lowered) > MAX_NAME_LENGTH:
        raise invalid(f"size of name exceeded length {MAX_NAME_LENGTH} : {name}")
    if not NAME_PATTERN.match(lowered):
        raise invalid(f"invalid name format: {name}, does not match regex '{NAME_PATTERN.pattern}'")


def execution_key(identifier: identifier_pb2.WorkflowExecutionIdentifier) -> dict[str, str]:
    return {"project": identifier.project, "domain": identifier.domain, "name": identifier.name}


class Executions:
    def __init__(
        self,
        store: Store,
        clock: Clock,
        projects: Projects,
        entities: Entities,
        launch_plans: LaunchPlans,
        attributes: Attributes,
        node_executions: NodeExecutions,
        cluster: str = "localadmin",
    ) -> None:
        self.store = store
        self.clock = clock
        self.projects = projects
        self.entities = entities
        self.launch_plans = launch_plans
        self.attributes = attributes
        self.node_executions = node_executions
        self.cluster = cluster

    # -- create ------------------------------------------------------------------------------

    def create(
        self,
        project: str,
        domain: str,
        name: str,
        spec: execution_pb2.ExecutionSpec,
        inputs: literals_pb2.LiteralMap,
        *,
        caller: Caller,
    ) -> identifier_pb2.WorkflowExecutionIdentifier:
        if not project:
            raise invalid("missing project")
        if not domain:
            raise invalid("missing domain")
        if name:
            check_name(name)
        else:
            name = generate_name()
        self.projects.check_project_domain(project, domain)
        if not spec.HasField("launch_plan"):
            raise invalid("missing id")
        reference = spec.launch_plan
        for field_name in ("project", "domain", "name", "version"):
            if not getattr(reference, field_name):
                raise invalid(f"missing {field_name}")
        if reference.resource_type not in (ResourceType.LAUNCH_PLAN, ResourceType.TASK):
            raise invalid(
                f"Invalid reference entity resource type "
                f"[{ResourceType.Name(reference.resource_type)}], only [LAUNCH_PLAN TASK] allowed"
            )
        # validation/execution_validator.go ValidateExecutionRequest: the request's own labels,
        # before anything is fetched (launch plan labels were checked when it was registered)
        check_labels(spec.labels.values)
        launch_plan = self._launch_plan_for(spec.launch_plan)
        full_inputs = _check_inputs(launch_plan, inputs)
        identifier = identifier_pb2.WorkflowExecutionIdentifier(
            project=project, domain=domain, name=name
        )
        single_task = reference.resource_type == ResourceType.TASK
        # launchExecution / launchSingleTaskExecution: the request's spec is what is stored,
        # after the server's own writes
        stored = execution_pb2.ExecutionSpec()
        stored.CopyFrom(spec)
        stored.metadata.principal = caller.principal
        if not single_task:
            # launchExecution sets ArtifactIds to the artifacts it used: none
            stored.metadata.ClearField("artifact_ids")
        self._inherit_from_parent(stored)
        # launchSingleTaskExecution calls getExecutionConfig without a launch plan, so neither
        # the generated launch plan nor workflow-level attributes take part (no workflow name)
        config = _execution_config(
            spec,
            None if single_task else launch_plan.spec,
            self.attributes.execution_layers(
                project, domain, "" if single_task else launch_plan.spec.workflow_id.name
            ),
            self.attributes.defaults,
        )
        if not single_task:
            # launchExecution: "Set the max parallelism based on the execution config"
            stored.max_parallelism = config.max_parallelism
        # transformers/execution.go CreateExecutionModel: SecurityContext and SystemMetadata
        stored.security_context.CopyFrom(config.security_context)
        stored.metadata.system_metadata.CopyFrom(
            execution_pb2.SystemMetadata(
                execution_cluster=self.cluster, namespace=f"{project}-{domain}"
            )
        )
        resolved = _resolved_spec(stored, config, self.projects.labels(project))
        with self.store.transaction():
            if self.store.get("executions", execution_key(identifier)) is not None:
                # Admin: a duplicate name in a project/domain is ALREADY_EXISTS
                raise already_exists(f"execution [{execution_text(identifier)}] already exists")
            self._check_concurrency(launch_plan)
            self._insert(
                identifier,
                stored,
                resolved,
                launch_plan,
                full_inputs,
                inputs=inputs,
                notifications=_notifications(spec, launch_plan.spec),
                tagged=not single_task,
            )
        return identifier

    def _inherit_from_parent(self, spec: execution_pb2.ExecutionSpec) -> None:
        """execution_manager.go getInheritedExecMetadata: an execution launched by a node
        execution (which must exist) takes the principal of the execution that node belongs
        to, one more nesting level than it, and its execution cluster label if it has one."""
        if not spec.metadata.HasField("parent_node_execution"):
            return
        parent_node = spec.metadata.parent_node_execution
        self.node_executions.row(parent_node)
        source_row = self._row(parent_node.execution_id)
        source = parse(execution_pb2.Execution, source_row["data"]).spec
        spec.metadata.principal = source_row["user"]
        spec.metadata.nesting = source.metadata.nesting + 1
        if source.HasField("execution_cluster_label"):
            spec.execution_cluster_label.CopyFrom(source.execution_cluster_label)

    def _check_concurrency(self, launch_plan: launch_plan_pb2.LaunchPlan) -> None:
        """execution_manager.go checkLaunchPlanConcurrency: QUEUED and RUNNING executions of any
        version of the launch plan count; at the limit a SKIP policy refuses the launch."""
        if not launch_plan.spec.HasField("concurrency_policy"):
            return
        policy = launch_plan.spec.concurrency_policy
        active = [Phase.Name(Phase.QUEUED), Phase.Name(Phase.RUNNING)]
        rows = self.store.select(
            "executions",
            [
                "project = ?",
                "domain = ?",
                "launch_plan_name = ?",
                "phase IN (?, ?)",
            ],
            [launch_plan.id.project, launch_plan.id.domain, launch_plan.id.name, *active],
            columns="seq",
        )
        if len(rows) < policy.max:
            return
        if policy.behavior == launch_plan_pb2.CONCURRENCY_LIMIT_BEHAVIOR_SKIP:
            raise already_exists(
                f"concurrency limit ({policy.max}) reached for launch plan "
                f"{launch_plan.id.name}; skipping execution"
            )
        if policy.behavior != launch_plan_pb2.CONCURRENCY_LIMIT_BEHAVIOR_UNSPECIFIED:
            raise AdminError(
                grpc.StatusCode.INTERNAL,
                f"unsupported concurrency-limit behavior: {policy.behavior}",
            )

    def _launch_plan_for(self, reference: identifier_pb2.Identifier) -> launch_plan_pb2.LaunchPlan:
        if reference.resource_type == ResourceType.TASK:
            return self.launch_plans.ensure_task_workflow(self.entities.get_task(reference))
        return self.launch_plans.get_launch_plan(reference)

    def _insert(
        self,
        identifier: identifier_pb2.WorkflowExecutionIdentifier,
        spec: execution_pb2.ExecutionSpec,
        resolved: execution_pb2.ExecutionSpec,
        launch_plan: launch_plan_pb2.LaunchPlan,
        full_inputs: literals_pb2.LiteralMap,
        *,
        inputs: literals_pb2.LiteralMap,
        notifications: Sequence[common_pb2.Notification],
        tagged: bool,
    ) -> None:
        user_inputs = inputs
        now = self.clock.now()
        # CreateExecutionModel: the state change's principal and the user column are the
        # principal in the stored spec's metadata (the caller's, or the parent execution's)
        principal = spec.metadata.principal
        workflow_id = launch_plan.spec.workflow_id
        execution = execution_pb2.Execution(
            id=identifier,
            spec=spec,
            closure=execution_pb2.ExecutionClosure(
                phase=Phase.QUEUED,
                created_at=timestamp(now),
                updated_at=timestamp(now),
                notifications=notifications,
                workflow_id=workflow_id,
                state_change_details=execution_pb2.ExecutionStateChangeDetails(
                    state=ExecutionState.EXECUTION_ACTIVE,
                    occurred_at=timestamp(now),
                    principal=principal,
                ),
            ),
        )
        task = spec.launch_plan if spec.launch_plan.resource_type == ResourceType.TASK else None
        parent = spec.metadata.parent_node_execution
        self.store.insert(
            "executions",
            {
                **execution_key(identifier),
                "phase": Phase.Name(Phase.QUEUED),
                "state": ExecutionState.EXECUTION_ACTIVE,
                "mode": spec.metadata.mode,
                "created_at": now,
                "updated_at": now,
                "started_at": None,
                "duration": 0.0,
                "launch_plan_project": launch_plan.id.project,
                "launch_plan_domain": launch_plan.id.domain,
                "launch_plan_name": launch_plan.id.name,
                "launch_plan_version": launch_plan.id.version,
                "workflow_project": workflow_id.project,
                "workflow_domain": workflow_id.domain,
                "workflow_name": workflow_id.name,
                "workflow_version": workflow_id.version,
                "task_name": task.name if task else "",
                "task_version": task.version if task else "",
                "launch_entity": "task" if task else "launch_plan",
                "user": principal,
                "error_code": "",
                "error_kind": "",
                "parent_node_id": parent.node_id,
                "parent_execution_name": parent.execution_id.name,
                "data": execution.SerializeToString(),
                "inputs": full_inputs.SerializeToString(),
                "user_inputs": user_inputs.SerializeToString(),
                "outputs": None,
                "resolved": resolved.SerializeToString(),
            },
        )
        if not tagged:
            # launchExecutionAndPrepareModel: a single-task execution gets no tag rows
            return
        # transformers/execution.go CreateExecutionTagModel: the request's labels (not the
        # resolved ones) and tags land in execution_tags
        tags = [(k, v) for k, v in spec.labels.values.items()] + [(t, "") for t in spec.tags]
        for key, value in tags:
            self.store.insert(
                "execution_tags",
                {**_tag_key(identifier), "key": key, "value": value},
            )

    def create_child(
        self,
        parent: execution_pb2.Execution,
        node_id: str,
        launch_plan_id: identifier_pb2.Identifier,
        inputs: literals_pb2.LiteralMap,
        name: str,
    ) -> identifier_pb2.WorkflowExecutionIdentifier:
        """A launch-plan node's child execution, recorded with its parent node execution (which
        must already exist: create takes the principal and nesting from it, as Admin does)."""
        spec = execution_pb2.ExecutionSpec(
            launch_plan=launch_plan_id,
            metadata=execution_pb2.ExecutionMetadata(
                mode=Mode.CHILD_WORKFLOW,
                parent_node_execution=identifier_pb2.NodeExecutionIdentifier(
                    node_id=node_id, execution_id=parent.id
                ),
            ),
        )
        caller = Caller(parent.spec.metadata.principal)
        return self.create(parent.id.project, parent.id.domain, name, spec, inputs, caller=caller)

    def relaunch(
        self,
        identifier: identifier_pb2.WorkflowExecutionIdentifier,
        name: str,
        *,
        caller: Caller,
        overwrite_cache: bool,
    ) -> identifier_pb2.WorkflowExecutionIdentifier:
        """execution_manager.go RelaunchExecution: the original spec and user inputs, mode
        RELAUNCH, the reference, and the request's overwrite_cache; no phase check."""
        spec, user_inputs = self._copy(identifier, execution_pb2.ExecutionMetadata.RELAUNCH)
        spec.overwrite_cache = overwrite_cache
        return self.create(
            identifier.project, identifier.domain, name, spec, user_inputs, caller=caller
        )

    def recover(
        self,
        identifier: identifier_pb2.WorkflowExecutionIdentifier,
        name: str,
        metadata: execution_pb2.ExecutionMetadata | None,
        *,
        caller: Caller,
    ) -> identifier_pb2.WorkflowExecutionIdentifier:
        """execution_manager.go RecoverExecution: like relaunch with mode RECOVERED; a request
        that carries metadata sets the parent node execution from it."""
        spec, user_inputs = self._copy(identifier, execution_pb2.ExecutionMetadata.RECOVERED)
        if metadata is not None:
            spec.metadata.parent_node_execution.CopyFrom(metadata.parent_node_execution)
            if not metadata.HasField("parent_node_execution"):
                spec.metadata.ClearField("parent_node_execution")
        return self.create(
            identifier.project, identifier.domain, name, spec, user_inputs, caller=caller
        )

    def _copy(
        self,
        identifier: identifier_pb2.WorkflowExecutionIdentifier,
        mode: execution_pb2.ExecutionMetadata.ExecutionMode,
    ) -> tuple[execution_pb2.ExecutionSpec, literals_pb2.LiteralMap]:
        row = self._row(identifier)
        spec = parse(execution_pb2.Execution, row["data"]).spec
        spec.metadata.mode = mode
        spec.metadata.reference_execution.CopyFrom(identifier)
        return spec, parse(literals_pb2.LiteralMap, row["user_inputs"])

    # -- read --------------------------------------------------------------------------------

    def _row(self, identifier: identifier_pb2.WorkflowExecutionIdentifier) -> Row:
        for field_name in ("project", "domain", "name"):
            if not getattr(identifier, field_name):
                raise invalid(f"missing {field_name}")
        row = self.store.get("executions", execution_key(identifier))
        if row is None:
            raise not_found(missing("execution", execution_text(identifier)))
        return row

    def get(
        self, identifier: identifier_pb2.WorkflowExecutionIdentifier
    ) -> execution_pb2.Execution:
        return parse(execution_pb2.Execution, self._row(identifier)["data"])

    def resolved_spec(
        self, identifier: identifier_pb2.WorkflowExecutionIdentifier
    ) -> execution_pb2.ExecutionSpec:
        """The spec a real cluster runs the execution with: the stored spec with every setting
        resolved (request > launch plan > matchable WORKFLOW_EXECUTION_CONFIG > server
        defaults, project labels added), what Admin hands the workflow CRD.

        It is computed once, at create time, and stored next to the execution, because that
        is when Admin builds the CRD: matchable attributes changed later do not reach a
        running execution, and a launch plan version or project can change its labels
        afterwards too. Rows written before the column existed (schema version 2) stored the
        resolved spec as the execution's spec, so that spec answers for them."""
        return self.resolved_from_row(self._row(identifier))

    @staticmethod
    def resolved_from_row(row: Row) -> execution_pb2.ExecutionSpec:
        if row["resolved"] is None:
            return parse(execution_pb2.Execution, row["data"]).spec
        return parse(execution_pb2.ExecutionSpec, row["resolved"])

    def get_data(
        self, identifier: identifier_pb2.WorkflowExecutionIdentifier
    ) -> execution_pb2.WorkflowExecutionGetDataResponse:
        return data_response(execution_pb2.WorkflowExecutionGetDataResponse, self._row(identifier))

    def list_executions(
        self, request: common_pb2.ResourceListRequest
    ) -> tuple[list[execution_pb2.Execution], str]:
        if not request.id.project:
            raise invalid("missing project")
        if not request.id.domain:
            raise invalid("missing domain")
        offset = filters.page(request.limit, request.token)
        where = filters.Where()
        where.add("project = ?", request.id.project)
        where.add("domain = ?", request.id.domain)
        if request.id.name:  # optional for executions, as in Admin
            where.add("name = ?", request.id.name)
        filters.parse_filters("execution", request.filters, where)
        if not filters.names_filtered(where, ["state"]):
            # Admin hides archived executions unless the filter names state
            where.add("state = ?", ExecutionState.EXECUTION_ACTIVE)
        rows, token = filters.select_page(
            self.store, "executions", "execution", where, request, offset
        )
        return [parse(execution_pb2.Execution, r["data"]) for r in rows], token

    # -- update ------------------------------------------------------------------------------

    def save(self, execution: execution_pb2.Execution, **columns: Any) -> None:
        closure = execution.closure
        values: dict[str, Any] = {
            "phase": Phase.Name(closure.phase),
            "updated_at": closure.updated_at.ToNanoseconds() / 1e9,
            "data": execution.SerializeToString(),
            **columns,
        }
        self.store.update("executions", execution_key(execution.id), values)

    def terminate(
        self, identifier: identifier_pb2.WorkflowExecutionIdentifier, cause: str, caller: Caller
    ) -> None:
        with self.store.transaction():
            execution = self.get(identifier)
            if execution.closure.phase in TERMINAL:
                # Admin: terminating a terminal execution is FAILED_PRECONDITION
                raise failed_precondition(
                    "Cannot abort an already terminated workflow execution "
                    f"[{execution_text(identifier)}] in phase "
                    f"{Phase.Name(execution.closure.phase)}"
                )
            now = self.clock.now()
            execution.closure.phase = Phase.ABORTING
            execution.closure.abort_metadata.CopyFrom(
                execution_pb2.AbortMetadata(cause=cause, principal=caller.principal)
            )
            execution.closure.updated_at.CopyFrom(timestamp(now))
            self.save(execution)

    def update_state(
        self,
        identifier: identifier_pb2.WorkflowExecutionIdentifier,
        state: execution_pb2.ExecutionState,
        caller: Caller,
    ) -> None:
        if state not in (ExecutionState.EXECUTION_ACTIVE, ExecutionState.EXECUTION_ARCHIVED):
            raise invalid(f"unknown execution state {state}")
        with self.store.transaction():
            execution = self.get(identifier)
            now = self.clock.now()
            execution.closure.state_change_details.CopyFrom(
                execution_pb2.ExecutionStateChangeDetails(
                    state=state, occurred_at=timestamp(now), principal=caller.principal
                )
            )
            self.store.update(
                "executions",
                execution_key(identifier),
                {"state": state, "data": execution.SerializeToString()},
            )


def _tag_key(identifier: identifier_pb2.WorkflowExecutionIdentifier) -> dict[str, str]:
    return {
        "project": identifier.project,
        "domain": identifier.domain,
        "execution_name": identifier.name,
    }


def _check_inputs(
    launch_plan: launch_plan_pb2.LaunchPlan, inputs: literals_pb2.LiteralMap
) -> literals_pb2.LiteralMap:
    """execution_validator.go CheckAndFetchInputsForExecution, in its order and wording: only
    expected inputs may be given, required ones must be, types must fit, and a fixed input (which
    is only "expected" when also a default) cannot be overridden."""
    expected = launch_plan.closure.expected_inputs.parameters
    fixed = launch_plan.spec.fixed_inputs.literals
    for name in inputs.literals:
        if name not in expected:
            raise invalid(f"invalid input {name}")
    full = literals_pb2.LiteralMap()
    for name in sorted(expected):
        parameter = expected[name]
        if name not in inputs.literals:
            if parameter.required:
                raise invalid(f"expected_inputs {name} missing")
            full.literals[name].CopyFrom(parameter.default)
            continue
        given = inputs.literals[name]
        if not literals.fits(given, parameter.var.type):
            raise invalid(
                f"invalid {name} input wrong type. Expected "
                f"{literals.type_name(parameter.var.type)}"
            )
        full.literals[name].CopyFrom(given)
    for name, literal in fixed.items():
        if name in inputs.literals:
            raise invalid(f"fixed_inputs {name} cannot be overridden")
        full.literals[name].CopyFrom(literal)
    return full


def _execution_config(
    request: execution_pb2.ExecutionSpec,
    launch_plan: launch_plan_pb2.LaunchPlanSpec | None,
    matchable: Sequence[matchable_resource_pb2.WorkflowExecutionConfig] = (),
    defaults: matchable_resource_pb2.WorkflowExecutionConfig | None = None,
) -> matchable_resource_pb2.WorkflowExecutionConfig:
    """execution_manager.go getExecutionConfig: each field from the first of the request, the
    launch plan (none for a single task), the matchable WORKFLOW_EXECUTION_CONFIG layers (most
    specific first, then the project's row), the deprecated auth roles (security context only)
    and the server defaults that sets it. An empty value never wins and maps are taken whole
    (util/shared.go MergeIntoExecConfig). The result always has a security context, with an
    empty ``run_as`` when nothing names an identity."""
    config = matchable_resource_pb2.WorkflowExecutionConfig()
    layers: list[Any] = [request]
    if launch_plan is not None:
        layers.append(launch_plan)
    for layer in (*layers, *matchable):
        merge_exec_config(config, layer)
    if not config.HasField("security_context"):
        role = _auth_role(request, launch_plan)
        if role.kubernetes_service_account or role.assumable_iam_role:
            config.security_context.run_as.k8s_service_account = role.kubernetes_service_account
            config.security_context.run_as.iam_role = role.assumable_iam_role
    if defaults is not None:
        merge_exec_config(config, defaults)
    config.security_context.run_as.SetInParent()
    return config


def _resolved_spec(
    stored: execution_pb2.ExecutionSpec,
    config: matchable_resource_pb2.WorkflowExecutionConfig,
    project_labels: Mapping[str, str],
) -> execution_pb2.ExecutionSpec:
    """The stored spec with every setting the workflow CRD gets (launchExecution's
    ExecutionParameters): labels, annotations, envs, raw output data config, interruptible,
    overwrite cache, max parallelism and security context from ``config``; labels then get the
    project's labels for the keys they do not have (addProjectLabels)."""
    resolved = execution_pb2.ExecutionSpec()
    resolved.CopyFrom(stored)
    for field_name in ("annotations", "envs", "raw_output_data_config"):
        resolved.ClearField(field_name)
        if config.HasField(field_name):
            getattr(resolved, field_name).CopyFrom(getattr(config, field_name))
    labels = dict(config.labels.values)
    for key, value in project_labels.items():
        labels.setdefault(key, value)
    resolved.ClearField("labels")
    if labels:
        resolved.labels.values.update(labels)
    resolved.ClearField("interruptible")
    if config.HasField("interruptible"):
        resolved.interruptible.CopyFrom(config.interruptible)
    resolved.overwrite_cache = config.overwrite_cache
    resolved.max_parallelism = config.max_parallelism
    resolved.security_context.CopyFrom(config.security_context)
    return resolved


def _notifications(
    request: execution_pb2.ExecutionSpec, launch_plan: launch_plan_pb2.LaunchPlanSpec
) -> list[common_pb2.Notification]:
    """launchExecution: the request's notifications when it has some, none when it disables
    them all, else the launch plan's. They go to the closure, not the stored spec."""
    if request.notifications.notifications:
        return list(request.notifications.notifications)
    if request.disable_all:
        return []
    return list(launch_plan.entity_metadata.notifications)


def _auth_role(
    request: execution_pb2.ExecutionSpec, launch_plan: launch_plan_pb2.LaunchPlanSpec | None
) -> common_pb2.AuthRole:
    """execution_manager.go resolveAuthRole: the deprecated ways of naming an identity."""
    if request.HasField("auth_role"):
        return request.auth_role
    if launch_plan is None:
        return common_pb2.AuthRole()
    if launch_plan.HasField("auth_role"):
        return launch_plan.auth_role
    if launch_plan.HasField("auth"):
        return common_pb2.AuthRole(
            assumable_iam_role=launch_plan.auth.assumable_iam_role,
            kubernetes_service_account=launch_plan.auth.kubernetes_service_account,
        )
    return common_pb2.AuthRole(assumable_iam_role=launch_plan.role)
