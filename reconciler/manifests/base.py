"""What every manifest has: ``apiVersion``, ``kind``, ``metadata`` and ``spec``."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field

from reconciler.manifests.fields import API_VERSION, Metadata, Model

ALL_DOMAINS = "-"
"""The domain part of the address of what spans a project's domains (a Project, project-level
Attributes); never a domain id, which starts with a letter or digit."""


class ManifestBase(Model):
    """A Kubernetes-style document describing one resource's desired state."""

    KIND: ClassVar[str]
    DEFAULTED: ClassVar[tuple[str, ...]] = ("project", "domain")
    """The metadata fields that ``defaults`` in reconciler.yaml fill when a manifest leaves them
    out."""

    api_version: Literal["reconciler/v1"] = Field(description=f"Always {API_VERSION!r}.")
    metadata: Metadata

    @property
    def name(self) -> str:
        return self.metadata.name

    @property
    def project(self) -> str:
        return self.metadata.project

    @property
    def domain(self) -> str:
        return self.metadata.domain
