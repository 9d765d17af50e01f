"""Launch plans: registration, lookup, activation, listing of the active ones; and the
workflow and launch plan Admin generates to run a single task. This module is the one writer
of the ``launch_plans`` table.

The rules follow FlyteAdmin v1.16.8 (ADMIN-SEMANTICS.md; the paths below are in flyteorg/flyte,
``flyteadmin/pkg/``), with Admin's wording for every error:

* registration follows the rule of tasks and workflows (:mod:`entities`): identical spec
  ``ALREADY_EXISTS``, different spec ``INVALID_ARGUMENT`` with a path diff;
* launch plans are stored ``INACTIVE``; activating one deactivates the active version of the same
  name in the same transaction (``repositories/gormimpl/launch_plan_repo.go SetActive``); the
  closure's ``expected_inputs`` (defaults first, fixed-only inputs dropped, the rest required)
  also replace the spec's ``default_inputs``, as ``validation/launch_plan_validator.go`` does;
  schedules are checked in Admin's order (unbound required input, kickoff argument, cron syntax).
"""

from __future__ import annotations

import hashlib

import grpc
from croniter import croniter
from flyteidl.admin import common_pb2, launch_plan_pb2, schedule_pb2, task_pb2, workflow_pb2
from flyteidl.core import identifier_pb2, interface_pb2, literals_pb2, types_pb2
from flyteidl.core import workflow_pb2 as core_wf_pb2

from reconciler.localadmin import filters, literals
from reconciler.localadmin.clock import Clock
from reconciler.localadmin.entities import Entities, ResourceType, entity_key, validate_id
from reconciler.localadmin.errors import AdminError, already_exists, invalid, not_found
from reconciler.localadmin.projects import Projects, check_labels
from reconciler.localadmin.protos import digest, id_text, json_diff, missing, parse, timestamp
from reconciler.localadmin.store import Row, Store

LaunchPlanState = launch_plan_pb2.LaunchPlanState

# Admin names the workflow and launch plan it generates for a single-task execution like this
# (flyteadmin/pkg/manager/impl/util/single_task_execution.go).
SYSTEM_NAME_PREFIX = ".flytegen."

# FixedLengthUniqueID's limit for the generated node id (flytestdlib utils.MaxUniqueIDLength)
MAX_UNIQUE_ID_LENGTH = 20


class LaunchPlans:
    def __init__(self, store: Store, clock: Clock, projects: Projects, entities: Entities):
        self.store = store
        self.clock = clock
        self.projects = projects
        self.entities = entities

    def ensure_task_workflow(self, task: task_pb2.Task) -> launch_plan_pb2.LaunchPlan:
        """The workflow and launch plan Admin generates to run one task on its own."""
        task_id = task.id
        wf_id = identifier_pb2.Identifier(
            resource_type=ResourceType.WORKFLOW,
            project=task_id.project,
            domain=task_id.domain,
            name=SYSTEM_NAME_PREFIX + task_id.name,
            version=task_id.version,
        )
        lp_id = identifier_pb2.Identifier()
        lp_id.CopyFrom(wf_id)
        lp_id.resource_type = ResourceType.LAUNCH_PLAN
        with self.store.transaction():
            if self.store.get("workflows", entity_key(wf_id)) is None:
                template = task.closure.compiled_task.template
                node_id = single_task_node_id(task_id.name)
                node = core_wf_pb2.Node(
                    id=node_id,
                    metadata=core_wf_pb2.NodeMetadata(
                        name=node_id, retries=template.metadata.retries
                    ),
                    inputs=[
                        _promise_binding(name, "") for name in template.interface.inputs.variables
                    ],
                    task_node=core_wf_pb2.TaskNode(reference_id=task_id),
                )
                spec = workflow_pb2.WorkflowSpec(
                    template=core_wf_pb2.WorkflowTemplate(
                        id=wf_id,
                        interface=template.interface,
                        nodes=[node],
                        outputs=[
                            _promise_binding(name, node_id)
                            for name in template.interface.outputs.variables
                        ],
                    )
                )
                self.entities.create_workflow(wf_id, spec)
            if self.store.get("launch_plans", entity_key(lp_id)) is None:
                self.create_launch_plan(lp_id, launch_plan_pb2.LaunchPlanSpec(workflow_id=wf_id))
            return self.get_launch_plan(lp_id)

    def create_launch_plan(
        self, identifier: identifier_pb2.Identifier, spec: launch_plan_pb2.LaunchPlanSpec
    ) -> None:
        # launch_plan_manager.go: the workflow is looked up before the request is validated
        workflow = self.entities.get_workflow(spec.workflow_id)
        validate_id(identifier, ResourceType.LAUNCH_PLAN)
        self.projects.check_project_domain(identifier.project, identifier.domain)
        check_labels(spec.labels.values)
        interface = workflow.closure.compiled_workflow.primary.template.interface
        _check_parameters(spec.default_inputs)
        expected_inputs = _expected_inputs(interface, spec)
        _validate_schedule(spec, expected_inputs)
        # Admin stores the expected inputs as the spec's default inputs (ValidateLaunchPlan)
        stored = launch_plan_pb2.LaunchPlanSpec()
        stored.CopyFrom(spec)
        stored.default_inputs.CopyFrom(expected_inputs)
        spec = stored
        lp_digest = digest(spec)
        with self.store.transaction():
            existing = self.store.get("launch_plans", entity_key(identifier))
            if existing is not None:
                if existing["digest"] == lp_digest:
                    raise already_exists("launch plan with identical structure already exists")
                old = parse(launch_plan_pb2.LaunchPlan, existing["data"]).spec
                raise invalid(
                    f"{identifier.name} launch plan with different structure already exists. "
                    "(Please register a new version of the launch plan):\n"
                    + "\n".join(json_diff(old, spec))
                )
            now = self.clock.now()
            launch_plan = launch_plan_pb2.LaunchPlan(
                id=identifier,
                spec=spec,
                closure=launch_plan_pb2.LaunchPlanClosure(
                    # A new launch plan is always stored INACTIVE, see ADMIN-SEMANTICS.md
                    state=LaunchPlanState.INACTIVE,
                    expected_inputs=expected_inputs,
                    expected_outputs=interface.outputs,
                    created_at=timestamp(now),
                    updated_at=timestamp(now),
                ),
            )
            self.store.insert(
                "launch_plans",
                {
                    **entity_key(identifier),
                    "created_at": now,
                    "updated_at": now,
                    "state": LaunchPlanState.INACTIVE,
                    "schedule_type": _schedule_type(spec.entity_metadata.schedule),
                    "workflow_name": spec.workflow_id.name,
                    "workflow_version": spec.workflow_id.version,
                    "digest": lp_digest,
                    "data": launch_plan.SerializeToString(),
                },
            )

    def get_launch_plan(self, identifier: identifier_pb2.Identifier) -> launch_plan_pb2.LaunchPlan:
        validate_id(identifier, ResourceType.LAUNCH_PLAN)
        row = self.store.get("launch_plans", entity_key(identifier))
        if row is None:
            raise not_found(missing("launch_plan", id_text(identifier)))
        return _launch_plan(row)

    def get_active_launch_plan(
        self, identifier: common_pb2.NamedEntityIdentifier
    ) -> launch_plan_pb2.LaunchPlan:
        for field_name in ("project", "domain", "name"):
            if not getattr(identifier, field_name):
                raise invalid(f"missing {field_name}")
        rows = self.store.select(
            "launch_plans",
            ["project = ?", "domain = ?", "name = ?", "state = ?"],
            [identifier.project, identifier.domain, identifier.name, LaunchPlanState.ACTIVE],
        )
        if not rows:
            # Admin: NOT_FOUND when no version is active, see ADMIN-SEMANTICS.md
            raise not_found(
                f"No active launch plan could be found: "
                f"{identifier.project}:{identifier.domain}:{identifier.name}"
            )
        return _launch_plan(rows[0])

    def update_launch_plan(
        self, identifier: identifier_pb2.Identifier, state: launch_plan_pb2.LaunchPlanState
    ) -> None:
        validate_id(identifier, ResourceType.LAUNCH_PLAN)
        if state not in (LaunchPlanState.ACTIVE, LaunchPlanState.INACTIVE):
            raise invalid(f"Unrecognized launch plan state {state} for update")
        with self.store.transaction():
            target = self.get_launch_plan(identifier)
            now = self.clock.now()
            schedule = target.spec.entity_metadata.schedule
            if state == LaunchPlanState.ACTIVE and schedule.cron_expression:
                # Admin's native scheduler only reads cron_schedule: the deprecated field is
                # accepted at registration and fails at activation as INTERNAL (ADMIN-SEMANTICS)
                # (scheduler/dbapi/event_scheduler_impl.go AddSchedule)
                raise AdminError(
                    grpc.StatusCode.INTERNAL,
                    "failed adding schedule for unknown schedule expression type "
                    f"cron_expression:{schedule.cron_expression!r} (use cron_schedule)",
                )
            if state == LaunchPlanState.ACTIVE:
                # One active version per name: deactivate the old one in the same transaction
                # (gormimpl/launch_plan_repo.go SetActive).
                for row in self.store.select(
                    "launch_plans",
                    ["project = ?", "domain = ?", "name = ?", "state = ?", "version <> ?"],
                    [
                        identifier.project,
                        identifier.domain,
                        identifier.name,
                        LaunchPlanState.ACTIVE,
                        identifier.version,
                    ],
                ):
                    self._set_state(_launch_plan(row), LaunchPlanState.INACTIVE, now)
            self._set_state(target, state, now)

    def _set_state(
        self,
        launch_plan: launch_plan_pb2.LaunchPlan,
        state: launch_plan_pb2.LaunchPlanState,
        now: float,
    ) -> None:
        launch_plan.closure.state = state
        launch_plan.closure.updated_at.CopyFrom(timestamp(now))
        self.store.update(
            "launch_plans",
            entity_key(launch_plan.id),
            {"state": state, "updated_at": now, "data": launch_plan.SerializeToString()},
        )

    def active_scheduled_launch_plans(self) -> list[launch_plan_pb2.LaunchPlan]:
        rows = self.store.select(
            "launch_plans",
            ["state = ?", "schedule_type <> ?"],
            [LaunchPlanState.ACTIVE, "NONE"],
        )
        return [_launch_plan(r) for r in rows]

    def list_active_launch_plans(
        self, request: launch_plan_pb2.ActiveLaunchPlanListRequest
    ) -> tuple[list[launch_plan_pb2.LaunchPlan], str]:
        if not request.project:
            raise invalid("missing project")
        if not request.domain:
            raise invalid("missing domain")
        offset = filters.page(request.limit, request.token)
        where = filters.Where()
        where.add("project = ?", request.project)
        where.add("domain = ?", request.domain)
        where.add("state = ?", LaunchPlanState.ACTIVE)
        rows, token = filters.select_page(
            self.store, "launch_plans", "launch_plan", where, request, offset
        )
        return [_launch_plan(r) for r in rows], token


def single_task_node_id(task_name: str) -> str:
    """Admin keeps letters, digits and '-' of the task name (generateNodeNameFromTask)."""
    kept = "".join(c for c in task_name if c == "-" or c.isalnum())
    if len(kept) <= MAX_UNIQUE_ID_LENGTH:
        return kept
    # FixedLengthUniqueID hashes longer ids; any stable short id serves the same purpose here
    return "f" + hashlib.sha256(kept.encode()).hexdigest()[: MAX_UNIQUE_ID_LENGTH - 1]


def _promise_binding(var: str, node_id: str) -> literals_pb2.Binding:
    return literals_pb2.Binding(
        var=var,
        binding=literals_pb2.BindingData(
            promise=types_pb2.OutputReference(node_id=node_id, var=var)
        ),
    )


def _launch_plan(row: Row) -> launch_plan_pb2.LaunchPlan:
    return parse(launch_plan_pb2.LaunchPlan, row["data"])


def _schedule_type(schedule: schedule_pb2.Schedule) -> str:
    if schedule.HasField("cron_schedule") or schedule.cron_expression:
        return "CRON"
    if schedule.HasField("rate"):
        return "RATE"
    return "NONE"


def _check_parameters(defaults: interface_pb2.ParameterMap) -> None:
    """validation.go validateParameterMap for default_inputs."""
    for name, parameter in defaults.parameters.items():
        if not parameter.var.HasField("type"):
            raise invalid(
                f"The Variable component of the Parameter {name} in default_inputs either is "
                "missing, or has a missing Type"
            )
        if not parameter.HasField("default") and not parameter.required:
            raise invalid(
                f"Invalid variable {name} in default_inputs - variable has neither default, "
                "nor is required. One must be specified"
            )
        if parameter.HasField("default") and not literals.fits(
            parameter.default, parameter.var.type
        ):
            raise invalid(
                f"Type mismatch for Parameter {name} in default_inputs has type "
                f"{literals.type_name(parameter.var.type)}, expected a value of that type"
            )


def _expected_inputs(
    interface: interface_pb2.TypedInterface, spec: launch_plan_pb2.LaunchPlanSpec
) -> interface_pb2.ParameterMap:
    """launch_plan_validator.go checkAndFetchExpectedInputForLaunchPlan, messages included:
    defaults win, fixed inputs drop out, the rest become required."""
    variables = interface.inputs.variables
    defaults = spec.default_inputs.parameters
    fixed = spec.fixed_inputs.literals
    if not variables:
        if defaults:
            raise invalid(
                f"invalid launch plan default inputs, expected none but found {len(defaults)}"
            )
        if fixed:
            raise invalid(f"invalid launch plan fixed inputs, expected none but found {len(fixed)}")
        return interface_pb2.ParameterMap()
    for name, parameter in defaults.items():
        if name not in variables:
            raise invalid(f"unexpected default_input {name}")
        if not literals.same_type(parameter.var.type, variables[name].type):
            raise invalid(
                f"invalid default_input wrong type {name}, expected "
                f"{literals.type_name(parameter.var.type)}, got "
                f"{literals.type_name(variables[name].type)} instead"
            )
    for name, literal in fixed.items():
        if name not in variables:
            raise invalid(f"unexpected fixed_input {name}")
        if not literals.fits(literal, variables[name].type):
            raise invalid(
                f"invalid fixed_input wrong type {name}, expected "
                f"{literals.type_name(variables[name].type)}"
            )
    expected = interface_pb2.ParameterMap()
    for name, variable in variables.items():
        if name in defaults:
            expected.parameters[name].CopyFrom(defaults[name])
        elif name not in fixed:
            expected.parameters[name].CopyFrom(
                interface_pb2.Parameter(
                    var=interface_pb2.Variable(
                        type=variable.type, description=variable.description
                    ),
                    required=True,
                )
            )
    return expected


_DESCRIPTORS = {"@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly"}


def _validate_schedule(
    spec: launch_plan_pb2.LaunchPlanSpec, expected: interface_pb2.ParameterMap
) -> None:
    """launch_plan_validator.go validateSchedule, in its order and with its messages."""
    schedule = spec.entity_metadata.schedule
    if _schedule_type(schedule) == "NONE":
        return
    arg = schedule.kickoff_time_input_arg
    for name in sorted(expected.parameters):
        if expected.parameters[name].required and name != arg:
            raise invalid(
                "Cannot create a launch plan with a schedule if there is an unbound required "
                f"input. [{name}] is required"
            )
    if arg:
        parameter = expected.parameters.get(arg)
        if parameter is None:
            raise invalid(
                "Cannot create a schedule with a KickoffTimeInputArg that does not point to a "
                f"free input. [{arg}] is not free or does not exist."
            )
        if not literals.is_datetime(parameter.var.type):
            raise invalid(
                f"KickoffTimeInputArg must reference a datetime input. [{arg}] is a "
                f"[{literals.type_name(parameter.var.type)}]"
            )
    expression = schedule.cron_expression or schedule.cron_schedule.schedule
    if expression and not _standard_cron(expression):
        # robfig/cron ParseStandard: five fields or a descriptor
        raise invalid(f"Invalid cron expression: {expression}")


def _standard_cron(expression: str) -> bool:
    text = expression.strip()
    if text.startswith("@every "):
        try:
            return filters.parse_duration(text.removeprefix("@every ").strip()) > 0
        except AdminError:
            return False
    if text in _DESCRIPTORS:
        return True
    return len(text.split()) == 5 and bool(croniter.is_valid(text))
