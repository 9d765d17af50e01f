"""Projects, tasks, workflows and launch plans: registration, lookup, listing, activation.

The rules follow FlyteAdmin v1.16.8 (ADMIN-SEMANTICS.md; the paths below are in flyteorg/flyte,
``flyteadmin/pkg/``), with Admin's wording for every error:

* an identifier registered again with an identical spec is ``ALREADY_EXISTS``; with a different
  spec it is ``INVALID_ARGUMENT`` "<name> ... with different structure already exists. (Please
  register a new version ...)" followed by a path diff (``errors/errors.go``); workflows attach
  a ``CreateWorkflowFailureReason`` detail either way;
* identity is a digest of the stored closure/spec (``manager/impl/util/digests.go``);
* a workflow is "compiled" by checking that every referenced task, launch plan and sub-workflow
  exists (else ``INVALID_ARGUMENT`` "failed to compile workflow ...") and by building the
  ``CompiledWorkflowClosure`` flytekit reads back: primary template with propeller's
  ``start-node``/``end-node`` added, compiled sub-workflows, compiled referenced tasks and
  connections. Type-checking of bindings, which propeller's compiler does, is not reproduced;
* launch plans are stored ``INACTIVE``; activating one deactivates the active version of the same
  name in the same transaction (``repositories/gormimpl/launch_plan_repo.go SetActive``); the
  closure's ``expected_inputs`` (defaults first, fixed-only inputs dropped, the rest required)
  also replace the spec's ``default_inputs``, as ``validation/launch_plan_validator.go`` does;
  schedules are checked in Admin's order (unbound required input, kickoff argument, cron syntax);
* projects follow ``validation/project_validator.go``; archived projects refuse registrations.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from typing import Any

import grpc
from croniter import croniter
from flyteidl.admin import (
    common_pb2,
    launch_plan_pb2,
    project_pb2,
    schedule_pb2,
    task_pb2,
    workflow_pb2,
)
from flyteidl.core import compiler_pb2, identifier_pb2, interface_pb2, literals_pb2, types_pb2
from flyteidl.core import workflow_pb2 as core_wf_pb2

from reconciler.localadmin import filters, literals
from reconciler.localadmin.clock import Clock
from reconciler.localadmin.errors import AdminError, already_exists, invalid, not_found
from reconciler.localadmin.protos import digest, id_text, json_diff, missing, parse, timestamp
from reconciler.localadmin.store import Row, Store

ResourceType = identifier_pb2.ResourceType
LaunchPlanState = launch_plan_pb2.LaunchPlanState

DEFAULT_DOMAINS = ("development", "staging", "production")
DEFAULT_PROJECT = "flytesnacks"

# Admin names the workflow and launch plan it generates for a single-task execution like this
# (flyteadmin/pkg/manager/impl/util/single_task_execution.go).
SYSTEM_NAME_PREFIX = ".flytegen."
START_NODE = "start-node"
END_NODE = "end-node"
SYSTEM_NODES = frozenset({START_NODE, END_NODE})

# FixedLengthUniqueID's limit for the generated node id (flytestdlib utils.MaxUniqueIDLength)
MAX_UNIQUE_ID_LENGTH = 20


class Registry:
    def __init__(self, store: Store, clock: Clock, domains: tuple[str, ...] = DEFAULT_DOMAINS):
        self.store = store
        self.clock = clock
        self.domains = domains

    # -- projects ----------------------------------------------------------------------------

    def ensure_project(self, identifier: str, name: str | None = None) -> None:
        with self.store.transaction():
            if self.store.get("projects", {"identifier": identifier}) is None:
                self.register_project(project_pb2.Project(id=identifier, name=name or identifier))

    def register_project(self, project: project_pb2.Project) -> None:
        """project_manager.go CreateProject with validation/project_validator.go's rules."""
        if not project.name:
            raise invalid("missing project_name")
        _validate_project(project)
        with self.store.transaction():
            if self.store.get("projects", {"identifier": project.id}) is not None:
                # Admin surfaces the unique-key violation of its projects table
                raise already_exists(f"value with matching already exists (project {project.id})")
            self.store.insert(
                "projects",
                {
                    "identifier": project.id,
                    "name": project.name,
                    "state": project.state,
                    "created_at": self.clock.now(),
                    "data": project.SerializeToString(),
                },
            )

    def _project(self, row: Row) -> project_pb2.Project:
        project = parse(project_pb2.Project, row["data"])
        project.state = row["state"]
        project.domains.extend(project_pb2.Domain(id=d, name=d) for d in self.domains)
        return project

    def get_project(self, identifier: str) -> project_pb2.Project:
        if not identifier:
            raise invalid("missing project_id")
        row = self.store.get("projects", {"identifier": identifier})
        if row is None:
            raise not_found(missing("project", identifier))
        return self._project(row)

    def update_project(self, project: project_pb2.Project) -> None:
        """project_manager.go UpdateProject: must exist, then the same validation as create."""
        with self.store.transaction():
            self.get_project(project.id)
            _validate_project(project)
            self.store.update(
                "projects",
                {"identifier": project.id},
                {"name": project.name, "state": project.state, "data": project.SerializeToString()},
            )

    def list_projects(
        self, limit: int, token: str, filter_text: str, sort: common_pb2.Sort | None
    ) -> tuple[list[project_pb2.Project], str]:
        """project_manager.go ListProjects: no limit means all; without filters archived
        projects are hidden; the default order is by identifier."""
        if token and not token.isdigit():
            raise invalid(f"invalid pagination token {token} for ListProjects")
        offset = int(token or 0)
        where = filters.parse_filters("project", filter_text)
        if not where.clauses:
            where.add("state <> ?", project_pb2.Project.ARCHIVED)
        rows = self.store.select(
            "projects",
            where.clauses,
            where.params,
            order_by=filters.order_by("project", sort, default="identifier ASC"),
            limit=limit or None,
            offset=offset,
        )
        return [self._project(r) for r in rows], filters.next_token(offset, limit, len(rows))

    def check_project_domain(self, project: str, domain: str) -> None:
        """validation/project_validator.go ValidateProjectAndDomain, messages included."""
        row = self.store.get("projects", {"identifier": project})
        if row is None:
            raise invalid(
                f"failed to validate that project [{project}] and domain [{domain}] are "
                f"registered, err: [{missing('project', project)}]"
            )
        if row["state"] != project_pb2.Project.ACTIVE:
            raise invalid(f"project [{project}] is not active")
        if domain not in self.domains:
            raise invalid(f"domain [{domain}] is unrecognized by system")

    # -- identifiers -------------------------------------------------------------------------

    def validate_id(
        self, identifier: identifier_pb2.Identifier, kind: int, need_version: bool = True
    ) -> None:
        """validation.go ValidateIdentifier: the resource type first, then every field."""
        if identifier.resource_type != kind:
            raise invalid(
                f"unexpected resource type {ResourceType.Name(identifier.resource_type).lower()} "
                f"for identifier [{id_text(identifier)}], "
                f"expected {ResourceType.Name(kind).lower()} instead"
            )
        for field_name in ("project", "domain", "name") + (("version",) if need_version else ()):
            if not getattr(identifier, field_name):
                raise invalid(f"missing {field_name}")

    @staticmethod
    def _key(identifier: identifier_pb2.Identifier) -> dict[str, str]:
        return {
            "project": identifier.project,
            "domain": identifier.domain,
            "name": identifier.name,
            "version": identifier.version,
        }

    # -- tasks -------------------------------------------------------------------------------

    def create_task(self, identifier: identifier_pb2.Identifier, spec: task_pb2.TaskSpec) -> None:
        self.validate_id(identifier, ResourceType.TASK)
        self.check_project_domain(identifier.project, identifier.domain)
        if not spec.HasField("template"):
            raise invalid("missing spec")
        template = spec.template.__class__()
        template.CopyFrom(spec.template)
        template.id.CopyFrom(identifier)  # Admin stores the template under the request's id
        compiled = compiler_pb2.CompiledTask(template=template)
        task_digest = digest(compiled)
        with self.store.transaction():
            existing = self.store.get("tasks", self._key(identifier))
            if existing is not None:
                old = parse(task_pb2.Task, existing["data"]).closure.compiled_task
                if existing["digest"] == task_digest:
                    # Admin returns ALREADY_EXISTS for an identical spec, see ADMIN-SEMANTICS.md
                    raise already_exists("task with identical structure already exists")
                raise invalid(
                    f"{identifier.name} task with different structure already exists. "
                    "(Please register a new version of the task):\n"
                    + "\n".join(json_diff(old, compiled))
                )
            now = self.clock.now()
            task = task_pb2.Task(
                id=identifier,
                closure=task_pb2.TaskClosure(compiled_task=compiled, created_at=timestamp(now)),
                short_description=spec.description.short_description,
            )
            self.store.insert(
                "tasks",
                {
                    **self._key(identifier),
                    "created_at": now,
                    "digest": task_digest,
                    "data": task.SerializeToString(),
                },
            )

    def get_task(self, identifier: identifier_pb2.Identifier) -> task_pb2.Task:
        self.validate_id(identifier, ResourceType.TASK)
        row = self.store.get("tasks", self._key(identifier))
        if row is None:
            raise not_found(missing("task", id_text(identifier)))
        return parse(task_pb2.Task, row["data"])

    # -- workflows ---------------------------------------------------------------------------

    def create_workflow(
        self, identifier: identifier_pb2.Identifier, spec: workflow_pb2.WorkflowSpec
    ) -> None:
        self.validate_id(identifier, ResourceType.WORKFLOW)
        self.check_project_domain(identifier.project, identifier.domain)
        if not spec.HasField("template"):
            raise invalid("missing spec")
        compiled = self._compile(identifier, spec)
        workflow_digest = digest(compiled)
        with self.store.transaction():
            existing = self.store.get("workflows", self._key(identifier))
            if existing is not None:
                old = parse(workflow_pb2.Workflow, existing["data"]).closure.compiled_workflow
                if existing["digest"] == workflow_digest:
                    raise AdminError(
                        grpc.StatusCode.ALREADY_EXISTS,
                        "workflow with identical structure already exists",
                        (
                            workflow_pb2.CreateWorkflowFailureReason(
                                exists_identical_structure=workflow_pb2.WorkflowErrorExistsIdenticalStructure(
                                    id=identifier
                                )
                            ),
                        ),
                    )
                raise AdminError(
                    grpc.StatusCode.INVALID_ARGUMENT,
                    f"{identifier.name} workflow with different structure already exists. "
                    "(Please register a new version of the workflow):\n"
                    + "\n".join(json_diff(old, compiled)),
                    (
                        workflow_pb2.CreateWorkflowFailureReason(
                            exists_different_structure=workflow_pb2.WorkflowErrorExistsDifferentStructure(
                                id=identifier
                            )
                        ),
                    ),
                )
            now = self.clock.now()
            workflow = workflow_pb2.Workflow(
                id=identifier,
                closure=workflow_pb2.WorkflowClosure(
                    compiled_workflow=compiled, created_at=timestamp(now)
                ),
                short_description=spec.description.short_description,
            )
            self.store.insert(
                "workflows",
                {
                    **self._key(identifier),
                    "created_at": now,
                    "digest": workflow_digest,
                    "data": workflow.SerializeToString(),
                },
            )

    def _compile(
        self, identifier: identifier_pb2.Identifier, spec: workflow_pb2.WorkflowSpec
    ) -> compiler_pb2.CompiledWorkflowClosure:
        template = core_wf_pb2.WorkflowTemplate()
        template.CopyFrom(spec.template)
        template.id.CopyFrom(identifier)
        sub_ids = {_id_key(sub.id) for sub in spec.sub_workflows}
        task_ids: dict[tuple[str, ...], identifier_pb2.Identifier] = {}
        for wf in [template, *spec.sub_workflows]:
            for node in _walk(wf.nodes):
                if node.HasField("task_node"):
                    ref = node.task_node.reference_id
                    task_ids.setdefault(_id_key(ref), ref)
                elif node.HasField("workflow_node"):
                    if node.workflow_node.HasField("launchplan_ref"):
                        ref = node.workflow_node.launchplan_ref
                        if self.store.get("launch_plans", self._key(ref)) is None:
                            raise self._compile_error(identifier, "launch_plan", ref)
                    elif _id_key(node.workflow_node.sub_workflow_ref) not in sub_ids:
                        ref = node.workflow_node.sub_workflow_ref
                        raise self._compile_error(identifier, "workflow", ref)
        tasks = []
        for ref in task_ids.values():
            row = self.store.get("tasks", self._key(ref))
            if row is None:
                raise self._compile_error(identifier, "task", ref)
            tasks.append(parse(task_pb2.Task, row["data"]).closure.compiled_task)
        return compiler_pb2.CompiledWorkflowClosure(
            primary=_compiled(template),
            sub_workflows=[_compiled(sub) for sub in spec.sub_workflows],
            tasks=tasks,
        )

    @staticmethod
    def _compile_error(
        identifier: identifier_pb2.Identifier, entity: str, ref: identifier_pb2.Identifier
    ) -> AdminError:
        # Admin reports a referenced entity it cannot find as a compile failure, INVALID_ARGUMENT
        # (workflow_manager.go CreateWorkflow, v1.16.8)
        return invalid(
            f"failed to compile workflow for [{id_text(identifier)}] with err: "
            f"{missing(entity, id_text(ref))}"
        )

    def get_workflow(self, identifier: identifier_pb2.Identifier) -> workflow_pb2.Workflow:
        self.validate_id(identifier, ResourceType.WORKFLOW)
        row = self.store.get("workflows", self._key(identifier))
        if row is None:
            raise not_found(missing("workflow", id_text(identifier)))
        return parse(workflow_pb2.Workflow, row["data"])

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
            if self.store.get("workflows", self._key(wf_id)) is None:
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
                self.create_workflow(wf_id, spec)
            if self.store.get("launch_plans", self._key(lp_id)) is None:
                self.create_launch_plan(lp_id, launch_plan_pb2.LaunchPlanSpec(workflow_id=wf_id))
            return self.get_launch_plan(lp_id)

    # -- launch plans ------------------------------------------------------------------------

    def create_launch_plan(
        self, identifier: identifier_pb2.Identifier, spec: launch_plan_pb2.LaunchPlanSpec
    ) -> None:
        # launch_plan_manager.go: the workflow is looked up before the request is validated
        workflow = self.get_workflow(spec.workflow_id)
        self.validate_id(identifier, ResourceType.LAUNCH_PLAN)
        self.check_project_domain(identifier.project, identifier.domain)
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
            existing = self.store.get("launch_plans", self._key(identifier))
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
                    **self._key(identifier),
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
        self.validate_id(identifier, ResourceType.LAUNCH_PLAN)
        row = self.store.get("launch_plans", self._key(identifier))
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
        self.validate_id(identifier, ResourceType.LAUNCH_PLAN)
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
            self._key(launch_plan.id),
            {"state": state, "updated_at": now, "data": launch_plan.SerializeToString()},
        )

    def active_scheduled_launch_plans(self) -> list[launch_plan_pb2.LaunchPlan]:
        rows = self.store.select(
            "launch_plans",
            ["state = ?", "schedule_type <> ?"],
            [LaunchPlanState.ACTIVE, "NONE"],
        )
        return [_launch_plan(r) for r in rows]

    # -- listing -----------------------------------------------------------------------------

    def list_entities(
        self, table: str, request: common_pb2.ResourceListRequest
    ) -> tuple[list[Row], str]:
        entity = table.removesuffix("s")
        if not request.id.project:
            raise invalid("missing project")
        if not request.id.domain:
            raise invalid("missing domain")
        offset = filters.page(request.limit, request.token)
        where = filters.Where()
        where.add("project = ?", request.id.project)
        where.add("domain = ?", request.id.domain)
        if request.id.name:
            where.add("name = ?", request.id.name)
        filters.parse_filters(entity, request.filters, where)
        return filters.select_page(self.store, table, entity, where, request, offset)

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

    def list_ids(
        self, table: str, request: common_pb2.NamedEntityIdentifierListRequest
    ) -> tuple[list[common_pb2.NamedEntityIdentifier], str]:
        entity = table.removesuffix("s")
        if not request.project:
            raise invalid("missing project")
        if not request.domain:
            raise invalid("missing domain")
        offset = filters.page(request.limit, request.token)
        where = filters.Where()
        where.add("project = ?", request.project)
        where.add("domain = ?", request.domain)
        filters.parse_filters(entity, request.filters, where)
        sort = filters.sort_of(request)
        if sort is not None and sort.key not in ("name", "project", "domain"):
            raise invalid(f"invalid sort key '{sort.key}'")
        rows, token = filters.select_page(
            self.store,
            table,
            entity,
            where,
            request,
            offset,
            sort=sort,
            # "seq" here is the MIN(seq) alias: a name lists in the order it was first registered
            columns="project, domain, name, MIN(seq) AS seq",
            group_by="project, domain, name",
        )
        ids = [
            common_pb2.NamedEntityIdentifier(
                project=r["project"], domain=r["domain"], name=r["name"]
            )
            for r in rows
        ]
        return ids, token


_LABEL_NAME = re.compile(r"^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$")
_LABEL_PREFIX = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")


def check_labels(labels: Any) -> None:
    """Labels become Kubernetes labels, so Admin refuses what Kubernetes would refuse."""
    for key, value in labels.items():
        prefix, _, name = key.rpartition("/")
        valid_key = (
            0 < len(name) <= 63
            and bool(_LABEL_NAME.match(name))
            and (not prefix or (len(prefix) <= 253 and bool(_LABEL_PREFIX.match(prefix))))
        )
        if not valid_key:
            raise invalid(f"invalid label key [{key}]: not a valid Kubernetes label key")
        if value and (len(value) > 63 or not _LABEL_NAME.match(value)):
            raise invalid(f"invalid label value [{value}] for key [{key}]")


_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")


def _validate_project(project: project_pb2.Project) -> None:
    if not project.id:
        raise invalid("missing project_id")
    check_labels(project.labels.values)
    if len(project.id) > 63 or not _DNS_LABEL.match(project.id):
        raise invalid(f"invalid project id [{project.id}]: not a DNS-1123 label")
    if len(project.name) > 64:
        raise invalid("project_name cannot exceed 64 characters")
    if len(project.description) > 300:
        raise invalid("project_description cannot exceed 300 characters")
    if project.domains:
        raise invalid(
            "Domains are currently only set system wide. Please retry without domains included "
            "in your request."
        )


# -- helpers -----------------------------------------------------------------------------------


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


def _id_key(identifier: identifier_pb2.Identifier) -> tuple[str, ...]:
    return (identifier.project, identifier.domain, identifier.name, identifier.version)


def _walk(nodes: Any) -> Iterator[core_wf_pb2.Node]:
    for node in nodes:
        yield node
        if node.HasField("branch_node"):
            if_else = node.branch_node.if_else
            branches = [if_else.case.then_node, *(c.then_node for c in if_else.other)]
            if if_else.HasField("else_node"):
                branches.append(if_else.else_node)
            yield from _walk(branches)
        if node.HasField("array_node"):
            yield from _walk([node.array_node.node])


def upstream_of(node: core_wf_pb2.Node) -> set[str]:
    """Nodes a node waits for: declared upstream ids plus every node its bindings read."""
    found = set(node.upstream_node_ids)
    for binding in node.inputs:
        _promises(binding.binding, found)
    found.discard("")
    found.discard("start-node")
    return found


def _promises(data: Any, found: set[str]) -> None:
    kind = data.WhichOneof("value")
    if kind == "promise":
        found.add(data.promise.node_id)
    elif kind == "collection":
        for item in data.collection.bindings:
            _promises(item, found)
    elif kind == "map":
        for item in data.map.bindings.values():
            _promises(item, found)
    elif kind == "union":
        _promises(data.union.value, found)


def _compiled(source: core_wf_pb2.WorkflowTemplate) -> compiler_pb2.CompiledWorkflow:
    """The template with propeller's system nodes added, and its connections."""
    template = core_wf_pb2.WorkflowTemplate()
    template.CopyFrom(source)
    user_nodes = [n for n in template.nodes if n.id not in SYSTEM_NODES]
    upstream: dict[str, list[str]] = {}
    downstream: dict[str, list[str]] = {}
    for node in user_nodes:
        ups = sorted(upstream_of(node)) or ["start-node"]
        upstream[node.id] = ups
        for up in ups:
            downstream.setdefault(up, []).append(node.id)
    ends = {p for b in template.outputs for p in _collect(b.binding)} or {"start-node"}
    upstream["end-node"] = sorted(ends)
    for up in ends:
        downstream.setdefault(up, []).append("end-node")
    # Admin's compiled templates carry start-node and end-node (the node limit check subtracts
    # them, validation/workflow_validator.go); end-node takes the workflow outputs as inputs.
    present = {n.id for n in template.nodes}
    if START_NODE not in present:
        template.nodes.insert(0, core_wf_pb2.Node(id=START_NODE))
    if END_NODE not in present:
        template.nodes.append(
            core_wf_pb2.Node(
                id=END_NODE,
                inputs=template.outputs,
                upstream_node_ids=[n for n in sorted(ends) if n != START_NODE],
            )
        )
    return compiler_pb2.CompiledWorkflow(
        template=template,
        connections=compiler_pb2.ConnectionSet(
            upstream={k: compiler_pb2.ConnectionSet.IdList(ids=v) for k, v in upstream.items()},
            downstream={k: compiler_pb2.ConnectionSet.IdList(ids=v) for k, v in downstream.items()},
        ),
    )


def _collect(data: Any) -> set[str]:
    found: set[str] = set()
    _promises(data, found)
    return {n if n else "start-node" for n in found}


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
