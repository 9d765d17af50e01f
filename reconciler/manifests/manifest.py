"""``Manifest``: one validated manifest and the YAML document it came from (for positions).

Its own module so that both the loader and the tree checks can use it without importing each
other; ``reconciler.manifests.load`` re-exports it.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path
from typing import Generic

from typing_extensions import TypeVar

from reconciler.diagnostics import Diagnostic, FieldPath, Location, Severity
from reconciler.manifests.address import Address
from reconciler.manifests.base import ManifestBase
from reconciler.manifests.signal import SignalManifest
from reconciler.manifests.yamlread import Document

M_co = TypeVar("M_co", bound=ManifestBase, default=ManifestBase, covariant=True)
"""The model a manifest holds; a bare ``Manifest`` may hold any kind's (covariant: a
``Manifest[LaunchPlanManifest]`` is a ``Manifest``)."""


@dataclass(frozen=True)
class Manifest(Generic[M_co]):
    """A validated manifest and the document it came from; ``Manifest[LaunchPlanManifest]``
    is one known to hold a launch plan (``reconciler.kinds`` narrows them, by kind)."""

    model: M_co
    document: Document
    source: Path

    @property
    def kind(self) -> str:
        return self.model.KIND

    @property
    def project(self) -> str:
        return self.model.project

    @property
    def domain(self) -> str:
        return self.model.domain

    @property
    def name(self) -> str:
        return self.model.name

    @functools.cached_property  # asked for all the time when planning; the model is frozen
    def address(self) -> str:
        """``Kind/project/domain/name``; signals are addressed by execution and signal id
        (``Address``)."""
        if isinstance(self.model, SignalManifest):
            spec = self.model.spec
            at = Address(self.kind, self.project, self.domain, spec.execution, spec.signal_id)
        else:
            at = Address(self.kind, self.project, self.domain, self.name)
        return str(at)

    def location(self, *path: str | int, key: bool = False) -> Location:
        return self.document.location(path, key=key)

    def diagnostic(
        self,
        path: FieldPath,
        message: str,
        *,
        key: bool = False,
        severity: Severity = Severity.ERROR,
    ) -> Diagnostic:
        return Diagnostic(self.document.location(path, key=key), message, path, severity)
