"""Matchable attributes: project, project-domain and workflow level overrides of Admin settings.

The rules follow FlyteAdmin v1.16.8 (paths in flyteorg/flyte, ``flyteadmin/pkg/``):

* one row per (project, domain, workflow, launch plan, resource type), with Admin's priorities
  5 (project), 10 (project-domain), 100 (workflow) (``repositories/models/resource.go``); an
  update replaces the row's attributes, except ``PLUGIN_OVERRIDE`` whose overrides are merged by
  task type (``manager/impl/resources/resource_manager.go``, ``transformers/resource.go``);
* validation (``manager/impl/validation/attributes_validator.go``, ``project_validator.go``):
  project-domain and workflow requests need a registered, active project and a known domain;
  project updates and deletes need an active project, project gets only an existing one; the
  workflow name is required but need not be registered; the attributes' kind must be one Admin
  recognizes (``QUALITY_OF_SERVICE_SPECIFICATION`` is not, so it is refused);
* a get returns the **most specific** row at or above the level asked for
  (``gormimpl/resource_repo.go Get``): project-domain falls back to project, workflow to
  project-domain and then project, and the response names the level found (a project-domain get
  answered from the project row has an empty domain). Nothing found is ``NOT_FOUND`` "Resource
  [...] not found", except ``GetProjectAttributes`` of ``WORKFLOW_EXECUTION_CONFIG``, which answers
  with the server defaults and otherwise fills the row's unset fields from them;
* a delete removes every row whose key matches the request's **non-empty** fields, as gorm does
  with struct conditions (``resource_repo.go Delete``): deleting project attributes also deletes
  the project-domain and workflow rows of that project and resource type. Deleting what is not
  there is not an error;
* ``ListMatchableAttributes`` lists every row of one resource type, most specific first.

:meth:`Attributes.execution_layers` gives the ``WORKFLOW_EXECUTION_CONFIG`` rows that
``CreateExecution`` merges (``execution_manager.go getExecutionConfig``): the most specific row
for the workflow, then the project row.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flyteidl.admin import (
    matchable_resource_pb2,
    project_attributes_pb2,
    project_domain_attributes_pb2,
    project_pb2,
    workflow_attributes_pb2,
)

from reconciler.localadmin.clock import Clock
from reconciler.localadmin.errors import invalid, not_found
from reconciler.localadmin.projects import Projects
from reconciler.localadmin.protos import missing, parse
from reconciler.localadmin.store import Row, Store

MatchableResource = matchable_resource_pb2.MatchableResource

PROJECT_LEVEL = 5
PROJECT_DOMAIN_LEVEL = 10
WORKFLOW_LEVEL = 100

# attributes_validator.go validateMatchingAttributes: the oneof fields Admin recognizes, in its
# order; quality_of_service is missing there, so Admin refuses it
_KINDS = {
    "task_resource_attributes": MatchableResource.TASK_RESOURCE,
    "cluster_resource_attributes": MatchableResource.CLUSTER_RESOURCE,
    "execution_queue_attributes": MatchableResource.EXECUTION_QUEUE,
    "execution_cluster_label": MatchableResource.EXECUTION_CLUSTER_LABEL,
    "plugin_overrides": MatchableResource.PLUGIN_OVERRIDE,
    "workflow_execution_config": MatchableResource.WORKFLOW_EXECUTION_CONFIG,
    "cluster_assignment": MatchableResource.CLUSTER_ASSIGNMENT,
}


def default_execution_config() -> matchable_resource_pb2.WorkflowExecutionConfig:
    """Admin's application defaults as a WorkflowExecutionConfig: of Admin's default
    configuration (runtime/application_config_provider.go) only ``maxParallelism: 25`` lands
    there (runtime/interfaces/application_configuration.go GetAsWorkflowExecutionConfig)."""
    return matchable_resource_pb2.WorkflowExecutionConfig(max_parallelism=25)


@dataclass(frozen=True)
class _Key:
    project: str = ""
    domain: str = ""
    workflow: str = ""
    launch_plan: str = ""
    resource_type: str = ""

    def go_text(self) -> str:
        """Go's ``%+v`` of Admin's ResourceID, which its NOT_FOUND messages print."""
        return (
            f"{{Project:{self.project} Domain:{self.domain} Workflow:{self.workflow} "
            f"LaunchPlan:{self.launch_plan} ResourceType:{self.resource_type}}}"
        )


class Attributes:
    def __init__(
        self,
        store: Store,
        clock: Clock,
        projects: Projects,
        defaults: matchable_resource_pb2.WorkflowExecutionConfig,
    ) -> None:
        self.store = store
        self.clock = clock
        self.projects = projects
        self.defaults = defaults

    # -- project -----------------------------------------------------------------------------

    def update_project(self, attributes: project_attributes_pb2.ProjectAttributes | None) -> None:
        if attributes is None:
            raise invalid("missing attributes")
        self._check_project_for_update(attributes.project)
        kind = _kind(attributes, attributes.project)
        self._put(_Key(attributes.project, resource_type=kind), PROJECT_LEVEL, attributes)

    def get_project(
        self, project: str, resource_type: int
    ) -> project_attributes_pb2.ProjectAttributes:
        # project_validator.go ValidateProjectExists: archived projects can still be read
        if not self._project_row(project):
            raise invalid(
                f"failed to validate that project [{project}] exists, err: "
                f"[{missing('project', project)}]"
            )
        key = _Key(project, resource_type=_type_name(resource_type))
        row = self.store.get("resources", _columns(key))
        is_wec = resource_type == MatchableResource.WORKFLOW_EXECUTION_CONFIG
        if row is None and not is_wec:
            raise not_found(f"Resource [{key.go_text()}] not found")
        found = _attributes(row) if row is not None else matchable_resource_pb2.MatchingAttributes()
        if is_wec:
            # resource_manager.go GetProjectAttributes: server defaults answer for a missing row
            # and fill the unset fields of a present one
            config = matchable_resource_pb2.WorkflowExecutionConfig()
            config.CopyFrom(found.workflow_execution_config)
            merge_exec_config(config, self.defaults)
            found = matchable_resource_pb2.MatchingAttributes(workflow_execution_config=config)
        return project_attributes_pb2.ProjectAttributes(project=project, matching_attributes=found)

    def delete_project(self, project: str, resource_type: int) -> None:
        self._check_project_for_update(project)
        self._delete(_Key(project, resource_type=_type_name(resource_type)))

    # -- project-domain ----------------------------------------------------------------------

    def update_project_domain(
        self, attributes: project_domain_attributes_pb2.ProjectDomainAttributes | None
    ) -> None:
        if attributes is None:
            raise invalid("missing attributes")
        self.projects.check_project_domain(attributes.project, attributes.domain)
        kind = _kind(attributes, f"{attributes.project}-{attributes.domain}")
        key = _Key(attributes.project, attributes.domain, resource_type=kind)
        self._put(key, PROJECT_DOMAIN_LEVEL, attributes)

    def get_project_domain(
        self, project: str, domain: str, resource_type: int
    ) -> project_domain_attributes_pb2.ProjectDomainAttributes:
        self.projects.check_project_domain(project, domain)
        row = self._most_specific(_Key(project, domain, resource_type=_type_name(resource_type)))
        return project_domain_attributes_pb2.ProjectDomainAttributes(
            project=row["project"], domain=row["domain"], matching_attributes=_attributes(row)
        )

    def delete_project_domain(self, project: str, domain: str, resource_type: int) -> None:
        self.projects.check_project_domain(project, domain)
        self._delete(_Key(project, domain, resource_type=_type_name(resource_type)))

    # -- workflow ----------------------------------------------------------------------------

    def update_workflow(
        self, attributes: workflow_attributes_pb2.WorkflowAttributes | None
    ) -> None:
        if attributes is None:
            raise invalid("missing attributes")
        self.projects.check_project_domain(attributes.project, attributes.domain)
        if not attributes.workflow:
            raise invalid("missing name")
        kind = _kind(attributes, f"{attributes.project}-{attributes.domain}-{attributes.workflow}")
        key = _Key(attributes.project, attributes.domain, attributes.workflow, resource_type=kind)
        self._put(key, WORKFLOW_LEVEL, attributes)

    def get_workflow(
        self, project: str, domain: str, workflow: str, resource_type: int
    ) -> workflow_attributes_pb2.WorkflowAttributes:
        self.projects.check_project_domain(project, domain)
        if not workflow:
            raise invalid("missing name")
        row = self._most_specific(
            _Key(project, domain, workflow, resource_type=_type_name(resource_type))
        )
        return workflow_attributes_pb2.WorkflowAttributes(
            project=row["project"],
            domain=row["domain"],
            workflow=row["workflow"],
            matching_attributes=_attributes(row),
        )

    def delete_workflow(self, project: str, domain: str, workflow: str, resource_type: int) -> None:
        self.projects.check_project_domain(project, domain)
        if not workflow:
            raise invalid("missing name")
        self._delete(_Key(project, domain, workflow, resource_type=_type_name(resource_type)))

    # -- all ---------------------------------------------------------------------------------

    def list_all(
        self, resource_type: int
    ) -> list[matchable_resource_pb2.MatchableAttributesConfiguration]:
        if resource_type not in MatchableResource.values():
            raise invalid("invalid value for resource_type")
        rows = self.store.select(
            "resources",
            ["resource_type = ?"],
            [MatchableResource.Name(resource_type)],
            order_by="priority DESC, seq ASC",
        )
        return [
            matchable_resource_pb2.MatchableAttributesConfiguration(
                attributes=_attributes(row),
                project=row["project"],
                domain=row["domain"],
                workflow=row["workflow"],
                launch_plan=row["launch_plan"],
            )
            for row in rows
        ]

    # -- for CreateExecution -----------------------------------------------------------------

    def execution_layers(
        self, project: str, domain: str, workflow: str
    ) -> list[matchable_resource_pb2.WorkflowExecutionConfig]:
        """execution_manager.go getExecutionConfig: the most specific WORKFLOW_EXECUTION_CONFIG
        for the workflow, then the project's own row (FLYTE-2322: a project-level setting still
        fills what a more specific row leaves unset). A workflow row hides the project-domain
        row entirely; only the project row is merged on top of the most specific one."""
        kind = MatchableResource.Name(MatchableResource.WORKFLOW_EXECUTION_CONFIG)
        layers = []
        for key in (
            _Key(project, domain, workflow, resource_type=kind),
            _Key(project, "", "", resource_type=kind),
        ):
            row = self._find_most_specific(key)
            if row is not None:
                found = _attributes(row)
                if found.HasField("workflow_execution_config"):
                    layers.append(found.workflow_execution_config)
        return layers

    # -- rows --------------------------------------------------------------------------------

    def _project_row(self, project: str) -> Row | None:
        return self.store.get("projects", {"identifier": project})

    def _check_project_for_update(self, project: str) -> None:
        """project_validator.go ValidateProjectForUpdate, messages included."""
        row = self._project_row(project)
        if row is None:
            raise invalid(
                f"failed to validate that project [{project}] is registered, err: "
                f"[{missing('project', project)}]"
            )
        if row["state"] != project_pb2.Project.ACTIVE:
            raise invalid(f"project [{project}] is not active")

    def _put(self, key: _Key, priority: int, attributes: Any) -> None:
        new = attributes.matching_attributes
        now = self.clock.now()
        with self.store.transaction():
            existing = self.store.get("resources", _columns(key))
            if existing is None:
                self.store.insert(
                    "resources",
                    {
                        **_columns(key),
                        "priority": priority,
                        "created_at": now,
                        "updated_at": now,
                        "attributes": new.SerializeToString(),
                    },
                )
                return
            if new.HasField("plugin_overrides"):
                new = _merge_plugin_overrides(_attributes(existing), new)
            self.store.update(
                "resources",
                _columns(key),
                {"updated_at": now, "attributes": new.SerializeToString()},
            )

    def _find_most_specific(self, key: _Key) -> Row | None:
        """resource_repo.go Get: each key field matches its value or the empty wildcard; the
        highest priority wins."""
        where = ["resource_type = ?"]
        params: list[Any] = [key.resource_type]
        for column in ("project", "domain", "workflow", "launch_plan"):
            value = getattr(key, column)
            where.append(f"{column} IN ('', ?)")
            params.append(value)
        rows = self.store.select(
            "resources", where, params, order_by="priority DESC, seq ASC", limit=1
        )
        return rows[0] if rows else None

    def _most_specific(self, key: _Key) -> Row:
        row = self._find_most_specific(key)
        if row is None:
            raise not_found(f"Resource [{key.go_text()}] not found")
        return row

    def _delete(self, key: _Key) -> None:
        # gorm's Where(&models.Resource{...}) ignores zero-valued fields: an empty workflow or
        # domain in the request is no condition at all (resource_repo.go Delete)
        conditions = {k: v for k, v in _columns(key).items() if v}
        self.store.delete("resources", conditions)


def merge_exec_config(config: matchable_resource_pb2.WorkflowExecutionConfig, lower: Any) -> None:
    """util/shared.go MergeIntoExecConfig: fill each field of ``config`` that is still unset from
    ``lower`` (an ExecutionSpec, LaunchPlanSpec or WorkflowExecutionConfig). "Unset" is deep: a
    security context naming no identity, a raw output config without a prefix and an empty map
    count as unset, so an empty value never wins; maps are taken whole, never merged."""
    if config.max_parallelism == 0 and lower.max_parallelism > 0:
        config.max_parallelism = lower.max_parallelism
    if not config.HasField("security_context") and _names_identity(lower):
        config.security_context.CopyFrom(lower.security_context)
    if (
        not config.raw_output_data_config.output_location_prefix
        and lower.raw_output_data_config.output_location_prefix
    ):
        config.raw_output_data_config.CopyFrom(lower.raw_output_data_config)
    for name in ("labels", "annotations", "envs"):
        if not getattr(config, name).values and getattr(lower, name).values:
            getattr(config, name).CopyFrom(getattr(lower, name))
    if not config.HasField("interruptible") and lower.HasField("interruptible"):
        config.interruptible.CopyFrom(lower.interruptible)
    if not config.overwrite_cache and lower.overwrite_cache:
        config.overwrite_cache = True


def _names_identity(message: Any) -> bool:
    run_as = message.security_context.run_as
    return bool(run_as.k8s_service_account or run_as.iam_role or run_as.execution_identity)


def _kind(attributes: Any, identifier: str) -> str:
    if not attributes.HasField("matching_attributes"):
        raise invalid("missing matching_attributes")
    target = attributes.matching_attributes.WhichOneof("target")
    if target not in _KINDS:
        raise invalid(f"Unrecognized matching attributes type for request {identifier}")
    return str(MatchableResource.Name(_KINDS[target]))


def _type_name(resource_type: int) -> str:
    # Admin keys rows by the enum's name (request.GetResourceType().String())
    if resource_type not in MatchableResource.values():
        return str(resource_type)  # Go prints an unknown enum value as its number
    return str(MatchableResource.Name(resource_type))


def _columns(key: _Key) -> dict[str, str]:
    return {
        "project": key.project,
        "domain": key.domain,
        "workflow": key.workflow,
        "launch_plan": key.launch_plan,
        "resource_type": key.resource_type,
    }


def _attributes(row: Row) -> matchable_resource_pb2.MatchingAttributes:
    return parse(matchable_resource_pb2.MatchingAttributes, row["attributes"])


def _merge_plugin_overrides(
    existing: matchable_resource_pb2.MatchingAttributes,
    new: matchable_resource_pb2.MatchingAttributes,
) -> matchable_resource_pb2.MatchingAttributes:
    """transformers/resource.go mergeUpdatePluginOverrides: one override per task type, the new
    one winning (Admin's result order is Go map order; here: existing order, then new types)."""
    by_type: dict[str, matchable_resource_pb2.PluginOverride] = {}
    for override in [*existing.plugin_overrides.overrides, *new.plugin_overrides.overrides]:
        by_type[override.task_type] = override
    return matchable_resource_pb2.MatchingAttributes(
        plugin_overrides=matchable_resource_pb2.PluginOverrides(overrides=list(by_type.values()))
    )
