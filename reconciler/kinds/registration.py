"""Plan one Registration manifest: each task, workflow and launch plan of its package at its
version, compared with what Admin has.

An entity version is immutable in Admin: a missing one is created, an identical one is a no-op,
and a different one under the same version is a ``conflict`` with the diff (flytekit and flytectl
silently keep the old spec; ADMIN-SEMANTICS.md, Registration). Launch plans from packages are
created inactive; activation is the job of LaunchPlan manifests, or of
``activateLaunchPlans: true``.

Comparison per kind: a task's template against the template Admin compiled from it; a launch
plan's spec with its default values only (Admin replaces ``default_inputs`` with the computed
expected inputs, so the parameters differ in form);
a workflow by its shape (interface, nodes and what they run and read, outputs), since Admin
returns only the compiled closure, to which its compiler adds nodes and edges. A difference the
shape does not see is still refused by Admin at apply ("different structure"), never lost.
Both sides are compared in their canonical form (``packages.canonical``), the one ``version:
auto`` digests: what pyflyte writes differently for the same code is never a conflict.
The diff is of those same forms, so it shows what was compared. The entities carry no
provenance (the reconciler adds no labels to them).
"""

from __future__ import annotations

import copy
from typing import Any

from flyteidl.admin import launch_plan_pb2, task_pb2, workflow_pb2
from flyteidl.core import compiler_pb2, identifier_pb2
from flyteidl.core import workflow_pb2 as core_workflow

from reconciler.kinds.base import Desired, Kind, Pair, Planning
from reconciler.manifests.launchplan import LaunchPlanManifest
from reconciler.manifests.registration import RegistrationManifest
from reconciler.manifests.resolve import Resolved
from reconciler.packages import DesiredRegistration, Entity, canonical
from reconciler.plan.calls import Request, operation
from reconciler.plan.common import Context, decoded, digest, normalized
from reconciler.plan.diff import diff
from reconciler.plan.model import Action, Change, FieldDiff, Operation
from reconciler.read import Actual, Needs, Observed, Registered, RegisteredKey

RESOURCE = {
    "task": identifier_pb2.TASK,
    "workflow": identifier_pb2.WORKFLOW,
    "launch_plan": identifier_pb2.LAUNCH_PLAN,
}
START_END = frozenset({"start-node", "end-node"})


def plan(desired: DesiredRegistration, actual: Actual) -> Change:
    manifest = desired.manifest
    model = manifest.model
    upload_key = desired.upload_key()
    remote = actual.upload_urls.get(upload_key, "") if upload_key else ""
    to_create: list[tuple[Entity, Any]] = []
    differences: list[tuple[Entity, Any, Any]] = []
    for entity in desired.package.entities:
        spec = desired.hydrated(entity, remote)
        stored = actual.registered.get(desired.key(entity))
        if stored is None:
            to_create.append((entity, spec))
            continue
        ours, theirs = _comparable(entity.kind, spec), _comparable_stored(stored)
        if ours != theirs:
            differences.append((entity, theirs, ours))
    seen = observed(actual, [desired.key(e) for e in desired.package.entities])
    after = {
        "version": desired.version,
        "tasks": [e.name for e in desired.package.entities if e.kind == "task"],
        "workflows": [e.name for e in desired.package.entities if e.kind == "workflow"],
        "launchPlans": [e.name for e in desired.package.entities if e.kind == "launch_plan"],
        "code": desired.package.code.digest if desired.package.code else None,
    }
    if differences:
        changed: list[FieldDiff] = []
        for entity, theirs, ours in differences:
            group = f"{entity.kind}s"
            changed.extend(diff({group: {entity.name: theirs}}, {group: {entity.name: ours}}))
        names = ", ".join(f"{e.kind} {e.name}" for e, _, _ in differences)
        return Change(
            manifest.address,
            Action.CONFLICT,
            {"version": desired.version},
            after,
            diff=tuple(changed),
            reason=f"version {desired.version} is registered with a different {names}; entity "
            "versions cannot change: bump spec.version or use version: auto",
            observed=seen,
        )
    activations = _activations(desired, actual, model.spec.activate_launch_plans)
    if not to_create and not activations:
        return Change(manifest.address, Action.NOOP, after, after, observed=seen)
    operations: list[Operation] = []
    request = desired.upload_request()
    if request is not None and any(e.kind == "task" for e, _ in to_create):
        assert desired.package.code is not None
        operations.append(operation(request, payload=desired.package.code.data))
    for entity, spec in to_create:
        operations.append(_create(desired, entity, spec))
    operations.extend(activations.values())
    counts = {kind: sum(1 for e, _ in to_create if e.kind == kind) for kind in RESOURCE}
    reason = (
        f"register {counts['task']} task(s), {counts['workflow']} workflow(s) and "
        f"{counts['launch_plan']} launch plan(s) at version {desired.version}"
        if to_create
        else f"activate the launch plans of version {desired.version}"
    )
    action = Action.CREATE if to_create else Action.UPDATE
    created = {(e.kind, e.name) for e, _ in to_create}
    before = (
        None if len(to_create) == len(desired.package.entities) else {"version": desired.version}
    )
    # the launch plans Admin holds inactive that apply activates (those it creates are new)
    stored_inactive = sorted(n for n in activations if ("launch_plan", n) not in created)
    activated = diff(
        {"launchPlans": {n: {"active": False} for n in stored_inactive}},
        {"launchPlans": {n: {"active": True} for n in stored_inactive}},
    )
    return Change(
        manifest.address,
        action,
        before,
        after,
        diff=activated,
        reason=reason,
        operations=tuple(operations),
        observed=seen,
    )


def observed(actual: Actual, keys: list[RegisteredKey]) -> Observed:
    """What exists of the entities, for the staleness check of saved plans."""
    return {"registered": [list(k) for k in keys], "digest": _digest(actual, keys)}


def _digest(actual: Actual, keys: list[RegisteredKey]) -> str:
    return digest([[*key, key in actual.registered] for key in keys])


def _recheck(observed: Observed) -> Needs | None:
    if "registered" not in observed:
        return None
    return Needs(registered=frozenset(_keys(observed)))


def _digests(actual: Actual, observed: Observed) -> tuple[str, ...]:
    return (_digest(actual, _keys(observed)),)


def _keys(observed: Observed) -> list[RegisteredKey]:
    return [(str(a), str(b), str(c), str(d), str(e)) for a, b, c, d, e in observed["registered"]]


def _create(desired: DesiredRegistration, entity: Entity, spec: Any) -> Operation:
    identifier = identifier_pb2.Identifier(
        resource_type=RESOURCE[entity.kind],
        project=desired.project,
        domain=desired.domain,
        name=entity.name,
        version=desired.version,
    )
    if entity.kind == "task":
        request: Request = task_pb2.TaskCreateRequest(id=identifier, spec=spec)
    elif entity.kind == "workflow":
        request = workflow_pb2.WorkflowCreateRequest(id=identifier, spec=spec)
    else:
        request = launch_plan_pb2.LaunchPlanCreateRequest(id=identifier, spec=spec.spec)
    return operation(request)


def _activations(
    desired: DesiredRegistration, actual: Actual, activate: bool
) -> dict[str, Operation]:
    """By launch plan name: the activation of each launch plan of the package not active."""
    if not activate:
        return {}
    operations = {}
    for entity in desired.package.entities:
        if entity.kind != "launch_plan":
            continue
        stored = actual.registered.get(desired.key(entity))
        if stored is not None and stored.closure.state == launch_plan_pb2.ACTIVE:
            continue
        request = launch_plan_pb2.LaunchPlanUpdateRequest(
            id=identifier_pb2.Identifier(
                resource_type=identifier_pb2.LAUNCH_PLAN,
                project=desired.project,
                domain=desired.domain,
                name=entity.name,
                version=desired.version,
            ),
            state=launch_plan_pb2.ACTIVE,
        )
        operations[entity.name] = operation(request)
    return operations


def _comparable(kind: str, spec: Any) -> dict[str, Any]:
    if kind == "task":
        return normalized(canonical(spec.template))
    if kind == "workflow":
        return workflow_shape(spec.template)
    return _launch_plan(spec.spec)


def _comparable_stored(stored: Registered) -> dict[str, Any]:
    if isinstance(stored, task_pb2.Task):
        return normalized(canonical(stored.closure.compiled_task.template))
    if isinstance(stored, workflow_pb2.Workflow):
        return workflow_shape(stored.closure.compiled_workflow.primary.template)
    return _launch_plan(stored.spec)


def _launch_plan(spec: launch_plan_pb2.LaunchPlanSpec) -> dict[str, Any]:
    """A launch plan spec with its default inputs as input name -> default value: Admin stores
    its expected inputs in place of ``default_inputs`` (every input, required or defaulted), so
    the parameters themselves differ in form, but a changed default must be a conflict."""
    data = normalized(spec)
    data.pop("default_inputs", None)
    data["default_inputs"] = {
        name: decoded(parameter.default, parameter.var.type)
        for name, parameter in sorted(spec.default_inputs.parameters.items())
        if parameter.HasField("default")
    }
    return data


def workflow_shape(template: core_workflow.WorkflowTemplate) -> dict[str, Any]:
    """What a workflow is made of, without what Admin's compiler adds (start and end nodes,
    edges derived from bindings), in canonical form: nested nodes (branch cases, array nodes) keep
    their upstream ids, in sorted order."""
    template = canonical(template)
    nodes = {}
    for node in template.nodes:
        if node.id in START_END:
            continue
        data = normalized(node)
        data.pop("upstream_node_ids", None)
        nodes[node.id] = data
    return {
        "interface": normalized(template.interface),
        "nodes": nodes,
        "outputs": [normalized(o) for o in template.outputs],
        "failure_policy": template.metadata.on_failure,
    }


def with_registered(
    actual: Actual, planned: DesiredRegistration, declared: set[tuple[str, str, str]]
) -> Actual:
    """``actual`` plus the workflows and (inactive) launch plans ``planned`` creates, for the
    launch plans and executions of the same plan that use them; launch plans a LaunchPlan
    manifest declares (``declared``) are left to it."""
    merged = copy.copy(actual)
    merged.workflows = dict(actual.workflows)
    merged.launch_plans = {k: list(v) for k, v in actual.launch_plans.items()}
    for name, spec in planned.workflows().items():
        key = (planned.project, planned.domain, name, planned.version)
        if key not in merged.workflows:
            merged.workflows[key] = workflow_pb2.Workflow(
                id=identifier_pb2.Identifier(
                    resource_type=identifier_pb2.WORKFLOW,
                    project=planned.project,
                    domain=planned.domain,
                    name=name,
                    version=planned.version,
                ),
                closure=workflow_pb2.WorkflowClosure(
                    compiled_workflow=compiler_pb2.CompiledWorkflowClosure(
                        primary=compiler_pb2.CompiledWorkflow(template=spec.template)
                    )
                ),
            )
    for name, plan_spec in planned.launch_plans().items():
        key3 = (planned.project, planned.domain, name)
        if key3 in declared or merged.launch_plan(key3, planned.version) is not None:
            continue
        merged.launch_plans.setdefault(key3, []).append(
            launch_plan_pb2.LaunchPlan(
                id=plan_spec.id,
                spec=plan_spec.spec,
                closure=launch_plan_pb2.LaunchPlanClosure(
                    state=launch_plan_pb2.INACTIVE,
                    expected_inputs=plan_spec.spec.default_inputs,
                ),
            )
        )
    return merged


def _needs(item: Resolved[RegistrationManifest], desired: Desired, context: Context) -> Needs:
    planned = desired.registrations.get(item.manifest.address)
    if planned is None:
        return Needs()
    code = planned.package.code
    return Needs(
        registered=frozenset(planned.key(e) for e in planned.package.entities),
        uploads=frozenset(
            {(planned.project, planned.domain, code.digest, code.filename, code.md5)}
            if code is not None
            else ()
        ),
    )


def _pair(
    item: Resolved[RegistrationManifest], planning: Planning
) -> Pair[RegistrationManifest, dict[RegisteredKey, Registered]]:
    """Keyed by address: a Registration is its package's entities, each paired in ``plan``
    with the version Admin has of it."""
    planned = planning.desired.registrations[item.manifest.address]
    keys = [planned.key(e) for e in planned.package.entities]
    stored = {k: planning.actual.registered[k] for k in keys if k in planning.actual.registered}
    return Pair(item.manifest.address, item, stored)


def _plan(
    pair: Pair[RegistrationManifest, dict[RegisteredKey, Registered]], planning: Planning
) -> Change | None:
    assert pair.desired is not None  # a registration is never pruned
    planned = planning.desired.registrations[pair.desired.manifest.address]
    change = plan(planned, planning.actual)
    # What it will register, visible to the launch plans and executions after it in KINDS.
    declared = {
        (r.manifest.project, r.manifest.domain, r.manifest.name)
        for r in planning.desired.resolved
        if isinstance(r.manifest.model, LaunchPlanManifest)
    }
    planning.actual = with_registered(planning.actual, planned, declared)
    return change


KIND = Kind(
    model=RegistrationManifest,
    needs=_needs,
    pair=_pair,
    plan=_plan,
    recheck=_recheck,
    digests=_digests,
)
