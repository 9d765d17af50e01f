"""``kind: Execution``: a run exists, launched with these inputs and options."""

from __future__ import annotations

from typing import Annotated, Any, ClassVar, Literal

from pydantic import BeforeValidator, Field, model_validator

from reconciler.manifests.base import ManifestBase
from reconciler.manifests.fields import (
    INT32_MAX,
    Annotations,
    EntityRef,
    Envs,
    ExecutionMetadata,
    Inputs,
    Labels,
    Model,
    NonEmptyStr,
    Notification,
)

MAX_ATTEMPTS = 10


def attempt_name(name: str, attempt: int) -> str:
    """Name of the run that recovers or relaunches ``name`` for the ``attempt``-th time (1-based).

    Deterministic, so that a run killed mid-apply and started again finds the run it launched.
    """
    return f"{name}-r{attempt}"


class OnFailure(Model):
    action: Literal["none", "recover", "relaunch"] = "none"
    max_attempts: int = Field(
        default=1, ge=1, le=MAX_ATTEMPTS, description="How many recoveries or relaunches at most."
    )


def _action_shorthand(value: Any) -> Any:
    return {"action": value} if isinstance(value, str) else value


class ExecutionSpec(Model):
    launch_plan: EntityRef | None = Field(
        default=None, description="Launch plan to run; version omitted = the active version."
    )
    task: EntityRef | None = None
    workflow: EntityRef | None = None
    inputs: Inputs = Field(
        default_factory=dict,
        description="Input values, typed by the target's interface at plan time. A file, "
        "directory or structured dataset input may be a local path, {path: ./data/jan.csv} "
        "(relative to this file), which apply uploads through DataProxy.",
    )
    labels: Labels = Field(default_factory=dict)
    annotations: Annotations = Field(default_factory=dict)
    envs: Envs = Field(default_factory=dict)
    tags: list[NonEmptyStr] = Field(default_factory=list)
    notifications: list[Notification] | None = None
    disable_notifications: bool | None = None
    overwrite_cache: bool | None = None
    interruptible: bool | None = None
    max_parallelism: int | None = Field(default=None, ge=0, le=INT32_MAX)
    cluster_pool: NonEmptyStr | None = None
    execution_cluster_label: NonEmptyStr | None = None
    raw_output_data_prefix: NonEmptyStr | None = None
    service_account: NonEmptyStr | None = None
    state: Literal["launched", "terminated"] = "launched"
    on_failure: Annotated[OnFailure, BeforeValidator(_action_shorthand)] = Field(
        default_factory=OnFailure,
        description="none (default), recover or relaunch; or {action, maxAttempts}.",
    )

    @model_validator(mode="after")
    def _consistent(self) -> ExecutionSpec:
        targets = [t for t in (self.launch_plan, self.task, self.workflow) if t is not None]
        if len(targets) != 1:
            raise ValueError("set exactly one of launchPlan, task or workflow")
        if self.disable_notifications and self.notifications:
            raise ValueError("set notifications or disableNotifications: true, not both")
        return self


class ExecutionManifest(ManifestBase):
    KIND: ClassVar[str] = "Execution"
    kind: Literal["Execution"]
    metadata: ExecutionMetadata
    spec: ExecutionSpec
