"""What ``outputs`` prints: the outputs of the runs behind Execution manifests as YAML values
(text for people) or JSON (for scripts), what ``--download`` fetched, and the runs that have no
outputs yet.

The command builds the report from what Admin returns, redacted (``reconciler.redact``):
nothing here sees a value from ``${env:...}``."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, TextIO

import click
import yaml

from reconciler.plan.model import json_default


@dataclass(frozen=True)
class Download:
    """One output fetched with ``--download``: where it was written, or why it was not."""

    output: str
    path: str | None
    error: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {"output": self.output, "path": self.path, "error": self.error}


@dataclass(frozen=True)
class RunOutputs:
    """One run. ``outputs`` is None until the run has succeeded (``note`` says why: still
    running, or ended without outputs), or when Admin would not give them."""

    manifest: str
    execution: str
    phase: str
    outputs: Mapping[str, Any] | None
    note: str | None = None
    downloads: tuple[Download, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "manifest": self.manifest,
            "execution": self.execution,
            "phase": self.phase,
            "outputs": self.outputs,
            "note": self.note,
            "downloads": [d.to_json() for d in self.downloads],
        }


@dataclass(frozen=True)
class OutputsReport:
    runs: tuple[RunOutputs, ...]
    not_launched: tuple[str, ...]
    """Addresses of the Execution manifests none of whose runs exist in Admin."""

    @property
    def failed_downloads(self) -> bool:
        return any(d.error is not None for run in self.runs for d in run.downloads)


def render_json(report: OutputsReport, out: TextIO) -> None:
    data = {"runs": [r.to_json() for r in report.runs], "not_launched": list(report.not_launched)}
    json.dump(data, out, indent=2, default=json_default)
    out.write("\n")


def render_text(report: OutputsReport, out: TextIO) -> None:
    for run in report.runs:
        _text(run, out)
    for address in report.not_launched:
        click.echo(f"{address}: not launched", file=out)


def _text(run: RunOutputs, out: TextIO) -> None:
    head = f"{run.execution}  {click.style(run.phase, bold=True)}  ({run.manifest})"
    click.echo(head, file=out)
    if run.note:
        click.echo(f"    {run.note}", file=out)
    if run.outputs is not None:
        if not run.outputs:
            click.echo("    (no outputs)", file=out)
        else:
            text = yaml.safe_dump(dict(run.outputs), sort_keys=True, allow_unicode=True)
            for line in text.splitlines():
                click.echo(f"    {line}", file=out)
    for download in run.downloads:
        if download.error is None:
            click.echo(f"    downloaded {download.output} -> {download.path}", file=out)
        else:
            line = f"    not downloaded {download.output}: {download.error}"
            click.echo(click.style(line, fg="red"), file=out)
