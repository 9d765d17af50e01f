"""Plan ``kind: Attributes``: Admin's matchable attributes at one level, type by type.

Each spec field is one ``MatchableResource`` type at the manifest's level (project,
project-domain or workflow). Both sides are turned into the same manifest-shaped value by one
function, :func:`view` (the desired side goes through the protobuf message apply sends), so the
decision and the diff compare like with like. What Admin answers is read at the exact level:

- ``Get*Attributes`` answers from the most specific row *at or above* the level asked for (a
  project-domain get may be answered by the project row, a workflow get by either), naming the
  level found: an answer from another level means "nothing at this level";
- ``GetProjectAttributes`` of ``WORKFLOW_EXECUTION_CONFIG`` answers with the server's defaults,
  and fills a row's unset fields from them; its project-level row is therefore read from
  ``ListMatchableAttributes``, which returns rows as stored (ADMIN-SEMANTICS.md; the local
  Admin's ``localadmin/attributes.py`` has the rules).

Apply sends ``Update*Attributes`` per changed type, which replaces that type's attributes, except
for ``PLUGIN_OVERRIDE``: Admin merges overrides by task type, so dropping a task type takes a
``Delete*Attributes`` first. A delete removes every row of the type whose key matches the
request's non-empty fields (project level: the whole project; project-domain: its workflows too),
so each delete is followed by updates that put back the rows below it that must stay: those
this tree declares, and those nobody prunes (read from ``ListMatchableAttributes``).

Prune and the owner marker. Matchable attributes have no field for metadata, and most of their
types have no free-form field at all (``executionClusterLabel`` is one string), so a marker per
row is impossible; one in the ``WORKFLOW_EXECUTION_CONFIG`` row's annotations would change what
executions get (a non-empty annotations map hides the annotations of the levels below it, and a
row made only for the marker hides whole levels). The marker is therefore a label of the
project, ``reconciler.flyte.org/owner: <ownerId>`` (:data:`OWNER_KEY`, the key launch plans and
runs carry), written (by the Project change, or the project's first Attributes change) when this
tree manages attributes in the project. Trade-offs:

- ownership is per project: with ``--prune``, every attributes row of an owned project that no
  manifest of this tree declares is deleted, at every level, including rows someone set with
  flytectl after the tree claimed the project; rows in projects without the marker, or with
  another tree's, are never touched;
- Admin adds a project's labels to every execution's labels (``addProjectLabels``), so runs in
  the project carry the marker too; it is a valid label (``ownerId`` follows label rules) and
  changes nothing else;
- the label is never removed, and is ignored by the Project kind's diff, as launch plans ignore
  their owner annotation; a client that updates the project without it (flytekit's
  ``update_project`` has no labels) only makes prune leave the project alone until the next
  apply writes it again.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, cast

from flyteidl.admin import (
    cluster_assignment_pb2,
    common_pb2,
    matchable_resource_pb2,
    project_attributes_pb2,
    project_domain_attributes_pb2,
    project_pb2,
    workflow_attributes_pb2,
)
from flyteidl.core import literals_pb2, security_pb2
from google.protobuf import wrappers_pb2

from reconciler.admin.api import AttributesAnswer
from reconciler.diagnostics import FieldPath
from reconciler.kinds.base import Desired, Kind, Pair, Planning
from reconciler.manifests.attributes import AttributesManifest, WorkflowExecutionConfig
from reconciler.manifests.base import ALL_DOMAINS
from reconciler.manifests.project import ProjectManifest
from reconciler.manifests.resolve import Resolved
from reconciler.plan.calls import Request, operation
from reconciler.plan.common import OWNER_KEY, Context, Problems, digest
from reconciler.plan.diff import diff
from reconciler.plan.model import Action, Change, Operation, SecretInput
from reconciler.plan.secrets import hide_text, secret_values
from reconciler.read import Actual, AttributesKey, Needs, Observed, Unreadable
from reconciler.redact import mask_values, redact

Scope = tuple[str, str, str]  # project, domain, workflow; "" where the level has none
OTHER_VALUE = "(another value in Admin)"


@dataclass(frozen=True)
class Type:
    """One matchable resource type: its spec field and its place in ``MatchingAttributes``."""

    field: str  # the manifest's (camelCase) field
    attr: str  # the model's attribute
    target: str  # the MatchingAttributes oneof field
    name: str  # the MatchableResource name


TYPES = (
    Type("taskResources", "task_resources", "task_resource_attributes", "TASK_RESOURCE"),
    Type(
        "clusterResources", "cluster_resources", "cluster_resource_attributes", "CLUSTER_RESOURCE"
    ),
    Type("executionQueue", "execution_queue", "execution_queue_attributes", "EXECUTION_QUEUE"),
    Type(
        "executionClusterLabel",
        "execution_cluster_label",
        "execution_cluster_label",
        "EXECUTION_CLUSTER_LABEL",
    ),
    Type("pluginOverrides", "plugin_overrides", "plugin_overrides", "PLUGIN_OVERRIDE"),
    Type(
        "workflowExecutionConfig",
        "workflow_execution_config",
        "workflow_execution_config",
        "WORKFLOW_EXECUTION_CONFIG",
    ),
    Type("clusterAssignment", "cluster_assignment", "cluster_assignment", "CLUSTER_ASSIGNMENT"),
)
_BY_NAME = {t.name: t for t in TYPES}
_WEC = _BY_NAME["WORKFLOW_EXECUTION_CONFIG"]
_PLUGINS = _BY_NAME["PLUGIN_OVERRIDE"]
_BEHAVIOUR = {"fail": "FAIL", "useDefault": "USE_DEFAULT"}  # PluginOverride.MissingPluginBehavior


# --- manifest <-> MatchingAttributes -------------------------------------------------------------


def to_matching(kind: Type, value: Any) -> matchable_resource_pb2.MatchingAttributes:
    """A spec field's value as the ``MatchingAttributes`` apply sends for its type. (``value``
    is the spec's field ``kind.attr``, whose model differs per type: Any, read by that type.)"""
    m = matchable_resource_pb2
    out = m.MatchingAttributes()
    if kind.attr == "task_resources":
        spec = m.TaskResourceAttributes()
        for part in ("defaults", "limits"):
            resources = getattr(value, part)
            for name in ("cpu", "gpu", "memory", "storage", "ephemeral_storage"):
                quantity = getattr(resources, name)
                if quantity is not None:
                    setattr(getattr(spec, part), name, quantity)
        out.task_resource_attributes.CopyFrom(spec)
    elif kind.attr == "cluster_resources":
        out.cluster_resource_attributes.CopyFrom(
            m.ClusterResourceAttributes(attributes=dict(value.attributes))
        )
    elif kind.attr == "execution_queue":
        out.execution_queue_attributes.CopyFrom(m.ExecutionQueueAttributes(tags=list(value.tags)))
    elif kind.attr == "execution_cluster_label":
        out.execution_cluster_label.CopyFrom(m.ExecutionClusterLabel(value=value))
    elif kind.attr == "plugin_overrides":
        out.plugin_overrides.CopyFrom(
            m.PluginOverrides(
                overrides=[
                    m.PluginOverride(
                        task_type=o.task_type,
                        plugin_id=list(o.plugin_id),
                        missing_plugin_behavior=_BEHAVIOUR[o.missing_plugin_behavior],
                    )
                    for o in value
                ]
            )
        )
    elif kind.attr == "workflow_execution_config":
        out.workflow_execution_config.CopyFrom(_execution_config(value))
    else:
        out.cluster_assignment.CopyFrom(
            cluster_assignment_pb2.ClusterAssignment(cluster_pool_name=value.cluster_pool_name)
        )
    return out


def _execution_config(
    value: WorkflowExecutionConfig,
) -> matchable_resource_pb2.WorkflowExecutionConfig:
    config = matchable_resource_pb2.WorkflowExecutionConfig(
        max_parallelism=value.max_parallelism or 0,
        overwrite_cache=value.overwrite_cache,
        labels=common_pb2.Labels(values=dict(value.labels)),
        annotations=common_pb2.Annotations(values=dict(value.annotations)),
        envs=common_pb2.Envs(
            values=[literals_pb2.KeyValuePair(key=k, value=v) for k, v in value.envs.items()]
        ),
    )
    context = value.security_context
    if context is not None:
        config.security_context.CopyFrom(
            security_pb2.SecurityContext(
                run_as=security_pb2.Identity(
                    k8s_service_account=context.service_account or "",
                    iam_role=context.iam_role or "",
                    execution_identity=context.execution_identity or "",
                )
            )
        )
    if value.raw_output_data_prefix is not None:
        config.raw_output_data_config.output_location_prefix = value.raw_output_data_prefix
    if value.interruptible is not None:
        config.interruptible.CopyFrom(wrappers_pb2.BoolValue(value=value.interruptible))
    return config


def view(kind: Type, matching: matchable_resource_pb2.MatchingAttributes) -> Any:
    """One type's attributes in manifest terms, empty values left out: the form both sides are
    compared and shown in. Plugin overrides are sorted by task type, since Admin keeps them in
    no particular order."""
    if matching.WhichOneof("target") != kind.target:
        return None
    value = getattr(matching, kind.target)
    if kind.attr == "task_resources":
        return {
            part: shown
            for part in ("defaults", "limits")
            if (shown := _resources(getattr(value, part)))
        }
    if kind.attr == "cluster_resources":
        return {"attributes": dict(value.attributes)} if value.attributes else {}
    if kind.attr == "execution_queue":
        return {"tags": list(value.tags)} if value.tags else {}
    if kind.attr == "execution_cluster_label":
        return value.value or None
    if kind.attr == "plugin_overrides":
        behaviours = {v: k for k, v in _BEHAVIOUR.items()}
        behaviour = matchable_resource_pb2.PluginOverride.MissingPluginBehavior.Name
        return [
            {
                "taskType": o.task_type,
                "pluginId": list(o.plugin_id),
                "missingPluginBehavior": behaviours[behaviour(o.missing_plugin_behavior)],
            }
            for o in sorted(value.overrides, key=lambda o: o.task_type)
        ]
    if kind.attr == "workflow_execution_config":
        return _config_view(value)
    return {"clusterPoolName": value.cluster_pool_name} if value.cluster_pool_name else {}


def _resources(spec: matchable_resource_pb2.TaskResourceSpec) -> dict[str, str]:
    names = {"ephemeral_storage": "ephemeralStorage"}
    return {names.get(f.name, f.name): v for f, v in spec.ListFields() if isinstance(v, str) and v}


def _config_view(config: matchable_resource_pb2.WorkflowExecutionConfig) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if config.max_parallelism:
        out["maxParallelism"] = config.max_parallelism
    run_as = config.security_context.run_as
    context = {
        k: v
        for k, v in (
            ("serviceAccount", run_as.k8s_service_account),
            ("iamRole", run_as.iam_role),
            ("executionIdentity", run_as.execution_identity),
        )
        if v
    }
    if context:
        out["securityContext"] = context
    if config.raw_output_data_config.output_location_prefix:
        out["rawOutputDataPrefix"] = config.raw_output_data_config.output_location_prefix
    for name in ("labels", "annotations"):
        values = dict(getattr(config, name).values)
        if values:
            out[name] = values
    if config.HasField("interruptible"):
        out["interruptible"] = config.interruptible.value
    if config.overwrite_cache:
        out["overwriteCache"] = True
    if config.envs.values:
        out["envs"] = {pair.key: pair.value for pair in config.envs.values}
    return out


# --- reads --------------------------------------------------------------------------------------


def _key(scope: Scope, kind: Type) -> AttributesKey:
    return (*scope, kind.name)


def _listed(scope: Scope, kind: Type) -> bool:
    """Whether this level's row of this type is read from the list, not a Get (see the module
    docstring: the project-level execution config Get answers with server defaults)."""
    return kind is _WEC and not scope[1]


def _needs(item: Resolved[AttributesManifest], desired: Desired, context: Context) -> Needs:
    """Every type at the manifest's level (so that a create is told from an update, and a type
    gone from git is seen), its project, and the list a dropped plugin override needs.
    ``--prune`` lists every row of every type (``Needs.prune_everywhere``)."""
    scope = item.manifest.model.scope
    gets = {_key(scope, kind) for kind in TYPES if not _listed(scope, kind)}
    lists = {kind.name for kind in TYPES if _listed(scope, kind)}
    if item.manifest.model.spec.plugin_overrides is not None:
        lists.add(_PLUGINS.name)  # dropping a task type takes a delete (module docstring)
    return Needs(
        projects=frozenset({scope[0]}),
        attributes=frozenset(gets),
        attribute_lists=frozenset(lists),
    )


def stored(
    actual: Actual, scope: Scope, kind: Type
) -> matchable_resource_pb2.MatchingAttributes | Unreadable | None:
    """What Admin holds at exactly this level for this type: ``MatchingAttributes``, None, or
    an :class:`Unreadable`."""
    if kind.name in actual.attribute_rows:
        for row in actual.attribute_rows[kind.name]:
            if (row.project, row.domain, row.workflow, row.launch_plan) == (*scope, ""):
                return row.attributes
        return None
    found = actual.attributes.get(_key(scope, kind))
    if found is None or isinstance(found, Unreadable):
        return found
    # the level the answer came from: above the one asked for means none at this level
    level = (found.project, found.domain, found.workflow)
    return found.attributes if level == scope else None


def _below(actual: Actual, scope: Scope, kind: Type) -> list[AttributesAnswer]:
    """The listed rows of ``kind`` that a delete at ``scope`` also removes."""
    project, domain, _ = scope
    if scope[2]:
        return []
    return [
        row
        for row in actual.attribute_rows.get(kind.name, [])
        if row.project == project
        and not row.launch_plan
        and (row.domain == domain if domain else True)
        and (row.domain, row.workflow) != (domain, "")
    ]


def observed(actual: Actual, scope: Scope) -> Observed:
    """What a change at ``scope`` was planned against: its level's rows, the rows below it
    that a delete puts back, and the project's marker."""
    shown: list[Any] = []
    for kind in TYPES:
        found = stored(actual, scope, kind)
        if isinstance(found, Unreadable):
            shown.append(["unreadable", found.message])
        else:
            shown.append(view(kind, found) if found is not None else None)
        shown.append(
            sorted(
                [r.domain, r.workflow, view(kind, r.attributes)]
                for r in _below(actual, scope, kind)
            )
        )
    project = actual.projects.get(scope[0])
    marker = project.labels.values.get(OWNER_KEY) if project is not None else None
    return {
        "attributes": [list(scope)],
        "lists": sorted(actual.attribute_rows),
        "projects": [scope[0]],
        "digest": digest([shown, marker, project is not None]),
    }


def _recheck(observed_: Observed) -> Needs | None:
    """What ``apply --plan`` reads again for a change that :func:`observed` recorded."""
    if "attributes" not in observed_:
        return None
    scopes: list[Scope] = [(str(p), str(d), str(w)) for p, d, w in observed_["attributes"]]
    lists = set(observed_.get("lists", []))
    lists |= {kind.name for scope in scopes for kind in TYPES if _listed(scope, kind)}
    return Needs(
        projects=frozenset(observed_.get("projects", [])),
        attributes=frozenset(
            _key(scope, kind) for scope in scopes for kind in TYPES if kind.name not in lists
        ),
        attribute_lists=frozenset(lists),
    )


def _digests(actual: Actual, observed_: Observed) -> tuple[str, ...]:
    [(project, domain, workflow)] = observed_["attributes"]
    return (str(observed(actual, (project, domain, workflow))["digest"]),)


# --- plan ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Planned:
    """What a plan of the Attributes manifests needs to know about the projects."""

    registering: frozenset[str]
    """Projects this plan registers (their attributes cannot be read yet: none is there)"""
    marking: Mapping[str, str]
    """Project -> address of the change that writes its owner marker, when an Attributes
    change must (the project's Project change writes it otherwise)"""


def owned(actual: Actual, project: str, context: Context) -> bool:
    """Whether the project carries this tree's owner marker (the module docstring says why the
    marker is a project label)."""
    if context.owner_id is None:
        return False
    found = actual.projects.get(project)
    if found is None:
        found = next((p for p in actual.all_projects or () if p.id == project), None)
    return found is not None and found.labels.values.get(OWNER_KEY) == context.owner_id


def _planned(planning: Planning) -> Planned:
    """Which projects this plan registers, and which change writes each project's marker: the
    project's Project change when the tree declares it, else its first Attributes change."""
    declared = {
        item.manifest.model.metadata.name
        for item in planning.desired.resolved
        if isinstance(item.manifest.model, ProjectManifest)
    }
    marking: dict[str, str] = {}
    if planning.context.owner_id:
        for item in sorted(_items(planning), key=lambda i: i.manifest.address):
            project = item.manifest.model.metadata.project
            if project not in declared:
                marking.setdefault(project, item.manifest.address)
    registering = frozenset(p for p in declared if p not in planning.actual.projects)
    return Planned(registering, marking)


def _items(planning: Planning) -> list[Resolved[AttributesManifest]]:
    return [
        cast(Resolved[AttributesManifest], item)
        for item in planning.desired.resolved
        if isinstance(item.manifest.model, AttributesManifest)
    ]


def _declared(planning: Planning) -> dict[Scope, Resolved[AttributesManifest]]:
    return {item.manifest.model.scope: item for item in _items(planning)}


@dataclass(frozen=True)
class _Orphan:
    """Rows of one level that no manifest declares, by resource type, and the address their
    change gets."""

    address: str
    rows: Mapping[str, AttributesAnswer]


def _pair(
    item: Resolved[AttributesManifest], planning: Planning
) -> Pair[AttributesManifest, _Orphan]:
    """Keyed by the level; Admin's side is read per type at that level (see :func:`stored`)."""
    return Pair(item.manifest.model.scope, item, None)


def _plan(pair: Pair[AttributesManifest, _Orphan], planning: Planning) -> Change | None:
    if pair.desired is None:
        assert isinstance(pair.actual, _Orphan)
        return _orphan_change(pair.key, pair.actual, planning)
    return plan_one(
        pair.desired,
        _declared(planning),
        planning.actual,
        planning.context,
        planning.problems,
        _planned(planning),
    )


@dataclass
class _Sides:
    """One manifest's types compared: Admin's side as the plan shows it, git's, and the calls
    that make Admin match."""

    before: dict[str, Any] = field(default_factory=dict)
    after: dict[str, Any] = field(default_factory=dict)
    operations: list[Operation] = field(default_factory=list)
    deleting: list[str] = field(default_factory=list)


def plan_one(
    item: Resolved[AttributesManifest],
    desired: Mapping[Scope, Resolved[AttributesManifest]],
    actual: Actual,
    context: Context,
    problems: Problems,
    planned: Planned,
) -> Change | None:
    manifest = item.manifest
    model = manifest.model
    scope = model.scope
    project = scope[0]
    new_project = project in planned.registering
    unreadable = next(
        (
            found
            for kind in TYPES
            if not new_project and isinstance(found := stored(actual, scope, kind), Unreadable)
        ),
        None,
    )
    if unreadable is not None:
        problems.add(
            manifest.diagnostic(
                ("metadata", "project"),
                f"cannot read the attributes of {_level(scope)}: {unreadable.message} (the "
                "project must be registered and active; declare it with a Project manifest)",
            )
        )
        return None
    values = secret_values(manifest.document.data, item.secrets)
    sides = _compare(item, desired, actual, context, new_project, values)
    operations = sides.operations
    marker = _marker_operation(manifest.address, project, actual, context, planned)
    if marker is not None:
        operations.insert(0, marker)
    after_view = dict(sides.after)
    redact(after_view, item.secrets, ("spec",))
    after_view = mask_values(after_view, values)
    seen = observed(actual, scope)
    address = manifest.address
    if not sides.before and operations:
        return Change(
            address,
            Action.CREATE,
            None,
            after_view,
            reason=f"no attributes at {_level(scope)} yet"
            + ("; the project is registered first" if new_project else ""),
            operations=tuple(operations),
            observed=seen,
        )
    if not operations:
        return Change(address, Action.NOOP, sides.before, after_view, observed=seen)
    return _update_change(address, scope, sides, after_view, marker is not None, seen)


def _compare(
    item: Resolved[AttributesManifest],
    desired: Mapping[Scope, Resolved[AttributesManifest]],
    actual: Actual,
    context: Context,
    new_project: bool,
    values: Mapping[str, str],
) -> _Sides:
    model = item.manifest.model
    scope = model.scope
    sides = _Sides()
    for kind in TYPES:
        found = None if new_project else stored(actual, scope, kind)
        # an Unreadable level never gets here: plan_one reported it and stopped
        now = (
            view(kind, found)
            if isinstance(found, matchable_resource_pb2.MatchingAttributes)
            else None
        )
        value = getattr(model.spec, kind.attr)
        if value is None:
            if now is not None and context.prune and owned(actual, scope[0], context):
                sides.before[kind.field] = mask_values(now, values)
                sides.deleting.append(kind.field)
                sides.operations.append(_delete(scope, kind))
                sides.operations.extend(_restores(scope, kind, desired, actual, context))
            continue
        wanted = view(kind, to_matching(kind, value))
        sides.after[kind.field] = wanted
        if now is not None:
            sides.before[kind.field] = _shown(now, wanted, item.secrets, kind.field, values)
        if now == wanted:
            continue
        if kind is _PLUGINS and now is not None and not _covers(wanted, now):
            # Admin merges overrides by task type: one git dropped must be deleted first
            sides.operations.append(_delete(scope, kind))
            sides.operations.extend(_restores(scope, kind, desired, actual, context))
        sides.operations.append(_update(scope, kind, value, values))
    return sides


def _update_change(
    address: str,
    scope: Scope,
    sides: _Sides,
    after_view: dict[str, Any],
    marking: bool,
    seen: Observed,
) -> Change:
    changed = diff({"spec": sides.before}, {"spec": after_view})
    reasons = []
    if changed:
        reasons.append(f"the attributes at {_level(scope)} differ from git")
    if sides.deleting:
        reasons.append(
            f"{', '.join(sides.deleting)} removed from git (--prune, the project carries this "
            "tree's owner marker)"
        )
    if marking:
        reasons.append(f"project {scope[0]} gets this tree's owner marker")
    return Change(
        address,
        Action.UPDATE,
        sides.before,
        after_view,
        diff=changed,
        reason="; ".join(reasons),
        operations=tuple(sides.operations),
        observed=seen,
    )


def _shown(
    now: Any, wanted: Any, secrets: Mapping[FieldPath, str], name: str, values: Mapping[str, str]
) -> Any:
    """What Admin has, as the plan may show it: where git holds a ``${env:...}`` reference,
    the reference when Admin holds its value, and no value at all otherwise."""
    shown = mask_values(now, values)
    for path, written in secrets.items():
        if path[:2] != ("spec", name):
            continue
        holder, ours = shown, wanted
        for part in path[2:-1]:
            holder = holder.get(part) if isinstance(holder, dict) else None
            ours = ours.get(part) if isinstance(ours, dict) else None
        last = path[-1]
        if isinstance(holder, dict) and last in holder:
            same = isinstance(ours, dict) and ours.get(last) == _at(now, path[2:])
            holder[last] = written if same else OTHER_VALUE
    return shown


def _at(value: Any, path: FieldPath) -> Any:
    for part in path:
        value = value.get(part) if isinstance(value, dict) else None
    return value


def _covers(wanted: list[dict[str, Any]], now: list[dict[str, Any]]) -> bool:
    return {o["taskType"] for o in now} <= {o["taskType"] for o in wanted}


def _level(scope: Scope) -> str:
    project, domain, workflow = scope
    if workflow:
        return f"workflow {workflow} in {project}/{domain}"
    if domain:
        return f"{project}/{domain}"
    return f"project {project}"


def _update(scope: Scope, kind: Type, value: Any, values: Mapping[str, str]) -> Operation:
    return _update_with(scope, to_matching(kind, value), values)


def _update_with(
    scope: Scope,
    matching: matchable_resource_pb2.MatchingAttributes,
    values: Mapping[str, str] | None = None,
) -> Operation:
    project, domain, workflow = scope
    request: Request
    if workflow:
        request = workflow_attributes_pb2.WorkflowAttributesUpdateRequest(
            attributes=workflow_attributes_pb2.WorkflowAttributes(
                project=project, domain=domain, workflow=workflow, matching_attributes=matching
            )
        )
    elif domain:
        request = project_domain_attributes_pb2.ProjectDomainAttributesUpdateRequest(
            attributes=project_domain_attributes_pb2.ProjectDomainAttributes(
                project=project, domain=domain, matching_attributes=matching
            )
        )
    else:
        request = project_attributes_pb2.ProjectAttributesUpdateRequest(
            attributes=project_attributes_pb2.ProjectAttributes(
                project=project, matching_attributes=matching
            )
        )
    secrets: tuple[SecretInput, ...] = hide_text(request, values) if values else ()
    return operation(request, secrets)


def _delete(scope: Scope, kind: Type) -> Operation:
    project, domain, workflow = scope
    request: Request
    if workflow:
        request = workflow_attributes_pb2.WorkflowAttributesDeleteRequest(
            project=project, domain=domain, workflow=workflow, resource_type=kind.name
        )
    elif domain:
        request = project_domain_attributes_pb2.ProjectDomainAttributesDeleteRequest(
            project=project, domain=domain, resource_type=kind.name
        )
    else:
        request = project_attributes_pb2.ProjectAttributesDeleteRequest(
            project=project, resource_type=kind.name
        )
    return operation(request)


def _restores(
    scope: Scope,
    kind: Type,
    desired: Mapping[Scope, Resolved[AttributesManifest]],
    actual: Actual,
    context: Context,
) -> list[Operation]:
    """The updates that put back, after a delete at ``scope``, the rows below it that Admin's
    delete also removed and that must stay: declared ones as git has them, the others as they
    were, unless ``--prune`` removes them anyway."""
    operations = []
    pruning = context.prune and owned(actual, scope[0], context)
    for row in _below(actual, scope, kind):
        below: Scope = (row.project, row.domain, row.workflow)
        item = desired.get(below)
        value = getattr(item.manifest.model.spec, kind.attr) if item is not None else None
        if value is not None:
            assert item is not None
            values = secret_values(item.manifest.document.data, item.secrets)
            operations.append(_update(below, kind, value, values))
        elif not pruning:
            operations.append(_update_with(below, row.attributes))
    return operations


def _marker_operation(
    address: str, project: str, actual: Actual, context: Context, planned: Planned
) -> Operation | None:
    """UpdateProject with this tree's owner marker added, from the change chosen to carry it."""
    if planned.marking.get(project) != address or context.owner_id is None:
        return None
    found = actual.projects.get(project)
    if found is None or found.labels.values.get(OWNER_KEY) == context.owner_id:
        return None
    return project_update(found, {OWNER_KEY: context.owner_id})


def project_update(found: project_pb2.Project, labels: Mapping[str, str]) -> Operation:
    """UpdateProject of ``found`` as Admin has it, with ``labels`` added. Admin replaces every
    field, and refuses domains in the request (they are set system wide)."""
    project = project_pb2.Project()
    project.CopyFrom(found)
    project.ClearField("domains")
    project.labels.values.update(labels)
    return operation(project)


def _orphans(planning: Planning) -> list[Pair[AttributesManifest, _Orphan]]:
    """``--prune``: the levels of owned projects that hold attributes no manifest declares."""
    context, actual = planning.context, planning.actual
    if not context.prune:
        return []
    desired = _declared(planning)
    found: dict[Scope, dict[str, AttributesAnswer]] = {}
    for kind in TYPES:
        for row in actual.attribute_rows.get(kind.name, []):
            scope: Scope = (row.project, row.domain, row.workflow)
            if row.launch_plan or scope in desired:
                continue
            if context.shard is not None and not context.shard.owns(
                row.project, row.domain or ALL_DOMAINS
            ):
                continue
            if owned(actual, row.project, context):
                found.setdefault(scope, {})[kind.name] = row
    taken = {item.manifest.address for item in desired.values()}
    pairs: list[Pair[AttributesManifest, _Orphan]] = []
    for scope, rows in sorted(found.items()):
        project, domain, workflow = scope
        name = workflow or (f"{project}-{domain}" if domain else project)
        address = f"Attributes/{project}/{domain or ALL_DOMAINS}/{name}"
        while address in taken:  # a manifest at another level may have this name
            address += "~"
        taken.add(address)
        pairs.append(Pair(scope, None, _Orphan(address, rows)))
    return pairs


def _orphan_change(scope: Scope, orphan: _Orphan, planning: Planning) -> Change:
    desired = _declared(planning)
    before = {}
    operations = []
    for kind in TYPES:
        row = orphan.rows.get(kind.name)
        if row is None:
            continue
        before[kind.field] = view(kind, row.attributes)
        operations.append(_delete(scope, kind))
        operations.extend(_restores(scope, kind, desired, planning.actual, planning.context))
    return Change(
        orphan.address,
        Action.DELETE,
        before,
        None,
        diff=diff({"spec": before}, {}),
        reason=f"no manifest declares the attributes at {_level(scope)} and the project "
        "carries this tree's owner marker (--prune)",
        operations=tuple(operations),
        observed=observed(planning.actual, scope),
    )


KIND = Kind(
    model=AttributesManifest,
    needs=_needs,
    pair=_pair,
    plan=_plan,
    recheck=_recheck,
    digests=_digests,
    orphans=_orphans,
)
