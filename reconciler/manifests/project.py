"""``kind: Project``: a Flyte project exists with this description, these labels and this state.

A project spans every domain, so its manifest names no project or domain of its own: its
``project`` is its name, and its ``domain`` is :data:`~reconciler.manifests.base.ALL_DOMAINS`
(its address is ``Project/NAME/-/NAME``). Admin has no delete for projects: ``state: archived``
archives one, and a project removed from git is left as it is.
"""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field

from reconciler.manifests.base import ALL_DOMAINS, ManifestBase
from reconciler.manifests.fields import Labels, Model, ProjectId

# validation/project_validator.go: at most 300 characters of description
DESCRIPTION_MAX = 300


class ProjectMetadata(Model):
    name: ProjectId = Field(description="The project id (a DNS label), as Admin knows it.")


class ProjectSpec(Model):
    description: str = Field(default="", max_length=DESCRIPTION_MAX)
    labels: Labels = Field(
        default_factory=dict,
        description="Kubernetes labels; Admin adds them to every execution of the project.",
    )
    state: Literal["active", "archived"] = Field(
        default="active", description="archived hides the project; it is never deleted."
    )


class ProjectManifest(ManifestBase):
    KIND: ClassVar[str] = "Project"
    DEFAULTED: ClassVar[tuple[str, ...]] = ()
    kind: Literal["Project"]
    metadata: ProjectMetadata  # type: ignore[assignment]  # a project has no project/domain
    spec: ProjectSpec = Field(default_factory=ProjectSpec)

    @property
    def project(self) -> str:
        return self.metadata.name

    @property
    def domain(self) -> str:
        return ALL_DOMAINS
