"""``reconciler drift``: refresh-only; what in Admin differs from git for managed resources.

Drift is a resource that exists in Admin in another state than git says: a launch plan version
deactivated or activated behind git's back, or a launched spec that differs. Resources not yet
created are pending work for ``apply``, not drift.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal, TextIO

import click

from reconciler.commands import Outcome
from reconciler.commands.reconcile_common import AdminOptions, compute_plan
from reconciler.plan.model import Action, Change

DRIFT_ACTIONS = frozenset({Action.UPDATE, Action.DEACTIVATE, Action.CONFLICT})


@dataclass(frozen=True)
class DriftOptions:
    admin: AdminOptions
    output: Literal["text", "json"] = "text"


def drifted(changes: tuple[Change, ...]) -> list[Change]:
    return [c for c in changes if c.action in DRIFT_ACTIONS and c.before is not None]


def run_drift(options: DriftOptions, environ: Mapping[str, str], out: TextIO) -> Outcome:
    planned = compute_plan(options.admin, environ)
    found = drifted(planned.plan.changes)
    if options.output == "json":
        json.dump(
            {"drift": [c.to_json() for c in found], "count": len(found)}, out, indent=2, default=str
        )
        out.write("\n")
    else:
        for change in found:
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
            f"Drift: {len(found)} resource(s) differ from git."
            if found
            else "No drift: Admin matches git for the managed resources.",
            file=out,
        )
    return Outcome.CHANGES if found else Outcome.SUCCESS
