"""``kind: LaunchPlan``: a launch plan version with this spec exists, active or not."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field, model_validator

from reconciler.manifests.base import ManifestBase
from reconciler.manifests.fields import (
    INT32_MAX,
    Annotations,
    EntityRef,
    Envs,
    Inputs,
    Labels,
    Model,
    NonEmptyStr,
    Notification,
    Schedule,
    SecurityContext,
)


class LaunchPlanSpec(Model):
    version: NonEmptyStr = Field(
        default="auto", description="Explicit version, or 'auto' for a content hash of the spec."
    )
    workflow: EntityRef = Field(
        description="The workflow launched; version omitted = the one a Registration in this "
        "tree registers."
    )
    active: bool = Field(default=True, description="Whether this version is the active one.")
    schedule: Schedule | None = None
    default_inputs: Inputs = Field(default_factory=dict)
    fixed_inputs: Inputs = Field(
        default_factory=dict, description="Inputs executions cannot override."
    )
    labels: Labels = Field(default_factory=dict)
    annotations: Annotations = Field(default_factory=dict)
    envs: Envs = Field(default_factory=dict)
    notifications: list[Notification] = Field(default_factory=list)
    max_parallelism: int | None = Field(default=None, ge=0, le=INT32_MAX)
    raw_output_data_prefix: NonEmptyStr | None = None
    security_context: SecurityContext | None = None
    service_account: NonEmptyStr | None = Field(
        default=None, description="Shorthand for securityContext.runAs.k8sServiceAccount."
    )
    interruptible: bool | None = None
    overwrite_cache: bool | None = None

    @model_validator(mode="after")
    def _one_service_account(self) -> LaunchPlanSpec:
        run_as = self.security_context.run_as if self.security_context else None
        if self.service_account and run_as and run_as.k8s_service_account:
            raise ValueError(
                "set serviceAccount or securityContext.runAs.k8sServiceAccount, not both"
            )
        return self


class LaunchPlanManifest(ManifestBase):
    KIND: ClassVar[str] = "LaunchPlan"
    kind: Literal["LaunchPlan"]
    spec: LaunchPlanSpec
