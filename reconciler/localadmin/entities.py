"""Tasks and workflows: registration (a workflow is compiled), lookup, and the listing of
registered entities by version and by name (launch plans list the same way). This module is
the one writer of the ``tasks`` and ``workflows`` tables.

The rules follow FlyteAdmin v1.16.8 (ADMIN-SEMANTICS.md; the paths below are in flyteorg/flyte,
``flyteadmin/pkg/``), with Admin's wording for every error:

* an identifier registered again with an identical spec is ``ALREADY_EXISTS``; with a different
  spec it is ``INVALID_ARGUMENT`` "<name> ... with different structure already exists. (Please
  register a new version ...)" followed by a path diff (``errors/errors.go``); workflows attach
  a ``CreateWorkflowFailureReason`` detail either way (launch plans follow the same rule,
  :mod:`launch_plans`);
* identity is a digest of the stored closure/spec (``manager/impl/util/digests.go``);
* a workflow is "compiled" by checking that every referenced task, launch plan and sub-workflow
  exists (else ``INVALID_ARGUMENT`` "failed to compile workflow ...") and by building the
  ``CompiledWorkflowClosure`` flytekit reads back: primary template with propeller's
  ``start-node``/``end-node`` added, compiled sub-workflows, compiled referenced tasks and
  connections. Type-checking of bindings, which propeller's compiler does, is not reproduced.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import grpc
from flyteidl.admin import common_pb2, task_pb2, workflow_pb2
from flyteidl.core import compiler_pb2, identifier_pb2
from flyteidl.core import workflow_pb2 as core_wf_pb2

from reconciler.localadmin import filters
from reconciler.localadmin.clock import Clock
from reconciler.localadmin.errors import AdminError, already_exists, invalid, not_found
from reconciler.localadmin.projects import Projects
from reconciler.localadmin.protos import digest, id_text, json_diff, missing, parse, timestamp
from reconciler.localadmin.store import Row, Store

ResourceType = identifier_pb2.ResourceType

START_NODE = "start-node"
END_NODE = "end-node"
SYSTEM_NODES = frozenset({START_NODE, END_NODE})


class Entities:
    def __init__(self, store: Store, clock: Clock, projects: Projects):
        self.store = store
        self.clock = clock
        self.projects = projects

    # -- tasks -------------------------------------------------------------------------------

    def create_task(self, identifier: identifier_pb2.Identifier, spec: task_pb2.TaskSpec) -> None:
        validate_id(identifier, ResourceType.TASK)
        self.projects.check_project_domain(identifier.project, identifier.domain)
        if not spec.HasField("template"):
            raise invalid("missing spec")
        template = spec.template.__class__()
        template.CopyFrom(spec.template)
        template.id.CopyFrom(identifier)  # Admin stores the template under the request's id
        compiled = compiler_pb2.CompiledTask(template=template)
        task_digest = digest(compiled)
        with self.store.transaction():
            existing = self.store.get("tasks", entity_key(identifier))
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
                    **entity_key(identifier),
                    "created_at": now,
                    "digest": task_digest,
                    "data": task.SerializeToString(),
                },
            )

    def get_task(self, identifier: identifier_pb2.Identifier) -> task_pb2.Task:
        validate_id(identifier, ResourceType.TASK)
        row = self.store.get("tasks", entity_key(identifier))
        if row is None:
            raise not_found(missing("task", id_text(identifier)))
        return parse(task_pb2.Task, row["data"])

    # -- workflows ---------------------------------------------------------------------------

    def create_workflow(
        self, identifier: identifier_pb2.Identifier, spec: workflow_pb2.WorkflowSpec
    ) -> None:
        validate_id(identifier, ResourceType.WORKFLOW)
        self.projects.check_project_domain(identifier.project, identifier.domain)
        if not spec.HasField("template"):
            raise invalid("missing spec")
        compiled = self._compile(identifier, spec)
        workflow_digest = digest(compiled)
        with self.store.transaction():
            existing = self.store.get("workflows", entity_key(identifier))
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
                    **entity_key(identifier),
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
                        if self.store.get("launch_plans", entity_key(ref)) is None:
                            raise self._compile_error(identifier, "launch_plan", ref)
                    elif _id_key(node.workflow_node.sub_workflow_ref) not in sub_ids:
                        ref = node.workflow_node.sub_workflow_ref
                        raise self._compile_error(identifier, "workflow", ref)
        tasks = []
        for ref in task_ids.values():
            row = self.store.get("tasks", entity_key(ref))
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
        validate_id(identifier, ResourceType.WORKFLOW)
        row = self.store.get("workflows", entity_key(identifier))
        if row is None:
            raise not_found(missing("workflow", id_text(identifier)))
        return parse(workflow_pb2.Workflow, row["data"])

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


def validate_id(identifier: identifier_pb2.Identifier, kind: int) -> None:
    """validation.go ValidateIdentifier: the resource type first, then every field."""
    if identifier.resource_type != kind:
        raise invalid(
            f"unexpected resource type {ResourceType.Name(identifier.resource_type).lower()} "
            f"for identifier [{id_text(identifier)}], "
            f"expected {ResourceType.Name(kind).lower()} instead"
        )
    for field_name in ("project", "domain", "name", "version"):
        if not getattr(identifier, field_name):
            raise invalid(f"missing {field_name}")


def entity_key(identifier: identifier_pb2.Identifier) -> dict[str, str]:
    """The key columns of a task, workflow or launch plan row."""
    return {
        "project": identifier.project,
        "domain": identifier.domain,
        "name": identifier.name,
        "version": identifier.version,
    }


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
