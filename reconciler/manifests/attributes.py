"""``kind: Attributes``: Admin's matchable attributes at one level, for every type the spec sets.

The level is the metadata's: ``project`` alone is project level, ``project`` and ``domain``
project-domain level, and ``spec.workflow`` (which needs a domain, see ``manifests/checks.py``)
workflow level. Each spec
field is one of Admin's matchable resource types (``MatchableResource``); a type the spec leaves
out is not managed, unless ``--prune`` removes it (see ``reconciler.kinds.attributes``).

``domain`` is never filled from ``defaults.domain`` in reconciler.yaml: leaving it out is how a
manifest says "project level", so a default would silently move it to another level.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, ClassVar, Literal

from pydantic import AfterValidator, BeforeValidator, ConfigDict, Field

from reconciler.manifests.base import ALL_DOMAINS, ManifestBase
from reconciler.manifests.fields import (
    INT32_MAX,
    Annotations,
    DomainId,
    EntityName,
    Envs,
    Labels,
    Model,
    NonEmptyStr,
    ProjectId,
)

# Kubernetes resource quantities (k8s.io/apimachinery resource.Quantity): a number, then an
# optional binary (Ki..Ei), decimal (n, u, m, k, M..E) or exponent suffix.
_QUANTITY = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([KMGTPE]i|[numkMGTPE]|[eE][+-]?\d+)?")


def _quantity(value: Any) -> Any:
    """``cpu: 1`` and ``cpu: 0.5`` as well as ``"1"``: Admin stores quantities as text."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        value = str(value)
    if isinstance(value, str) and not _QUANTITY.fullmatch(value):
        raise ValueError(f"{value!r} is not a Kubernetes quantity (such as 500m, 2, 1Gi)")
    return value


Quantity = Annotated[str, BeforeValidator(_quantity)]


class Resources(Model):
    cpu: Quantity | None = None
    gpu: Quantity | None = None
    memory: Quantity | None = None
    storage: Quantity | None = None
    ephemeral_storage: Quantity | None = None


class TaskResources(Model):
    """TASK_RESOURCE: the requests tasks get when they set none, and the most they may ask."""

    defaults: Resources = Field(default_factory=Resources)
    limits: Resources = Field(default_factory=Resources)


class ClusterResources(Model):
    """CLUSTER_RESOURCE: values for the cluster resource templates of the namespace."""

    attributes: dict[NonEmptyStr, str] = Field(default_factory=dict)


class ExecutionQueue(Model):
    """EXECUTION_QUEUE: tags that select the queue executions go to."""

    tags: list[NonEmptyStr] = Field(default_factory=list)


class PluginOverride(Model):
    task_type: NonEmptyStr
    plugin_id: list[NonEmptyStr] = Field(min_length=1)
    missing_plugin_behavior: Literal["fail", "useDefault"] = "fail"


class AttributesSecurityContext(Model):
    service_account: NonEmptyStr | None = Field(
        default=None, description="runAs.k8sServiceAccount of the executions."
    )
    iam_role: NonEmptyStr | None = None
    execution_identity: NonEmptyStr | None = None


class WorkflowExecutionConfig(Model):
    """WORKFLOW_EXECUTION_CONFIG: execution settings a launch plan or request leaves unset."""

    max_parallelism: int | None = Field(default=None, ge=0, le=INT32_MAX)
    security_context: AttributesSecurityContext | None = None
    raw_output_data_prefix: NonEmptyStr | None = None
    labels: Labels = Field(default_factory=dict)
    annotations: Annotations = Field(default_factory=dict)
    interruptible: bool | None = None
    overwrite_cache: bool = False
    envs: Envs = Field(default_factory=dict)


class ClusterAssignment(Model):
    cluster_pool_name: NonEmptyStr


def _unique_task_types(value: list[PluginOverride]) -> list[PluginOverride]:
    seen: set[str] = set()
    for override in value:
        if override.task_type in seen:
            # Admin keeps one override per task type (transformers/resource.go)
            raise ValueError(f"task type {override.task_type!r} has two overrides; keep one")
        seen.add(override.task_type)
    return value


class AttributesSpec(Model):
    workflow: EntityName | None = Field(
        default=None, description="Workflow name: workflow-level attributes (needs a domain)."
    )
    task_resources: TaskResources | None = None
    cluster_resources: ClusterResources | None = None
    execution_queue: ExecutionQueue | None = None
    execution_cluster_label: NonEmptyStr | None = None
    plugin_overrides: Annotated[list[PluginOverride], AfterValidator(_unique_task_types)] | None = (
        None
    )
    workflow_execution_config: WorkflowExecutionConfig | None = None
    cluster_assignment: ClusterAssignment | None = None


def _defaults_may_fill(schema: dict[str, Any]) -> None:
    schema["required"] = [f for f in schema.get("required", []) if f != "project"]


class AttributesMetadata(Model):
    model_config = ConfigDict(json_schema_extra=_defaults_may_fill)

    name: EntityName
    project: ProjectId = Field(description="Defaults to defaults.project in reconciler.yaml.")
    domain: DomainId | None = Field(
        default=None, description="Omitted: project level (never taken from defaults.domain)."
    )


class AttributesManifest(ManifestBase):
    KIND: ClassVar[str] = "Attributes"
    DEFAULTED: ClassVar[tuple[str, ...]] = ("project",)
    kind: Literal["Attributes"]
    metadata: AttributesMetadata  # type: ignore[assignment]  # the domain is optional
    spec: AttributesSpec

    @property
    def domain(self) -> str:
        return self.metadata.domain or ALL_DOMAINS

    @property
    def scope(self) -> tuple[str, str, str]:
        """(project, domain, workflow) as Admin keys the attributes, "" for what is not set."""
        return (self.metadata.project, self.metadata.domain or "", self.spec.workflow or "")
