"""What every manifest has: ``apiVersion``, ``kind``, ``metadata`` and ``spec``."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field

from reconciler.manifests.fields import API_VERSION, Metadata, Model


class ManifestBase(Model):
    """A Kubernetes-style document describing one resource's desired state."""

    KIND: ClassVar[str]

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
