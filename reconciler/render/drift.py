"""What ``drift`` prints: the managed resources Admin holds in another state than git says, field
by field (text for people, JSON for tools). Which changes are drift is decided by
``reconciler.plan.drift``; plans hold no secrets, so neither does this."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TextIO

import click

from reconciler.plan.model import Change


@dataclass(frozen=True)
class DriftReport:
    changes: tuple[Change, ...]
    """The drifted changes of the plan, in plan order."""


def render_json(report: DriftReport, out: TextIO) -> None:
    data = {"drift": [c.to_json() for c in report.changes], "count": len(report.changes)}
    json.dump(data, out, indent=2, default=str)
    out.write("\n")


def render_text(report: DriftReport, out: TextIO) -> None:
    for change in report.changes:
        click.echo(
            click.style(f"{change.action.marker} {change.address}", fg="yellow", bold=True),
            file=out,
        )
        if change.reason:
            click.echo(f"    {change.reason}", file=out)
        for field in change.diff:
            click.echo(
                f"    {field.path}: Admin has {json.dumps(field.before, default=str)}, "
                f"git says {json.dumps(field.after, default=str)}",
                file=out,
            )
    click.echo(
        f"Drift: {len(report.changes)} resource(s) differ from git."
        if report.changes
        else "No drift: Admin matches git for the managed resources.",
        file=out,
    )
