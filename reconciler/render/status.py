"""What ``status`` prints: the runs behind Execution and Backfill manifests (text for people,
JSON for tools), and the manifests whose runs were not launched.

The command builds the report from what Admin returns, redacted (``reconciler.redact``):
nothing here sees a value from ``${env:...}``."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, TextIO

import click

from reconciler.plan.model import json_default

_COLOURS = {"SUCCEEDED": "green", "FAILED": "red", "TIMED_OUT": "red", "ABORTED": "yellow"}


@dataclass(frozen=True)
class Span:
    """Where a run's time went (Admin's ``GetExecutionMetrics``): the workflow, its nodes and
    their operations, each with its length when known."""

    what: str
    seconds: float | None
    spans: tuple[Span, ...] = ()

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"what": self.what, "seconds": self.seconds}
        if self.spans:
            out["spans"] = [s.to_json() for s in self.spans]
        return out

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Span:
        return cls(
            data["what"],
            data.get("seconds"),
            tuple(cls.from_json(s) for s in data.get("spans") or ()),
        )


@dataclass(frozen=True)
class RunStatus:
    """One run. ``inputs`` and ``outputs`` are None (and ``data_error`` says why) when Admin
    would not give them; ``spans`` is None when it serves no metrics."""

    manifest: str
    execution: str
    phase: str
    started_at: str | None
    duration_seconds: float | None
    error: str | None
    console_url: str | None
    inputs: Mapping[str, Any] | None
    outputs: Mapping[str, Any] | None
    spans: Span | None
    data_error: str | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "manifest": self.manifest,
            "execution": self.execution,
            "phase": self.phase,
            "started_at": self.started_at,
            "duration_seconds": self.duration_seconds,
            "error": self.error,
            "console_url": self.console_url,
            "inputs": self.inputs,
            "outputs": self.outputs,
        }
        if self.data_error is not None:
            out["data_error"] = self.data_error
        out["spans"] = None if self.spans is None else self.spans.to_json()
        return out

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> RunStatus:
        spans = data.get("spans")
        return cls(
            manifest=data["manifest"],
            execution=data["execution"],
            phase=data["phase"],
            started_at=data.get("started_at"),
            duration_seconds=data.get("duration_seconds"),
            error=data.get("error"),
            console_url=data.get("console_url"),
            inputs=data.get("inputs"),
            outputs=data.get("outputs"),
            spans=None if spans is None else Span.from_json(spans),
            data_error=data.get("data_error"),
        )


@dataclass(frozen=True)
class StatusReport:
    runs: tuple[RunStatus, ...]
    not_launched: tuple[str, ...]
    """Addresses of the manifests none of whose runs exist in Admin."""


def render_json(report: StatusReport, out: TextIO) -> None:
    data = {"runs": [r.to_json() for r in report.runs], "not_launched": list(report.not_launched)}
    json.dump(data, out, indent=2, default=json_default)
    out.write("\n")


def render_text(report: StatusReport, out: TextIO) -> None:
    for run in report.runs:
        _text(run, out)
    for address in report.not_launched:
        click.echo(f"{address}: not launched", file=out)


def _text(run: RunStatus, out: TextIO) -> None:
    phase = click.style(run.phase, fg=_COLOURS.get(run.phase), bold=True)
    duration = f" in {run.duration_seconds:.1f}s" if run.duration_seconds else ""
    click.echo(f"{run.execution}  {phase}{duration}  ({run.manifest})", file=out)
    if run.error:
        click.echo(f"    error: {run.error}", file=out)
    for key, values in (("inputs", run.inputs), ("outputs", run.outputs)):
        if values:
            shown = json.dumps(values, default=json_default, sort_keys=True)
            click.echo(f"    {key}: {shown}", file=out)
    if run.console_url:
        click.echo(f"    {run.console_url}", file=out)
    if run.spans is not None:
        click.echo(f"    spans: {_span_line(run.spans)}", file=out)


def _span_line(span: Span) -> str:
    seconds = span.seconds
    text = f"{span.what}" + (f" {seconds:.1f}s" if seconds is not None else "")
    children = span.spans
    if children:
        text += " [" + ", ".join(_span_line(c) for c in children[:8])
        text += ", ..." if len(children) > 8 else ""
        text += "]"
    return text
