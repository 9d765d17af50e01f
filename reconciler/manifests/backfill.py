"""``kind: Backfill``: a scheduled launch plan has run for every tick of a window."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field

from reconciler.manifests.base import ManifestBase
from reconciler.manifests.fields import EntityRef, ExecutionMetadata, Model, UtcDatetime


class BackfillSpec(Model):
    launch_plan: EntityRef = Field(description="A launch plan with a schedule.")
    start: UtcDatetime = Field(alias="from", description="First tick considered (inclusive).")
    end: UtcDatetime = Field(alias="to", description="Last tick considered (inclusive).")
    parallel: bool = Field(default=False, description="Run ticks in parallel instead of in order.")
    failure_policy: Literal["failFast", "continue"] = "failFast"
    overwrite_cache: bool | None = None


class BackfillManifest(ManifestBase):
    KIND: ClassVar[str] = "Backfill"
    kind: Literal["Backfill"]
    # The name names the backfill workflow's execution, so it follows execution name rules.
    metadata: ExecutionMetadata
    spec: BackfillSpec
