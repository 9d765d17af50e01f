"""Print the result of loading a manifest tree: text for people, JSON for tools, or GitHub
Actions annotations for pull requests."""

from __future__ import annotations

import json
from typing import TextIO

import click

from reconciler.diagnostics import Diagnostic, format_path
from reconciler.manifests.load import ManifestTree


def render_json(tree: ManifestTree, out: TextIO) -> None:
    json.dump(_as_json(tree), out, indent=2)
    out.write("\n")


def render_github(tree: ManifestTree, out: TextIO) -> None:
    """GitHub Actions workflow commands: an annotation per problem, then the summary."""
    for diagnostic in tree.diagnostics:
        out.write(_github_annotation(diagnostic) + "\n")
    out.write(_summary(tree) + "\n")


def render_text(tree: ManifestTree, out: TextIO, *, verbose: bool = False) -> None:
    """Every problem, then the summary; ``verbose`` names the settings file and every
    manifest read first."""
    if verbose:
        click.echo(f"settings file: {tree.settings_file or 'none'}", file=out)
        for manifest in tree.manifests:
            click.echo(f"{manifest.location()}: {manifest.address}", file=out)
    for diagnostic in tree.diagnostics:
        colour = "red" if diagnostic.is_error else "yellow"
        where, _, rest = str(diagnostic).partition(": ")
        click.echo(f"{click.style(where, bold=True)}: {click.style(rest, fg=colour)}", file=out)
    click.echo(click.style(_summary(tree), fg="green" if tree.ok else "red", bold=True), file=out)


def _summary(tree: ManifestTree) -> str:
    errors = sum(1 for d in tree.diagnostics if d.is_error)
    warnings = len(tree.diagnostics) - errors
    if errors:
        bad_files = len({d.location.file for d in tree.diagnostics if d.is_error})
        files = _count(tree.files_read, "file")
        text = f"invalid: {_count(errors, 'error')} in {bad_files} of {files}"
    else:
        manifests = _count(len(tree.manifests), "manifest")
        text = f"valid: {manifests} in {_count(tree.files_read, 'file')}"
    if warnings:
        text += f", {_count(warnings, 'warning')}"
    return text


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" + ("" if n == 1 else "s")


def _as_json(tree: ManifestTree) -> dict[str, object]:
    return {
        "valid": tree.ok,
        "files": len(tree.files),
        "manifests": [
            {"address": m.address, "file": m.document.file, "line": m.location().line}
            for m in tree.manifests
        ],
        "diagnostics": [
            {
                "file": d.location.file,
                "line": d.location.line,
                "column": d.location.column,
                "path": format_path(d.path),
                "severity": d.severity.value,
                "message": d.message,
            }
            for d in tree.diagnostics
        ],
    }


def _github_annotation(diagnostic: Diagnostic) -> str:
    level = "error" if diagnostic.is_error else "warning"
    loc = diagnostic.location
    field = format_path(diagnostic.path)
    message = f"{field}: {diagnostic.message}" if field else diagnostic.message
    escaped = message.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    file = loc.file.replace("%", "%25").replace(",", "%2C").replace(":", "%3A")
    return f"::{level} file={file},line={loc.line},col={loc.column}::{escaped}"
