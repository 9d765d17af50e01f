"""Resolve ``${env:NAME}`` references at plan time and re-check what they produced.

Validation only checks a reference's form; here the environment supplies values, the manifest
is validated again with them (a label built from a variable must still be a valid label), and
the paths that held references are remembered so that every output shows the reference, never
the value (DESIGN.md: such values are redacted in every output).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Generic

from reconciler.diagnostics import Diagnostic, FieldPath
from reconciler.manifests.envref import holds_template, substitute
from reconciler.manifests.load import Manifest
from reconciler.manifests.manifest import M_co
from reconciler.manifests.parse import parse_manifest
from reconciler.manifests.yamlread import Document


@dataclass(frozen=True)
class Resolved(Generic[M_co]):
    """A manifest with its references replaced; ``secrets`` maps each path that held a
    reference to the text as written in git (``${env:TOKEN}``)."""

    manifest: Manifest[M_co]
    secrets: Mapping[FieldPath, str]


def resolve(manifest: Manifest, environ: Mapping[str, str]) -> Resolved | list[Diagnostic]:
    if not holds_template(manifest.document.data):
        return Resolved(manifest, {})  # nothing to resolve, nothing to check again
    secrets: dict[FieldPath, str] = {}
    problems: list[Diagnostic] = []
    data = _walk(manifest.document.data, (), dict(environ), secrets, problems, manifest)
    if problems:
        return problems
    if not secrets:
        return Resolved(manifest, {})
    document = Document(
        manifest.document.file, manifest.document.index, data, manifest.document.positions
    )
    parsed = parse_manifest(
        document, project=manifest.project, domain=manifest.domain, resolved=True
    )
    if isinstance(parsed, list):
        return [_redacted(d, secrets) for d in parsed]
    return Resolved(Manifest(parsed, document, manifest.source), secrets)


def _walk(
    value: Any,
    path: FieldPath,
    environ: dict[str, str],
    secrets: dict[FieldPath, str],
    problems: list[Diagnostic],
    manifest: Manifest,
) -> Any:
    if isinstance(value, str):
        if "${" not in value:
            return value
        missing: list[str] = []
        resolved = substitute(value, environ, missing)
        for name in missing:
            problems.append(manifest.diagnostic(path, f"environment variable {name} is not set"))
        if resolved != value:
            secrets[path] = value
        return resolved
    if isinstance(value, dict):
        return {
            k: _walk(v, (*path, k), environ, secrets, problems, manifest) for k, v in value.items()
        }
    if isinstance(value, list):
        return [
            _walk(v, (*path, i), environ, secrets, problems, manifest) for i, v in enumerate(value)
        ]
    return value


def _redacted(diagnostic: Diagnostic, secrets: Mapping[FieldPath, str]) -> Diagnostic:
    """A validation message about a resolved value must not quote the value."""
    if diagnostic.path in secrets:
        return Diagnostic(
            diagnostic.location,
            f"the value of {secrets[diagnostic.path]} is not valid here",
            diagnostic.path,
            diagnostic.severity,
        )
    return diagnostic
