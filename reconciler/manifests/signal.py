"""``kind: Signal``: a gate of a running execution is approved, rejected or given a value."""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from pydantic import Field, model_validator

from reconciler.manifests.base import ManifestBase
from reconciler.manifests.fields import EntityName, ExecutionName, Model


class SignalSpec(Model):
    execution: ExecutionName = Field(
        description="Execution name, in this manifest's project/domain."
    )
    signal_id: EntityName
    approve: bool | None = None
    reject: bool | None = None
    value: Any = Field(default=None, description="A value typed by the signal's declared type.")

    @model_validator(mode="after")
    def _one_value(self) -> SignalSpec:
        given = [f for f in ("approve", "reject", "value") if f in self.model_fields_set]
        if len(given) != 1:
            raise ValueError("set exactly one of approve: true, reject: true or value")
        if given[0] != "value" and getattr(self, given[0]) is not True:
            other = "reject" if given[0] == "approve" else "approve"
            raise ValueError(f"{given[0]} can only be true; to refuse write {other}: true instead")
        return self


class SignalManifest(ManifestBase):
    KIND: ClassVar[str] = "Signal"
    kind: Literal["Signal"]
    spec: SignalSpec
