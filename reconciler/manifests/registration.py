"""``kind: Registration``: tasks, workflows and launch plans of a package, at a version."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field, model_validator

from reconciler.manifests.base import ManifestBase
from reconciler.manifests.fields import Model, NonEmptyStr


class Source(Model):
    """Python source serialized with flytekit (script mode); needs the ``flytekit`` extra."""

    path: NonEmptyStr = Field(description="Source root, relative to this manifest file.")
    module: NonEmptyStr | None = Field(
        default=None, description="Dotted module under path; omitted = every module under path."
    )
    entities: list[NonEmptyStr] | None = Field(
        default=None, description="Only these tasks, workflows and launch plans (by name)."
    )
    copy_style: Literal["auto", "all", "none"] = Field(
        default="auto",
        alias="copy",
        description="Code shipped for fast registration, as pyflyte's --copy.",
    )


class RegistrationSpec(Model):
    package: NonEmptyStr | None = Field(
        default=None,
        description="A `pyflyte package` archive (or a folder of its .pb files), relative to "
        "this manifest file.",
    )
    source: Source | None = None
    version: NonEmptyStr = Field(
        default="auto", description="Explicit version, or 'auto' for a content hash."
    )
    activate_launch_plans: bool = Field(
        default=False,
        description="Activate the package's launch plans (they are registered inactive).",
    )
    destination_dir: NonEmptyStr = Field(
        default=".", description="Where the code lands in the task container ({{ .dest_dir }})."
    )

    @model_validator(mode="after")
    def _package_or_source(self) -> RegistrationSpec:
        if (self.package is None) == (self.source is None):
            raise ValueError("set exactly one of package or source")
        return self


class RegistrationManifest(ManifestBase):
    KIND: ClassVar[str] = "Registration"
    kind: Literal["Registration"]
    spec: RegistrationSpec
